import pathlib
import sys
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import postgres  # noqa: E402
from peers.meta_api import MetaAPI  # noqa: E402
from peers.smtp import SMTPPeer  # noqa: E402
from peers.tls import self_signed  # noqa: E402
from peers.twilio_api import TwilioAPI  # noqa: E402
from sidecar import BINARY, Sidecar  # noqa: E402

BACKENDS = ["sqlite"] + (["postgres"] if postgres.SERVER_URL else [])

# What `openssl rand -base64 32` prints; fixed, so sidecars of one test share their data.
ENCRYPTION_KEY = "q7m3Xk0dV9b2Lr8pT1yW4zC6nF5hJ0sA2eG9uK3iR8o="


def pytest_configure(config):
    if not pathlib.Path(BINARY).exists():
        raise pytest.UsageError(f"{BINARY} is not built; run script/test, or swift build first")


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@pytest.fixture(params=BACKENDS)
def database_env(request):
    """The environment that points a sidecar at a fresh store: SQLite in the working folder (the
    default), or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return {}
    return {"DATABASE_URL": postgres.fresh_database(), "DB_ENCRYPTION_KEY": ENCRYPTION_KEY}


@pytest.fixture
def start(workdir, database_env):
    """Starts sidecars on the test's store; each must have stopped cleanly, within the contract."""
    started = []

    def start(env=None, **options):
        process = Sidecar(workdir, env={**database_env, **(env or {})}, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.killed:
            continue
        code = process.stop()
        assert not process.violations, process.violations
        assert code == 0, process.stderr()
        for record in process.log_records():
            assert {"ts", "level", "msg"} <= set(record), record


@pytest.fixture
def sidecar(start):
    """A sidecar on a fresh store, with an outbox in a fresh folder."""
    return start()


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


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate and key for the SMTP peer, trusted through SMTP_CA_FILE."""
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(certificate):
    peer = SMTPPeer(*certificate)
    yield peer
    peer.stop()


@pytest.fixture
def twilio():
    peer = TwilioAPI()
    yield peer
    peer.stop()
    assert not peer.violations, peer.violations


@pytest.fixture
def meta():
    peer = MetaAPI()
    yield peer
    peer.stop()
    assert not peer.violations, peer.violations
