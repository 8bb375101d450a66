"""Email throughput through SMTP, as a ratio against a reference measured in the same run.

Both sides talk to the same aiosmtpd server on loopback, with STARTTLS, AUTH and a self-signed
certificate (Tests/contract/peers). The reference is Python's smtplib sending N messages of the same
size over one connection (one STARTTLS, one login): about the least a client can do per message. The
sidecar is asked for N `communicate` calls with `wait: false` and timed until the server has all N
(rendering, MIME, storing every attempt, and SMTP_MAX_SESSIONS connections in parallel). Ratios, not
absolute times, are what to compare between runs and machines.

    .venv/bin/python Tests/bench/smtp_throughput.py [--binary PATH] [--messages N] [--sessions N]
"""
import argparse
import json
import pathlib
import smtplib
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "contract"))

from peers.smtp import PASSWORD, USERNAME, SMTPPeer  # noqa: E402
from peers.tls import self_signed  # noqa: E402


def reference(peer, cert, count, size):
    context = ssl.create_default_context(cafile=str(cert))
    # The same size in lines of 76 characters, as the sidecar's base64 bodies are.
    body = "\r\n".join("x" * 76 for _ in range(size // 78))
    start = time.perf_counter()
    with smtplib.SMTP("localhost", peer.port) as client:
        client.starttls(context=context)
        client.login(USERNAME, PASSWORD)
        for index in range(count):
            client.sendmail("planner@planiva.example", ["priya@example.com"], f"Subject: {index}\r\n\r\n{body}\r\n")
    peer.mailbox.wait_for(count, timeout=600)
    return time.perf_counter() - start


def sidecar(binary, peer, cert, count, sessions, folder, timeout):
    env = {"PATH": "/usr/bin:/bin", **peer.env(cert), "SMTP_MAX_SESSIONS": str(sessions), "SEND_CONCURRENCY": str(max(8, sessions)),
           # Every request is written at once; none may be refused as overload.
           "MAX_IN_FLIGHT": str(min(10_000, count + 1))}
    process = subprocess.Popen([binary], cwd=folder, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(pathlib.Path(folder) / "stderr.jsonl", "wb"))
    # Drained as it comes, or the sidecar would block on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    already = len(peer.mailbox.messages)
    params = {
        "plan_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()), "message_type": "budget_summary", "urgency": "high",
        "recipient": {"email": "priya@example.com"}, "wait": False,
        "context": {"client_name": "Priya", "event_type": "wedding", "budget_strategies": [{"name": "Essential", "total_cost": "₹8,00,000"}]},
    }
    lines = b"".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": params}).encode() + b"\n" for i in range(count))
    start = time.perf_counter()
    process.stdin.write(lines)
    process.stdin.flush()
    try:
        peer.mailbox.wait_for(already + count, timeout=timeout)
    except AssertionError:
        # Show why: the sidecar's warnings, without the noise.
        sys.stderr.write("".join(line for line in open(pathlib.Path(folder) / "stderr.jsonl") if '"level":"info"' not in line)[-4000:])
        raise
    elapsed = time.perf_counter() - start
    process.stdin.close()
    process.wait(timeout=60)
    return elapsed, len(peer.mailbox.messages[already]["raw"])


def main():
    parser = argparse.ArgumentParser()
    default = ROOT / ".build" / "release" / "crm-sidecar"
    parser.add_argument("--binary", default=str(default if default.exists() else ROOT / ".build" / "debug" / "crm-sidecar"))
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the sidecar's emails")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cert, key = self_signed(pathlib.Path(folder))
        peer = SMTPPeer(cert, key)
        try:
            seconds, size = sidecar(arguments.binary, peer, cert, arguments.messages, arguments.sessions, folder, arguments.timeout)
            baseline = reference(peer, cert, arguments.messages, size)
        finally:
            peer.stop()
    print(f"binary: {arguments.binary}")
    print(f"{arguments.messages} emails of {size} bytes to aiosmtpd over STARTTLS + AUTH")
    print(f"  smtplib, one connection (reference): {arguments.messages / baseline:8.1f} emails/s")
    print(f"  crm-sidecar, {arguments.sessions} sessions:           {arguments.messages / seconds:8.1f} emails/s"
          f"  ({baseline / seconds:.2f}x the reference)")


if __name__ == "__main__":
    main()
