"""The typed surface agrees with schemas/openrpc.json: the generated modules are what the generator
makes of the schema now, every method and error of the schema has its client counterpart, and the
running sidecar describes the same methods."""
from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
import pathlib
import subprocess
import sys
from types import ModuleType
from typing import Any

import crm_sidecar
from crm_sidecar import Sidecar, SidecarError, SyncSidecar
from crm_sidecar.errors import ERRORS_BY_CODE
from crm_sidecar.schema import ERROR_CODES, METHODS, NOTIFICATIONS
from helpers import ROOT, spawn

GENERATOR = ROOT / "clients" / "python" / "tools" / "generate_types.py"
SCHEMA = ROOT / "schemas" / "openrpc.json"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_types", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return document


def test_generated_modules_match_the_schema() -> None:
    check = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, f"run clients/python/tools/generate_types.py:\n{check.stderr}"


def test_the_check_fails_when_the_schema_changes(tmp_path: pathlib.Path) -> None:
    changed = schema()
    changed["methods"].append({
        "name": "probes.list", "summary": "A method no schema has.", "paramStructure": "by-name",
        "params": [{"name": "client_id", "schema": {"$ref": "#/components/schemas/Uuid"}, "required": False}],
        "result": {"name": "page", "schema": {"type": "object", "properties": {"entries": {"type": "array"}},
                                              "required": ["entries"]}},
    })
    path = tmp_path / "openrpc.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    check = subprocess.run([sys.executable, str(GENERATOR), "--check", "--schema", str(path)],
                           capture_output=True, text=True)
    assert check.returncode == 1
    assert "out of date" in check.stderr
    # A new method gets its typed method and result type on the next run.
    rendered = {path.name: text for path, text in load_generator().render(changed).items()}
    assert "async def list_probes(" in rendered["_methods.py"]
    assert "def list_probes(" in rendered["_methods.py"].split("class SyncMethods")[1]
    assert "class ListProbesResult(" in rendered["schema.py"]


def test_the_generator_does_not_change_the_schema_it_reads() -> None:
    document = schema()
    load_generator().render(document)
    assert document == schema()


def test_every_method_of_the_schema_has_a_typed_method() -> None:
    assert set(METHODS) == {method["name"] for method in schema()["methods"]}
    for python_name in METHODS.values():
        assert asyncio.iscoroutinefunction(getattr(Sidecar, python_name)), python_name
        assert callable(getattr(SyncSidecar, python_name)), python_name
    assert METHODS["communications.get"] == "get_communication"
    assert METHODS["events.list"] == "list_events"
    assert METHODS["rpc.discover"] == "discover"


def test_every_error_of_the_schema_has_an_exception() -> None:
    errors = schema()["components"]["errors"]
    assert ERROR_CODES == {name: error["code"] for name, error in errors.items()}
    for name, code in ERROR_CODES.items():
        exception = getattr(crm_sidecar, name)
        assert issubclass(exception, SidecarError)
        assert exception.code == code
        assert ERRORS_BY_CODE[code] is exception


def test_every_notification_has_a_params_type() -> None:
    import crm_sidecar.schema as types

    assert set(NOTIFICATIONS) == {notification["name"] for notification in schema()["x-notifications"]}
    for type_name in NOTIFICATIONS.values():
        assert hasattr(types, type_name)


def test_the_running_sidecar_describes_the_same_methods(workdir: pathlib.Path) -> None:
    async def scenario() -> None:
        async with spawn(workdir) as sidecar:
            described = await sidecar.discover()
            assert {method["name"] for method in described["methods"]} == set(METHODS)
            assert described == schema(), "rpc.discover and schemas/openrpc.json differ"

    asyncio.run(scenario())


def test_generated_types_work_on_the_oldest_python() -> None:
    """The modules are imported at 3.10 semantics too: no NotRequired, no `X | Y` evaluated at import."""
    document = copy.deepcopy(schema())
    rendered = load_generator().render(document)
    for text in rendered.values():
        assert "NotRequired" not in text
        compile(text, "<generated>", "exec")
