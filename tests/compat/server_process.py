"""Start and stop the servers the compatibility suites talk to.

Two kinds of server: `lode` (the server under test, `lode serve`) and `redis` (Debian's
redis-server 7.0, the reference). Each runs as a child process on a free 127.0.0.1 port with its
own data directory, its output in `server.log` there. Readiness is "answers PING" (any RESP reply:
a server with requirepass answers -NOAUTH, which still proves it is serving).

Every wait here is bounded in tries and in time; no wait is a fixed sleep: a try blocks on a
socket or on the child's exit, so a server that dies during start-up is reported at once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REDIS_SERVER = "/usr/bin/redis-server"
HOST = "127.0.0.1"

START_TIMEOUT_S = 30.0
START_TRIES_MAX = 400
STOP_TERM_TIMEOUT_S = 15.0
STOP_KILL_TIMEOUT_S = 5.0
PORT_TRIES_MAX = 3
LOG_TAIL_BYTES = 4000
CLIENT_TIMEOUT_S = 20

# Flags `lode serve` must accept for the suite to run against it; the placeholder command that
# precedes the real server lists only some of them.
LODE_FLAGS_REQUIRED = ("--port", "--dir", "--appendfsync")


class ServerStartError(RuntimeError):
    """The server exited or never answered PING; the message carries its log tail."""


@dataclass
class ServerProcess:
    kind: str  # "lode" or "redis"
    argv: list[str]
    port: int
    data_dir: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def log_tail(self) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-LOG_TAIL_BYTES:].decode("utf-8", errors="replace")

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        backoff_s = 0.005
        for _ in range(START_TRIES_MAX):
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.kind} exited with status {self.proc.returncode} during start-up: "
                    f"{' '.join(self.argv)}\n{self.log_tail()}"
                )
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                break
            if answers_ping(self.port, timeout_s=min(1.0, remaining_s)):
                return
            # Refused: the port is not open yet. Wait on the child's exit, not a sleep, so a
            # crash is seen at once; back off so the tries stay few.
            try:
                self.proc.wait(timeout=min(backoff_s, max(remaining_s, 0.001)))
            except subprocess.TimeoutExpired:
                pass
            backoff_s = min(backoff_s * 2, 0.25)
        self.stop()
        raise ServerStartError(
            f"{self.kind} did not answer PING on {HOST}:{self.port} within "
            f"{START_TIMEOUT_S:.0f} s\n{self.log_tail()}"
        )

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a bounded wait. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TERM_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=STOP_KILL_TIMEOUT_S)
        return self.proc.returncode

    def _signal(self, sig: int) -> None:
        try:
            os.kill(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def answers_ping(port: int, timeout_s: float) -> bool:
    """True if something on HOST:port replies to an inline PING with any RESP frame."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply[:1] in (b"+", b"-")


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the caller retries if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis_argv(port: int, data_dir: Path, extra: list[str]) -> list[str]:
    return [
        REDIS_SERVER,
        "--port", str(port),
        "--bind", HOST,
        "--dir", str(data_dir),
        "--save", "",
        "--appendonly", "yes",
        *extra,
    ]


def lode_argv(binary: Path, port: int, data_dir: Path, extra: list[str]) -> list[str]:
    return [
        str(binary), "serve",
        "--port", str(port),
        "--dir", str(data_dir),
        "--appendfsync", "everysec",
        *extra,
    ]


def start_server(
    kind: str, data_dir: Path, extra: list[str] | None = None, lode_binary: Path | None = None
) -> ServerProcess:
    """Start a server of `kind` in `data_dir`, retrying on a port lost to a race."""
    extra = list(extra or [])
    data_dir.mkdir(parents=True, exist_ok=True)
    last_error: ServerStartError | None = None
    for _ in range(PORT_TRIES_MAX):
        port = free_port()
        if kind == "redis":
            argv = redis_argv(port, data_dir, extra)
        elif kind == "lode":
            assert lode_binary is not None, "a lode server needs the lode binary"
            argv = lode_argv(lode_binary, port, data_dir, extra)
        else:
            raise ValueError(f"unknown server kind {kind!r}")
        server = ServerProcess(kind=kind, argv=argv, port=port, data_dir=data_dir)
        try:
            server.start()
            return server
        except ServerStartError as error:
            last_error = error
            if "in use" not in str(error).lower():
                raise
    raise last_error


def lode_serve_help(binary: Path) -> str:
    done = subprocess.run(
        [str(binary), "serve", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return done.stdout + done.stderr


def lode_missing_flags(help_text: str, flags: tuple[str, ...] = LODE_FLAGS_REQUIRED) -> list[str]:
    return [flag for flag in flags if flag not in help_text]


def redis_client(port: int, **options) -> redis.Redis:
    """A redis-py client of HOST:port with the suite's defaults, overridable by `options`.

    No retries: redis-py's default reconnect-and-retry would hide a dropped connection or a
    failed handshake, which are exactly what the suite must see.
    """
    settings = dict(
        host=HOST, port=port, socket_timeout=CLIENT_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0), single_connection_client=True,
    )
    settings.update(options)
    return redis.Redis(**settings)
