"""Fault injection with real peers misbehaving (issue 17, part 3).

An SMTP server of our own that misbehaves at the protocol level (`peers/faulty_smtp.py`: drops the
connection after the message, answers 421, stalls past SMTP_TIMEOUT_SECONDS, breaks the TLS handshake,
drips its replies) and a raw HTTP front before the Twilio and Meta contract peers
(`peers/faulty_http.py`: 500, 429 with Retry-After, connection resets, no answer at all, a 2xx with
JSON cut short). For each fault:

- every `communicate` is answered, `wait: true` included, within a bound the configuration sets;
- every acknowledged communication ends `sent` or `failed` (or on the next channel) as the retry
  and fallback policy says, in `communications.get` and in its `communication.status` notifications;
- the peer got every message at least once, counted per communication (`X-CRM-Communication-ID`
  for email, the `To` number for Twilio and the `to` number for Meta); more than once only where the
  peer had taken it and its answer was lost, and then as many extra copies as such faults fired, which
  the test prints (`FAULTS ...` lines; run pytest with -s to see them);
- the sidecar's log holds no credentials, addresses, names or message text.

Retries are made quick through the policy file (a 0.3 s backoff, no jitter) and SEND_POLL_MS. SQLite
only: the faults are the providers', not the store's.
"""

import base64
import datetime
import email.utils
import json
import time

import pytest

from conftest import communicate_params
from peers import faulty_smtp
from peers.faulty_http import FaultyHTTP
from peers.faulty_smtp import FaultySMTP
from peers.meta_api import ACCESS_TOKEN as META_TOKEN
from peers.twilio_api import AUTH_TOKEN as TWILIO_TOKEN

ATTEMPTS = 3  # attempts_per_channel in the tests' policy
BACKOFF = 0.3  # seconds between transient failures in the tests' policy
ENDED = {"sent", "failed", "cancelled"}
# How long anything may take that waits for no timeout: a send to a peer on loopback, a retry round.
PROMPT = 5.0
PERSONAL = ["Priya", "Sharma", "priya@example.com", "+91987654", "919876543"]


@pytest.fixture
def database_env():
    """SQLite only (the conftest fixture would also run every test on PostgreSQL when it is set up)."""
    return {}


def policy_env(workdir, name="faults", **sections):
    policy = {"retry": {"attempts_per_channel": ATTEMPTS, "delays_seconds": [BACKOFF], "jitter": 0}}
    policy.update(sections)
    path = workdir / f"policy-{name}.json"
    path.write_text(json.dumps(policy))
    return {"POLICY_FILE": str(path), "SEND_POLL_MS": "50", "SHUTDOWN_GRACE_SECONDS": "3"}


def timed(sidecar, params, bound):
    """`communicate`, answered with a result within `bound` seconds."""
    started = time.monotonic()
    response = sidecar.call("communicate", params, timeout=bound + 5)
    seconds = time.monotonic() - started
    assert "result" in response, response
    assert seconds < bound, f"answered in {seconds:.1f} s, over {bound} s"
    return response["result"], seconds


def settle(sidecar, communication_ids, timeout=20):
    """Waits for each communication's last status (sent, failed or cancelled) and returns the records,
    after checking the notifications told the same story as the store."""
    def ended(notifications):
        last = {}
        for n in notifications:
            if n["method"] == "communication.status":
                last[n["params"]["communication_id"]] = n["params"]["status"]
        return all(last.get(c) in ENDED for c in communication_ids)

    sidecar.wait_for_notifications(ended, timeout=timeout)
    records = {}
    for communication_id in communication_ids:
        record = sidecar.result("communications.get", {"communication_id": communication_id})
        statuses = [n["params"]["status"] for n in sidecar.notifications
                    if n["method"] == "communication.status" and n["params"]["communication_id"] == communication_id]
        assert statuses[0] == "queued" and statuses[-1] == record["status"], (statuses, record["status"])
        assert statuses.count(record["status"]) == 1, statuses
        records[communication_id] = record
    return records


def all_acknowledged_ended(sidecar, ids, expected):
    """Every communication of the plan (so every one acknowledged) is in `expected`'s statuses."""
    listed = sidecar.result("communications.list", {"plan_id": ids["plan_id"], "limit": 100})["communications"]
    assert {c["communication_id"] for c in listed} == set(expected), "a communication was stored that no answer named, or one is missing"
    for c in listed:
        assert c["status"] == expected[c["communication_id"]], c


def finish(sidecar, *secrets):
    """Stops the sidecar (exit 0, within the harness's bound) and checks its log holds no credential
    and no personal data, and that no answer or notification (attempt errors included) holds a
    credential."""
    assert sidecar.stop() == 0, sidecar.stderr()
    log = sidecar.stderr()
    for secret in [*secrets, *PERSONAL]:
        assert secret not in log, f"{secret!r} is in the sidecar's log"
    for secret in secrets:
        assert not any(secret.encode() in line for line in sidecar.lines), f"{secret!r} is on stdout"
    return log


def report(case, **figures):
    print(f"\nFAULTS {case}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# Email through the misbehaving SMTP server


@pytest.fixture
def smtp_peer(certificate):
    peer = FaultySMTP(*certificate)
    yield peer
    peer.stop()


def email_params(ids, number, **overrides):
    return communicate_params(ids, recipient={"email": "priya@example.com"},
                              context={"client_name": "Priya Sharma", "marker": f"message {number}"}, **overrides)


SMTP_SECRETS = [faulty_smtp.PASSWORD, base64.b64encode(f"\0{faulty_smtp.USERNAME}\0{faulty_smtp.PASSWORD}".encode()).decode()]


def smtp_copies(peer, records):
    """Per communication: (copies the recipient may have got, copies whose 250 never reached the
    sidecar in time: lost, or late past the timeout)."""
    late = ("reply_lost", "reply_late")
    return {c: (len(peer.delivered(c)), len([m for m in peer.messages if m["communication_id"] == c and m["outcome"] in late]))
            for c in records}


def check_email_outcome(peer, records, case):
    """Every communication sent exactly once plus one copy per lost reply; reports the figures."""
    copies = smtp_copies(peer, records)
    for communication_id, record in records.items():
        delivered, lost_replies = copies[communication_id]
        assert record["status"] == "sent" and record["channel_used"] == "email", record
        assert delivered >= 1, f"{communication_id} never reached the server"
        assert delivered == 1 + lost_replies, (communication_id, delivered, lost_replies)
        failed = [a for a in record["attempts"] if a["outcome"] == "failed"]
        assert len(failed) < ATTEMPTS and all(a["error_category"] == "transient" for a in failed), record["attempts"]
    duplicates = sum(d - 1 for d, _ in copies.values())
    assert duplicates <= len(records) * (ATTEMPTS - 1)
    report(case, communications=len(records), faults=len(peer.injected), messages=sum(d for d, _ in copies.values()),
           lost=0, duplicates=duplicates, failed_attempts=sum(len([a for a in r["attempts"] if a["outcome"] == "failed"]) for r in records.values()))
    return duplicates


def send_emails(sidecar, ids, count, bound):
    """`count` emails, alternately with `wait: true` and `wait: false`; their ids."""
    sent = []
    for number in range(count):
        wait = number % 2 == 0
        result, _ = timed(sidecar, email_params(ids, number, wait=wait), bound if wait else PROMPT)
        sent.append(result["communication_id"])
    return sent


def test_smtp_drops_the_connection_after_the_data_terminator(smtp_peer, start, ids, certificate, workdir):
    """The server has the whole message, then hangs up before its 250: the sidecar cannot know it
    was taken, retries, and the recipient gets it twice; one extra copy per such drop, no more."""
    smtp_peer.inject("data_end", "drop", times=2)
    sidecar = start(env={**smtp_peer.env(certificate[0]), **policy_env(workdir)})
    sent = send_emails(sidecar, ids, 4, PROMPT)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    assert smtp_peer.pending_faults() == 0 and len(smtp_peer.injected) == 2
    duplicates = check_email_outcome(smtp_peer, records, "smtp drop after DATA")
    assert duplicates == 2, "each lost 250 costs exactly one extra copy"
    finish(sidecar, *SMTP_SECRETS)


@pytest.mark.parametrize("point", ["greeting", "mail", "data_end"])
def test_smtp_421_mid_session_is_retried_and_sent_once(smtp_peer, start, ids, certificate, workdir, point):
    """421 (service not available, closing the channel) at the greeting, at MAIL FROM or in answer to
    the message: a refusal, transient; the message goes out once on a later attempt. (One 421 after
    DATA, not two: each also costs the next message on that session a failed attempt, see
    test_a_broken_smtp_session_is_not_reused_for_the_next_message, and two could use up all three
    attempts of one message.)"""
    times = 1 if point == "data_end" else 2
    smtp_peer.inject(point, "reply", reply="421 4.7.0 Too busy, closing transmission channel", times=times)
    sidecar = start(env={**smtp_peer.env(certificate[0]), **policy_env(workdir)})
    sent = send_emails(sidecar, ids, 4, PROMPT)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    assert len(smtp_peer.injected) == times
    duplicates = check_email_outcome(smtp_peer, records, f"smtp 421 at {point}")
    assert duplicates == 0, "a 421 refused the message: sending it again is no duplicate"
    refused = [a for r in records.values() for a in r["attempts"] if "421" in (a.get("error") or "")]
    assert len(refused) == times, [a for r in records.values() for a in r["attempts"]]
    finish(sidecar, *SMTP_SECRETS)


@pytest.mark.parametrize("point", ["greeting", "data_end"])
def test_smtp_stalling_past_the_timeout_is_a_transient_failure(smtp_peer, start, ids, certificate, workdir, point):
    """The server says nothing (at the greeting, or after the whole message) for longer than
    SMTP_TIMEOUT_SECONDS: `wait: true` is answered once the timeout has run, the message is retried,
    and goes out; a stall after the message may have delivered it, so one extra copy per stall there."""
    timeout = 1
    smtp_peer.inject(point, "stall", times=1)
    sidecar = start(env={**smtp_peer.env(certificate[0]), **policy_env(workdir), "SMTP_TIMEOUT_SECONDS": str(timeout)})
    first, seconds = timed(sidecar, email_params(ids, 0), timeout + PROMPT)
    assert first["status"] == "queued", first
    [attempt] = first["attempts"]
    assert attempt["outcome"] == "failed" and attempt["error_category"] == "transient", attempt
    assert "timeout" in attempt["error"] or "timed out" in attempt["error"], attempt
    assert timeout <= seconds, "answered before the timeout had run"
    sent = [first["communication_id"]] + send_emails(sidecar, ids, 3, 2 * timeout + PROMPT)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    duplicates = check_email_outcome(smtp_peer, records, f"smtp stall at {point}")
    assert duplicates == (1 if point == "data_end" else 0)
    finish(sidecar, *SMTP_SECRETS)


@pytest.mark.parametrize("action", ["drop", "reset", "garbage"])
def test_an_smtp_tls_handshake_that_breaks_off_is_transient(smtp_peer, start, ids, certificate, workdir, action):
    """The server offers STARTTLS, says 220 to it, then closes, resets, or answers the ClientHello
    with garbage. That is the network's doing (`tls_handshake`, transient in the seed), not a
    certificate only an operator can fix (`tls`, auth): email stays up, and the message is retried
    on email and sent once."""
    smtp_peer.inject("tls_handshake", action, times=1)
    sidecar = start(env={**smtp_peer.env(certificate[0]), **policy_env(workdir)})
    first, _ = timed(sidecar, email_params(ids, 0), PROMPT)
    assert first["attempts"][0]["error_category"] == "transient", first["attempts"]
    assert "TLS handshake" in first["attempts"][0]["error"]
    sent = [first["communication_id"]] + send_emails(sidecar, ids, 2, PROMPT)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    assert check_email_outcome(smtp_peer, records, f"smtp TLS handshake {action}") == 0
    assert sidecar.result("health")["components"]["email"]["status"] == "ok"
    finish(sidecar, *SMTP_SECRETS)


def test_smtp_replies_dripped_byte_by_byte_are_slow_but_correct(certificate, start, ids, workdir):
    """Every reply a byte at a time (inside TLS too: one record per byte), 2 ms apart: each message
    goes out once, on its first attempt, over TLS with AUTH."""
    peer = FaultySMTP(*certificate, drip=0.002)
    try:
        sidecar = start(env={**peer.env(certificate[0]), **policy_env(workdir), "SMTP_TIMEOUT_SECONDS": "15"})
        sent = send_emails(sidecar, ids, 3, 15)
        records = settle(sidecar, sent)
        all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
        for record in records.values():
            [attempt] = record["attempts"]
            assert attempt["outcome"] == "sent", record["attempts"]
        assert all(m["tls"] and m["authenticated"] for m in peer.messages)
        # The greeting, two EHLO answers, STARTTLS and AUTH alone are some 200 bytes: 0.4 s at least.
        assert max(r["attempts"][0]["latency_ms"] for r in records.values()) >= 400
        assert check_email_outcome(peer, records, "smtp replies dripped") == 0
        finish(sidecar, *SMTP_SECRETS)
    finally:
        peer.stop()


@pytest.mark.parametrize("fault", ["stall", "late", "421"])
def test_a_broken_smtp_session_is_not_reused_for_the_next_message(smtp_peer, start, ids, certificate, workdir, fault):
    """One session (SMTP_MAX_SESSIONS=1), a fault after the first message (no answer until the
    timeout, the answer after it, or 421 and close); the second message, which met no fault, must
    not pay for it: it goes out on its first attempt, on a fresh connection."""
    timeout = 2
    if fault == "421":
        smtp_peer.inject("data_end", "reply", reply="421 4.3.0 Shutting down, closing transmission channel")
    else:
        smtp_peer.inject("data_end", fault, delay=timeout + 1)
    env = policy_env(workdir, retry={"attempts_per_channel": ATTEMPTS, "delays_seconds": [timeout + 2], "jitter": 0})
    sidecar = start(env={**smtp_peer.env(certificate[0]), **env, "SMTP_TIMEOUT_SECONDS": str(timeout), "SMTP_MAX_SESSIONS": "1"})
    first, _ = timed(sidecar, email_params(ids, 0), timeout + PROMPT)
    assert first["status"] == "queued", first
    second, _ = timed(sidecar, email_params(ids, 1), timeout + PROMPT)
    records = settle(sidecar, [first["communication_id"], second["communication_id"]], timeout=3 * timeout + 20)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in records})
    check_email_outcome(smtp_peer, records, f"smtp session reuse after {fault}")
    finish(sidecar, *SMTP_SECRETS)
    # Only the polite QUIT that closes the old connection may be written into it, nothing of the next message.
    assert [line for _, line in smtp_peer.unanswered if line != b"QUIT\r\n"] == [], "the next message was written into the stalled session"
    assert [a["outcome"] for a in second["attempts"]] == ["sent"], second["attempts"]


# SMS and WhatsApp through a misbehaving HTTP front before the Twilio and Meta contract peers


class Provider:
    """One HTTP provider as a test drives it: its contract peer, the faulty front before it, and a
    distinct phone number per communication, by which the peer's requests are counted."""

    def __init__(self, name, peer):
        self.name, self.peer = name, peer
        self.front = FaultyHTTP(peer)
        self.channel = "sms" if name == "twilio" else "whatsapp"
        self.secrets = [TWILIO_TOKEN, base64.b64encode(f"{peer.env()['TWILIO_ACCOUNT_SID']}:{TWILIO_TOKEN}".encode()).decode()] \
            if name == "twilio" else [META_TOKEN]

    def env(self, workdir, **sections):
        env = {**self.peer.env(), **policy_env(workdir, **sections)}
        env["TWILIO_API_BASE_URL" if self.name == "twilio" else "WHATSAPP_API_BASE_URL"] = self.front.base_url
        return env

    @staticmethod
    def number(index):
        return f"+9198765432{index:02d}"

    def params(self, ids, index, fallback=False, **overrides):
        key = "phone" if self.name == "twilio" else "whatsapp"
        recipient = {key: self.number(index)}
        if fallback:
            recipient["email"] = "priya@example.com"
        # Critical puts SMS first, high WhatsApp.
        urgency = "critical" if self.name == "twilio" else "high"
        return communicate_params(ids, urgency=urgency, recipient=recipient,
                                  context={"client_name": "Priya Sharma", "event_type": "wedding"}, **overrides)

    def number_in(self, request):
        """The recipient's number in a request as the provider got it, in E.164."""
        if self.name == "twilio":
            import urllib.parse

            return urllib.parse.parse_qs(request["body"].decode()).get("To", [""])[0]
        if not request["path"].endswith("/messages"):
            return ""
        return "+" + json.loads(request["body"]).get("to", "")

    def copies(self, index):
        """Messages to that number the provider took (accepted by its contract peer)."""
        return len([r for r in self.peer.accepted() if self.number_in(r) == self.number(index)])

    def error(self, status):
        if self.name == "twilio":
            code = {500: 20500, 429: 20429}[status]
            return {"code": code, "message": "Internal Server Error" if status == 500 else "Too Many Requests",
                    "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
        if status == 429:
            return {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
                              "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached."},
                              "fbtrace_id": "AbCdEf123"}}
        return {"error": {"message": "An unknown error has occurred.", "type": "OAuthException", "code": 1, "fbtrace_id": "AbCdEf123"}}


@pytest.fixture
def provider(request):
    """The Twilio or Meta contract peer (its fixture checks it saw no contract violation) behind a faulty front."""
    name = request.param
    peer = request.getfixturevalue("twilio" if name == "twilio" else "meta")
    provider = Provider(name, peer)
    yield provider
    provider.front.stop()


def send_messages(sidecar, provider, ids, count, bound=PROMPT, **options):
    """`count` messages to numbers 0..count-1, alternately `wait: true` and `false`; their ids."""
    sent = []
    for index in range(count):
        result, _ = timed(sidecar, provider.params(ids, index, wait=index % 2 == 0, **options), bound)
        sent.append(result["communication_id"])
    return sent


def check_http_outcome(provider, records, case, replies_lost_per_number):
    """Each number got its message once, plus one copy per fault that came after the provider took
    it; every communication sent on the provider's channel; reports the figures."""
    copies = [provider.copies(index) for index in range(len(records))]
    for index, (communication_id, record) in enumerate(records.items()):
        assert record["status"] == "sent" and record["channel_used"] == provider.channel, record
        assert copies[index] == 1 + replies_lost_per_number.get(provider.number(index), 0), (index, copies, replies_lost_per_number)
    duplicates = sum(copies) - len(records)
    assert duplicates <= len(records) * (ATTEMPTS - 1)
    report(case, communications=len(records), faults=len(provider.front.injected), messages=sum(copies), lost=0,
           duplicates=duplicates, failed_attempts=sum(len([a for a in r["attempts"] if a["outcome"] == "failed"]) for r in records.values()))
    return duplicates


def replies_lost(provider):
    """Per number: the faults that came after the provider had taken the message."""
    counts = {}
    for request in provider.front.requests:
        if request["fault"] and request["forwarded"]:
            number = provider.number_in(request)
            counts[number] = counts.get(number, 0) + 1
    return counts


@pytest.mark.parametrize("provider", ["twilio", "meta"], indirect=True)
def test_http_500_is_retried_and_sent_once(provider, start, ids, workdir):
    """Two 500s: transient, each retried after the backoff; every message taken exactly once."""
    provider.front.inject("status", status=500, body=provider.error(500), times=2)
    sidecar = start(env=provider.env(workdir))
    sent = send_messages(sidecar, provider, ids, 3)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    failed = [a for r in records.values() for a in r["attempts"] if a["outcome"] == "failed"]
    assert len(failed) == 2 and all(a["error_category"] == "transient" and "500" in a["error"] for a in failed), failed
    assert check_http_outcome(provider, records, f"{provider.name} 500", {}) == 0
    finish(sidecar, *provider.secrets)


@pytest.mark.parametrize("provider", ["twilio", "meta"], indirect=True)
def test_http_500_every_time_gives_the_channel_up_and_falls_back(provider, start, ids, workdir):
    """500 on every try: the channel is given up after attempts_per_channel attempts, and the
    message goes out on the next channel; the provider took nothing."""
    provider.front.inject("status", status=500, body=provider.error(500), times=2 * ATTEMPTS)
    sidecar = start(env=provider.env(workdir))
    sent = send_messages(sidecar, provider, ids, 2, fallback=True)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    assert provider.front.pending_faults() == 0
    for record in records.values():
        tries = [a for a in record["attempts"] if a["channel"] == provider.channel]
        assert [a["outcome"] for a in tries] == ["failed"] * ATTEMPTS, record["attempts"]
        assert record["channel_used"] != provider.channel and record["attempts"][-1]["outcome"] == "sent", record
    assert provider.peer.accepted() == []
    report(f"{provider.name} 500 every time", communications=2, faults=len(provider.front.injected), messages=0, lost=0,
           duplicates=0, fallbacks=2)
    finish(sidecar, *provider.secrets)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
@pytest.mark.parametrize("provider", ["meta"], indirect=True)
def test_meta_429_retry_after_holds_every_whatsapp_send_back(provider, start, ids, workdir, form):
    """Meta answers 429 (code 130429) with Retry-After, as delta-seconds or an HTTP date. The
    message waits that long without using up an attempt (attempts_per_channel is 1 here, so a used
    attempt would show as a fallback), and so does every other send to WhatsApp meanwhile.
    (Twilio's delta-seconds case is test_channels' test_twilio_rate_limits_wait_for_retry_after.)"""
    if form == "seconds":
        value, until = "2", None
    else:
        until = int(time.time()) + 3  # whole seconds: an HTTP date has no finer grain
        value = email.utils.formatdate(until, usegmt=True)
    provider.front.inject("status", status=429, headers={"Retry-After": value}, body=provider.error(429))
    env = provider.env(workdir, retry={"attempts_per_channel": 1, "delays_seconds": [BACKOFF], "jitter": 0})
    sidecar = start(env=env)
    first, _ = timed(sidecar, provider.params(ids, 0), PROMPT)
    assert first["status"] == "queued" and [a["error_category"] for a in first["attempts"]] == ["rate_limited"], first
    [limited] = provider.front.injected
    resume = until if until else limited["wall"] + 2
    # Another message to WhatsApp while the provider asked us to wait: it waits too.
    second, _ = timed(sidecar, provider.params(ids, 1, wait=False), PROMPT)
    records = settle(sidecar, [first["communication_id"], second["communication_id"]])
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in records})
    later = [r["wall"] for r in provider.front.requests if r["at"] > limited["at"]]
    assert len(later) == 2, provider.front.requests
    assert min(later) >= resume - 0.05, f"a send went out {resume - min(later):.2f} s before Retry-After ran out"
    assert max(later) < resume + PROMPT
    attempts = records[first["communication_id"]]["attempts"]
    assert [a["outcome"] for a in attempts] == ["failed", "sent"] and attempts[1]["channel"] == "whatsapp", attempts
    started = [datetime.datetime.fromisoformat(a["started_at"].replace("Z", "+00:00")).timestamp() for a in attempts]
    assert started[1] >= resume - 0.05
    check_http_outcome(provider, records, f"meta 429 Retry-After as {form}", {})
    finish(sidecar, *provider.secrets)


@pytest.mark.parametrize("forward", [False, True], ids=["before-the-provider", "after-the-provider"])
@pytest.mark.parametrize("provider", ["twilio", "meta"], indirect=True)
def test_http_connection_reset_is_retried(provider, start, ids, workdir, forward):
    """TCP RST instead of an answer, before the provider saw the request or after it took the
    message: transient, retried; in the second case the retry duplicates the message, once per reset."""
    provider.front.inject("reset", forward=forward, times=2)
    sidecar = start(env=provider.env(workdir))
    sent = send_messages(sidecar, provider, ids, 3)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    failed = [a for r in records.values() for a in r["attempts"] if a["outcome"] == "failed"]
    assert len(failed) == 2 and all(a["error_category"] == "transient" for a in failed), failed
    lost = replies_lost(provider)
    duplicates = check_http_outcome(provider, records, f"{provider.name} reset {'after' if forward else 'before'} the provider", lost)
    assert duplicates == (2 if forward else 0)
    finish(sidecar, *provider.secrets)


@pytest.mark.parametrize("provider", ["twilio"], indirect=True)
def test_http_provider_that_never_answers_times_out_without_holding_anything_else(provider, start, ids, workdir):
    """Twilio takes the message and never answers. The sidecar's HTTP timeout (30 s, fixed in
    ProviderHTTP: no setting shortens it, so this test takes that long) ends the attempt: `wait: true`
    is answered then, the message is retried and taken again (one duplicate). Meanwhile other
    messages to Twilio and `health` are answered at once, and nothing else is written into the hung
    connection."""
    http_timeout = 30
    provider.front.inject("hang", forward=True)
    sidecar = start(env=provider.env(workdir))
    hung = {"jsonrpc": "2.0", "id": "hung", "method": "communicate", "params": provider.params(ids, 0)}
    started = time.monotonic()
    sidecar.send(hung)
    provider.front.wait_for(lambda front: front.injected, timeout=PROMPT, what="the hang")

    other, _ = timed(sidecar, provider.params(ids, 1), PROMPT)
    assert other["status"] == "sent" and len(other["attempts"]) == 1, other
    before = time.monotonic()
    assert sidecar.result("health")["status"] in ("ok", "degraded")
    assert time.monotonic() - before < 2.0

    response = sidecar.response("hung", timeout=http_timeout + 15)
    seconds = time.monotonic() - started
    assert http_timeout - 1 <= seconds < http_timeout + PROMPT, seconds
    first = response["result"]
    assert first["status"] == "queued" and first["attempts"][0]["error_category"] == "transient", first
    records = settle(sidecar, [first["communication_id"], other["communication_id"]])
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in records})
    assert provider.front.unanswered == []
    duplicates = check_http_outcome(provider, records, "twilio never answers", replies_lost(provider))
    assert duplicates == 1
    finish(sidecar, *provider.secrets)


@pytest.mark.parametrize("provider", ["twilio", "meta"], indirect=True)
def test_http_2xx_with_malformed_json_is_sent_once(provider, start, ids, workdir):
    """The provider takes the message and answers 201 (Twilio) or 200 (Meta) with JSON cut short.
    The 2xx is its word that it took the message: the attempt is `sent`, without a provider message
    id, and nothing is sent again, so the client gets the message once."""
    provider.front.inject("malformed", forward=True, times=1)
    sidecar = start(env=provider.env(workdir))
    sent = send_messages(sidecar, provider, ids, 2)
    records = settle(sidecar, sent)
    all_acknowledged_ended(sidecar, ids, {c: "sent" for c in sent})
    attempts = [a for r in records.values() for a in r["attempts"]]
    assert [a["outcome"] for a in attempts] == ["sent", "sent"], attempts
    assert sum(1 for a in attempts if a.get("provider_message_id") is None) == 1, attempts
    assert check_http_outcome(provider, records, f"{provider.name} 2xx with malformed JSON", {}) == 0
    finish(sidecar, *provider.secrets)
