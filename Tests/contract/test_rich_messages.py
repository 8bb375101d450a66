"""Rich messages: options as WhatsApp interactive lists and reply buttons (and the client's choice coming
back with the message it answers), attachments uploaded to Meta and sent as documents and images (or in
a template's header outside the 24-hour window), attachments on SMS as links served by the side port or
as MMS, and templates.preview's `payload`, the exact body a provider would receive.

The peers hold every request to Meta's and Twilio's documented contracts (peers/meta_api.py and
peers/twilio_api.py cite the pages); the 24-hour window is opened as a client opens it, by a signed
message of theirs posted to the side port."""

import base64
import hashlib
import json
import re
import time
import urllib.parse
import uuid

import pytest

from conftest import communicate_params
from peers.meta_api import check_message
from test_channels import PDF, PNG
from test_webhooks import CLIENT_PHONE, CLIENT_WHATSAPP, listening, meta_payload, post_meta, request, side_port

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WA_DIGITS = CLIENT_WHATSAPP[1:]
BUSINESS_NUMBER = "15550783881"  # the display_phone_number of meta_payload's metadata
TWILIO_FIELDS = {"To", "From", "Body", "StatusCallback", "MessagingServiceSid", "MediaUrl"}

OPTIONS = [
    {"id": "opt-1", "title": "Grand Heritage Palace Banquet Hall", "description": "₹9,50,000 for 300 guests"},
    {"id": "opt-2", "title": "Lakeside Garden", "description": "₹7,20,000"},
    {"id": "opt-3", "title": "Rooftop Terrace",
     "description": "An open-air rooftop with skyline views, live counters, a DJ and the décor, all in one package price"},
]
VENDOR_COMBINATIONS = [
    {"name": "Essential", "total_cost": "₹8,00,000", "vendors": ["Lakeside Garden", "Spice Route Caterers"]},
    {"name": "Signature", "total_cost": "₹9,50,000"},
    {"name": "Royal Heritage Experience Deluxe", "total_cost": "₹14,20,000"},
]
CHOICES = [
    {"id": "confirm", "title": "Confirm"},
    {"id": "change", "title": "Change the caterer please"},
    {"id": "call", "title": "Call me"},
]
BUDGET_CONTEXT = {"client_name": "Priya", "event_type": "wedding", "total_cost": "₹9,50,000",
                  "budget_strategies": [{"name": "Essential", "total_cost": "₹8,00,000"}]}


def b64(data):
    return base64.b64encode(data).decode()


def attachment(filename, content_type, data):
    return {"filename": filename, "content_type": content_type, "data": b64(data)}


def shortened(text, limit):
    """A title as the spec shortens it for a row (24) or a button (20): as it is when it fits, else its
    longest run of whole words that leaves room for a closing "…"."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if text[limit - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def whatsapp_params(ids, message_type, context, **overrides):
    """A communication for the client's WhatsApp only; high urgency puts WhatsApp first."""
    return communicate_params(ids, message_type=message_type, urgency="high", recipient={"whatsapp": CLIENT_WHATSAPP},
                              context=context, **overrides)


def client_message(kind, content, context=None):
    """A message of the client's as Meta's messages webhook carries it, with an id of its own."""
    message = {"from": WA_DIGITS, "id": "wamid.IN" + uuid.uuid4().hex.upper(), "timestamp": str(int(time.time())),
               "type": kind, kind: content}
    if context:
        message["context"] = context
    return message


def inbound_notes(sidecar):
    return [n["params"] for n in sidecar.notifications if n["method"] == "inbound.message"]


def client_writes(sidecar, base, message):
    """Posts the client's message to the side port, signed, and returns its inbound.message."""
    before = len(inbound_notes(sidecar))
    assert post_meta(base, meta_payload(messages=[message]))[0] == 200
    sidecar.wait_for_notifications(lambda _: len(inbound_notes(sidecar)) > before)
    return inbound_notes(sidecar)[before]


def open_window(sidecar, base, ids, meta):
    """The client's 24-hour window, opened as in test_webhooks: our first message (a template, as no
    window is open yet), then a reply of theirs."""
    result = sidecar.result("communicate", whatsapp_params(ids, "welcome", {"client_name": "Priya"}))
    assert result["status"] == "sent" and result["channel_used"] == "whatsapp", result
    assert meta.messages()[-1]["json"]["type"] == "template"
    client_writes(sidecar, base, client_message("text", {"body": "Hello!"}))


def with_open_window(start, meta, ids, env=None):
    """A sidecar on Meta's peer whose client has written to it; returns it, its side port and how many
    messages Meta took so far (the welcome template)."""
    sidecar = start(env={**meta.env(), **side_port(), **(env or {})})
    base = listening(sidecar)
    open_window(sidecar, base, ids, meta)
    return sidecar, base, len(meta.messages())


def sent(sidecar, params):
    result = sidecar.result("communicate", params)
    assert result["status"] == "sent", result
    return result


def rows(interactive):
    return [row for section in interactive["action"]["sections"] for row in section["rows"]]


def preview(sidecar, message_type, channel, context, **params):
    return sidecar.result("templates.preview", {"message_type": message_type, "channel": channel, "context": context, **params})


def policy(workdir, document):
    path = workdir / "policy.json"
    path.write_text(json.dumps(document))
    return {"POLICY_FILE": str(path)}


# Options inside the window


def test_vendor_options_inside_the_window_go_as_one_interactive_list(start, meta, ids):
    sidecar, _, before = with_open_window(start, meta, ids)
    context = {"client_name": "Priya", "event_type": "wedding", "options": OPTIONS}
    result = sent(sidecar, whatsapp_params(ids, "vendor_options", context))
    assert result["channel_used"] == "whatsapp"
    [record] = meta.messages()[before:]
    message = record["json"]
    assert message["type"] == "interactive" and message["to"] == WA_DIGITS, message
    interactive = message["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "View options"
    listed = rows(interactive)
    assert [row["id"] for row in listed] == ["opt-1", "opt-2", "opt-3"]
    assert [row["title"] for row in listed] == [shortened(option["title"], 24) for option in OPTIONS]
    assert listed[0]["title"] == "Grand Heritage Palace…"
    assert listed[0]["description"] == "₹9,50,000 for 300 guests" and listed[1]["description"] == "₹7,20,000"
    long = listed[2]["description"]
    assert len(long) <= 72 and OPTIONS[2]["description"].startswith(long.rstrip("…").rstrip()), long
    # The body is the rendered WhatsApp text for the client; templates.preview's payload is the very
    # message Meta received.
    assert "Priya" in interactive["body"]["text"]
    shown = preview(sidecar, "vendor_options", "whatsapp", context)
    assert shown["payload"]["to"] == "<recipient>"
    assert {**shown["payload"], "to": WA_DIGITS} == message
    assert result["attempts"][-1]["provider_message_id"] == record["wamid"]


def test_options_are_derived_from_vendor_combinations_and_labelled_from_the_context(start, meta, ids):
    sidecar, _, before = with_open_window(start, meta, ids)
    context = {"client_name": "Priya", "event_type": "wedding", "vendor_combinations": VENDOR_COMBINATIONS,
               "options_label": "Compare packages"}
    sent(sidecar, whatsapp_params(ids, "vendor_options", context))
    [record] = meta.messages()[before:]
    interactive = record["json"]["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Compare packages"
    assert [(row["id"], row["title"], row.get("description")) for row in rows(interactive)] == [
        ("1", "Essential", "₹8,00,000"), ("2", "Signature", "₹9,50,000"), ("3", "Royal Heritage…", "₹14,20,000"),
    ]
    assert interactive == preview(sidecar, "vendor_options", "whatsapp", context)["payload"]["interactive"]


def test_a_selection_confirmation_inside_the_window_goes_as_reply_buttons(start, meta, ids):
    sidecar, _, before = with_open_window(start, meta, ids)
    context = {"client_name": "Priya", "total_cost": "₹9,50,000", "options": CHOICES,
               "selected_vendors": [{"category": "Venue", "name": "Lakeside Garden"}]}
    sent(sidecar, whatsapp_params(ids, "selection_confirmation", context))
    [record] = meta.messages()[before:]
    interactive = record["json"]["interactive"]
    assert record["json"]["type"] == "interactive" and interactive["type"] == "button", record["json"]
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["confirm", "change", "call"]
    assert [b["reply"]["title"] for b in buttons] == ["Confirm", "Change the caterer…", "Call me"]
    assert [b["reply"]["title"] for b in buttons] == [shortened(c["title"], 20) for c in CHOICES]
    assert "Priya" in interactive["body"]["text"]
    assert interactive == preview(sidecar, "selection_confirmation", "whatsapp", context)["payload"]["interactive"]


@pytest.mark.parametrize("message_type, count", [("vendor_options", 11), ("selection_confirmation", 4)])
def test_more_options_than_whatsapp_shows_go_as_a_numbered_text(start, meta, ids, message_type, count):
    sidecar, _, before = with_open_window(start, meta, ids)
    options = [{"id": f"venue-{n}", "title": f"Venue number {n}"} for n in range(1, count + 1)]
    sent(sidecar, whatsapp_params(ids, message_type, {"client_name": "Priya", "options": options}))
    [record] = meta.messages()[before:]
    assert record["json"]["type"] == "text", record["json"]
    # One line per option, in order, with its number before its whole title ("1. Title", or as
    # selection_confirmation words it, "Reply 1 for Title").
    lines = record["json"]["text"]["body"].splitlines()
    numbered = [line for line in lines if re.search(r"(?<!\d)\d+(?!\d)\D*Venue number \d+", line)]
    assert len(numbered) == count, lines
    for number, (option, line) in enumerate(zip(options, numbered), 1):
        assert re.search(rf"(?<!\d){number}(?!\d)\D*{re.escape(option['title'])}(?!\d)", line), (number, line)


def test_outside_the_window_options_go_as_the_approved_template(start, meta, ids):
    sidecar = start(env=meta.env())
    context = {"client_name": "Priya", "event_type": "wedding", "options": OPTIONS}
    sent(sidecar, whatsapp_params(ids, "vendor_options", context))
    [record] = meta.messages()
    template = record["json"]["template"]
    assert record["json"]["type"] == "template" and template["name"] == "vendor_options"
    [body] = [c for c in template["components"] if c["type"] == "body"]
    assert [p["text"] for p in body["parameters"]] == ["Priya", "wedding"]


# The client's choice


@pytest.mark.parametrize("message_type, options, kind, chosen", [
    ("vendor_options", OPTIONS, "list_reply", {"id": "opt-2", "title": "Lakeside Garden", "description": "₹7,20,000"}),
    ("selection_confirmation", CHOICES, "button_reply", {"id": "change", "title": "Change the caterer…"}),
], ids=["list_reply", "button_reply"])
def test_a_tapped_option_names_the_choice_and_the_message_it_answers(start, meta, ids, message_type, options, kind, chosen):
    sidecar, base, before = with_open_window(start, meta, ids)
    asked = sent(sidecar, whatsapp_params(ids, message_type, {"client_name": "Priya", "options": options}))
    [question] = meta.messages()[before:]
    assert question["json"]["type"] == "interactive"
    # A newer communication: the reply answers the message it quotes, not the latest one.
    newer = sent(sidecar, whatsapp_params(ids, "reminder", {"client_name": "Priya", "deadline": "Friday"}))
    assert newer["communication_id"] != asked["communication_id"]

    reply = client_message("interactive", {"type": kind, kind: chosen}, context={"from": BUSINESS_NUMBER, "id": question["wamid"]})
    note = client_writes(sidecar, base, reply)
    assert note["intent"] == "selection", note
    assert note["selection"]["id"] == chosen["id"] and note["selection"]["title"] == chosen["title"], note
    assert note["communication_id"] == asked["communication_id"]
    assert note["client_id"] == ids["client_id"] and note["channel"] == "whatsapp" and note["from"] == CLIENT_WHATSAPP
    # The event log says the same.
    page = sidecar.result("events.list", {"kinds": ["inbound.message"], "client_id": ids["client_id"]})
    [logged] = [e["params"] for e in page["events"] if e["params"]["intent"] == "selection"]
    assert logged["selection"] == note["selection"] and logged["communication_id"] == asked["communication_id"]


def test_a_numbered_text_reply_is_a_selection_by_number(start, meta, ids):
    sidecar, base, _ = with_open_window(start, meta, ids)
    sent(sidecar, whatsapp_params(ids, "vendor_options", {"client_name": "Priya", "options": OPTIONS}))
    note = client_writes(sidecar, base, client_message("text", {"body": "option 2"}))
    assert note["intent"] == "selection" and note["selection"] == {"number": 2}, note


def test_a_template_quick_reply_keeps_its_meaning_and_carries_its_payload(start, meta, ids):
    """A quick-reply button of an approved template is the client's words: "Yes, confirm" is a
    confirmation (the payload rides along as the selection), and a "STOP" button opts the client out."""
    sidecar, base, _ = with_open_window(start, meta, ids)
    wamid = meta.messages()[0]["wamid"]
    note = client_writes(sidecar, base, client_message("button", {"text": "Yes, confirm", "payload": "confirm-venue"}, {"id": wamid}))
    assert note["intent"] == "confirmation" and note["selection"] == {"id": "confirm-venue", "title": "Yes, confirm"}, note
    post_meta(base, meta_payload(messages=[client_message("button", {"text": "STOP", "payload": "unsubscribe"}, {"id": wamid})]))
    sidecar.wait_for_notifications(lambda ns: any(n["method"] == "client.opted_out" for n in ns))
    [opted_out] = [n["params"] for n in sidecar.notifications if n["method"] == "client.opted_out"]
    assert opted_out["client_id"] == ids["client_id"] and opted_out["channel"] == "whatsapp", opted_out


# Attachments on WhatsApp


def test_a_pdf_inside_the_window_is_uploaded_and_sent_as_a_document(start, meta, ids):
    sidecar, _, before = with_open_window(start, meta, ids)
    params = whatsapp_params(ids, "budget_summary", BUDGET_CONTEXT, attachments=[attachment("budget.pdf", "application/pdf", PDF)])
    assert sent(sidecar, params)["channel_used"] == "whatsapp"
    [upload] = meta.uploads()
    assert upload["type"] == "application/pdf" and upload["filename"] == "budget.pdf"
    assert upload["size"] == len(PDF) and upload["sha256"] == hashlib.sha256(PDF).hexdigest()
    [record] = meta.messages()[before:]
    message = record["json"]
    assert message["type"] == "document", message
    assert message["document"] == {
        "id": upload["id"], "caption": preview(sidecar, "budget_summary", "whatsapp", BUDGET_CONTEXT)["text"][:1024],
        "filename": "budget.pdf",
    }
    assert meta.requests.index(record) > [i for i, r in enumerate(meta.requests) if r.get("upload") is upload][0]


@pytest.mark.parametrize("filename, content_type, data", [
    ("seating.png", "image/png", PNG), ("venue.jpg", "image/jpeg", JPEG),
], ids=["png", "jpeg"])
def test_an_image_inside_the_window_is_sent_as_an_image_with_a_caption(start, meta, ids, filename, content_type, data):
    sidecar, _, before = with_open_window(start, meta, ids)
    sent(sidecar, whatsapp_params(ids, "budget_summary", BUDGET_CONTEXT, attachments=[attachment(filename, content_type, data)]))
    [upload] = meta.uploads()
    assert (upload["type"], upload["filename"], upload["sha256"]) == (content_type, filename, hashlib.sha256(data).hexdigest())
    [record] = meta.messages()[before:]
    assert record["json"]["type"] == "image", record["json"]
    assert record["json"]["image"] == {"id": upload["id"], "caption": preview(sidecar, "budget_summary", "whatsapp", BUDGET_CONTEXT)["text"][:1024]}


@pytest.mark.parametrize("filename, content_type, data, kind", [
    ("budget.pdf", "application/pdf", PDF, "document"), ("seating.png", "image/png", PNG, "image"),
], ids=["pdf", "png"])
def test_outside_the_window_an_attachment_rides_in_the_templates_header(start, meta, ids, workdir, filename, content_type, data, kind):
    policy = workdir / "policy.json"
    policy.write_text(json.dumps({"whatsapp_templates": {"budget_summary": {
        "name": "budget_summary", "parameters": ["client_name", "event_type", "total_cost"], "header": kind}}}))
    sidecar = start(env={**meta.env(), "POLICY_FILE": str(policy)})
    sent(sidecar, whatsapp_params(ids, "budget_summary", BUDGET_CONTEXT, attachments=[attachment(filename, content_type, data)]))
    [upload] = meta.uploads()
    assert upload["sha256"] == hashlib.sha256(data).hexdigest() and upload["type"] == content_type
    [record] = meta.messages()
    template = record["json"]["template"]
    assert record["json"]["type"] == "template" and template["name"] == "budget_summary", record["json"]
    [header] = [c for c in template["components"] if c["type"] == "header"]
    [parameter] = header["parameters"]
    assert parameter["type"] == kind and parameter[kind]["id"] == upload["id"], parameter
    assert parameter[kind].get("filename", filename) == filename
    [body] = [c for c in template["components"] if c["type"] == "body"]
    assert [p["text"] for p in body["parameters"]] == ["Priya", "wedding", "₹9,50,000"]


def test_outside_the_window_a_file_the_template_cannot_carry_goes_by_the_next_channel(start, meta, smtp, certificate, ids):
    """The seed's welcome template has no media header: WhatsApp (first for a high-urgency welcome)
    refuses before uploading anything, and email carries the message with its file rather than
    WhatsApp without it."""
    sidecar = start(env={**meta.env(), **smtp.env(certificate[0])})
    params = whatsapp_params(ids, "welcome", {"client_name": "Priya"}, attachments=[attachment("plan.pdf", "application/pdf", PDF)])
    params["recipient"] = {"whatsapp": CLIENT_WHATSAPP, "email": "priya@example.com"}
    result = sidecar.result("communicate", params)
    assert result["status"] == "sent" and result["channel_used"] == "email", result
    assert result["attempts"][0]["channel"] == "whatsapp" and "template" in result["attempts"][0]["error"], result["attempts"]
    assert meta.uploads() == [] and meta.messages() == []


def test_two_attachments_make_two_uploads_and_two_messages_with_one_caption(start, meta, ids):
    """The message's own message goes last (its acceptance is the attempt's), so the last file
    carries the caption."""
    sidecar, _, before = with_open_window(start, meta, ids)
    files = [attachment("budget.pdf", "application/pdf", PDF), attachment("seating.png", "image/png", PNG)]
    result = sent(sidecar, whatsapp_params(ids, "budget_summary", BUDGET_CONTEXT, attachments=files))
    uploads = {u["sha256"]: u for u in meta.uploads()}
    assert set(uploads) == {hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PNG).hexdigest()}
    document, image = meta.messages()[before:]
    assert document["json"]["type"] == "document"
    assert document["json"]["document"] == {"id": uploads[hashlib.sha256(PDF).hexdigest()]["id"], "filename": "budget.pdf"}
    caption = preview(sidecar, "budget_summary", "whatsapp", BUDGET_CONTEXT)["text"][:1024]
    assert image["json"]["type"] == "image"
    assert image["json"]["image"] == {"id": uploads[hashlib.sha256(PNG).hexdigest()]["id"], "caption": caption}
    assert result["attempts"][-1]["provider_message_id"] == image["wamid"], result["attempts"]


@pytest.mark.parametrize("file", [
    attachment("plan.gif", "image/gif", GIF),
    attachment("plan.json", "application/json", b'{"tables": 30}'),
    attachment("seating.png", "image/png", PNG[:8] + b"\0" * (5 * 1024 * 1024 + 512 * 1024)),  # 5.5 MB
], ids=["gif", "json", "png-over-5MB"])
def test_an_attachment_whatsapp_cannot_carry_is_refused_unless_another_channel_can(start, meta, ids, file):
    sidecar = start(env={**meta.env(), "MAX_LINE_BYTES": str(16 << 20)})
    error = sidecar.error("communicate", whatsapp_params(ids, "budget_summary", BUDGET_CONTEXT, attachments=[file]))
    assert error["code"] == -32602 and error["data"]["field"].startswith("attachments[0]"), error
    assert sidecar.result("communications.list", {"client_id": ids["client_id"]})["communications"] == []
    # With an email address too it can go by email.
    params = whatsapp_params(ids, "budget_summary", BUDGET_CONTEXT, attachments=[file])
    params["recipient"] = {"whatsapp": CLIENT_WHATSAPP, "email": "priya@example.com"}
    result = sidecar.result("communicate", params)
    assert result["status"] == "sent" and result["channel_used"] == "email", result
    assert meta.uploads() == [] and meta.messages() == []


# Attachments on SMS


def token_forgeries(url):
    """The URL with one character of its token (its longest run of token characters) changed, at the
    end and in the middle."""
    token = max(re.findall(r"[A-Za-z0-9_-]{16,}", url), key=len)
    start = url.rindex(token)
    for position in (len(token) - 1, len(token) // 2):
        index = start + position
        yield url[:index] + ("A" if url[index] != "A" else "B") + url[index + 1:]


def get(url):
    parts = urllib.parse.urlsplit(url)
    status, headers, body = request(f"{parts.scheme}://{parts.netloc}", "GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    return status, {k.lower(): v for k, v in headers.items()}, body


def sms_params(ids, files):
    return communicate_params(ids, message_type="budget_summary", urgency="critical", preferred_channel="sms",
                              recipient={"phone": CLIENT_PHONE}, context=BUDGET_CONTEXT, attachments=files)


def test_an_sms_carries_a_link_per_attachment_served_by_the_side_port(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    files = [("budget.pdf", "application/pdf", PDF), ("seating.png", "image/png", PNG)]
    result = sent(sidecar, sms_params(ids, [attachment(*f) for f in files]))
    assert result["channel_used"] == "sms", result
    [record] = twilio.accepted()
    body = record["fields"]["Body"]
    assert record["media_urls"] == []
    for filename, content_type, data in files:
        match = re.search(re.escape(filename) + r": (\S+)", body)
        assert match, body
        url = match.group(1)
        assert url.startswith(base + "/"), url
        status, headers, served = get(url)
        assert status == 200 and served == data
        assert headers["content-type"].split(";")[0].strip() == content_type
        for forged in token_forgeries(url):
            assert get(forged)[0] == 404, forged


def test_an_sms_attachment_link_expires(start, twilio, ids, workdir):
    sidecar = start(env={**twilio.env(), **side_port(), **policy(workdir, {"sms_attachments": {"link_expires_after_seconds": 1}})})
    listening(sidecar)
    sent(sidecar, sms_params(ids, [attachment("budget.pdf", "application/pdf", PDF)]))
    url = re.search(r"budget\.pdf: (\S+)", twilio.accepted()[0]["fields"]["Body"]).group(1)
    assert get(url)[0] == 200
    time.sleep(2)
    assert get(url)[0] == 404


def test_mms_sends_one_media_url_per_attachment(start, twilio, ids, workdir):
    sidecar = start(env={**twilio.env(), **side_port(), **policy(workdir, {"sms_attachments": {"mms": True}})})
    base = listening(sidecar)
    files = [("seating.png", "image/png", PNG), ("budget.pdf", "application/pdf", PDF)]
    sent(sidecar, sms_params(ids, [attachment(*f) for f in files]))
    [record] = twilio.accepted()
    assert len(record["media_urls"]) == len(files), record
    served = {}
    for url in record["media_urls"]:
        assert url.startswith(base + "/"), url
        status, headers, data = get(url)
        assert status == 200
        served[data] = headers["content-type"].split(";")[0].strip()
    assert served == {data: content_type for _, content_type, data in files}
    body = record["fields"].get("Body", "")
    assert base not in body and not any(f"{filename}:" in body for filename, *_ in files), body


# templates.preview's payload


def test_the_preview_payload_is_what_the_provider_would_receive(sidecar):
    options = {"client_name": "Priya", "event_type": "wedding", "options": OPTIONS}
    inside = preview(sidecar, "vendor_options", "whatsapp", options)
    payload = inside["payload"]
    assert payload["to"] == "<recipient>" and payload["type"] == "interactive" and payload["interactive"]["type"] == "list"
    assert [row["id"] for row in rows(payload["interactive"])] == ["opt-1", "opt-2", "opt-3"]
    check_message({**payload, "to": WA_DIGITS})

    outside = preview(sidecar, "vendor_options", "whatsapp", options, reply_window_open=False)["payload"]
    assert outside["to"] == "<recipient>" and outside["type"] == "template" and outside["template"]["name"] == "vendor_options"
    check_message({**outside, "to": WA_DIGITS})

    welcome = preview(sidecar, "welcome", "whatsapp", {"client_name": "Priya"})
    assert welcome["payload"]["type"] == "text" and welcome["payload"]["text"]["body"] == welcome["text"]
    check_message({**welcome["payload"], "to": WA_DIGITS})
    template = preview(sidecar, "welcome", "whatsapp", {"client_name": "Priya"}, reply_window_open=False)["payload"]
    assert template["type"] == "template" and template["template"]["name"] == "welcome"

    sms = preview(sidecar, "welcome", "sms", {"client_name": "Priya"})
    assert sms["payload"]["To"] == "<recipient>" and sms["payload"]["Body"] == sms["text"]
    assert set(sms["payload"]) <= TWILIO_FIELDS, sms["payload"]

    email = preview(sidecar, "welcome", "email", {"client_name": "Priya"})
    assert email.get("payload") is None
