import pathlib
import sys
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from sidecar import BINARY, Sidecar  # noqa: E402


def pytest_configure(config):
    if not pathlib.Path(BINARY).exists():
        raise pytest.UsageError(f"{BINARY} is not built; run script/test, or swift build first")


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@pytest.fixture
def sidecar(workdir):
    """A sidecar on the embedded default (SQLite file and outbox in a fresh folder)."""
    process = Sidecar(workdir)
    yield process
    code = process.stop()
    assert not process.violations, process.violations
    assert code == 0, process.stderr()
    for record in process.log_records():
        assert {"ts", "level", "msg"} <= set(record), record


@pytest.fixture
def ids():
    return {"plan_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4())}


def communicate_params(ids, **overrides):
    params = {
        "plan_id": ids["plan_id"],
        "client_id": ids["client_id"],
        "message_type": "welcome",
        "urgency": "critical",
        "recipient": {"email": "priya@example.com"},
        "context": {"client_name": "Priya Sharma"},
    }
    params.update(overrides)
    return params
