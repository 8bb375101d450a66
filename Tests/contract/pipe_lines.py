"""A child's stdout read as lines, without blocking: shared by the contract tests and Tests/bench."""
import os
import select
import time

CHUNK = 1 << 20  # what one read takes at the most: a burst of answers drains in few system calls


class PipeLines:
    """The complete lines a child writes on `fd` (made non-blocking here), each read as soon as it is
    there; a partial last line waits in `carry` for the rest. Once the child closes its stdout, a read
    raises RuntimeError with the text `describe()` gives (which process, its exit code, its stderr's
    tail): a child that died mid-test should say why. `clock` times each read (`take`)."""

    def __init__(self, fd, describe, clock=time.monotonic):
        self.fd = fd
        os.set_blocking(fd, False)
        self.describe = describe
        self.clock = clock
        self.carry = b""

    def split(self, data):
        """The lines `data` completes; its unfinished end is kept for the next."""
        *lines, self.carry = (self.carry + data).split(b"\n")
        return lines

    def take(self):
        """The complete lines there are now (possibly none), and when they were read (None if nothing
        was). For an event loop that already knows `fd` is readable."""
        try:
            data = os.read(self.fd, CHUNK)
        except BlockingIOError:
            return [], None
        # Timed before splitting: a latency ends when the answer is read, not when it is parsed.
        at = self.clock()
        if not data:
            raise RuntimeError(self.describe())
        return self.split(data), at

    def read(self, timeout):
        """The complete lines that arrive within `timeout` seconds (possibly none)."""
        readable, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not readable:
            return []
        return self.take()[0]
