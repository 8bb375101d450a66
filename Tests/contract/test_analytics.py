"""analytics.get through the built binary, on both stores: a known mix of communications (SMS through
the Twilio peer with delivered and undelivered callbacks, WhatsApp through the Meta peer with delivered
and read statuses, email through aiosmtpd with its open pixel and click links fetched from the side port,
refusals at send time, a rate limit, a fallback, replies and opt-outs) gives exactly the counts, rates
and percentiles this file computes on its own from what it did and from each communication's timeline
(communications.get); the filters and the period narrow, the series has one point per local hour, day
or week, and both stores agree. Playing the mix takes a few seconds; each test that needs it plays it
on a fresh store."""

import dataclasses
import datetime
import json
import math
import re
import time
import urllib.parse
import uuid

import pytest

import postgres
from conftest import BACKENDS, ENCRYPTION_KEY
from peers.meta_api import MetaAPI, error as meta_error
from peers.smtp import SMTPPeer
from peers.twilio_api import TwilioAPI, error as twilio_error
from sidecar import Sidecar
from test_persistence import rfc3339
from test_webhooks import (
    listening, meta_payload, meta_status, post_meta, post_twilio, provider_id, request, side_port, twilio_inbound,
    twilio_status,
)

STATUSES = ["pending", "scheduled", "queued", "sent", "delivered", "opened", "clicked", "failed", "bounced", "cancelled"]
SENT = {"sent", "delivered", "opened", "clicked"}
DELIVERED = {"delivered", "opened", "clicked"}
OPENED = {"opened", "clicked"}
COUNTS = ["communications", "sent", "delivered", "opened", "clicked", "failed", "bounced"]
RATES = ["delivery_rate", "open_rate", "click_rate"]
BREAKDOWN = COUNTS + RATES
# The seed's targets: (metric, channel, minimum).
TARGETS = [("delivery_rate", None, 0.95), ("open_rate", "email", 0.60), ("delivery_rate", "sms", 0.98)]
DEADLINE = 20

# Every client has addresses of its own: replies and opt-outs find their client by address.
PHONE = {key: f"+1415555020{n}" for n, key in enumerate("ABCDEMN")}
WHATSAPP = {"F": "+919876543201", "G": "+919876543202", "L": "+919876543203"}
EMAIL = {key: f"{name}@example.com" for key, name in
         {"H": "harini", "I": "ishaan", "J": "jaya", "K": "kiran", "L": "lakshmi"}.items()}
BLUEPRINT = "https://plans.example.com/b/42?v=1&x=2"


# The mix


@dataclasses.dataclass
class Communication:
    """One communication of the mix: what the test did, and how its timeline must read as a result."""
    key: str
    id: str
    plan_id: str
    client_id: str
    message_type: str
    statuses: list  # the statuses of its timeline, in order
    channel: str | None  # where it went out, or was last tried; None when never tried
    provider: str | None  # its last attempt's
    found: dict = dataclasses.field(default_factory=dict)  # communications.get, once everything settled

    @property
    def status(self):
        return self.statuses[-1]

    @property
    def sent(self):
        return bool(SENT & set(self.statuses))

    @property
    def delivered(self):
        if self.status in ("failed", "bounced"):
            return False
        return bool(DELIVERED & set(self.statuses)) or (self.channel == "email" and self.sent)

    @property
    def opened(self):
        return self.delivered and bool(OPENED & set(self.statuses))

    @property
    def clicked(self):
        return self.delivered and "clicked" in self.statuses

    @property
    def has_outcome(self):
        return self.sent or self.status in ("failed", "bounced")

    @property
    def created_at(self):
        return millis(self.found["created_at"])

    def first_at(self, statuses):
        """When the timeline first reached one of `statuses`, in epoch milliseconds; None if never."""
        times = [millis(e["at"]) for e in self.found["events"] if e["status"] in statuses]
        return min(times) if times else None

    @property
    def attempts(self):
        return [a for a in self.found["attempts"] if a["outcome"] != "skipped"]


@dataclasses.dataclass
class Mix:
    backend: str
    sidecar: Sidecar
    base: str
    plan_id: str
    communications: list
    replies: dict  # communication id -> replies tied to it (as inbound.message said)
    opt_outs: list  # (client_id, channel, source, epoch milliseconds), as client.opted_out said
    start: str
    end: str

    def ours(self):
        return [c for c in self.communications if c.plan_id == self.plan_id]

    def report(self, **params):
        return self.sidecar.result("analytics.get", {"start": self.start, "end": self.end, "plan_id": self.plan_id, **params})

    def client(self, key):
        return next(c.client_id for c in self.communications if c.key.startswith(key))


def millis(stamp):
    moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return round(moment.timestamp() * 1000)


def poll(what, check, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def timeline(sidecar, communication_id):
    found = sidecar.result("communications.get", {"communication_id": communication_id})
    return found, [e["status"] for e in found["events"]]


def settle(sidecar, communication):
    """Waits until the communication's timeline is the one scripted (a receipt or a fallback is
    applied a moment after the webhook is answered), and keeps what communications.get says."""
    last = {}

    def settled():
        last["found"], statuses = timeline(sidecar, communication.id)
        return statuses == communication.statuses

    try:
        poll(f"{communication.key}'s timeline", settled, timeout=DEADLINE)
    except AssertionError:
        raise AssertionError(f"{communication.key}: expected the timeline {communication.statuses}, "
                             f"communications.get says {json.dumps(last.get('found'))}") from None
    communication.found = last["found"]
    return communication


def email_links(smtp, communication_id):
    """The open pixel, the first click link and the one-click unsubscribe of an email, as paths."""
    def arrived():
        for message in list(smtp.mailbox.messages):
            parsed = smtp.mailbox.parse(message)
            if parsed["X-CRM-Communication-ID"] == communication_id:
                return parsed
        return None

    parsed = poll(f"the email of {communication_id}", arrived)
    html = parsed.get_body(("html",)).get_content()
    pixel = re.search(r'<img src="([^"]+/email/open/[^"]+)"', html).group(1)
    clicks = re.findall(r'href="([^"]+/email/click/[^"]+)"', html)
    click = urllib.parse.urlsplit(clicks[0].replace("&amp;", "&")) if clicks else None
    unsubscribe = urllib.parse.urlsplit(parsed["List-Unsubscribe"].strip().strip("<>")).path
    return urllib.parse.urlsplit(pixel).path, (f"{click.path}?{click.query}" if click else None), unsubscribe


def whatsapp_reply(number, text, message_id, timestamp):
    return {"from": number[1:], "id": message_id, "timestamp": str(timestamp), "type": "text", "text": {"body": text}}


def play(backend: str, sidecar: Sidecar, base: str, twilio: TwilioAPI, meta: MetaAPI, smtp: SMTPPeer) -> Mix:
    """The scripted mix: 19 communications of one plan and one of another plan, each with the timeline
    it must end with, plus replies and opt-outs. Takes a few seconds."""
    plan_id, other_plan = str(uuid.uuid4()), str(uuid.uuid4())
    clients = {key: str(uuid.uuid4()) for key in "ABCDEFGHIJKLMN"}
    began = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
    made = []

    def communicate(key, message_type, urgency, recipient, statuses, channel, provider, plan=plan_id, **extra):
        client = key[0]
        context = {"client_name": f"Client {client}", "event_type": "wedding", "blueprint_url": BLUEPRINT,
                   "deadline": "Friday", "total_cost": "9,50,000"}
        params = {"plan_id": plan, "client_id": clients[client], "message_type": message_type, "urgency": urgency,
                  "recipient": recipient, "context": context, **extra}
        result = sidecar.result("communicate", params)
        communication = Communication(key, result["communication_id"], plan, clients[client], message_type, statuses, channel, provider)
        made.append(communication)
        return communication

    def sms_receipt(communication, status, **extra):
        assert post_twilio(base, twilio_status(provider_id(sidecar, communication.id), status, **extra))[0] == 200

    def whatsapp_receipts(communication, *statuses, errors=None):
        """Meta's statuses for the communication's last message, `offset` seconds from now each (Meta's
        own timestamps, which the timeline keeps)."""
        wamid = provider_id(sidecar, communication.id)
        moment = int(time.time())
        posted = [meta_status(wamid, status, moment + offset, errors) for status, offset in statuses]
        assert post_meta(base, meta_payload(posted))[0] == 200

    def reaches(communication, statuses):
        poll(f"{communication.key} to reach {statuses}", lambda: timeline(sidecar, communication.id)[1] == statuses)

    undelivered = {"ErrorCode": "30003", "ErrorMessage": "Unreachable destination handset"}
    refused_by_twilio = twilio_error(400, 21211, "The 'To' number is not a valid phone number.")
    refused_by_meta = meta_error(400, 131026, "Message undeliverable")

    # SMS (critical: sms, then whatsapp on the same number). C has opted out of WhatsApp, so its
    # undelivered SMS has nowhere to fall back to.
    sidecar.result("preferences.update", {"client_id": clients["C"], "opt_out_whatsapp": True})
    a1 = communicate("A1 sms delivered", "reminder", "critical", {"phone": PHONE["A"]}, ["queued", "sent", "delivered"], "sms", "twilio")
    sms_receipt(a1, "delivered")
    m1 = communicate("M1 sms delivered, then failed", "reminder", "critical", {"phone": PHONE["M"]},
                     ["queued", "sent", "delivered", "failed"], "sms", "twilio")
    sms_receipt(m1, "delivered")
    reaches(m1, ["queued", "sent", "delivered"])
    sms_receipt(m1, "failed", ErrorCode="30008", ErrorMessage="Unknown error")
    b1 = communicate("B1 sms undelivered, fell back to whatsapp, delivered", "welcome", "critical", {"phone": PHONE["B"]},
                     ["queued", "sent", "sent", "delivered"], "whatsapp", "whatsapp")
    sms_receipt(b1, "undelivered", **undelivered)
    reaches(b1, ["queued", "sent", "sent"])
    whatsapp_receipts(b1, ("delivered", 2))
    # Undelivered, and the fallback's send refused: it went out on sms, its last attempt was whatsapp's.
    meta.script.append(refused_by_meta)
    n1 = communicate("N1 sms undelivered, whatsapp refused", "welcome", "critical", {"phone": PHONE["N"]},
                     ["queued", "sent", "failed"], "sms", "whatsapp")
    sms_receipt(n1, "undelivered", **undelivered)
    reaches(n1, n1.statuses)
    c1 = communicate("C1 sms undelivered, failed", "reminder", "critical", {"phone": PHONE["C"]}, ["queued", "sent", "failed"], "sms", "twilio")
    sms_receipt(c1, "undelivered", **undelivered)
    # Refused by Twilio (an invalid number), then by Meta (undeliverable): failed at send time.
    twilio.script.append(refused_by_twilio)
    meta.script.append(refused_by_meta)
    d1 = communicate("D1 refused on sms and whatsapp", "selection_confirmation", "critical", {"phone": PHONE["D"]},
                     ["queued", "failed"], "whatsapp", "whatsapp")
    reaches(d1, d1.statuses)  # both scripted refusals used up by D1
    # Twilio asks twice to slow down before it takes the message: two retries on sms.
    for _ in range(2):
        twilio.script.append((429, {"Retry-After": "1"}, {"code": 20429, "message": "Too Many Requests", "status": 429}))
    e1 = communicate("E1 sms after two rate limits", "reminder", "critical", {"phone": PHONE["E"]}, ["queued", "sent"], "sms", "twilio",
                     wait=False)

    # WhatsApp (high: whatsapp, email, sms), while Twilio's pause runs.
    f1 = communicate("F1 whatsapp delivered and read", "welcome", "high", {"whatsapp": WHATSAPP["F"]},
                     ["queued", "sent", "delivered", "opened"], "whatsapp", "whatsapp")
    whatsapp_receipts(f1, ("delivered", 2), ("read", 4))
    f2 = communicate("F2 whatsapp delivered, replied to twice", "vendor_options", "high", {"whatsapp": WHATSAPP["F"]},
                     ["queued", "sent", "delivered"], "whatsapp", "whatsapp")
    whatsapp_receipts(f2, ("delivered", 3))
    g1 = communicate("G1 whatsapp read without delivered", "welcome", "high", {"whatsapp": WHATSAPP["G"]},
                     ["queued", "sent", "opened"], "whatsapp", "whatsapp")
    whatsapp_receipts(g1, ("read", 3))
    communicate("G2 whatsapp without a receipt", "vendor_options", "high", {"whatsapp": WHATSAPP["G"]}, ["queued", "sent"], "whatsapp", "whatsapp")
    l1 = communicate("L1 whatsapp failed, fell back to email", "error_notification", "high", {"whatsapp": WHATSAPP["L"], "email": EMAIL["L"]},
                     ["queued", "sent", "sent"], "email", "smtp")
    whatsapp_receipts(l1, ("failed", 1), errors=[{"code": 131026, "title": "Message undeliverable"}])
    reaches(l1, l1.statuses)

    # Email through aiosmtpd, opened and clicked through the side port.
    smtp.mailbox.refuse[EMAIL["J"]] = "550 5.1.1 No such user"
    h1 = communicate("H1 email opened and clicked", "blueprint_delivery", "high", {"email": EMAIL["H"]},
                     ["queued", "sent", "opened", "clicked"], "email", "smtp")
    h2 = communicate("H2 email opened", "blueprint_delivery", "high", {"email": EMAIL["H"]}, ["queued", "sent", "opened"], "email", "smtp")
    communicate("I1 email sent only", "welcome", "high", {"email": EMAIL["I"]}, ["queued", "sent"], "email", "smtp")
    i2 = communicate("I2 email clicked without the pixel", "blueprint_delivery", "high", {"email": EMAIL["I"]},
                     ["queued", "sent", "clicked"], "email", "smtp")
    communicate("J1 email refused", "budget_summary", "high", {"email": EMAIL["J"]}, ["queued", "failed"], "email", "smtp")
    for communication, fetch in ((h1, "pixel click"), (h2, "pixel"), (i2, "click")):
        pixel, click, _ = email_links(smtp, communication.id)
        if "pixel" in fetch:
            assert request(base, "GET", pixel)[0] == 200
            poll("the open", lambda: "opened" in timeline(sidecar, communication.id)[1])
        if "click" in fetch:
            assert request(base, "GET", click)[0] == 302
    # I unsubscribes in one click (RFC 8058): an email opt-out.
    unsubscribe = email_links(smtp, i2.id)[2]
    assert request(base, "POST", unsubscribe, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})[0] == 200

    # Replies: A answers its SMS, F its WhatsApp messages twice; E sends STOP.
    reaches(e1, e1.statuses)
    assert post_twilio(base, {**twilio_inbound("Yes, confirmed", sid="SM" + "a" * 32), "From": PHONE["A"]})[0] == 200
    moment = int(time.time())
    for n, text in enumerate(["Yes please", "Sounds good"]):
        message = whatsapp_reply(WHATSAPP["F"], text, f"wamid.IN{uuid.uuid4().hex}", moment + n)
        assert post_meta(base, meta_payload(messages=[message]))[0] == 200
    assert post_twilio(base, {**twilio_inbound("STOP", sid="SM" + "b" * 32), "From": PHONE["E"]})[0] == 200
    sidecar.wait_for_notifications(lambda notes: len([n for n in notes if n["method"] == "inbound.message"]) == 3
                                   and len([n for n in notes if n["method"] == "client.opted_out"]) == 2)

    # Accepted but never tried: a message for next week, and one cancelled before then. And one of another plan, which the plan filter leaves out.
    send_at = rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7))
    communicate("A2 scheduled", "welcome", "critical", {"phone": PHONE["A"]}, ["scheduled"], None, None, send_at=send_at)
    a3 = communicate("A3 scheduled, then cancelled", "reminder", "critical", {"phone": PHONE["A"]}, ["scheduled", "cancelled"], None, None,
                     send_at=send_at)
    sidecar.result("communications.cancel", {"communication_id": a3.id})
    communicate("K1 another plan", "welcome", "high", {"email": EMAIL["K"]}, ["queued", "sent"], "email", "smtp", plan=other_plan)

    for communication in made:
        settle(sidecar, communication)
    replies: dict[str, int] = {}
    for note in sidecar.notifications:
        if note["method"] == "inbound.message":
            replies[note["params"]["communication_id"]] = replies.get(note["params"]["communication_id"], 0) + 1
    opt_outs = [(n["params"]["client_id"], n["params"]["channel"], n["params"]["source"], millis(n["params"]["at"]))
                for n in sidecar.notifications if n["method"] == "client.opted_out"]
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    return Mix(backend, sidecar, base, plan_id, made, replies, opt_outs, rfc3339(began), rfc3339(end))


# What the report must say, computed here from the mix


def rate(part, whole):
    return part / whole if whole else 0


def breakdown(communications):
    """The Breakdown of a group of communications, by the definitions, from their timelines."""
    counts = {
        "communications": len(communications),
        "sent": sum(c.sent for c in communications),
        "delivered": sum(c.delivered for c in communications),
        "opened": sum(c.opened for c in communications),
        "clicked": sum(c.clicked for c in communications),
        "failed": sum(c.status == "failed" for c in communications),
        "bounced": sum(c.status == "bounced" for c in communications),
    }
    outcomes = sum(c.has_outcome for c in communications)
    return {**counts, "delivery_rate": rate(counts["delivered"], outcomes), "open_rate": rate(counts["opened"], counts["delivered"]),
            "click_rate": rate(counts["clicked"], counts["delivered"])}


def grouped(communications, key):
    groups = {}
    for communication in communications:
        if key(communication) is not None:
            groups.setdefault(key(communication), []).append(communication)
    return groups


def nearest_rank(values, percent):
    ordered = sorted(values)
    return ordered[math.ceil(percent * len(ordered) / 100) - 1]


def latencies(communications):
    """Per channel, the milliseconds from the first `queued` to the first `sent` (or later) of the
    timeline, and (not email) from that to the first delivered, read, opened or clicked."""
    found = {}
    for communication in communications:
        queued, sent, delivered = (communication.first_at(s) for s in ({"queued"}, SENT, DELIVERED))
        measures = found.setdefault(communication.channel, {"queued_to_sent": [], "sent_to_delivered": []})
        if queued is not None and sent is not None:
            measures["queued_to_sent"].append(sent - queued)
        if communication.channel != "email" and sent is not None and delivered is not None:
            measures["sent_to_delivered"].append(delivered - sent)
    return {
        channel: {measure: {"count": len(values), **{f"p{p}": nearest_rank(values, p) for p in (50, 95, 99)}}
                  for measure, values in measures.items() if values}
        for channel, measures in found.items() if channel is not None and any(measures.values())
    }


def expected_report(mix, communications, client_id=None, channel=None, start=None, end=None):
    """Every figure of analytics.get for `communications` (already narrowed by the query's filters);
    opt-outs are the client's: those of the period [start, end) (the mix's by default), narrowed by
    client and channel only (plan and message type do not narrow them)."""
    start, end = millis(start or mix.start), millis(end or mix.end)
    totals = breakdown(communications)
    by_type = {}
    for message_type, group in grouped(communications, lambda c: c.message_type).items():
        replies = sum(mix.replies.get(c.id, 0) for c in group)
        responded = sum(1 for c in group if mix.replies.get(c.id))
        counted = breakdown(group)
        by_type[message_type] = {**counted, "replies": replies, "responded": responded, "response_rate": rate(responded, counted["sent"])}
    fallbacks, retries, failures = {}, 0, {}
    for communication in communications:
        attempts = communication.attempts
        if communication.sent and attempts and attempts[0]["channel"] != communication.channel:
            pair = (attempts[0]["channel"], communication.channel)
            fallbacks[pair] = fallbacks.get(pair, 0) + 1
        retries += sum(1 for n, a in enumerate(attempts) if any(b["channel"] == a["channel"] for b in attempts[:n]))
        for attempt in attempts:
            if attempt["outcome"] == "failed":
                key = (attempt["provider"], attempt.get("error_category") or "unknown")
                failures[key] = failures.get(key, 0) + 1
    top_failures = {}
    for (provider, category), count in failures.items():
        top_failures.setdefault(provider, []).append({"category": category, "count": count})
    opt_outs = {}
    for client, on, source, at in mix.opt_outs:
        if start <= at < end and client_id in (None, client) and channel in (None, on):
            opt_outs[(on, source)] = opt_outs.get((on, source), 0) + 1
    by_channel = {name: breakdown(group) for name, group in grouped(communications, lambda c: c.channel).items()}
    targets = []
    for metric, on, minimum in TARGETS:
        group = by_channel.get(on, breakdown([])) if on else totals
        part, whole = {
            "delivery_rate": (group["delivered"], sum(c.has_outcome for c in communications if on in (None, c.channel))),
            "open_rate": (group["opened"], group["delivered"]),
            "click_rate": (group["clicked"], group["delivered"]),
        }[metric]
        actual = part / whole if whole else None
        targets.append({"metric": metric, "channel": on, "target": minimum, "actual": actual,
                        "met": None if actual is None else actual >= minimum})
    return normalized({
        "total_sent": totals["sent"], "delivery_rate": totals["delivery_rate"], "open_rate": totals["open_rate"],
        "click_rate": totals["click_rate"], "totals": totals,
        "by_status": {status: sum(c.status == status for c in communications) for status in STATUSES},
        "by_channel": by_channel,
        "by_message_type": by_type,
        "by_provider": {name: breakdown(group) for name, group in grouped(communications, lambda c: c.provider).items()},
        "latency": latencies(communications),
        "fallbacks": [{"from": a, "to": b, "count": n} for (a, b), n in fallbacks.items()],
        "retries": retries,
        "top_failures": top_failures,
        "stalled": {"total": 0, "by_channel": {}, "unsent_after_seconds": 3600, "undelivered_after_seconds": 86400},
        "opt_outs": [{"channel": a, "source": b, "count": n} for (a, b), n in opt_outs.items()],
        "targets": targets,
    })


def normalized(report):
    """The figures of a report in one order where the contract sets none: fallbacks, opt-outs and
    targets sorted, each provider's failures by count then category (`most first` is checked apart)."""
    report = json.loads(json.dumps(report))  # a copy: the reader thread may still be validating the original
    report["fallbacks"] = sorted(report["fallbacks"], key=lambda f: (f["from"], f["to"]))
    report["opt_outs"] = sorted(report["opt_outs"], key=lambda o: (o["channel"], o["source"]))
    report["top_failures"] = {p: sorted(f, key=lambda x: (-x["count"], x["category"])) for p, f in report["top_failures"].items()}
    report["targets"] = sorted(report["targets"], key=lambda t: (t["metric"], t.get("channel") or ""))
    for target in report["targets"]:
        if target.get("channel") is None:
            target.pop("channel", None)  # `channel?`: absent across all channels
    return report


FIGURES = ["total_sent", "delivery_rate", "open_rate", "click_rate", "totals", "by_status", "by_channel", "by_message_type",
           "by_provider", "latency", "fallbacks", "retries", "top_failures", "stalled", "opt_outs", "targets"]


def figures(report):
    """What expected_report computes, from a report as answered."""
    missing = [key for key in FIGURES if key not in report]
    assert not missing, f"the report lacks {missing}"
    return normalized({key: report[key] for key in FIGURES})


def differences(actual, expected, path="report"):
    """Where `actual` differs from `expected`: keys missing or extra, counts that are not the same
    integer, rates that are not the same number (null stays null, an absent key is not null)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]
        found = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                found.append(f"{path}.{key}: missing, expected {json.dumps(expected[key])}")
            elif key not in expected:
                found.append(f"{path}.{key}: not expected, got {json.dumps(actual[key])}")
            else:
                found += differences(actual[key], expected[key], f"{path}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]
        return [d for n, (a, e) in enumerate(zip(actual, expected)) for d in differences(a, e, f"{path}[{n}]")]
    if expected is None or isinstance(expected, (bool, str)):
        same = actual is expected if expected is None or isinstance(expected, bool) else actual == expected
    elif isinstance(expected, int):
        same = type(actual) is int and actual == expected
    else:  # a rate: the same double (1.0 may be written 1)
        same = type(actual) in (int, float) and float(actual) == expected
    return [] if same else [f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]


def assert_report(report, expected, what):
    found = differences(figures(report), expected)
    assert not found, f"{what}: {len(found)} figures differ from the ones computed here:\n  " + "\n  ".join(found)


def assert_most_failures_first(report):
    for provider, failures in report["top_failures"].items():
        counts = [f["count"] for f in failures]
        assert counts == sorted(counts, reverse=True) and 0 < len(failures) <= 5, (provider, failures)


# Fixtures


def backend_of(database_env):
    return "postgres" if "DATABASE_URL" in database_env else "sqlite"


def peers_env(twilio, meta, smtp, certificate):
    return {**twilio.env(), **meta.env(), **smtp.env(certificate[0]), **side_port(), "SEND_POLL_MS": "100"}


@pytest.fixture
def mix(start, twilio, meta, smtp, certificate, database_env) -> Mix:
    """The mix played on a fresh store of the test's backend, through a sidecar with every peer."""
    sidecar = start(env=peers_env(twilio, meta, smtp, certificate))
    return play(backend_of(database_env), sidecar, listening(sidecar), twilio, meta, smtp)


# The report of a known mix


def test_a_known_mix_gives_exactly_the_counts_rates_and_percentiles_computed_here(mix):
    ours = mix.ours()
    expected = expected_report(mix, ours)
    # What the script did, counted by hand: the figures computed from the timelines must say the same.
    assert [len(ours), expected["totals"]["sent"], expected["totals"]["delivered"], expected["totals"]["opened"],
            expected["totals"]["clicked"], expected["totals"]["failed"]] == [19, 15, 10, 5, 2, 5]
    assert {k: v for k, v in expected["by_status"].items() if v} == {
        "scheduled": 1, "cancelled": 1, "sent": 4, "delivered": 3, "opened": 3, "clicked": 2, "failed": 5}
    assert {k: v["communications"] for k, v in expected["by_channel"].items()} == {"sms": 5, "whatsapp": 6, "email": 6}
    assert expected["fallbacks"] == [{"from": "sms", "to": "whatsapp", "count": 1}, {"from": "whatsapp", "to": "email", "count": 1}]
    assert expected["retries"] == 5  # B1's and N1's undelivered SMS and L1's failed WhatsApp message are recorded as attempts; E1's two rate limits
    assert expected["top_failures"] == {
        "twilio": [{"category": "permanent", "count": 2}, {"category": "rate_limited", "count": 2}, {"category": "invalid_recipient", "count": 1}],
        "whatsapp": [{"category": "invalid_recipient", "count": 2}, {"category": "permanent", "count": 1}],
        "smtp": [{"category": "invalid_recipient", "count": 1}],
    }
    assert expected["opt_outs"] == [{"channel": "email", "source": "email_unsubscribe", "count": 1},
                                    {"channel": "sms", "source": "sms_keyword", "count": 1}]
    assert {t: (v["replies"], v["responded"]) for t, v in expected["by_message_type"].items() if v["replies"]} == {
        "reminder": (1, 1), "vendor_options": (2, 1)}
    assert {c: sorted(m) for c, m in expected["latency"].items()} == {
        "sms": ["queued_to_sent", "sent_to_delivered"], "whatsapp": ["queued_to_sent", "sent_to_delivered"], "email": ["queued_to_sent"]}

    asked = time.time() * 1000
    report = mix.report()
    assert asked - 1 <= millis(report["generated_at"]) <= time.time() * 1000 + 1, report["generated_at"]
    assert (report["start"], report["end"]) == (mix.start, mix.end)
    assert_report(report, expected, f"{mix.backend}: analytics.get {json.dumps({'start': mix.start, 'end': mix.end, 'plan_id': mix.plan_id})}")
    assert_most_failures_first(report)
    # Read back unchanged: a report changes nothing.
    again = mix.report()
    assert differences(figures(again), figures(report)) == []


def test_replies_to_communications_not_yet_sent_keep_the_response_rate_a_fraction(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    began = rfc3339(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2))
    next_week = rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7))
    made = []
    for n, phone in enumerate(["+14155550301", "+14155550302", "+14155550303"]):
        params = {"plan_id": ids["plan_id"], "client_id": str(uuid.uuid4()), "message_type": "reminder", "urgency": "critical",
                  "recipient": {"phone": phone}, "context": {"client_name": "Priya"}, **({"send_at": next_week} if n else {})}
        made.append(sidecar.result("communicate", params))
    assert [m["status"] for m in made] == ["sent", "scheduled", "scheduled"]
    # The two clients whose reminders wait for next week answer anyway (say, to a phone call).
    for n, phone in enumerate(["+14155550302", "+14155550303"]):
        assert post_twilio(base, {**twilio_inbound("Yes, confirmed", sid="SM" + str(n) * 32), "From": phone})[0] == 200
    sidecar.wait_for_notifications(lambda notes: len([x for x in notes if x["method"] == "inbound.message"]) == 2)
    end = rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    reminder = sidecar.result("analytics.get", {"start": began, "end": end, "plan_id": ids["plan_id"]})["by_message_type"]["reminder"]
    assert reminder["sent"] == 1
    assert 0 <= reminder["response_rate"] <= 1, reminder


# Filters and the period


def test_filters_and_the_period_narrow_the_report_to_what_they_name(mix):
    ours = mix.ours()
    by_key = {c.key.split()[0]: c for c in mix.communications}
    f, e, i = mix.client("F"), mix.client("E"), mix.client("I")
    cases = [
        ({"channel": "sms"}, [c for c in ours if c.channel == "sms"], {"channel": "sms"}),
        ({"channel": "whatsapp"}, [c for c in ours if c.channel == "whatsapp"], {"channel": "whatsapp"}),
        ({"channel": "email"}, [c for c in ours if c.channel == "email"], {"channel": "email"}),
        ({"message_type": "welcome"}, [c for c in ours if c.message_type == "welcome"], {}),
        ({"message_type": "reminder"}, [c for c in ours if c.message_type == "reminder"], {}),
        ({"message_type": "blueprint_delivery", "channel": "email"}, [c for c in ours if c.message_type == "blueprint_delivery"],
         {"channel": "email"}),
        ({"client_id": f}, [c for c in ours if c.client_id == f], {"client_id": f}),
        ({"client_id": e}, [c for c in ours if c.client_id == e], {"client_id": e}),
        ({"client_id": i, "channel": "email"}, [c for c in ours if c.client_id == i], {"client_id": i, "channel": "email"}),
        ({"client_id": e, "channel": "email"}, [], {"client_id": e, "channel": "email"}),
    ]
    found = []
    for params, group, narrowing in cases:
        assert group or params == {"client_id": e, "channel": "email"}, params
        report = mix.report(**params)
        found += [f"{json.dumps(params)}: {d}" for d in differences(figures(report), expected_report(mix, group, **narrowing))]

    # Without plan_id: the other plan's communication too.
    report = mix.sidecar.result("analytics.get", {"start": mix.start, "end": mix.end})
    found += [f"no plan_id: {d}" for d in differences(figures(report), expected_report(mix, mix.communications))]

    # [start, end): from the moment F1 was accepted, up to (and without) the moment H1 was.
    start, end = by_key["F1"].found["created_at"], by_key["H1"].found["created_at"]
    inside = [c for c in ours if millis(start) <= c.created_at < millis(end)]
    assert by_key["F1"] in inside and by_key["H1"] not in inside and by_key["A1"] not in inside
    report = mix.report(start=start, end=end)
    found += [f"[{start}, {end}): {d}" for d in differences(figures(report), expected_report(mix, inside, start=start, end=end))]
    assert not found, f"{mix.backend}: {len(found)} figures differ from the ones computed here:\n  " + "\n  ".join(found)


# The series


def assert_series(report, mix, step, zone, first_start):
    """One point per bucket of `step` covering [start, end), the first at `first_start`; each point
    counts the communications accepted in its bucket, and together they count them all."""
    series = report["series"]
    starts = [millis(point["start"]) for point in series]
    assert starts[0] == millis(first_start), (starts[0], first_start)
    for a, b in zip(starts, starts[1:]):
        assert b - a == step, f"buckets {a} and {b} are not {step} ms apart"
    assert starts[0] <= millis(mix.start) < starts[0] + step
    assert starts[-1] < millis(mix.end) <= starts[-1] + step, (series[-1]["start"], mix.end)
    for point in series:
        assert set(point) == {"start"} | set(BREAKDOWN), sorted(point)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", point["start"]), point["start"]
    found = []
    for n, point in enumerate(series):
        inside = [c for c in mix.ours() if starts[n] <= c.created_at < starts[n] + step]
        found += differences({k: point[k] for k in BREAKDOWN}, breakdown(inside), f"series[{n}] ({point['start']}, {zone})")
    assert not found, "\n".join(found)
    for count in COUNTS:
        assert sum(point[count] for point in series) == report["totals"][count], count


def test_the_series_has_a_point_per_local_hour_day_or_week_and_adds_up_to_the_totals(mix):
    kolkata = datetime.timezone(datetime.timedelta(hours=5, minutes=30), "Asia/Kolkata")
    begun = datetime.datetime.fromtimestamp(millis(mix.start) / 1000, kolkata)

    hourly = mix.report(interval="hour", time_zone="Asia/Kolkata")
    assert (hourly["interval"], hourly["time_zone"]) == ("hour", "Asia/Kolkata")
    hour = begun.replace(minute=0, second=0, microsecond=0)
    assert_series(hourly, mix, 3_600_000, "Asia/Kolkata", rfc3339(hour))
    for point in hourly["series"]:
        local = datetime.datetime.fromtimestamp(millis(point["start"]) / 1000, kolkata)
        assert (local.minute, local.second) == (0, 0) and point["start"][14:16] == "30", point["start"]  # +05:30
    assert differences(figures(hourly), expected_report(mix, mix.ours())) == []

    # Kathmandu is 5:45 ahead: its hours begin at a quarter past the hour in UTC.
    kathmandu = datetime.timezone(datetime.timedelta(hours=5, minutes=45), "Asia/Kathmandu")
    nepal = mix.report(interval="hour", time_zone="Asia/Kathmandu")
    hour = datetime.datetime.fromtimestamp(millis(mix.start) / 1000, kathmandu).replace(minute=0, second=0, microsecond=0)
    assert_series(nepal, mix, 3_600_000, "Asia/Kathmandu", rfc3339(hour))
    assert {point["start"][14:16] for point in nepal["series"]} == {"15"}, [point["start"] for point in nepal["series"]]

    weekly = mix.report(interval="week", time_zone="Asia/Kolkata")
    monday = (begun - datetime.timedelta(days=begun.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    assert_series(weekly, mix, 7 * 86_400_000, "Asia/Kolkata", rfc3339(monday))
    assert len(weekly["series"]) in (1, 2)

    # The defaults: a point a day, in UTC, said as such.
    daily = mix.report()
    utc = datetime.datetime.fromtimestamp(millis(mix.start) / 1000, datetime.timezone.utc)
    assert_series(daily, mix, 86_400_000, "UTC", rfc3339(utc.replace(hour=0, minute=0, second=0, microsecond=0)))
    assert (daily["interval"], daily["time_zone"]) == ("day", "UTC"), (daily["interval"], daily["time_zone"])


# Both stores


def canonical(report):
    """A report as both stores must give it for the same mix played at another moment: without the
    moments (generated_at, the period, the latencies' milliseconds, the points' starts)."""
    report = json.loads(json.dumps(report))
    for key in ("generated_at", "start", "end"):
        report.pop(key)
    report["latency"] = {c: {m: v["count"] for m, v in measures.items()} for c, measures in report["latency"].items()}
    report["series"] = [{k: v for k, v in point.items() if k != "start"} for point in report["series"] if point["communications"]]
    return json.dumps(report, sort_keys=True, indent=1)


@pytest.mark.skipif("postgres" not in BACKENDS, reason="needs the test PostgreSQL server (CRM_TEST_POSTGRES_URL)")
def test_sqlite_and_postgresql_give_the_same_report_for_the_same_mix(tmp_path, twilio, meta, smtp, certificate):
    queries = [{}, {"channel": "sms"}, {"channel": "whatsapp", "message_type": "welcome"}, {"message_type": "reminder"},
               {"client": "F"}, {"client": "I", "channel": "email"}]
    reports, stopped = {}, []
    for backend in ("sqlite", "postgres"):
        store = {} if backend == "sqlite" else {"DATABASE_URL": postgres.fresh_database(), "DB_ENCRYPTION_KEY": ENCRYPTION_KEY}
        (tmp_path / backend).mkdir()
        sidecar = Sidecar(tmp_path / backend, env={**store, **peers_env(twilio, meta, smtp, certificate)})
        try:
            played = play(backend, sidecar, listening(sidecar), twilio, meta, smtp)
            reports[backend] = []
            for query in queries:
                params = {k: v for k, v in query.items() if k != "client"}
                if "client" in query:
                    params["client_id"] = played.client(query["client"])
                reports[backend].append(canonical(played.report(interval="week", time_zone="Asia/Kolkata", **params)))
        finally:
            stopped.append((sidecar, sidecar.stop()))
    for query, sqlite, postgresql in zip(queries, reports["sqlite"], reports["postgres"]):
        assert sqlite == postgresql, f"the stores disagree on {query}"
    assert '"communications": 19' in reports["sqlite"][0]
    for sidecar, code in stopped:
        assert code == 0, sidecar.stderr()
        assert not sidecar.violations, sidecar.violations
        for record in sidecar.log_records():
            assert {"ts", "level", "msg"} <= set(record), record


# Invalid params and an empty period


def test_an_empty_period_is_all_zeros_and_targets_with_nothing_to_measure_are_null(sidecar):
    report = sidecar.result("analytics.get", {"start": "2020-01-01T00:00:00Z", "end": "2020-01-03T00:00:00Z"})
    zero = breakdown([])
    assert report["totals"] == zero and (report["total_sent"], report["delivery_rate"], report["open_rate"], report["click_rate"]) == (0, 0, 0, 0)
    assert report["by_status"] == {status: 0 for status in STATUSES}
    assert (report["by_channel"], report["by_message_type"], report["by_provider"], report["latency"]) == ({}, {}, {}, {})
    assert (report["fallbacks"], report["retries"], report["top_failures"], report["opt_outs"]) == ([], 0, {}, [])
    assert [point["start"] for point in report["series"]] == ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]
    assert all({k: p[k] for k in BREAKDOWN} == zero for p in report["series"])
    assert (report["start"], report["end"]) == ("2020-01-01T00:00:00.000Z", "2020-01-03T00:00:00.000Z")
    targets = normalized({"fallbacks": [], "opt_outs": [], "top_failures": {}, "targets": report["targets"]})["targets"]
    expected = normalized({"fallbacks": [], "opt_outs": [], "top_failures": {}, "targets": [
        {"metric": m, "channel": c, "target": t, "actual": None, "met": None} for m, c, t in TARGETS]})["targets"]
    assert differences(targets, expected, "targets") == []


def test_a_thousand_hours_is_the_most_one_series_holds(sidecar):
    start = "2026-01-04T18:30:00.000Z"  # midnight in Kolkata
    thousand = datetime.datetime(2026, 1, 4, 18, 30, tzinfo=datetime.timezone.utc) + datetime.timedelta(hours=1000)
    report = sidecar.result("analytics.get", {"start": start, "end": rfc3339(thousand), "interval": "hour", "time_zone": "Asia/Kolkata"})
    assert len(report["series"]) == 1000
    assert report["series"][0]["start"] == start
    assert report["series"][-1]["start"] == rfc3339(thousand - datetime.timedelta(hours=1))
    error = sidecar.error("analytics.get", {"start": start, "end": rfc3339(thousand + datetime.timedelta(milliseconds=1)),
                                            "interval": "hour", "time_zone": "Asia/Kolkata"})
    assert error["code"] == -32602 and error["data"]["field"] == "interval", error


def test_days_and_weeks_follow_the_local_calendar_across_daylight_saving_time(sidecar):
    def starts(start, end, interval, time_zone):
        report = sidecar.result("analytics.get", {"start": start, "end": end, "interval": interval, "time_zone": time_zone})
        assert report["time_zone"] == time_zone and report["interval"] == interval
        return [point["start"] for point in report["series"]]

    # Paris: the day clocks go forward has 23 hours, the day they go back 25.
    assert starts("2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z", "day", "Europe/Paris") == [
        "2026-03-27T23:00:00.000Z", "2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z"]
    assert starts("2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z", "day", "Europe/Paris") == [
        "2026-10-23T22:00:00.000Z", "2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z"]
    # New York's hour from 01:00 to 02:00 happens twice on 2026-11-01: two points, an hour apart.
    assert starts("2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "hour", "America/New_York") == [
        "2026-11-01T05:00:00.000Z", "2026-11-01T06:00:00.000Z"]
    # ISO weeks begin on Monday: 2026-11-30 is one, 2026-11-29 a Sunday.
    assert starts("2026-11-29T12:00:00Z", "2026-12-01T00:00:00Z", "week", "Europe/Paris") == [
        "2026-11-22T23:00:00.000Z", "2026-11-29T23:00:00.000Z"]


INVALID = [
    ({"end": "2026-11-01T00:00:00Z"}, "end"),  # end == start
    ({"end": "2026-10-31T23:59:59.999Z"}, "end"),  # end before start
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z", "interval": "hour"}, "interval"),  # 1,416 hours
    ({"interval": "minute"}, "interval"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"time_zone": "GMT+5"}, "time_zone"),
    ({"time_zone": "EST"}, "time_zone"),
    ({"time_zone": ""}, "time_zone"),
    ({"channel": "fax"}, "channel"),
    ({"channel": "SMS"}, "channel"),
    ({"message_type": "newsletter"}, "message_type"),
    ({"plan_id": "not-a-uuid"}, "plan_id"),
    ({"start": "yesterday"}, "start"),
]


def test_invalid_params_are_32602_naming_the_field(sidecar):
    wrong = []
    for params, field in INVALID:
        asked = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z", **params}
        response = sidecar.call("analytics.get", asked)
        error = response.get("error", {})
        if error.get("code") != -32602 or error.get("data", {}).get("field") != field:
            wrong.append(f"{json.dumps(asked)}: expected -32602 naming {field}, got {json.dumps(response)[:300]}")
    assert not wrong, "\n".join(wrong)
    assert sidecar.result("health")["status"] == "ok"
