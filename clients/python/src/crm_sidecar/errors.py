"""The sidecar's JSON-RPC errors as exceptions, one class per error of the schema's components/errors.

Every class carries `.code` (the JSON-RPC error code), `.message` and `.data` as the sidecar sent
them; catch `SidecarError` for all of them. `SidecarExited` is the one error that is not an answer:
the process is gone.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .schema import ERROR_CODES


class SidecarError(Exception):
    """An error answer from the sidecar, or (`SidecarExited`) the lack of one."""

    code: int | None = None

    def __init__(self, message: str, *, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data

    def __str__(self) -> str:
        return self.message if self.code is None else f"{self.message} ({self.code})"


class ParseError(SidecarError):
    """-32700: the sidecar could not read a line the client wrote as JSON (a client bug)."""

    code = ERROR_CODES["ParseError"]


class InvalidRequest(SidecarError):
    """-32600: not a JSON-RPC 2.0 request, or a line longer than the sidecar's MAX_LINE_BYTES."""

    code = ERROR_CODES["InvalidRequest"]


class MethodNotFound(SidecarError):
    """-32601: no such method, or one the schema specifies that this version does not implement."""

    code = ERROR_CODES["MethodNotFound"]


class InvalidParams(SidecarError):
    """-32602: a param was wrong; `.field` names it (a dotted path) and `.reason` says what is
    accepted."""

    code = ERROR_CODES["InvalidParams"]

    @property
    def field(self) -> str | None:
        return _text(self.data, "field")

    @property
    def reason(self) -> str | None:
        return _text(self.data, "reason")


class InternalError(SidecarError):
    """-32603: the sidecar failed; its stderr (logged through `logging`) has the details."""

    code = ERROR_CODES["InternalError"]


class StorageUnavailable(SidecarError):
    """-32001: the database could not be reached; nothing was stored, try again later."""

    code = ERROR_CODES["StorageUnavailable"]

    @property
    def reason(self) -> str | None:
        return _text(self.data, "reason")


class NotFound(SidecarError):
    """-32002: no communication (or other record) with that id."""

    code = ERROR_CODES["NotFound"]


class IdempotencyConflict(SidecarError):
    """-32003: the idempotency key was used before with a different request; nothing was stored."""

    code = ERROR_CODES["IdempotencyConflict"]


class NoDeliverableChannel(SidecarError):
    """-32004: every channel is opted out or has no address; `.reasons` says why, channel by channel."""

    code = ERROR_CODES["NoDeliverableChannel"]

    @property
    def reasons(self) -> list[str]:
        reasons = self.data.get("reasons") if isinstance(self.data, Mapping) else None
        return [str(reason) for reason in reasons] if isinstance(reasons, list) else []


class Overloaded(SidecarError):
    """-32005: the sidecar had MAX_IN_FLIGHT requests running; nothing was done. The client retries
    these by itself (see `RetryPolicy`) and raises this only when its retries run out."""

    code = ERROR_CODES["Overloaded"]


class ShuttingDown(SidecarError):
    """-32006: the sidecar is stopping and did not start the request."""

    code = ERROR_CODES["ShuttingDown"]


class SidecarExited(SidecarError):
    """The process ended (or its stdout closed) before answering: raised for every call pending then
    and every call after. `.returncode` is its exit status (negative: killed by that signal; None
    when unknown, as for an attached stream), `.stderr_tail` its last lines on stderr."""

    def __init__(self, returncode: int | None, stderr_tail: Sequence[str] = ()) -> None:
        self.returncode = returncode
        self.stderr_tail = list(stderr_tail)
        how = "its output closed" if returncode is None else f"it exited with {returncode}"
        super().__init__(f"the sidecar is gone: {how}")


ERRORS_BY_CODE: dict[int, type[SidecarError]] = {
    error.code: error
    for error in (ParseError, InvalidRequest, MethodNotFound, InvalidParams, InternalError, StorageUnavailable,
                  NotFound, IdempotencyConflict, NoDeliverableChannel, Overloaded, ShuttingDown)
    if error.code is not None
}


def error_from_response(error: Mapping[str, Any]) -> SidecarError:
    """The exception for a response's `error` member: its class by code, a plain `SidecarError` for a
    code the schema does not list."""
    code = error.get("code")
    message = str(error.get("message", "error without a message"))
    data = error.get("data")
    if not isinstance(code, int):
        return SidecarError(message, data=data)
    return ERRORS_BY_CODE.get(code, SidecarError)(message, code=code, data=data)


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, str) else None
