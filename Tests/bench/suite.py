"""Every benchmark of crm-sidecar in one run, each figure beside a reference measured in the same run on
the same machine, printed as one table and written as JSON. `script/bench` runs it against a release
build; see Tests/bench/README-section.md for what each figure means.

    .venv/bin/python Tests/bench/suite.py --binary PATH [--quick | --full] [--postgres URL]
                                          [--json PATH] [--only email,latency,...]

Benchmarks (names for --only), most important first:

  email      emails/s end to end (stdio -> durable store -> SMTP without TLS) into Postfix's smtp-sink on
             loopback, a client keeping 48 `communicate` requests (`wait: false`) outstanding; against
             `smtp-source -s 20 -d` into the same sink. Also on PostgreSQL with --postgres.
  email_tls  the same over STARTTLS: the sidecar (SMTP_USE_TLS=true, trusting a self-signed certificate
             through SMTP_CA_FILE) into a server-side stunnel (`protocol = smtp`: it offers STARTTLS and
             forwards the decrypted session) before the same smtp-sink; against `smtp-source -s 20 -d`
             into a client-side stunnel that does STARTTLS with that same front. Skipped without stunnel.
  latency    open-loop answer latency of `communicate` at 500, 1,000 and 2,000 requests/s offered, paced
             by sleeping until each send time; against `health` at the same rates.
  spawn      spawn to the first `health` answer (median); against `cat` echoing the same line.
  stdio      `health` round trips/s, 32 outstanding; against `cat`.
  scheduled  RSS with 100,000 communications scheduled ahead, and the scheduling rate; against the idle
             sidecar's RSS and SQLite's own rate of durable commits on the same disk.
  stored     the email benchmark with 100,000 sent communications already in the store (1,000,000 with
             --full); against the same with none stored.
  webhook    signed Twilio status callbacks/s; against `GET /health` on the same listener.
  burst      a client piping 10,000 requests at once: how many are answered and how many refused -32005,
             with WHEN_MAX_IN_FLIGHT=refuse (the default) and =wait.

The client is this process, single-threaded: one epoll loop writes requests (non-blocking) and reads
answers as they come, so the sidecar's stdout is drained continuously and nothing spins; pacing sleeps
in epoll until the next send time. The sidecar's logs go to a file.
"""
import argparse
import contextlib
import datetime
import gc
import json
import math
import os
import pathlib
import platform
import re
import select
import selectors
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.append(str(ROOT / "Tests" / "contract"))  # after this folder: its names come first

import procfs  # noqa: E402
from percentiles import percentile  # noqa: E402
from pipe_lines import PipeLines  # noqa: E402

KEY = "q7m3Xk0dV9b2Lr8pT1yW4zC6nF5hJ0sA2eG9uK3iR8o="
NOTIFICATION = b'{"jsonrpc":"2.0","method"'
SENT = b'"status":"sent"'
WINDOW = 48  # requests a well-behaved client keeps outstanding, below MAX_IN_FLIGHT (64)
CHILDREN = []  # every process this suite started, killed by its pid if still running at the end


def say(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def postfix_tool(name):
    for candidate in (shutil.which(name), f"/usr/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(f"bench: {name} not found; run script/bootstrap --bench (Debian's postfix package)")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(command, **options):
    process = subprocess.Popen(command, **options)
    CHILDREN.append(process)
    return process


def terminate(process, patience=5):
    """Asks `process` to end, and kills it if it has not within `patience` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=patience)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_children():
    for process in CHILDREN:
        if process.poll() is None:
            process.kill()
            with contextlib.suppress(Exception):
                process.wait(timeout=10)


def io_counters(pid):
    """Bytes the process caused to be written to storage, and its write system calls, so far."""
    values = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/io") as io:
        for line in io:
            key, _, rest = line.partition(":")
            values[key] = int(rest)
    return values.get("write_bytes", 0), values.get("syscw", 0)


# ---------------------------------------------------------------------------------------------------
# A sidecar (or `cat`) on pipes, and the one client loop every stdio benchmark uses.

class Child:
    """A process on pipes whose stdout is read without blocking. With `ready`, waits for the sidecar's
    first line (`sidecar.ready`)."""

    def __init__(self, command, env, folder, label, ready=True):
        self.folder = pathlib.Path(folder)
        self.log_path = self.folder / f"{label}.stderr.jsonl"
        self.log = open(self.log_path, "ab")
        self.spawned = time.perf_counter()
        self.process = spawn(command, cwd=folder, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=self.log, bufsize=0)
        self.out = self.process.stdout.fileno()
        self.input = self.process.stdin.fileno()
        os.set_blocking(self.input, False)
        self.pipe = PipeLines(self.out, self.closed, clock=time.perf_counter)
        self.ready = None
        if ready:
            lines = []
            deadline = time.perf_counter() + 120
            while not lines:
                lines = self.pipe.read(deadline - time.perf_counter())
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{label}: no sidecar.ready within 120 s\n{self.log_tail()}")
            self.ready = json.loads(lines[0])
            assert self.ready.get("method") == "sidecar.ready", self.ready
            self.ready_after = time.perf_counter() - self.spawned

    @property
    def pid(self):
        return self.process.pid

    def closed(self):
        """What to say once it closed its stdout: a child that died mid-run should say why."""
        return f"the process closed its stdout (exit {self.process.poll()})\n{self.log_tail()}"

    def log_tail(self, size=3000):
        self.log.flush()
        text = self.log_path.read_text(errors="replace")
        return "".join(line + "\n" for line in text.splitlines() if '"level":"info"' not in line)[-size:]

    def close(self, timeout=30):
        """Closes stdin, reads stdout to its end (so the process never blocks writing), waits for exit."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self.process.stdin.close()
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            readable, _, _ = select.select([self.out], [], [], max(0.0, deadline - time.perf_counter()))
            if not readable:
                continue
            try:
                if not os.read(self.out, 1 << 20):
                    break
            except BlockingIOError:
                continue
        try:
            self.process.wait(timeout=max(0.1, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Run:
    """What one drive saw: for request i (its JSON-RPC id), when it was (meant to be) sent and when its
    answer was read, and the error code of each error answer."""

    def __init__(self, count):
        self.sent = [0.0] * count
        self.answered = [None] * count
        self.errors = {}
        self.sent_notifications = 0
        self.start = self.end = self.last_answer = 0.0

    def latencies(self, accepted=True):
        return [self.answered[i] - self.sent[i] for i in range(len(self.sent))
                if self.answered[i] is not None and (not accepted or i not in self.errors)]

    def refused(self):
        return sum(1 for code in self.errors.values() if code == -32005)

    def other_errors(self):
        return {i: code for i, code in self.errors.items() if code != -32005}


def drive(child, lines, *, window=None, rate=None, until=None, poll=0.005, timeout=900):
    """Writes `lines` (request i has id i) to `child` and reads every answer.

    window: at most that many requests outstanding (a closed loop); rate: request i is written at
    start + i / rate whatever the answers do (open loop; its latency counts from that time, so a stall
    is not hidden by a slower client); neither: everything at once, as a pipe would. Between events the
    loop sleeps in epoll until the next answer, the next send time, or (once every answer is in and
    `until` is given) `poll` seconds, to check `until()` again."""
    count = len(lines)
    run = Run(count)
    selector = selectors.DefaultSelector()
    selector.register(child.out, selectors.EVENT_READ, "out")
    writing = False
    pending = bytearray()
    next_index = outstanding = answers = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = run.start = time.perf_counter()
        deadline = start + timeout
        while True:
            now = time.perf_counter()
            if rate:
                while next_index < count and start + next_index / rate <= now:
                    pending += lines[next_index]
                    run.sent[next_index] = start + next_index / rate
                    next_index += 1
            elif window:
                while next_index < count and outstanding < window:
                    pending += lines[next_index]
                    run.sent[next_index] = now
                    next_index += 1
                    outstanding += 1
            elif next_index < count:
                pending += b"".join(lines)
                run.sent = [now] * count
                next_index = count
            if pending:
                try:
                    del pending[:os.write(child.input, pending)]
                except BlockingIOError:
                    pass
            if answers == count and (until is None or until()):
                break
            if now > deadline:
                raise TimeoutError(f"{answers} of {count} answers after {timeout} s\n{child.log_tail()}")
            wait = deadline - now
            if rate and next_index < count:
                wait = min(wait, start + next_index / rate - now)
            if answers == count:
                wait = min(wait, poll)
            if bool(pending) != writing:
                if pending:
                    selector.register(child.input, selectors.EVENT_WRITE, "in")
                else:
                    selector.unregister(child.input)
                writing = bool(pending)
            for key, _ in selector.select(max(0.0, wait)):
                if key.data != "out":
                    continue
                try:
                    lines_read, read_at = child.pipe.take()
                except RuntimeError as error:
                    raise RuntimeError(f"after {answers} answers, {error}") from None
                for line in lines_read:
                    if line.startswith(NOTIFICATION):
                        if SENT in line:
                            run.sent_notifications += 1
                        continue
                    message = json.loads(line)
                    number = message.get("id")
                    if isinstance(number, int) and 0 <= number < count and run.answered[number] is None:
                        run.answered[number] = read_at
                        run.last_answer = read_at
                        answers += 1
                        outstanding -= 1
                        if "error" in message:
                            run.errors[number] = message["error"]["code"]
        run.end = time.perf_counter()
    finally:
        selector.close()
        if gc_was_enabled:
            gc.enable()
    return run


# ---------------------------------------------------------------------------------------------------
# Requests

CLIENTS = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(1000)]  # (plan_id, client_id)


def reminder_params(index, **extra):
    """A critical reminder by email, to the clients of CLIENTS in turn: most requests are for a client
    the store already knows, as in a CRM that keeps writing to the same clients."""
    plan, client = CLIENTS[index % len(CLIENTS)]
    return {"plan_id": plan, "client_id": client, "message_type": "reminder", "urgency": "critical",
            "recipient": {"email": f"client{index % len(CLIENTS)}@example.com"}, "wait": False,
            "context": {"client_name": "Priya Sharma", "event_type": "wedding", "deadline": "Friday",
                        "pending_items": ["the guest list", "the menu choice"]}, **extra}


def communicate_lines(count, **extra):
    return [json.dumps({"jsonrpc": "2.0", "id": i, "method": "communicate", "params": reminder_params(i, **extra)},
                       separators=(",", ":")).encode() + b"\n" for i in range(count)]


def health_lines(count):
    return [b'{"jsonrpc":"2.0","id":%d,"method":"health"}\n' % i for i in range(count)]


# ---------------------------------------------------------------------------------------------------
# Environment: what each sidecar gets, and Postfix's smtp-sink

class Bench:
    def __init__(self, options):
        self.options = options
        self.binary = str(pathlib.Path(options.binary).resolve())
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="crm-bench.", dir=options.work))
        self.sink = None
        self.message_size = None
        self.rows = []
        self.folders = 0
        self.email_sqlite = None  # the email benchmark's SQLite run, the store benchmark's reference
        self.skipped = {}  # benchmarks that could not run here, and why

    def folder(self, name):
        self.folders += 1
        path = self.work / f"{self.folders:02d}-{name}"
        path.mkdir()
        return path

    def env(self, folder, database=None, smtp=True, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder), "LANG": "C.UTF-8",
               "DATABASE_URL": database or f"sqlite:{folder}/crm.sqlite", "DB_ENCRYPTION_KEY": KEY,
               "OUTBOX_DIR": f"{folder}/outbox", "WEBHOOK_PORT": "0", "SHUTDOWN_GRACE_SECONDS": "2",
               "SMTP_FROM_EMAIL": "planner@planiva.example"}
        if smtp:
            env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(self.sink.port), SMTP_USE_TLS="false")
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def sidecar(self, folder, label, **env):
        return Child([self.binary], self.env(folder, **env), folder, label)

    def skip(self, name, reason):
        say(f"{name} skipped: {reason}")
        self.skipped[name] = reason

    def add(self, group, figure, value, unit, display=None, reference=None, reference_value=None,
            reference_display=None, ratio=None, goal=None, note="", **details):
        self.rows.append({"group": group, "figure": figure, "value": value, "unit": unit, "display": display,
                          "reference": reference, "reference_value": reference_value,
                          "reference_display": reference_display, "ratio": ratio, "goal": goal, "note": note,
                          "details": details})


class Sink:
    """Postfix's smtp-sink on loopback: accepts every message and drops it, counting them (-c) into a
    file that `count()` reads the end of."""

    def __init__(self, folder):
        self.port = free_port()
        self.counters = pathlib.Path(folder) / "smtp-sink.counters"
        command = [postfix_tool("smtp-sink"), "-c"]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # it refuses to run as root
        command += [f"127.0.0.1:{self.port}", "1024"]
        self.output = open(self.counters, "wb")
        self.process = spawn(command, stdout=self.output, stderr=open(pathlib.Path(folder) / "smtp-sink.stderr", "wb"))
        deadline = time.perf_counter() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.perf_counter() > deadline or self.process.poll() is not None:
                raise RuntimeError("smtp-sink did not start")
            time.sleep(0.02)

    def count(self):
        """Messages received so far (each counted once its final '.' is read)."""
        with open(self.counters, "rb") as counters:
            counters.seek(0, os.SEEK_END)
            counters.seek(max(0, counters.tell() - 200))
            found = re.findall(rb"mesg=(\d+)", counters.read())
        return int(found[-1]) if found else 0

    def wait_for(self, total, timeout=60):
        deadline = time.perf_counter() + timeout
        while self.count() < total:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"smtp-sink has {self.count()} of {total} messages")
            time.sleep(0.005)

    def stop(self):
        terminate(self.process)
        self.output.close()


def rate_text(value):
    return f"{value:,.0f}/s"


# ---------------------------------------------------------------------------------------------------
# 1. Email throughput end to end, against smtp-source

def message_size(bench):
    """Bytes of the sidecar's email for the benchmark's reminder, taken from the outbox provider."""
    folder = bench.folder("message-size")
    child = bench.sidecar(folder, "sidecar", smtp=False)
    run = drive(child, communicate_lines(1))
    assert not run.errors, run.errors
    deadline = time.perf_counter() + 30
    files = []
    while not files and time.perf_counter() < deadline:
        child.pipe.read(0.02)
        files = list((folder / "outbox" / "email").glob("*.eml"))
    child.close()
    assert files, "the outbox provider wrote no email"
    return files[0].stat().st_size


def smtp_source(bench, count, port=None):
    """Seconds for `smtp-source -s 20 -d` to deliver `count` messages of the sidecar's size into the sink
    (20 sessions at once, each reused for message after message as the sidecar reuses its own), directly
    or through whatever listens on `port` (a TLS tunnel to the sink)."""
    before = bench.sink.count()
    command = [postfix_tool("smtp-source"), "-s", "20", "-d", "-m", str(count), "-l", str(bench.message_size),
               "-f", "planner@planiva.example", "-t", "client@example.com", f"127.0.0.1:{port or bench.sink.port}"]
    started = time.perf_counter()
    process = spawn(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, errors = process.communicate(timeout=600)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"smtp-source failed: {errors.decode(errors='replace')[-2000:]}")
    bench.sink.wait_for(before + count, timeout=10)
    return elapsed


def email_run(bench, label, count, database=None, folder=None, **env):
    """emails/s from the first request written until smtp-sink has all `count`, and what else it saw.
    `env` is more of the sidecar's environment (the SMTP settings of a TLS run)."""
    folder = folder or bench.folder(f"email-{label}")
    child = bench.sidecar(folder, "sidecar", database=database, **env)
    lines = communicate_lines(count)
    before = bench.sink.count()
    cpu_before, io_before = procfs.cpu_seconds(child.pid), io_counters(child.pid)
    run = drive(child, lines, window=WINDOW, until=lambda: bench.sink.count() >= before + count)
    cpu, io_after = procfs.cpu_seconds(child.pid) - cpu_before, io_counters(child.pid)
    status = procfs.status(child.pid)
    child.close()
    if run.errors:
        raise RuntimeError(f"{len(run.errors)} error answers, e.g. {list(run.errors.items())[:5]}")
    seconds = run.end - run.start
    return {"count": count, "seconds": seconds, "per_second": count / seconds,
            "accepted_per_second": count / (run.last_answer - run.start),
            "answer_p50_ms": percentile(run.latencies(), 0.5) * 1000,
            "answer_p99_ms": percentile(run.latencies(), 0.99) * 1000,
            "sidecar_cpu_seconds": cpu, "sidecar_cpu_us_per_email": cpu / count * 1e6,
            "disk_kb_written_per_email": (io_after[0] - io_before[0]) / count / 1024,
            "write_calls_per_email": (io_after[1] - io_before[1]) / count,
            "sidecar_rss_mb": status.get("VmRSS"), "sidecar_peak_rss_mb": status.get("VmHWM")}


def postgres_database(url):
    """A new database on the server at `url`: (its URL, a function that drops it)."""
    name = "crm_bench_" + uuid.uuid4().hex[:12]
    psql(url, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(url)
    database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    return database_url, lambda: psql(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def psql(url, sql):
    return subprocess.run(["psql", url, "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True,
                          check=True).stdout.strip()


def bench_email(bench):
    count = 2_000 if bench.options.quick else 20_000
    say(f"email: reference, smtp-source -s 20 -d -m {count} -l {bench.message_size} (median of 3)")
    reference = statistics.median(smtp_source(bench, count) for _ in range(3))
    reference_rate = count / reference
    stores = [("SQLite", None)]
    if bench.options.postgres:
        stores.append(("PostgreSQL", bench.options.postgres))
    for store, server in stores:
        say(f"email: crm-sidecar on {store}, {count} critical reminders, {WINDOW} outstanding")
        note = ""
        drop = None
        try:
            if server:
                database, drop = postgres_database(server)
                settings = f"fsync={psql(server, 'SHOW fsync')}, synchronous_commit={psql(server, 'SHOW synchronous_commit')}"
                note = f"server {settings}; "
            else:
                database = None
            result = email_run(bench, store.lower(), count, database)
        finally:
            if drop:
                drop()
        if store == "SQLite":
            bench.email_sqlite = result
        goal = ">= 0.30" if store == "SQLite" else ">= 0.15"
        bench.add("email", f"emails/s into smtp-sink, {store}", result["per_second"], "emails/s",
                  display=rate_text(result["per_second"]), reference="smtp-source -s 20 -d, same sink",
                  reference_value=reference_rate, reference_display=rate_text(reference_rate),
                  ratio=result["per_second"] / reference_rate, goal=goal,
                  note=note + f"{result['sidecar_cpu_us_per_email']:.0f} us CPU"
                              + ("" if server else f" and {result['disk_kb_written_per_email']:.0f} KB written to disk")
                              + " per email",
                  reference_seconds=reference, message_bytes=bench.message_size, window=WINDOW, **result)


# ---------------------------------------------------------------------------------------------------
# 1b. Email throughput over STARTTLS, through stunnel, against smtp-source through stunnel

def stunnel_tool():
    for name in ("stunnel4", "stunnel"):
        found = shutil.which(name)
        if found:
            return found
    return None


def self_signed(folder):
    """A self-signed certificate for localhost and 127.0.0.1, and its key, made in `folder`."""
    certificate, key = folder / "tls-cert.pem", folder / "tls-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    return certificate, key


class Tunnel:
    """stunnel in the foreground with a configuration of its own in `folder`, `protocol = smtp` on both
    sides. As a server it accepts plain SMTP on a free port, offers STARTTLS (the greeting and EHLO are
    answered by stunnel, the session after STARTTLS goes to `connect`) and forwards the decrypted session;
    as a client it accepts plain SMTP on a free port, does STARTTLS with `connect` and checks its
    certificate (chain and IP address)."""

    def __init__(self, tool, folder, label, connect, certificate, key=None, client=False):
        self.port = free_port()
        folder = pathlib.Path(folder)
        config = folder / f"{label}.conf"
        lines = ["foreground = yes", "pid =", "syslog = no", "debug = warning",  # its log: stderr, into a file
                 f"[{label}]", f"accept = 127.0.0.1:{self.port}", f"connect = 127.0.0.1:{connect}",
                 "protocol = smtp", "socket = l:TCP_NODELAY=1", "socket = r:TCP_NODELAY=1"]
        if client:
            lines += ["client = yes", f"CAfile = {certificate}", "verifyChain = yes", "checkIP = 127.0.0.1"]
        else:
            lines += [f"cert = {certificate}", f"key = {key}"]
        config.write_text("\n".join(lines) + "\n")
        self.process = spawn([tool, str(config)], stdout=subprocess.DEVNULL,
                             stderr=open(folder / f"{label}.stderr", "wb"))
        deadline = time.perf_counter() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.perf_counter() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"stunnel ({label}) did not start: {(folder / f'{label}.stderr').read_text()[-1000:]}")
            time.sleep(0.02)

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        terminate(self.process)


def bench_email_tls(bench):
    tool = stunnel_tool()
    if tool is None or shutil.which("openssl") is None:
        missing = "stunnel" if tool is None else "openssl"
        bench.skip("email_tls", f"{missing} not found; run script/bootstrap --bench (Debian's stunnel4 package)")
        return
    count = 2_000 if bench.options.quick else 20_000
    folder = bench.folder("email-tls")
    certificate, key = self_signed(folder)
    front = Tunnel(tool, folder, "stunnel-front", bench.sink.port, certificate, key)
    client = Tunnel(tool, folder, "stunnel-client", front.port, certificate, client=True)
    try:
        say(f"email_tls: reference, smtp-source -s 20 -d -m {count} -l {bench.message_size} through stunnel "
            "(client, STARTTLS) to stunnel (server) before smtp-sink (median of 3)")
        reference = statistics.median(smtp_source(bench, count, port=client.port) for _ in range(3))
        reference_rate = count / reference
        client.stop()
        say(f"email_tls: crm-sidecar on SQLite with STARTTLS to stunnel before smtp-sink, {count} critical reminders, "
            f"{WINDOW} outstanding")
        front_cpu = procfs.cpu_seconds(front.pid)
        result = email_run(bench, "tls", count, folder=folder, SMTP_PORT=front.port, SMTP_USE_TLS="true",
                           SMTP_CA_FILE=certificate)
        front_us = (procfs.cpu_seconds(front.pid) - front_cpu) / count * 1e6
    finally:
        client.stop()
        front.stop()
    plain = bench.email_sqlite
    compared = (f" (without TLS {plain['sidecar_cpu_us_per_email']:.0f} us)"
                if plain and plain["count"] == count else "")
    bench.add("email_tls", "emails/s into smtp-sink over STARTTLS, SQLite", result["per_second"], "emails/s",
              display=rate_text(result["per_second"]), reference="smtp-source -s 20 -d, same STARTTLS front",
              reference_value=reference_rate, reference_display=rate_text(reference_rate),
              ratio=result["per_second"] / reference_rate,
              note=f"STARTTLS via stunnel; {result['sidecar_cpu_us_per_email']:.0f} us CPU{compared}"
                   f" and {result['disk_kb_written_per_email']:.0f} KB written to disk per email",
              reference_seconds=reference, message_bytes=bench.message_size, window=WINDOW, tls="starttls",
              front_stunnel_cpu_us_per_email=front_us, **result)


# ---------------------------------------------------------------------------------------------------
# 2. Open-loop latency

def open_loop(bench, label, lines, rate, warmup_lines, database=None):
    """One fresh sidecar: a short warm-up, then `lines` written at `rate` per second."""
    folder = bench.folder(label)
    child = bench.sidecar(folder, "sidecar", database=database)
    drive(child, warmup_lines, rate=min(200, rate))  # never faster than the run itself
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:  # the warm-up's emails go out; keep reading meanwhile
        child.pipe.read(end - time.perf_counter())
    run = drive(child, lines, rate=rate, timeout=120 + len(lines) / rate * 4)
    child.close()
    return run


def latency_figures(run):
    accepted = run.latencies()
    return {"offered": len(run.sent), "answered": len(run.sent) - len(run.errors), "refused": run.refused(),
            "other_errors": len(run.other_errors()),
            "p50_ms": percentile(accepted, 0.5) * 1000, "p99_ms": percentile(accepted, 0.99) * 1000,
            "p999_ms": percentile(accepted, 0.999) * 1000, "max_ms": max(accepted, default=float("nan")) * 1000,
            "all_answers_p99_ms": percentile(run.latencies(accepted=False), 0.99) * 1000,
            "answers_per_second": len(run.sent) / (run.last_answer - run.start),
            "accepted_per_second": len(accepted) / (run.last_answer - run.start)}


def bench_latency(bench):
    seconds = 2 if bench.options.quick else 10
    for rate in (500, 1000, 2000):
        count = int(rate * seconds)
        say(f"latency: {rate}/s offered for {seconds} s, health then communicate")
        health = latency_figures(open_loop(bench, f"latency-health-{rate}", health_lines(count), rate, health_lines(100)))
        communicate = latency_figures(open_loop(bench, f"latency-communicate-{rate}", communicate_lines(count), rate,
                                                communicate_lines(100)))
        goal = {1000: "p99 <= 20 ms", 2000: "p99 <= 50 ms, none refused"}.get(rate)
        triple = "{p50_ms:.1f} / {p99_ms:.1f} / {p999_ms:.1f} ms"
        refused = communicate["refused"]
        note = f"refused {refused:,} of {count:,} ({refused / count:.0%}); accepted {rate_text(communicate['accepted_per_second'])}"
        if communicate["other_errors"]:
            note += f", {communicate['other_errors']} other errors"
        bench.add("latency", f"communicate at {rate:,}/s offered, p50/p99/p99.9", communicate["p99_ms"], "ms (p99)",
                  display=triple.format(**communicate), reference="health at the same rate",
                  reference_value=health["p99_ms"], reference_display=triple.format(**health),
                  ratio=None, goal=goal, note=note, rate=rate, seconds=seconds, communicate=communicate, health=health)
    if bench.options.postgres:
        # A rate PostgreSQL on the same two cores keeps up with (at 200/s it does not); `health` at the
        # same rate is the reference, as above.
        rate, count = 100, 100 * seconds
        say(f"latency: {rate}/s offered for {seconds} s on PostgreSQL, communicate then health")
        database, drop = postgres_database(bench.options.postgres)
        try:
            communicate = latency_figures(open_loop(bench, f"latency-postgres-{rate}", communicate_lines(count), rate,
                                                    communicate_lines(100), database=database))
        finally:
            drop()
        health = latency_figures(open_loop(bench, f"latency-health-{rate}", health_lines(count), rate, health_lines(100)))
        triple = "{p50_ms:.1f} / {p99_ms:.1f} / {p999_ms:.1f} ms"
        bench.add("latency", f"communicate at {rate}/s offered on PostgreSQL, p50/p99/p99.9", communicate["p99_ms"], "ms (p99)",
                  display=triple.format(**communicate), reference="health at the same rate",
                  reference_value=health["p99_ms"], reference_display=triple.format(**health), ratio=None,
                  note=f"refused {communicate['refused']:,} of {count:,}"
                       + (f", {communicate['other_errors']} other errors" if communicate["other_errors"] else ""),
                  rate=rate, seconds=seconds,
                  communicate=communicate, health=health)


# ---------------------------------------------------------------------------------------------------
# 3. Spawn to the first answer, and stdio round trips

def first_answer(command, env, folder, label):
    """Seconds from spawning `command` to reading the answer to a `health` written at once."""
    started = time.perf_counter()
    child = Child(command, env, folder, label, ready=False)
    os.write(child.input, b'{"jsonrpc":"2.0","id":1,"method":"health"}\n')
    deadline = started + 60
    while True:
        lines = child.pipe.read(deadline - time.perf_counter())
        if any(not line.startswith(NOTIFICATION) and b'"id":1' in line for line in lines):
            elapsed = time.perf_counter() - started
            break
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{label}: no health answer within 60 s\n{child.log_tail()}")
    child.close()
    return elapsed


def bench_spawn(bench):
    spawns = 5 if bench.options.quick else 20
    folder = bench.folder("spawn")
    env = bench.env(folder, smtp=False)
    say(f"spawn: {spawns} spawns of crm-sidecar and of cat")
    fresh = first_answer([bench.binary], env, folder, "sidecar")  # creates and migrates the database
    sidecar = [first_answer([bench.binary], env, folder, "sidecar") for _ in range(spawns)]
    cat = [first_answer(["cat"], env, folder, "cat") for _ in range(spawns)]
    value, reference = statistics.median(sidecar), statistics.median(cat)
    bench.add("spawn", "spawn to first health answer (median)", value * 1000, "ms", display=f"{value * 1000:.1f} ms",
              reference="cat echoing the request", reference_value=reference * 1000,
              reference_display=f"{reference * 1000:.1f} ms", ratio=reference / value, goal="<= 50 ms",
              note=f"existing database; a new one: {fresh * 1000:.0f} ms",
              spawns=spawns, all_ms=[s * 1000 for s in sidecar], cat_ms=[c * 1000 for c in cat], new_database_ms=fresh * 1000)


def bench_stdio(bench):
    count = 5_000 if bench.options.quick else 20_000
    window = 32
    folder = bench.folder("stdio")
    say(f"stdio: {count} health round trips, {window} outstanding, crm-sidecar and cat")
    results = {}
    for label, command, ready in (("cat", ["cat"], False), ("sidecar", [bench.binary], True)):
        child = Child(command, bench.env(folder, smtp=False), folder, label, ready=ready)
        run = drive(child, health_lines(count), window=window)
        child.close()
        assert not run.errors, run.errors
        results[label] = {"per_second": count / (run.end - run.start),
                          "p99_ms": percentile(run.latencies(), 0.99) * 1000}
    value, reference = results["sidecar"]["per_second"], results["cat"]["per_second"]
    bench.add("stdio", "health round trips/s, 32 outstanding", value, "req/s", display=rate_text(value),
              reference="cat, same client", reference_value=reference, reference_display=rate_text(reference),
              ratio=value / reference, note=f"health p99 {results['sidecar']['p99_ms']:.2f} ms",
              count=count, window=window, **{f"{k}_{m}": v for k, r in results.items() for m, v in r.items()})


# ---------------------------------------------------------------------------------------------------
# The cost of a growing store

UUID_SQL = ("lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || "
            "substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))")


def fill_stored(database, rows):
    """`rows` sent communications spread over the last 30 days, each with its attempt, timeline, events,
    audit entry and client (key and contact), copied straight through SQL from the one real
    communication in the database (the sidecar would need as many sends to make them)."""
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("BEGIN")
        template, client = db.execute("SELECT id, client_id FROM communications").fetchone()
        db.execute(f"""CREATE TEMP TABLE n AS
                       WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i + 1 < {rows})
                       SELECT i, {UUID_SQL} AS id, {UUID_SQL} AS client, {UUID_SQL} AS plan,
                              1 + i * {30 * 86_400_000} / {rows} AS back FROM g""")

        def copy(table, key, value, replace):
            columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})") if c[1] != "seq"]
            select = ", ".join(replace.get(c, f"t.{c}") for c in columns)
            db.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM n, {table} t WHERE t.{key} = ?",
                       (value,))

        copy("communications", "id", template, {
            "id": "n.id", "client_id": "n.client", "plan_id": "n.plan", "created_at": "t.created_at - n.back",
            "updated_at": "t.updated_at - n.back", "queued_at": "t.queued_at - n.back", "sent_at": "t.sent_at - n.back"})
        copy("attempts", "communication_id", template, {"communication_id": "n.id", "started_at": "t.started_at - n.back",
                                                         "provider_message_id": "'outbox:email/' || n.id || '-1.eml'"})
        copy("status_events", "communication_id", template, {"communication_id": "n.id", "at": "t.at - n.back"})
        copy("events", "communication_id", template, {"communication_id": "n.id", "client_id": "n.client", "at": "t.at - n.back"})
        copy("audit_log", "communication_id", template, {"communication_id": "n.id", "client_id": "n.client", "at": "t.at - n.back"})
        copy("client_keys", "client_id", client, {"client_id": "n.client", "created_at": "t.created_at - n.back"})
        copy("client_contacts", "client_id", client, {"client_id": "n.client", "updated_at": "t.updated_at - n.back"})
        # As if already folded into the analytics tallies, which a running sidecar does on its own.
        db.execute("DELETE FROM analytics_deltas")
        db.execute("COMMIT")


def bench_stored(bench):
    count = 2_000 if bench.options.quick else 20_000
    sizes = [20_000 if bench.options.quick else 100_000]
    if bench.options.full:
        sizes.append(1_000_000)
    empty = bench.email_sqlite
    if empty is None or empty["count"] != count:
        say(f"stored: {count} emails on an empty store")
        empty = email_run(bench, "stored-0", count)
    for size in sizes:
        folder = bench.folder(f"stored-{size}")
        say(f"stored: filling a store with {size:,} sent communications")
        seed = bench.sidecar(folder, "seed", smtp=False)
        drive(seed, communicate_lines(1, wait=True))
        seed.close()
        started = time.perf_counter()
        fill_stored(folder / "crm.sqlite", size)
        filled = time.perf_counter() - started
        say(f"stored: {count} emails with {size:,} stored (filled in {filled:.0f} s)")
        result = email_run(bench, f"stored-{size}", count, folder=folder)
        bench.add("stored", f"emails/s with {size:,} stored", result["per_second"], "emails/s",
                  display=rate_text(result["per_second"]), reference="the same with none stored",
                  reference_value=empty["per_second"], reference_display=rate_text(empty["per_second"]),
                  ratio=result["per_second"] / empty["per_second"], goal=">= 0.8 (1M)",
                  note=f"answer p99 {result['answer_p99_ms']:.1f} ms, none stored {empty['answer_p99_ms']:.1f} ms",
                  stored=size, fill_seconds=filled, empty=empty, **result)


# ---------------------------------------------------------------------------------------------------
# 4. Memory with many scheduled, and the scheduling rate

def durable_commits_per_second(folder, seconds):
    """SQLite's own rate of durable commits on this disk, over `seconds`: one small row per transaction,
    WAL, synchronous=FULL, as the sidecar's store is configured (what one fsync per request allows)."""
    path = folder / "reference.sqlite"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB)")
        body = os.urandom(1000)
        commits = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t VALUES (?, ?)", (str(uuid.uuid4()), body))
            db.execute("COMMIT")
            commits += 1
        elapsed = time.perf_counter() - started
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    return commits / elapsed


def scheduled_run(bench, count):
    folder = bench.folder(f"scheduled-{count}")
    child = bench.sidecar(folder, "sidecar", smtp=False)
    idle = procfs.status(child.pid)
    tomorrow = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=2)
    send_at = f"{tomorrow.isoformat()}T12:00:00Z"
    say(f"scheduled: {count:,} communications with send_at {send_at}, {WINDOW} outstanding")
    run = drive(child, communicate_lines(count, send_at=send_at), window=WINDOW, timeout=3600)
    status = procfs.status(child.pid)
    child.close()
    if run.errors:
        raise RuntimeError(f"{len(run.errors)} error answers, e.g. {list(run.errors.items())[:5]}")
    database = sum(path.stat().st_size for path in folder.glob("crm.sqlite*"))
    return {"count": count, "seconds": run.end - run.start, "per_second": count / (run.end - run.start),
            "rss_mb": status.get("VmRSS"), "peak_rss_mb": status.get("VmHWM"), "idle_rss_mb": idle.get("VmRSS"),
            "database_mb": database / 2**20, "answer_p99_ms": percentile(run.latencies(), 0.99) * 1000}


def bench_scheduled(bench):
    counts = [10_000 if bench.options.quick else 100_000]
    if bench.options.full:
        counts.append(1_000_000)
    folder = bench.folder("durable-commits")
    say("scheduled: reference, SQLite durable commits on the same disk")
    commits = durable_commits_per_second(folder, 1 if bench.options.quick else 3)
    for count in counts:
        result = scheduled_run(bench, count)
        bench.add("scheduled", f"RSS with {count:,} scheduled", result["rss_mb"], "MB",
                  display=f"{result['rss_mb']:.0f} MB", reference="idle sidecar after start",
                  reference_value=result["idle_rss_mb"], reference_display=f"{result['idle_rss_mb']:.0f} MB",
                  goal="<= 100 MB (1M)", note=f"peak {result['peak_rss_mb']:.0f} MB, database {result['database_mb']:.0f} MB",
                  **result)
        bench.add("scheduled", f"scheduling rate ({count:,})", result["per_second"], "req/s",
                  display=rate_text(result["per_second"]), reference="SQLite durable commits/s, same disk",
                  reference_value=commits, reference_display=rate_text(commits), ratio=result["per_second"] / commits,
                  goal=">= 8,000/s", note=f"answer p99 {result['answer_p99_ms']:.1f} ms", count=count)


# ---------------------------------------------------------------------------------------------------
# 5. Webhook callbacks

def bench_webhook(bench):
    import webhook_throughput  # needs the twilio package of the tests' virtual environment
    messages = 300 if bench.options.quick else 2000
    say(f"webhook: {2 * messages} signed Twilio callbacks and as many GET /health, 4 connections")
    result = webhook_throughput.measure(bench.binary, messages, connections=4)
    value, reference = result["callbacks_per_second"], result["health_per_second"]
    bench.add("webhook", "signed Twilio callbacks/s, 4 connections", value, "req/s", display=rate_text(value),
              reference="GET /health, same listener", reference_value=reference, reference_display=rate_text(reference),
              ratio=value / reference, **result)


# ---------------------------------------------------------------------------------------------------
# 6. A piped burst

def bench_burst(bench):
    """The same burst with each answer to overload: -32005 (the default) and WHEN_MAX_IN_FLIGHT=wait,
    where the sidecar stops reading stdin at the limit and the client's writes wait instead."""
    count = 10_000
    for mode in ("refuse", "wait"):
        folder = bench.folder(f"burst-{mode}")
        child = bench.sidecar(folder, "sidecar", WHEN_MAX_IN_FLIGHT=mode)
        say(f"burst: {count:,} communicate requests written at once, WHEN_MAX_IN_FLIGHT={mode}")
        run = drive(child, communicate_lines(count))
        child.close()
        answered = count - len(run.errors)
        refused = run.refused()
        bench.add("burst", f"answered of {count:,} piped at once, {mode}", answered, "answers", display=f"{answered:,}",
                  reference="requests written", reference_value=count, reference_display=f"{count:,}",
                  ratio=answered / count, goal="all answered",
                  note=f"refused -32005: {refused:,}; other errors: {len(run.other_errors())}; "
                       f"last answer after {run.last_answer - run.start:.1f} s",
                  refused=refused, other_errors=len(run.other_errors()), seconds=run.last_answer - run.start, mode=mode)


BENCHMARKS = {"email": bench_email, "email_tls": bench_email_tls, "latency": bench_latency, "spawn": bench_spawn, "stdio": bench_stdio,
              "scheduled": bench_scheduled, "stored": bench_stored, "webhook": bench_webhook, "burst": bench_burst}
NEEDS_SINK = {"email", "email_tls", "latency", "stored", "burst"}


# ---------------------------------------------------------------------------------------------------
# Output

def busy_fraction(seconds=1.0):
    """How busy the machine's CPUs were over `seconds` (0 to 1), from /proc/stat: anything else running
    while the benchmarks measure shows up in their figures."""
    busy, total = procfs.machine_cpu()
    time.sleep(seconds)
    busy2, total2 = procfs.machine_cpu()
    # At most 1: the ticks, turned into seconds, may round a whole busy second a hair over.
    return min(1.0, (busy2 - busy) / (total2 - total)) if total2 > total else 0.0


def machine():
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    def output(command):
        with contextlib.suppress(Exception):
            return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=10).stdout.strip()
        return None
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
            "postfix": output(["dpkg-query", "-W", "-f=${Version}", "postfix"]),
            "stunnel": output(["dpkg-query", "-W", "-f=${Version}", "stunnel4"]),
            "commit": output(["git", "rev-parse", "--short", "HEAD"]),
            "dirty": bool(output(["git", "status", "--porcelain", "--untracked-files=no"]))}


def finite(value):
    """The document with NaN and infinities as null, so that it is standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


def table(rows):
    headers = ["figure", "value", "reference", "ref. value", "ratio", "goal", "note"]
    cells = [[row["figure"], row["display"] or f"{row['value']:.4g}", row["reference"] or "",
              row["reference_display"] or ("" if row["reference_value"] is None else f"{row['reference_value']:.4g}"),
              "" if row["ratio"] is None else f"{row['ratio']:.2f}", row["goal"] or "", row["note"] or ""]
             for row in rows]
    widths = [max(len(str(line[k])) for line in [headers] + cells) for k in range(len(headers))]
    right = {1, 3, 4}
    lines = []
    for index, line in enumerate([headers] + cells):
        lines.append("  ".join(str(cell).rjust(widths[k]) if k in right else str(cell).ljust(widths[k])
                               for k, cell in enumerate(line)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the crm-sidecar to measure (a release build)")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run of about a minute")
    parser.add_argument("--full", action="store_true", help="also 1,000,000 scheduled and 1,000,000 stored (half an hour more)")
    parser.add_argument("--postgres", default=os.environ.get("CRM_TEST_POSTGRES_URL") or None,
                        help="a PostgreSQL server URL (default: CRM_TEST_POSTGRES_URL); each run gets a new database on it")
    parser.add_argument("--json", default=str(ROOT / ".bench" / "results.json"), help="where to write the results")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument("--work", default=None, help="folder for the runs' databases and logs (default: TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders (databases, logs)")
    options = parser.parse_args()
    chosen = [name.strip() for name in options.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    if not os.access(options.binary, os.X_OK):
        parser.error(f"{options.binary} is not an executable")

    # A SIGTERM (or SIGHUP) ends the run as Ctrl-C does: through the clean-up below, so that no
    # sidecar or smtp-sink is left behind.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda received, frame: sys.exit(128 + received))
    bench = Bench(options)
    busy_before = busy_fraction()
    if busy_before > 0.1:
        say(f"the machine is {busy_before:.0%} busy before the run: the figures will show it")
    started = datetime.datetime.now(datetime.timezone.utc)
    failures = {}
    try:
        if NEEDS_SINK & set(chosen):
            bench.sink = Sink(bench.work)
            bench.message_size = message_size(bench)
        for name in chosen:
            try:
                BENCHMARKS[name](bench)
            except Exception as error:  # one benchmark failing still reports the others
                say(f"{name} failed: {error}")
                failures[name] = str(error)
    finally:
        if bench.sink:
            bench.sink.stop()
        stop_children()
        if options.keep:
            say(f"kept the runs' folders in {bench.work}")
        else:
            shutil.rmtree(bench.work, ignore_errors=True)

    facts = machine()
    facts["busy_before"] = busy_before
    facts["load_average_after"] = os.getloadavg()
    title = (f"crm-sidecar benchmarks, {'quick' if options.quick else 'full' if options.full else 'standard'} run, "
             f"{started:%Y-%m-%d %H:%M} UTC, commit {facts['commit']}{' (modified)' if facts['dirty'] else ''}, "
             f"{facts['cores']} cores {facts['cpu']}")
    print(title)
    print(f"binary {options.binary}; the CPUs were {busy_before:.0%} busy before the run")
    print(table(bench.rows))
    print("ratio: the sidecar's figure over its reference's (1.00 = as fast as the reference)")
    for name, reason in bench.skipped.items():
        print(f"SKIPPED {name}: {reason}")
    for name, error in failures.items():
        print(f"FAILED {name}: {error.splitlines()[0] if error else ''}")
    document = {"started": started.isoformat(timespec="seconds"), "binary": options.binary,
                "mode": "quick" if options.quick else "full" if options.full else "standard",
                "postgres": bool(options.postgres), "machine": facts, "rows": bench.rows, "failures": failures,
                "skipped": bench.skipped}
    path = pathlib.Path(options.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(finite(document), indent=2) + "\n")
    print(f"results: {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
