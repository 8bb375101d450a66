"""What a retention purge costs the sends beside it: p50/p99 of `communicate` answers while
`crm-sidecar purge` removes 100,000 old communications, as a ratio against the same load without it.

A database is made by the sidecar itself (so its schema and key are real), then filled with old sent
communications straight through SQLite (the sidecar would need 100,000 sends to make them). The load
is open-loop: requests are written at a fixed rate whatever the answers do, so a stall shows as
latency instead of being hidden by a slower client. SQLite only (the embedded default, where the
purge and the sends share one write lock: the harder case).

    python3 Tests/bench/purge_latency.py [--binary PATH] [--rows 100000] [--rate 200] [--seconds 20]
"""
import argparse
import json
import os
import pathlib
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]


def request(number, client):
    return json.dumps({
        "jsonrpc": "2.0", "id": number, "method": "communicate",
        "params": {
            "plan_id": str(uuid.uuid4()), "client_id": client, "message_type": "reminder", "urgency": "high",
            "recipient": {"email": "bench@example.com"}, "context": {"event_name": "Gala"}, "wait": False,
        },
    }) + "\n"


def open_loop(binary, env, cwd, rate, seconds):
    """Answer latencies (seconds) of `communicate` written at `rate` per second for `seconds`."""
    process = subprocess.Popen([binary], cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.stdout.readline()  # sidecar.ready
    sent_at = {}
    latencies = []
    total = int(rate * seconds)

    def read():
        for raw in process.stdout:
            message = json.loads(raw)
            if "id" in message and message["id"] in sent_at:
                latencies.append(time.perf_counter() - sent_at.pop(message["id"]))
                if len(latencies) == total:
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    client = str(uuid.uuid4())
    start = time.perf_counter()
    for number in range(1, total + 1):
        # Paced by sleeping until the request's slot, never spinning.
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        line = request(number, client)
        sent_at[number] = time.perf_counter()
        process.stdin.write(line.encode())
        process.stdin.flush()
    reader.join(timeout=60)
    process.stdin.close()
    process.wait(timeout=60)
    return sorted(latencies)


def percentile(values, fraction):
    return values[min(len(values) - 1, int(fraction * len(values)))] if values else float("nan")


def fill(database, rows):
    """`rows` communications sent 800 days ago, each with its timeline, copied from one real row."""
    old = int((time.time() - 800 * 86400) * 1000)
    with sqlite3.connect(database) as db:
        columns = [c[1] for c in db.execute("PRAGMA table_info(communications)")]
        template = dict(zip(columns, db.execute("SELECT * FROM communications LIMIT 1").fetchone()))
        template.update(status="sent", channel_used="email", created_at=old, updated_at=old, next_attempt_at=None,
                        lease_owner=None, lease_expires_at=None, idempotency_key=None)
        marks = ", ".join("?" for _ in columns)
        batch = []
        for _ in range(rows):
            template["id"] = str(uuid.uuid4())
            batch.append(tuple(template[c] for c in columns))
        db.executemany(f"INSERT INTO communications ({', '.join(columns)}) VALUES ({marks})", batch)
        db.execute("""INSERT INTO status_events (communication_id, status, channel, detail, at)
                      SELECT id, 'sent', 'email', NULL, updated_at FROM communications WHERE updated_at = ?""", (old,))


def main():
    parser = argparse.ArgumentParser()
    default = ROOT / ".build" / "release" / "crm-sidecar"
    parser.add_argument("--binary", default=str(default if default.exists() else ROOT / ".build" / "debug" / "crm-sidecar"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DATABASE_URL": f"sqlite:{folder}/crm.sqlite", "OUTBOX_DIR": f"{folder}/outbox", "WEBHOOK_PORT": "0",
               "LOG_LEVEL": "error"}
        env.pop("DB_ENCRYPTION_KEY", None)
        open_loop(arguments.binary, env, folder, rate=10, seconds=0.2)
        fill(f"{folder}/crm.sqlite", arguments.rows)

        quiet = open_loop(arguments.binary, env, folder, arguments.rate, arguments.seconds)
        purge = subprocess.Popen([arguments.binary, "purge"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        started = time.perf_counter()
        busy = open_loop(arguments.binary, env, folder, arguments.rate, arguments.seconds)
        counts = json.loads(purge.communicate(timeout=600)[0])
        purge_seconds = time.perf_counter() - started

    print(f"{arguments.rows} old communications, communicate at {arguments.rate:.0f}/s for {arguments.seconds:.0f} s, {arguments.binary}")
    print(f"purge removed {counts['communications']} communications in {purge_seconds:.1f} s")
    print(f"{'':12} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in (("alone", quiet), ("with purge", busy)):
        print(f"{name:12} {percentile(values, 0.5) * 1000:8.2f} {percentile(values, 0.99) * 1000:8.2f}")
    print(f"p99 ratio (with purge / alone): {percentile(busy, 0.99) / percentile(quiet, 0.99):.2f}  (the issue's bound: 2.0)")


if __name__ == "__main__":
    main()
