"""`SyncSidecar`: the same client for code that is not async (sync LangGraph nodes, scripts).

It runs a `Sidecar` on an event loop of its own, in a background thread, and waits for each call
there; every method is the async one's, blocking.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ._methods import SyncMethods
from ._notifications import NotificationStream
from .client import Sidecar, StartOptions
from .schema import CommunicationStatus, Notification, SidecarReadyParams, StatusChange

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11; needed by the type checker only

T = TypeVar("T")


class _LoopThread:
    """An event loop running in a daemon thread, and a way to run a coroutine on it and wait."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="crm-sidecar", daemon=True)
        self._thread.start()

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        # The coroutine is made on the loop's thread: what it touches belongs to that loop.
        async def on_loop() -> T:
            return await make()

        future = asyncio.run_coroutine_threadsafe(on_loop(), self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # interrupted (Ctrl-C): do not leave the call running
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncNotifications(Iterator[Notification]):
    """`NotificationStream`, blocking: iterate it, `close()` it when done (or use `with`)."""

    def __init__(self, runner: _LoopThread, stream: NotificationStream) -> None:
        self._runner = runner
        self._stream = stream

    def __iter__(self) -> SyncNotifications:
        return self

    def __next__(self) -> Notification:
        try:
            return self._runner.run(self._stream.__anext__)
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._runner.run(self._stream.aclose)

    def __enter__(self) -> SyncNotifications:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class SyncSidecar(SyncMethods):
    """A blocking `Sidecar`: `with SyncSidecar.spawn(...) as sc:` or `sc = SyncSidecar.start(...)`
    then `sc.close()`. Same arguments, same methods, same errors."""

    def __init__(self, runner: _LoopThread, sidecar: Sidecar) -> None:
        """Prefer `spawn` or `start`, which call this."""
        self._runner = runner
        self._sidecar = sidecar

    @classmethod
    def start(cls, binary: str | os.PathLike[str] | None = None, **options: Unpack[StartOptions]) -> SyncSidecar:
        """Starts the sidecar and returns once it is ready; the arguments are `Sidecar.start`'s."""
        runner = _LoopThread()
        try:
            sidecar = runner.run(lambda: Sidecar.start(binary, **options))
        except BaseException:
            runner.stop()
            raise
        return cls(runner, sidecar)

    @classmethod
    @contextlib.contextmanager
    def spawn(cls, binary: str | os.PathLike[str] | None = None,
              **options: Unpack[StartOptions]) -> Iterator[SyncSidecar]:
        """`with SyncSidecar.spawn() as sc:` starts the sidecar and stops it after the block; the
        arguments are `Sidecar.start`'s."""
        sidecar = cls.start(binary, **options)
        try:
            yield sidecar
        finally:
            sidecar.close()

    def __enter__(self) -> SyncSidecar:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    @property
    def ready(self) -> SidecarReadyParams | None:
        return self._sidecar.ready

    @property
    def pid(self) -> int | None:
        return self._sidecar.pid

    @property
    def returncode(self) -> int | None:
        return self._sidecar.returncode

    @property
    def last_seq(self) -> int:
        return self._sidecar.last_seq

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """See `Sidecar.call`."""
        return self._runner.run(lambda: self._sidecar.call(method, params, timeout=timeout))

    def notifications(self) -> SyncNotifications:
        """See `Sidecar.notifications`."""

        async def subscribe() -> NotificationStream:
            return self._sidecar.notifications()

        return SyncNotifications(self._runner, self._runner.run(subscribe))

    def wait_for(
        self,
        communication_id: str,
        statuses: CommunicationStatus | Iterable[CommunicationStatus],
        *,
        timeout: float | None = None,
        after_seq: int | None = None,
        poll_interval: float = 2.0,
    ) -> StatusChange:
        """See `Sidecar.wait_for`."""
        return self._runner.run(lambda: self._sidecar.wait_for(
            communication_id, statuses, timeout=timeout, after_seq=after_seq, poll_interval=poll_interval))

    def close(self) -> None:
        """Stops the sidecar (see `Sidecar.close`) and the thread that ran it. Safe to call again."""
        if self._runner.loop.is_closed():
            return
        try:
            self._runner.run(self._sidecar.close)
        finally:
            self._runner.stop()
