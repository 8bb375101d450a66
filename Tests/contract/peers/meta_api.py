"""WhatsApp Cloud API as documented (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages):
POST /{version}/{phone-number-id}/messages with a bearer token and a JSON body; 200 with
{messaging_product, contacts: [{input, wa_id}], messages: [{id}]}, or a Graph API error body
{error: {message, type, code, error_subcode, error_data: {messaging_product, details}, fbtrace_id}}."""

import json
import re
import uuid

from peers.http import ContractViolation, Peer

PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAG-test-token"
VERSION = "v21.0"


def error(status, code, message, details=None, type_="OAuthException"):
    body = {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEf123"}
    if details:
        body["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return status, {}, {"error": body}


class MetaAPI(Peer):
    def env(self):
        return {
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_API_BASE_URL": self.base_url, "WHATSAPP_API_VERSION": VERSION,
        }

    def handle(self, method, path, headers, body, record):
        if headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if method == "GET" and path.startswith(f"/{VERSION}/{PHONE_NUMBER_ID}?"):
            return 200, {}, {"display_phone_number": "+1 555-010-0199", "verified_name": "Planiva", "id": PHONE_NUMBER_ID}
        if method != "POST" or path != f"/{VERSION}/{PHONE_NUMBER_ID}/messages":
            return error(400, 100, f"Unsupported request - method type: {method.lower()}", type_="GraphMethodException")
        if not headers.get("Content-Type", "").startswith("application/json"):
            raise ContractViolation("Content-Type is not application/json")
        message = json.loads(body)
        if message.get("messaging_product") != "whatsapp":
            raise ContractViolation("messaging_product must be whatsapp")
        if not re.fullmatch(r"\d{7,15}", message.get("to", "")):
            raise ContractViolation("to must be the phone number's digits with country code")
        kind = message.get("type")
        if kind == "text":
            text = message.get("text") or {}
            if not text.get("body") or len(text["body"]) > 4096 or set(text) - {"body", "preview_url"}:
                raise ContractViolation(f"text must be {{body (1-4096), preview_url}}: {sorted(text)}")
        elif kind == "template":
            template = message.get("template") or {}
            if not re.fullmatch(r"[a-z0-9_]+", template.get("name", "")):
                raise ContractViolation("template.name must be the approved template's name")
            if not (template.get("language") or {}).get("code"):
                raise ContractViolation("template.language.code is required")
            for component in template.get("components", []):
                if component.get("type") not in ("header", "body", "button"):
                    raise ContractViolation(f"unknown component type {component.get('type')}")
                for parameter in component.get("parameters", []):
                    if parameter.get("type") != "text" or not parameter.get("text"):
                        return error(400, 131008, "Required parameter is missing", "parameter text must not be empty")
        else:
            raise ContractViolation(f"unsupported type {kind}")
        wamid = "wamid.HBgL" + uuid.uuid4().hex.upper()
        record["accepted"] = True
        record["json"] = message
        return 200, {}, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": message["to"], "wa_id": message["to"]}],
            "messages": [{"id": wamid}],
        }
