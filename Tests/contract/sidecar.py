"""Runs the built crm-sidecar as a child process, the way the workflow does, and checks every line it
writes on stdout against the contract."""
import itertools
import json
import os
import pathlib
import signal
import subprocess
import threading

import contract

BINARY = os.environ.get("CRM_SIDECAR_BIN", str(contract.ROOT / ".build" / "debug" / "crm-sidecar"))
TIMEOUT = 20

# The seed's default quiet hours (22:00 to 08:00 in the client's time zone, UTC until set) would defer
# every non-critical send of a test run at night. Tests get none, unless their policy names some.
NO_DEFAULT_QUIET_HOURS = {"default_quiet_hours": {"start": "00:00", "end": "00:00"}}


def without_default_quiet_hours(workdir, environment, number):
    """The environment with POLICY_FILE pointing at the test's policy (if any) plus no default quiet
    hours, unless that policy sets its own."""
    policy = {}
    if environment.get("POLICY_FILE"):
        try:
            with open(workdir / environment["POLICY_FILE"]) as file:  # relative to the sidecar's folder
                policy = json.load(file)
        except (OSError, ValueError):
            return environment  # a test of a bad policy file: left as it is
    if not isinstance(policy, dict) or "default_quiet_hours" in policy:
        return environment
    path = workdir / f"policy-{number}.json"
    path.write_text(json.dumps({**policy, **NO_DEFAULT_QUIET_HOURS}))
    return {**environment, "POLICY_FILE": str(path)}


class Sidecar:
    _started = itertools.count(1)

    def __init__(self, workdir, env=None, stdin=subprocess.PIPE):
        self.workdir = pathlib.Path(workdir)
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "TWILIO_", "WHATSAPP_", "DATABASE_", "DB_"))
        }
        # A free side port each, unless the test names one: sidecars run side by side.
        environment["WEBHOOK_PORT"] = "0"
        environment.update(env or {})
        self.killed = False
        # One log per process, so sidecars sharing a folder (and a store) keep theirs apart.
        number = next(self._started)
        self.stderr_path = self.workdir / f"stderr-{number}.jsonl"
        environment = without_default_quiet_hours(self.workdir, environment, number)
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [BINARY], cwd=self.workdir, env=environment, stdin=stdin, stdout=subprocess.PIPE, stderr=self._stderr
        )
        self._ready = None  # the sidecar.ready notification, which must be the first line
        self.lines = []  # every raw stdout line after it, for the "only JSON-RPC on stdout" checks
        self.notifications = []
        self.violations = []  # messages that broke the contract
        self.answers = []  # responses and batches not yet taken, in arrival order
        self._arrived = threading.Condition()
        self._methods = {}  # id -> method, to validate results
        self._ids = itertools.count(1)
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # Writing

    def send_raw(self, data: bytes):
        """Writes bytes as they are; requests among them are remembered so their results are checked."""
        for line in data.splitlines():
            try:
                self._remember(json.loads(line))
            except ValueError:
                pass
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message):
        self.send_raw(json.dumps(message).encode() + b"\n")

    def _remember(self, message):
        for member in message if isinstance(message, list) else [message]:
            if isinstance(member, dict) and "id" in member and isinstance(member.get("method"), str):
                self._methods[json.dumps(member["id"])] = member["method"]

    def call(self, method, params=None, timeout=TIMEOUT):
        """Sends a request and returns its whole response (validated)."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            request["params"] = params
        self.send(request)
        return self.response(request["id"], timeout)

    def result(self, method, params=None):
        response = self.call(method, params)
        assert "result" in response, response
        return response["result"]

    def error(self, method, params=None):
        response = self.call(method, params)
        assert "error" in response, response
        return response["error"]

    # Reading

    def response(self, id, timeout=TIMEOUT):
        """The response to the request with `id`."""
        return self._take(lambda answer: isinstance(answer, dict) and answer.get("id") == id, f"id {id}", timeout)

    def next_answer(self, timeout=TIMEOUT):
        """The oldest answer not yet taken: a response with a null id, or a batch (a list)."""
        return self._take(lambda answer: isinstance(answer, list) or answer.get("id") is None, "an id-less answer", timeout)

    def _take(self, matches, what, timeout):
        with self._arrived:
            found = lambda: next((a for a in self.answers if matches(a)), None)
            if not self._arrived.wait_for(lambda: found() is not None or self._closed, timeout):
                raise TimeoutError(f"no answer for {what}; stderr:\n{self.stderr()}")
            answer = found()
            assert answer is not None, f"stdout closed before an answer for {what}; stderr:\n{self.stderr()}"
            self.answers.remove(answer)
            return answer

    @property
    def ready(self):
        """The sidecar.ready notification, once it has arrived (None if stdout closed first)."""
        with self._arrived:
            self._arrived.wait_for(lambda: self._ready is not None or self._closed, TIMEOUT)
            return self._ready

    def wait_for_notifications(self, predicate, timeout=TIMEOUT):
        with self._arrived:
            if not self._arrived.wait_for(lambda: predicate(self.notifications), timeout):
                raise TimeoutError(f"notifications never matched: {self.notifications}")

    def _read(self):
        for raw in self.process.stdout:
            if self._ready is None:
                # The contract: a client knows the sidecar is ready from its first line.
                try:
                    message = json.loads(raw)
                    assert message.get("method") == "sidecar.ready", "the first line must be sidecar.ready"
                    contract.check_notification(message)
                except Exception as error:
                    self.violations.append(f"{error!r} in line {raw[:300]!r}")
                    message = {}
                with self._arrived:
                    self._ready = message
                    self._arrived.notify_all()
                if message:
                    continue
            self.lines.append(raw)
            try:
                self._accept(raw)
            except Exception as error:  # a contract violation must fail the test, not the reader
                self.violations.append(f"{error!r} in line {raw[:300]!r}")
        with self._arrived:
            self._closed = True
            self._arrived.notify_all()

    def _accept(self, raw):
        """Files the message where the test will look for it, then holds it to the contract.

        The check reads a copy of its own: the test may take the message and change it (drop a
        field it compares without) before this thread gets to check it."""
        assert raw.endswith(b"\n"), "a line must end with a newline"
        text = raw.decode("utf-8")
        filed = json.loads(text)
        with self._arrived:
            if isinstance(filed, dict) and "method" in filed:
                self.notifications.append(filed)
            else:
                self.answers.append(filed)
            self._arrived.notify_all()
        message = json.loads(text)
        if isinstance(message, list):
            assert message, "an empty array is never a response"
            for member in message:
                contract.check_response(member, self._methods.get(json.dumps(member.get("id"))))
        elif "method" in message:
            contract.check_notification(message)
        else:
            contract.check_response(message, self._methods.get(json.dumps(message.get("id"))))

    # Ending

    def close_stdin(self):
        self.process.stdin.close()

    def kill(self):
        """SIGKILL: no chance to finish anything, as in a crash."""
        self.killed = True
        self.process.kill()
        self.wait()

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout=TIMEOUT):
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        assert not self._reader.is_alive()
        self._stderr.close()
        return code

    def stop(self):
        if self._stderr.closed:
            return self.process.returncode
        if self.process.poll() is None:
            try:
                self.close_stdin()
            except BrokenPipeError:
                pass
            try:
                return self.wait()
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.wait()

    def stderr(self):
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def log_records(self):
        return [json.loads(line) for line in self.stderr().splitlines() if line.strip()]
