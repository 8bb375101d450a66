"""Real channels against real or contract peers: email through aiosmtpd (STARTTLS or implicit TLS,
AUTH, a self-signed certificate trusted through SMTP_CA_FILE), SMS through a server holding Twilio's
documented Messages API, WhatsApp through one holding Meta's Cloud API."""

import base64
import time
from datetime import datetime

import pytest

from conftest import communicate_params
from peers.smtp import SMTPPeer

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
SUBJECT = "Your budget options for the wedding"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 10


def email_params(ids, **overrides):
    params = dict(
        message_type="budget_summary", urgency="high",
        recipient={"email": "priya@example.com", "name": "Priya Śharma"},
        context={"client_name": "Priya Śharma", "event_type": "wedding", "total_cost": "₹9,50,000",
                 "budget_strategies": [{"name": "Essential", "total_cost": "₹8,00,000"}]},
    )
    return communicate_params(ids, **{**params, **overrides})


def wait_for_status(sidecar, communication_id, statuses, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        found = sidecar.result("communications.get", {"communication_id": communication_id})
        if found["status"] in statuses or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


# Email


def test_an_email_with_attachments_arrives_over_starttls_with_auth(start, smtp, certificate, ids):
    sidecar = start(env={**smtp.env(certificate[0]), "WEBHOOK_PORT": "8787"})
    attachments = [
        {"filename": "budget.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()},
        {"filename": "plan de salle – été.png", "content_type": "image/png", "data": base64.b64encode(PNG).decode()},
    ]
    result = sidecar.result("communicate", email_params(ids, attachments=attachments))
    assert result["status"] == "sent", result
    [message] = smtp.mailbox.wait_for(1)
    assert message["tls"] and message["authenticated"]
    assert message["from"] == "planner@planiva.example" and message["to"] == ["priya@example.com"]

    parsed = smtp.mailbox.parse(message)
    assert str(parsed["From"]) == "Planiva Événements <planner@planiva.example>"
    assert parsed["To"].addresses[0].display_name == "Priya Śharma"
    assert parsed["Subject"] == SUBJECT
    assert parsed["X-CRM-Communication-ID"] == result["communication_id"]
    assert result["attempts"][-1]["provider"] == "smtp"
    assert parsed["Message-ID"] == "<" + result["attempts"][-1]["provider_message_id"] + ">"
    assert parsed["Date"].datetime is not None
    assert parsed["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:8787/email/unsubscribe/")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed.get_body(("plain",)).get_content().startswith("Budget options\n\nDear Priya Śharma,")
    assert "₹8,00,000" in parsed.get_body(("plain",)).get_content()
    assert "<html>" in parsed.get_body(("html",)).get_content()
    files = {part.get_filename(): part for part in parsed.iter_attachments()}
    assert set(files) == {"budget.pdf", "plan de salle – été.png"}
    assert files["budget.pdf"].get_content_type() == "application/pdf" and files["budget.pdf"].get_content() == PDF
    assert files["plan de salle – été.png"].get_content() == PNG
    # RFC 5322: CRLF line ends, no line over 998 characters, and none over 78 but the unsubscribe
    # link's (a URL cannot be folded).
    raw = message["raw"]
    assert b"\n" not in raw.replace(b"\r\n", b"")
    long = [line for line in raw.split(b"\r\n") if len(line) > 78]
    assert all(line.startswith(b" <http://127.0.0.1:8787/email/unsubscribe/") and len(line) <= 998 for line in long), long


def test_connections_are_reused_across_messages(start, smtp, certificate, ids):
    sidecar = start(env={**smtp.env(certificate[0]), "SMTP_MAX_SESSIONS": "1"})
    for _ in range(4):
        assert sidecar.result("communicate", email_params(ids))["status"] == "sent"
    messages = smtp.mailbox.wait_for(4)
    assert len({m["session"] for m in messages}) == 1, "one SMTP session carried all four messages"
    assert [ok for _, ok in smtp.mailbox.logins] == [True], "logged in once"


def test_implicit_tls(start, certificate, ids):
    peer = SMTPPeer(*certificate, implicit_tls=True)
    try:
        sidecar = start(env=peer.env(certificate[0], security="implicit"))
        assert sidecar.result("communicate", email_params(ids))["status"] == "sent"
        [message] = peer.mailbox.wait_for(1)
        assert message["tls"] and message["authenticated"]
    finally:
        peer.stop()


def test_an_untrusted_certificate_is_refused_not_ignored(start, smtp, certificate, ids):
    env = smtp.env(certificate[0])
    del env["SMTP_CA_FILE"]
    sidecar = start(env=env)
    result = sidecar.result("communicate", email_params(ids))
    assert result["status"] == "failed"
    [attempt] = result["attempts"]
    assert attempt["error_category"] == "auth" and "SMTP_CA_FILE" in attempt["error"]
    assert smtp.mailbox.messages == []
    assert sidecar.result("health")["components"]["email"]["status"] != "ok"


def test_refused_credentials_are_an_auth_failure(start, smtp, certificate, ids):
    sidecar = start(env={**smtp.env(certificate[0]), "SMTP_PASSWORD": "wrong"})
    result = sidecar.result("communicate", email_params(ids))
    [attempt] = result["attempts"]
    assert attempt["error_category"] == "auth" and "535" in attempt["error"]
    assert "wrong" not in sidecar.stderr() and "wrong" not in attempt["error"]


def test_a_refused_recipient_falls_back_to_the_next_channel(start, smtp, certificate, ids):
    smtp.mailbox.refuse["priya@example.com"] = "550 5.1.1 No such user"
    sidecar = start(env=smtp.env(certificate[0]))
    params = email_params(ids, recipient={"email": "priya@example.com", "phone": "+919876543210"})
    result = sidecar.result("communicate", params)
    assert result["status"] == "sent" and result["channel_used"] != "email"
    assert result["attempts"][0]["error_category"] == "invalid_recipient"
    assert "550" in result["attempts"][0]["error"]


def test_a_deferral_is_retried(start, smtp, certificate, ids):
    smtp.mailbox.refuse["priya@example.com"] = "451 4.3.0 Try again later"
    sidecar = start(env={**smtp.env(certificate[0]), "POLICY_FILE": ""})
    result = sidecar.result("communicate", email_params(ids, recipient={"email": "priya@example.com"}))
    assert result["status"] == "queued"
    assert result["attempts"][0]["error_category"] == "transient"


@pytest.mark.parametrize("field, params", [
    ("context.client_name", {"context": {"client_name": "Priya\r\nBcc: everyone@example.com"}}),
    ("recipient.name", {"recipient": {"email": "priya@example.com", "name": "Priya\nBcc: everyone@example.com"}}),
    ("recipient.email", {"recipient": {"email": "priya@example.com\r\nBcc: everyone@example.com"}}),
])
def test_header_injection_sends_nothing(start, smtp, certificate, ids, field, params):
    sidecar = start(env=smtp.env(certificate[0]))
    error = sidecar.error("communicate", communicate_params(ids, **params))
    assert error["code"] == -32602 and error["data"]["field"] == field, error
    assert sidecar.result("communications.list", {"client_id": ids["client_id"]})["communications"] == []
    time.sleep(0.3)
    assert smtp.mailbox.messages == []


@pytest.mark.parametrize("attachment, field", [
    ({"filename": "run.exe", "content_type": "application/x-msdownload", "data": "AAAA"}, "content_type"),
    ({"filename": "budget.png", "content_type": "application/pdf", "data": "AAAA"}, "filename"),
    ({"filename": "../etc/passwd.txt", "content_type": "text/plain", "data": "AAAA"}, "filename"),
    ({"filename": "a.txt", "content_type": "text/plain", "data": "not base64!"}, "data"),
])
def test_a_bad_attachment_is_named(sidecar, ids, attachment, field):
    error = sidecar.error("communicate", communicate_params(ids, attachments=[attachment]))
    assert error["code"] == -32602 and error["data"]["field"].endswith(field), error
    assert error["data"]["field"].startswith("attachments")


def test_attachments_over_the_limit_are_refused(start, ids):
    sidecar = start(env={"MAX_LINE_BYTES": str(16 << 20)})
    data = base64.b64encode(b"\0" * (10 * 1024 * 1024 + 1)).decode()
    error = sidecar.error("communicate", communicate_params(ids, attachments=[{"filename": "big.pdf", "content_type": "application/pdf", "data": data}]))
    assert error["code"] == -32602 and error["data"]["field"] == "attachments" and "10 MB" in error["data"]["reason"]


# SMS


def test_an_sms_goes_through_twilios_messages_api(start, twilio, ids):
    sidecar = start(env={**twilio.env(), "PUBLIC_BASE_URL": "https://crm.example.com"})
    params = communicate_params(ids, message_type="reminder", urgency="critical", recipient={"phone": "+919876543210"},
                                context={"client_name": "Priya", "pending_items": ["guest list"], "deadline": "Friday"})
    result = sidecar.result("communicate", params)
    assert result["status"] == "sent" and result["channel_used"] == "sms", result
    [request] = twilio.accepted()
    fields = request["fields"]
    assert fields["To"] == "+919876543210" and fields["From"] == "+15005550006"
    assert fields["Body"].startswith("Hi Priya, a reminder") and "guest list" in fields["Body"]
    assert fields["StatusCallback"] == "https://crm.example.com/webhooks/twilio"
    assert result["attempts"][-1]["provider"] == "twilio"
    assert result["attempts"][-1]["provider_message_id"].startswith("SM")


def test_twilio_rate_limits_wait_for_retry_after(start, twilio, ids):
    twilio.script.append((429, {"Retry-After": "1"}, {"code": 20429, "message": "Too Many Requests", "status": 429}))
    sidecar = start(env={**twilio.env(), "SEND_POLL_MS": "100"})
    params = communicate_params(ids, urgency="critical", recipient={"phone": "+919876543210"}, wait=False)
    communication_id = sidecar.result("communicate", params)["communication_id"]
    found = wait_for_status(sidecar, communication_id, {"sent", "failed"})
    assert found["status"] == "sent", found
    assert [a.get("error_category") for a in found["attempts"]] == ["rate_limited", None]
    first, second = (datetime.fromisoformat(a["started_at"].replace("Z", "+00:00")) for a in found["attempts"])
    assert (second - first).total_seconds() >= 0.9, "waited as long as Retry-After asked"


def test_an_invalid_number_falls_through_to_the_next_channel(start, twilio, ids):
    twilio.script.append((400, {}, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}))
    sidecar = start(env=twilio.env())
    params = communicate_params(ids, urgency="critical", recipient={"phone": "+919876543210", "email": "priya@example.com"})
    result = sidecar.result("communicate", params)
    assert result["attempts"][0]["error_category"] == "invalid_recipient" and "21211" in result["attempts"][0]["error"]
    assert result["status"] == "sent" and result["channel_used"] != "sms"


def test_refused_twilio_credentials_are_an_auth_failure(start, twilio, ids):
    sidecar = start(env={**twilio.env(), "TWILIO_AUTH_TOKEN": "not-the-token"})
    result = sidecar.result("communicate", communicate_params(ids, recipient={"phone": "+919876543210"}))
    assert result["attempts"][0]["error_category"] == "auth"
    assert "not-the-token" not in sidecar.stderr()


# WhatsApp


def test_whatsapp_outside_the_window_sends_the_approved_template(start, meta, ids):
    sidecar = start(env=meta.env())
    params = communicate_params(ids, urgency="high", recipient={"whatsapp": "+919876543210"},
                                context={"client_name": "Priya", "event_type": "wedding"})
    result = sidecar.result("communicate", params)
    assert result["status"] == "sent" and result["channel_used"] == "whatsapp", result
    [request] = meta.accepted()
    message = request["json"]
    assert request["headers"]["Authorization"] == "Bearer EAAG-test-token"
    assert message["to"] == "919876543210" and message["type"] == "template"
    assert message["template"]["name"] == "welcome" and message["template"]["language"]["code"] == "en"
    texts = [p["text"] for p in message["template"]["components"][0]["parameters"]]
    assert texts == ["Priya", "wedding", "-"]
    assert result["attempts"][-1]["provider_message_id"].startswith("wamid.")


def test_whatsapp_templates_and_languages_come_from_the_policy(start, meta, ids, workdir):
    policy = workdir / "policy.json"
    policy.write_text('{"whatsapp_templates": {"welcome": {"name": "planiva_welcome", "language": "en_US", "parameters": ["client_name"]}}}')
    sidecar = start(env={**meta.env(), "POLICY_FILE": str(policy)})
    params = communicate_params(ids, urgency="high", recipient={"whatsapp": "+919876543210"})
    assert sidecar.result("communicate", params)["status"] == "sent"
    template = meta.accepted()[0]["json"]["template"]
    assert template["name"] == "planiva_welcome" and template["language"]["code"] == "en_US"


@pytest.mark.parametrize("answer, category", [
    ((400, {}, {"error": {"message": "Re-engagement message", "type": "OAuthException", "code": 131047,
                          "error_data": {"messaging_product": "whatsapp", "details": "More than 24 hours have passed"}}}), "permanent"),
    ((400, {}, {"error": {"message": "Message undeliverable", "type": "OAuthException", "code": 131026}}), "invalid_recipient"),
    ((401, {}, {"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}}), "auth"),
])
def test_meta_errors_are_classified(start, meta, ids, answer, category):
    meta.script.append(answer)
    sidecar = start(env=meta.env())
    params = communicate_params(ids, urgency="high", recipient={"whatsapp": "+919876543210", "email": "priya@example.com"})
    result = sidecar.result("communicate", params)
    assert result["attempts"][0]["channel"] == "whatsapp" and result["attempts"][0]["error_category"] == category, result
    assert result["status"] == "sent" and result["channel_used"] == "email"


# Templates


def test_a_missing_variable_is_reported_in_the_attempt(sidecar, ids):
    result = sidecar.result("communicate", communicate_params(ids, context={}))
    assert result["status"] == "sent"
    assert "client_name" in result["attempts"][-1]["missing_variables"]


def test_templates_follow_the_clients_language_with_english_fallback(start, ids, workdir):
    folder = workdir / "templates"
    folder.mkdir()
    (folder / "welcome.sms.hi.mustache").write_text("नमस्ते {{client_name}}!")
    sidecar = start(env={"TEMPLATES_DIR": str(folder)})
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "language_preference": "hi"})
    result = sidecar.result("communicate", communicate_params(ids, recipient={"phone": "+919876543210"}))
    outbox = list((workdir / "outbox" / "sms").glob("*.json"))
    assert result["status"] == "sent" and len(outbox) == 1
    assert "नमस्ते Priya Sharma!" in outbox[0].read_text()
    other = {"plan_id": ids["plan_id"], "client_id": "7a0e8400-e29b-41d4-a716-446655440009"}
    sidecar.result("preferences.update", {"client_id": other["client_id"], "language_preference": "fr"})
    sidecar.result("communicate", communicate_params(other, recipient={"phone": "+919876543211"}))
    texts = [f.read_text() for f in (workdir / "outbox" / "sms").glob("*.json")]
    assert any("Welcome" in text or "Hi" in text for text in texts if "नमस्ते" not in text)
