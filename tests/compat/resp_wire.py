"""A small RESP2/RESP3 client that keeps every reply's wire type.

redis-py turns `+OK` and `$2\\r\\nOK` into the same Python value and strips known error prefixes,
so it cannot tell a compatible reply from an almost-compatible one. The differential test and the
wire-level checks use this client instead: each reply is a tagged tuple, so two servers' replies
compare with `==` and print readably when they differ.

Reply forms (tag first):
    ("simple", b"OK")   ("error", b"ERR ...")   ("int", 3)   ("bulk", b"...")
    ("null",) for $-1   ("nullarray",) for *-1  ("array", (reply, ...))
    RESP3: ("null3",) for _   ("bool", True)   ("double", b"1.5")   ("bignum", b"...")
           ("bulkerror", b"...")   ("verbatim", b"txt:...")   ("map", ((k, v), ...))
           ("set", (reply, ...))   ("push", (reply, ...))
"""

from __future__ import annotations

import socket

HOST = "127.0.0.1"
TIMEOUT_S = 20.0
BULK_BYTES_MAX = 64 * 1024 * 1024
AGGREGATE_LEN_MAX = 1_000_000
DEPTH_MAX = 16


class WireError(RuntimeError):
    """The server sent bytes that are not RESP, or closed the connection."""


def encode_command(args) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class RespConnection:
    def __init__(self, port: int, timeout_s: float = TIMEOUT_S):
        self.sock = socket.create_connection((HOST, port), timeout=timeout_s)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *args) -> None:
        self.sock.sendall(encode_command(args))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def read(self):
        return self._read(0)

    def _line(self) -> bytes:
        line = self.reader.readline(BULK_BYTES_MAX)
        if not line:
            raise WireError("connection closed by the server")
        if not line.endswith(b"\r\n"):
            raise WireError(f"line without CRLF: {line[:80]!r}")
        return line[:-2]

    def _exact(self, n: int) -> bytes:
        data = self.reader.read(n + 2)
        if len(data) != n + 2 or not data.endswith(b"\r\n"):
            raise WireError(f"short or unterminated payload: {data[:80]!r}")
        return data[:-2]

    def _length(self, text: bytes, limit: int) -> int:
        try:
            n = int(text)
        except ValueError:
            raise WireError(f"bad length {text!r}") from None
        if n < -1 or n > limit:
            raise WireError(f"length {n} outside [-1, {limit}]")
        return n

    def _read(self, depth: int):
        if depth > DEPTH_MAX:
            raise WireError("reply nested too deeply")
        line = self._line()
        tag, rest = line[:1], line[1:]
        if tag == b"+":
            return ("simple", rest)
        if tag == b"-":
            return ("error", rest)
        if tag == b":":
            return ("int", int(rest))
        if tag in (b"$", b"!", b"="):
            n = self._length(rest, BULK_BYTES_MAX)
            if n == -1:
                if tag != b"$":
                    raise WireError(f"null length on {tag!r}")
                return ("null",)
            name = {b"$": "bulk", b"!": "bulkerror", b"=": "verbatim"}[tag]
            return (name, self._exact(n))
        if tag in (b"*", b"~", b">"):
            n = self._length(rest, AGGREGATE_LEN_MAX)
            if n == -1:
                if tag != b"*":
                    raise WireError(f"null length on {tag!r}")
                return ("nullarray",)
            name = {b"*": "array", b"~": "set", b">": "push"}[tag]
            return (name, tuple(self._read(depth + 1) for _ in range(n)))
        if tag == b"%":
            n = self._length(rest, AGGREGATE_LEN_MAX)
            return ("map", tuple((self._read(depth + 1), self._read(depth + 1)) for _ in range(n)))
        if tag == b"_":
            return ("null3",)
        if tag == b"#":
            if rest not in (b"t", b"f"):
                raise WireError(f"bad boolean {rest!r}")
            return ("bool", rest == b"t")
        if tag == b",":
            return ("double", rest)
        if tag == b"(":
            return ("bignum", rest)
        raise WireError(f"unknown reply type byte in {line[:80]!r}")


def is_error(reply) -> bool:
    return reply[0] in ("error", "bulkerror")


def plain(reply):
    """A reply as plain Python values (bytes, int, None, lists, dicts), for assertions."""
    tag = reply[0]
    if tag in ("null", "nullarray", "null3"):
        return None
    if tag in ("array", "set", "push"):
        return [plain(item) for item in reply[1]]
    if tag == "map":
        return {plain(k): plain(v) for k, v in reply[1]}
    return reply[1]
