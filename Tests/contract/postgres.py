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
