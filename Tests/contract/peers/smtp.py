"""A real SMTP server the project did not write (aiosmtpd), with STARTTLS or implicit TLS, AUTH, and
scripted refusals, keeping every message it accepts and the sessions they came in."""

import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "planner"
PASSWORD = "s3cret-pass"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd's handler: records messages, sessions and logins; refuses scripted recipients."""

    def __init__(self):
        self.messages = []
        self.sessions = set()
        self.logins = []
        self.refuse = {}  # recipient -> SMTP reply for RCPT TO
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.sessions.add(id(session))
            self.messages.append({
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "raw": envelope.original_content,
                # The connection's own transport: STARTTLS replaces it, implicit TLS starts with it.
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": session.authenticated,
                "session": id(session),
            })
            self.arrived.notify_all()
        return "250 2.0.0 queued"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
        self.logins.append((mechanism, ok))
        # An explicit reply: aiosmtpd 1.4.6 sends none for a refused two-step AUTH PLAIN otherwise.
        return AuthResult(success=ok, handled=False, message=None if ok else "535 5.7.8 Authentication credentials invalid")

    def wait_for(self, count, timeout=20):
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} of {count} messages arrived")
            return self.messages[:count]

    @staticmethod
    def parse(message):
        return email.message_from_bytes(message["raw"], policy=email.policy.default)


class SMTPPeer:
    """aiosmtpd on loopback. `implicit_tls`: TLS from the first byte; otherwise STARTTLS required
    before AUTH and mail."""

    def __init__(self, cert, key, implicit_tls=False):
        from peers.tls import server_context

        self.mailbox = Mailbox()
        self.port = free_port()
        context = server_context(cert, key)
        options = dict(
            hostname="127.0.0.1", port=self.port, authenticator=self.mailbox.authenticate,
            auth_require_tls=True, auth_required=True,
        )
        if implicit_tls:
            # aiosmtpd counts only STARTTLS as TLS when deciding to offer AUTH; this connection is
            # TLS from its first byte, so requiring it again would hide AUTH.
            options["auth_require_tls"] = False
            self.controller = Controller(self.mailbox, ssl_context=context, server_hostname="localhost", **options)
        else:
            self.controller = Controller(self.mailbox, tls_context=context, require_starttls=True, **options)
        self.controller.start()

    def env(self, ca_file, security="true"):
        return {
            "SMTP_HOST": "localhost", "SMTP_PORT": str(self.port), "SMTP_USE_TLS": security,
            "SMTP_USERNAME": USERNAME, "SMTP_PASSWORD": PASSWORD, "SMTP_CA_FILE": str(ca_file),
            "SMTP_FROM_EMAIL": "planner@planiva.example", "SMTP_FROM_NAME": "Planiva Événements",
        }

    def stop(self):
        self.controller.stop()
