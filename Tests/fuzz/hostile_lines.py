"""Hostile stdio for crm-sidecar: a seeded generator of bad lines, an oracle that says what each line
deserves under JSON-RPC 2.0, a runner that feeds a sidecar at volume, and a checker of what came back.

Shared by `Tests/contract/test_hostile_stdio.py` (a bounded run in the normal suite) and
`Tests/fuzz/hostile_stdio.py` (1,000,000 lines by hand).

The oracle reads each line the way the sidecar's parser is specified to (README, "The protocol" and
"Errors"; `Sources/RPC/Protocol/RPCParser.swift`): a line over MAX_LINE_BYTES is one -32600 with id
null; a line of spaces, tabs and CRs is ignored; anything not UTF-8, not JSON, or nested deeper than 64
levels is one -32700 with id null; JSON that is not an object or a non-empty array is one -32600 with
id null; each request object (alone or in a batch) with an id gets exactly one response carrying that
id as written, and without an id gets none; an invalid request gets -32600 (with its id when it has a
readable one); a batch gets one array, or nothing when it holds only notifications; a batch of more
than 10,000 members is one -32600 with id null.

The sidecar reads lines with its own strict reader (CRMModel's JSONParser), and the oracle follows
RFC 8259 and where the RFC leaves a choice, the sidecar's; test_hostile_stdio.py pins each case:
- a number beyond a Double's range (1e400, 400 digits) is -32700 (RFC 8259 section 9 lets a parser
  limit the range), and so is a \\u escape that leaves a lone surrogate (section 8.2);
- of repeated keys the first counts (IDScanner does the same for `id`), and every value is checked:
  `{"id":1,...,"id":01}` is -32700;
- a UTF-8 byte order mark before a line is skipped (section 8.1 allows it), and ids after it are
  still echoed byte for byte.
Until JSONParser, Foundation's decoder read the lines, with leniencies the volume run had to leave
out (a trailing comma, UTF-16 and UTF-32 lines, a repeated key's value unchecked); there are none
left, so `deviation` no longer occurs, but the ledger keeps counting it should one come back.
"""
from __future__ import annotations

import collections
import itertools
import json
import math
import os
import pathlib
import random
import re
import subprocess
import sys
import threading
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "contract"))

import contract  # noqa: E402

MAX_DEPTH = 64
MAX_BATCH = 10_000  # a larger batch is refused whole with -32600 (RPCParser.maxBatch, since a97addb)
DEFAULT_MAX_LINE_BYTES = 1 << 20

# ---------------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------------

# What a line deserves, as tuples (cheap to hold a million of):
#   ("silent",)                       no answer: blank line, notification, batch of notifications only
#   ("null", code)                    one error with id null: -32700, or -32600
#   ("id", raw, kind, method)         one response whose id is `raw` (the id's text as written);
#                                     kind "invalid" (must be -32600) or "run" (the method ran)
#   ("nullrun", method)               a request with "id": null: one response with id null, any outcome
#   ("batch", members)                one array: a member tuple per member that deserves an answer
#                                     (never empty; an all-notification batch is "silent")
#   ("deviation", why)                a line the sidecar reads differently from RFC 8259 (see above)
SILENT = ("silent",)
PARSE_ERROR = ("null", -32700)
INVALID_NULL = ("null", -32600)


class _Unreadable(Exception):
    pass


class Num(str):
    """A JSON number, kept as written."""


# The structure is scanned first, strings and numbers checked when decoded: a string runs to the next
# unescaped quote (a \u must be followed by four bytes, none a quote), a number is a digit or `-` and
# then any of 0-9 . + - e E, checked against RFC 8259's grammar in `_decode`.
_TOKEN = re.compile(rb'[ \t\r\n]+|("(?:[^"\\]|\\u[^"]{4}|\\[^u])*")|([-0-9][-0-9.+eE]*)|(true|false|null)|([{}\[\],:])|', re.S)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LITERALS = {b"true": True, b"false": False, b"null": None}


class _Leaf:
    """A string or number as scanned, decoded only if it survives (is not a repeated key's value)."""
    __slots__ = ("raw", "string")

    def __init__(self, raw, string):
        self.raw = raw
        self.string = string


class _Object(list):
    """An object as scanned: its (raw key, value) pairs in order."""


def _tokens(data: bytes):
    """The line's tokens as (kind, bytes): kind 1 string, 2 number, 3 literal, 4 punctuation."""
    tokens = []
    append = tokens.append
    position, end = 0, len(data)
    match = _TOKEN.match
    while position < end:
        found = match(data, position)
        kind = found.lastindex
        if found.end() == position:  # nothing matched: not a token
            raise _Unreadable("unexpected byte")
        if kind:
            append((kind, found.group(kind)))
        position = found.end()
    return tokens


def _scan(data: bytes):
    """The structure of `data` (raises _Unreadable), and its depth."""
    tokens = _tokens(data)
    if not tokens:
        raise _Unreadable("empty")
    position = 0
    deepest = 0

    def value(depth):
        nonlocal position, deepest
        if position >= len(tokens):
            raise _Unreadable("end of input")
        kind, text = tokens[position]
        position += 1
        if kind == 1:
            return _Leaf(text, True)
        if kind == 2:
            return _Leaf(text, False)
        if kind == 3:
            return _LITERALS[text]
        if text == b"[":
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                raise _Unreadable("too deep")
            items = []
            if _peek() == b"]":
                position += 1
                return items
            while True:
                items.append(value(depth))
                punct = _next()
                if punct == b"]":
                    return items
                if punct != b",":
                    raise _Unreadable("in array")
        if text == b"{":
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                raise _Unreadable("too deep")
            pairs = _Object()
            if _peek() == b"}":
                position += 1
                return pairs
            while True:
                if position >= len(tokens) or tokens[position][0] != 1:
                    raise _Unreadable("a key must be a string")
                key = tokens[position][1]
                position += 1
                if _next() != b":":
                    raise _Unreadable("no colon")
                pairs.append((key, value(depth)))
                punct = _next()
                if punct == b"}":
                    return pairs
                if punct != b",":
                    raise _Unreadable("in object")
        raise _Unreadable("unexpected punctuation")

    def _peek():
        return tokens[position][1] if position < len(tokens) and tokens[position][0] == 4 else None

    def _next():
        nonlocal position
        if position >= len(tokens):
            raise _Unreadable("end of input")
        kind, text = tokens[position]
        position += 1
        return text if kind == 4 else None

    result = value(0)
    if position != len(tokens):
        raise _Unreadable("after the top-level value")
    return result, deepest


def _string(raw: bytes) -> str:
    """A scanned string decoded as JSONDecoder decodes it: strict, and no lone surrogates."""
    try:
        text = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise _Unreadable("bad string") from None
    if _SURROGATE.search(text):
        raise _Unreadable("lone surrogate")
    return text


def _decode(value):
    """The value as JSONParser reads it: the first of repeated keys counts, and every value is
    checked. Numbers become Num."""
    if isinstance(value, _Leaf):
        if value.string:
            return _string(value.raw)
        text = value.raw.decode("ascii")
        if not _NUMBER.fullmatch(text) or math.isinf(float(text)):
            raise _Unreadable("bad number")
        return Num(text)
    if isinstance(value, _Object):
        result = {}
        for raw_key, item in value:
            key = _string(raw_key)
            decoded = _decode(item)
            if key not in result:
                result[key] = decoded
        return result
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _raw_id(scanned):
    """The text of the id the sidecar echoes: the first `id` of an object, as written."""
    for raw_key, item in scanned:
        if _string(raw_key) == "id":
            return item.raw.decode("utf-8") if isinstance(item, _Leaf) else None
    return None


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPENERS = bytes.maketrans(b"[{]}", b"(())")


def too_deep(data: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH (the sidecar checks this first, on
    the bytes; for a line the scanner reads it is the nesting of its values)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    brackets = _STRINGS.sub(b"", data).translate(_OPENERS, _NOT_BRACKETS)
    if brackets.count(b"(") <= MAX_DEPTH:
        return False
    if b"(" * (MAX_DEPTH + 1) in brackets:
        return True
    return max(itertools.accumulate(1 if b == 40 else -1 for b in brackets)) > MAX_DEPTH


def _read(data: bytes):
    """(the decoded value, the scanned structure) of a line the sidecar reads; raises _Unreadable."""
    scanned, _ = _scan(data)
    return _decode(scanned), scanned


_WS = " \t\n\r"
_PLAIN = json.JSONDecoder()


def _skip(text, i):
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return i


def _object_id(text, i):
    """From the `{` at text[i]: the text of its first `id` value (None without one), and the end."""
    i = _skip(text, i + 1)
    found = None
    if text[i] == "}":
        return found, i + 1
    while True:
        key, i = _PLAIN.raw_decode(text, i)
        i = _skip(text, i)
        i = _skip(text, i + 1)  # the colon
        start = i
        _, i = _PLAIN.raw_decode(text, i)
        if found is None and key == "id":
            found = text[start:i]
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
            continue
        return found, i + 1


def written_ids(text):
    """The text of the top-level `id` of an object, or of each member of an array (None where a member
    is not an object or has none). `text` must be JSON."""
    i = _skip(text, 0)
    if text[i] == "{":
        return [_object_id(text, i)[0]]
    ids = []
    i = _skip(text, i + 1)
    if text[i] == "]":
        return ids
    while True:
        if text[i] == "{":
            found, i = _object_id(text, i)
            ids.append(found)
        else:
            _, i = _PLAIN.raw_decode(text, i)
            ids.append(None)
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
            continue
        return ids


def _member(value, raw):
    """What one request object (or batch member) deserves."""
    if not isinstance(value, dict):
        return INVALID_NULL
    has_id = "id" in value
    if has_id:
        id = value["id"]
        if id is None:
            raw = None
        elif isinstance(id, str):  # Num is a str too: a number or a string
            pass
        else:
            return INVALID_NULL
    if value.get("jsonrpc") != "2.0" or isinstance(value.get("jsonrpc"), Num):
        return ("id", raw, "invalid", None) if has_id and raw is not None else INVALID_NULL
    method = value.get("method")
    if not isinstance(method, str) or isinstance(method, Num):
        return ("id", raw, "invalid", None) if has_id and raw is not None else INVALID_NULL
    if "params" in value and not isinstance(value["params"], (dict, list)):
        return ("id", raw, "invalid", None) if has_id and raw is not None else INVALID_NULL
    if not has_id:
        return SILENT
    if raw is None:
        return ("nullrun", method)
    return ("id", raw, "run", method)


def classify(frame: bytes, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
    """What the sidecar owes for one line of input (`frame`: the bytes between two `\n`)."""
    if len(frame) > max_line_bytes:
        return INVALID_NULL
    if frame.endswith(b"\r"):
        frame = frame[:-1]
    if frame.startswith(b"\xef\xbb\xbf"):  # a byte order mark, skipped
        frame = frame[3:]
    if not frame.strip(b" \t\r\n"):
        return SILENT
    try:
        frame.decode("utf-8")
    except UnicodeDecodeError:
        return PARSE_ERROR
    if too_deep(frame):
        return PARSE_ERROR
    try:
        value, scanned = _read(frame)
    except (_Unreadable, RecursionError):
        return PARSE_ERROR
    if isinstance(value, dict):
        return _member(value, _raw_id(scanned) if "id" in value else None)
    if isinstance(value, list):
        if not value or len(value) > MAX_BATCH:
            return INVALID_NULL
        members = [_member(member, _raw_id(scanned[i]) if isinstance(member, dict) and "id" in member else None)
                   for i, member in enumerate(value)]
        answered = tuple(m for m in members if m is not SILENT)
        return ("batch", answered) if answered else SILENT
    return INVALID_NULL


# ---------------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------------

PLAN_ID = "550e8400-e29b-41d4-a716-446655440000"
CLIENT_IDS = [f"660e8400-e29b-41d4-a716-44665544{n:04d}" for n in range(1, 9)]
MESSAGE_TYPES = ["welcome", "budget_summary", "vendor_options", "selection_confirmation", "reminder", "blueprint_delivery"]

# Huge, odd and edge numbers, as written.
NUMBERS = ["1e400", "-1e400", "99999999999999999999999", "-0", "1E+2", "1e-400", "0e400", "-0.0",
           "1.7976931348623157e308", "1.8e308", "9" * 400, "18446744073709551615", "-9223372036854775809",
           "0." + "0" * 400 + "1", "1" * 308, "123456789012345678901234567890e300", "2.50", "1e05"]
INVALID_UTF8 = [b"\x80", b"\xbf", b"\x80\x80", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",
                b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80", b"\xf4\x90\x80\x80", b"\xf5",
                b"\xfe", b"\xff", b"\xe2\x82", b"\xc3", b"\xf0\x9f\x98"]
LONE_SURROGATES = [r"\ud800", r"\udbff", r"\udc00", r"\udfff", r"\udc00\ud800", r"\ud83d", r"\ud83dx", r"\ude00\ud83d"]
UNKNOWN_METHODS = ["no.such.method", "", "rpc.", "health ", "HEALTH", "communicate\u0000", "rpc.discover/", "é"]


class Generator:
    """Seeded: the same seed and settings give the same bytes."""

    def __init__(self, seed, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
        self.rng = random.Random(seed)
        self.max_line_bytes = max_line_bytes
        self.serial = 0

    # Ids ---------------------------------------------------------------------------------------------

    def _next(self):
        self.serial += 1
        return self.serial

    def id_text(self, kind=None):
        """The text of an id, of any JSON type; unique where it can be (a serial number in it)."""
        r, k = self.rng, self._next()
        kind = kind or r.choices(
            ["int", "string", "neg", "float", "exp", "big", "escaped", "unicode", "pair", "null", "zero",
             "long", "true", "object", "array", "huge", "lone"],
            [30, 30, 4, 4, 4, 3, 4, 3, 2, 3, 1, 1, 1, 1, 1, 1, 1])[0]
        return {
            "int": lambda: str(k),
            "string": lambda: f'"s-{k}"',
            "neg": lambda: f"-{k}",
            "float": lambda: r.choice([f"{k}.5", f"{k}.50", f"{k}.0", f"-{k}.25"]),
            "exp": lambda: r.choice([f"{k}e0", f"{k}E+0", f"{k}e-0", f"{k}.0E00", f"{k}e2"]),
            "big": lambda: f"99999999999999999999999{k}",
            "escaped": lambda: r.choice([f'"\\u0073-{k}"', f'"q\\"{k}\\\\"', f'"\\/{k}\\n\\t"', f'"\\u0000{k}"']),
            "unicode": lambda: r.choice([f'"é-{k}"', f'"प्रिया-{k}"', f'"\\u00e9 é {k}"', f'"\x7f{k}"']),
            "pair": lambda: f'"\\ud83d\\ude00{k}"',
            "null": lambda: "null",
            "zero": lambda: r.choice(["0", "-0", "0.0", "-0.0e-0", "0e5"]),
            "long": lambda: '"' + "x" * r.choice([1000, 10000]) + f'{k}"',
            "true": lambda: r.choice(["true", "false"]),
            "object": lambda: f'{{"n":{k}}}',
            "array": lambda: r.choice([f"[{k}]", "[]"]),
            "huge": lambda: r.choice(["1e400", "-1e400", "9" * 400]),
            "lone": lambda: f'"{r.choice(LONE_SURROGATES)}{k}"',
        }[kind]()

    # Valid requests ----------------------------------------------------------------------------------

    def params_for(self, method):
        r = self.rng
        client = r.choice(CLIENT_IDS)
        if method == "communicate":
            params = {
                "plan_id": PLAN_ID, "client_id": client, "message_type": r.choice(MESSAGE_TYPES),
                "urgency": r.choice(["critical", "critical", "high"]),
                "recipient": r.choice([{"email": "priya@example.com"}, {"email": "priya@example.com", "phone": "+919876543210"}]),
                "context": {"client_name": r.choice(["Priya Sharma", "प्रिया", "Zoë 😀"]), "deadline": "Friday",
                            "event_type": "wedding"},
            }
            roll = r.random()
            if roll < 0.3:
                params["dry_run"] = True
            elif roll < 0.6:
                params["wait"] = False
            return params
        return {
            "health": lambda: r.choice([None, {}]),
            "rpc.discover": lambda: None,
            "communications.get": lambda: {"communication_id": str(uuid.UUID(int=r.getrandbits(128), version=4))},
            "communications.cancel": lambda: {"communication_id": str(uuid.UUID(int=r.getrandbits(128), version=4))},
            "communications.list": lambda: {"client_id": client, "limit": r.choice([1, 5, 20])},
            "preferences.get": lambda: {"client_id": client},
            "preferences.update": lambda: {"client_id": client, "timezone": r.choice(["Asia/Kolkata", "UTC", "Europe/Lisbon"]),
                                           "preferred_channels": r.choice([["email"], ["whatsapp", "email"]])},
            "templates.preview": lambda: {"message_type": r.choice(MESSAGE_TYPES), "channel": r.choice(["email", "sms", "whatsapp"]),
                                          "context": {"client_name": "Priya Sharma"}},
            "events.list": lambda: {"after": r.choice([0, 5]), "limit": r.choice([1, 10])},
            "audit.list": lambda: {"limit": r.choice([1, 10])},
            "analytics.get": lambda: {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
        }.get(method, lambda: r.choice([None, {}, [1, 2]]))()

    def method(self):
        return self.rng.choices(
            ["health", "communicate", "preferences.get", "communications.list", "communications.get",
             "communications.cancel", "preferences.update", "templates.preview", "events.list", "audit.list",
             "analytics.get", "rpc.discover", "unknown"],
            [30, 8, 14, 10, 8, 4, 3, 8, 6, 4, 1, 0.2, 6])[0]

    def request(self, method=None, id_text=None, with_id=True, params="default"):
        """One request (or notification) as text, its keys in a random order and spacing."""
        r = self.rng
        method = method or self.method()
        name = r.choice(UNKNOWN_METHODS) if method == "unknown" else method
        if params == "default":
            params = self.params_for(method)
        ensure_ascii = r.random() < 0.3
        parts = [('"jsonrpc"', '"2.0"'), ('"method"', json.dumps(name, ensure_ascii=ensure_ascii))]
        if with_id:
            parts.append(('"id"', id_text or self.id_text()))
        if params is not None:
            parts.append(('"params"', json.dumps(params, ensure_ascii=ensure_ascii)))
        r.shuffle(parts)
        colon, comma = r.choice([(":", ","), (": ", ", "), (" : ", " , "), (":", ",\t")])
        return "{" + comma.join(k + colon + v for k, v in parts) + "}"

    # Mutations ---------------------------------------------------------------------------------------

    def mutate(self, line: bytes) -> bytes:
        r = self.rng
        data = bytearray(line)
        for _ in range(r.choice([1, 1, 1, 2, 3])):
            if not data:
                data = bytearray(b"{")
            op = r.choice(["flip", "flip", "truncate", "insert", "delete", "nul", "utf8", "dup", "swap", "cr", "splice"])
            at = r.randrange(len(data) + 1)
            if op == "flip":
                at = min(at, len(data) - 1)
                data[at] ^= 1 << r.randrange(8)
            elif op == "truncate":
                del data[at:]
            elif op == "insert":
                data[at:at] = bytes([r.choice(b'{}[]",:\\ 0123456789eE+-.tfnu\t\r')])
            elif op == "delete":
                del data[at:at + r.choice([1, 1, 2, 5])]
            elif op == "nul":
                data[at:at] = b"\x00" * r.choice([1, 1, 2, 4])
            elif op == "utf8":
                data[at:at] = r.choice(INVALID_UTF8)
            elif op == "dup":
                end = min(len(data), at + r.randrange(1, 40))
                data[at:at] = data[at:end]
            elif op == "swap":
                i, j = r.randrange(len(data)), r.randrange(len(data))
                data[i], data[j] = data[j], data[i]
            elif op == "cr":
                data[at:at] = b"\r"
            elif op == "splice":
                other = self.request().encode()
                data[at:] = other[r.randrange(len(other)):]
        return bytes(data)

    # Lines -------------------------------------------------------------------------------------------

    def chunk(self) -> bytes:
        """The next piece of input, without its final line end (it may hold `\\n` itself)."""
        r = self.rng
        kind = r.choices(
            ["mutated", "valid", "ids", "notification", "blank", "garbage", "number", "deep", "batch",
             "duplicate", "surrogate", "nul", "utf8", "cr"],
            [34, 16, 10, 6, 4, 4, 3, 3, 5, 3, 3, 3, 3, 3])[0]
        return getattr(self, "_" + kind)()

    def _mutated(self):
        return self.mutate(self.request().encode())

    def _valid(self):
        return self.request().encode()

    def _ids(self):
        return self.request(method=self.rng.choice(["health", "unknown", "preferences.get"])).encode()

    def _notification(self):
        return self.request(with_id=False, method=self.rng.choice(["health", "unknown", "preferences.get", "events.list"])).encode()

    def _blank(self):
        return self.rng.choice([b"", b" ", b"   ", b"\t", b" \t ", b"\r", b" \r", b"\r\r", b"\t\r\n\r", b"\x0c", b"\x0b", b"\xc2\xa0"])

    def _garbage(self):
        r = self.rng
        return r.choice([
            lambda: bytes(r.getrandbits(8) for _ in range(r.randrange(1, 200))),
            lambda: r.choice([b"garbage", b"null", b"true", b"42", b'"str"', b"{", b"}", b"[", b"]", b"[]", b"[ ]",
                              b"{}", b"[[]]", b"[{}]", b"[null]", b"[1]", b"[1,2,3]", b"NaN", b"Infinity", b"-Infinity",
                              b"'x'", b"{'jsonrpc':'2.0'}", b"//", b"/* */ {}", b"0x10", b"\xef\xbb", b"\x00"]),
            lambda: r.choice([b'{"jsonrpc":"2.0","id":1,"method":"health"}}', b'{"jsonrpc":"2.0","id":1,"method":"health"} {}',
                              b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
                              b'{"jsonrpc":"2.0","method":1,"params":"bar"}']),
        ])()

    def _number(self):
        r = self.rng
        number = r.choice(NUMBERS)
        if r.random() < 0.5:
            return self.request(method="health", id_text=number).encode()
        return self.request(method=r.choice(["health", "events.list", "communications.list"]),
                            params={"after": 0, "limit": 1, "x": 1}).encode().replace(b'"x": 1', b'"x": ' + number.encode()).replace(
                                b'"x":1', b'"x":' + number.encode())

    def _deep(self):
        r = self.rng
        depth = r.choice([MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 1, 1000] * 3 + [100000])
        shape = r.choice(["arrays", "objects", "params", "context", "batch", "string"])
        if shape == "arrays":
            return b"[" * depth + b"]" * depth
        if shape == "objects":
            return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)
        if shape == "string":  # brackets inside a string do not nest
            return self.request(method="health", params={"x": "[{" * depth}).encode()
        if shape == "batch":  # the batch's array is a level too
            inner = b"[" * (depth - 3) + b"]" * (depth - 3)
            return b"[" + self.request(method="health").encode()[:-1] + b',"params":{"x":' + inner + b"}}]"
        method = "communicate" if shape == "context" else r.choice(["health", "templates.preview"])
        params = self.params_for(method) or {}
        # The request object is level 1, params 2, context (or x) 3: the rest makes up `depth`.
        key = "context" if shape == "context" else "x"
        nested = "[" * (depth - 3) + "]" * (depth - 3) if depth > 3 else "1"
        text = self.request(method=method, params=dict(params, **{key: "@@"}))
        return text.replace('"@@"', "{" + '"n":' + nested + "}", 1).encode() if depth > 3 else text.encode()

    def _batch(self):
        r = self.rng
        size = r.choice([1, 2, 3, 5, 10, 30])
        members = []
        for _ in range(size):
            roll = r.random()
            if roll < 0.35:
                members.append(self.request(method=r.choice(["health", "preferences.get", "unknown", "templates.preview"])).encode())
            elif roll < 0.55:
                members.append(self.request(with_id=False, method=r.choice(["health", "unknown"])).encode())
            elif roll < 0.8:
                members.append(r.choice([b"1", b"null", b'"x"', b"[]", b"{}", b"[1]", b'{"jsonrpc":"1.0","id":7,"method":"health"}',
                                         self.request(method="health").replace('"2.0"', '"2"').encode(),
                                         self.request(method="health").replace('"method"', '"mehtod"').encode()]))
            else:
                members.append(self.mutate(self.request(method="health").encode()))
        spacing = r.choice([b",", b", ", b" ,\t"])
        line = b"[" + spacing.join(members) + b"]"
        if r.random() < 0.1:
            return b"[]"
        if r.random() < 0.1:  # only notifications: no answer at all
            return b"[" + b",".join(self.request(with_id=False, method="health").encode() for _ in range(size)) + b"]"
        return line

    def _duplicate(self):
        r = self.rng
        text = self.request(method=r.choice(["health", "preferences.get", "unknown"]))
        extra = r.choice([f'"id":{self.id_text("int")}', f'"id":{self.id_text("string")}', '"id":null', '"id":true',
                          '"method":"health"', '"method":"no.such"', '"jsonrpc":"1.0"', '"jsonrpc":"2.0"',
                          '"params":{}', '"params":7', f'"\\u0069d":{self.id_text("int")}'])
        if r.random() < 0.5:
            return ("{" + extra + "," + text[1:]).encode()
        return (text[:-1] + "," + extra + "}").encode()

    def _surrogate(self):
        r = self.rng
        escape = r.choice(LONE_SURROGATES)
        if r.random() < 0.4:
            return self.request(method="health", id_text=f'"{escape}{self._next()}"').encode()
        method = r.choice(["templates.preview", "communicate", "preferences.get"])
        params = self.params_for(method)
        text = self.request(method=method, params=params)
        return text.replace("Priya", "Pri" + escape, 1).replace("Asia", escape, 1).replace("wedding", escape, 1).encode()

    def _nul(self):
        r = self.rng
        line = self.request(method=r.choice(["health", "preferences.get"])).encode()
        at = r.randrange(0, len(line))  # in the first bytes too: Foundation read those as UTF-16
        return r.choice([line[:at] + b"\x00" + line[at:], line + b"\x00", line.replace(b'"2.0"', b'"2.0\x00"'),
                         line.replace(b'"health"', b'"health\\u0000"'), b"\x00", b"\x00\x00\x00"])

    def _utf8(self):
        r = self.rng
        line = self.request(method=r.choice(["health", "templates.preview"])).encode()
        at = r.randrange(1, len(line))
        bad = r.choice(INVALID_UTF8)
        return r.choice([line[:at] + bad + line[at:], bad, line.replace(b"Priya", b"Pri" + bad)])

    def _cr(self):
        """CR-only line ends: to the sidecar these requests are all one line."""
        r = self.rng
        count = r.choice([1, 2, 3, 5])
        lines = [self.request(method=r.choice(["health", "preferences.get"])).encode() for _ in range(count)]
        return r.choice([b"\r".join(lines) + b"\r", b"\r".join(lines), lines[0] + b"\r\r", b"\r" + lines[0],
                         lines[0] + b"\r"])

    # Heavy lines -------------------------------------------------------------------------------------

    def big_batch(self, kind, size=10_000):
        """A batch of `size`: requests with ids, notifications only, or members each invalid."""
        r = self.rng
        if kind == "requests":
            members = (('{"jsonrpc":"2.0","method":"health","id":%d}' % self._next()).encode() for _ in range(size))
        elif kind == "notifications":
            members = (b'{"jsonrpc":"2.0","method":"health"}' for _ in range(size))
        else:
            members = (r.choice([b"1", b"{}", b"[]", b'"x"', b"null", b'{"jsonrpc":"1.0","method":"health"}']) for _ in range(size))
        return b"[" + b",".join(members) + b"]"

    def batch_storm(self, lines=20):
        """`lines` batches of MAX_BATCH invalid members back to back: [1,1,...,1] (20 KB each)."""
        return b"\n".join([b"[" + b",".join([b"1"] * MAX_BATCH) + b"]"] * lines)

    def long_line(self, length):
        """A `health` request of exactly `length` bytes (a long string in its params; a number for id)."""
        head = self.request(method="health", id_text=self.id_text("int"), params={"pad": ""}).encode()
        fill = length - len(head)
        if fill < 0:
            raise ValueError("too short")
        return head.replace(b'"pad": ""', b'"pad": "' + b"a" * fill + b'"', 1).replace(
            b'"pad":""', b'"pad":"' + b"a" * fill + b'"', 1)

    def heavy_lines(self):
        """The lines at and over the limit, and the 10,000-member batches."""
        limit = self.max_line_bytes
        lines = [self.long_line(limit), self.long_line(limit - 1) + b"\r", self.long_line(limit) + b"\r",
                 self.long_line(limit + 1), b"x" * (limit + 1), b" " * (limit + 1), b"[" * (limit + 1),
                 self.long_line(1 << 20), self.long_line((1 << 20) + 1), b"\xff" * (1 << 20)]
        for kind in ("requests", "notifications", "invalid"):
            batch = self.big_batch(kind)
            lines.append(batch if len(batch) <= limit or kind == "requests" else self.big_batch(kind, 1000))
        return lines


# ---------------------------------------------------------------------------------------------------
# The ledger: what the input deserves, added up
# ---------------------------------------------------------------------------------------------------

def member_key(expect):
    """The key a batch member's answer is filed under: its id's text, or what a null id stands for."""
    if expect[0] == "id":
        return expect[1]
    if expect[0] == "nullrun":
        return "null:ran"
    return f"null:{expect[1]}"


class Ledger:
    def __init__(self):
        self.lines = 0
        self.bytes = 0
        self.kinds = collections.Counter()  # silent / null / id / nullrun / batch
        self.null = collections.Counter()  # -32700, -32600, "ran": single answers with id null
        self.ids = collections.defaultdict(list)  # id text -> [(kind, method)]
        self.batches = collections.defaultdict(list)  # signature -> [members]
        self.batch_members = 0
        self.deviations_left_out = collections.Counter()
        self.null_methods = set()  # the methods of requests with "id": null

    def add(self, expect, frame_length):
        self.lines += 1
        self.bytes += frame_length + 1
        tag = expect[0]
        self.kinds[tag] += 1
        if tag == "null":
            self.null[expect[1]] += 1
        elif tag == "nullrun":
            self.null["ran"] += 1
            self.null_methods.add(expect[1])
        elif tag == "id":
            self.ids[expect[1]].append((expect[2], expect[3]))
        elif tag == "batch":
            signature = tuple(sorted(member_key(m) for m in expect[1]))
            self.batches[signature].append(expect[1])
            self.batch_members += len(expect[1])
            self.null_methods.update(m[1] for m in expect[1] if m[0] == "nullrun")

    @property
    def expected_answers(self):
        return sum(self.null.values()) + sum(len(v) for v in self.ids.values()) + sum(len(v) for v in self.batches.values())


def hostile_input(seed, count, max_line_bytes, ledger, heavy_sets=1, batch_storms=0):
    """Yields `count` lines of hostile input (each chunk with its final line end), adding what each
    deserves to `ledger`. `heavy_sets` times the lines at and over the limit and the 10,000-member
    batches are spread over them; `batch_storms` times 20 batches of 10,000 invalid members back to
    back (see test_hostile_stdio.py: each member costs the sidecar ~3.5 KB until its batch is written,
    and such batches are not throttled).
    Lines the sidecar reads differently from RFC 8259 in ways the volume run does not model (see the
    module's doc) are replaced by others, and counted in `ledger.deviations_left_out`."""
    generator = Generator(seed, max_line_bytes)
    heavy_lines = [line for _ in range(heavy_sets) for line in generator.heavy_lines()]
    heavy_lines += [generator.batch_storm() for _ in range(batch_storms)]
    generator.rng.shuffle(heavy_lines)
    # Spread the heavy lines over the run, at seeded places.
    places = sorted(generator.rng.sample(range(max(count, 1)), min(len(heavy_lines), count)))
    written = 0
    while written < count:
        if places and written >= places[0]:
            places.pop(0)
            chunk = heavy_lines.pop(0)
        else:
            chunk = generator.chunk()
        frames = chunk.split(b"\n")
        expects = [classify(frame, max_line_bytes) for frame in frames]
        if any(e[0] == "deviation" for e in expects):
            ledger.deviations_left_out.update(e[1] for e in expects if e[0] == "deviation")
            continue
        for frame, expect in zip(frames, expects):
            ledger.add(expect, len(frame))
        written += len(frames)
        yield chunk + b"\n"


def generate(seed, count, max_line_bytes, path, heavy_sets=1, batch_storms=0):
    """Writes `hostile_input` to `path` and returns its Ledger."""
    ledger = Ledger()
    with open(path, "wb", buffering=1 << 20) as out:
        for chunk in hostile_input(seed, count, max_line_bytes, ledger, heavy_sets, batch_storms):
            out.write(chunk)
    return ledger


# ---------------------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------------------

def _line_with(data: bytes, marker: bytes):
    """The whole line of `data` holding the last `marker`, with its line end, or None."""
    at = data.rfind(marker)
    if at < 0:
        return None
    end = data.find(b"\n", at)
    if end < 0:
        return None
    return data[data.rfind(b"\n", 0, at) + 1:end + 1]


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Run:
    """One sidecar fed a file of input from one thread while another drains its stdout to a file."""

    def __init__(self, binary, workdir, env=None, sample_seconds=0.05, kill_above_mb=3072):
        self.workdir = pathlib.Path(workdir)
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith(("SMTP_", "TWILIO_", "WHATSAPP_", "DATABASE_", "DB_", "MAX_", "WHEN_",
                                            "POLICY_", "OUTBOX_", "TEMPLATES_", "LOG_", "SHUTDOWN_"))}
        environment["WEBHOOK_PORT"] = "0"
        environment.update(env or {})
        self.out_path = self.workdir / "stdout.jsonl"
        self.err_path = self.workdir / "stderr.jsonl"
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.process = subprocess.Popen([binary], cwd=self.workdir, env=environment, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self._err, bufsize=0)
        self.pid = self.process.pid
        self.samples = []  # (seconds since start, VmRSS kB)
        self.killed_for_memory = None
        self.kill_above_kb = kill_above_mb * 1024
        self.sample_seconds = sample_seconds
        self.started = time.monotonic()
        self.fed_at = None  # when the last input byte was written
        self.out_lines = 0
        self._recent = collections.deque()  # the last MiB or so of stdout, in the chunks read
        self._recent_bytes = 0
        self._found = {}  # marker -> the line of stdout that holds it (None until it comes)
        self._seen = threading.Condition()
        self._eof = False
        self._done = threading.Event()
        self._reading = threading.Event()  # cleared: stdout is left unread (a client that stops reading)
        self._reading.set()
        self.write_error = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._reader.start()
        self._sampler.start()

    def _read(self):
        fd = self.process.stdout.fileno()
        carry = b""  # the end of what came before, for a marker cut between two reads
        while True:
            self._reading.wait()
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            self._out.write(chunk)
            with self._seen:
                self.out_lines += chunk.count(b"\n")
                self._recent.append(chunk)
                self._recent_bytes += len(chunk)
                while self._recent_bytes - len(self._recent[0]) >= 1 << 20:
                    self._recent_bytes -= len(self._recent.popleft())
                window = carry + chunk
                for marker in [m for m, line in self._found.items() if line is None]:
                    self._found[marker] = _line_with(window, marker)
                carry = window[-(1 << 16):]
                self._seen.notify_all()
        self._out.flush()
        with self._seen:
            self._eof = True
            self._seen.notify_all()

    def _sample(self):
        while not self._done.is_set() and self.process.poll() is None:
            kb = rss_kb(self.pid)
            if kb is not None:
                self.samples.append((time.monotonic() - self.started, kb))
                if kb > self.kill_above_kb and self.killed_for_memory is None:
                    self.killed_for_memory = kb
                    self.process.kill()
            self._done.wait(self.sample_seconds)

    def pause_reading(self):
        """Stops draining stdout (after the read under way, if any)."""
        self._reading.clear()

    def resume_reading(self):
        self._reading.set()

    def feed(self, chunks, copy_to=None, size=1 << 16):
        """Writes the chunks to stdin in writes of about `size` bytes (blocking as the pipe fills: that
        is the backpressure), and to `copy_to` (a path) as well."""
        fd = self.process.stdin.fileno()
        copy = open(copy_to, "wb", buffering=1 << 20) if copy_to else None
        pending, length = [], 0
        try:
            for chunk in itertools.chain(chunks, [None]):
                if chunk is not None:
                    pending.append(chunk)
                    length += len(chunk)
                    if length < size:
                        continue
                data = b"".join(pending)
                pending, length = [], 0
                if copy:
                    copy.write(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
        except (BrokenPipeError, OSError) as error:
            self.write_error = error
        finally:
            if copy:
                copy.close()
        self.fed_at = time.monotonic()

    def write(self, data: bytes):
        fd = self.process.stdin.fileno()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def expect(self, marker: bytes):
        """Starts looking for `marker` in stdout (what came in the last MiB or so, and all that comes):
        call it before writing the request whose answer holds it."""
        with self._seen:
            if marker not in self._found:
                self._found[marker] = _line_with(b"".join(self._recent), marker)

    def wait_for(self, marker: bytes, timeout):
        """The line of stdout holding `marker` (see `expect`), or None at timeout or end of stdout."""
        self.expect(marker)
        deadline = time.monotonic() + timeout
        with self._seen:
            while self._found[marker] is None:
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._seen.wait(min(left, 0.5))
            return self._found[marker]

    def close(self, timeout):
        """Closes stdin and waits for the exit code (None if it had to be killed)."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        self._done.set()
        self._reading.set()
        self._reader.join(30)
        self._sampler.join(5)
        self._out.close()
        self._err.close()
        return code

    @property
    def peak_kb(self):
        return max((kb for _, kb in self.samples), default=0)


def final_health(run, ledger, timeout, refuse):
    """Sends `health` after everything (again while refused -32005) until a result comes back.
    Returns (the answer line or None, the RSS then in kB)."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        marker = f"hostile-final-{attempt}-{uuid.uuid4().hex}"
        raw = json.dumps(marker)
        ledger.add(("id", raw, "run", "health"), 0)
        run.expect(marker.encode())
        run.write(('{"jsonrpc":"2.0","method":"health","id":%s}\n' % raw).encode())
        line = run.wait_for(marker.encode(), max(1.0, deadline - time.monotonic()))
        if line is None:
            return None, rss_kb(run.pid)
        answer = json.loads(line)
        if "result" in answer or not refuse or time.monotonic() > deadline:
            return line, rss_kb(run.pid)
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------------------------------

class Checked:
    """Everything that came back, added up, and every way it broke the contract."""

    def __init__(self):
        self.problems = []
        self.codes = collections.Counter()  # "result" or the error code, for every response and member
        self.notifications = collections.Counter()
        self.lines = 0
        self.batch_answers = 0
        self.refused_in_batches = 0
        self.batches_wholly_refused = 0  # batches whose every request was refused -32005
        self.validated = 0

    def problem(self, text):
        if len(self.problems) < 200:
            self.problems.append(text)
        elif len(self.problems) == 200:
            self.problems.append("... more problems left out")


class _Validator:
    """contract.py's checks, remembered for errors (their data repeats); with `sample` N, results are
    all checked up to 100 per method and then one in N."""

    def __init__(self, sample):
        self.sample = sample
        self.seen_errors = set()
        self.results = collections.Counter()

    def response(self, message, method, checked):
        if "error" in message:
            key = (json.dumps(message["error"], sort_keys=True), method)
            if key in self.seen_errors:
                return
            contract.check_response(message, method)
            self.seen_errors.add(key)
        else:
            self.results[method] += 1
            if self.sample and self.results[method] > 100 and self.results[method] % self.sample:
                return
            contract.check_response(message, method)
        checked.validated += 1


def _code(message):
    return "result" if "result" in message else message.get("error", {}).get("code")


def _fits(expect, message, code):
    """Whether an answer could be the one owed for `expect`, (kind, method) or ("null", code): used to
    pair answers with requests when several requests wrote the same id (or null)."""
    kind, method = expect
    if kind == "null":
        return code == method
    if kind == "invalid" or code == -32600:
        return kind == "invalid" and code == -32600
    if code in (-32005, -32006):
        return True
    if method not in contract.METHODS:
        return code == -32601
    if code == "result":
        try:
            contract.check_response(message, method)
            return True
        except Exception:  # noqa: BLE001 - jsonschema's ValidationError
            return False
    return code in contract._errors_of(contract.METHODS[method][1])


def match(fits, capacity):
    """Pairs answers with kinds of request: `fits[i]` is the set of kinds answer i could be the answer
    to, `capacity[kind]` how many requests of that kind are owed an answer. Returns the kind given to
    each answer (None: no request left for it), as many pairs as can be made (augmenting paths)."""
    assigned = [None] * len(fits)
    holders = {kind: [] for kind in capacity}
    for i, options in enumerate(fits):
        parent, queue = {}, collections.deque()
        for kind in options:
            if kind in holders and kind not in parent:
                parent[kind] = (i, None)
                queue.append(kind)
        found = None
        while queue:
            kind = queue.popleft()
            if len(holders[kind]) < capacity[kind]:
                found = kind
                break
            for j in holders[kind]:
                for other in fits[j]:
                    if other in holders and other not in parent:
                        parent[other] = (j, kind)
                        queue.append(other)
        kind = found
        while kind is not None:
            j, previous = parent[kind]
            if previous is not None:
                holders[previous].remove(j)
            holders[kind].append(j)
            assigned[j] = kind
            kind = previous
    return assigned


def _pair(answers, expects, choose=True):
    """Pairs answers [(message, code)] with expectations [(kind, method)]; returns (pairs, answers
    without a request, expectations without an answer). Without `choose`, answers for expectations
    all of one kind are paired as they come (they are checked afterwards anyway)."""
    if not choose and len(answers) == len(expects) and len(set(expects)) == 1:
        return [(answer, expects[0]) for answer in answers], [], []
    capacity = collections.Counter(expects)
    fits = [{kind for kind in capacity if _fits(kind, message, code)} for message, code in answers]
    assigned = match(fits, capacity)
    pairs, unmatched = [], []
    for answer, kind in zip(answers, assigned):
        if kind is None:
            unmatched.append(answer)
        else:
            pairs.append((answer, kind))
            capacity[kind] -= 1
    left = [kind for kind, n in capacity.items() for _ in range(n)]
    return pairs, unmatched, left


def _member_expect(expect):
    """A batch member's expectation as (kind, method), or ("null", code)."""
    if expect[0] == "null":
        return ("null", expect[1])
    if expect[0] == "nullrun":
        return ("run", expect[1])
    return (expect[2], expect[3])


def _check_pair(message, expect, refuse, in_batch, validator, checked):
    """One answer against what its request deserved: (kind, method) or ("null", code)."""
    code = _code(message)
    kind, method = expect
    if kind == "null":
        if code != method:
            checked.problem(f"owed {method} with id null, answered {code}: {json.dumps(message)[:300]}")
        validator.response(message, None, checked)
        return
    if kind == "invalid":
        if code != -32600:
            checked.problem(f"an invalid request was answered {code}, not -32600: {json.dumps(message)[:300]}")
        validator.response(message, None, checked)
        return
    if code == -32005:
        if not (refuse or in_batch):
            checked.problem(f"WHEN_MAX_IN_FLIGHT=wait but a request was refused -32005: {json.dumps(message)[:300]}")
        if in_batch:
            checked.refused_in_batches += 1
    elif method not in contract.METHODS and code != -32601:
        checked.problem(f"method {method!r} does not exist but the answer was {code}: {json.dumps(message)[:300]}")
    validator.response(message, method if method in contract.METHODS else None, checked)


def _owed(expected):
    """A batch line's members as sorted (key, (kind, method)) pairs."""
    return tuple(sorted((member_key(e), _member_expect(e)) for e in expected))


def _batch_pairs(message, text, owed_members, choose=True):
    """Pairs the members of a batch answer with a batch line's `_owed` members, or None."""
    keys = written_ids(text)
    by_key = collections.defaultdict(list)
    for member, key in zip(message, keys):
        code = _code(member)
        if member.get("id", 0) is None:
            key = "null:-32600" if code == -32600 else "null:ran"
        by_key[key].append((member, code))
    owed = collections.defaultdict(list)
    for key, expect in owed_members:
        owed[key].append(expect)
    pairs = []
    for key, answers in by_key.items():
        got, extra, left = _pair(answers, owed.get(key, []), choose)
        if extra or left:
            return None
        pairs += got
    return pairs


def check_output(path, ledger, refuse, sample=False):
    """Reads every line the sidecar wrote and holds it to the ledger and to the contract."""
    checked = Checked()
    validator = _Validator(sample)
    null_methods = sorted(m for m in ledger.null_methods if m in contract.METHODS)
    later = collections.defaultdict(list)  # id text -> answers, for ids that several lines wrote
    later_batches = collections.defaultdict(list)  # signature -> batch answers, likewise
    with open(path, "rb") as output:
        for number, raw in enumerate(output, 1):
            checked.lines += 1
            if not raw.endswith(b"\n"):
                checked.problem(f"stdout line {number} has no line end: {raw[:200]!r}")
            try:
                text = raw.decode("utf-8")
                message = json.loads(text)
            except ValueError as error:
                checked.problem(f"stdout line {number} is not JSON ({error}): {raw[:300]!r}")
                continue
            try:
                if number == 1:
                    if not (isinstance(message, dict) and message.get("method") == "sidecar.ready"):
                        checked.problem(f"the first line is not sidecar.ready: {raw[:300]!r}")
                    contract.check_notification(message)
                    continue
                if isinstance(message, dict) and "method" in message:
                    checked.notifications[message["method"]] += 1
                    contract.check_notification(message)
                    continue
                if isinstance(message, dict):
                    assert "id" in message, "a response without an id"
                    code = _code(message)
                    checked.codes[code] += 1
                    if message["id"] is None:
                        bucket = code if code in (-32700, -32600) else "ran"
                        ledger.null[bucket] -= 1
                        if code == -32005 and not refuse:
                            checked.problem(f"WHEN_MAX_IN_FLIGHT=wait but a request with id null was refused: {text[:300]}")
                        if code == "result":
                            _null_result(message, null_methods, checked)
                        else:
                            validator.response(message, None, checked)
                        continue
                    key = written_ids(text)[0]
                    waiting = ledger.ids.get(key)
                    if not waiting:
                        checked.problem(f"a response for id {key[:120]} that no line asked for (or asked for once): {text[:300]}")
                    elif len(waiting) == 1 and key not in later:
                        del ledger.ids[key]
                        _check_pair(message, waiting[0], refuse, False, validator, checked)
                    else:
                        later[key].append((message, code))
                elif isinstance(message, list):
                    checked.batch_answers += 1
                    assert message, "an empty array is never a response"
                    for member in message:
                        assert isinstance(member, dict) and "id" in member, f"a batch member is not a response: {member!r}"
                        checked.codes[_code(member)] += 1
                    signature = _signature(message, text)
                    waiting = ledger.batches.get(signature)
                    if not waiting:
                        checked.problem(f"a batch answer of {len(message)} that matches no batch line: {text[:300]}")
                    elif len(waiting) == 1 and signature not in later_batches:
                        del ledger.batches[signature]
                        _check_batch(message, text, _owed(waiting[0]), refuse, validator, checked)
                    else:
                        later_batches[signature].append((message, text))
                else:
                    checked.problem(f"stdout line {number} is neither a message nor a batch: {raw[:300]!r}")
            except AssertionError as error:
                checked.problem(f"stdout line {number} breaks the contract ({error}): {raw[:300]!r}")
            except Exception as error:  # a schema violation (jsonschema's ValidationError) and the like
                checked.problem(f"stdout line {number} breaks the contract ({type(error).__name__}: "
                                f"{str(error)[:300]}): {raw[:300]!r}")
    # Ids that several lines wrote: pair their answers with their requests as well as they go.
    for key, answers in later.items():
        pairs, extra, left = _pair(answers, ledger.ids.pop(key, []))
        for (message, _), expect in pairs:
            _guarded(checked, _check_pair, message, expect, refuse, False, validator, checked)
        for message, _ in extra:
            checked.problem(f"a response for id {key[:120]} more than the lines that wrote it (or of the wrong kind): "
                            f"{json.dumps(message)[:300]}")
        for expect in left:
            checked.problem(f"no response (of a fitting kind) for a request with id {key[:120]}: {expect}")
    for signature, answers in later_batches.items():
        expected = ledger.batches.pop(signature, [])
        classes = collections.Counter(_owed(e) for e in expected)
        fits = []
        for message, text in answers:
            fits.append({c for c in classes if _batch_pairs(message, text, c) is not None})
        assigned = match(fits, classes)
        for (message, text), kind in zip(answers, assigned):
            if kind is None:
                checked.problem(f"a batch answer of {len(message)} that fits no batch line left: {text[:300]}")
                continue
            classes[kind] -= 1
            _guarded(checked, _check_batch, message, text, kind, refuse, validator, checked)
        if sum(classes.values()):
            checked.problem(f"{sum(classes.values())} batch(es) of {len(signature)} never answered (members {list(signature)[:10]})")
    # What was owed and never came.
    for bucket, left in ledger.null.items():
        if left > 0:
            checked.problem(f"{left} answer(s) with id null and code {bucket} never came")
        elif left < 0:
            checked.problem(f"{-left} answer(s) with id null and code {bucket} came without a line that deserved them")
    missing = [(key, expects) for key, expects in ledger.ids.items() if expects]
    for key, expects in missing[:20]:
        checked.problem(f"no response for id {key[:120]} ({expects})")
    if len(missing) > 20:
        checked.problem(f"... {len(missing)} ids without a response in all")
    left_batches = sum(len(v) for v in ledger.batches.values())
    if left_batches:
        example = next(sig for sig, v in ledger.batches.items() if v)
        checked.problem(f"{left_batches} batch(es) never answered, e.g. one with members {list(example)[:10]}")
    return checked


def _guarded(checked, check, *arguments):
    try:
        check(*arguments)
    except AssertionError as error:
        checked.problem(f"an answer breaks the contract ({error})")
    except Exception as error:  # noqa: BLE001
        checked.problem(f"an answer breaks the contract ({type(error).__name__}: {str(error)[:300]})")


_NULL_ORDER = []  # methods that results with id null fitted, the latest first


def _null_result(message, methods, checked):
    """A result with id null must fit one of the methods that requests with id null named."""
    for method in sorted(methods, key=lambda m: _NULL_ORDER.index(m) if m in _NULL_ORDER else len(_NULL_ORDER)):
        if method not in contract.METHODS:
            continue
        try:
            contract.check_response(message, method)
        except Exception:  # noqa: BLE001 - jsonschema's ValidationError; formatting one is slow
            continue
        if method in _NULL_ORDER:
            _NULL_ORDER.remove(method)
        _NULL_ORDER.insert(0, method)
        checked.validated += 1
        return
    raise AssertionError(f"a result with id null fits no method asked with id null ({sorted(methods)})")


def _signature(message, text):
    keys = []
    for member, key in zip(message, written_ids(text)):
        if member.get("id", 0) is None:
            key = "null:-32600" if _code(member) == -32600 else "null:ran"
        keys.append(key)
    return tuple(sorted(keys))


def _check_batch(message, text, owed_members, refuse, validator, checked):
    pairs = _batch_pairs(message, text, owed_members, choose=False)
    if pairs is None:
        checked.problem(f"a batch answer's members do not fit its line's requests: {text[:300]}")
        return
    requests = refused = 0
    for (member, code), expect in pairs:
        if expect[0] == "run":
            requests += 1
            refused += code == -32005
        if member["id"] is None and code == "result":
            _guarded(checked, _null_result, member, [expect[1]], checked)
            continue
        _guarded(checked, _check_pair, member, expect, refuse, True, validator, checked)
    if requests and refused == requests:
        checked.batches_wholly_refused += 1


def check_stderr(path, limit=200_000):
    """Every log line is a JSON object with ts, level and msg (the first `limit` lines are read)."""
    problems = []
    with open(path, "rb") as log:
        for number, raw in enumerate(log, 1):
            if number > limit:
                break
            try:
                record = json.loads(raw)
                assert isinstance(record, dict) and {"ts", "level", "msg"} <= set(record)
            except (ValueError, AssertionError):
                problems.append(f"stderr line {number} is not a log record: {raw[:200]!r}")
                if len(problems) > 20:
                    break
    return problems


# ---------------------------------------------------------------------------------------------------
# One whole run
# ---------------------------------------------------------------------------------------------------

class Outcome:
    pass


def hostile_run(binary, workdir, seed, count, max_line_bytes=DEFAULT_MAX_LINE_BYTES, refuse=False, heavy_sets=1,
                batch_storms=0, env=None, timeout=300, kill_above_mb=3072, sample=0, sample_seconds=0.05,
                pregenerate=True, progress=None):
    """Generates `count` lines, feeds them to a fresh sidecar in `workdir` (WHEN_MAX_IN_FLIGHT=wait, or
    with `refuse` the default), asks `health` afterwards, closes stdin and checks everything. Returns an
    Outcome with the figures and the problems. With `pregenerate` the input is written to a file first
    and fed from it, so the lines/s are the sidecar's; without, it is generated while it is fed (the
    same bytes, sooner done on two cores). Either way it is kept in `workdir`/input.jsonl."""
    workdir = pathlib.Path(workdir)
    outcome = Outcome()
    outcome.seed = seed
    input_path = workdir / "input.jsonl"
    began = time.monotonic()
    if pregenerate:
        ledger = generate(seed, count, max_line_bytes, input_path, heavy_sets=heavy_sets, batch_storms=batch_storms)
        outcome.generate_seconds = time.monotonic() - began
        if progress:
            progress(f"generated {ledger.lines} lines ({ledger.bytes / 1e6:.1f} MB) in {outcome.generate_seconds:.1f} s; feeding")

        def chunks():
            with open(input_path, "rb") as source:
                while data := source.read(1 << 16):
                    yield data
        source, copy_to = chunks(), None
    else:
        ledger = Ledger()
        source = hostile_input(seed, count, max_line_bytes, ledger, heavy_sets, batch_storms)
        copy_to = input_path
        outcome.generate_seconds = 0.0
    run_env = {"MAX_LINE_BYTES": str(max_line_bytes)}
    if not refuse:
        run_env["WHEN_MAX_IN_FLIGHT"] = "wait"
    run_env.update(env or {})
    run = Run(binary, workdir, run_env, sample_seconds=sample_seconds, kill_above_mb=kill_above_mb)
    outcome.problems = []
    ready = run.wait_for(b'"sidecar.ready"', 30)
    if ready is None:
        outcome.problems.append("no sidecar.ready within 30 s")
    started = time.monotonic()
    feeder = threading.Thread(target=run.feed, args=(source, copy_to), daemon=True)
    feeder.start()
    feeder.join(timeout)
    if feeder.is_alive():
        outcome.problems.append(f"the sidecar stopped reading: input not consumed within {timeout} s "
                                f"(last answer lines: {run.out_lines})")
    if run.write_error:
        outcome.problems.append(f"writing stdin failed: {run.write_error!r} (the sidecar died?)")
    outcome.lines_fed = ledger.lines
    outcome.bytes_fed = ledger.bytes
    outcome.kinds = dict(ledger.kinds)
    outcome.expected_answers = ledger.expected_answers
    outcome.deviations_left_out = dict(ledger.deviations_left_out)
    line, end_kb = (None, rss_kb(run.pid))
    if not feeder.is_alive() and not run.write_error:
        line, end_kb = final_health(run, ledger, max(30, timeout - (time.monotonic() - started)), refuse)
        if line is None:
            outcome.problems.append("health after the input: no answer")
        elif "result" not in json.loads(line) or json.loads(line)["result"].get("status") != "ok":
            outcome.problems.append(f"health after the input is not ok: {line[:300]!r}")
    # From the first line written to the answer of the health written after the last one.
    outcome.seconds = time.monotonic() - started
    outcome.end_rss_mb = (end_kb or 0) / 1024
    outcome.exit_code = run.close(timeout=60)
    outcome.peak_rss_mb = run.peak_kb / 1024
    outcome.killed_for_memory_mb = run.killed_for_memory / 1024 if run.killed_for_memory else None
    if outcome.killed_for_memory_mb:
        outcome.problems.append(f"killed: RSS reached {outcome.killed_for_memory_mb:.0f} MB")
    if outcome.exit_code != 0:
        outcome.problems.append(f"exit code {outcome.exit_code} after stdin closed (None: did not exit within 60 s); "
                                f"stderr tail: {run.err_path.read_bytes()[-1500:]!r}")
    began = time.monotonic()
    checked = check_output(run.out_path, ledger, refuse, sample=sample)
    outcome.check_seconds = time.monotonic() - began
    outcome.problems += checked.problems
    outcome.problems += check_stderr(run.err_path)
    outcome.codes = dict(checked.codes)
    outcome.notifications = dict(checked.notifications)
    outcome.answer_lines = checked.lines - 1
    outcome.batch_answers = checked.batch_answers
    outcome.refused_in_batches = checked.refused_in_batches
    outcome.batches_wholly_refused = checked.batches_wholly_refused
    outcome.validated = checked.validated
    outcome.lines_per_second = outcome.lines_fed / outcome.seconds if outcome.seconds else 0
    outcome.rss_samples = run.samples
    outcome.stdout_path = run.out_path
    outcome.stderr_path = run.err_path
    outcome.input_path = input_path
    return outcome


def summary(outcome):
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(outcome.codes.items(), key=lambda kv: str(kv[0])))
    return (f"seed {outcome.seed}: {outcome.lines_fed} lines ({outcome.bytes_fed / 1e6:.1f} MB) in {outcome.seconds:.1f} s "
            f"({outcome.lines_per_second:.0f} lines/s); {outcome.answer_lines} answer lines, {outcome.batch_answers} batch "
            f"answers; answers by code: {codes}; {outcome.refused_in_batches} batch members refused -32005; "
            f"notifications {outcome.notifications}; RSS peak {outcome.peak_rss_mb:.0f} MB, end {outcome.end_rss_mb:.0f} MB; "
            f"exit {outcome.exit_code}; lines left out as known deviations {outcome.deviations_left_out}")
