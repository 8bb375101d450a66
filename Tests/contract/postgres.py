"""Fresh databases on the test PostgreSQL server that script/test starts (CRM_TEST_POSTGRES_URL)."""
import os
import subprocess
import urllib.parse
import uuid

SERVER_URL = os.environ.get("CRM_TEST_POSTGRES_URL")


def psql(url, sql):
    done = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fresh_database():
    """The URL of a new, empty database."""
    name = "crm_" + uuid.uuid4().hex
    psql(SERVER_URL, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(SERVER_URL)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class Server:
    """A PostgreSQL server of a test's own (script/postgres), to stop and start under a sidecar."""

    SCRIPT = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "script" / "postgres")

    def __init__(self):
        # Directly under the temporary folder: the server's user (postgres, when tests run as root)
        # must be able to reach it, which pytest's private tmp_path does not allow.
        self.directory = __import__("tempfile").mkdtemp(prefix="crm-sidecar-postgres-")

    def start(self):
        """Starts (or restarts, on the same port) and returns the server's URL."""
        done = subprocess.run([self.SCRIPT, "start", self.directory], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def halt(self):
        done = subprocess.run([self.SCRIPT, "halt", self.directory], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    def stop(self):
        subprocess.run([self.SCRIPT, "stop", self.directory], capture_output=True, timeout=120)
