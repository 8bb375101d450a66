"""Rotating DB_ENCRYPTION_KEY while sidecars keep sending (the README's procedure): no request fails,
every record written under the old key reads back under the new one, and afterwards the old key alone
is refused."""
import os
import subprocess
import threading

from conftest import ENCRYPTION_KEY, communicate_params
from sidecar import BINARY

NEW_KEY = "Zm9yIHRoZSByb3RhdGlvbiB0ZXN0OiBhIG5ldyBrZXk="


def subcommand(workdir, database_env, *arguments, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DB_", "SMTP_", "TWILIO_", "WHATSAPP_"))}
    environment.update(database_env)
    environment.update(env or {})
    return subprocess.run([BINARY, *arguments], cwd=workdir, env=environment, capture_output=True, text=True, timeout=120)


def test_rotating_the_key_under_two_sending_sidecars_loses_nothing_and_retires_the_old_key(start, ids, workdir, database_env):
    old = {"DB_ENCRYPTION_KEY": ENCRYPTION_KEY}
    first = start(env=old)
    written = []
    for number in range(20):
        params = communicate_params(ids, recipient={"email": f"guest{number}@example.com", "phone": f"+1415555{number:04d}"},
                                    client_id=f"00000000-0000-4000-8000-{number:012d}")
        written.append((first.result("communicate", params)["communication_id"], params["recipient"]))
    first.stop()

    # Step 1 of the procedure: every sidecar restarted with the new key and the previous one.
    both = {"DB_ENCRYPTION_KEY": NEW_KEY, "DB_ENCRYPTION_KEY_PREVIOUS": ENCRYPTION_KEY}
    senders = [start(env=both), start(env=both)]
    failures = []
    stop = threading.Event()
    sent = []

    def send(sidecar, lane):
        number = 0
        while not stop.is_set():
            number += 1
            params = communicate_params(ids, recipient={"email": f"later{lane}-{number}@example.com"},
                                        client_id=f"00000000-0000-4000-8000-{number % 20:012d}")
            response = sidecar.call("communicate", params)
            if "error" in response:
                failures.append(response["error"])
            else:
                sent.append(response["result"]["communication_id"])

    threads = [threading.Thread(target=send, args=(sidecar, lane)) for lane, sidecar in enumerate(senders)]
    for thread in threads:
        thread.start()
    # Step 2: the rotation, one row per transaction so that it overlaps the sends.
    rotated = subcommand(workdir, database_env, "rotate-key", "--batch", "1", env=both)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    assert not failures, failures[:3]
    assert sent, "the sidecars sent nothing during the rotation"
    assert '"client_keys":20' in rotated.stdout, rotated.stdout
    # Old records are found by address and read back under the new key alone.
    for sidecar in senders:
        sidecar.stop()
    after = start(env={"DB_ENCRYPTION_KEY": NEW_KEY})
    for communication_id, recipient in written:
        got = after.result("communications.get", {"communication_id": communication_id})
        assert got["recipient"]["email"] == recipient["email"] and got["recipient"]["phone"] == recipient["phone"]
        assert not got["erased"]
    for communication_id in sent[:20]:
        assert after.result("communications.get", {"communication_id": communication_id})["recipient"]["email"].startswith("later")
    after.stop()
    # Step 3: the old key alone is refused, by name.
    refused = subcommand(workdir, database_env, "migrate", env=old)
    assert refused.returncode == 78, refused.stderr
    assert "DB_ENCRYPTION_KEY is not the key this database was written with" in refused.stderr
    # A second rotation finds nothing left to do.
    again = subcommand(workdir, database_env, "rotate-key", env=both)
    assert again.returncode == 0 and '"client_keys":0' in again.stdout and '"contacts":0' in again.stdout, again
