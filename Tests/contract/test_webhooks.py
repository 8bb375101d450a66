"""The side port, as providers and mail clients use it: Twilio callbacks signed by the official `twilio`
package's RequestValidator, Meta's webhooks in their documented shape with X-Hub-Signature-256, the
open pixel, click redirects and RFC 8058 unsubscribe of an email delivered through aiosmtpd, opt-out
keywords and replies, and /metrics read by the `prometheus_client` package's parser."""

import hashlib
import hmac
import http.client
import json
import re
import sqlite3
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families
from twilio.request_validator import RequestValidator

import postgres
from conftest import communicate_params
from peers.smtp import free_port
from peers.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM

APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
CLIENT_PHONE = "+14155550123"
CLIENT_WHATSAPP = "+919876543210"


def side_port(port=None):
    """The environment of a sidecar whose side port is at a known address, as PUBLIC_BASE_URL says."""
    port = port or free_port()
    return {
        "WEBHOOK_PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
    }


def listening(sidecar, timeout=10):
    """The side port's base URL, once `health` says it listens."""
    deadline = time.monotonic() + timeout
    while True:
        component = sidecar.result("health")["components"].get("webhooks", {})
        if component.get("status") == "ok":
            return f"http://{component['address']}"
        assert time.monotonic() < deadline, component
        time.sleep(0.05)


def request(base, method, path, body=None, headers=None):
    """(status, headers, body) of one request; redirects are not followed."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    answer = (response.status, dict(response.getheaders()), response.read())
    connection.close()
    return answer


def post_twilio(base, params, tamper=None):
    url = base + "/webhooks/twilio"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    body = urllib.parse.urlencode(params)
    if tamper:
        body = tamper(body)
    return request(base, "POST", "/webhooks/twilio", body.encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
    })


def post_meta(base, payload, secret=APP_SECRET):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return request(base, "POST", "/webhooks/whatsapp", body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature})


def meta_payload(statuses=(), messages=()):
    """A notification in the shape Meta documents for the `messages` field."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        **({"contacts": [{"profile": {"name": "Priya"}, "wa_id": CLIENT_WHATSAPP[1:]}]} if messages else {}),
        **({"statuses": list(statuses)} if statuses else {}),
        **({"messages": list(messages)} if messages else {}),
    }}]}]}


def meta_status(wamid, status, timestamp, errors=None):
    found = {"id": wamid, "status": status, "timestamp": str(timestamp), "recipient_id": CLIENT_WHATSAPP[1:]}
    if errors:
        found["errors"] = errors
    return found


def inbound_whatsapp(text, timestamp):
    return {"from": CLIENT_WHATSAPP[1:], "id": "wamid.IN" + str(timestamp), "timestamp": str(timestamp), "type": "text", "text": {"body": text}}


def twilio_status(sid, status, **extra):
    return {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "MessageSid": sid, "SmsSid": sid, "MessageStatus": status,
            "SmsStatus": status, "From": FROM, "To": CLIENT_PHONE, **extra}


def twilio_inbound(body, sid="SM" + "1" * 32):
    return {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
            "SmsStatus": "received", "From": CLIENT_PHONE, "To": FROM, "Body": body, "NumMedia": "0", "NumSegments": "1",
            "FromCountry": "US", "ToCountry": "US"}


def audited_consent(workdir, database_env, client_id):
    """The audit log's details of the client's preference saves, oldest first."""
    sql = f"SELECT detail FROM audit_log WHERE client_id = '{client_id}' AND action = 'preferences.saved' ORDER BY at, seq"
    if "DATABASE_URL" in database_env:
        return postgres.psql(database_env["DATABASE_URL"], sql).splitlines()
    with sqlite3.connect(workdir / "crm.sqlite") as connection:
        return [row[0] for row in connection.execute(sql)]


def statuses(sidecar, communication_id):
    return [n["params"]["status"] for n in sidecar.notifications
            if n["method"] == "communication.status" and n["params"]["communication_id"] == communication_id]


def provider_id(sidecar, communication_id):
    found = sidecar.result("communications.get", {"communication_id": communication_id})
    return found["attempts"][-1]["provider_message_id"]


def send_sms(sidecar, ids):
    result = sidecar.result("communicate", communicate_params(ids, urgency="critical", recipient={"phone": CLIENT_PHONE}))
    assert result["status"] == "sent" and result["channel_used"] == "sms", result
    return result["communication_id"]


# The listener


def test_health_reports_where_the_side_port_listens(start):
    sidecar = start()  # WEBHOOK_PORT=0: a free port, reported by health
    base = listening(sidecar)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base) and not base.endswith(":0")
    status, headers, body = request(base, "GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_unknown_paths_oversized_bodies_and_garbage_never_hurt_the_sidecar(start, twilio):
    sidecar = start(env={**twilio.env(), **side_port(), "WEBHOOK_MAX_BODY_BYTES": "2048"})
    base = listening(sidecar)
    assert request(base, "GET", "/nowhere")[0] == 404
    assert request(base, "POST", "/webhooks/twilio", b"x=" + b"y" * 4096, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 413
    assert post_meta(base, {"entry": "not a list"})[0] in (200, 400)
    assert request(base, "POST", "/webhooks/whatsapp", b"\xff\xfe not json", {
        "X-Hub-Signature-256": "sha256=" + hmac.new(APP_SECRET.encode(), b"\xff\xfe not json", hashlib.sha256).hexdigest()})[0] == 400
    assert request(base, "POST", "/webhooks/twilio", b"%%%", {"X-Twilio-Signature": "bm9wZQ=="})[0] == 403
    assert sidecar.result("health")["status"] == "ok"


# Twilio


def test_a_signed_twilio_status_callback_moves_the_sms_on_and_a_changed_byte_is_refused(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    communication_id = send_sms(sidecar, ids)
    sid = provider_id(sidecar, communication_id)
    assert twilio.accepted()[0]["fields"]["StatusCallback"] == base + "/webhooks/twilio"

    status, _, _ = post_twilio(base, twilio_status(sid, "delivered"), tamper=lambda body: body.replace("delivered", "delivereD", 1))
    assert status == 403
    assert post_twilio(base, {**twilio_status(sid, "delivered")}, tamper=lambda body: body + "&Extra=1")[0] == 403
    found = sidecar.result("communications.get", {"communication_id": communication_id})
    assert found["status"] == "sent" and [e["status"] for e in found["events"]][-1] == "sent"

    status, headers, body = post_twilio(base, twilio_status(sid, "delivered", RawDlrDoneDate="2611251000"))
    assert status == 200 and headers["Content-Type"].startswith("text/xml") and b"<Response>" in body
    sidecar.wait_for_notifications(lambda n: "delivered" in statuses(sidecar, communication_id))
    [note] = [n["params"] for n in sidecar.notifications if n["method"] == "communication.status" and n["params"]["status"] == "delivered"]
    assert note["provider_message_id"] == sid and note["channel"] == "sms" and note["previous_status"] == "sent"

    # A replay and a late `sent` change nothing and announce nothing.
    assert post_twilio(base, twilio_status(sid, "delivered"))[0] == 200
    assert post_twilio(base, twilio_status(sid, "sent"))[0] == 200
    time.sleep(0.3)
    assert statuses(sidecar, communication_id).count("delivered") == 1
    events = sidecar.result("communications.get", {"communication_id": communication_id})["events"]
    assert [e["status"] for e in events].count("delivered") == 1


def test_an_undelivered_sms_falls_back_to_the_next_channel(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    communication_id = send_sms(sidecar, ids)  # critical: sms, then whatsapp (the same number, by the outbox here)
    sid = provider_id(sidecar, communication_id)
    assert post_twilio(base, twilio_status(sid, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable destination handset"))[0] == 200
    sidecar.wait_for_notifications(lambda n: any(
        x["params"].get("channel") == "whatsapp" and x["params"]["status"] == "sent" for x in n if x["method"] == "communication.status"))
    found = sidecar.result("communications.get", {"communication_id": communication_id})
    assert found["status"] == "sent" and found["channel_used"] == "whatsapp"
    failed = [a for a in found["attempts"] if a["outcome"] == "failed"]
    assert len(failed) == 1 and failed[0]["channel"] == "sms" and "30003" in failed[0]["error"]
    # A late second report about the SMS changes nothing more.
    assert post_twilio(base, twilio_status(sid, "failed", ErrorCode="30003"))[0] == 200
    time.sleep(0.3)
    assert sidecar.result("communications.get", {"communication_id": communication_id})["status"] == "sent"


def test_an_undelivered_sms_with_no_channel_left_fails_with_twilios_error(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    params = communicate_params(ids, urgency="critical", preferred_channel="sms", recipient={"phone": CLIENT_PHONE})
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "opt_out_whatsapp": True})
    result = sidecar.result("communicate", params)
    assert result["decision"]["channels"] == ["sms"], result
    communication_id = result["communication_id"]
    sid = provider_id(sidecar, communication_id)
    assert post_twilio(base, twilio_status(sid, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable destination handset"))[0] == 200
    sidecar.wait_for_notifications(lambda n: "failed" in statuses(sidecar, communication_id))
    [note] = [n["params"] for n in sidecar.notifications if n["method"] == "communication.status" and n["params"]["status"] == "failed"]
    assert "30003" in note["error"] and note["provider_message_id"] == sid


def test_stop_opts_the_client_out_of_sms_and_start_opts_back_in(start, twilio, ids, workdir, database_env):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    send_sms(sidecar, ids)
    assert post_twilio(base, twilio_inbound("  Stop "))[0] == 200
    sidecar.wait_for_notifications(lambda n: any(x["method"] == "client.opted_out" for x in n))
    [note] = [n["params"] for n in sidecar.notifications if n["method"] == "client.opted_out"]
    assert note["client_id"] == ids["client_id"] and note["channel"] == "sms" and note["source"] == "sms_keyword"
    assert sidecar.result("preferences.get", {"client_id": ids["client_id"]})["opt_out_sms"] is True
    # Opted out: SMS is never used again.
    decision = sidecar.result("communicate", communicate_params(ids, urgency="critical", recipient={"phone": CLIENT_PHONE}))["decision"]
    assert "sms" not in decision["channels"] and "sms skipped: client opted out" in decision["reasons"]
    # A second STOP changes nothing and says nothing.
    assert post_twilio(base, twilio_inbound("STOP", sid="SM" + "2" * 32))[0] == 200
    assert post_twilio(base, twilio_inbound("start", sid="SM" + "3" * 32))[0] == 200
    deadline = time.monotonic() + 5
    while sidecar.result("preferences.get", {"client_id": ids["client_id"]})["opt_out_sms"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len([n for n in sidecar.notifications if n["method"] == "client.opted_out"]) == 1
    assert not [n for n in sidecar.notifications if n["method"] == "inbound.message"]
    # Consent changes are audited with what made them.
    assert audited_consent(workdir, database_env, ids["client_id"]) == [
        "opt_out_email=false opt_out_sms=true opt_out_whatsapp=false source=sms_keyword",
        "opt_out_email=false opt_out_sms=false opt_out_whatsapp=false source=sms_keyword",
    ]


@pytest.mark.parametrize("text, intent, selection", [
    ("Yes, that works for us", "confirmation", None),
    ("option 2 please", "selection", {"number": 2}),
    ("#3", "selection", {"number": 3}),
    ("No thanks", "rejection", None),
    ("I know, thanks", "unknown", None),
    ("help", "help", None),
])
def test_replies_come_with_their_intent(start, twilio, ids, text, intent, selection):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    communication_id = send_sms(sidecar, ids)
    assert post_twilio(base, twilio_inbound(text))[0] == 200
    sidecar.wait_for_notifications(lambda n: any(x["method"] == "inbound.message" for x in n))
    [note] = [n["params"] for n in sidecar.notifications if n["method"] == "inbound.message"]
    assert note["intent"] == intent and note.get("selection") == selection, note
    assert note["text"] == text and note["from"] == CLIENT_PHONE and note["channel"] == "sms"
    assert note["client_id"] == ids["client_id"] and note["communication_id"] == communication_id


# WhatsApp


def test_the_whatsapp_handshake_answers_only_the_right_token(start):
    sidecar = start(env=side_port())
    base = listening(sidecar)
    query = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    status, _, body = request(base, "GET", "/webhooks/whatsapp?" + query)
    assert status == 200 and body == b"1158201444"
    wrong = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    status, _, body = request(base, "GET", "/webhooks/whatsapp?" + wrong)
    assert status == 403 and b"1158201444" not in body


def test_whatsapp_statuses_move_forward_by_their_own_timestamps(start, meta, ids):
    sidecar = start(env={**meta.env(), **side_port()})
    base = listening(sidecar)
    result = sidecar.result("communicate", communicate_params(ids, urgency="high", recipient={"whatsapp": CLIENT_WHATSAPP}))
    communication_id = result["communication_id"]
    wamid = provider_id(sidecar, communication_id)
    now = int(time.time())

    assert post_meta(base, meta_payload([meta_status(wamid, "delivered", now + 1)]), secret="wrong")[0] == 403
    assert post_meta(base, meta_payload([meta_status(wamid, "delivered", now + 1)]))[0] == 200
    sidecar.wait_for_notifications(lambda n: "delivered" in statuses(sidecar, communication_id))
    # `read` and a late, repeated `delivered` in one post: read wins, the rest is history.
    assert post_meta(base, meta_payload([meta_status(wamid, "read", now + 5), meta_status(wamid, "delivered", now + 1)]))[0] == 200
    sidecar.wait_for_notifications(lambda n: "opened" in statuses(sidecar, communication_id))
    time.sleep(0.3)
    assert statuses(sidecar, communication_id) == ["queued", "sent", "delivered", "opened"]
    events = sidecar.result("communications.get", {"communication_id": communication_id})["events"]
    opened = [e for e in events if e["status"] == "opened"][0]
    assert opened["at"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now + 5)))


def test_read_without_delivered_opens_the_message(start, meta, ids):
    sidecar = start(env={**meta.env(), **side_port()})
    base = listening(sidecar)
    communication_id = sidecar.result("communicate", communicate_params(ids, urgency="high", recipient={"whatsapp": CLIENT_WHATSAPP}))["communication_id"]
    wamid = provider_id(sidecar, communication_id)
    assert post_meta(base, meta_payload([meta_status(wamid, "read", int(time.time()))]))[0] == 200
    sidecar.wait_for_notifications(lambda n: "opened" in statuses(sidecar, communication_id))
    assert statuses(sidecar, communication_id) == ["queued", "sent", "opened"]


def test_a_whatsapp_reply_opens_the_24_hour_window_for_free_form_text(start, meta, ids):
    sidecar = start(env={**meta.env(), **side_port()})
    base = listening(sidecar)
    params = communicate_params(ids, urgency="high", recipient={"whatsapp": CLIENT_WHATSAPP}, context={"client_name": "Priya"})
    sidecar.result("communicate", params)
    assert meta.accepted()[0]["json"]["type"] == "template"

    assert post_meta(base, meta_payload(messages=[inbound_whatsapp("Yes please", int(time.time()))]))[0] == 200
    sidecar.wait_for_notifications(lambda n: any(x["method"] == "inbound.message" for x in n))
    [note] = [n["params"] for n in sidecar.notifications if n["method"] == "inbound.message"]
    assert note["intent"] == "confirmation" and note["channel"] == "whatsapp" and note["from"] == CLIENT_WHATSAPP

    sidecar.result("communicate", params)
    assert meta.accepted()[1]["json"]["type"] == "text"


# Email


def test_an_emails_pixel_link_and_one_click_unsubscribe_report_back(start, smtp, certificate, ids):
    sidecar = start(env={**smtp.env(certificate[0]), **side_port()})
    base = listening(sidecar)
    params = communicate_params(ids, message_type="blueprint_delivery", urgency="high", recipient={"email": "priya@example.com"},
                                context={"client_name": "Priya", "event_type": "wedding", "blueprint_url": "https://plans.example.com/b/42?v=1&x=2"})
    communication_id = sidecar.result("communicate", params)["communication_id"]
    [message] = smtp.mailbox.wait_for(1)
    parsed = smtp.mailbox.parse(message)
    html = parsed.get_body(("html",)).get_content()
    plain = parsed.get_body(("plain",)).get_content()
    assert "https://plans.example.com/b/42?v=1&x=2" in plain
    # The plain text keeps its links as written; the side port appears only in its unsubscribe footer.
    footer = [line for line in plain.splitlines() if base in line]
    assert len(footer) == 1 and footer[0].startswith(f"Unsubscribe: {base}/email/unsubscribe/"), footer

    pixel = re.search(r'<img src="([^"]+/email/open/[^"]+)"', html).group(1)
    clicks = [urllib.parse.unquote(u).replace("&amp;", "&") for u in re.findall(r'href="([^"]+/email/click/[^"]+)"', html)]
    assert clicks, html
    unsubscribe = parsed["List-Unsubscribe"].strip().strip("<>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and unsubscribe.startswith(base + "/email/unsubscribe/")

    # Forged tokens: one character changed, in the middle or at the end.
    path = urllib.parse.urlsplit(pixel).path
    for position in (-10, -1):
        forged = path[:position] + ("A" if path[position] != "A" else "B") + path[len(path) + position + 1:]
        assert request(base, "GET", forged)[0] == 404

    status, headers, body = request(base, "GET", path)
    assert status == 200 and headers["Content-Type"] == "image/gif" and body.startswith(b"GIF89a")
    sidecar.wait_for_notifications(lambda n: "opened" in statuses(sidecar, communication_id))

    click = urllib.parse.urlsplit(re.findall(r'href="([^"]+/email/click/[^"]+)"', html)[0].replace("&amp;", "&"))
    target = urllib.parse.parse_qs(click.query)["u"][0]
    assert target == "https://plans.example.com/b/42?v=1&x=2"
    elsewhere = urllib.parse.urlencode({"u": "https://evil.example.net/"})
    assert request(base, "GET", f"{click.path}?{elsewhere}")[0] == 404
    status, headers, _ = request(base, "GET", f"{click.path}?{click.query}")
    assert status == 302 and headers["Location"] == target
    sidecar.wait_for_notifications(lambda n: "clicked" in statuses(sidecar, communication_id))

    # RFC 8058: a GET (a scanner prefetching) changes nothing; the one-click POST unsubscribes.
    unsubscribe_path = urllib.parse.urlsplit(unsubscribe).path
    status, _, page = request(base, "GET", unsubscribe_path)
    assert status == 200 and b"<form method=\"post\"" in page
    assert sidecar.result("preferences.get", {"client_id": ids["client_id"]})["opt_out_email"] is False
    status, headers, _ = request(base, "POST", unsubscribe_path, b"List-Unsubscribe=One-Click",
                                 {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and "Location" not in headers
    sidecar.wait_for_notifications(lambda n: any(x["method"] == "client.opted_out" for x in n))
    [note] = [n["params"] for n in sidecar.notifications if n["method"] == "client.opted_out"]
    assert note == {**note, "client_id": ids["client_id"], "channel": "email", "source": "email_unsubscribe"}
    assert sidecar.result("preferences.get", {"client_id": ids["client_id"]})["opt_out_email"] is True
    assert statuses(sidecar, communication_id) == ["queued", "sent", "opened", "clicked"]


# Metrics


def test_metrics_parse_as_prometheus_text(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    communication_id = send_sms(sidecar, ids)
    post_twilio(base, twilio_status(provider_id(sidecar, communication_id), "delivered"))
    sidecar.wait_for_notifications(lambda n: "delivered" in statuses(sidecar, communication_id))
    status, headers, body = request(base, "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(body.decode())}
    samples = [s for s in families["crm_communications"].samples if s.name == "crm_communications_total"]
    assert {"message_type": "welcome", "channel": "sms", "status": "delivered"} in [s.labels for s in samples]
    assert "crm_delivery_time_seconds" in families and families["crm_delivery_time_seconds"].type == "histogram"
    assert [s.value for s in families["crm_queue_size"].samples] == [0]


# Several sidecars on one PostgreSQL


@pytest.mark.skipif(not postgres.SERVER_URL, reason="needs the test PostgreSQL server (script/test starts it)")
def test_a_receipt_reaching_another_sidecar_is_announced_by_the_one_that_sent(start, twilio, ids, database_env):
    if "DATABASE_URL" not in database_env:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    sender = start(env={**twilio.env(), **side_port()})
    listening(sender)
    other = start(env={**twilio.env(), **side_port()})
    other_base = listening(other)
    communication_id = send_sms(sender, ids)
    assert post_twilio(other_base, twilio_status(provider_id(sender, communication_id), "delivered"))[0] == 200
    sender.wait_for_notifications(lambda n: "delivered" in statuses(sender, communication_id))
    time.sleep(0.3)
    assert statuses(other, communication_id) == []
