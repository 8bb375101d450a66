"""Splitting a stream into lines with no limit on their length.

asyncio's `StreamReader.readline()` gives up on lines over its buffer limit (64 KiB by default), and a
`communications.get` of a communication with a large context is one line of any size; reading chunks
and splitting them here has no such limit.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

CHUNK_BYTES = 1 << 16


async def read_lines(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Each line of `reader` without its `\\n`, until end of stream (a last unterminated line too)."""
    partial = bytearray()
    while chunk := await reader.read(CHUNK_BYTES):
        pieces = chunk.split(b"\n")
        if len(pieces) == 1:
            partial += chunk
            continue
        partial += pieces[0]
        yield bytes(partial)
        for piece in pieces[1:-1]:
            yield piece
        partial = bytearray(pieces[-1])
    if partial:
        yield bytes(partial)
