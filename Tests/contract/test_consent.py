"""Consent is checked at every send, not only when the message is decided: an opt-out that arrives
while a message waits (scheduled, or a retry pending) is honoured when its time comes, whether it came
by `preferences.update`, an SMS STOP on the side port or an email unsubscribe. The opted-out channel
is skipped and recorded as an attempt (outcome skipped, no provider, the reason), the decision's next
channel takes over, and with none left the communication is cancelled with the reason."""

import datetime
import email
import email.policy
import json
import pathlib
import time
import urllib.parse
from typing import Any

import pytest

from conftest import communicate_params
from sidecar import Sidecar
from test_persistence import rfc3339
from test_webhooks import CLIENT_PHONE, listening, post_twilio, request, side_port, twilio_inbound

Message = dict[str, Any]

EMAIL = "priya@example.com"
BOTH = {"email": EMAIL, "phone": CLIENT_PHONE}
# Welcome, critical (no quiet hours to defer it), the request preferring email: email, then the others.
EMAIL_FIRST = ["email", "sms", "whatsapp"]
# Welcome, critical, no preference: the urgency's own order, SMS first.
SMS_FIRST = ["sms", "whatsapp", "email"]
AHEAD_SECONDS = 3
FAST = {"SEND_POLL_MS": "100"}  # the work queue checked often, so a due send goes at once
WAITING = {"scheduled", "queued", "pending"}  # statuses before a send has an outcome


# Helpers


def schedule(sidecar: Sidecar, ids: dict[str, str], channels: list[str], **overrides: Any) -> Message:
    """A welcome to a client with email and phone, due AHEAD_SECONDS from now; its decision must list
    `channels`."""
    sidecar.result("health")  # started and answering, so the lead is not spent starting up
    send_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=AHEAD_SECONDS)
    result = sidecar.result("communicate", communicate_params(ids, recipient=BOTH, send_at=rfc3339(send_at), **overrides))
    assert result["status"] == "scheduled", result
    assert result["decision"]["channels"] == channels, result["decision"]
    return result


def get(sidecar: Sidecar, communication_id: str) -> Message:
    return sidecar.result("communications.get", {"communication_id": communication_id})


def before(due: str | datetime.datetime) -> None:
    """The opt-out must have landed before the send it is about was due, or the test proves nothing."""
    due = moment(due) if isinstance(due, str) else due
    late = (datetime.datetime.now(datetime.timezone.utc) - due).total_seconds()
    assert late < 0, f"the client opted out {late:.1f} s after the send was due: the machine is too slow for this test"


def settle(sidecar: Sidecar, communication_id: str, timeout: float = AHEAD_SECONDS + 10) -> Message:
    """The communication once it has stopped waiting (sent, or finished otherwise), polled until a
    deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = get(sidecar, communication_id)
        if found["status"] not in WAITING:
            return found
        assert time.monotonic() < deadline, f"still {found['status']} after {timeout} s: {found['attempts']}"
        time.sleep(0.1)


def opt_out(sidecar: Sidecar, ids: dict[str, str], *channels: str) -> None:
    saved = sidecar.result("preferences.update", {"client_id": ids["client_id"], **{f"opt_out_{c}": True for c in channels}})
    assert all(saved[f"opt_out_{c}"] for c in channels), saved


def opted_out_by_the_side_port(sidecar: Sidecar, ids: dict[str, str], channel: str) -> None:
    """Waits (less than the schedule's lead) for the opt-out's announcement, then checks it was saved."""
    sidecar.wait_for_notifications(lambda notes: any(
        n["method"] == "client.opted_out" and n["params"]["client_id"] == ids["client_id"] and n["params"]["channel"] == channel
        for n in notes), timeout=AHEAD_SECONDS)
    assert sidecar.result("preferences.get", {"client_id": ids["client_id"]})[f"opt_out_{channel}"] is True


def outbox(workdir: pathlib.Path, channel: str, communication_id: str) -> list[pathlib.Path]:
    """What the outbox provider wrote on `channel` for the communication (one file per attempt)."""
    suffix = "eml" if channel == "email" else "json"
    return sorted((workdir / "outbox" / channel).glob(f"{communication_id}-*.{suffix}"))


def everything_in_the_outbox(workdir: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in (workdir / "outbox").rglob("*") if p.is_file())


def assert_skipped(attempt: Message, channel: str) -> None:
    """A channel passed over for the client's opt-out: no provider called, the reason given."""
    assert attempt["outcome"] == "skipped" and attempt["channel"] == channel, attempt
    assert attempt["reason"] == f"client opted out of {channel}", attempt
    assert "provider" not in attempt and "provider_message_id" not in attempt, attempt


def moment(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def status_notes(sidecar: Sidecar, communication_id: str) -> list[Message]:
    return [n["params"] for n in sidecar.notifications
            if n["method"] == "communication.status" and n["params"]["communication_id"] == communication_id]


def announced(sidecar: Sidecar, communication_id: str, status: str, timeout: float = 5) -> Message:
    """The one `communication.status` announcing `status` for the communication."""
    def matching() -> list[Message]:
        return [n for n in status_notes(sidecar, communication_id) if n["status"] == status]

    sidecar.wait_for_notifications(lambda _: bool(matching()), timeout)
    [note] = matching()
    return note


def assert_went_by(sidecar: Sidecar, found: Message, channel: str, skipped: list[str], not_before: str | None = None) -> None:
    """Sent on `channel` (not before `not_before`) after skipping `skipped` in order, as its last
    attempts say and as announced."""
    assert found["status"] == "sent" and found.get("channel_used") == channel, found
    *passed_over, sent = found["attempts"][-len(skipped) - 1:]
    for attempt, name in zip(passed_over, skipped):
        assert_skipped(attempt, name)
    assert sent["channel"] == channel and sent["outcome"] == "sent" and sent["provider"], sent
    if not_before is not None:
        assert moment(sent["started_at"]) >= moment(not_before), f"sent at {sent['started_at']}, before it was due at {not_before}"
    numbers = [a["number"] for a in found["attempts"]]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    note = announced(sidecar, found["communication_id"], "sent")
    assert note["channel"] == channel and note["attempt"] == sent["number"], note


# Scheduled sends


def test_a_scheduled_email_the_client_opted_out_of_goes_by_the_next_channel(start, workdir, ids):
    sidecar = start(env=FAST)
    scheduled = schedule(sidecar, ids, EMAIL_FIRST, preferred_channel="email")
    communication_id = scheduled["communication_id"]
    opt_out(sidecar, ids, "email")
    before(scheduled["scheduled_for"])

    found = settle(sidecar, communication_id)
    assert outbox(workdir, "email", communication_id) == [], "the email went out although the client had opted out of email"
    assert len(outbox(workdir, "sms", communication_id)) == 1, everything_in_the_outbox(workdir)
    assert len(found["attempts"]) == 2, found["attempts"]
    assert_went_by(sidecar, found, "sms", ["email"], not_before=scheduled["scheduled_for"])


def test_a_scheduled_message_with_every_channel_opted_out_is_cancelled_with_the_reason(start, workdir, ids):
    sidecar = start(env=FAST)
    scheduled = schedule(sidecar, ids, EMAIL_FIRST, preferred_channel="email")
    communication_id = scheduled["communication_id"]
    opt_out(sidecar, ids, "email", "sms", "whatsapp")
    before(scheduled["scheduled_for"])

    found = settle(sidecar, communication_id)
    assert everything_in_the_outbox(workdir) == [], "sent although the client had opted out of every channel"
    assert found["status"] == "cancelled" and found.get("channel_used") is None, found
    assert [a["channel"] for a in found["attempts"]] == EMAIL_FIRST, found["attempts"]
    for attempt in found["attempts"]:
        assert_skipped(attempt, attempt["channel"])
    last = found["events"][-1]
    assert last["status"] == "cancelled" and "opted out" in last.get("detail", ""), found["events"]
    note = announced(sidecar, communication_id, "cancelled")
    assert "opted out" in note.get("error", ""), note
    assert not [n for n in status_notes(sidecar, communication_id) if n["status"] == "sent"]


def test_an_sms_stop_on_the_side_port_makes_the_scheduled_send_skip_sms(start, twilio, workdir, ids):
    sidecar = start(env={**twilio.env(), **side_port(), **FAST})
    base = listening(sidecar)
    scheduled = schedule(sidecar, ids, SMS_FIRST)
    communication_id = scheduled["communication_id"]
    assert post_twilio(base, twilio_inbound("STOP"))[0] == 200
    opted_out_by_the_side_port(sidecar, ids, "sms")
    before(scheduled["scheduled_for"])

    found = settle(sidecar, communication_id)
    assert twilio.accepted() == [], "an SMS went out although the client had sent STOP"
    assert len(outbox(workdir, "whatsapp", communication_id)) == 1, everything_in_the_outbox(workdir)
    assert len(found["attempts"]) == 2, found["attempts"]
    assert_went_by(sidecar, found, "whatsapp", ["sms"], not_before=scheduled["scheduled_for"])


def test_an_email_unsubscribe_makes_the_scheduled_send_skip_email(start, workdir, ids):
    sidecar = start(env={**side_port(), **FAST})
    base = listening(sidecar)
    scheduled = schedule(sidecar, ids, EMAIL_FIRST, preferred_channel="email")
    communication_id = scheduled["communication_id"]
    # An earlier email to the same client, sent now, carries the one-click unsubscribe link.
    earlier = sidecar.result("communicate", communicate_params(ids, recipient={"email": EMAIL}))
    assert earlier["status"] == "sent" and earlier["channel_used"] == "email", earlier
    [eml] = outbox(workdir, "email", earlier["communication_id"])
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    link = urllib.parse.urlsplit(str(parsed["List-Unsubscribe"]).strip().strip("<>"))
    status, _, _ = request(base, "POST", link.path, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    opted_out_by_the_side_port(sidecar, ids, "email")
    before(scheduled["scheduled_for"])

    found = settle(sidecar, communication_id)
    assert outbox(workdir, "email", communication_id) == [], "the email went out although the client had unsubscribed"
    assert len(outbox(workdir, "sms", communication_id)) == 1, everything_in_the_outbox(workdir)
    assert len(found["attempts"]) == 2, found["attempts"]
    assert_went_by(sidecar, found, "sms", ["email"], not_before=scheduled["scheduled_for"])


# Retries


@pytest.mark.parametrize("recipient, channels", [(BOTH, EMAIL_FIRST), ({"email": EMAIL}, ["email"])], ids=["next-channel", "none-left"])
def test_a_retry_pending_after_a_deferral_does_not_go_by_email_once_the_client_opts_out(
        start, smtp, certificate, workdir, ids, recipient, channels):
    (workdir / "policy.json").write_text(json.dumps({"retry": {"delays_seconds": [2], "jitter": 0}}))
    smtp.mailbox.refuse[EMAIL] = "451 4.3.0 Try again later"
    sidecar = start(env={**smtp.env(certificate[0]), "POLICY_FILE": "policy.json", **FAST})
    result = sidecar.result("communicate", communicate_params(ids, recipient=recipient, preferred_channel="email"))
    assert result["decision"]["channels"] == channels, result["decision"]
    assert result["status"] == "queued", result
    [deferred] = result["attempts"]
    assert deferred["channel"] == "email" and deferred["outcome"] == "failed", deferred
    assert deferred["error_category"] == "transient" and "451" in deferred["error"], deferred
    # The server would take the email now: only the client's consent may keep it from going.
    del smtp.mailbox.refuse[EMAIL]
    opt_out(sidecar, ids, "email")
    before(moment(deferred["started_at"]) + datetime.timedelta(seconds=2))

    found = settle(sidecar, result["communication_id"], timeout=2 + 10)
    assert smtp.mailbox.messages == [], "the retry went by email although the client had opted out of email"
    first, skipped = found["attempts"][:2]
    assert (first["channel"], first["outcome"], first["error_category"]) == ("email", "failed", "transient"), first
    assert_skipped(skipped, "email")
    if len(channels) > 1:
        assert len(outbox(workdir, "sms", result["communication_id"])) == 1, everything_in_the_outbox(workdir)
        assert len(found["attempts"]) == 3, found["attempts"]
        assert_went_by(sidecar, found, "sms", ["email"])
    else:
        assert everything_in_the_outbox(workdir) == []
        assert found["status"] == "cancelled" and found.get("channel_used") is None, found
        assert len(found["attempts"]) == 2, found["attempts"]
        last = found["events"][-1]
        assert last["status"] == "cancelled" and "opted out" in last.get("detail", ""), found["events"]
        assert "opted out" in announced(sidecar, result["communication_id"], "cancelled").get("error", "")
