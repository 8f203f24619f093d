"""The stock Redis tools against the server under test: redis-cli, inline commands, and
redis-benchmark. Every tool runs with -h 127.0.0.1 and a bounded timeout."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from resp_wire import RespConnection
from server_process import HOST, redis_client

REDIS_CLI = "/usr/bin/redis-cli"
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
CLI_TIMEOUT_S = 30
BENCHMARK_TIMEOUT_S = 600
BENCHMARK_TESTS = ("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)")


@pytest.fixture
def port(target) -> int:
    client = redis_client(target.port)
    client.flushall()
    client.close()
    return target.port


def cli(port: int, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [REDIS_CLI, "-h", HOST, "-p", str(port), *args],
        input=stdin, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False,
    )
    assert done.returncode == 0, f"redis-cli {args} exited {done.returncode}: {done.stderr}"
    return done.stdout


def test_redis_cli_set_get(port):
    assert cli(port, "SET", "a", "b") == "OK\n"
    assert cli(port, "GET", "a") == "b\n"  # not a terminal: raw output by default
    assert cli(port, "--no-raw", "GET", "a") == '"b"\n'
    assert cli(port, "--no-raw", "GET", "missing") == "(nil)\n"
    assert cli(port, "--no-raw", "INCR", "n") == "(integer) 1\n"
    assert cli(port, "PING") == "PONG\n"


def test_redis_cli_raw_output(port):
    cli(port, "SET", "multi", "line1\nline2")
    assert cli(port, "--raw", "GET", "multi") == "line1\nline2\n"
    assert cli(port, "--no-raw", "GET", "multi") == '"line1\\nline2"\n'
    assert cli(port, "--raw", "GET", "missing") == "\n"
    assert cli(port, "--raw", "INCR", "a") == "1\n"
    assert cli(port, "--no-raw", "INCR", "multi") == (
        "(error) ERR value is not an integer or out of range\n")


def test_redis_cli_commands_from_stdin(port):
    out = cli(port, stdin="SET x 1\nINCR x\nGET x\nSET s \"a b\"\nGET s\nDEL x s\n")
    assert out == "OK\n2\n2\nOK\na b\n2\n"


def test_redis_cli_resp3(port):
    cli(port, "SET", "a", "b")
    assert cli(port, "-3", "--no-raw", "GET", "missing") == "(nil)\n"
    assert cli(port, "-3", "--no-raw", "GET", "a") == '"b"\n'
    lines = cli(port, "-3", "HELLO", "3").splitlines()  # a map prints as "field value" lines
    assert lines[0] == "server redis" and lines[2] == "proto 3"
    assert re.fullmatch(r"version 7\.0\.\d+", lines[1]), lines[1]


def test_redis_cli_scan(port):
    for i in range(30):
        cli(port, "SET", f"scan:{i}", str(i))
    cli(port, "SET", "other", "x")
    listed = cli(port, "--scan", "--pattern", "scan:*").split()
    assert sorted(listed) == sorted(f"scan:{i}" for i in range(30))


def test_inline_commands_on_the_wire(port):
    with RespConnection(port) as conn:
        conn.send_raw(b"SET inline 42\r\nGET inline\r\nINCR inline\r\n")
        assert conn.read() == ("simple", b"OK")
        assert conn.read() == ("bulk", b"42")
        assert conn.read() == ("int", 43)
        conn.send_raw(b'SET quoted "a b\\x41"\r\nGET quoted\r\n')
        assert conn.read() == ("simple", b"OK")
        assert conn.read() == ("bulk", b"a bA")
        conn.send_raw(b"PING\n")  # a bare LF ends an inline command too
        assert conn.read() == ("simple", b"PONG")
        conn.send_raw(b"\r\n")  # an empty line is ignored
        conn.send_raw(b"ECHO 'single quoted'\r\n")
        assert conn.read() == ("bulk", b"single quoted")


def test_redis_benchmark_runs_clean(port):
    done = subprocess.run(
        [REDIS_BENCHMARK, "-h", HOST, "-p", str(port),
         "-t", "ping,set,get,incr,mset", "-n", "20000", "-q"],
        capture_output=True, text=True, timeout=BENCHMARK_TIMEOUT_S, check=False,
    )
    output = done.stdout + done.stderr
    lines = [line.strip() for line in re.split(r"[\r\n]", output) if line.strip()]
    assert done.returncode == 0, output[-2000:]
    bad = [line for line in lines if re.search(r"error|warn|could not|ERR", line, re.I)]
    assert not bad, bad
    results = [line for line in lines if "requests per second" in line]
    assert [line.split(":")[0] for line in results] == list(BENCHMARK_TESTS), results


@pytest.mark.skipif(os.environ.get("LODE_COMPAT_TARGET", "lode") == "redis",
                    reason="KRANGE is a Lode extension")
def test_readme_krange_redis_cli_example(port):
    """Each `$ redis-cli ...` line of the README's example prints what the README shows."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = text.index("<!-- krange-redis-cli-begin -->")
    block = text[start:text.index("<!-- krange-redis-cli-end -->")].split("```")[1]
    commands = block.strip("\n").split("$ redis-cli ")[1:]
    assert len(commands) >= 3, block
    for command in commands:
        line, _, expected = command.partition("\n")
        assert cli(port, "--no-raw", *shlex.split(line)) == expected.rstrip("\n") + "\n", line
