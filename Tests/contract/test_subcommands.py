"""`crm-sidecar check smtp|twilio|whatsapp` and `crm-sidecar validate-config`: the seed's
test_smtp.py, test_twilio.py, test_whatsapp.py and validate_config.py as subcommands."""

import subprocess

import pytest

from sidecar import BINARY


def run(workdir, *arguments, env=None):
    return subprocess.run(
        [BINARY, *arguments], cwd=workdir, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_check_smtp_logs_in_without_sending(workdir, smtp, certificate):
    done = run(workdir, "check", "smtp", env=smtp.env(certificate[0]))
    assert done.returncode == 0, done.stderr
    assert "SMTP works: localhost" in done.stdout and "STARTTLS" in done.stdout and "planner" in done.stdout
    assert smtp.mailbox.logins == [("PLAIN", True)] and smtp.mailbox.messages == []


def test_check_smtp_sends_a_test_message_when_asked(workdir, smtp, certificate):
    done = run(workdir, "check", "smtp", "--to", "ops@example.com", env=smtp.env(certificate[0]))
    assert done.returncode == 0, done.stderr
    [message] = smtp.mailbox.wait_for(1)
    assert message["to"] == ["ops@example.com"] and smtp.mailbox.parse(message)["Subject"] == "crm-sidecar SMTP check"


def test_check_smtp_says_what_to_fix(workdir, smtp, certificate):
    done = run(workdir, "check", "smtp", env={**smtp.env(certificate[0]), "SMTP_PASSWORD": "wrong-one"})
    assert done.returncode == 1
    assert "auth" in done.stderr and "SMTP_USERNAME and SMTP_PASSWORD" in done.stderr
    assert "wrong-one" not in done.stderr + done.stdout
    untrusted = smtp.env(certificate[0])
    del untrusted["SMTP_CA_FILE"]
    done = run(workdir, "check", "smtp", env=untrusted)
    assert done.returncode == 1 and "SMTP_CA_FILE" in done.stderr


def test_check_twilio_and_whatsapp_read_their_accounts(workdir, twilio, meta):
    done = run(workdir, "check", "twilio", env=twilio.env())
    assert done.returncode == 0 and "Twilio works" in done.stdout and "active" in done.stdout, done.stderr
    done = run(workdir, "check", "whatsapp", env=meta.env())
    assert done.returncode == 0 and "+1 555-010-0199" in done.stdout, done.stderr
    done = run(workdir, "check", "whatsapp", env={**meta.env(), "WHATSAPP_ACCESS_TOKEN": "expired"})
    assert done.returncode == 1 and "auth" in done.stderr and "WHATSAPP_ACCESS_TOKEN" in done.stderr
    assert not twilio.accepted() and not meta.accepted(), "nothing was sent"


def test_check_an_unconfigured_channel(workdir):
    done = run(workdir, "check", "twilio")
    assert done.returncode == 78 and "TWILIO_ACCOUNT_SID" in done.stderr


def test_validate_config_explains_each_setting(workdir, smtp, certificate):
    done = run(workdir, "validate-config")
    assert done.returncode == 0, done.stderr
    assert "SQLite" in done.stdout and "outbox" in done.stdout and "DB_ENCRYPTION_KEY is not set" in done.stdout
    done = run(workdir, "validate-config", env={**smtp.env(certificate[0]), "PUBLIC_BASE_URL": "http://crm.example.com"})
    assert done.returncode == 0
    assert "email: SMTP localhost" in done.stdout and "PUBLIC_BASE_URL is not https" in done.stdout
    assert smtp.mailbox.logins == [], "validate-config touches no server"


@pytest.mark.parametrize("env, variable", [
    ({"SMTP_HOST": "smtp.example.com", "SMTP_USERNAME": "u"}, "SMTP_PASSWORD"),
    ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_PHONE_NUMBER"),
    ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_PHONE_NUMBER": "0044 20"}, "TWILIO_PHONE_NUMBER"),
    ({"WHATSAPP_PHONE_NUMBER_ID": "1"}, "WHATSAPP_ACCESS_TOKEN"),
    ({"SMTP_HOST": "h", "SMTP_USE_TLS": "maybe"}, "SMTP_USE_TLS"),
    ({"SMTP_HOST": "h", "SMTP_CA_FILE": "/nonexistent.pem"}, "SMTP_CA_FILE"),
    ({"PUBLIC_BASE_URL": "crm.example.com"}, "PUBLIC_BASE_URL"),
])
def test_validate_config_names_the_bad_variable(workdir, env, variable):
    done = run(workdir, "validate-config", env=env)
    assert done.returncode == 78
    assert done.stdout.startswith(f"✗ {variable} ")


def test_help_and_version_go_to_stdout_and_a_usage_error_to_stderr(workdir):
    """The sidecar ends its process itself (`CRMSidecar.main`, with `_exit`): what ArgumentParser would
    print and the codes it would exit with must be unchanged, and nothing may be lost unflushed."""
    done = run(workdir, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, "0.1.0\n", "")
    for arguments in (["--help"], ["help", "serve"], ["serve", "--help"]):
        done = run(workdir, *arguments)
        assert done.returncode == 0 and done.stderr == "", (arguments, done)
        assert done.stdout.startswith("OVERVIEW:") and "USAGE: crm-sidecar" in done.stdout, (arguments, done.stdout)
    for arguments in (["--bogus"], ["check"], ["check", "fax"]):
        done = run(workdir, *arguments)
        assert done.returncode == 64 and done.stdout == "", (arguments, done)
        assert done.stderr.startswith("Error: ") and "Usage: crm-sidecar" in done.stderr, (arguments, done.stderr)
