"""Where the sidecar's notifications go: to every open `notifications()` stream, to the `wait_for`
calls that are waiting for them, and into a short history per communication.

The history exists because the sidecar announces `queued` and `sent` before the response that names
the communication: a `wait_for` made after `communicate` returns must still see them. Everything here
runs on the event loop's thread, called by the reader as each line arrives, so nothing needs a lock.
"""
from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Set
from types import TracebackType
from typing import Any, Union, cast

from .errors import SidecarExited
from .schema import Notification, StatusChange

STATUS = "communication.status"


class _End:
    """Put in a stream's queue when the sidecar is gone: the stream ends after what came before."""

    def __init__(self, error: SidecarExited | None) -> None:
        self.error = error


_Item = Union[Notification, _End]


class NotificationStream(AsyncIterator[Notification]):
    """Every notification from the moment it was created, in order, none dropped.

    It ends when the sidecar is closed, or raises `SidecarExited` if the process ended by itself.
    What it holds is unbounded until read: close a stream you stop reading (`aclose()`, or use it
    as `async with sc.notifications() as stream`).
    """

    def __init__(self, hub: NotificationHub) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._finished = False
        hub._streams.add(self)
        if hub.ended is not None:
            self._queue.put_nowait(hub.ended)

    def __aiter__(self) -> NotificationStream:
        return self

    async def __anext__(self) -> Notification:
        if self._finished:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, _End):
            self._finish()
            if item.error is not None:
                raise _fresh(item.error)
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._finish()

    async def __aenter__(self) -> NotificationStream:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        self._finish()

    def _put(self, item: _Item) -> None:
        if not self._finished:
            self._queue.put_nowait(item)

    def _finish(self) -> None:
        self._finished = True
        self._hub._streams.discard(self)


class _Watch:
    """One `wait_for`: the first status of `statuses` for the communication, with a seq over `after`."""

    def __init__(self, communication_id: str, statuses: Set[str], after: int) -> None:
        self.communication_id = communication_id
        self.statuses = statuses
        self.after = after
        self.future: asyncio.Future[StatusChange] = asyncio.get_running_loop().create_future()

    def matches(self, params: StatusChange) -> bool:
        return params.get("status") in self.statuses and _seq(params) > self.after


class NotificationHub:
    """Fans each notification out to streams and watches, and keeps recent status changes."""

    def __init__(self, *, history_limit: int = 10_000) -> None:
        self._streams: set[NotificationStream] = set()
        self._watches: dict[str, list[_Watch]] = {}
        # Status changes of the most recently active communications, oldest communication first.
        self._history: collections.OrderedDict[str, list[StatusChange]] = collections.OrderedDict()
        self._history_limit = history_limit
        self.last_seq = 0
        self.ended: _End | None = None
        self._exited: SidecarExited | None = None

    def publish(self, method: str, params: dict[str, Any]) -> None:
        seq = params.get("seq")
        if isinstance(seq, int) and seq > self.last_seq:
            self.last_seq = seq
        if method == STATUS and isinstance(params.get("communication_id"), str):
            self._record(cast(StatusChange, params))
        notification: Notification = {"method": method, "params": params}
        for stream in list(self._streams):
            stream._put(notification)

    def _record(self, params: StatusChange) -> None:
        communication_id = params["communication_id"]
        self._history.setdefault(communication_id, []).append(params)
        self._history.move_to_end(communication_id)
        while len(self._history) > self._history_limit:
            self._history.popitem(last=False)
        for watch in self._watches.get(communication_id, []):
            if not watch.future.done() and watch.matches(params):
                watch.future.set_result(params)

    def watch(self, communication_id: str, statuses: Set[str], after: int) -> _Watch:
        """A watch resolved by the first matching change, already if the history has one."""
        watch = _Watch(communication_id, statuses, after)
        if self._exited is not None:
            watch.future.set_exception(_fresh(self._exited))
            return watch
        for params in self._history.get(communication_id, []):
            if watch.matches(params):
                watch.future.set_result(params)
                return watch
        self._watches.setdefault(communication_id, []).append(watch)
        return watch

    def unwatch(self, watch: _Watch) -> None:
        watches = self._watches.get(watch.communication_id, [])
        if watch in watches:
            watches.remove(watch)
        if not watches:
            self._watches.pop(watch.communication_id, None)
        if not watch.future.done():
            watch.future.cancel()
        elif not watch.future.cancelled():
            watch.future.exception()  # marks a failure as seen, which asyncio would otherwise log

    def end(self, exited: SidecarExited, *, expected: bool) -> None:
        """The sidecar is gone. Streams end after what they hold, raising `exited` unless the client
        closed the sidecar itself; watches fail with `exited`, since nothing more can come."""
        self._exited = exited
        self.ended = _End(None if expected else exited)
        for stream in list(self._streams):
            stream._put(self.ended)
        for watches in self._watches.values():
            for watch in watches:
                if not watch.future.done():
                    watch.future.set_exception(_fresh(exited))
        self._watches.clear()


def _fresh(exited: SidecarExited) -> SidecarExited:
    """A copy to raise: one exception raised in several places would collect all their tracebacks."""
    return SidecarExited(exited.returncode, exited.stderr_tail)


def _seq(params: StatusChange) -> int:
    seq = params.get("seq")
    return seq if isinstance(seq, int) else 0
