"""The examples of the JSON-RPC 2.0 specification (section 7), with this sidecar's methods in place of
`subtract`, `sum` and friends."""
import json

import pytest

# Ids a round trip through Int64 or Double would change or respell, and strings whose escapes must come
# back as written (a raw é, an escaped one, escaped quotes and slashes, a surrogate pair).
NUMBER_IDS = [b"0", b"-1", b"9007199254740993", b"18446744073709551615", b"1e2", b"1.5"]
STRING_IDS = [b'"abc-1"', b'""', '"\u00e9 \\u00e9"'.encode(), rb'"a\"b\\c\/d\n"', rb'"\ud83d\ude00"']


def _skip_space(text, index):
    while text[index] in " \t\r\n":
        index += 1
    return index


def written_id(line: bytes) -> bytes:
    """The bytes of the top-level `id` value of one response, as the sidecar wrote them (Python's json
    would read 1e2 as 100.0 and drop the escapes)."""
    text, decoder = line.decode(), json.JSONDecoder()
    index = _skip_space(text, 1)
    while text[index] != "}":
        key, index = decoder.raw_decode(text, index)
        start = _skip_space(text, _skip_space(text, index) + 1)  # past the colon
        _, index = decoder.raw_decode(text, start)
        if key == "id":
            return text[start:index].encode()
        index = _skip_space(text, index)
        if text[index] == ",":
            index = _skip_space(text, index + 1)
    raise AssertionError(f"no id in {line!r}")


def written_members(line: bytes):
    """Each member of a batch response, as the bytes the sidecar wrote for it."""
    text, decoder, members = line.decode(), json.JSONDecoder(), []
    index = _skip_space(text, 1)
    while text[index] != "]":
        start = index
        _, index = decoder.raw_decode(text, start)
        members.append(text[start:index].encode())
        index = _skip_space(text, index)
        if text[index] == ",":
            index = _skip_space(text, index + 1)
    return members


def response_line(sidecar, id):
    """The raw line of the latest response to the request with `id` (as Python reads the id)."""
    sidecar.response(id)
    for line in reversed(sidecar.lines):
        message = json.loads(line)
        if isinstance(message, dict) and "method" not in message and message.get("id") == id:
            return line
    raise AssertionError(f"no line for id {id!r}")


def test_call_with_named_params_echoes_a_string_id(sidecar):
    sidecar.send({"jsonrpc": "2.0", "method": "health", "id": "abc-1"})
    response = sidecar.response("abc-1")
    assert response["result"]["status"] == "ok"


def test_number_ids_come_back_as_the_same_number(sidecar):
    for id in (0, 7, -3, 2**53, 1.5):
        sidecar.send({"jsonrpc": "2.0", "method": "health", "id": id})
        assert sidecar.response(id)["id"] == id


def test_a_null_id_is_a_request_and_is_answered_with_null(sidecar):
    sidecar.send({"jsonrpc": "2.0", "method": "health", "id": None})
    answer = sidecar.next_answer()
    assert answer["id"] is None and answer["result"]["status"] == "ok"


def test_a_notification_gets_no_response(sidecar):
    sidecar.send({"jsonrpc": "2.0", "method": "health"})
    sidecar.send({"jsonrpc": "2.0", "method": "no.such.method"})
    sidecar.send({"jsonrpc": "2.0", "method": "health", "id": 2})
    assert sidecar.response(2)["result"]
    sidecar.stop()
    assert sidecar.answers == []
    assert len(sidecar.lines) == 1


def test_call_of_a_method_that_does_not_exist(sidecar):
    sidecar.send({"jsonrpc": "2.0", "method": "foobar", "id": "1"})
    error = sidecar.response("1")["error"]
    assert error["code"] == -32601
    assert "communicate" in error["data"]["methods"]


def test_call_with_invalid_json(sidecar):
    sidecar.send_raw(b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]\n')
    answer = sidecar.next_answer()
    assert answer["id"] is None and answer["error"]["code"] == -32700


def test_call_with_an_invalid_request_object(sidecar):
    sidecar.send_raw(b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}\n')
    answer = sidecar.next_answer()
    assert answer["id"] is None and answer["error"]["code"] == -32600


def test_an_invalid_request_with_a_readable_id_is_answered_with_that_id(sidecar):
    sidecar.send({"jsonrpc": "1.0", "method": "health", "id": 41})
    assert sidecar.response(41)["error"]["code"] == -32600
    sidecar.send({"jsonrpc": "2.0", "method": "health", "params": "x", "id": 42})
    assert sidecar.response(42)["error"]["code"] == -32600


def test_batch_with_invalid_json(sidecar):
    sidecar.send_raw(b'[{"jsonrpc": "2.0", "method": "health", "id": "1"}, {"jsonrpc": "2.0", "method"]\n')
    answer = sidecar.next_answer()
    assert isinstance(answer, dict) and answer["error"]["code"] == -32700 and answer["id"] is None


def test_an_empty_batch_gets_one_invalid_request_error(sidecar):
    sidecar.send_raw(b"[]\n")
    answer = sidecar.next_answer()
    assert isinstance(answer, dict), "an empty batch is answered with a single error, not an array"
    assert answer["error"]["code"] == -32600 and answer["id"] is None


def test_an_invalid_batch_of_one(sidecar):
    sidecar.send_raw(b"[1]\n")
    answer = sidecar.next_answer()
    assert [member["error"]["code"] for member in answer] == [-32600]


def test_an_invalid_batch_of_three(sidecar):
    sidecar.send_raw(b"[1,2,3]\n")
    answer = sidecar.next_answer()
    assert [member["error"]["code"] for member in answer] == [-32600, -32600, -32600]
    assert all(member["id"] is None for member in answer)


def test_a_mixed_batch(sidecar):
    sidecar.send([
        {"jsonrpc": "2.0", "method": "health", "id": "1"},
        {"jsonrpc": "2.0", "method": "health"},
        {"jsonrpc": "2.0", "method": "preferences.get", "params": {"client_id": 42}, "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "rpc.discover", "id": "9"},
    ])
    answer = sidecar.next_answer()
    by_id = {json.dumps(member["id"]): member for member in answer}
    assert len(answer) == 5
    assert by_id['"1"']["result"]["status"] == "ok"
    assert by_id['"2"']["error"]["code"] == -32602
    assert by_id['"2"']["error"]["data"]["field"] == "client_id"
    assert by_id["null"]["error"]["code"] == -32600
    assert by_id['"5"']["error"]["code"] == -32601
    assert by_id['"9"']["result"]["openrpc"].startswith("1.3")


def test_a_batch_of_notifications_gets_nothing_back(sidecar):
    sidecar.send([{"jsonrpc": "2.0", "method": "health"}, {"jsonrpc": "2.0", "method": "rpc.discover"}])
    sidecar.send({"jsonrpc": "2.0", "method": "health", "id": "after"})
    sidecar.response("after")
    sidecar.stop()
    assert sidecar.answers == [] and len(sidecar.lines) == 1


@pytest.mark.parametrize("id", NUMBER_IDS + STRING_IDS, ids=lambda id: id.decode())
def test_an_id_comes_back_byte_for_byte(sidecar, id):
    sidecar.send_raw(b'{"jsonrpc":"2.0","method":"health","id":' + id + b"}\n")
    line = response_line(sidecar, json.loads(id))
    assert json.loads(line)["result"]["status"] == "ok"
    assert written_id(line) == id


@pytest.mark.parametrize("id", NUMBER_IDS + STRING_IDS, ids=lambda id: id.decode())
def test_an_error_response_echoes_the_id_byte_for_byte(sidecar, id):
    sidecar.send_raw(b'{"jsonrpc":"2.0","method":"no.such.method","id":' + id + b"}\n")
    line = response_line(sidecar, json.loads(id))
    assert json.loads(line)["error"]["code"] == -32601
    assert written_id(line) == id
    sidecar.send_raw(b'{"jsonrpc":"1.0","method":"health","id":' + id + b"}\n")
    line = response_line(sidecar, json.loads(id))
    assert json.loads(line)["error"]["code"] == -32600
    assert written_id(line) == id


def test_every_id_in_a_batch_comes_back_byte_for_byte(sidecar):
    members = [b'{"jsonrpc":"2.0","method":"health","id":' + id + b"}" for id in NUMBER_IDS + STRING_IDS]
    members.append(b'{"jsonrpc":"2.0","method":"no.such.method","id": 2.50 }')
    members.append(b'{"id":-0,"jsonrpc":"1.0","method":"health"}')
    sidecar.send_raw(b"[" + b", ".join(members) + b"]\n")
    answer = sidecar.next_answer()
    assert len(answer) == len(members)
    line = next(line for line in sidecar.lines if line.startswith(b"["))
    written = sorted(written_id(member) for member in written_members(line))
    assert written == sorted(NUMBER_IDS + STRING_IDS + [b"2.50", b"-0"])

