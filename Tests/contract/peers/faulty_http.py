"""A misbehaving HTTP front for a contract peer (TwilioAPI, MetaAPI): a raw socket server that reads
each request itself and, on command, answers it wrongly or not at all, at the TCP level where
http.server cannot.

Requests pass through to the peer behind it (which still checks each against the provider's
documented contract and decides whether the provider would take the message) unless a fault says
otherwise. Faults apply, in the order injected, to the requests `matches` picks (by default every
POST: the sends, not the checks):

    status     answer `status` with `headers` and the JSON `body`; the peer never sees the request
    reset      abort the connection (TCP RST) without a word
    hang       say nothing; keep the connection open until the client gives up and closes it
    malformed  answer `status` (default: the peer's own) with `body_bytes`, not the peer's JSON

`forward=True` (reset, hang, malformed) first passes the request to the peer, so the provider took
the message and only its answer is lost or spoiled: the case where a retry duplicates a message.
"""

import http.client
import json
import select
import socket
import struct
import threading
import time

# A 201/200 whose JSON breaks off in the middle: what a proxy or a truncated stream may deliver.
TRUNCATED = b'{"sid": "SM0123456789abcdef0123456789abcd", "status": "que'


class Fault:
    def __init__(self, action, times=1, status=None, headers=None, body=None, body_bytes=TRUNCATED, forward=False):
        assert action in ("status", "reset", "hang", "malformed"), action
        assert action != "status" or status, "a status fault needs its status"
        self.action, self.times, self.status, self.headers = action, times, status, headers or {}
        self.body, self.body_bytes, self.forward = body, body_bytes, forward


class FaultyHTTP:
    def __init__(self, upstream, matches=lambda method, path: method == "POST"):
        self.upstream = upstream
        self.matches = matches
        self.requests = []  # every request read: {method, path, headers, body, fault, forwarded, at, wall}
        self.injected = []  # every fault as it fired: {action, forwarded, at, wall}
        self.unanswered = []  # bytes that arrived on a connection left hanging
        self.connections = 0
        self._faults = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._open = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def inject(self, action, **options):
        with self._lock:
            self._faults.append(Fault(action, **options))

    def pending_faults(self):
        with self._lock:
            return sum(f.times for f in self._faults)

    def wait_for(self, predicate, timeout=20, what="the HTTP front's condition"):
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"timed out waiting for {what}; injected: {self.injected}")

    def stop(self):
        self._stopping.set()
        self._acceptor.join(5)
        self._listener.close()
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # Serving

    def _accept(self):
        while not self._stopping.is_set():
            try:
                readable, _, _ = select.select([self._listener], [], [], 0.1)
                if not readable:
                    continue
                connection, _ = self._listener.accept()
            except (OSError, ValueError):
                return
            with self._changed:
                self.connections += 1
                self._open.add(connection)
                self._changed.notify_all()
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _take(self, method, path):
        if not self.matches(method, path):
            return None
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times == 0:
                self._faults.pop(0)
            return fault

    def _serve(self, connection):
        buffer = b""
        try:
            while not self._stopping.is_set():
                request, buffer = self._read_request(connection, buffer)
                if request is None:
                    return
                fault = self._take(request["method"], request["path"])
                record = {**request, "fault": fault.action if fault else None, "forwarded": False, "at": time.monotonic(), "wall": time.time()}
                answer = None
                if fault is None or fault.forward:
                    answer = self._forward(request)
                    record["forwarded"] = True
                with self._changed:
                    self.requests.append(record)
                    if fault:
                        self.injected.append({"action": fault.action, "forwarded": record["forwarded"], "at": record["at"], "wall": record["wall"]})
                    self._changed.notify_all()
                if fault is None:
                    self._respond(connection, *answer)
                elif fault.action == "status":
                    self._respond(connection, fault.status, fault.headers, json.dumps(fault.body or {}).encode())
                elif fault.action == "malformed":
                    status = fault.status or (answer[0] if answer else 200)
                    self._respond(connection, status, fault.headers, fault.body_bytes)
                elif fault.action == "reset":
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                elif fault.action == "hang":
                    self._hang(connection)
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._open.discard(connection)
            connection.close()

    def _hang(self, connection):
        """Says nothing until the client closes the connection (or the front stops)."""
        while not self._stopping.is_set():
            readable, _, _ = select.select([connection], [], [], 0.1)
            if not readable:
                continue
            data = connection.recv(65536)
            if not data:
                return
            with self._changed:
                self.unanswered.append(data)
                self._changed.notify_all()

    def _read_request(self, connection, buffer):
        """One request from the connection: (request, what was read beyond it), or (None, b"") at its end."""
        while b"\r\n\r\n" not in buffer:
            data = self._recv(connection)
            if not data:
                return None, b""
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in rest:
                    data = self._recv(connection)
                    if not data:
                        return None, b""
                    rest += data
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(rest) < size + 2:
                    data = self._recv(connection)
                    if not data:
                        return None, b""
                    rest += data
                body, rest = body + rest[:size], rest[size + 2:]
                if size == 0:
                    break
        else:
            length = int(lowered.get("content-length", "0"))
            while len(rest) < length:
                data = self._recv(connection)
                if not data:
                    return None, b""
                rest += data
            body, rest = rest[:length], rest[length:]
        return {"method": method, "path": path, "headers": headers, "body": body}, rest

    def _recv(self, connection):
        while not self._stopping.is_set():
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable:
                return connection.recv(65536)
        return b""

    def _forward(self, request):
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream.port, timeout=10)
        try:
            skip = {"host", "connection", "transfer-encoding", "content-length", "keep-alive"}
            headers = {k: v for k, v in request["headers"].items() if k.lower() not in skip}
            upstream.request(request["method"], request["path"], body=request["body"], headers=headers)
            response = upstream.getresponse()
            hop = {"connection", "transfer-encoding", "content-length", "keep-alive", "date", "server"}
            return response.status, {k: v for k, v in response.getheaders() if k.lower() not in hop}, response.read()
        finally:
            upstream.close()

    @staticmethod
    def _respond(connection, status, headers, body):
        reason = http.client.responses.get(status, "Status")
        head = [f"HTTP/1.1 {status} {reason}"]
        if not any(k.lower() == "content-type" for k in headers):
            head.append("Content-Type: application/json")
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
