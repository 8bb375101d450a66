"""`Sidecar`: one crm-sidecar process, or a stream pair speaking its protocol, driven from asyncio.

Requests are written as single lines and matched to their responses by id, so any number of calls
may be awaited at once. One reader task takes every line of stdout: responses resolve their calls,
notifications go to the `NotificationHub` first, so a status announced before the response that
names its communication is already known when the call returns.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypedDict, cast

from ._lines import read_lines
from ._methods import AsyncMethods
from ._notifications import NotificationHub, NotificationStream
from ._process import find_binary, setting, stop_process
from ._stderr import StderrDrain
from .errors import Overloaded, SidecarExited, error_from_response
from .schema import CommunicationStatus, EventPage, SidecarReadyParams, StatusChange

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11; needed by the type checker only

logger = logging.getLogger("crm_sidecar")

DEFAULT_MAX_IN_FLIGHT = 64  # the sidecar's own default MAX_IN_FLIGHT
DEFAULT_GRACE_SECONDS = 10.0  # the sidecar's own default SHUTDOWN_GRACE_SECONDS


@dataclass(frozen=True)
class RetryPolicy:
    """How calls answered -32005 (Overloaded: nothing was done) are tried again: up to `attempts`
    tries in all, waiting `first_delay` seconds after the first, doubling up to `max_delay`, each
    wait varied by up to half so that callers spread out. `RetryPolicy(attempts=1)` never retries."""

    attempts: int = 10
    first_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, retry: int) -> float:
        """The wait before retry number `retry` (1 for the first retry)."""
        return min(self.max_delay, self.first_delay * 2.0 ** (retry - 1)) * random.uniform(0.5, 1.0)


class StartOptions(TypedDict, total=False):
    """The keyword arguments of `Sidecar.start`, which `spawn` and `SyncSidecar`'s pass on."""

    env: Mapping[str, str] | None
    cwd: str | os.PathLike[str] | None
    args: Sequence[str]
    retry: RetryPolicy | None
    max_in_flight: int | None
    ready_timeout: float
    stop_timeout: float | None


class Sidecar(AsyncMethods):
    """A connection to crm-sidecar. Make one with `Sidecar.spawn(...)` (an async context manager),
    `await Sidecar.start(...)` (then `await sc.close()`), or `Sidecar.attach(reader, writer)`.

    Besides `call` and the typed methods (one per method of schemas/openrpc.json), it offers
    `notifications()`, `wait_for(...)`, `ready` (the sidecar.ready params) and `last_seq` (the
    highest event seq seen, to keep for a later `wait_for(..., after_seq=...)`).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        process: asyncio.subprocess.Process | None = None,
        retry: RetryPolicy | None = None,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        stop_timeout: float = DEFAULT_GRACE_SECONDS + 5,
    ) -> None:
        """Prefer `spawn`, `start` or `attach`, which call this."""
        self._writer = writer
        self._process = process
        self._retry = retry or RetryPolicy()
        # Never more requests in flight than the sidecar runs at once: past its MAX_IN_FLIGHT it
        # answers -32005, which would only be retried.
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        self._stop_timeout = stop_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._write_lock = asyncio.Lock()
        self._hub = NotificationHub()
        self._ready_event = asyncio.Event()
        self._closing = False
        self._exited: SidecarExited | None = None
        self.ready: SidecarReadyParams | None = None
        """The params of the sidecar.ready notification, once it has arrived."""
        self._stderr = StderrDrain(process.stderr) if process is not None and process.stderr is not None else None
        self._reader_task = asyncio.ensure_future(self._read(reader))

    # Making one

    @classmethod
    async def start(
        cls,
        binary: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        args: Sequence[str] = (),
        retry: RetryPolicy | None = None,
        max_in_flight: int | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: float | None = None,
    ) -> Sidecar:
        """Starts the sidecar and returns once it is ready; `close()` stops it.

        `binary` is the executable: this argument, else $CRM_SIDECAR_BIN, else `crm-sidecar` on
        PATH. `env` is added to this process's environment for it (DATABASE_URL, OUTBOX_DIR, ...).
        `max_in_flight` defaults to the MAX_IN_FLIGHT the sidecar gets (64 unless `env` or the
        environment says otherwise; a .env file in `cwd` is not read here). `stop_timeout` is how
        long `close()` waits for the sidecar to finish before terminating it: by default its
        SHUTDOWN_GRACE_SECONDS plus 5.
        """
        environment = {**os.environ, **(env or {})}
        process = await asyncio.create_subprocess_exec(
            find_binary(binary), *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=environment, cwd=cwd,
        )
        assert process.stdout is not None and process.stdin is not None
        grace = setting(environment, "SHUTDOWN_GRACE_SECONDS", DEFAULT_GRACE_SECONDS)
        sidecar = cls(
            process.stdout, process.stdin, process=process, retry=retry,
            max_in_flight=max_in_flight or int(setting(environment, "MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT)),
            stop_timeout=stop_timeout if stop_timeout is not None else grace + 5,
        )
        try:
            await sidecar._until_ready(ready_timeout)
        except BaseException:
            await sidecar.close()
            raise
        return sidecar

    @classmethod
    @contextlib.asynccontextmanager
    async def spawn(cls, binary: str | os.PathLike[str] | None = None,
                    **options: Unpack[StartOptions]) -> AsyncIterator[Sidecar]:
        """`async with Sidecar.spawn() as sc:` starts the sidecar (the arguments are `start`'s) and
        stops it at the end of the block: stdin closed, so it finishes what it has read; then, past
        `stop_timeout`, SIGTERM, then SIGKILL."""
        sidecar = await cls.start(binary, **options)
        try:
            yield sidecar
        finally:
            await sidecar.close()

    @classmethod
    def attach(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        retry: RetryPolicy | None = None,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
    ) -> Sidecar:
        """A client over streams already connected to a sidecar (its stdout and stdin), such as a
        process started by other means; call it from a coroutine, as the client starts reading at
        once. It does not wait for sidecar.ready, which may have been read already; `close()` closes
        `writer`, which ends the sidecar's input."""
        return cls(reader, writer, retry=retry, max_in_flight=max_in_flight)

    async def __aenter__(self) -> Sidecar:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    # Facts

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: the signal that ended it)."""
        return self._process.returncode if self._process is not None else None

    @property
    def last_seq(self) -> int:
        """The highest event seq among the notifications read so far (0 before any).

        Not a place to resume a whole-log read from: notifications of different communications
        may arrive out of seq order, and events announced by other sidecars never arrive here. To
        resume `events.list`, keep its `next_after`; to resume `wait_for` on one communication, keep
        the seq of that communication's last notification (one communication's come in order)."""
        return self._hub.last_seq

    # Calling

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *,
                   timeout: float | None = None) -> Any:
        """Calls `method` and returns its result, or raises the error's `SidecarError` subclass.

        An Overloaded answer is retried as the `RetryPolicy` says. `timeout` (seconds) raises
        `TimeoutError` when no answer came in time; the sidecar may still carry the request out.
        """
        retries = 0
        while True:
            try:
                return await self._call_once(method, params, timeout)
            except Overloaded:
                retries += 1
                if retries >= self._retry.attempts:
                    raise
                delay = self._retry.delay(retries)
                logger.debug("%s was refused as overloaded; retry %d in %.3f s", method, retries, delay)
                await asyncio.sleep(delay)

    async def _call_once(self, method: str, params: Mapping[str, Any] | None, timeout: float | None) -> Any:
        if self._exited is not None:
            raise self._gone_error()
        identifier = next(self._ids)
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": identifier, "method": method}
        if params is not None:
            request["params"] = dict(params)
        line = json.dumps(request, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        if self._slots is not None:
            await self._slots.acquire()
            if self._exited is not None:  # ended while this call waited for its turn
                self._slots.release()
                raise self._gone_error()
        # The answer is resolved by the reader (the response, or the process's end), never by the
        # caller: one that gives up (a timeout, a cancellation) leaves the request running in the
        # sidecar, where it still counts against MAX_IN_FLIGHT, so its slot is freed only then.
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        answer.add_done_callback(self._settled)
        self._pending[identifier] = answer
        await self._write(identifier, line)
        try:
            if timeout is None:
                return await asyncio.shield(answer)
            return await asyncio.wait_for(asyncio.shield(answer), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer to {method} within {timeout} s") from None

    def _settled(self, answer: asyncio.Future[Any]) -> None:
        if self._slots is not None:
            self._slots.release()
        if not answer.cancelled():
            answer.exception()  # seen here, so that an answer nobody awaits any more is not reported as lost

    async def _write(self, identifier: int, line: bytes) -> None:
        written = False
        try:
            async with self._write_lock:
                self._writer.write(line)
                written = True
                await self._writer.drain()
        except (ConnectionError, RuntimeError):
            # The pipe broke (or was closed): the process is gone or going. The reader finds out how
            # it ended and fails the call with that.
            await asyncio.shield(self._reader_task)
            raise self._gone_error() from None
        finally:
            if not written:  # cancelled or failed before the request left: no answer will come
                unsent = self._pending.pop(identifier, None)
                if unsent is not None:
                    unsent.cancel()

    # Notifications

    def notifications(self) -> NotificationStream:
        """Every notification from now on (`{"method", "params"}`), in order, none dropped; see
        `NotificationStream`. The `sidecar.ready` that starts the session is `ready`, not here."""
        return NotificationStream(self._hub)

    async def wait_for(
        self,
        communication_id: str,
        statuses: CommunicationStatus | Iterable[CommunicationStatus],
        *,
        timeout: float | None = None,
        after_seq: int | None = None,
        poll_interval: float = 2.0,
    ) -> StatusChange:
        """The params of the first communication.status of `communication_id` whose status is one of
        `statuses`, including one that arrived before this call (even before the call that created
        the communication returned). Raises `TimeoutError` after `timeout` seconds.

        With `after_seq` it considers only events with a greater seq, and reads the database's event
        log (events.list) for them too: first to catch up on what happened while no client was
        listening (after a restart, of the workflow or of the sidecar: pass 0 to read the log from
        the start, or the seq of this communication's last notification), then every `poll_interval` seconds while it
        waits, for events no sidecar announced to this one (a receipt that reached another
        sidecar). Include the final statuses (failed, bounced, cancelled) in `statuses` to stop
        waiting for a delivery that will not come.
        """
        wanted = frozenset({statuses} if isinstance(statuses, str) else statuses)
        if not wanted:
            raise ValueError("wait_for needs at least one status")
        try:
            return await asyncio.wait_for(self._wait(communication_id, wanted, after_seq, poll_interval), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"communication {communication_id} reached none of {sorted(wanted)} "
                               f"within {timeout} s") from None

    async def _wait(self, communication_id: str, wanted: frozenset[str], after_seq: int | None,
                    poll_interval: float) -> StatusChange:
        # Watching before reading the log: a change that happens meanwhile is caught either way.
        watch = self._hub.watch(communication_id, wanted, after_seq or 0)
        try:
            if after_seq is None or watch.future.done():
                return await watch.future
            cursor = after_seq
            while True:
                found, cursor = await self._scan_log(communication_id, wanted, cursor)
                if found is not None:
                    return found
                with contextlib.suppress(asyncio.TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(watch.future), poll_interval)
        finally:
            self._hub.unwatch(watch)

    async def _scan_log(self, communication_id: str, wanted: frozenset[str],
                        after: int) -> tuple[StatusChange | None, int]:
        """The first logged status change in `wanted` after seq `after`, and the seq read up to."""
        while True:
            page: EventPage = await self.list_events(after=after, limit=1000, kinds=["communication.status"],
                                                     communication_id=communication_id)
            for event in page["events"]:
                params = cast(StatusChange, event["params"])
                if params.get("status") in wanted:
                    return params, after
            if not page["events"] or page["next_after"] <= after:
                return None, after
            after = page["next_after"]

    # Stopping

    async def close(self) -> None:
        """Stops the session: closes the sidecar's input, so it finishes the requests it has read
        (their calls still get their answers) and the sends they started, and exits. A spawned
        process still running after `stop_timeout` gets SIGTERM, 5 s later SIGKILL. Safe to call
        again."""
        self._closing = True
        with contextlib.suppress(Exception):
            self._writer.close()
        if self._process is not None:
            await stop_process(self._process, self._stop_timeout)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader_task), self._stop_timeout)
        if not self._reader_task.done():  # an attached stream that stays open
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task

    # Reading

    async def _until_ready(self, timeout: float) -> None:
        """Until sidecar.ready arrives, or (from a sidecar that does not send it) a health answer."""
        ready = asyncio.ensure_future(self._ready_event.wait())
        health = asyncio.ensure_future(self.call("health"))
        waiting = {ready, health, self._reader_task}
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (ready, health):
                task.cancel()
            await asyncio.gather(ready, health, return_exceptions=True)
        if ready in done or (health in done and not health.cancelled() and health.exception() is None):
            return
        if self._reader_task in done or health in done:
            raise self._gone_error()
        raise TimeoutError(f"crm-sidecar was not ready within {timeout} s")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            async for line in read_lines(reader):
                if line.strip():
                    self._accept(line)
        except Exception:  # a broken stream must still end the session below, not hang it
            logger.exception("reading crm-sidecar's output failed")
        finally:
            await self._gone()

    def _accept(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            logger.error("crm-sidecar wrote a line that is not JSON: %.200r", line)
            return
        for member in message if isinstance(message, list) else [message]:
            if isinstance(member, dict):
                self._dispatch(member)
            else:
                logger.error("crm-sidecar wrote a message that is not an object: %.200r", member)

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if isinstance(method, str):
            params = message.get("params")
            params = params if isinstance(params, dict) else {}
            if method == "sidecar.ready":
                self.ready = cast(SidecarReadyParams, params)
                self._ready_event.set()
            else:
                self._hub.publish(method, params)
            return
        identifier = message.get("id")
        answer = self._pending.pop(identifier, None) if isinstance(identifier, int) else None
        if answer is None:
            logger.error("crm-sidecar answered no request of this client: %.300r", message)
            return
        if isinstance(message.get("error"), dict):
            answer.set_exception(error_from_response(message["error"]))
        else:
            answer.set_result(message.get("result"))

    async def _gone(self) -> None:
        """stdout ended: the process exited (or is about to). Every pending and later call fails."""
        returncode = None
        if self._process is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                returncode = await asyncio.wait_for(self._process.wait(), 5)
        if self._stderr is not None:  # its last lines belong in the error
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._stderr.task), 2)
        self._exited = SidecarExited(returncode, self._stderr_tail())
        expected = self._closing
        if not expected:
            logger.error("crm-sidecar ended by itself (exit status %s)", returncode)
        pending, self._pending = self._pending, {}
        for answer in pending.values():
            answer.set_exception(self._gone_error())
        self._hub.end(self._exited, expected=expected)

    def _gone_error(self) -> SidecarExited:
        """A SidecarExited to raise: a new one each time, so that tracebacks do not pile up on one."""
        if self._exited is None:
            return SidecarExited(self.returncode, self._stderr_tail())
        return SidecarExited(self._exited.returncode, self._exited.stderr_tail)

    def _stderr_tail(self) -> list[str]:
        return list(self._stderr.tail) if self._stderr is not None else []
