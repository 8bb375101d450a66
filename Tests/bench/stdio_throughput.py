"""Throughput of the stdio JSON-RPC path, as ratios against a reference measured in the same run.

The reference is the same lines through `cat`: what the pipes and this script cost with no sidecar at
all. Each workload pipelines N requests (at most --window outstanding) into a fresh
sidecar on the embedded default (SQLite with synchronous=FULL, outbox provider) and times until the last
answer. Ratios, not absolute times, are what to compare between runs and machines. With
DATABASE_URL (and DB_ENCRYPTION_KEY) in the environment the sidecar runs on that PostgreSQL instead.

    python3 Tests/bench/stdio_throughput.py [--binary PATH] [--health N] [--communicate N] [--window N]
"""
import argparse
import json
import pathlib
import subprocess
import tempfile
import threading
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pipelined(command, lines, cwd, window):
    """Seconds from the first line written to the last answer read, and the answers.

    At most `window` requests are outstanding, as a client that respects MAX_IN_FLIGHT keeps them."""
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    answers = []
    wanted = len(lines)
    room = threading.Semaphore(window)

    def read():
        for raw in process.stdout:
            message = json.loads(raw)
            if "id" in message:
                answers.append(message)
                room.release()
                if len(answers) == wanted:
                    return

    reader = threading.Thread(target=read)
    start = time.perf_counter()
    reader.start()
    for line in lines:
        room.acquire()
        process.stdin.write(line)
        process.stdin.flush()
    process.stdin.close()
    reader.join()
    elapsed = time.perf_counter() - start
    process.wait()
    return elapsed, answers


def main():
    parser = argparse.ArgumentParser()
    default = ROOT / ".build" / "release" / "crm-sidecar"
    parser.add_argument("--binary", default=str(default if default.exists() else ROOT / ".build" / "debug" / "crm-sidecar"))
    parser.add_argument("--health", type=int, default=5000)
    parser.add_argument("--communicate", type=int, default=1000)
    parser.add_argument("--window", type=int, default=32, help="requests outstanding at once (below MAX_IN_FLIGHT)")
    options = parser.parse_args()

    plan, client = str(uuid.uuid4()), str(uuid.uuid4())
    health = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "health"}).encode() + b"\n" for i in range(options.health)]
    communicate = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": {
        "plan_id": plan, "client_id": client, "message_type": "welcome", "urgency": "critical",
        "recipient": {"email": "priya@example.com"}, "context": {"client_name": "Priya Sharma"}}}).encode() + b"\n"
        for i in range(options.communicate)]

    print(f"binary: {options.binary}")
    rows = []
    for name, lines in [("health", health), ("communicate", communicate)]:
        with tempfile.TemporaryDirectory() as folder:
            reference, _ = pipelined(["cat"], lines, folder, options.window)
            elapsed, answers = pipelined([options.binary], lines, folder, options.window)
            assert len(answers) == len(lines) and all("result" in a for a in answers), answers[:1]
            rows.append((name, len(lines), elapsed, reference))
    print(f"{'workload':<12} {'requests':>8} {'seconds':>8} {'req/s':>8} {'cat req/s':>10} {'x slower than cat':>18}")
    for name, count, elapsed, reference in rows:
        print(f"{name:<12} {count:>8} {elapsed:>8.3f} {count / elapsed:>8.0f} {count / reference:>10.0f} {elapsed / reference:>18.1f}")


if __name__ == "__main__":
    main()
