"""Crash soak (issue 17, item 4), by hand: two sidecars on one PostgreSQL database send emails into a
counting SMTP server while one of them is killed with SIGKILL at seeded random moments and started
again. Nothing acknowledged may be lost, and nothing may reach the server twice except what the killed
sidecar held at the moment it died. Meanwhile the resident memory (VmRSS, /proc/PID/status) and the
open file descriptors (/proc/PID/fd) of each sidecar are sampled, printed as a table, and checked to
stay flat.

    .venv/bin/python Tests/soak/crash_soak.py [--binary PATH] [--postgres URL|start] [--minutes 30]
                                              [--emails N] [--kills 10] [--seed S]

Tests/contract/test_crash_soak.py runs the same engine (`run_soak`), unpaced and bounded, in CI.

How it runs
  * A fresh database on the server: --postgres URL (a server URL; the run makes a database of its own
    there), or `start` (the default): a throwaway server through script/postgres, stopped afterwards.
  * The SMTP server is aiosmtpd on loopback without TLS or AUTH (the channel tests cover those); it
    keeps no messages, only how many copies of each communication it took, by X-CRM-Communication-ID.
  * Sidecars a and b share the database (DB_ENCRYPTION_KEY, WORK_LEASE_SECONDS, SEND_CONCURRENCY,
    SEND_POLL_MS as below). WORK_LEASE_SECONDS is 10 by default: short, so that a dead sidecar's work
    is taken over soon, but above the 5 s the store gives each database operation. A send retries the
    write of its outcome only while its lease lasts, so with a lease under 5 s a single slow write
    under load (no crash at all) ends the delivery and the message is sent again: a duplicate no kill
    explains.
  * The client alternates `communicate` between the two, alternately with `wait: true` and
    `wait: false`, all critical welcome emails to a pool of clients, and keeps at most --window of its
    work outstanding per sidecar: requests not yet answered, and `wait: false` sends whose end
    (`communication.status` sent, failed or cancelled) the sidecar has not announced yet. The emails
    are paced over --minutes in one-second steps, each second's share written at its start, so the
    sidecars have work in hand at times as with real traffic (--minutes 0: as fast as the window
    allows).
  * Sidecar a is killed --kills times, at seeded random points between 3 % and 90 % of the run: once a
    point has passed, as soon as a has work in hand, plus a random 0 to 0.3 s (a sidecar that stays
    idle for 2 s is killed idle). Right after each kill the run reads from the database which
    communications the dead process held under its lease (`lease_owner` is host:pid:random): what it
    had in flight, and the most it can have sent without recording it. A new a is started at once; the
    dead one's leases run out after WORK_LEASE_SECONDS and a or b takes the work over.
  * Then every communication in the database must end `sent` and every acknowledged one must have
    reached the SMTP server; the sidecars are stopped (end of stdin, exit 0).

What is checked (each failure is a problem; exit status 1 if there is any)
  * lost: acknowledged (answered with a result) but never received; and stored but never received.
  * duplicates: extra copies received (copies - 1, summed). Each copy beyond the first must be of a
    communication some killed sidecar held at its death, at most one extra copy per such kill; so
    duplicates <= bound = the sum over kills of the leases held. The leases a sidecar holds are also
    bounded by construction: --window (inline and handed-over sends of requests) + SEND_CONCURRENCY
    (claimed due work), which each kill is checked against.
  * every stored communication ends `sent`; no error answers; exit 0 and only JSON-RPC on stdout.
  * flat: for each sidecar process that lived at least --flat-min-seconds, the median RSS of the last
    quarter of its life is at most (1 + --rss-tolerance) x that of its second quarter + --rss-slack-mb,
    and its largest fd count in the last quarter at most the second quarter's + --fd-slack. (The first
    quarter is warm-up. Sidecar b lives the whole run; each a lives from one kill to the next.)

Exit status: 0 when everything held, 1 when a problem was found (printed), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import pathlib
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable, Iterable, Optional

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "contract"))

import postgres  # noqa: E402
import sidecar as harness  # noqa: E402
from conftest import ENCRYPTION_KEY, communicate_params  # noqa: E402
from peers.smtp import free_port  # noqa: E402

# Statuses of a communication still waiting to be sent; any other ends its send for the client's window.
QUEUED = {"pending", "queued", "scheduled"}
HEADER = re.compile(rb"^X-CRM-Communication-ID:[ \t]*([0-9a-f-]{36})[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)


# The SMTP server


class CountingSMTP:
    """aiosmtpd on loopback, plain SMTP: counts the copies of each communication it takes (by its
    X-CRM-Communication-ID header) and keeps nothing else, so it can take hundreds of thousands."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.copies: collections.Counter[str] = collections.Counter()
        self.unlabelled = 0
        self.lock = threading.Lock()
        self.port: int = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content or b""
        head = content.split(b"\r\n\r\n", 1)[0]
        match = HEADER.search(head)
        with self.lock:
            if match:
                self.copies[match.group(1).decode().lower()] += 1
            else:
                self.unlabelled += 1
        return "250 2.0.0 queued"

    def snapshot(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(self.copies)

    def received(self) -> int:
        with self.lock:
            return len(self.copies)

    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_USE_TLS": "false",
            "SMTP_FROM_EMAIL": "planner@planiva.example", "SMTP_FROM_NAME": "Planiva",
        }

    def stop(self) -> None:
        self.controller.stop()


# PostgreSQL


def fresh_database(server_url: str) -> str:
    """The URL of a new, empty database on the server at `server_url`."""
    name = "crm_soak_" + uuid.uuid4().hex
    postgres.psql(server_url, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def held_by(database_url: str, pid: int) -> set[str]:
    """Ids of the communications under the lease of process `pid` (lease_owner is host:pid:random)."""
    return set(postgres.psql(database_url, f"SELECT id FROM communications WHERE lease_owner LIKE '%:{pid}:%'").split())


def stored(database_url: str) -> dict[str, str]:
    """Every communication's id and status."""
    rows = postgres.psql(database_url, "SELECT id || ' ' || status FROM communications").split("\n")
    return dict(row.split(" ", 1) for row in rows if row.strip())


def not_sent(database_url: str) -> int:
    return int(postgres.psql(database_url, "SELECT count(*) FROM communications WHERE status <> 'sent'"))


# /proc


def rss_kb(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid: int) -> Optional[int]:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


# The sidecars


class SoakSidecar(harness.Sidecar):
    """The contract harness's sidecar (its environment, its sidecar.ready check, its kill and stop),
    read lightly: each line goes to `handle` instead of being kept and schema-checked, since a soak
    writes hundreds of thousands of them. Only the last lines are kept, for a report."""

    def __init__(self, workdir: pathlib.Path, env: dict[str, str], handle: Callable[[dict[str, Any]], None]) -> None:
        self._handle = handle
        self._recent: collections.deque[bytes] = collections.deque(maxlen=20)
        super().__init__(workdir, env=env)

    @property  # type: ignore[override]
    def lines(self) -> collections.deque[bytes]:
        return self._recent

    @lines.setter
    def lines(self, value: Any) -> None:
        pass  # the harness starts with a list; only the recent lines are kept here

    def _accept(self, raw: bytes) -> None:
        assert raw.endswith(b"\n"), "a line must end with a newline"
        message = json.loads(raw)
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", "not a JSON-RPC 2.0 message"
        self._handle(message)

    def write(self, request: dict[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(request).encode() + b"\n")
        stdin.flush()


@dataclasses.dataclass
class Incarnation:
    """One process of a sidecar slot, and the client's view of what it has outstanding there."""

    slot: str
    number: int
    process: SoakSidecar
    started: float
    pending: dict[int, bool] = dataclasses.field(default_factory=dict)  # request id -> wait
    awaiting: set[str] = dataclasses.field(default_factory=set)  # acknowledged wait:false, end not announced
    ended: set[str] = dataclasses.field(default_factory=set)  # ends announced before their answer
    dead: bool = False

    @property
    def pid(self) -> int:
        return int(self.process.process.pid)

    @property
    def outstanding(self) -> int:
        return len(self.pending) + len(self.awaiting)


@dataclasses.dataclass
class Kill:
    number: int
    at: float  # seconds from the start
    progress: float
    pid: int
    unanswered: int  # requests written to it that got no answer
    awaiting: int  # acknowledged wait:false sends whose end it had not announced
    held: set[str]  # communications under its lease when it died: its in-flight bound
    duplicates: int = 0  # extra copies received of what it held

    def line(self, counted: bool = True) -> str:
        """`counted`: once the copies at the SMTP server have been counted."""
        return (f"kill {self.number:>2} at {self.at:7.1f} s ({self.progress:4.0%}): pid {self.pid}, "
                f"{self.unanswered} requests unanswered, {self.awaiting} wait:false sends unfinished, "
                f"{len(self.held)} leases held (bound)" + (f", {self.duplicates} of them received twice" if counted else ""))


@dataclasses.dataclass
class Sample:
    at: float
    slot: str
    incarnation: int
    pid: int
    rss_kb: int
    fds: int


@dataclasses.dataclass
class SoakConfig:
    binary: str
    database_url: str  # a fresh database
    emails: int
    kills: int
    seed: int
    workdir: pathlib.Path
    seconds: float = 0  # pace the emails evenly over this long; 0: as fast as the window allows
    window: int = 24  # per sidecar: requests unanswered + wait:false sends not yet ended
    lease_seconds: int = 10  # above the store's own 5 s deadline: see the module's docstring
    send_concurrency: int = 8
    poll_ms: int = 100
    clients: int = 200
    kill_span: tuple[float, float] = (0.03, 0.9)  # kills fall at random fractions of the run in here
    min_life: float = 1.0  # seconds a started sidecar runs at least before it is killed
    kill_delay: float = 0.3  # a due kill waits for work in hand on a, then a random 0 to this many seconds
    pace_step: float = 1.0  # paced: each step's share of the emails is written at its start
    sample_every: float = 0  # seconds between RSS and fd samples; 0: none
    settle_seconds: float = 60  # after the last request, for every communication to end `sent`
    deadline_seconds: float = 600  # the whole feeding, before it is a hang
    log_level: str = "notice"
    progress: Optional[Callable[[str], None]] = None
    on_samples: Optional[Callable[[float, list[Sample], int, int, int], None]] = None


@dataclasses.dataclass
class Outcome:
    config: SoakConfig
    requested: int = 0
    acknowledged: set[str] = dataclasses.field(default_factory=set)
    errors: list[str] = dataclasses.field(default_factory=list)
    statuses: dict[str, str] = dataclasses.field(default_factory=dict)  # every stored communication
    copies: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    unlabelled: int = 0
    kills: list[Kill] = dataclasses.field(default_factory=list)
    samples: list[Sample] = dataclasses.field(default_factory=list)
    incarnations: list[tuple[str, int, int, float, float]] = dataclasses.field(default_factory=list)  # slot, n, pid, from, to
    feed_seconds: float = 0
    settle_seconds: float = 0
    seconds: float = 0
    exit_codes: dict[str, Optional[int]] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)
    aborted: bool = False  # the run stopped before its end: what was in flight was never waited for

    @property
    def received(self) -> int:
        return len(self.copies)

    @property
    def messages(self) -> int:
        return sum(self.copies.values())

    @property
    def lost(self) -> set[str]:
        return self.acknowledged - set(self.copies)

    @property
    def stored_not_received(self) -> set[str]:
        return set(self.statuses) - set(self.copies)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.copies.values())

    @property
    def bound(self) -> int:
        return sum(len(kill.held) for kill in self.kills)

    def figures(self) -> dict[str, Any]:
        failed = collections.Counter(s for s in self.statuses.values() if s != "sent")
        return {
            "requests_sent": self.requested, "acknowledged": len(self.acknowledged), "stored": len(self.statuses),
            "received": self.received, "messages": self.messages, "lost": len(self.lost),
            "stored_not_received": len(self.stored_not_received), "duplicates": self.duplicates,
            "bound": self.bound, "kills": len(self.kills), "not_sent": dict(failed), "errors": len(self.errors),
            "feed_s": round(self.feed_seconds, 1), "settle_s": round(self.settle_seconds, 1),
            "wall_s": round(self.seconds, 1),
        }


class Soak:
    """The run: the SMTP server, sidecars a (killed) and b, the client, the sampler."""

    def __init__(self, config: SoakConfig) -> None:
        self.config = config
        self.outcome = Outcome(config)
        self.random = random.Random(config.seed)
        self.changed = threading.Condition()
        self.smtp: Optional[CountingSMTP] = None
        self.current: dict[str, Incarnation] = {}
        self.started = time.monotonic()
        self.ids = iter(range(1, 1 << 62))
        self.plan = str(uuid.UUID(int=self.random.getrandbits(128), version=4))
        self.clients = [str(uuid.UUID(int=self.random.getrandbits(128), version=4)) for _ in range(config.clients)]
        self.counts = {"a": 0, "b": 0}
        self.stop_sampling = threading.Event()

    def say(self, text: str) -> None:
        if self.config.progress:
            self.config.progress(text)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # Sidecars

    def env(self) -> dict[str, str]:
        assert self.smtp is not None
        return {
            **self.smtp.env(), "DATABASE_URL": self.config.database_url, "DB_ENCRYPTION_KEY": ENCRYPTION_KEY,
            "WORK_LEASE_SECONDS": str(self.config.lease_seconds), "SEND_CONCURRENCY": str(self.config.send_concurrency),
            "SEND_POLL_MS": str(self.config.poll_ms), "SMTP_TIMEOUT_SECONDS": str(max(1, self.config.lease_seconds - 1)),
            "SHUTDOWN_GRACE_SECONDS": "10", "LOG_LEVEL": self.config.log_level,
        }

    def launch(self, slot: str) -> Incarnation:
        self.counts[slot] += 1
        holder: list[Incarnation] = []
        filled = threading.Event()

        def handle(message: dict[str, Any]) -> None:
            filled.wait()  # a line read before the Incarnation exists (work taken over at once) waits for it
            self.on_message(holder[0], message)

        process = SoakSidecar(self.config.workdir, self.env(), handle)
        incarnation = Incarnation(slot, self.counts[slot], process, self.elapsed())
        holder.append(incarnation)
        filled.set()
        if not process.ready:
            raise RuntimeError(f"sidecar {slot} never became ready; stderr:\n{process.stderr()[-3000:]}")
        with self.changed:
            self.current[slot] = incarnation
        return incarnation

    def on_message(self, incarnation: Incarnation, message: dict[str, Any]) -> None:
        with self.changed:
            if "method" in message:
                params = message.get("params") or {}
                if message["method"] == "communication.status" and params.get("status") not in QUEUED:
                    communication = params["communication_id"]
                    if communication in incarnation.awaiting:
                        incarnation.awaiting.discard(communication)
                    else:
                        incarnation.ended.add(communication)
            else:
                wait = incarnation.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
                if wait is None:
                    self.outcome.problems.append(f"an answer to no request of sidecar {incarnation.slot}: {str(message)[:300]}")
                elif "result" in message:
                    communication = message["result"]["communication_id"]
                    self.outcome.acknowledged.add(communication)
                    if not wait and communication not in incarnation.ended:
                        incarnation.awaiting.add(communication)
                    incarnation.ended.discard(communication)
                else:
                    self.outcome.errors.append(f"sidecar {incarnation.slot}: {json.dumps(message)[:300]}")
            self.changed.notify_all()

    def request(self, incarnation: Incarnation, number: int) -> None:
        wait = number % 2 == 0
        ids = {"plan_id": self.plan, "client_id": self.clients[number % len(self.clients)]}
        request_id = next(self.ids)
        request = {"jsonrpc": "2.0", "id": request_id, "method": "communicate",
                   "params": communicate_params(ids, wait=wait, context={"client_name": "Priya Sharma", "n": str(number)})}
        with self.changed:
            incarnation.pending[request_id] = wait
        incarnation.process.write(request)
        self.outcome.requested += 1

    def kill(self, number: int, progress: float) -> None:
        incarnation = self.current["a"]
        at, pid = self.elapsed(), incarnation.pid
        incarnation.process.kill()  # SIGKILL, then waits for it and for its last lines to be read
        held = held_by(self.config.database_url, pid)
        with self.changed:
            incarnation.dead = True
            kill = Kill(number, at, progress, pid, len(incarnation.pending), len(incarnation.awaiting), held)
            incarnation.pending.clear()
            incarnation.awaiting.clear()
        self.outcome.kills.append(kill)
        self.outcome.incarnations.append(("a", incarnation.number, pid, incarnation.started, at))
        if incarnation.process.violations:
            self.outcome.problems.append(f"sidecar a #{incarnation.number}: {incarnation.process.violations[:3]}")
        self.say(kill.line(counted=False))
        self.launch("a")

    # Sampling

    def sample(self) -> None:
        while not self.stop_sampling.wait(self.config.sample_every):
            with self.changed:
                live = [i for i in self.current.values() if not i.dead]
            at, taken = self.elapsed(), []
            for incarnation in live:
                rss, fds = rss_kb(incarnation.pid), fd_count(incarnation.pid)
                if rss is not None and fds is not None and not incarnation.dead:
                    taken.append(Sample(at, incarnation.slot, incarnation.number, incarnation.pid, rss, fds))
            self.outcome.samples += taken
            if self.config.on_samples and taken:
                assert self.smtp is not None
                self.config.on_samples(at, taken, len(self.outcome.acknowledged), self.smtp.received(), len(self.outcome.kills))

    # The run

    def run(self) -> Outcome:
        config, outcome = self.config, self.outcome
        sampler: Optional[threading.Thread] = None
        harness.BINARY = config.binary  # the contract harness spawns its module's BINARY
        try:
            self.smtp = CountingSMTP()
            self.launch("a")
            self.launch("b")
            if config.sample_every > 0:
                sampler = threading.Thread(target=self.sample, daemon=True)
                sampler.start()
            self.feed()
            outcome.feed_seconds = self.elapsed()
            self.settle()
            outcome.settle_seconds = self.elapsed() - outcome.feed_seconds
        except Exception as error:  # reported, and the figures so far with it
            outcome.problems.append(f"the run stopped: {error!r}")
            outcome.aborted = True
        finally:
            self.stop_sampling.set()
            if sampler:
                sampler.join()
            self.stop_all()
            if self.smtp:
                outcome.copies = self.smtp.snapshot()
                outcome.unlabelled = self.smtp.unlabelled
                self.smtp.stop()
            outcome.seconds = self.elapsed()
        try:
            outcome.statuses = stored(config.database_url)
        except AssertionError as error:
            outcome.problems.append(f"cannot read the store: {error}")
        self.check()
        return outcome

    def feed(self) -> None:
        config = self.config
        points = sorted(self.random.uniform(*config.kill_span) for _ in range(config.kills))
        # Once a kill is due it waits for sidecar a to have work in hand, then this much longer.
        delays = [self.random.uniform(0, config.kill_delay) for _ in range(config.kills)]
        due_since: Optional[float] = None
        busy_since: Optional[float] = None
        written, turn = 0, 0
        while True:
            elapsed = self.elapsed()
            if elapsed > config.deadline_seconds:
                raise TimeoutError(f"feeding took over {config.deadline_seconds} s: {written} of {config.emails} written, "
                                   f"{len(self.outcome.acknowledged)} acknowledged")
            if config.seconds > 0:
                progress = min(1.0, elapsed / config.seconds)
            else:
                progress = len(self.outcome.acknowledged) / config.emails
            if points and progress >= points[0] and elapsed - self.current["a"].started >= config.min_life:
                due_since = elapsed if due_since is None else due_since
                with self.changed:
                    busy = self.current["a"].outstanding > 0
                busy_since = elapsed if busy_since is None and busy else busy_since
                # A kill of an idle sidecar proves little; but one that stays idle is killed all the same.
                if (busy_since is not None and elapsed - busy_since >= delays[0]) or elapsed - due_since >= 2.0:
                    points.pop(0)
                    delays.pop(0)
                    due_since = busy_since = None
                    self.kill(len(self.outcome.kills) + 1, progress)
                    continue
            if config.seconds > 0:
                # Paced in steps: each step's share at its start, so the sidecars have work in hand at
                # times (a burst), as a workflow's traffic comes.
                step = min(1.0, (math.floor(elapsed / config.pace_step) + 1) * config.pace_step / config.seconds)
                allowed = min(config.emails, math.ceil(step * config.emails))
            else:
                allowed = config.emails
            with self.changed:
                room = {slot: config.window - i.outstanding for slot, i in self.current.items()}
                outstanding = sum(i.outstanding for i in self.current.values())
            if written >= config.emails and outstanding == 0 and not points:
                return
            wrote = False
            while written < allowed:
                # One each in turn, so the two sidecars share the work evenly.
                open_slots = [slot for slot in "ab" if room[slot] > 0]
                if not open_slots:
                    break
                slot = open_slots[turn % len(open_slots)]
                turn += 1
                self.request(self.current[slot], written)
                written += 1
                room[slot] -= 1
                wrote = True
            if not wrote:
                with self.changed:
                    self.changed.wait(0.02)

    def settle(self) -> None:
        assert self.smtp is not None
        deadline = time.monotonic() + self.config.settle_seconds
        while True:
            missing = self.outcome.acknowledged - set(self.smtp.snapshot())
            left = not_sent(self.config.database_url)
            if not missing and left == 0:
                return
            if time.monotonic() > deadline:
                self.outcome.problems.append(
                    f"after {self.config.settle_seconds:.0f} s, {left} stored communications are not sent and "
                    f"{len(missing)} acknowledged ones never reached the SMTP server")
                return
            time.sleep(0.25)

    def stop_all(self) -> None:
        for slot, incarnation in sorted(self.current.items()):
            if incarnation.dead:
                continue
            incarnation.dead = True
            try:
                code = incarnation.process.stop()
            except Exception as error:  # a hang at the stop: reported, the process killed
                self.outcome.problems.append(f"sidecar {slot} did not stop: {error!r}")
                incarnation.process.process.kill()
                code = None
            self.outcome.exit_codes[f"{slot}#{incarnation.number}"] = code
            self.outcome.incarnations.append((slot, incarnation.number, incarnation.pid, incarnation.started, self.elapsed()))
            if code != 0:
                self.outcome.problems.append(f"sidecar {slot} exited {code}; its log ends:\n{incarnation.process.stderr()[-2000:]}")
            if incarnation.process.violations:
                self.outcome.problems.append(f"sidecar {slot}: {incarnation.process.violations[:3]}")

    def check(self) -> None:
        outcome, config, problems = self.outcome, self.config, self.outcome.problems
        if len(outcome.kills) != config.kills:
            problems.append(f"{len(outcome.kills)} kills, not {config.kills}")
        if outcome.aborted:
            return  # nothing was given time to end: losses would be the run's, not the sidecars'
        for communication in sorted(outcome.lost)[:20]:
            problems.append(f"lost: {communication} was acknowledged and never reached the SMTP server")
        for communication in sorted(outcome.stored_not_received - outcome.lost)[:20]:
            problems.append(f"lost: {communication} was stored (its request unanswered) and never reached the SMTP server")
        unknown = set(outcome.copies) - set(outcome.statuses)
        if outcome.statuses and unknown:
            problems.append(f"{len(unknown)} communications reached the SMTP server that the store does not hold: {sorted(unknown)[:5]}")
        if outcome.unlabelled:
            problems.append(f"{outcome.unlabelled} messages without X-CRM-Communication-ID")
        ended = collections.Counter(outcome.statuses.values())
        if set(ended) - {"sent"}:
            problems.append(f"stored communications not sent: {dict(ended)}")
        problems += [f"error answer: {error}" for error in outcome.errors[:20]]
        # Each extra copy must be of something a killed sidecar held: one extra per such kill at most.
        for kill in outcome.kills:
            kill.duplicates = sum(1 for c in kill.held if outcome.copies.get(c, 0) > 1)
            if len(kill.held) > config.window + config.send_concurrency:
                problems.append(f"kill {kill.number}: {len(kill.held)} leases held, over window {config.window} + "
                                f"SEND_CONCURRENCY {config.send_concurrency}")
        for communication, copies in outcome.copies.items():
            holders = sum(1 for kill in outcome.kills if communication in kill.held)
            if copies - 1 > holders:
                problems.append(f"duplicate: {communication} received {copies} times; only {holders} killed sidecars held it")
        if outcome.duplicates > outcome.bound:
            problems.append(f"{outcome.duplicates} duplicates, over the bound {outcome.bound}")


def run_soak(config: SoakConfig) -> Outcome:
    return Soak(config).run()


def summary(outcome: Outcome) -> str:
    figures = outcome.figures()
    lines = ["CRASH SOAK " + ", ".join(f"{name}={value}" for name, value in figures.items())]
    config = outcome.config
    lines.append(f"  seed {config.seed}, {config.emails} emails, window {config.window}/sidecar, "
                 f"WORK_LEASE_SECONDS {config.lease_seconds}, SEND_CONCURRENCY {config.send_concurrency}, "
                 f"SEND_POLL_MS {config.poll_ms}")
    lines += ["  " + kill.line() for kill in outcome.kills]
    for slot in "ab":
        rss = [s.rss_kb for s in outcome.samples if s.slot == slot]
        fds = [s.fds for s in outcome.samples if s.slot == slot]
        if rss:
            lines.append(f"  sidecar {slot}: RSS MB first {rss[0] / 1024:.1f} last {rss[-1] / 1024:.1f} max {max(rss) / 1024:.1f}; "
                         f"fds first {fds[0]} last {fds[-1]} max {max(fds)} ({len(rss)} samples)")
    if outcome.problems:
        lines.append(f"  {len(outcome.problems)} problems:")
        lines += ["  - " + problem[:1500] for problem in outcome.problems[:40]]
    return "\n".join(lines)


# Flatness


@dataclasses.dataclass
class Flatness:
    slot: str
    incarnation: int
    seconds: float
    rss_base_mb: float
    rss_end_mb: float
    fds_base: int
    fds_end: int
    flat: bool


def flatness(samples: Iterable[Sample], min_seconds: float, rss_tolerance: float, rss_slack_mb: float,
             fd_slack: int) -> list[Flatness]:
    """Per process that was sampled over at least `min_seconds`: its second quarter against its last."""
    by_process: dict[tuple[str, int], list[Sample]] = collections.defaultdict(list)
    for sample in samples:
        by_process[(sample.slot, sample.incarnation)].append(sample)
    verdicts = []
    for (slot, number), series in sorted(by_process.items()):
        span = series[-1].at - series[0].at
        if span < min_seconds or len(series) < 8:
            continue
        start = series[0].at
        second = [s for s in series if span / 4 <= s.at - start < span / 2]
        last = [s for s in series if s.at - start >= 3 * span / 4]
        base = statistics.median(s.rss_kb for s in second) / 1024
        end = statistics.median(s.rss_kb for s in last) / 1024
        fds_base, fds_end = max(s.fds for s in second), max(s.fds for s in last)
        flat = end <= base * (1 + rss_tolerance) + rss_slack_mb and fds_end <= fds_base + fd_slack
        verdicts.append(Flatness(slot, number, span, base, end, fds_base, fds_end, flat))
    return verdicts


# By hand


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    release, debug = ROOT / ".build-release" / "release" / "crm-sidecar", ROOT / ".build" / "debug" / "crm-sidecar"
    parser.add_argument("--binary", default=str(release if release.exists() else debug), help="the sidecar (default: %(default)s)")
    parser.add_argument("--postgres", default="start", metavar="URL|start",
                        help="a PostgreSQL server URL to make a database on, or `start` a throwaway one (default)")
    parser.add_argument("--minutes", type=float, default=30, help="how long the run lasts; 0: unpaced (default: %(default)s)")
    parser.add_argument("--emails", type=int, default=None, help="emails in all (default: 2,000 a minute, or 10,000 unpaced)")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of sidecar a (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="the kill moments' and clients' seed (default: random, printed)")
    parser.add_argument("--window", type=int, default=24, help="work outstanding per sidecar (default: %(default)s)")
    parser.add_argument("--lease-seconds", type=int, default=10, help="WORK_LEASE_SECONDS (default: %(default)s)")
    parser.add_argument("--send-concurrency", type=int, default=8, help="SEND_CONCURRENCY (default: %(default)s)")
    parser.add_argument("--sample-seconds", type=float, default=5, help="seconds between RSS/fd samples (default: %(default)s)")
    parser.add_argument("--rss-tolerance", type=float, default=0.2,
                        help="RSS growth allowed, last quarter over second quarter of a process's life (default: %(default)s)")
    parser.add_argument("--rss-slack-mb", type=float, default=8, help="and this much more, in MB (default: %(default)s)")
    parser.add_argument("--fd-slack", type=int, default=6, help="fds allowed above the second quarter's most (default: %(default)s)")
    parser.add_argument("--flat-min-seconds", type=float, default=60,
                        help="only processes sampled at least this long are checked for flatness (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (sidecar logs)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures and samples as JSON")
    options = parser.parse_args()
    if not pathlib.Path(options.binary).exists():
        parser.error(f"{options.binary} does not exist; build it, or pass --binary")
    seed = options.seed if options.seed is not None else random.randrange(1 << 32)
    seconds = options.minutes * 60
    emails = options.emails if options.emails is not None else (int(2000 * options.minutes) if seconds > 0 else 10_000)
    print(f"seed {seed} (rerun with --seed {seed}); {emails} emails over "
          f"{f'{options.minutes:g} minutes' if seconds > 0 else 'as little time as it takes'}, {options.kills} kills; "
          f"binary {options.binary}", flush=True)

    server_dir: Optional[str] = None
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="crash-soak-"))
    try:
        if options.postgres == "start":
            server_dir = tempfile.mkdtemp(prefix="crm-soak-postgres-")
            done = subprocess.run([str(ROOT / "script" / "postgres"), "start", server_dir], capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 2
            server_url = done.stdout.strip()
        else:
            server_url = options.postgres
        database = fresh_database(server_url)

        print(f"{'t s':>7} {'a pid':>7} {'a RSS MB':>9} {'a fds':>6} {'b pid':>7} {'b RSS MB':>9} {'b fds':>6} "
              f"{'acked':>8} {'received':>8} {'kills':>5}", flush=True)

        def on_samples(at: float, samples: list[Sample], acknowledged: int, received: int, kills: int) -> None:
            cells = []
            for slot in "ab":
                mine = [s for s in samples if s.slot == slot]
                cells += [f"{mine[0].pid:>7} {mine[0].rss_kb / 1024:>9.1f} {mine[0].fds:>6}" if mine else f"{'-':>7} {'-':>9} {'-':>6}"]
            print(f"{at:>7.0f} {' '.join(cells)} {acknowledged:>8} {received:>8} {kills:>5}", flush=True)

        config = SoakConfig(
            binary=options.binary, database_url=database, emails=emails, kills=options.kills, seed=seed, workdir=workdir,
            seconds=seconds, window=options.window, lease_seconds=options.lease_seconds,
            send_concurrency=options.send_concurrency, sample_every=options.sample_seconds,
            settle_seconds=max(60, 6 * options.lease_seconds), deadline_seconds=(seconds * 1.5 + 600 if seconds > 0 else 3600),
            progress=lambda text: print(text, flush=True), on_samples=on_samples,
        )
        outcome = run_soak(config)
        verdicts = flatness(outcome.samples, options.flat_min_seconds, options.rss_tolerance, options.rss_slack_mb, options.fd_slack)
        print()
        print(summary(outcome))
        print(f"\nflat: the median RSS of the last quarter of each process's life at most (1 + {options.rss_tolerance}) x "
              f"its second quarter's + {options.rss_slack_mb} MB; its most fds in the last quarter at most the second "
              f"quarter's + {options.fd_slack}; processes sampled at least {options.flat_min_seconds:g} s")
        for verdict in verdicts:
            print(f"  sidecar {verdict.slot} #{verdict.incarnation} ({verdict.seconds:.0f} s): RSS {verdict.rss_base_mb:.1f} -> "
                  f"{verdict.rss_end_mb:.1f} MB, fds {verdict.fds_base} -> {verdict.fds_end}: "
                  f"{'flat' if verdict.flat else 'GROWING'}")
        if not verdicts:
            print("  no process lived long enough to be judged")
        growing = [v for v in verdicts if not v.flat]
        if options.json:
            pathlib.Path(options.json).write_text(json.dumps({
                "seed": seed, "binary": options.binary, **outcome.figures(),
                "kills_detail": [{**dataclasses.asdict(k), "held": len(k.held)} for k in outcome.kills],
                "samples": [dataclasses.asdict(s) for s in outcome.samples],
                "flatness": [dataclasses.asdict(v) for v in verdicts], "problems": outcome.problems,
            }, indent=2))
        return 1 if outcome.problems or growing else 0
    finally:
        if server_dir:
            subprocess.run([str(ROOT / "script" / "postgres"), "stop", server_dir], capture_output=True, timeout=120)
        if options.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
