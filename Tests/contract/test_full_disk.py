"""A full disk, for real: a small tmpfs filled to the last page under the SQLite database or under
the outbox. Every request is answered within a bounded time, nothing is corrupted, nothing
acknowledged is lost or sent twice, and service returns by itself once space is freed.

Mounting needs root (CAP_SYS_ADMIN); where it is not allowed these tests skip."""
import json
import sqlite3
import subprocess
import time

import pytest

from conftest import communicate_params

# Every answer on a full disk comes well within this (a stuck write would take the request's
# whole deadline or longer).
PROMPT = 5.0


@pytest.fixture
def disk(workdir):
    """A 4 MiB tmpfs at workdir/disk; `fill()` takes every page left, `free()` gives them back."""
    mount = workdir / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here")
    filler = mount / "filler"

    class Disk:
        path = mount

        @staticmethod
        def fill():
            # Big chunks, then pages, then bytes: tmpfs hands out whole pages.
            for size in (1 << 16, 4096, 1):
                try:
                    with open(filler, "ab", buffering=0) as f:
                        while True:
                            f.write(b"\0" * size)
                except OSError:
                    pass

        @staticmethod
        def free():
            filler.unlink(missing_ok=True)

    yield Disk
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def timed(process, method, params):
    started = time.monotonic()
    answer = process.call(method, params)
    return answer, time.monotonic() - started


def test_sqlite_on_a_full_disk_answers_32001_at_once_stays_intact_and_recovers(start, ids, disk, database_env):
    if "DATABASE_URL" in database_env:
        pytest.skip("the embedded store's disk; PostgreSQL's outages are test_persistence's")
    process = start(env={"DATABASE_URL": f"sqlite:{disk.path}/crm.sqlite"})
    before = process.result("communicate", communicate_params(ids))
    assert before["status"] == "sent"

    disk.fill()
    # A write can still fit in space the store already holds: once the checkpointer has copied the
    # whole WAL, the next commit starts the WAL over, in pages the file already has. Such a write is
    # stored and acknowledged, and must stay. The disk is full once writes need new pages: each kind
    # of request (waiting for its send, and not) is then refused at once.
    acknowledged = [before["communication_id"]]
    refused = set()
    for attempt in range(100):
        wait = attempt % 2 == 0
        answer, seconds = timed(process, "communicate", communicate_params(ids, wait=wait))
        assert seconds < PROMPT, (wait, seconds)
        assert "priya" not in json.dumps(answer).lower()
        if "result" in answer:
            acknowledged.append(answer["result"]["communication_id"])
            continue
        assert answer["error"]["code"] == -32001, answer
        refused.add(wait)
        if refused == {True, False}:
            break
    assert refused == {True, False}, f"{len(acknowledged) - 1} writes fitted on a full disk, and not every kind was refused"
    # Reads still answer (from what is on disk), or say the store is unavailable: never hang.
    answer, seconds = timed(process, "communications.get", {"communication_id": before["communication_id"]})
    assert seconds < PROMPT and ("result" in answer or answer["error"]["code"] == -32001), answer

    disk.free()
    deadline = time.monotonic() + 30
    while True:
        answer = process.call("communicate", communicate_params(ids))
        if "result" in answer:
            break
        assert answer["error"]["code"] == -32001 and time.monotonic() < deadline, answer
        time.sleep(0.5)
    assert answer["result"]["status"] == "sent"
    acknowledged.append(answer["result"]["communication_id"])
    listed = process.result("communications.list", {"plan_id": ids["plan_id"], "limit": 100})["communications"]
    # The refused ones were never stored; every acknowledged one is.
    assert sorted(c["communication_id"] for c in listed) == sorted(acknowledged)
    assert process.stop() == 0

    connection = sqlite3.connect(disk.path / "crm.sqlite")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()


def test_an_outbox_on_a_full_disk_answers_at_once_and_sends_once_space_is_freed(start, ids, disk, workdir):
    (workdir / "policy.json").write_text(json.dumps({"retry": {"delays_seconds": [1], "jitter": 0}}))
    outbox = disk.path / "outbox"
    process = start(env={"OUTBOX_DIR": str(outbox), "POLICY_FILE": str(workdir / "policy.json"), "SEND_POLL_MS": "100"})
    assert process.result("communicate", communicate_params(ids))["status"] == "sent"

    disk.fill()
    answer, seconds = timed(process, "communicate", communicate_params(ids, wait=True))
    assert seconds < PROMPT, seconds
    # Accepted and durable (the database is elsewhere); the provider's failure is a retry to come.
    stalled = answer["result"]
    assert stalled["status"] == "queued" and stalled["attempts"][-1]["outcome"] == "failed", stalled

    disk.free()
    process.wait_for_notifications(lambda ns: any(
        n["params"].get("communication_id") == stalled["communication_id"] and n["params"].get("status") == "sent" for n in ns
    ), timeout=30)
    files = [f for f in (outbox / "email").glob("*.eml") if stalled["communication_id"] in f.name]
    assert len(files) == 1, files
    assert process.stop() == 0
