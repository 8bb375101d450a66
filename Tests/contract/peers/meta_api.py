"""WhatsApp Cloud API as documented, for the requests the sidecar makes.

Messages (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages):
POST /{version}/{phone-number-id}/messages with a bearer token and a JSON body; 200 with
{messaging_product, contacts: [{input, wa_id}], messages: [{id}]}, or a Graph API error body
{error: {message, type, code, error_subcode, error_data: {messaging_product, details}, fbtrace_id}}
(https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).

Media upload (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media,
https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/):
POST /{version}/{phone-number-id}/media, multipart/form-data with the parts `file` (the bytes, with a
filename), `type` (the MIME type) and `messaging_product` (`whatsapp`); 200 with {"id": "<MEDIA_ID>"}.
Supported types and sizes ("Supported Media Types" on that page): image/jpeg and image/png up to 5 MB;
documents (text/plain, application/pdf, the Office formats) up to 100 MB; audio and video up to 16 MB;
image/webp stickers up to 500 KB. An unsupported type is refused as Graph's code 100 (Invalid
parameter), a file over its type's limit as 131053 (Media upload error), both with error_data.details.

Message types checked here, each object with no keys beyond the documented ones:
- text (body 1-4096, preview_url).
- document {id, caption <= 1024, filename} and image {id, caption <= 1024}
  (https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/document-messages,
  https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/image-messages/).
  `link` (hosted media) is documented too but not accepted here: the sidecar uploads, so `id` is required
  and must be one this peer issued.
- template {name, language: {code}, components}; a header component has one parameter, text or
  {type: document, document: {id, filename?}} or {type: image, image: {id}} with an issued id
  (https://developers.facebook.com/documentation/business-messaging/whatsapp/templates/template-media/);
  body parameters are {type: text, text: non-empty}, an empty one answered with 131008.
- interactive list (https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-list-messages):
  body.text 1-1024, optional header {type: text, text <= 60} and footer {text <= 60}, action.button 1-20,
  1-10 sections (a title <= 24 each, required when there are several), 1-10 rows in all, each
  {id 1-200 unique, title 1-24, description <= 72}.
- interactive button (https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages):
  body.text 1-1024, optional header and footer {text <= 60}, 1-3 buttons {type: reply, reply: {id 1-256
  without leading or trailing spaces, title 1-20}}, ids and titles unique.

The window rule (free-form messages only within 24 hours of the user's last message, else 131047) is
not enforced: the peer does not see the user's messages, which tests post to the sidecar directly.
"""

import hashlib
import itertools
import json
import re
import uuid
from email.message import Message

from peers.http import ContractViolation, Peer

PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAG-test-token"
VERSION = "v21.0"

MB = 1024 * 1024
# Supported Media Types: type -> (kind, largest size in bytes).
MEDIA_TYPES = {
    "image/jpeg": ("image", 5 * MB), "image/png": ("image", 5 * MB),
    "text/plain": ("document", 100 * MB), "application/pdf": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB), "application/msword": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "audio/aac": ("audio", 16 * MB), "audio/amr": ("audio", 16 * MB), "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB), "audio/ogg": ("audio", 16 * MB),
    "video/mp4": ("video", 16 * MB), "video/3gp": ("video", 16 * MB),
    "image/webp": ("sticker", 500 * 1024),
}
TOP_LEVEL = {"messaging_product", "recipient_type", "to", "type", "context", "biz_opaque_callback_data"}


def error(status, code, message, details=None, type_="OAuthException"):
    body = {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEf123"}
    if details:
        body["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return status, {}, {"error": body}


class GraphError(Exception):
    """A request Meta reads but refuses with a documented Graph API error (not a contract breach)."""

    def __init__(self, status, code, message, details=None):
        super().__init__(f"{code} {message}: {details}")
        self.answer = error(status, code, message, details)


def check_message(message, media=None):
    """Holds a /messages JSON body to the contract. `media` maps the media ids the peer issued to
    their uploads ({"type": ...}); a test may pass a templates.preview payload with `to` filled in.
    Raises ContractViolation, or GraphError for what Meta answers with an error of its own."""
    media = media if media is not None else {}
    if not isinstance(message, dict):
        raise ContractViolation("the body must be a JSON object")
    if message.get("messaging_product") != "whatsapp":
        raise ContractViolation("messaging_product must be whatsapp")
    if message.get("recipient_type", "individual") != "individual":
        raise ContractViolation("recipient_type must be individual")
    if not isinstance(message.get("to"), str) or not re.fullmatch(r"\d{7,15}", message["to"]):
        raise ContractViolation("to must be the phone number's digits with country code")
    kind = message.get("type")
    checks = {"text": _text, "template": _template, "document": _document, "image": _image, "interactive": _interactive}
    if kind not in checks:
        raise ContractViolation(f"unsupported type {kind}")
    unknown = set(message) - TOP_LEVEL - {kind}
    if unknown:
        raise ContractViolation(f"keys that do not belong in a {kind} message: {sorted(unknown)}")
    if kind not in message:
        raise ContractViolation(f"a {kind} message needs its {kind} object")
    checks[kind](message[kind], media)


def _object(value, where, allowed, required=()):
    if not isinstance(value, dict):
        raise ContractViolation(f"{where} must be an object")
    unknown = set(value) - set(allowed)
    if unknown:
        raise ContractViolation(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = [key for key in required if key not in value]
    if missing:
        raise ContractViolation(f"{where} lacks {missing}")
    return value


def _string(value, where, low, high):
    if not isinstance(value, str) or not low <= len(value) <= high:
        length = len(value) if isinstance(value, str) else type(value).__name__
        raise ContractViolation(f"{where} must be a string of {low} to {high} characters, not {length}")
    return value


def _issued(media_id, media, where, kinds=None):
    if not isinstance(media_id, str) or media_id not in media:
        raise ContractViolation(f"{where}.id {media_id!r} is not a media id this peer issued")
    if kinds and MEDIA_TYPES[media[media_id]["type"]][0] not in kinds:
        raise ContractViolation(f"{where}.id is a {media[media_id]['type']} upload, not {'/'.join(kinds)}")


def _text(text, media):
    _object(text, "text", {"body", "preview_url"}, ["body"])
    _string(text["body"], "text.body", 1, 4096)
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise ContractViolation("text.preview_url must be a boolean")


def _document(document, media, where="document", caption=True):
    _object(document, where, {"id", "caption", "filename"} if caption else {"id", "filename"}, ["id"])
    _issued(document["id"], media, where)
    if "caption" in document:
        _string(document["caption"], f"{where}.caption", 1, 1024)
    if "filename" in document:
        _string(document["filename"], f"{where}.filename", 1, 255)


def _image(image, media, where="image", caption=True):
    _object(image, where, {"id", "caption"} if caption else {"id"}, ["id"])
    _issued(image["id"], media, where, kinds=("image",))
    if "caption" in image:
        _string(image["caption"], f"{where}.caption", 1, 1024)


def _template(template, media):
    _object(template, "template", {"name", "language", "components"}, ["name", "language"])
    if not isinstance(template["name"], str) or not re.fullmatch(r"[a-z0-9_]+", template["name"]):
        raise ContractViolation("template.name must be the approved template's name")
    language = _object(template["language"], "template.language", {"code", "policy"}, ["code"])
    _string(language["code"], "template.language.code", 2, 15)
    components = template.get("components", [])
    if not isinstance(components, list):
        raise ContractViolation("template.components must be an array")
    seen = set()
    for index, component in enumerate(components):
        where = f"template.components[{index}]"
        if not isinstance(component, dict) or component.get("type") not in ("header", "body", "button"):
            raise ContractViolation(f"unknown component type {component.get('type') if isinstance(component, dict) else component}")
        kind = component["type"]
        if kind in ("header", "body"):
            if kind in seen:
                raise ContractViolation(f"a second {kind} component")
            seen.add(kind)
            _object(component, where, {"type", "parameters"}, ["parameters"])
        if not isinstance(component.get("parameters", []), list):
            raise ContractViolation(f"{where}.parameters must be an array")
        if kind == "header":
            _header_parameters(component["parameters"], media, where)
            continue
        for parameter in component.get("parameters", []):
            if not isinstance(parameter, dict) or parameter.get("type") != "text" or not parameter.get("text"):
                raise GraphError(400, 131008, "Required parameter is missing", "parameter text must not be empty")
            _object(parameter, f"{where}.parameters[]", {"type", "text", "parameter_name"})


def _header_parameters(parameters, media, where):
    if len(parameters) != 1:
        raise ContractViolation(f"{where}: a header takes exactly one parameter, not {len(parameters)}")
    [parameter] = parameters
    kind = parameter.get("type") if isinstance(parameter, dict) else None
    if kind == "text":
        _object(parameter, f"{where}.parameters[0]", {"type", "text", "parameter_name"}, ["text"])
        if not parameter["text"]:
            raise GraphError(400, 131008, "Required parameter is missing", "parameter text must not be empty")
    elif kind == "document":
        _object(parameter, f"{where}.parameters[0]", {"type", "document"}, ["document"])
        _document(parameter["document"], media, f"{where}.parameters[0].document", caption=False)
    elif kind == "image":
        _object(parameter, f"{where}.parameters[0]", {"type", "image"}, ["image"])
        _image(parameter["image"], media, f"{where}.parameters[0].image", caption=False)
    else:
        raise ContractViolation(f"{where}: a header parameter of type {kind!r} (text, document or image expected)")


def _interactive(interactive, media):
    _object(interactive, "interactive", {"type", "header", "body", "footer", "action"}, ["type", "body", "action"])
    kind = interactive["type"]
    if kind not in ("list", "button"):
        raise ContractViolation(f"interactive.type {kind!r} (list or button expected)")
    body = _object(interactive["body"], "interactive.body", {"text"}, ["text"])
    _string(body["text"], "interactive.body.text", 1, 1024)
    if "footer" in interactive:
        footer = _object(interactive["footer"], "interactive.footer", {"text"}, ["text"])
        _string(footer["text"], "interactive.footer.text", 1, 60)
    if "header" in interactive:
        header = interactive["header"]
        if kind == "list" or not isinstance(header, dict) or header.get("type") == "text":
            header = _object(header, "interactive.header", {"type", "text"}, ["type", "text"])
            if header["type"] != "text":
                raise ContractViolation("a list message's header must be of type text")
            _string(header["text"], "interactive.header.text", 1, 60)
        elif header.get("type") == "document":
            _object(header, "interactive.header", {"type", "document"}, ["document"])
            _document(header["document"], media, "interactive.header.document", caption=False)
        elif header.get("type") == "image":
            _object(header, "interactive.header", {"type", "image"}, ["image"])
            _image(header["image"], media, "interactive.header.image", caption=False)
        else:
            raise ContractViolation(f"interactive.header of type {header.get('type')!r}")
    if kind == "list":
        _list_action(interactive["action"])
    else:
        _button_action(interactive["action"])


def _list_action(action):
    action = _object(action, "interactive.action", {"button", "sections"}, ["button", "sections"])
    _string(action["button"], "interactive.action.button", 1, 20)
    sections = action["sections"]
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise ContractViolation("interactive.action.sections must hold 1 to 10 sections")
    ids = []
    for index, section in enumerate(sections):
        where = f"interactive.action.sections[{index}]"
        _object(section, where, {"title", "rows"}, ["rows"])
        if "title" in section:
            _string(section["title"], f"{where}.title", 1, 24)
        elif len(sections) > 1:
            raise ContractViolation(f"{where}.title is required when there are several sections")
        if not isinstance(section["rows"], list) or not section["rows"]:
            raise ContractViolation(f"{where}.rows must hold at least one row")
        for number, row in enumerate(section["rows"]):
            _object(row, f"{where}.rows[{number}]", {"id", "title", "description"}, ["id", "title"])
            ids.append(_string(row["id"], f"{where}.rows[{number}].id", 1, 200))
            _string(row["title"], f"{where}.rows[{number}].title", 1, 24)
            if "description" in row:
                _string(row["description"], f"{where}.rows[{number}].description", 0, 72)
    if len(ids) > 10:
        raise ContractViolation(f"{len(ids)} rows; a list message holds at most 10 across its sections")
    if len(set(ids)) != len(ids):
        raise ContractViolation(f"row ids must be unique: {ids}")


def _button_action(action):
    action = _object(action, "interactive.action", {"buttons"}, ["buttons"])
    buttons = action["buttons"]
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ContractViolation("interactive.action.buttons must hold 1 to 3 buttons")
    ids, titles = [], []
    for index, button in enumerate(buttons):
        where = f"interactive.action.buttons[{index}]"
        _object(button, where, {"type", "reply"}, ["type", "reply"])
        if button["type"] != "reply":
            raise ContractViolation(f"{where}.type must be reply")
        reply = _object(button["reply"], f"{where}.reply", {"id", "title"}, ["id", "title"])
        ids.append(_string(reply["id"], f"{where}.reply.id", 1, 256))
        if reply["id"] != reply["id"].strip():
            raise ContractViolation(f"{where}.reply.id must not have leading or trailing spaces")
        titles.append(_string(reply["title"], f"{where}.reply.title", 1, 20))
    if len(set(ids)) != len(ids) or len(set(titles)) != len(titles):
        raise ContractViolation(f"button ids and titles must be unique: {ids}, {titles}")


def _content_type(value):
    """A Content-Type header's type (lowercased) and its parameters, quoted or not."""
    parsed = Message()
    parsed["Content-Type"] = value
    return parsed.get_content_type(), parsed


def _disposition(value):
    """A Content-Disposition header: its kind, the `name` parameter and the filename (RFC 2231 too)."""
    parsed = Message()
    parsed["Content-Disposition"] = value
    kind = value.split(";")[0].strip().lower()
    return kind, parsed.get_param("name", header="content-disposition"), parsed.get_filename()


def parse_form_data(content_type, body):
    """RFC 7578 multipart/form-data as [(name, filename or None, part headers, bytes)]; strict about the
    framing (CRLF, the boundary, a closing delimiter) as an HTTP server reading it would be."""
    kind, parsed = _content_type(content_type)
    if kind != "multipart/form-data":
        raise ContractViolation(f"Content-Type is {content_type!r}, not multipart/form-data")
    boundary = parsed.get_param("boundary")
    if not boundary:
        raise ContractViolation("multipart/form-data without a boundary")
    delimiter = b"--" + boundary.encode()
    if not body.startswith(delimiter + b"\r\n"):
        raise ContractViolation("the body does not start with the boundary delimiter and CRLF")
    closing = body.find(b"\r\n" + delimiter + b"--")
    if closing < 0:
        raise ContractViolation("the body has no closing boundary delimiter")
    parts = []
    for raw in body[len(delimiter) + 2:closing].split(b"\r\n" + delimiter + b"\r\n"):
        head, separator, data = raw.partition(b"\r\n\r\n")
        if not separator:
            raise ContractViolation("a part without the blank line after its headers")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                raise ContractViolation(f"a malformed part header {line!r}")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        kind, name, filename = _disposition(disposition)
        if kind != "form-data":
            raise ContractViolation(f"a part's Content-Disposition is {disposition!r}, not form-data")
        if not name:
            raise ContractViolation("a part without a name")
        parts.append((name, filename, headers, data))
    return parts


class MetaAPI(Peer):
    def __init__(self):
        self.media = {}  # media id -> its upload: {"id", "type", "filename", "content_type", "size", "sha256", "data"}
        self._media_ids = itertools.count(1013859600285441)
        super().__init__()

    def env(self):
        return {
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_API_BASE_URL": self.base_url, "WHATSAPP_API_VERSION": VERSION,
        }

    def uploads(self):
        """The media Meta took, in the order they came."""
        return [r["upload"] for r in self.accepted() if "upload" in r]

    def messages(self):
        """The messages Meta took, in the order they came; each record has `json` and `wamid`."""
        return [r for r in self.accepted() if "json" in r]

    def handle(self, method, path, headers, body, record):
        if headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if method == "GET" and path.startswith(f"/{VERSION}/{PHONE_NUMBER_ID}?"):
            return 200, {}, {"display_phone_number": "+1 555-010-0199", "verified_name": "Planiva", "id": PHONE_NUMBER_ID}
        if method == "POST" and path == f"/{VERSION}/{PHONE_NUMBER_ID}/media":
            return self._upload(headers, body, record)
        if method != "POST" or path != f"/{VERSION}/{PHONE_NUMBER_ID}/messages":
            return error(400, 100, f"Unsupported request - method type: {method.lower()}", type_="GraphMethodException")
        if not headers.get("Content-Type", "").startswith("application/json"):
            raise ContractViolation("Content-Type is not application/json")
        try:
            message = json.loads(body)
        except ValueError:
            raise ContractViolation("the body is not JSON")
        with self.lock:
            media = dict(self.media)
        try:
            check_message(message, media)
        except GraphError as refused:
            return refused.answer
        wamid = "wamid.HBgL" + uuid.uuid4().hex.upper()
        record["accepted"] = True
        record["json"] = message
        record["wamid"] = wamid
        return 200, {}, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": message["to"], "wa_id": message["to"]}],
            "messages": [{"id": wamid}],
        }

    def _upload(self, headers, body, record):
        parts = parse_form_data(headers.get("Content-Type", ""), body)
        names = [name for name, *_ in parts]
        if sorted(names) != ["file", "messaging_product", "type"]:
            raise ContractViolation(f"the parts must be file, type and messaging_product, once each: {names}")
        fields = {name: (filename, part_headers, data) for name, filename, part_headers, data in parts}
        for name in ("messaging_product", "type"):
            if fields[name][0] is not None:
                raise ContractViolation(f"the {name} part is a field, not a file")
        product = fields["messaging_product"][2].decode("utf-8", "replace")
        media_type = fields["type"][2].decode("utf-8", "replace")
        filename, file_headers, data = fields["file"]
        if product != "whatsapp":
            raise ContractViolation(f"messaging_product is {product!r}, not whatsapp")
        if not filename:
            raise ContractViolation("the file part has no filename")
        content_type = file_headers.get("content-type")
        if content_type is None or _content_type(content_type)[0] != media_type:
            raise ContractViolation(f"the file part's Content-Type {content_type!r} is not the type {media_type!r}")
        upload = {
            "type": media_type, "filename": filename, "content_type": content_type, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "data": data,
        }
        record["upload"] = upload
        if media_type not in MEDIA_TYPES:
            return error(400, 100, "(#100) Invalid parameter", f"Param file must be a file with one of the supported types, not {media_type}")
        kind, limit = MEDIA_TYPES[media_type]
        if len(data) > limit:
            return error(400, 131053, "Media upload error", f"{kind} files of type {media_type} are limited to {limit} bytes; this one has {len(data)}")
        if not data:
            return error(400, 131053, "Media upload error", "the file is empty")
        with self.lock:
            upload["id"] = str(next(self._media_ids))
            self.media[upload["id"]] = upload
        record["accepted"] = True
        return 200, {}, {"id": upload["id"]}
