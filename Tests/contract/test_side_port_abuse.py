"""The side port under abuse (issue 17, item 5): forged and unsigned requests at full speed while the
sidecar sends. Every forged request must be refused (403, 401, 404, 400, 413, or 429 if a rate limit
answers first; never a 2xx, 3xx or 5xx, nor a connection dropped unanswered), none may reach the
workflow (no notification, nothing in the event log, no opt-out), the sidecar must still answer
`health` afterwards, and the stdio answers the workflow waits for must stay fast: the p99 of paced
`health` round trips under the flood within twice the p99 measured without it, in the same test.

How it is measured:

- One sidecar on SQLite, sending real email into an SMTP peer (aiosmtpd's `Sink` handler in a process
  of its own, plain SMTP on loopback), with TWILIO_AUTH_TOKEN, WHATSAPP_APP_SECRET,
  WHATSAPP_WEBHOOK_VERIFY_TOKEN and DASHBOARD_TOKEN set, so every forged request goes through the
  check a real one would (a signature computed and compared, a token verified).
- The stdio client is this process alone, one epoll loop with no threads and the garbage collector
  off while it paces (as Tests/bench/suite.py's `drive`): `health` at HEALTH_RATE/s and `communicate`
  (a critical email, answered once the SMTP peer took it) at COMMUNICATE_RATE/s, each written at its
  scheduled time whatever the answers do (open loop), its latency counted from that time. Every line
  on stdout is held to the contract (schemas/openrpc.json) afterwards, not while timing.
- The flood comes from PROCESSES worker processes (multiprocessing, spawned, so no GIL is shared with
  the stdio client), each driving CONNECTIONS sockets in one epoll loop, each socket sending its next
  request as soon as the last is answered: half keep-alive, half a new TCP connection per request
  (`Connection: close`). Each load generator runs in a session of its own at autogroup niceness 19,
  so that its own CPU use counts against the sidecar no more than if it ran on another machine (see
  `_worker`). Each connection cycles through every kind of forgery in FORGERIES: Twilio callbacks
  (an inbound STOP, a status callback) signed with the wrong auth token or not signed, WhatsApp posts
  signed with the wrong app secret or not signed, the subscription handshake with a wrong verify
  token, email open, click and one-click-unsubscribe tokens that name real communications with
  forged tags, forged attachment links, a wrong dashboard token, a path that does not exist, and
  bodies over WEBHOOK_MAX_BODY_BYTES (its default, 256 KiB) to both webhooks.
- The timed part alternates: baseline, flood, baseline, flood (PHASE seconds each), with a short
  settle gap after each flood whose answers count for nothing. Alternating spreads slow drifts of the
  machine (other jobs, the disk) over both sides.

The bound: flood p99 <= max(2 x baseline p99, baseline p99 + FLOOR_MS). The floor is there because on
a quiet machine `health`'s p99 is a few milliseconds (3 to 4 ms measured, debug and release builds
alike), where twice as much is a few milliseconds of scheduler jitter, not the sidecar. 5 ms is well
below anything a workflow would notice and above that jitter. Answers with an error (-32005 when
the sidecar stalls with MAX_IN_FLIGHT requests outstanding) count in the percentiles with their own
latency, and fail the test in any case. `communicate`'s p99 is printed beside it, not held to the
bound: 240 answers a side make it the third slowest, and it includes the SMTP peer's own time.

Only SQLite: this is a timing test, and the store is not what the flood touches (every forged request
is refused before it). Tests/bench/side_port_abuse.py runs the same for longer, against a release
build, and can flood with one kind at a time to say which costs the sidecar the most.
"""
import base64
import collections
import contextlib
import errno
import gc
import hashlib
import hmac
import json
import multiprocessing
import os
import pathlib
import random
import re
import selectors
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid

CONTRACT = pathlib.Path(__file__).resolve().parent
if str(CONTRACT) not in sys.path:
    sys.path.insert(0, str(CONTRACT))

import contract  # noqa: E402
import procfs  # noqa: E402
from percentiles import percentile  # noqa: E402
from pipe_lines import PipeLines  # noqa: E402

TWILIO_AUTH_TOKEN = "side-port-abuse-twilio-auth-token"
APP_SECRET = "side-port-abuse-meta-app-secret"
VERIFY_TOKEN = "side-port-abuse-verify-token"
DASHBOARD_TOKEN = "0123456789abcdef0123456789abcdef"
MAX_BODY_BYTES = 256 * 1024  # WEBHOOK_MAX_BODY_BYTES's default, which the sidecar keeps here
CLIENT_PHONE = "+14155550123"

# What a refusal may be: 429 too, should a rate limit answer before the check.
REFUSALS = {400, 401, 403, 404, 413, 429}

HEALTH_RATE = 200  # health requests a second, paced
COMMUNICATE_RATE = 20  # emails a second, paced
PROCESSES = 2
CONNECTIONS = 16  # per process
LOAD_NICE = 19  # the load generators' autogroup niceness (see _worker)
PHASE = 6.0  # seconds of each baseline and flood window
SETTLE = 0.5  # seconds after each flood that count for nothing
FLOOR_MS = 5.0
CLIENTS = 5


# ---------------------------------------------------------------------------------------------------
# The forgeries: every kind, each a few variants, as complete HTTP/1.1 requests


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_token(communication_id, rng):
    """A token in the side port's own shape (the communication id's 16 bytes and a 16-byte tag), naming
    a real communication, with a tag the forger made up."""
    return _b64url(uuid.UUID(communication_id).bytes + rng.randbytes(16))


def _twilio_signature(token, url, params):
    """What Twilio's RequestValidator computes: HMAC-SHA1 over the URL and the sorted parameters."""
    data = url + "".join(key + params[key] for key in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _request(method, path, host, headers=(), body=b""):
    """A request's head without its final blank line (the connection mode is added per send), and its body."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: side-port-abuse"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n").encode(), body


def forgeries(address, communication_ids, max_body_bytes, rng, variants=8):
    """kind -> [(head, body)]: every kind of forged request, `variants` of each (2 of the large ones)."""
    base = f"http://{address}"
    ids = communication_ids or [str(uuid.uuid4())]
    kinds = collections.defaultdict(list)
    form = ("Content-Type", "application/x-www-form-urlencoded")

    def twilio_params(i):
        sid = "SM" + rng.randbytes(16).hex()
        if i % 2:
            return {"AccountSid": "AC" + "0" * 32, "MessageSid": sid, "SmsSid": sid, "From": CLIENT_PHONE, "To": "+15005550006",
                    "Body": "STOP", "NumMedia": "0", "SmsStatus": "received"}
        return {"AccountSid": "AC" + "0" * 32, "MessageSid": sid, "MessageStatus": "delivered", "SmsStatus": "delivered",
                "From": "+15005550006", "To": CLIENT_PHONE}

    def meta_body(i):
        value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}}
        if i % 2:
            value["contacts"] = [{"profile": {"name": "Mallory"}, "wa_id": CLIENT_PHONE[1:]}]
            value["messages"] = [{"from": CLIENT_PHONE[1:], "id": "wamid." + rng.randbytes(12).hex(), "timestamp": str(int(time.time())),
                                  "type": "text", "text": {"body": "STOP"}}]
        else:
            value["statuses"] = [{"id": "wamid." + rng.randbytes(12).hex(), "status": "read", "timestamp": str(int(time.time())),
                                  "recipient_id": CLIENT_PHONE[1:]}]
        return json.dumps({"object": "whatsapp_business_account",
                           "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}).encode()

    for i in range(variants):
        params = twilio_params(i)
        body = urllib.parse.urlencode(params).encode()
        wrong = _twilio_signature("not-the-auth-token", base + "/webhooks/twilio", params)
        kinds["twilio_wrong_signature"].append(_request("POST", "/webhooks/twilio", address, [form, ("X-Twilio-Signature", wrong)], body))
        kinds["twilio_unsigned"].append(_request("POST", "/webhooks/twilio", address, [form], body))

        body = meta_body(i)
        wrong = "sha256=" + hmac.new(b"not-the-app-secret", body, hashlib.sha256).hexdigest()
        json_type = ("Content-Type", "application/json")
        kinds["whatsapp_wrong_signature"].append(
            _request("POST", "/webhooks/whatsapp", address, [json_type, ("X-Hub-Signature-256", wrong)], body))
        kinds["whatsapp_unsigned"].append(_request("POST", "/webhooks/whatsapp", address, [json_type], body))
        query = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": "wrong-" + rng.randbytes(6).hex(),
                                        "hub.challenge": str(rng.randrange(10**9))})
        kinds["whatsapp_verify_wrong_token"].append(_request("GET", "/webhooks/whatsapp?" + query, address))

        communication = ids[i % len(ids)]
        kinds["email_open_forged"].append(_request("GET", f"/email/open/{forged_token(communication, rng)}", address))
        target = urllib.parse.quote("https://attacker.example/phish?" + rng.randbytes(4).hex(), safe="")
        kinds["email_click_forged"].append(_request("GET", f"/email/click/{forged_token(communication, rng)}?u={target}", address))
        kinds["email_unsubscribe_forged"].append(_request(
            "POST", f"/email/unsubscribe/{forged_token(communication, rng)}", address, [form], b"List-Unsubscribe=One-Click"))
        expires = int(time.time()) + 86400
        kinds["attachment_forged"].append(
            _request("GET", f"/attachments/{forged_token(communication, rng)}/0/{expires}/attachment-1.pdf", address))
        kinds["dashboard_wrong_token"].append(_request("GET", f"/dashboard?token={rng.randbytes(16).hex()}", address))
        kinds["unknown_path"].append(_request("GET", f"/wp-login.php?{rng.randbytes(4).hex()}", address))

    # Over WEBHOOK_MAX_BODY_BYTES: read up to the limit, answered 413; the rest is drained on keep-alive.
    big = b"Body=" + b"A" * (max_body_bytes + 4096)
    filler = json.dumps({"object": "whatsapp_business_account", "entry": [], "pad": "B" * (max_body_bytes + 4096)}).encode()
    for i in range(2):
        kinds["oversized_twilio"].append(_request("POST", "/webhooks/twilio", address, [
            form, ("X-Twilio-Signature", base64.b64encode(rng.randbytes(20)).decode())], big))
        kinds["oversized_whatsapp"].append(_request("POST", "/webhooks/whatsapp", address, [
            ("Content-Type", "application/json"), ("X-Hub-Signature-256", "sha256=" + rng.randbytes(32).hex())], filler))
    return dict(kinds)


FORGERIES = sorted(forgeries("127.0.0.1:1", [], 1024, random.Random(0), variants=1))


def _wire(head, body, close):
    return head + (b"Connection: close\r\n" if close else b"") + b"\r\n" + body


# ---------------------------------------------------------------------------------------------------
# The load generator: one process, many sockets, one epoll loop, as fast as the side port answers


class _Connection:
    __slots__ = ("sock", "keep_alive", "turn", "kind", "data", "sent", "inbuf", "started", "answered", "events")

    def __init__(self, keep_alive, turn):
        self.sock = None
        self.keep_alive = keep_alive
        self.turn = turn
        self.kind = None
        self.data = memoryview(b"")
        self.sent = 0
        self.inbuf = bytearray()
        self.started = 0.0
        self.answered = None
        self.events = 0


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)")


def _parse(inbuf, eof=False):
    """(status, close) once `inbuf` holds a whole response, else None."""
    end = inbuf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(inbuf[:end]).lower()
    status = int(head[9:12])
    close = b"\r\nconnection: close" in head
    found = _CONTENT_LENGTH.search(head)
    if found:
        return (status, close) if len(inbuf) >= end + 4 + int(found.group(1)) else None
    if b"\r\ntransfer-encoding: chunked" in head:
        return (status, close) if inbuf.endswith(b"\r\n0\r\n\r\n") else None
    return (status, True) if eof or status in (204, 304) else None


def flood(address, requests, start, end, kinds, connections, rng, mode="mixed"):
    """Forged requests of `kinds` over `connections` sockets from `start` to `end` (time.monotonic()),
    each sent when the last one on its socket was answered: on keep-alive connections, on a new
    connection each (`Connection: close`), or half and half (`mode` "keep-alive", "new", "mixed"); or
    none at all, only a busy loop ("burn", a reference for what sharing the CPUs costs alone). What
    each got, and how long it took."""
    if mode == "burn":  # a reference: no requests, only this process's CPU busy
        while time.monotonic() < start:
            time.sleep(min(0.05, max(0.0, start - time.monotonic())))
        spins = 0
        while time.monotonic() < end:
            for _ in range(10000):
                spins += 1
        return {"tally": {}, "latency": {}, "started": 0, "in_flight_at_end": 0, "seconds": end - start}
    host, port = address.rsplit(":", 1)
    target = (host, int(port))
    tally = collections.Counter()  # (kind, status or "error:...") -> count
    latency = {}  # kind -> [count, seconds, max]
    selector = selectors.DefaultSelector()
    pool = [_Connection(keep_alive={"keep-alive": True, "new": False}.get(mode, i % 2 == 0), turn=i) for i in range(connections)]
    started = 0

    def open_(c):
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setblocking(False)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = c.sock.connect_ex(target)
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, os.strerror(code))
        c.events = 0

    def begin(c):
        nonlocal started
        c.kind = kinds[c.turn % len(kinds)]
        c.turn += 1
        head, body = rng.choice(requests[c.kind])
        c.data = memoryview(_wire(head, body, not c.keep_alive))
        c.sent = 0
        c.inbuf = bytearray()
        c.answered = None
        c.started = time.monotonic()
        started += 1
        want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def want(c, events):
        if c.events == events:
            return
        if c.events:
            selector.modify(c.sock, events, c)
        else:
            selector.register(c.sock, events, c)
        c.events = events

    def drop(c):
        if c.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(c.sock)
            c.sock.close()
            c.sock = None
            c.events = 0

    def fail(c, error):
        name = errno.errorcode.get(getattr(error, "errno", None) or 0, type(error).__name__)
        if c.answered is None:
            tally[(c.kind, "error:" + name)] += 1
        drop(c)
        fresh(c)

    def fresh(c):
        try:
            open_(c)
            begin(c)
        except OSError as error:  # connect refused outright: counted, tried again at once
            tally[(c.kind or kinds[0], "error:" + errno.errorcode.get(error.errno or 0, "connect"))] += 1
            drop(c)

    def answered(c, status, close):
        now = time.monotonic()
        c.answered = status
        tally[(c.kind, status)] += 1
        entry = latency.setdefault(c.kind, [0, 0.0, 0.0])
        seconds = now - c.started
        entry[0] += 1
        entry[1] += seconds
        entry[2] = max(entry[2], seconds)
        if c.sent < len(c.data) and c.keep_alive and not close:
            want(c, selectors.EVENT_WRITE)  # answered before the whole body went: send the rest, then the next
            return
        if c.keep_alive and not close:
            begin(c)
        else:
            drop(c)
            fresh(c)

    while time.monotonic() < start:
        time.sleep(min(0.05, max(0.0, start - time.monotonic())))
    for c in pool:
        c.kind = None
        fresh(c)
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for c in pool:  # sockets whose connect was refused outright
            if c.sock is None:
                fresh(c)
        for key, mask in selector.select(min(0.05, end - now)):
            c = key.data
            if c.sock is None:
                continue
            try:
                if mask & selectors.EVENT_WRITE and c.sent < len(c.data):
                    try:
                        c.sent += c.sock.send(c.data[c.sent:c.sent + 262144])
                    except BlockingIOError:
                        pass
                    if c.sent == len(c.data):
                        if c.answered is not None:  # the rest of a body answered early
                            begin(c)
                            continue
                        want(c, selectors.EVENT_READ)
                if mask & selectors.EVENT_READ and c.answered is None:
                    try:
                        chunk = c.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        result = _parse(c.inbuf, eof=True)
                        if result is None:
                            fail(c, ConnectionError(errno.ECONNABORTED, "closed before a whole answer"))
                        else:
                            answered(c, *result)
                        continue
                    c.inbuf += chunk
                    result = _parse(c.inbuf)
                    if result is not None:
                        answered(c, *result)
                elif mask & selectors.EVENT_READ and c.answered is not None:
                    # Answered while still sending a body: nothing more should come before it is all sent.
                    with contextlib.suppress(BlockingIOError):
                        if not c.sock.recv(65536):
                            drop(c)
                            fresh(c)
            except OSError as error:
                fail(c, error)
    in_flight = sum(1 for c in pool if c.sock is not None and c.answered is None)
    for c in pool:
        drop(c)
    selector.close()
    return {"tally": dict(tally), "latency": latency, "started": started, "in_flight_at_end": in_flight,
            "seconds": end - start}


def _worker(pipe):
    """A load generator process: takes its job, builds its requests, says it is ready, then floods each
    window it is given and sends back what each got."""
    job = pipe.recv()
    # The flood stands for requests from other machines: what it may cost is the sidecar's work on
    # them, not the load generator's own CPU. So each load generator runs in a session of its own (an
    # autogroup of its own, for Linux's scheduler) at autogroup niceness LOAD_NICE: it gets whatever
    # CPU the sidecar and the stdio client leave. Measured on a 2-CPU machine: two busy processes in
    # the test's own session delay a nice-0 sleeper's wake-ups by up to 100 ms whatever their own
    # nice value; in their own sessions at autogroup niceness 19, by no more than with nothing running.
    os.setsid()
    with contextlib.suppress(OSError):
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(job["nice"]))
    os.nice(job["nice"])  # for where autogroups do not apply (a cgroup of their own, or none configured)
    rng = random.Random(job["seed"])
    requests = forgeries(job["address"], job["communication_ids"], job["max_body_bytes"], rng)
    pipe.send("ready")
    windows = pipe.recv()
    started = time.process_time()
    results = [flood(job["address"], requests, start, end, kinds, job["connections"], rng, mode) for start, end, kinds, mode in windows]
    pipe.send({"windows": results, "cpu_seconds": time.process_time() - started})
    pipe.close()


class Flooders:
    """`processes` load generators, spawned (no state shared with this process) and ready to go."""

    def __init__(self, processes, address, communication_ids, connections=CONNECTIONS, nice=None, max_body_bytes=MAX_BODY_BYTES):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes = [], []
        for number in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(target=_worker, args=(theirs,), daemon=True, name=f"flood-{number}")
            process.start()
            theirs.close()
            mine.send({"address": address, "communication_ids": communication_ids, "max_body_bytes": max_body_bytes,
                       "connections": connections, "nice": LOAD_NICE if nice is None else nice, "seed": 1000 + number})
            self.pipes.append(mine)
            self.processes.append(process)
        for pipe in self.pipes:
            if not pipe.poll(60):
                raise TimeoutError("a load generator did not get ready within 60 s")
            assert pipe.recv() == "ready"

    def run(self, windows):
        """Each process floods each (start, end, kinds, mode) window; returns at once."""
        for pipe in self.pipes:
            pipe.send(windows)

    def results(self, timeout):
        """Per window, the tallies and latencies of all processes together; and their CPU seconds."""
        merged, cpu = None, 0.0
        for pipe, process in zip(self.pipes, self.processes):
            if not pipe.poll(timeout):
                raise TimeoutError("a load generator did not report")
            report = pipe.recv()
            cpu += report["cpu_seconds"]
            if merged is None:
                merged = [{"tally": collections.Counter(), "latency": {}, "started": 0, "in_flight_at_end": 0,
                           "seconds": window["seconds"]} for window in report["windows"]]
            for total, window in zip(merged, report["windows"]):
                total["tally"].update(window["tally"])
                total["started"] += window["started"]
                total["in_flight_at_end"] += window["in_flight_at_end"]
                for kind, (count, seconds, longest) in window["latency"].items():
                    entry = total["latency"].setdefault(kind, [0, 0.0, 0.0])
                    entry[0] += count
                    entry[1] += seconds
                    entry[2] = max(entry[2], longest)
            process.join(10)
        return merged, cpu

    def stop(self):
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join(5)


# ---------------------------------------------------------------------------------------------------
# The sidecar on pipes, and the stdio client: one loop, no threads


def proc_figures(pid):
    """RSS and its high-water mark (MB), threads, open file descriptors, CPU seconds of a process."""
    figures = procfs.status(pid)
    with contextlib.suppress(OSError):
        figures["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    figures["cpu_seconds"] = procfs.cpu_seconds(pid)
    return figures


class Sidecar:
    """crm-sidecar on pipes. Reads its stdout without blocking; keeps every line for the contract checks."""

    def __init__(self, binary, workdir, env):
        self.workdir = pathlib.Path(workdir)
        self.stderr_path = self.workdir / "sidecar.stderr.jsonl"
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen([str(pathlib.Path(binary).resolve())], cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._stderr, bufsize=0)
        self.out = self.process.stdout.fileno()
        self.input = self.process.stdin.fileno()
        os.set_blocking(self.input, False)
        self.pipe = PipeLines(self.out, self.closed)
        self.lines = []  # every line after sidecar.ready
        self.notifications = []
        self.responses = {}  # id -> response
        self.read_at = {}  # id -> when its response was read
        self.methods = {}  # id -> method
        self.pending = bytearray()
        self.ids = iter(range(1, 1 << 62))
        self.ready = None
        deadline = time.monotonic() + 60
        while self.ready is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no sidecar.ready within 60 s\n{self.stderr_tail()}")
            for line in self.pipe.read(deadline - time.monotonic()):
                self.ready = json.loads(line)
                assert self.ready.get("method") == "sidecar.ready", line
                contract.check_notification(self.ready)
                break

    @property
    def pid(self):
        return self.process.pid

    def stderr_tail(self, size=4000):
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-size:]

    def closed(self):
        """What to say once it closed its stdout: a sidecar that died mid-test should say why."""
        return f"the sidecar closed its stdout (exit {self.process.poll()})\n{self.stderr_tail()}"

    def _file(self, line, at):
        if self.ready is None:
            return line
        self.lines.append(line)
        message = json.loads(line)
        if "method" in message and "id" not in message:
            self.notifications.append(message)
        elif "id" in message:
            self.responses[message["id"]] = message
            self.read_at[message["id"]] = at
        return None

    def request_line(self, method, params=None, id=None):
        id = next(self.ids) if id is None else id
        request = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            request["params"] = params
        self.methods[id] = method
        return id, json.dumps(request, separators=(",", ":")).encode() + b"\n"

    def _flush(self):
        if self.pending:
            with contextlib.suppress(BlockingIOError):
                del self.pending[:os.write(self.input, self.pending)]

    def call(self, method, params=None, timeout=20):
        id, line = self.request_line(method, params)
        self.pending += line
        deadline = time.monotonic() + timeout
        while id not in self.responses:
            self._flush()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {method} within {timeout} s\n{self.stderr_tail()}")
            for raw in self.pipe.read(0.001 if self.pending else deadline - time.monotonic()):
                self._file(raw, time.monotonic())
        return self.responses[id]

    def result(self, method, params=None):
        response = self.call(method, params)
        assert "result" in response, response
        return response["result"]

    def pace(self, schedule, marks=(), timeout=30):
        """Writes each (send_at, id, line) of `schedule` (sorted) at its time, open loop, reading answers
        all along, until every one is answered. At each time in `marks`, calls it: (at, callback)."""
        selector = selectors.DefaultSelector()
        selector.register(self.out, selectors.EVENT_READ, "out")
        writing = False
        marks = sorted(marks, key=lambda mark: mark[0])
        waiting = {id for _, id, _ in schedule}
        index = 0
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            deadline = (schedule[-1][0] if schedule else time.monotonic()) + timeout
            while True:
                now = time.monotonic()
                while marks and marks[0][0] <= now:
                    marks.pop(0)[1]()
                while index < len(schedule) and schedule[index][0] <= now:
                    self.pending += schedule[index][2]
                    index += 1
                self._flush()
                waiting -= self.responses.keys() & waiting
                if index == len(schedule) and not waiting and not marks:
                    break
                if now > deadline:
                    raise TimeoutError(f"{len(waiting)} paced requests unanswered\n{self.stderr_tail()}")
                wait = deadline - now
                if index < len(schedule):
                    wait = min(wait, schedule[index][0] - now)
                if marks:
                    wait = min(wait, marks[0][0] - now)
                if bool(self.pending) != writing:
                    if self.pending:
                        selector.register(self.input, selectors.EVENT_WRITE, "in")
                    else:
                        selector.unregister(self.input)
                    writing = bool(self.pending)
                for key, _ in selector.select(max(0.0, wait)):
                    if key.data != "out":
                        continue
                    lines, at = self.pipe.take()
                    for line in lines:
                        self._file(line, at)
        finally:
            selector.close()
            if gc_was_enabled:
                gc.enable()

    def stop(self, timeout=30):
        """Closes stdin, reads stdout to its end, and returns the exit code."""
        self._flush()
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for raw in self.pipe.read(deadline - time.monotonic()):
                    self._file(raw, time.monotonic())
            except RuntimeError:
                break
        try:
            code = self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._stderr.close()
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._stderr.closed:
            self._stderr.close()


def side_port_get(address, path):
    """The status of one GET on a new connection (None if there was no answer)."""
    host, port = address.rsplit(":", 1)
    with contextlib.suppress(OSError, ValueError), socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return int(answer[9:12])
    return None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPSink:
    """aiosmtpd's Sink handler in a process of its own: plain SMTP on loopback, every message taken and dropped."""

    def __init__(self, workdir):
        self.port = free_port()
        self.log = open(pathlib.Path(workdir) / "smtp-sink.log", "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                                         "-l", f"127.0.0.1:{self.port}"], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                if probe.recv(100).startswith(b"220"):
                    break
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.05)

    def env(self):
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_USE_TLS": "false",
                "SMTP_FROM_EMAIL": "planner@planiva.example"}

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------------
# One measurement: warm-up, then the plan's phases, then the checks' raw material


def sidecar_env(workdir, smtp):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SMTP_", "TWILIO_", "WHATSAPP_", "DATABASE_", "DB_", "WEBHOOK_", "PUBLIC_BASE_URL", "DASHBOARD_"))}
    policy = pathlib.Path(workdir) / "policy.json"
    policy.write_text(json.dumps({"default_quiet_hours": {"start": "00:00", "end": "00:00"}}))
    env.update(smtp.env())
    env.update({"WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": "0", "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
                "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
                "DASHBOARD_TOKEN": DASHBOARD_TOKEN, "POLICY_FILE": str(policy), "LOG_LEVEL": "info"})
    return env


def communicate_params(index, plan_id, clients):
    client = clients[index % len(clients)]
    return {"plan_id": plan_id, "client_id": client, "message_type": "welcome", "urgency": "critical",
            "recipient": {"email": f"guest{index % len(clients)}@example.com"}, "context": {"client_name": "Priya Sharma"}}


def measure(binary, workdir, plan, processes=PROCESSES, connections=CONNECTIONS, nice=None, health_rate=HEALTH_RATE,
            communicate_rate=COMMUNICATE_RATE, log=print):
    """Runs one sidecar through `plan`, a list of (label, seconds, kinds[, mode]): kinds None for no
    flood (baseline, or a settle gap if the label is "settle"), else the forgeries to flood with, over
    connections of `mode` (see `flood`; "mixed" unless given). Returns everything measured, raw: see
    `summarize`."""
    workdir = pathlib.Path(workdir)
    smtp = SMTPSink(workdir)
    sidecar = flooders = None
    plan_id = str(uuid.uuid4())
    clients = [str(uuid.uuid4()) for _ in range(CLIENTS)]
    try:
        sidecar = Sidecar(binary, workdir, sidecar_env(workdir, smtp))
        webhooks = sidecar.ready["params"]["webhooks"]
        assert webhooks["status"] == "listening", webhooks
        address = webhooks["address"]

        # Warm-up: a few emails (whose ids the forged tokens name) and health round trips.
        warmup = []
        start = time.monotonic() + 0.05
        count = 0
        for i in range(int(health_rate * 1.5)):
            id, line = sidecar.request_line("health")
            warmup.append((start + i / health_rate, id, line))
        communications = []
        for i in range(int(communicate_rate * 1.5)):
            id, line = sidecar.request_line("communicate", communicate_params(count, plan_id, clients))
            communications.append(id)
            count += 1
            warmup.append((start + i / communicate_rate, id, line))
        warmup.sort(key=lambda item: item[0])
        sidecar.pace(warmup)
        communication_ids = [sidecar.responses[id]["result"]["communication_id"] for id in communications]

        flooders = Flooders(processes, address, communication_ids, connections=connections, nice=nice)
        before = proc_figures(sidecar.pid)

        # The timed part: every request's time, and the phase it belongs to.
        t0 = time.monotonic() + 0.3
        phases, windows, at = [], [], t0
        for label, seconds, kinds, *mode in plan:
            phases.append((label, at, at + seconds, kinds))
            if kinds:
                windows.append((at, at + seconds, list(kinds), mode[0] if mode else "mixed"))
            at += seconds
        end = at
        schedule, tags = [], {}

        def phase_of(t):
            for number, (_, begin, finish, _) in enumerate(phases):
                if begin <= t < finish:
                    return number
            return None

        for method, rate in (("health", health_rate), ("communicate", communicate_rate)):
            if not rate:
                continue
            for i in range(int((end - t0) * rate)):
                send_at = t0 + i / rate
                if method == "health":
                    id, line = sidecar.request_line("health")
                else:
                    id, line = sidecar.request_line("communicate", communicate_params(count, plan_id, clients))
                    count += 1
                schedule.append((send_at, id, line))
                tags[id] = (method, phase_of(send_at), send_at)
        schedule.sort(key=lambda item: item[0])
        cpu_marks = {}  # phase number -> (the sidecar's CPU seconds, the machine's busy and total CPU seconds) at its start

        rss = []  # the sidecar's RSS (MB) at the start of each phase and at the end

        def mark(number):
            cpu_marks[number] = (procfs.cpu_seconds(sidecar.pid), procfs.machine_cpu())
            rss.append(round(proc_figures(sidecar.pid).get("VmRSS", float("nan")), 1))

        marks = [(begin, (lambda n=n: mark(n))) for n, (_, begin, _, _) in enumerate(phases)] + [(end, lambda: mark(len(phases)))]
        flooders.run(windows)
        log(f"side-port-abuse: {len(schedule)} paced stdio requests over {end - t0:.1f} s, "
            f"{len(windows)} flood windows from {processes} processes x {connections} connections")
        sidecar.pace(schedule, marks=marks, timeout=60)
        flood_windows, flooder_cpu = flooders.results(timeout=60)
        after_flood = proc_figures(sidecar.pid)

        # Afterwards: does it still answer, and did anything forged get through?
        health_after = sidecar.call("health")
        events, after = [], 0
        while True:
            page = sidecar.result("events.list", {"after": after, "limit": 1000})
            events += page["events"]
            if page["next_after"] == after:
                break
            after = page["next_after"]
        preferences = [sidecar.result("preferences.get", {"client_id": client}) for client in clients]
        side_port_health = side_port_get(address, "/health")
        time.sleep(1.0)  # anything a forged request might still have set off
        sidecar.call("health")
        exit_code = sidecar.stop()
        ours = {r["result"]["communication_id"] for r in sidecar.responses.values()
                if sidecar.methods.get(r["id"]) == "communicate" and "result" in r}
        return {"phases": phases, "tags": tags, "sidecar": sidecar, "flood_windows": flood_windows, "flooder_cpu": flooder_cpu,
                "cpu_marks": cpu_marks, "rss": rss, "before": before, "after_flood": after_flood, "health_after": health_after,
                "events": events, "preferences": preferences, "side_port_health": side_port_health, "exit_code": exit_code,
                "communication_ids": ours, "processes": processes, "connections": connections,
                "nice": LOAD_NICE if nice is None else nice}
    finally:
        if flooders:
            flooders.stop()
        if sidecar:
            sidecar.kill()
        smtp.stop()


def summarize(raw):
    """Figures by phase label: stdio latencies (ms) of health and communicate, forged requests and their
    statuses, the sidecar's CPU; and the sidecar's RSS, threads and fds before and after."""
    sidecar, tags, phases = raw["sidecar"], raw["tags"], raw["phases"]
    by_label = collections.OrderedDict()
    windows = iter(raw["flood_windows"])
    for number, (label, begin, finish, kinds) in enumerate(phases):
        entry = by_label.setdefault(label, {"seconds": 0.0, "health": [], "communicate": [], "errors": collections.Counter(),
                                            "tally": collections.Counter(), "latency": {}, "forged": 0, "cpu": 0.0,
                                            "machine_busy": 0.0, "machine_total": 0.0})
        entry["seconds"] += finish - begin
        nan = (float("nan"), (float("nan"), float("nan")))
        (cpu0, (busy0, total0)), (cpu1, (busy1, total1)) = raw["cpu_marks"].get(number, nan), raw["cpu_marks"].get(number + 1, nan)
        entry["cpu"] += cpu1 - cpu0
        entry["machine_busy"] += busy1 - busy0
        entry["machine_total"] += total1 - total0
        if kinds:
            window = next(windows)
            entry["tally"].update(window["tally"])
            entry["forged"] += sum(window["tally"].values())
            for kind, (count, seconds, longest) in window["latency"].items():
                found = entry["latency"].setdefault(kind, [0, 0.0, 0.0])
                found[0] += count
                found[1] += seconds
                found[2] = max(found[2], longest)
    for id, (method, number, send_at) in tags.items():
        if number is None:
            continue
        entry = by_label[phases[number][0]]
        response = sidecar.responses.get(id)
        if response is None:
            continue
        if "error" in response:
            entry["errors"][response["error"]["code"]] += 1  # and timed: leaving quick -32005s out would hide a stall
        entry[method].append((sidecar.read_at[id] - send_at) * 1000)
    figures = {}
    for label, entry in by_label.items():
        figure = {"seconds": entry["seconds"], "cpu_seconds": entry["cpu"], "stdio_errors": dict(entry["errors"]),
                  "machine_busy": entry["machine_busy"] / entry["machine_total"] if entry["machine_total"] else float("nan"),
                  "cpus": os.cpu_count()}
        for method in ("health", "communicate"):
            values = entry[method]
            figure[method] = {"count": len(values), "p50_ms": percentile(values, 0.5), "p99_ms": percentile(values, 0.99),
                              "max_ms": max(values, default=float("nan"))}
        if entry["forged"]:
            statuses = collections.Counter()
            for (kind, status), n in entry["tally"].items():
                statuses[status] += n
            figure["forged"] = entry["forged"]
            figure["forged_per_second"] = entry["forged"] / entry["seconds"]
            figure["statuses"] = dict(statuses)
            figure["by_kind"] = {kind: {"statuses": {s: n for (k, s), n in entry["tally"].items() if k == kind},
                                        "mean_ms": seconds / count * 1000 if count else float("nan"), "max_ms": longest * 1000}
                                 for kind, (count, seconds, longest) in sorted(entry["latency"].items())}
            for (kind, status), n in entry["tally"].items():  # kinds that never got an answer
                figure["by_kind"].setdefault(kind, {"statuses": {}, "mean_ms": float("nan"), "max_ms": float("nan")})
                figure["by_kind"][kind]["statuses"].setdefault(status, n)
            figure["sidecar_cpu_us_per_forged"] = entry["cpu"] / entry["forged"] * 1e6
        figures[label] = figure
    figures["_process"] = {"before": raw["before"], "after_flood": raw["after_flood"], "flooder_cpu_seconds": raw["flooder_cpu"],
                           "rss_by_phase": raw["rss"]}
    return figures


def bound_ms(baseline_p99):
    return max(2 * baseline_p99, baseline_p99 + FLOOR_MS)


def report(figures, log=print):
    for label, figure in figures.items():
        if label.startswith("_") or label == "settle":
            continue
        h, c = figure["health"], figure["communicate"]
        line = (f"{label:>28}: health p50/p99/max {h['p50_ms']:.2f}/{h['p99_ms']:.2f}/{h['max_ms']:.1f} ms (n={h['count']}); "
                f"communicate p50/p99/max {c['p50_ms']:.1f}/{c['p99_ms']:.1f}/{c['max_ms']:.1f} ms (n={c['count']}); "
                f"sidecar CPU {figure['cpu_seconds'] / figure['seconds']:.0%}, machine {figure['machine_busy']:.0%} busy "
                f"of {figure['cpus']} CPUs")
        if figure["stdio_errors"]:
            line += f"; stdio errors {figure['stdio_errors']}"
        log(line)
        if "forged" in figure:
            log(f"{'':>28}  forged {figure['forged']:,} = {figure['forged_per_second']:,.0f}/s, statuses "
                f"{dict(sorted(figure['statuses'].items(), key=str))}, sidecar CPU {figure['sidecar_cpu_us_per_forged']:.0f} us per forged request")
            for kind, found in figure["by_kind"].items():
                log(f"{'':>32}{kind:<28} mean {found['mean_ms']:7.2f} ms, max {found['max_ms']:7.1f} ms  "
                    f"{dict(sorted(found['statuses'].items(), key=str))}")
    process = figures["_process"]
    before, after = process["before"], process["after_flood"]
    log(f"sidecar RSS {before.get('VmRSS', 0):.1f} MB before the flood, {after.get('VmRSS', 0):.1f} MB after "
        f"(high-water {after.get('VmHWM', 0):.1f} MB); threads {before.get('threads')} -> {after.get('threads')}; "
        f"fds {before.get('fds')} -> {after.get('fds')}; load generators' CPU {process['flooder_cpu_seconds']:.1f} s")
    log(f"sidecar RSS (MB) at each phase's start: {process['rss_by_phase']}")


def check(raw, figures):
    """Every forged request refused and none let through, the sidecar still answering, the contract
    held, and every paced stdio request answered with a result (the latency bound is the caller's)."""
    sidecar = raw["sidecar"]
    # Every forged request refused: a refusal status, never anything else (no 2xx, no 5xx, no reset).
    for label, figure in figures.items():
        if "statuses" in figure:
            assert figure["forged"] > 0
            wrong = {status: n for status, n in figure["statuses"].items() if status not in REFUSALS}
            assert not wrong, f"{label}: forged requests not refused: {wrong} ({figure['by_kind']})"
    # Nothing forged reached the workflow: the only notifications are about our own emails, and the
    # event log holds nothing else; no client opted out.
    ours = raw["communication_ids"]
    strays = [n for n in sidecar.notifications
              if n["method"] != "communication.status" or n["params"]["communication_id"] not in ours]
    assert not strays, strays[:5]
    strays = [e for e in raw["events"] if e["method"] != "communication.status" or e["params"]["communication_id"] not in ours]
    assert not strays, strays[:5]
    for preferences in raw["preferences"]:
        assert not (preferences["opt_out_email"] or preferences["opt_out_sms"] or preferences["opt_out_whatsapp"]), preferences
    # Still answering, and stopped cleanly.
    assert raw["health_after"].get("result", {}).get("status") == "ok", raw["health_after"]
    assert raw["side_port_health"] == 200, raw["side_port_health"]
    assert raw["exit_code"] == 0, sidecar.stderr_tail()
    # The contract, line by line, now that timing is over.
    for raw_line in sidecar.lines:
        message = json.loads(raw_line)
        if "method" in message and "id" not in message:
            contract.check_notification(message)
        else:
            contract.check_response(message, sidecar.methods.get(message.get("id")))
    for record in (json.loads(line) for line in sidecar.stderr_path.read_text().splitlines() if line.strip()):
        assert {"ts", "level", "msg"} <= set(record), record
    # Every paced stdio request answered with a result: none refused -32005 because the sidecar stalled.
    for label, figure in figures.items():
        if not label.startswith("_"):
            assert not figure["stdio_errors"], f"{label}: paced stdio requests answered with errors {figure['stdio_errors']}"


def standard_plan(phase=PHASE, rounds=2, settle=SETTLE):
    plan = []
    for _ in range(rounds):
        plan += [("baseline", phase, None), ("flood", phase, FORGERIES), ("settle", settle, None)]
    return plan


def test_forged_requests_at_full_speed_are_refused_and_leave_stdio_fast(tmp_path):
    from sidecar import BINARY

    started = time.monotonic()
    raw = measure(BINARY, tmp_path, standard_plan())
    figures = summarize(raw)
    flood = figures["flood"]
    print(f"\nside-port-abuse: binary {BINARY}; {raw['processes']} load generator processes x {raw['connections']} connections")
    report(figures)
    baseline, flooded = figures["baseline"]["health"]["p99_ms"], flood["health"]["p99_ms"]
    bound = bound_ms(baseline)
    base_c, flood_c = figures["baseline"]["communicate"]["p99_ms"], flood["communicate"]["p99_ms"]
    print(f"side-port-abuse: forged {flood['forged_per_second']:,.0f}/s; health p99 baseline {baseline:.2f} ms, "
          f"flood {flooded:.2f} ms, ratio {flooded / baseline:.2f} (bound {bound:.2f} ms); communicate p99 baseline "
          f"{base_c:.1f} ms, flood {flood_c:.1f} ms, ratio {flood_c / base_c:.2f}; {time.monotonic() - started:.1f} s in all")
    check(raw, figures)
    assert flood["forged_per_second"] > 100, "the flood never got going"
    # The side port's handlers run on its own thread (SidePortExecutor), not on the pool stdio's
    # requests are answered on: measured 1.3x in a debug build, where it was 3x before.
    assert flooded <= bound, f"health p99 under the flood {flooded:.2f} ms > max(2 x {baseline:.2f}, {baseline:.2f} + {FLOOR_MS}) ms"
