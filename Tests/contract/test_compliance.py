"""Compliance through the built binary, on SQLite and on PostgreSQL: GDPR access (`clients.export`) and
erasure (`clients.forget`) checked against the raw database and the outbox folder as bytes, the audit
trail (`audit.list`) with the actor of every action and no personal data in any detail, retention
(`crm-sidecar purge`) under a clock years ahead (libfaketime), and CAN-SPAM's postal address in every
email."""

import base64
import datetime
import email
import email.policy
import hashlib
import html
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import uuid

import pytest

import contract
from conftest import communicate_params
from sidecar import BINARY
from test_persistence import raw_rows, rfc3339
from test_webhooks import listening, post_twilio, request, side_port, twilio_inbound

AUDIT_ACTIONS = contract.DOCUMENT["components"]["schemas"]["AuditAction"]["enum"]
PURGE_TABLES = ["communications", "attempts", "status_events", "attachments", "events", "inbound_messages", "audit_log"]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# Helpers


class Person:
    """A client's personal data, unique to one test, so that finding any of it anywhere means it was
    kept: searched as bytes, it can only have come from this test's requests."""

    def __init__(self):
        tag = uuid.uuid4().hex[:12]
        self.email = f"gdpr.{tag}@example.com"
        self.phone = "+1415" + "".join(random.choice("0123456789") for _ in range(7))
        self.name = f"Quennefer {tag[:6].upper()}vilde"
        self.text = f"Lakeview{tag}Terrace"  # rendered into messages as the event type
        self.reply = f"Yes, confirmed for {tag}Orchard"

    def secrets(self):
        return [self.email, self.phone, self.name, self.text, self.reply]

    def recipient(self, **more):
        return {"email": self.email, "phone": self.phone, "name": self.name, **more}

    def context(self):
        return {"client_name": self.name, "event_type": self.text}


def assert_absent(data, secrets, where):
    if isinstance(data, str):
        data = data.encode()
    found = [s for s in secrets if s.lower().encode() in data.lower()]
    assert not found, f"{where} still holds {found}"


def store_bytes(workdir, database_env):
    """What someone with the database would see: on SQLite the database file and its -wal and -shm
    files as they are on disk; on PostgreSQL every row of every table as text (bytea decoded)."""
    if "DATABASE_URL" in database_env:
        return raw_rows(workdir, database_env)[1]
    files = [workdir / name for name in ("crm.sqlite", "crm.sqlite-wal", "crm.sqlite-shm")]
    assert files[0].exists()
    return b"".join(f.read_bytes() for f in files if f.exists())


def outbox_files(workdir):
    folder = workdir / "outbox"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def outbox_bytes(workdir):
    """Every outbox file as bytes, and each email's parts decoded too (bodies are base64 on disk)."""
    chunks = []
    for path in outbox_files(workdir):
        data = path.read_bytes()
        chunks.append(data)
        if path.suffix == ".eml":
            message = email.message_from_bytes(data, policy=email.policy.default)
            chunks += [str(value).encode() for value in message.values()]
            for part in message.walk():
                if not part.is_multipart():
                    chunks.append(part.get_payload(decode=True) or b"")
    return b"\n".join(chunks)


def outbox_email(workdir, communication_id):
    [path] = (workdir / "outbox" / "email").glob(f"{communication_id}-*.eml")
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def statuses(sidecar, communication_id):
    return [n["params"]["status"] for n in list(sidecar.notifications)
            if n["method"] == "communication.status" and n["params"]["communication_id"] == communication_id]


def seconds_ahead(seconds):
    return rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds))


def twilio_reply(person, text, sid):
    return {**twilio_inbound(text, sid=sid), "From": person.phone}


def audit_entries(sidecar, **filters):
    """Every audit entry matching the filters, one page of 1000."""
    page = sidecar.result("audit.list", {"limit": 1000, **filters})
    assert page["next_cursor"] is None, "more than 1000 entries in one test"
    return page["entries"]


def field_error(sidecar, method, params):
    error = sidecar.error(method, params)
    assert error["code"] == -32602, error
    return error["data"]["field"]


def run_purge(workdir, database_env, *arguments, clock=None, env=None, timeout=15):
    """`crm-sidecar purge`, under `faketime CLOCK` when a clock is given (libfaketime: the binary's
    clock_gettime sees the shifted time). Its own process group, so a hang is killed whole: faketime
    runs the sidecar as a child of its own."""
    command = [BINARY, "purge", *arguments]
    if clock:
        command = ["faketime", clock, *command]
    environment = {"PATH": os.environ["PATH"], **database_env, **(env or {})}
    if clock:
        # Timers keep to the real monotonic clock; only the wall clock (Date()) moves.
        environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    process = subprocess.Popen(command, cwd=workdir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{' '.join(command)} did not finish within {timeout} s; stderr:\n{err.decode(errors='replace')[-2000:]}")
    assert process.returncode == 0, err.decode(errors="replace")
    lines = out.decode().splitlines()
    assert len(lines) == 1, f"purge prints one JSON object on one line, not {lines!r}"
    counts = json.loads(lines[0])
    contract.validator("/components/schemas/PurgeCounts").validate(counts)
    return counts


def needs_faketime():
    if not shutil.which("faketime"):
        pytest.fail("faketime is not installed; script/bootstrap --python installs Debian's faketime package")


# clients.forget and clients.export


def test_forget_leaves_no_personal_data_in_the_store_the_outbox_or_the_export(start, twilio, ids, workdir, database_env):
    sidecar = start(env={**twilio.env(), **side_port(), "SEND_POLL_MS": "100"})
    base = listening(sidecar)
    client, other = Person(), Person()
    others = {"plan_id": ids["plan_id"], "client_id": str(uuid.uuid4())}

    # The client's messages: an email and a WhatsApp message through the outbox (plaintext copies), an
    # SMS through Twilio, a reply to it, a consent change, and a message scheduled a few seconds ahead.
    mail = sidecar.result("communicate", communicate_params(
        ids, urgency="high", preferred_channel="email", recipient=client.recipient(), context=client.context(),
        idempotency_key=f"welcome-{uuid.uuid4()}"))
    whatsapp = sidecar.result("communicate", communicate_params(
        ids, urgency="high", preferred_channel="whatsapp", recipient=client.recipient(), context=client.context()))
    sms = sidecar.result("communicate", communicate_params(
        ids, urgency="critical", preferred_channel="sms", recipient=client.recipient(), context=client.context()))
    assert (mail["channel_used"], whatsapp["channel_used"], sms["channel_used"]) == ("email", "whatsapp", "sms"), (mail, whatsapp, sms)
    assert post_twilio(base, twilio_reply(client, client.reply, "SM" + uuid.uuid4().hex))[0] == 200
    sidecar.wait_for_notifications(lambda ns: any(n["method"] == "inbound.message" for n in ns))
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "opt_out_whatsapp": True})
    # Another client's email, which must survive the erasure untouched.
    kept = sidecar.result("communicate", communicate_params(
        others, urgency="high", preferred_channel="email", recipient=other.recipient(), context=other.context()))
    send_at = seconds_ahead(3)
    scheduled = sidecar.result("communicate", communicate_params(
        ids, urgency="high", preferred_channel="email", recipient=client.recipient(), context=client.context(), send_at=send_at))
    assert scheduled["status"] == "scheduled", scheduled
    client_ids = {r["communication_id"] for r in (mail, whatsapp, sms, scheduled)}

    # Before: the export holds all of it, decrypted, and the outbox holds plaintext copies.
    before = sidecar.result("clients.export", {"client_id": ids["client_id"]})
    assert before["client_id"] == ids["client_id"] and before["erased_at"] is None
    assert {c["communication_id"] for c in before["communications"]} == client_ids
    by_id = {c["communication_id"]: c for c in before["communications"]}
    assert by_id[scheduled["communication_id"]]["status"] == "scheduled", "the machine was too slow: the message went out first"
    assert by_id[mail["communication_id"]]["recipient"]["email"] == client.email
    assert by_id[mail["communication_id"]]["context"]["event_type"] == client.text
    assert all(c["erased"] is False and "erased_at" not in c for c in before["communications"])
    assert {(c["channel"], c["address"]) for c in before["contacts"]} >= {("email", client.email), ("sms", client.phone)}
    assert [m["params"]["text"] for m in before["inbound_messages"]] == [client.reply]
    assert before["preferences"]["opt_out_whatsapp"] is True
    assert [e["action"] for e in before["consent_history"]] == ["preferences.saved"]
    exported = json.dumps(before, ensure_ascii=False)
    assert all(secret in exported for secret in client.secrets()), "the export lacks some of the client's data"
    assert other.email not in exported, "the export holds another client's data"
    plaintext = outbox_bytes(workdir)
    for secret in (client.email, client.phone, client.name, client.text):
        assert secret.encode() in plaintext, f"the outbox should hold a copy with {secret}"

    # The erasure.
    erased = sidecar.result("clients.forget", {"client_id": ids["client_id"], "reason": "asked by the client"})
    assert erased["client_id"] == ids["client_id"]
    assert (erased["erased_communications"], erased["cancelled_communications"], erased["files_removed"]) == (4, 1, 2), erased
    erased_at = erased["erased_at"]
    sidecar.wait_for_notifications(lambda ns: "cancelled" in statuses(sidecar, scheduled["communication_id"]))
    [cancelled] = [n["params"] for n in sidecar.notifications if n["method"] == "communication.status"
                   and n["params"]["communication_id"] == scheduled["communication_id"] and n["params"]["status"] == "cancelled"]
    assert cancelled["error"] == "client erased" and cancelled["previous_status"] == "scheduled", cancelled

    # Every communication reads back erased: no recipient, context or idempotency key.
    for communication_id in client_ids:
        record = sidecar.result("communications.get", {"communication_id": communication_id})
        assert record["erased"] is True and record["erased_at"] == erased_at, record
        assert record["recipient"] == {} and record["context"] == {} and "idempotency_key" not in record, record
    assert sidecar.result("communications.get", {"communication_id": scheduled["communication_id"]})["status"] == "cancelled"
    other_record = sidecar.result("communications.get", {"communication_id": kept["communication_id"]})
    assert other_record["erased"] is False and other_record["recipient"]["email"] == other.email

    # Nothing of the client is left in the database (as bytes) nor in the outbox; the other client's copy is.
    assert_absent(store_bytes(workdir, database_env), client.secrets(), "the database")
    remaining = outbox_files(workdir)
    assert not [p for p in remaining if p.name[:36] in client_ids], remaining
    assert [p.name for p in remaining] == [f"{kept['communication_id']}-1.eml"], remaining
    assert_absent(outbox_bytes(workdir), client.secrets(), "the outbox")
    assert other.email.encode() in outbox_bytes(workdir)

    # The export after: the same communications, and no personal data anywhere in it.
    after = sidecar.result("clients.export", {"client_id": ids["client_id"]})
    assert after["erased_at"] == erased_at and after["contacts"] == []
    assert {c["communication_id"] for c in after["communications"]} == client_ids
    assert all(c["erased"] is True for c in after["communications"])
    assert [(m["params"]["from"], m["params"]["text"]) for m in after["inbound_messages"]] == [("", "")]
    assert_absent(json.dumps(after, ensure_ascii=False), client.secrets(), "the export after the erasure")

    # Again: nothing new to erase; the first erasure's time, zero counts.
    again = sidecar.result("clients.forget", {"client_id": ids["client_id"]})
    assert again == {"client_id": ids["client_id"], "erased_at": erased_at, "erased_communications": 0,
                     "cancelled_communications": 0, "files_removed": 0}

    # The scheduled message's time comes and goes: it is never sent.
    deadline = datetime.datetime.fromisoformat(send_at.replace("Z", "+00:00")) + datetime.timedelta(seconds=1)
    time.sleep(max(0.0, (deadline - datetime.datetime.now(datetime.timezone.utc)).total_seconds()))
    assert statuses(sidecar, scheduled["communication_id"]) == ["scheduled", "cancelled"]
    assert not list((workdir / "outbox").rglob(f"{scheduled['communication_id']}-*"))

    # A later communicate for the same client starts afresh, readable, not erased.
    newcomer = Person()
    fresh = sidecar.result("communicate", communicate_params(
        ids, urgency="high", preferred_channel="email", recipient={"email": newcomer.email}, context=newcomer.context()))
    assert fresh["status"] == "sent", fresh
    record = sidecar.result("communications.get", {"communication_id": fresh["communication_id"]})
    assert record["erased"] is False and "erased_at" not in record
    assert record["recipient"] == {"email": newcomer.email} and record["context"]["client_name"] == newcomer.name
    later = sidecar.result("clients.export", {"client_id": ids["client_id"]})
    assert later["erased_at"] == erased_at and [c["address"] for c in later["contacts"]] == [newcomer.email]
    assert_absent(json.dumps(later, ensure_ascii=False), client.secrets(), "the export of the client's new data")

    assert sidecar.stop() == 0
    assert_absent(store_bytes(workdir, database_env), client.secrets(), "the database after the sidecar stopped")
    assert_absent(sidecar.stderr(), client.secrets(), "the sidecar's log")


def test_analytics_count_the_same_after_an_erasure(sidecar, ids):
    """An erasure removes who the messages went to, not that they went: every figure of analytics.get
    and every row of analytics.export is the same after it (nothing was unsent, so nothing was cancelled)."""
    client = Person()
    for channel, urgency in (("email", "high"), ("sms", "critical"), ("email", "high")):
        sidecar.result("communicate", communicate_params(
            ids, urgency=urgency, preferred_channel=channel, recipient=client.recipient(), context=client.context()))
    sidecar.result("communicate", communicate_params({**ids, "client_id": str(uuid.uuid4())}, urgency="high"))
    now = datetime.datetime.now(datetime.timezone.utc)
    period = {"start": rfc3339(now - datetime.timedelta(hours=1)), "end": rfc3339(now + datetime.timedelta(hours=1)), "plan_id": ids["plan_id"]}

    def figures():
        report = sidecar.result("analytics.get", period)
        report.pop("generated_at")
        return report

    def rows():
        return sidecar.result("analytics.export", period)["content"]

    before, exported = figures(), rows()
    assert before["totals"]["sent"] == 4 and set(before["by_channel"]) == {"email", "sms"}
    assert sidecar.result("clients.forget", {"client_id": ids["client_id"]})["erased_communications"] == 3
    assert figures() == before
    assert rows() == exported


def test_forget_refuses_a_long_reason_and_records_an_unknown_client(sidecar, ids):
    assert field_error(sidecar, "clients.forget", {"client_id": ids["client_id"], "reason": "x" * 201}) == "reason"
    assert field_error(sidecar, "clients.forget", {"client_id": "not-a-uuid"}) == "client_id"
    # A client the store has never heard of: not an error; the erasure is recorded, with nothing to erase.
    erased = sidecar.result("clients.forget", {"client_id": ids["client_id"], "reason": "x" * 200})
    assert (erased["erased_communications"], erased["cancelled_communications"], erased["files_removed"]) == (0, 0, 0)
    export = sidecar.result("clients.export", {"client_id": ids["client_id"]})
    assert export["erased_at"] == erased["erased_at"] and export["communications"] == [] and export["preferences"] is None
    [entry] = audit_entries(sidecar, client_id=ids["client_id"], action="client.erased")
    assert entry["actor"] == "rpc"


def test_export_to_a_file_is_private_atomic_and_matches_its_digest(sidecar, ids, workdir):
    client = Person()
    sidecar.result("communicate", communicate_params(
        ids, urgency="high", preferred_channel="email", recipient=client.recipient(), context=client.context(),
        attachments=[{"filename": "quote.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}]))
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "opt_out_sms": True})

    folder = workdir / "exports"
    folder.mkdir()
    # A file already there is never replaced (a mistyped path must not overwrite the database).
    existing = folder / "older.json"
    existing.write_text("an older export")
    assert field_error(sidecar, "clients.export", {"client_id": ids["client_id"], "path": str(existing)}) == "path"
    assert existing.read_text() == "an older export"
    target = folder / "client.json"
    written = sidecar.result("clients.export", {"client_id": ids["client_id"], "path": str(target)})
    data = target.read_bytes()
    assert written["path"] == str(target)
    assert written["bytes"] == len(data) and written["sha256"] == hashlib.sha256(data).hexdigest()
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["client.json", "older.json"], "a temporary file was left behind"
    document = json.loads(data)
    contract.validator("/components/schemas/ClientExport").validate(document)
    assert client.email in data.decode() and client.name in data.decode()
    assert document["attachments"] == [{"communication_id": document["communications"][0]["communication_id"],
                                        "filename": "quote.pdf", "content_type": "application/pdf", "bytes": len(PDF)}]
    inline = sidecar.result("clients.export", {"client_id": ids["client_id"]})
    assert {k: v for k, v in inline.items() if k != "exported_at"} == {k: v for k, v in document.items() if k != "exported_at"}

    # A relative path is the sidecar's working directory's.
    relative = sidecar.result("clients.export", {"client_id": ids["client_id"], "path": "relative-export.json"})
    assert relative["path"] == str(workdir / "relative-export.json")
    assert (workdir / "relative-export.json").stat().st_mode & 0o777 == 0o600
    exports = audit_entries(sidecar, client_id=ids["client_id"], action="client.exported")
    assert len(exports) == 3 and {e["actor"] for e in exports} == {"rpc"}, exports

    # Nothing stored about the client: -32002, and no file.
    unknown = sidecar.error("clients.export", {"client_id": str(uuid.uuid4()), "path": str(folder / "nobody.json")})
    assert unknown["code"] == -32002, unknown
    assert not (folder / "nobody.json").exists()
    assert sidecar.error("clients.export", {"client_id": str(uuid.uuid4())})["code"] == -32002
    # A path that cannot be written, or none at all.
    assert field_error(sidecar, "clients.export", {"client_id": ids["client_id"], "path": ""}) == "path"
    assert field_error(sidecar, "clients.export", {"client_id": ids["client_id"], "path": str(folder / "missing" / "x.json")}) == "path"
    assert field_error(sidecar, "clients.export", {"client_id": ids["client_id"], "path": str(folder)}) == "path"
    assert field_error(sidecar, "clients.export", {"client_id": "not-a-uuid"}) == "client_id"
    # Those exported nothing, so the trail has no more exports than before.
    assert audit_entries(sidecar, client_id=ids["client_id"], action="client.exported") == exports, \
        "an export that was refused (-32602 path, nothing written) is audited as client.exported"


def test_an_export_too_large_to_answer_inline_names_path(start, ids, workdir):
    sidecar = start(env={"MAX_LINE_BYTES": str(16 << 20)})
    notes = "n" * (8 << 20)  # a context of 8 MiB: with the rest, the export is larger than the 8 MiB answered inline
    sidecar.result("communicate", communicate_params(ids, urgency="high", context={"client_name": "Priya", "notes": notes}))
    assert field_error(sidecar, "clients.export", {"client_id": ids["client_id"]}) == "path"
    written = sidecar.result("clients.export", {"client_id": ids["client_id"], "path": "large.json"})
    assert written["bytes"] > 8 << 20 and json.loads((workdir / "large.json").read_bytes())["communications"][0]["context"]["notes"] == notes
    assert len(audit_entries(sidecar, action="client.exported")) == 1, "an export refused as too large is audited as client.exported"


# The audit trail


def test_every_action_is_audited_with_its_actor_and_no_personal_data(start, twilio, ids, workdir):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    client = Person()
    started = rfc3339(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1))

    # rpc: communicate (an SMS through Twilio, an email through the outbox), cancel, preferences, export.
    sms = sidecar.result("communicate", communicate_params(
        ids, urgency="critical", preferred_channel="sms", recipient=client.recipient(), context=client.context()))
    assert sms["channel_used"] == "sms", sms
    mail = sidecar.result("communicate", communicate_params(
        ids, urgency="high", preferred_channel="email", recipient=client.recipient(), context=client.context()))
    assert mail["channel_used"] == "email", mail
    later = sidecar.result("communicate", communicate_params(
        ids, urgency="high", recipient=client.recipient(), context=client.context(), send_at=seconds_ahead(86400)))
    assert sidecar.result("communications.cancel", {"communication_id": later["communication_id"]})["status"] == "cancelled"
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "timezone": "Asia/Kolkata"})
    # webhook: a STOP by SMS, and the email's one-click unsubscribe.
    assert post_twilio(base, twilio_reply(client, "STOP", "SM" + uuid.uuid4().hex))[0] == 200
    unsubscribe = outbox_email(workdir, mail["communication_id"])["List-Unsubscribe"].strip().strip("<>")
    status, _, _ = request(base, "POST", urllib.parse.urlsplit(unsubscribe).path, b"List-Unsubscribe=One-Click",
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    sidecar.wait_for_notifications(lambda ns: len([n for n in ns if n["method"] == "client.opted_out"]) == 2)
    # system: Twilio refuses the credentials (401) for another client's SMS.
    refused = {"plan_id": ids["plan_id"], "client_id": str(uuid.uuid4())}
    twilio.script.append((401, {}, {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}))
    failed = sidecar.result("communicate", communicate_params(
        refused, urgency="critical", preferred_channel="sms", recipient={"phone": Person().phone}, context={"client_name": "Priya"}))
    assert failed["attempts"][0]["error_category"] == "auth", failed
    sidecar.result("clients.export", {"client_id": ids["client_id"]})
    sidecar.result("clients.forget", {"client_id": ids["client_id"]})

    entries = audit_entries(sidecar)
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "oldest first, each entry once"
    mine = [e for e in entries if e["client_id"] == ids["client_id"]]
    by_action = lambda action, among=mine: [e for e in among if e["action"] == action]
    accepted = by_action("communication.accepted")
    assert {e["communication_id"] for e in accepted} == {sms["communication_id"], mail["communication_id"], later["communication_id"]}
    assert {e["actor"] for e in accepted} == {"rpc"}
    [cancelled] = by_action("communication.cancelled")
    assert cancelled["actor"] == "rpc" and cancelled["communication_id"] == later["communication_id"]
    saved = by_action("preferences.saved")
    assert sorted(e["actor"] for e in saved) == ["rpc", "webhook", "webhook"], saved
    assert {("sms_keyword" in e["detail"], "email_unsubscribe" in e["detail"]) for e in saved if e["actor"] == "webhook"} == {(True, False), (False, True)}
    [exported] = by_action("client.exported")
    [forgot] = by_action("client.erased")
    assert exported["actor"] == forgot["actor"] == "rpc"
    [auth] = by_action("provider.auth_failed", entries)
    assert auth["actor"] == "system" and auth["communication_id"] == failed["communication_id"], auth
    assert auth["client_id"] == refused["client_id"] and "twilio" in auth["detail"], auth
    seen = {e["action"] for e in entries}
    # Every action a serving sidecar takes here; retention.purged is the purge test's, key.rotated rotate-key's.
    assert seen == set(AUDIT_ACTIONS) - {"retention.purged", "key.rotated"}, seen
    # No personal data in any entry, whoever's it is.
    assert_absent(json.dumps(entries, ensure_ascii=False), client.secrets(), "the audit trail")
    for entry in entries:
        assert "@" not in (entry["detail"] or "") and not re.search(r"\+\d{7,}", entry["detail"] or ""), entry

    # Pages of two, through the cursor, list the same entries.
    paged, cursor, pages = [], None, 0
    while True:
        page = sidecar.result("audit.list", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert 1 <= len(page["entries"]) <= 2, page
        paged += page["entries"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert paged == entries and pages == (len(entries) + 1) // 2

    # Filters, alone and combined.
    assert audit_entries(sidecar, client_id=ids["client_id"]) == mine
    assert audit_entries(sidecar, action="preferences.saved") == [e for e in entries if e["action"] == "preferences.saved"]
    assert audit_entries(sidecar, client_id=ids["client_id"], action="communication.accepted") == accepted
    since, until = entries[2]["at"], entries[-2]["at"]
    assert since < until, "the entries were written within one millisecond"
    assert audit_entries(sidecar, since=since, until=until) == [e for e in entries if since <= e["at"] < until]
    assert entries[2] in audit_entries(sidecar, since=since) and entries[-2] not in audit_entries(sidecar, until=until)
    assert audit_entries(sidecar, since=started) == entries
    assert audit_entries(sidecar, until=started) == []
    assert audit_entries(sidecar, client_id=str(uuid.uuid4())) == []

    # Invalid params name their field.
    assert field_error(sidecar, "audit.list", {"action": "client.deleted"}) == "action"
    assert field_error(sidecar, "audit.list", {"since": since, "until": since}) == "until"
    assert field_error(sidecar, "audit.list", {"cursor": "not a cursor"}) == "cursor"
    assert field_error(sidecar, "audit.list", {"limit": 0}) == "limit"
    assert field_error(sidecar, "audit.list", {"limit": 1001}) == "limit"
    assert field_error(sidecar, "audit.list", {"client_id": "not-a-uuid"}) == "client_id"
    assert field_error(sidecar, "audit.list", {"since": "yesterday"}) == "since"


def test_with_audit_logging_off_only_consent_and_erasure_are_recorded(start, ids):
    sidecar = start(env={"ENABLE_AUDIT_LOGGING": "false"})
    client = Person()
    sidecar.result("communicate", communicate_params(ids, urgency="high", recipient=client.recipient(), context=client.context()))
    later = sidecar.result("communicate", communicate_params(
        ids, urgency="high", recipient=client.recipient(), context=client.context(), send_at=seconds_ahead(86400)))
    sidecar.result("communications.cancel", {"communication_id": later["communication_id"]})
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "opt_out_sms": True})
    sidecar.result("clients.export", {"client_id": ids["client_id"]})
    sidecar.result("clients.forget", {"client_id": ids["client_id"]})
    entries = audit_entries(sidecar)
    assert [(e["action"], e["actor"]) for e in entries] == [("preferences.saved", "rpc"), ("client.erased", "rpc")], entries
    assert_absent(json.dumps(entries), client.secrets(), "the audit trail")


# Retention


def test_purge_under_a_clock_years_ahead_removes_old_rows_and_keeps_unsent_ones(start, twilio, ids, workdir, database_env):
    needs_faketime()
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    client = Person()
    # Old rows in every table a pass purges: a communication with an attachment (attempts, timeline,
    # events, attachments), an SMS and a reply to it (inbound messages), and their audit entries.
    mail = sidecar.result("communicate", communicate_params(
        ids, urgency="high", preferred_channel="email", recipient=client.recipient(), context=client.context(),
        attachments=[{"filename": "quote.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}]))
    sms = sidecar.result("communicate", communicate_params(
        ids, urgency="critical", preferred_channel="sms", recipient=client.recipient(), context=client.context()))
    assert post_twilio(base, twilio_reply(client, "Yes, confirmed", "SM" + uuid.uuid4().hex))[0] == 200
    sidecar.wait_for_notifications(lambda ns: any(n["method"] == "inbound.message" for n in ns))
    # Not sent yet, so never purged, however old: due in 800 days, which the clock below does not reach.
    waiting = sidecar.result("communicate", communicate_params(
        ids, urgency="high", recipient=client.recipient(), context=client.context(), send_at=seconds_ahead(800 * 86400)))
    assert waiting["status"] == "scheduled"
    assert sidecar.stop() == 0

    nothing = dict.fromkeys(PURGE_TABLES, 0)
    # Today, and 729 days on: nothing is old enough (RETENTION_DAYS defaults to 730).
    assert run_purge(workdir, database_env, "--dry-run") == nothing
    assert run_purge(workdir, database_env, clock="+729 days") == nothing
    # 731 days on: a dry run counts what would go and removes nothing, so it counts the same twice.
    dry = run_purge(workdir, database_env, "--dry-run", clock="+731 days")
    assert all(dry[table] > 0 for table in PURGE_TABLES), dry
    assert dry["communications"] == 2 and dry["attachments"] == 1 and dry["inbound_messages"] == 1, dry
    assert run_purge(workdir, database_env, "--dry-run", clock="+731 days") == dry
    # AUDIT_RETENTION_DAYS keeps the audit log longer than the communications.
    kept_audit = run_purge(workdir, database_env, "--dry-run", clock="+731 days", env={"AUDIT_RETENTION_DAYS": "1000"})
    assert kept_audit == {**dry, "audit_log": 0}, kept_audit
    # The pass itself.
    assert run_purge(workdir, database_env, clock="+731 days") == dry
    assert run_purge(workdir, database_env, "--dry-run", clock="+731 days") == nothing

    after = start()
    for gone in (mail, sms):
        assert after.error("communications.get", {"communication_id": gone["communication_id"]})["code"] == -32002
    record = after.result("communications.get", {"communication_id": waiting["communication_id"]})
    assert record["status"] == "scheduled" and record["recipient"]["email"] == client.email
    assert [e["status"] for e in record["events"]] == ["scheduled"], record["events"]
    # The event log keeps nothing older than the period (an unsent communication keeps its timeline above).
    assert after.result("events.list", {"limit": 1000})["events"] == []
    [purged] = audit_entries(after, action="retention.purged")
    assert purged["actor"] == "system" and purged["client_id"] is None and purged["communication_id"] is None
    assert_absent(purged["detail"] or "", client.secrets(), "the purge's audit entry")


# CAN-SPAM


def test_validate_config_warns_when_smtp_has_no_postal_address(workdir):
    def validate(**env):
        done = subprocess.run([BINARY, "validate-config"], cwd=workdir, capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", **env})
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    assert "SENDER_POSTAL_ADDRESS" in validate(SMTP_HOST="smtp.example.com")
    assert "SENDER_POSTAL_ADDRESS" not in validate(SMTP_HOST="smtp.example.com", SENDER_POSTAL_ADDRESS="42 Orchard Row, Springfield")
    assert "SENDER_POSTAL_ADDRESS" not in validate()  # no SMTP: emails go to the outbox


def test_every_email_carries_the_postal_address_in_both_parts(start, ids, workdir):
    address = "Smith & Sons <Events>, 42 Orchard Row, Springfield 01101"
    sidecar = start(env={"SENDER_POSTAL_ADDRESS": address})
    result = sidecar.result("communicate", communicate_params(ids, urgency="high"))
    assert result["channel_used"] == "email", result
    message = outbox_email(workdir, result["communication_id"])
    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    plain = message.get_body(("plain",)).get_content()
    assert plain.rstrip().endswith(f"\n\n-- \n{address}\nUnsubscribe: {unsubscribe}"), plain[-300:]
    page = message.get_body(("html",)).get_content()
    assert html.escape(address, quote=False) in page and address not in page, page[-600:]
