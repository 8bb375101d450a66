"""Scheduled and retrying work through the built binary: it survives SIGKILL and is sent exactly once;
the policy file changes the rules."""
import datetime
import json
import subprocess
import time
import uuid

from conftest import ENCRYPTION_KEY, communicate_params
from sidecar import BINARY
from test_persistence import rfc3339, sent_count


def test_scheduled_and_retrying_work_survives_sigkill_and_is_sent_exactly_once(start, workdir, database_env):
    total = 1000
    (workdir / "policy.json").write_text(json.dumps({"retry": {"delays_seconds": [3], "jitter": 0}}))
    settings = {"POLICY_FILE": "policy.json", "SEND_POLL_MS": "100", "WORK_LEASE_SECONDS": "2", "DB_ENCRYPTION_KEY": ENCRYPTION_KEY}
    # A file where the outbox's email folder should be: every send fails, transiently, until it goes.
    (workdir / "outbox").mkdir()
    (workdir / "outbox" / "email").write_text("in the way")

    first = start(env=settings)
    send_at = rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=15))
    plan = str(uuid.uuid4())
    statuses = {}
    for batch in range(0, total, 50):
        for index in range(batch, batch + 50):
            ids = {"plan_id": plan, "client_id": str(uuid.uuid4())}
            # Half scheduled for later, half due now and failing into retries.
            extra = {"send_at": send_at} if index % 2 else {"wait": False}
            first.send({"jsonrpc": "2.0", "id": index, "method": "communicate", "params": communicate_params(ids, **extra)})
        for index in range(batch, batch + 50):
            statuses[index] = first.response(index, timeout=60)["result"]["status"]
    assert sorted(set(statuses.values())) == ["queued", "scheduled"]
    time.sleep(0.5)  # some retries under way
    first.kill()
    assert sent_count(workdir, database_env) == 0

    (workdir / "outbox" / "email").unlink()
    second = start(env=settings)
    deadline = time.monotonic() + 120
    while sent_count(workdir, database_env) < total:
        assert time.monotonic() < deadline, f"{sent_count(workdir, database_env)} of {total} sent"
        time.sleep(0.5)
    files = list((workdir / "outbox" / "email").glob("*.eml"))
    ids = [f.name[:36] for f in files]
    assert len(files) == total and len(set(ids)) == total
    # Every one was tried (and failed) before the kill or after, and sent exactly once.
    sample = second.result("communications.list", {"plan_id": plan, "limit": 200})["communications"]
    for item in sample[:20]:
        record = second.result("communications.get", {"communication_id": item["communication_id"]})
        assert [a["outcome"] for a in record["attempts"]].count("sent") == 1
        assert all(a["error_category"] == "transient" for a in record["attempts"] if a["outcome"] == "failed")


def test_a_policy_file_changes_the_rules_and_a_bad_one_is_named(start, workdir, ids):
    (workdir / "policy.json").write_text(json.dumps({
        "channel_order": {"critical": ["email", "sms", "whatsapp"]},
        "priority": {"base": {"critical": 9}},
    }))
    process = start(env={"POLICY_FILE": "policy.json"})
    both = {"email": "priya@example.com", "phone": "+919876543210"}
    decision = process.result("communicate", communicate_params(ids, recipient=both, dry_run=True))["decision"]
    assert decision["channels"] == ["email", "sms", "whatsapp"] and decision["priority"] == 9

    for content, named in [('{"retry": {"attempts_per_chanel": 2}}', "retry.attempts_per_chanel"),
                           ('{"channel_order": {"urgent": ["sms"]}}', "channel_order.urgent"),
                           ('{"business_hours": {"start": "18:00", "end": "09:00"}}', "business_hours"),
                           ("not json", "not JSON")]:
        (workdir / "bad.json").write_text(content)
        done = subprocess.run([BINARY], cwd=workdir, input=b"", capture_output=True, timeout=30,
                              env={"POLICY_FILE": "bad.json", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 78 and done.stdout == b""
        record = json.loads(done.stderr.decode().splitlines()[-1])
        assert "POLICY_FILE" in record["msg"] and named in record["msg"], record["msg"]
