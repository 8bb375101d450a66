"""A small SMTP server of our own, on asyncio, that can misbehave at the protocol level on command
(aiosmtpd cannot: its replies always go out whole and on time).

It speaks enough of RFC 5321 for libcurl: EHLO/HELO, STARTTLS (RFC 3207, with the tests' self-signed
certificate), AUTH PLAIN (RFC 4954, with or without an initial response), MAIL, RCPT, DATA with dot
unstuffing, RSET, NOOP, QUIT. Faults are injected at named points of the conversation:

    greeting       before the 220 greeting
    ehlo           on EHLO/HELO
    tls_handshake  after the 220 answering STARTTLS, before the handshake
    auth           on AUTH
    mail           on MAIL FROM
    rcpt           on RCPT TO
    data           on DATA, before the 354
    data_end       after the whole message and its terminator, before the reply

with one of these actions:

    drop     close the connection without a word
    reset    abort it (TCP RST)
    reply    send `reply` (a 421 then closes the connection, as RFC 5321 4.2.2 says it does)
    stall    say nothing, and wait until the client gives up and closes
    late     say nothing for `delay` seconds, then carry on as if nothing had happened
    garbage  send bytes that are not SMTP, then close (at tls_handshake: in answer to the
             client's ClientHello, where the ServerHello belongs)

`drip` (seconds per byte) sends every reply a byte at a time, inside TLS too: slow but correct.

Every message whose terminator arrived is recorded with what became of it: `accepted` (250 sent),
`reply_lost` (the server had it all, then dropped, reset or stalled: the worst case, counted as
delivered, since a real server may have queued it), `reply_late` (accepted, its 250 sent late), or
`refused` (a 4xx or 5xx reply)."""

import asyncio
import base64
import email
import email.policy
import ssl
import threading
import time

USERNAME = "faulty-planner"
PASSWORD = "f4ulty-s3cret-pass"
POINTS = {"greeting", "ehlo", "tls_handshake", "auth", "mail", "rcpt", "data", "data_end"}
ACTIONS = {"drop", "reset", "reply", "stall", "late", "garbage"}
GARBAGE = b"\x00\xff\xfe not SMTP, not TLS \x16\x03\x09\x7f\r\n" * 8


class Hangup(Exception):
    """The conversation is over (a fault ended it, or the client went away)."""


class Fault:
    def __init__(self, point, action, reply=None, times=1, delay=0.0):
        assert point in POINTS and action in ACTIONS, (point, action)
        assert action != "reply" or reply, "a reply fault needs its reply"
        assert action != "late" or delay > 0, "a late fault needs its delay"
        self.point, self.action, self.reply, self.times, self.delay = point, action, reply, times, delay


class FaultySMTP:
    def __init__(self, cert, key, starttls=True, auth=True, drip=0.0):
        self.starttls = starttls
        self.auth = auth
        self.drip = drip
        self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls_context.load_cert_chain(cert, key)
        self.messages = []  # every message whose terminator arrived (see the module's docstring)
        self.injected = []  # every fault as it fired: {point, action, session, at}
        self.sessions = 0
        self.commands = []  # (session, verb) for every command read
        self.logins = []  # (session, ok)
        self.unanswered = []  # (session, bytes) the client sent into a stalled conversation
        self._faults = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._open = set()  # writers of live connections, closed at stop
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._session, "127.0.0.1", 0), self.loop
        ).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    # Scripting and reading back

    def inject(self, point, action, reply=None, times=1, delay=0.0):
        """The next `times` conversations that reach `point` get `action` there."""
        with self._lock:
            self._faults.append(Fault(point, action, reply, times, delay))

    def env(self, ca_file, security="true"):
        env = {
            "SMTP_HOST": "localhost", "SMTP_PORT": str(self.port), "SMTP_USE_TLS": security, "SMTP_CA_FILE": str(ca_file),
            "SMTP_FROM_EMAIL": "planner@planiva.example",
        }
        if self.auth:
            env.update(SMTP_USERNAME=USERNAME, SMTP_PASSWORD=PASSWORD)
        return env

    def delivered(self, communication_id=None):
        """Messages the recipient may have got: accepted, or had whole before the reply was lost."""
        with self._lock:
            return [m for m in self.messages if m["outcome"] != "refused"
                    and (communication_id is None or m["communication_id"] == communication_id)]

    def wait_for(self, predicate, timeout=20, what="the SMTP peer's condition"):
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"timed out waiting for {what}; messages: {[(m['communication_id'], m['outcome']) for m in self.messages]}")

    def pending_faults(self):
        with self._lock:
            return sum(f.times for f in self._faults)

    def stop(self):
        async def close():
            self.server.close()
            for writer in list(self._open):
                writer.transport.abort()
            await self.server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    # The conversation

    def _take(self, point, session):
        with self._changed:
            for fault in self._faults:
                if fault.point == point:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    self.injected.append({"point": point, "action": fault.action, "session": session, "at": time.monotonic()})
                    self._changed.notify_all()
                    return fault
        return None

    async def _session(self, reader, writer):
        with self._changed:
            self.sessions += 1
            session = self.sessions
            self._changed.notify_all()
        self._open.add(writer)
        state = {"session": session, "reader": reader, "writer": writer, "tls": False, "authenticated": False}
        try:
            await self._converse(state)
        except (Hangup, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError, OSError):
            pass
        finally:
            self._open.discard(writer)
            if not writer.transport.is_closing():
                writer.transport.abort() if state.get("abort") else writer.close()

    async def _fault(self, state, point):
        """Performs the fault injected at `point`, if any: raises Hangup when it ends the conversation."""
        fault = self._take(point, state["session"])
        if fault is None:
            return False
        return await self._perform(state, fault)

    async def _perform(self, state, fault):
        writer = state["writer"]
        if fault.action == "reply":
            await self._reply(state, fault.reply)
            if fault.reply.startswith("421"):
                raise Hangup()
            return True
        if fault.action == "stall":
            # Say nothing; keep (and never answer) whatever comes until the client hangs up.
            while True:
                data = await state["reader"].read(4096)
                if not data:
                    raise Hangup()
                with self._lock:
                    self.unanswered.append((state["session"], data))
        if fault.action == "late":
            # Say nothing for `delay` seconds (the client may give up meanwhile), then carry on as if
            # nothing had happened: the usual reply, late.
            await asyncio.sleep(fault.delay)
            return False
        if fault.action == "garbage":
            if fault.point == "tls_handshake":
                # Garbage in answer to the ClientHello, where the ServerHello should be.
                writer.transport.resume_reading()
                if not await state["reader"].read(4096):
                    raise Hangup()
            writer.write(GARBAGE)
            await writer.drain()
        if fault.action == "reset":
            state["abort"] = True
            writer.transport.abort()
        raise Hangup()

    async def _reply(self, state, text):
        data = ("\r\n".join(text.split("\n")) + "\r\n").encode()
        writer = state["writer"]
        if not self.drip:
            writer.write(data)
            await writer.drain()
            return
        for index, byte in enumerate(data):
            if index:
                await asyncio.sleep(self.drip)
            writer.write(bytes([byte]))
            await writer.drain()

    async def _line(self, state):
        line = await state["reader"].readline()
        if not line:
            raise Hangup()
        return line.rstrip(b"\r\n").decode("utf-8", "replace")

    async def _converse(self, state):
        await self._fault(state, "greeting")
        await self._reply(state, "220 faulty.localhost ESMTP ready")
        envelope = None
        while True:
            line = await self._line(state)
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            with self._lock:
                self.commands.append((state["session"], verb))
            if verb in ("EHLO", "HELO"):
                if await self._fault(state, "ehlo"):
                    continue
                envelope = None
                features = ["faulty.localhost greets you", "8BITMIME", "SIZE 52428800"]
                if self.starttls and not state["tls"]:
                    features.append("STARTTLS")
                if self.auth and (state["tls"] or not self.starttls):
                    features.append("AUTH PLAIN")
                lines = [f"250-{f}" for f in features[:-1]] + [f"250 {features[-1]}"]
                await self._reply(state, "\n".join(lines) if verb == "EHLO" else "250 faulty.localhost")
            elif verb == "STARTTLS" and self.starttls and not state["tls"]:
                # The client's ClientHello must reach the TLS layer, not the plain reader: stop
                # reading before saying go ahead (start_tls resumes reading itself).
                state["writer"].transport.pause_reading()
                await self._reply(state, "220 2.0.0 Ready to start TLS")
                await self._fault(state, "tls_handshake")
                await state["writer"].start_tls(self.tls_context)
                state["tls"] = True
                envelope = None
            elif verb == "AUTH" and self.auth:
                if await self._fault(state, "auth"):
                    continue
                mechanism, _, initial = argument.partition(" ")
                if mechanism.upper() != "PLAIN":
                    await self._reply(state, "504 5.5.4 Unrecognized authentication type")
                    continue
                if not initial:
                    await self._reply(state, "334 ")
                    initial = await self._line(state)
                try:
                    _, user, password = base64.b64decode(initial).split(b"\0")
                    ok = user == USERNAME.encode() and password == PASSWORD.encode()
                except ValueError:
                    ok = False
                with self._lock:
                    self.logins.append((state["session"], ok))
                state["authenticated"] = ok
                await self._reply(state, "235 2.7.0 Authentication successful" if ok else "535 5.7.8 Authentication credentials invalid")
            elif verb == "MAIL":
                if await self._fault(state, "mail"):
                    continue
                if self.starttls and not state["tls"] or self.auth and not state["authenticated"]:
                    await self._reply(state, "530 5.7.0 Authentication required")
                    continue
                envelope = {"from": argument, "to": []}
                await self._reply(state, "250 2.1.0 OK")
            elif verb == "RCPT":
                if await self._fault(state, "rcpt"):
                    continue
                if envelope is None:
                    await self._reply(state, "503 5.5.1 Need MAIL first")
                    continue
                envelope["to"].append(argument)
                await self._reply(state, "250 2.1.5 OK")
            elif verb == "DATA":
                if await self._fault(state, "data"):
                    continue
                if not envelope or not envelope["to"]:
                    await self._reply(state, "503 5.5.1 Need RCPT first")
                    continue
                await self._reply(state, "354 End data with <CR><LF>.<CR><LF>")
                await self._data(state, envelope)
                envelope = None
            elif verb == "RSET":
                envelope = None
                await self._reply(state, "250 2.0.0 OK")
            elif verb == "NOOP":
                await self._reply(state, "250 2.0.0 OK")
            elif verb == "QUIT":
                await self._reply(state, "221 2.0.0 Bye")
                raise Hangup()
            else:
                await self._reply(state, "502 5.5.2 Command not recognized")

    async def _data(self, state, envelope):
        lines = []
        while True:
            line = await state["reader"].readline()
            if not line:
                raise Hangup()  # cut off before the terminator: nothing was delivered
            if line == b".\r\n":
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        raw = b"".join(lines)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        message = {
            "session": state["session"], "from": envelope["from"], "to": envelope["to"], "raw": raw,
            "communication_id": str(parsed["X-CRM-Communication-ID"] or ""), "tls": state["tls"],
            "authenticated": state["authenticated"], "outcome": "accepted", "at": time.monotonic(),
        }
        fault = self._take("data_end", state["session"])
        if fault is not None and fault.action == "reply" and not fault.reply.startswith("2"):
            message["outcome"] = "refused"
        elif fault is not None and fault.action == "late":
            message["outcome"] = "reply_late"
        elif fault is not None and fault.action != "reply":
            message["outcome"] = "reply_lost"
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        if fault is not None and await self._perform(state, fault):
            return  # a scripted reply was given
        await self._reply(state, "250 2.0.0 queued")
