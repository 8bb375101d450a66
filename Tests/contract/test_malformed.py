"""Bad input gets the right error, and the sidecar goes on answering the next line."""
import pytest

from conftest import communicate_params


def still_answers(sidecar):
    assert sidecar.result("health")["status"] == "ok"


@pytest.mark.parametrize(
    "line, code",
    [
        (b"garbage", -32700),
        (b'{"jsonrpc":"2.0","id":1,"method":"health"', -32700),  # truncated
        (b'{"jsonrpc":"2.0","id":1,"method":"health"}}', -32700),  # trailing junk
        (b'"just a string"', -32600),
        (b"42", -32600),
        (b"null", -32600),
        (b"[]", -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"h\xc3\x28"}', -32700),  # invalid UTF-8
        (b"\xff\xfe\xfd", -32700),
        (b"[" * 100 + b"]" * 100, -32700),  # nested past the limit
        (b'{"a":' * 100 + b"1" + b"}" * 100, -32700),
    ],
    ids=["garbage", "truncated", "trailing-junk", "string", "number", "null", "empty-batch",
         "invalid-utf8-in-string", "invalid-utf8", "deep-array", "deep-object"],
)
def test_unreadable_lines_get_an_error_with_a_null_id(sidecar, line, code):
    sidecar.send_raw(line + b"\n")
    answer = sidecar.next_answer()
    assert answer["id"] is None
    assert answer["error"]["code"] == code
    assert answer["error"]["data"]["reason"]
    still_answers(sidecar)


def test_a_five_mebibyte_line_is_refused_without_being_buffered(sidecar):
    sidecar.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"health","params":{"x":"' + b"a" * (5 << 20) + b'"}}\n')
    answer = sidecar.next_answer()
    assert answer["error"]["code"] == -32600
    assert "1048576" in answer["error"]["message"]
    still_answers(sidecar)


def test_blank_lines_are_ignored(sidecar):
    sidecar.send_raw(b"\n   \n\r\n")
    still_answers(sidecar)
    assert len(sidecar.lines) == 1


def test_crlf_line_ends_are_accepted(sidecar):
    sidecar.send_raw(b'{"jsonrpc":"2.0","id":"crlf","method":"health"}\r\n')
    assert sidecar.response("crlf")["result"]["status"] == "ok"


def test_unknown_method(sidecar):
    assert sidecar.error("communications.delete_everything")["code"] == -32601
    still_answers(sidecar)


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"plan_id": 12}, "plan_id", "string"),
        ({"plan_id": "not-a-uuid"}, "plan_id", "UUID"),
        ({"client_id": None}, "client_id", "null"),
        ({"message_type": "birthday"}, "message_type", "welcome"),
        ({"urgency": 3}, "urgency", "string"),
        ({"urgency": "asap"}, "urgency", "critical"),
        ({"recipient": "priya@example.com"}, "recipient", "object"),
        ({"recipient": {}}, "recipient", "at least one"),
        ({"recipient": {"email": "priya.example.com"}}, "recipient.email", "@"),
        ({"recipient": {"email": "priya@exa mple.com"}}, "recipient.email", "domain"),
        ({"recipient": {"email": "pri ya@example.com"}}, "recipient.email", "local part"),
        ({"recipient": {"email": "priya@example.com\r\nBcc: x@y.z"}}, "recipient.email", ""),
        ({"recipient": {"phone": "555-0100"}}, "recipient.phone", "E.164"),
        ({"recipient": {"phone": "+0123456789"}}, "recipient.phone", "E.164"),
        ({"recipient": {"mobile": "+14155552671"}}, "recipient.mobile", "accepted: email, phone, whatsapp"),
        ({"context": ["a"]}, "context", "object"),
        ({"preferred_channel": "pigeon"}, "preferred_channel", "email"),
        ({"urgencey": "high"}, "urgencey", "accepted"),
    ],
    ids=lambda value: str(value),
)
def test_wrong_params_name_the_field_and_what_is_accepted(sidecar, ids, overrides, field, words):
    params = communicate_params(ids, **overrides)
    error = sidecar.error("communicate", params)
    assert error["code"] == -32602
    assert error["data"]["field"] == field
    assert words in error["data"]["reason"]
    still_answers(sidecar)


def test_a_missing_param_is_named(sidecar, ids):
    params = communicate_params(ids)
    del params["urgency"]
    error = sidecar.error("communicate", params)
    assert error["data"] == {"field": "urgency", "reason": "is required"}


def test_positional_params_are_refused_with_a_reason(sidecar):
    error = sidecar.error("preferences.get", ["660e8400-e29b-41d4-a716-446655440001"])
    assert error["code"] == -32602 and error["data"]["field"] == "params"


def test_errors_never_repeat_the_rejected_value(sidecar, ids):
    secret = "s3cret-body@@example.com"
    error = sidecar.error("communicate", communicate_params(ids, recipient={"email": secret}))
    assert secret not in str(error)
    assert secret not in sidecar.stderr()


def test_a_rejected_request_stores_nothing(sidecar, ids):
    sidecar.error("communicate", communicate_params(ids, recipient={"email": "bad"}))
    assert sidecar.result("communications.list", {"client_id": ids["client_id"]})["communications"] == []
