"""Holds every message the sidecar writes to the OpenRPC document in schemas/openrpc.json.

The document is the single source of the wire format: responses are validated against their method's
result schema, errors against the codes the method declares, notifications against x-notifications.
"""
import json
import pathlib

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENT_PATH = ROOT / "schemas" / "openrpc.json"
DOCUMENT = json.loads(DOCUMENT_PATH.read_text())
BASE = "urn:crm-sidecar:openrpc"
REGISTRY = Registry().with_resource(BASE, Resource.from_contents(DOCUMENT, default_specification=DRAFT7))
STANDARD_CODES = {-32700, -32600, -32601, -32602, -32603}

METHODS = {m["name"]: (i, m) for i, m in enumerate(DOCUMENT["methods"])}
NOTIFICATIONS = {n["name"]: (i, n) for i, n in enumerate(DOCUMENT["x-notifications"])}


def validator(pointer):
    """A validator for the schema at `pointer` inside the document (refs resolve against the whole)."""
    return Draft7Validator({"$ref": f"{BASE}#{pointer}"}, registry=REGISTRY, format_checker=Draft7Validator.FORMAT_CHECKER)


def _errors_of(method):
    codes = set(STANDARD_CODES)
    for ref in method.get("errors", []):
        name = ref["$ref"].rsplit("/", 1)[-1]
        codes.add(DOCUMENT["components"]["errors"][name]["code"])
    return codes


def check_error(error, method_name):
    assert set(error) <= {"code", "message", "data"}, error
    assert isinstance(error["code"], int) and isinstance(error["message"], str) and error["message"], error
    if method_name in METHODS:
        assert error["code"] in _errors_of(METHODS[method_name][1]), f"{method_name} does not declare {error['code']}"
    for name, spec in DOCUMENT["components"]["errors"].items():
        if spec["code"] == error["code"] and "data" in spec:
            assert "data" in error, f"error {error['code']} must carry data"
            Draft7Validator({"$ref": f"{BASE}#/components/errors/{name}/data"}, registry=REGISTRY).validate(error["data"])


def check_response(response, method_name):
    """`method_name` may be None when the request could not be read (its id is then null)."""
    assert isinstance(response, dict), response
    assert response.get("jsonrpc") == "2.0", response
    assert "id" in response, response
    assert ("result" in response) != ("error" in response), response
    assert set(response) <= {"jsonrpc", "id", "result", "error"}, response
    if "error" in response:
        check_error(response["error"], method_name)
    else:
        index, _ = METHODS[method_name]
        validator(f"/methods/{index}/result/schema").validate(response["result"])


def check_notification(message):
    assert message.get("jsonrpc") == "2.0" and "id" not in message, message
    assert message["method"] in NOTIFICATIONS, f"unknown notification {message['method']}"
    index, spec = NOTIFICATIONS[message["method"]]
    params = message["params"]
    names = {p["name"] for p in spec["params"]}
    assert set(params) <= names, f"undeclared params {set(params) - names}"
    for i, param in enumerate(spec["params"]):
        if param["name"] in params:
            validator(f"/x-notifications/{index}/params/{i}/schema").validate(params[param["name"]])
        else:
            assert not param.get("required"), f"{message['method']} lacks {param['name']}"
