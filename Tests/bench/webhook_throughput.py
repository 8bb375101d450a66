"""Throughput of the side port's Twilio webhook, as a ratio against a reference measured in the same run.

The reference is `GET /health` on the same listener (HTTP parsing, routing and a store ping: the
least a request costs there). The workload is signed Twilio status callbacks for messages the sidecar
sent: each is read whole, its X-Twilio-Signature checked, the message found by its provider id, the
status moved forward in the store (SQLite, synchronous=FULL) and announced on stdout. Every message
gets `delivered`, then `read`, so each callback is a real change. Both run over --connections
keep-alive connections from threads of this script. Ratios, not absolute times, are what to compare.

    .venv/bin/python Tests/bench/webhook_throughput.py [--binary PATH] [--messages N] [--connections N]
"""
import argparse
import http.client
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "contract"))

from twilio.request_validator import RequestValidator  # noqa: E402

TOKEN = "bench-auth-token"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hammer(port, requests, connections):
    """Seconds to send every (method, path, body, headers) over `connections` keep-alive connections."""
    shares = [requests[i::connections] for i in range(connections)]
    failures = []

    def run(share):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for method, path, body, headers in share:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(response.status)
        connection.close()

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    assert not failures, f"{len(failures)} requests failed, e.g. {failures[:5]}"
    return elapsed


def measure(binary, messages, connections):
    """Requests per second of `GET /health` (the reference) and of signed Twilio status callbacks, both
    `2 * messages` requests over `connections` keep-alive connections to one fresh sidecar."""
    binary = str(pathlib.Path(binary).resolve())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        env = {"PATH": "/usr/bin:/bin", "WEBHOOK_PORT": str(port), "PUBLIC_BASE_URL": base, "TWILIO_AUTH_TOKEN": TOKEN,
               "MAX_IN_FLIGHT": str(min(10_000, messages + 1))}
        process = subprocess.Popen([binary], cwd=folder, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
        try:
            answers = {}
            delivered = threading.Semaphore(0)
            all_answered = threading.Event()

            def read():
                for raw in process.stdout:
                    message = json.loads(raw)
                    if "id" in message:
                        answers[message["id"]] = message
                        if len(answers) == messages:
                            all_answered.set()
                    elif message.get("method") == "communication.status" and message["params"]["status"] == "opened":
                        delivered.release()

            threading.Thread(target=read, daemon=True).start()
            # SMS through the outbox provider: each gets a provider message id, as Twilio's sid would be.
            lines = b"".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": {
                "plan_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()), "message_type": "reminder", "urgency": "critical",
                "recipient": {"phone": "+14155550123"}, "context": {"client_name": "Priya"}}}).encode() + b"\n"
                for i in range(messages))
            process.stdin.write(lines)
            process.stdin.flush()
            assert all_answered.wait(timeout=600), f"{len(answers)} of {messages} communicate requests answered"
            sids = [answers[i]["result"]["attempts"][-1]["provider_message_id"] for i in range(messages)]

            validator = RequestValidator(TOKEN)

            def callback(sid, status):
                params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, "To": "+14155550123"}
                body = urllib.parse.urlencode(params)
                return ("POST", "/webhooks/twilio", body, {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": validator.compute_signature(base + "/webhooks/twilio", params)})

            health = hammer(port, [("GET", "/health", None, {})] * (2 * messages), connections)
            callbacks = [callback(sid, "delivered") for sid in sids] + [callback(sid, "read") for sid in sids]
            seconds = hammer(port, callbacks, connections)
            for _ in sids:
                assert delivered.acquire(timeout=30), "a read receipt was never announced"
            process.stdin.close()
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    count = 2 * messages
    return {"requests": count, "connections": connections, "health_per_second": count / health,
            "callbacks_per_second": count / seconds}


def main():
    parser = argparse.ArgumentParser()
    default = ROOT / ".build" / "release" / "crm-sidecar"
    parser.add_argument("--binary", default=str(default if default.exists() else ROOT / ".build" / "debug" / "crm-sidecar"))
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--connections", type=int, default=4)
    arguments = parser.parse_args()
    result = measure(arguments.binary, arguments.messages, arguments.connections)
    print(f"binary: {arguments.binary}")
    print(f"{result['requests']} requests over {arguments.connections} keep-alive connections")
    print(f"  GET /health (reference):          {result['health_per_second']:8.1f} req/s")
    print(f"  signed Twilio status callbacks:   {result['callbacks_per_second']:8.1f} req/s"
          f"  ({result['callbacks_per_second'] / result['health_per_second']:.2f}x the reference)")


if __name__ == "__main__":
    main()
