"""/metrics as Prometheus reads it: `promtool check metrics` (Prometheus' own linter, which
script/bootstrap --python puts in .venv/bin) is clean on a fresh sidecar and after traffic; every
documented family has HELP and TYPE, and every series with known label values is there from start,
at zero; each status change is counted under its communication's message type and the channel it
happened on; HEAD /metrics answers like GET without the body."""

import datetime
import re
import shutil
import subprocess
import urllib.parse

import pytest

import contract
import postgres
from conftest import communicate_params
from test_persistence import rfc3339
from test_webhooks import listening, post_twilio, provider_id, request, send_sms, side_port, statuses, twilio_status

FAMILIES = {
    "crm_communications_total": "counter",
    "crm_delivery_time_seconds": "histogram",
    "crm_api_errors_total": "counter",
    "crm_retry_attempts_total": "counter",
    "crm_fallback_used_total": "counter",
    "crm_queue_size": "gauge",
    "crm_open_rate": "gauge",
    "crm_database_connections": "gauge",
}
CHANNELS = ["email", "sms", "whatsapp"]
MESSAGE_TYPES = ["welcome", "budget_summary", "vendor_options", "selection_confirmation", "blueprint_delivery",
                 "error_notification", "reminder"]
FAILURE_CATEGORIES = ["transient", "rate_limited", "permanent", "invalid_recipient", "auth"]
# The channels a change to each status is announced with ("none": before a send, or ended as a whole).
STATUS_CHANNELS = {
    "scheduled": ["none"], "queued": ["none"], "cancelled": ["none"],
    "sent": CHANNELS, "delivered": CHANNELS, "opened": CHANNELS, "clicked": CHANNELS, "bounced": CHANNELS,
    "failed": CHANNELS + ["none"],
}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def promtool():
    found = contract.ROOT / ".venv" / "bin" / "promtool"
    found = str(found) if found.exists() else shutil.which("promtool")
    if not found:
        pytest.fail("promtool is missing: run script/bootstrap --python")
    return found


class Scrape:
    """One GET /metrics: the text, each family's HELP and TYPE, and each sample's value."""

    def __init__(self, base):
        status, headers, body = request(base, "GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain"), (status, headers)
        self.text = body.decode()
        self.help, self.type, self.samples = {}, {}, {}
        for line in self.text.splitlines():
            if line.startswith("# HELP "):
                name, text = line[len("# HELP "):].split(" ", 1)
                self.help[name] = text
            elif line.startswith("# TYPE "):
                name, kind = line[len("# TYPE "):].split(" ")
                self.type[name] = kind
            elif line:
                name, labels, value = SAMPLE.match(line).groups()
                key = (name, frozenset(LABEL.findall(labels or "")))
                assert key not in self.samples, f"{line} twice"
                self.samples[key] = float(value)

    def value(self, name, **labels):
        return self.samples[(name, frozenset(labels.items()))]

    def series(self, name):
        """The label sets of `name`'s samples."""
        return [dict(labels) for (sample, labels) in self.samples if sample == name]

    def assert_promtool_clean(self):
        checked = subprocess.run([promtool(), "check", "metrics"], input=self.text.encode(), capture_output=True, timeout=30)
        assert checked.returncode == 0 and not checked.stdout and not checked.stderr, (checked, self.text)


def test_a_fresh_sidecar_passes_promtool_with_every_documented_series_at_zero(start, twilio, database_env):
    # Twilio configured: SMS go through `twilio`, email and WhatsApp to the outbox.
    sidecar = start(env={**twilio.env(), **side_port()})
    scrape = Scrape(listening(sidecar))
    scrape.assert_promtool_clean()
    assert scrape.type == FAMILIES and set(scrape.help) == set(FAMILIES) and all(scrape.help.values())

    communications = scrape.series("crm_communications_total")
    assert sorted(map(sorted_items, communications)) == sorted(
        sorted_items({"message_type": m, "status": s, "channel": c})
        for m in MESSAGE_TYPES for s, channels in STATUS_CHANNELS.items() for c in channels
    )
    assert len(communications) == 7 * 22
    assert sorted(map(sorted_items, scrape.series("crm_api_errors_total"))) == sorted(
        sorted_items({"api": api, "error_type": category}) for api in ["outbox", "twilio"] for category in FAILURE_CATEGORIES
    )
    assert sorted(map(sorted_items, scrape.series("crm_fallback_used_total"))) == sorted(
        sorted_items({"from_channel": a, "to_channel": b}) for a in CHANNELS for b in CHANNELS if a != b
    )
    assert sorted(s["channel"] for s in scrape.series("crm_retry_attempts_total")) == CHANNELS
    assert sorted(s["channel"] for s in scrape.series("crm_delivery_time_seconds_count")) == CHANNELS
    assert sorted(s["message_type"] for s in scrape.series("crm_open_rate")) == sorted(MESSAGE_TYPES)
    counted = [v for (name, _), v in scrape.samples.items() if name not in ("crm_database_connections",)]
    assert counted and all(v == 0 for v in counted), scrape.text
    assert scrape.value("crm_queue_size") == 0
    # SQLite counts its one writer; PostgreSQL counts this sidecar's pooled connections (named by
    # application_name), at least the one that answered the count.
    connections = scrape.value("crm_database_connections")
    if "DATABASE_URL" in database_env:
        assert 1 <= connections <= 200, connections
    else:
        assert connections == 1


def test_head_answers_like_get_without_a_body(start):
    sidecar = start(env=side_port())
    base = listening(sidecar)
    status, headers, body = request(base, "HEAD", "/metrics")
    assert status == 200 and body == b"", (status, headers, body)
    assert headers["Content-Type"].startswith("text/plain")
    assert int(headers["Content-Length"]) == len(Scrape(base).text.encode())


def test_after_traffic_each_change_is_counted_with_its_labels_and_promtool_stays_clean(start, twilio, smtp, certificate, ids):
    smtp.mailbox.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    smtp.mailbox.refuse["later@example.com"] = "451 4.3.0 Try again later"
    sidecar = start(env={**twilio.env(), **smtp.env(certificate[0]), **side_port()})
    base = listening(sidecar)

    # An SMS, delivered.
    sms = send_sms(sidecar, ids)
    post_twilio(base, twilio_status(provider_id(sidecar, sms), "delivered"))
    sidecar.wait_for_notifications(lambda n: "delivered" in statuses(sidecar, sms))

    # An email, opened through its pixel.
    email = sidecar.result("communicate", communicate_params(ids, message_type="blueprint_delivery",
                                                             context={"client_name": "Priya", "blueprint_url": "https://b.example.com/1"}))
    assert email["status"] == "sent" and email["channel_used"] == "email", email
    [message] = smtp.mailbox.wait_for(1)
    html = smtp.mailbox.parse(message).get_body(("html",)).get_content()
    pixel = urllib.parse.urlsplit(re.search(r'<img src="([^"]+/email/open/[^"]+)"', html).group(1)).path
    assert request(base, "GET", pixel)[0] == 200
    sidecar.wait_for_notifications(lambda n: "opened" in statuses(sidecar, email["communication_id"]))

    # A refused address: an api error, and the message falls back to SMS.
    fallback = sidecar.result("communicate", communicate_params(
        ids, message_type="vendor_options", recipient={"email": "nobody@example.com", "phone": "+14155550123"}))
    assert fallback["status"] == "sent" and fallback["channel_used"] == "sms", fallback
    # A deferral: retried later.
    deferred = sidecar.result("communicate", communicate_params(ids, message_type="budget_summary",
                                                                recipient={"email": "later@example.com"}))
    assert deferred["status"] == "queued", deferred
    # One for later.
    send_at = rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    later = sidecar.result("communicate", communicate_params(ids, message_type="reminder", send_at=send_at))
    assert later["status"] == "scheduled", later

    scrape = Scrape(base)
    scrape.assert_promtool_clean()
    assert scrape.type == FAMILIES

    def counted(message_type, channel, status):
        return scrape.value("crm_communications_total", message_type=message_type, channel=channel, status=status)

    assert counted("welcome", "none", "queued") == 1
    assert counted("welcome", "sms", "sent") == 1 and counted("welcome", "sms", "delivered") == 1
    assert counted("blueprint_delivery", "none", "queued") == 1
    assert counted("blueprint_delivery", "email", "sent") == 1 and counted("blueprint_delivery", "email", "opened") == 1
    assert counted("vendor_options", "sms", "sent") == 1 and counted("vendor_options", "email", "sent") == 0
    assert counted("budget_summary", "none", "queued") == 1 and counted("budget_summary", "email", "sent") == 0
    assert counted("reminder", "none", "scheduled") == 1
    # Every change counted once, and none under a label value made up for want of the real one.
    assert sum(v for (name, _), v in scrape.samples.items() if name == "crm_communications_total") == 10
    assert all(s["message_type"] in MESSAGE_TYPES for s in scrape.series("crm_communications_total"))

    assert scrape.value("crm_delivery_time_seconds_count", channel="sms") == 1
    assert scrape.value("crm_api_errors_total", api="smtp", error_type="invalid_recipient") == 1
    assert scrape.value("crm_api_errors_total", api="smtp", error_type="transient") == 1
    assert scrape.value("crm_fallback_used_total", from_channel="email", to_channel="sms") == 1
    assert scrape.value("crm_retry_attempts_total", channel="email") == 1
    # One blueprint email accepted and opened; the welcome went by SMS, so no email of it to open.
    assert scrape.value("crm_open_rate", message_type="blueprint_delivery") == 1
    assert scrape.value("crm_open_rate", message_type="welcome") == 0
    # The deferred email and the scheduled reminder wait.
    assert scrape.value("crm_queue_size") == 2


@pytest.mark.skipif(not postgres.SERVER_URL, reason="needs the test PostgreSQL server (script/test starts it)")
def test_a_receipt_forwarded_from_another_sidecar_is_counted_once_under_its_message_type(start, twilio, ids, database_env):
    if "DATABASE_URL" not in database_env:
        pytest.skip("forwarding between sidecars is PostgreSQL's")
    sender = start(env={**twilio.env(), **side_port()})
    sender_base = listening(sender)
    other = start(env={**twilio.env(), **side_port()})
    other_base = listening(other)
    communication_id = send_sms(sender, ids)
    assert post_twilio(other_base, twilio_status(provider_id(sender, communication_id), "delivered"))[0] == 200
    sender.wait_for_notifications(lambda n: "delivered" in statuses(sender, communication_id))
    # The forwarded change lost its message type on the way; the sender reads it back from the store.
    assert Scrape(sender_base).value("crm_communications_total", message_type="welcome", channel="sms", status="delivered") == 1
    assert sum(v for (name, _), v in Scrape(other_base).samples.items() if name == "crm_communications_total") == 0


def sorted_items(labels):
    return tuple(sorted(labels.items()))
