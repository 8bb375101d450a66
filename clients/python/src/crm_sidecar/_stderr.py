"""The sidecar's stderr, read continuously into `logging`.

A child whose stderr is a pipe nobody reads stops once the pipe's buffer is full (about 1,000
responses at LOG_LEVEL=debug), so the client always drains it. Each line is one JSON log record
(`{"ts", "level", "msg", ...fields}`); it becomes a record of the `crm_sidecar.sidecar` logger at the
matching level, with the parsed line in the record's `sidecar` attribute.
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
from typing import Any

from ._lines import read_lines

logger = logging.getLogger("crm_sidecar.sidecar")

# swift-log's levels; logging has no trace or notice, so they join their nearest neighbour.
LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# Fields every line has, which the message need not repeat.
_ENVELOPE = {"ts", "level", "msg", "label"}


class StderrDrain:
    """Reads the sidecar's stderr to its end, logging each line and keeping the last few for
    `SidecarExited.stderr_tail`."""

    def __init__(self, stream: asyncio.StreamReader, *, tail_lines: int = 40) -> None:
        self.tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.task = asyncio.ensure_future(self._drain(stream))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        async for raw in read_lines(stream):
            line = raw.decode("utf-8", errors="replace")
            self.tail.append(line)
            log_line(line)


def log_line(line: str) -> None:
    try:
        record: Any = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        # Not one of the sidecar's log lines (a crash report, say): worth seeing as it is.
        if line.strip():
            logger.warning("%s", line)
        return
    level = LEVELS.get(str(record.get("level", "")).lower(), logging.INFO)
    if not logger.isEnabledFor(level):
        return
    fields = " ".join(f"{key}={value}" for key, value in record.items() if key not in _ENVELOPE)
    message = str(record.get("msg", ""))
    logger.log(level, "%s", f"{message} ({fields})" if fields else message, extra={"sidecar": record})
