"""The client's tests drive the real sidecar: $CRM_SIDECAR_BIN, else the repository's debug build.

Each test gets a folder of its own, which is the sidecar's working directory: its SQLite database
and its outbox (where messages are written as files instead of being sent) live there, so sidecars
started one after another in a test share their data, as a restarted sidecar would.
"""
from __future__ import annotations

import gc
import json
import os
import pathlib
import sys
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from helpers import BINARY, ROOT

# The example graph is imported by its tests as a module.
sys.path.insert(0, str(ROOT / "clients" / "python" / "examples"))

# The tests run on the outbox and SQLite; credentials or a database from the environment would send
# them elsewhere.
for name in list(os.environ):
    if name.startswith(("SMTP_", "TWILIO_", "WHATSAPP_", "DATABASE_", "DB_")):
        del os.environ[name]

# The seed's default quiet hours (22:00 to 08:00 UTC for a client who has set none) would defer every
# non-critical send of a run at night: the tests' sidecars have none.
_POLICY = pathlib.Path(tempfile.mkdtemp(prefix="crm-client-tests-")) / "policy.json"
_POLICY.write_text(json.dumps({"default_quiet_hours": {"start": "00:00", "end": "00:00"}}))
os.environ.setdefault("POLICY_FILE", str(_POLICY))


def pytest_configure(config: pytest.Config) -> None:
    if not pathlib.Path(BINARY).exists():
        raise pytest.UsageError(f"{BINARY} is not built; run script/test, or set CRM_SIDECAR_BIN")


@pytest.fixture
def workdir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path


@pytest.fixture
def ids() -> dict[str, str]:
    return {"plan_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4())}


@pytest.fixture(autouse=True)
def no_forgotten_failures(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A future or task that failed with nobody to see it is a lost error: asyncio logs it when the
    object is collected, which gc.collect() makes happen inside the test that caused it."""
    yield
    gc.collect()
    forgotten = [record.getMessage() for record in caplog.records
                 if record.name == "asyncio" and "never retrieved" in record.getMessage()]
    assert not forgotten, forgotten
