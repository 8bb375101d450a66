"""A local HTTP server for a provider that cannot run here: each request is checked against the
provider's documented contract, and answered in its documented shapes (or as scripted)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Peer:
    """Subclasses implement `handle(method, path, headers, body, record) -> (status, headers, json_body)`
    (marking `record["accepted"]` when the provider would take the message) and
    raise `ContractViolation` for a request the real provider would not accept as written."""

    def __init__(self):
        self.requests = []
        self.violations = []
        self.script = []  # answers to give before the normal ones: (status, headers, body)
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                record = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                with peer.lock:
                    peer.requests.append(record)
                    scripted = peer.script.pop(0) if peer.script else None
                try:
                    status, headers, answer = peer.handle(self.command, self.path, self.headers, body, record)
                except ContractViolation as violation:
                    peer.violations.append(str(violation))
                    status, headers, answer = 400, {}, {"violation": str(violation)}
                if scripted is not None:
                    # The request was still checked against the contract; only the answer is scripted.
                    record["accepted"] = False
                    status, headers, answer = scripted
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self):
        """Requests that were answered with success and broke no rule."""
        return [r for r in self.requests if r.get("accepted")]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ContractViolation(Exception):
    pass
