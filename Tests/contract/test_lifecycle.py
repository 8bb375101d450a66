"""How the sidecar starts, bounds its work, and stops: nothing but JSON-RPC on stdout, nothing
accepted left unanswered."""
import json
import os
import subprocess
import time

import contract
from conftest import communicate_params
import postgres
from sidecar import BINARY


def test_stdout_carries_only_json_rpc_even_with_trace_logging(start, workdir, ids):
    process = start(env={"LOG_LEVEL": "trace"})
    process.result("communicate", communicate_params(ids))
    process.send_raw(b"garbage\n")
    process.next_answer()
    assert process.stop() == 0
    assert not process.violations
    for line in process.lines:
        message = json.loads(line)
        members = message if isinstance(message, list) else [message]
        assert all(m["jsonrpc"] == "2.0" for m in members)
    records = process.log_records()
    assert records, "logs go to stderr as JSON lines"
    assert all(isinstance(r["msg"], str) and r["level"] for r in records)


def test_end_of_input_finishes_every_request_in_flight(start, workdir, ids):
    process = start()
    count = 40
    for i in range(count):
        process.send({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": communicate_params(ids)})
    process.close_stdin()
    assert process.wait() == 0
    assert not process.violations
    answered = [a for a in process.answers if "result" in a]
    assert sorted(a["id"] for a in answered) == list(range(count))
    assert len(list((workdir / "outbox" / "email").glob("*.eml"))) == count


def test_sigterm_finishes_in_flight_work_and_exits_zero(start, workdir, ids):
    process = start()
    process.result("health")
    for i in range(20):
        process.send({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": communicate_params(ids)})
    process.terminate()
    assert process.wait() == 0, process.stderr()
    assert not process.violations
    # Whatever was started was finished and answered; nothing half-done is left in the store.
    answered = {a["id"] for a in process.answers}
    check = start()
    listed = check.result("communications.list", {"client_id": ids["client_id"], "limit": 500})["communications"]
    assert check.stop() == 0
    assert {c["status"] for c in listed} <= {"sent"}
    assert len(listed) == len([a for a in process.answers if "result" in a]) <= len(answered)


def test_over_the_in_flight_limit_requests_get_32005_and_nothing_is_done_for_them(start, workdir, ids):
    process = start(env={"MAX_IN_FLIGHT": "2"})
    batch = [{"jsonrpc": "2.0", "id": i, "method": "communicate", "params": communicate_params(ids)} for i in range(6)]
    process.send(batch)
    answer = process.next_answer()
    codes = sorted(a.get("error", {}).get("code", 0) for a in answer)
    assert codes == [-32005] * 4 + [0, 0]
    listed = process.result("communications.list", {"client_id": ids["client_id"]})["communications"]
    assert len(listed) == 2
    assert process.stop() == 0 and not process.violations


def test_with_when_max_in_flight_wait_a_piped_burst_is_all_answered(start, ids):
    """WHEN_MAX_IN_FLIGHT=wait: at the limit the sidecar stops reading stdin instead of refusing, so a
    client that writes many requests at once (a pipe from a file) gets every one answered."""
    process = start(env={"MAX_IN_FLIGHT": "2", "WHEN_MAX_IN_FLIGHT": "wait"})
    for i in range(300):
        process.send({"jsonrpc": "2.0", "id": i, "method": "communicate" if i % 10 else "health",
                      "params": {**communicate_params(ids), "wait": False} if i % 10 else {}})
    answers = [process.response(i, timeout=60) for i in range(300)]
    assert sorted(a["id"] for a in answers) == list(range(300))
    assert [a for a in answers if "error" in a] == []
    assert process.stop() == 0 and not process.violations


def test_requests_run_concurrently(start, workdir, ids):
    """A batch of slow and fast requests: all answered, each with its own id."""
    process = start()
    batch = [{"jsonrpc": "2.0", "id": f"c{i}", "method": "communicate", "params": communicate_params(ids)} for i in range(10)]
    batch += [{"jsonrpc": "2.0", "id": f"h{i}", "method": "health"} for i in range(10)]
    process.send(batch)
    answer = process.next_answer()
    assert sorted(a["id"] for a in answer) == sorted(m["id"] for m in batch)
    assert process.stop() == 0 and not process.violations


def test_stdin_and_stdout_may_be_regular_files(workdir):
    requests = workdir / "requests.jsonl"
    requests.write_text("".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "health"}) + "\n" for i in range(3)))
    out = workdir / "out.jsonl"
    with open(requests, "rb") as stdin, open(out, "wb") as stdout:
        code = subprocess.run([BINARY], cwd=workdir, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, timeout=30).returncode
    assert code == 0
    ready, *answers = [json.loads(line) for line in out.read_text().splitlines()]
    assert ready["method"] == "sidecar.ready"
    assert sorted(answer["id"] for answer in answers) == [0, 1, 2]


def test_no_stdin_at_all_exits_cleanly_after_saying_it_was_ready(workdir):
    done = subprocess.run([BINARY], cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert done.returncode == 0
    (line,) = done.stdout.splitlines()
    ready = json.loads(line)
    contract.check_notification(ready)
    assert ready["method"] == "sidecar.ready" and ready["params"]["store"] == "sqlite"


def test_a_bad_setting_stops_start_up_with_the_variable_named(workdir):
    for env, variable in [({"MAX_IN_FLIGHT": "lots"}, "MAX_IN_FLIGHT"), ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
                          ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"), ({"DB_ENCRYPTION_KEY": "short"}, "DB_ENCRYPTION_KEY"),
                          ({"DATABASE_URL": "postgres://crm@127.0.0.1:1/x"}, "DB_ENCRYPTION_KEY"),
                          ({"WORK_LEASE_SECONDS": "1"}, "WORK_LEASE_SECONDS")]:
        done = subprocess.run([BINARY], cwd=workdir, input=b"", capture_output=True, timeout=30, env=env)
        assert done.returncode == 78, done.stderr
        assert done.stdout == b""
        record = json.loads(done.stderr.decode().splitlines()[-1])
        assert record["level"] == "critical" and variable in record["msg"]
        assert b"short" not in done.stderr  # a key is never echoed back


def test_a_dot_env_file_is_read_and_the_environment_wins(start, workdir, ids):
    (workdir / ".env").write_text('# settings\nOUTBOX_DIR="from-dotenv"\nMAX_IN_FLIGHT=lots\n')
    process = start(env={"MAX_IN_FLIGHT": "8"})
    process.result("communicate", communicate_params(ids))
    assert process.stop() == 0
    assert list((workdir / "from-dotenv" / "email").glob("*.eml"))


def test_migrate_subcommand_prepares_the_database_and_is_idempotent(workdir, database_env):
    for _ in range(2):
        done = subprocess.run([BINARY, "migrate"], cwd=workdir, capture_output=True, timeout=30, env={"PATH": os.environ["PATH"], **database_env})
        assert done.returncode == 0 and done.stdout == b"", done.stderr
    if "DATABASE_URL" in database_env:
        assert postgres.psql(database_env["DATABASE_URL"], "SELECT identifier FROM schema_migrations ORDER BY identifier").split() == ["0001_communications", "0002_attachments_template_gaps", "0003_conversations_origin", "0004_skipped_attempts", "0005_event_log", "0006_compliance", "0007_rotation_target", "0008_analytics_rollups", "0009_analytics_quarters", "0010_children_unchecked"]
    else:
        assert (workdir / "crm.sqlite").exists()


def test_end_of_input_writes_the_notifications_of_the_sends_it_started(start, workdir, ids):
    """`printf '{...communicate, wait: false...}' | crm-sidecar`: the send finishes, and its `sent`
    notification is on stdout before the sidecar exits."""
    process = start()
    process.send({"jsonrpc": "2.0", "id": 1, "method": "communicate", "params": communicate_params(ids, wait=False)})
    process.close_stdin()
    assert process.wait() == 0 and not process.violations
    (answer,) = process.answers
    communication = answer["result"]["communication_id"]
    statuses = [n["params"]["status"] for n in process.notifications
                if n["method"] == "communication.status" and n["params"]["communication_id"] == communication]
    assert statuses == ["queued", "sent"]
    assert len(list((workdir / "outbox" / "email").glob("*.eml"))) == 1


def test_after_sigterm_every_request_read_gets_exactly_one_answer(start, ids):
    """20 requests, then SIGTERM with stdin still open, then 5 more: 25 answers, each a result or
    -32006 (those read after the signal), and exit 0 within the grace."""
    process = start(env={"SHUTDOWN_GRACE_SECONDS": "3"})
    assert process.ready, "signal handlers are in place once the sidecar says it is ready"
    for i in range(20):
        process.send({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": communicate_params(ids, wait=False)})
    process.terminate()
    # Lines written from here on are read after the signal once the sidecar says it is stopping.
    deadline = time.monotonic() + 10
    while b"stopping" not in process.stderr_path.read_bytes():
        assert time.monotonic() < deadline, "the sidecar never said it was stopping"
        time.sleep(0.05)
    for i in range(20, 25):
        process.send({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": communicate_params(ids)})
    assert process.wait() == 0, process.stderr()
    assert not process.violations
    answered = sorted(a["id"] for a in process.answers)
    assert answered == list(range(25)), answered
    for answer in process.answers:
        assert "result" in answer or answer["error"]["code"] == -32006, answer
    assert all("error" in a for a in process.answers if a["id"] >= 20)


def test_sidecar_ready_names_the_store_and_the_side_port_it_bound(start, database_env):
    process = start()
    ready = process.ready["params"]
    assert ready["store"] == ("postgres" if database_env else "sqlite") and ready["version"] and ready["instance"]
    health = process.result("health")
    assert ready["webhooks"]["status"] == "listening"
    assert ready["webhooks"]["address"] == health["components"]["webhooks"]["address"]
    assert process.stop() == 0 and not process.violations


def test_links_name_the_port_the_side_port_bound(start, workdir, ids):
    """WEBHOOK_PORT=0 without PUBLIC_BASE_URL: links use the port actually bound, not 0."""
    process = start()
    port = process.ready["params"]["webhooks"]["address"].rsplit(":", 1)[1]
    process.result("communicate", communicate_params(ids))
    assert process.stop() == 0
    (eml,) = (workdir / "outbox" / "email").glob("*.eml")
    text = eml.read_text()
    assert f"http://127.0.0.1:{port}/email/unsubscribe/" in text and "127.0.0.1:0/" not in text
