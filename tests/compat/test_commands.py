"""Command families through redis-py, over RESP2 and RESP3, against the server under test.

Each class is one family: connection, server, strings, keys, transactions, auth, expiry. Replies
and error texts are Redis 7.0.15's, read off a real server (run the suite with
LODE_COMPAT_TARGET=redis to see them hold). Error texts live in redis_errors.py.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest
import redis

import redis_errors as E
from redis_errors import assert_error
from resp_wire import RespConnection, plain
from server_process import redis_client

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
FAR_FUTURE_S = 4_000_000_000  # unix seconds, year 2096
POLL_TRIES_MAX = 20_000
POLL_TIMEOUT_S = 10.0


def poll_until(condition, what: str) -> int:
    """Call `condition()` (a round trip to the server) until it is true; bounded; returns tries."""
    deadline = time.monotonic() + POLL_TIMEOUT_S
    for tries in range(1, POLL_TRIES_MAX + 1):
        if condition():
            return tries
        if time.monotonic() > deadline:
            break
    pytest.fail(f"{what}: not true after {tries} tries / {POLL_TIMEOUT_S} s")


def info_text(reply) -> bytes:
    """INFO's text from its wire reply: a bulk in RESP2, a `txt:` verbatim string in RESP3."""
    kind, text = reply
    if kind == "verbatim":
        assert text.startswith(b"txt:"), text[:8]
        return text[4:]
    assert kind == "bulk", reply
    return text


def local_port(client: redis.Redis) -> int:
    return client.connection._sock.getsockname()[1]


# Field names of CLIENT LIST / CLIENT INFO lines, in Redis 7.0's order.
CLIENT_FIELDS = (
    "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem "
    "multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"
).split()


class TestConnection:
    def test_ping_replies_pong_or_echoes_its_argument(self, r):
        assert r.ping() is True
        assert r.execute_command("ECHO", "x") == "x"
        assert_error(lambda: r.execute_command("PING", "a", "b"), E.WRONG_ARITY.format("ping"))

    def test_ping_wire_types(self, wire):
        assert wire.call("PING") == ("simple", b"PONG")
        assert wire.call("PING", "hi") == ("bulk", b"hi")

    def test_echo_returns_bytes_unchanged(self, connect):
        raw = connect(decode_responses=False)
        payload = bytes(range(256)) + b"\r\n\x00"
        assert raw.echo(payload) == payload
        assert raw.echo(b"") == b""
        assert_error(lambda: raw.execute_command("ECHO"), E.WRONG_ARITY.format("echo"))

    def test_hello_reports_redis_7_0_and_the_protocol(self, r, protocol):
        reply = r.execute_command("HELLO")
        if protocol == 2:
            reply = dict(zip(reply[::2], reply[1::2]))
        assert list(reply) == ["server", "version", "proto", "id", "mode", "role", "modules"]
        assert reply["server"] == "redis"
        assert re.fullmatch(r"7\.0\.\d+", reply["version"]), reply["version"]
        assert reply["proto"] == protocol
        assert reply["id"] == r.client_id()
        assert (reply["mode"], reply["role"], reply["modules"]) == ("standalone", "master", [])

    def test_hello_switches_the_wire_protocol(self, target):
        with RespConnection(target.port) as conn:
            assert conn.call("GET", "missing") == ("null",)
            reply = conn.call("HELLO", "3")
            assert reply[0] == "map" and len(reply[1]) == 7
            fields = dict((k[1], v) for k, v in reply[1])
            assert fields[b"proto"] == ("int", 3)
            assert fields[b"modules"] == ("array", ())
            assert conn.call("GET", "missing") == ("null3",)
            reply = conn.call("HELLO", "2")
            assert reply[0] == "array" and len(reply[1]) == 14
            assert conn.call("GET", "missing") == ("null",)

    def test_hello_errors(self, r):
        assert_error(lambda: r.execute_command("HELLO", "4"), E.NOPROTO)
        assert_error(lambda: r.execute_command("HELLO", "1"), E.NOPROTO)
        assert_error(lambda: r.execute_command("HELLO", "abc"), E.HELLO_BAD_PROTOCOL)
        assert_error(lambda: r.execute_command("HELLO", "3", "AUTH", "x"),
                     E.HELLO_BAD_OPTION.format("AUTH"))
        assert_error(lambda: r.execute_command("HELLO", "3", "foo"),
                     E.HELLO_BAD_OPTION.format("foo"))
        assert_error(lambda: r.execute_command("HELLO", "3", "SETNAME", "a b"),
                     E.CLIENT_NAME_CHARS)

    def test_hello_setname_and_auth_without_requirepass(self, r, protocol):
        r.execute_command("HELLO", str(protocol), "AUTH", "default", "anything", "SETNAME", "n1")
        assert r.client_getname() == "n1"
        assert_error(lambda: r.execute_command("HELLO", str(protocol), "AUTH", "nobody", "x"),
                     E.WRONGPASS)

    def test_auth_without_requirepass(self, r):
        assert_error(lambda: r.execute_command("AUTH", "pw"), E.AUTH_NOT_CONFIGURED)
        # The default user has `nopass`: any password is accepted for it, no other user exists.
        assert r.execute_command("AUTH", "default", "whatever") is True
        assert_error(lambda: r.execute_command("AUTH", "nobody", "pw"), E.WRONGPASS)
        assert_error(lambda: r.execute_command("AUTH", "a", "b", "c"), E.SYNTAX)
        assert_error(lambda: r.execute_command("AUTH"), E.WRONG_ARITY.format("auth"))

    def test_select_isolates_databases(self, r):
        r.set("k", "db0")
        assert r.select(1) is True
        assert r.get("k") is None
        r.set("k", "db1")
        assert r.select(15) is True
        assert r.dbsize() == 0
        r.select(0)
        assert r.get("k") == "db0"
        assert_error(lambda: r.select(16), E.DB_INDEX)
        assert_error(lambda: r.execute_command("SELECT", "-1"), E.DB_INDEX)
        assert_error(lambda: r.execute_command("SELECT", "x"), E.NOT_INTEGER)

    def test_quit_replies_ok_and_closes(self, target):
        with RespConnection(target.port) as conn:
            assert conn.call("QUIT") == ("simple", b"OK")
            assert conn.reader.read(1) == b""

    def test_reset_restores_connection_defaults(self, target):
        with RespConnection(target.port) as conn:
            conn.call("HELLO", "3", "SETNAME", "before")
            assert conn.call("SELECT", "2") == ("simple", b"OK")
            assert conn.call("MULTI") == ("simple", b"OK")
            assert conn.call("RESET") == ("simple", b"RESET")
            assert conn.call("CLIENT", "GETNAME") == ("null",)  # RESP2 again, no name
            assert conn.call("EXEC") == ("error", E.EXEC_WITHOUT_MULTI.encode())
            info = plain(conn.call("CLIENT", "INFO")).decode()
            assert " db=0 " in info and info.rstrip().endswith("resp=2")

    def test_client_id_is_an_increasing_integer(self, r, connect):
        first = r.client_id()
        second = connect().client_id()
        assert isinstance(first, int) and second > first
        assert r.client_info()["id"] == first

    def test_client_setname_getname(self, r):
        assert r.client_getname() is None
        assert r.client_setname("worker-1") is True
        assert r.client_getname() == "worker-1"
        assert_error(lambda: r.client_setname("a b"), E.CLIENT_NAME_CHARS)
        assert_error(lambda: r.client_setname("a\nb"), E.CLIENT_NAME_CHARS)
        assert r.client_getname() == "worker-1"
        r.client_setname("")
        assert r.client_getname() is None

    def test_client_setinfo_is_unknown_in_7_0(self, r):
        # Added in Redis 7.2; redis-py sends it on connect and ignores this error.
        assert_error(lambda: r.execute_command("CLIENT", "SETINFO", "LIB-NAME", "x"),
                     E.UNKNOWN_SUBCOMMAND.format("SETINFO", "CLIENT"))
        assert_error(lambda: r.execute_command("CLIENT", "nosuch"),
                     E.UNKNOWN_SUBCOMMAND.format("nosuch", "CLIENT"))

    def test_client_info_and_list_fields(self, r, target, protocol):
        r.client_setname("me")
        r.select(3)
        line = r.execute_command("CLIENT", "INFO")
        assert [kv.split("=", 1)[0] for kv in line.split()] == CLIENT_FIELDS
        info = r.client_info()
        assert info["addr"] == f"127.0.0.1:{local_port(r)}"
        assert info["laddr"] == f"127.0.0.1:{target.port}"
        assert (info["name"], info["db"], info["cmd"]) == ("me", 3, "client|info")
        assert (info["user"], str(info["resp"]), str(info["multi"])) == (
            "default", str(protocol), "-1")
        listed = {c["id"]: c for c in r.client_list()}
        mine = listed[str(info["id"])]
        assert list(mine) == CLIENT_FIELDS
        assert (mine["name"], mine["cmd"]) == ("me", "client|list")

    def test_client_kill_by_id_and_addr(self, r, target):
        with RespConnection(target.port) as victim:
            victim_id = victim.call("CLIENT", "ID")[1]
            assert r.execute_command("CLIENT", "KILL", "ID", str(victim_id)) == 1
            assert victim.reader.read(1) == b""  # closed by the server
        assert r.execute_command("CLIENT", "KILL", "ID", "999999999") == 0
        with RespConnection(target.port) as other:
            other.call("PING")
            addr = "127.0.0.1:%d" % other.sock.getsockname()[1]
            assert r.execute_command("CLIENT", "KILL", addr) == "OK"
            assert other.reader.read(1) == b""
        assert_error(lambda: r.execute_command("CLIENT", "KILL", "127.0.0.1:1"), E.NO_SUCH_CLIENT)

    def test_unknown_command_error_quotes_the_arguments(self, r):
        assert_error(lambda: r.execute_command("NOSUCH", "a", "b"),
                     E.UNKNOWN_COMMAND.format("NOSUCH", "'a' 'b' "))
        assert_error(lambda: r.execute_command("nosuch"), E.UNKNOWN_COMMAND.format("nosuch", ""))
        assert_error(lambda: r.execute_command("GET"), E.WRONG_ARITY.format("get"))
        assert_error(lambda: r.execute_command("GET", "a", "b"), E.WRONG_ARITY.format("get"))


class TestServer:
    def test_info_default_sections_and_fields(self, r, wire, target):
        text = info_text(wire.call("INFO")).decode()
        sections = re.findall(r"^# (\w+)", text, re.M)
        assert sections == ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
                            "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"]
        info = r.info()
        for field in ("redis_version", "redis_mode", "os", "arch_bits", "process_id", "run_id",
                      "tcp_port", "uptime_in_seconds", "uptime_in_days", "connected_clients",
                      "blocked_clients", "maxclients", "used_memory", "used_memory_human",
                      "maxmemory", "maxmemory_policy", "loading", "aof_enabled",
                      "rdb_last_save_time", "rdb_changes_since_last_save",
                      "total_connections_received", "total_commands_processed",
                      "instantaneous_ops_per_sec", "expired_keys", "evicted_keys",
                      "keyspace_hits", "keyspace_misses", "total_error_replies", "role",
                      "connected_slaves", "master_replid", "master_repl_offset",
                      "used_cpu_sys", "used_cpu_user", "cluster_enabled"):
            assert field in info, field
        assert re.fullmatch(r"7\.0\.\d+", info["redis_version"])
        assert (info["redis_mode"], info["role"]) == ("standalone", "master")
        assert info["tcp_port"] == target.port
        assert info["process_id"] == target.proc.pid
        assert re.fullmatch(r"[0-9a-f]{40}", info["run_id"])
        assert (info["loading"], info["aof_enabled"], info["cluster_enabled"]) == (0, 1, 0)
        assert info["connected_clients"] >= 1 and info["connected_slaves"] == 0

    def test_info_sections_by_name(self, r, wire):
        assert r.info("nosuchsection") == {}
        server = r.info("server")
        assert "redis_version" in server and "connected_clients" not in server
        both = r.info("server", "clients")
        assert "redis_version" in both and "connected_clients" in both
        assert r.info("keyspace") == {}
        everything = info_text(wire.call("INFO", "everything"))
        assert b"# Commandstats" in everything and b"# Keyspace" in everything
        assert info_text(wire.call("INFO", "nosuchsection")) == b""

    def test_info_is_verbatim_text_in_resp3(self, wire, protocol):
        reply = wire.call("INFO", "server")
        if protocol == 2:
            assert reply[0] == "bulk" and reply[1].startswith(b"# Server\r\n")
        else:
            assert reply[0] == "verbatim" and reply[1].startswith(b"txt:# Server\r\n")
        reply = wire.call("CLIENT", "INFO")
        assert reply[0] == ("bulk" if protocol == 2 else "verbatim")
        assert reply[1].endswith(b"resp=%d\n" % protocol)

    def test_info_keyspace_counts_keys_and_expires(self, r):
        r.set("a", 1)
        r.set("b", 1, ex=1000)
        r.select(2)
        r.set("c", 1)
        keyspace = r.info("keyspace")
        assert set(keyspace) == {"db0", "db2"}
        assert (keyspace["db0"]["keys"], keyspace["db0"]["expires"]) == (2, 1)
        assert (keyspace["db2"]["keys"], keyspace["db2"]["expires"]) == (1, 0)
        assert isinstance(keyspace["db0"]["avg_ttl"], int)

    def test_config_resetstat_zeroes_keyspace_hits(self, r):
        r.set("a", 1)
        assert r.config_resetstat() is True
        r.get("a")
        r.get("missing")
        r.get("missing2")
        stats = r.info("stats")
        assert (stats["keyspace_hits"], stats["keyspace_misses"]) == (1, 2)

    def test_dbsize_flushdb_flushall(self, r):
        r.mset({"a": 1, "b": 2})
        r.select(1)
        r.set("c", 3)
        assert r.dbsize() == 1
        assert r.flushdb() is True
        assert r.dbsize() == 0
        r.select(0)
        assert r.dbsize() == 2
        r.select(1)
        r.set("c", 3)
        assert r.execute_command("FLUSHALL", "SYNC") is True
        assert r.dbsize() == 0
        r.select(0)
        assert r.dbsize() == 0
        r.set("d", 1)
        assert r.execute_command("FLUSHDB", "ASYNC") is True
        assert r.dbsize() == 0
        assert_error(lambda: r.execute_command("FLUSHDB", "x"), E.SYNTAX)
        assert_error(lambda: r.execute_command("FLUSHALL", "x"), E.SYNTAX)
        assert_error(lambda: r.execute_command("DBSIZE", "x"), E.WRONG_ARITY.format("dbsize"))

    def test_config_get(self, r):
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert r.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert r.config_get("save") == {"save": ""}
        assert r.config_get("nosuchparam") == {}
        matched = r.config_get("append*")
        assert {"appendonly", "appendfsync"} <= set(matched)
        assert_error(lambda: r.execute_command("CONFIG", "GET"), E.WRONG_ARITY.format("config|get"))

    def test_config_set(self, r):
        assert r.config_set("appendfsync", "always") is True
        try:
            assert r.config_get("appendfsync") == {"appendfsync": "always"}
        finally:
            r.config_set("appendfsync", "everysec")
        assert_error(lambda: r.config_set("appendfsync", "bogus"),
                     E.CONFIG_SET_ENUM.format("appendfsync", "everysec, always, no"))
        assert_error(lambda: r.config_set("nosuchparam", "1"),
                     E.CONFIG_SET_UNKNOWN.format("nosuchparam"))
        assert_error(lambda: r.execute_command("CONFIG", "SET"), E.WRONG_ARITY.format("config|set"))
        assert_error(lambda: r.execute_command("CONFIG", "nosuch"),
                     E.UNKNOWN_SUBCOMMAND.format("nosuch", "CONFIG"))

    def test_command_count_and_list(self, r):
        # COMMAND LIST names subcommands too (`config|get`); COMMAND COUNT counts only commands.
        names = r.command_list()
        assert len(set(names)) == len(names)
        assert r.command_count() == len([name for name in names if "|" not in name])
        assert {"config|get", "client|list", "command|count"} <= set(names)
        must_have = (
            "ping echo hello auth select quit reset client info dbsize flushdb flushall config "
            "command time lastsave get set setnx setex psetex getset getdel getex mget mset msetnx "
            "append strlen getrange setrange incr decr incrby decrby incrbyfloat del unlink exists "
            "type rename renamenx copy keys scan randomkey touch ttl pttl expire pexpire expireat "
            "pexpireat persist expiretime pexpiretime multi exec discard watch unwatch"
        ).split()
        assert set(must_have) <= set(names), sorted(set(must_have) - set(names))

    def test_command_info_get(self, wire):
        entry = plain(wire.call("COMMAND", "INFO", "get"))[0]
        assert entry[:7] == [b"get", 2, [b"readonly", b"fast"], 1, 1, 1,
                             [b"@read", b"@string", b"@fast"]]
        assert plain(wire.call("COMMAND", "INFO", "nosuchcommand")) == [None]
        entry = plain(wire.call("COMMAND", "INFO", "set"))[0]
        assert entry[:6] == [b"set", -3, [b"write", b"denyoom"], 1, 1, 1]

    def test_command_docs_get(self, wire):
        docs = plain(wire.call("COMMAND", "DOCS", "get"))
        if isinstance(docs, list):  # RESP2: flat name, doc, name, doc
            docs = {docs[0]: docs[1]}
        doc = docs[b"get"]
        if isinstance(doc, list):
            doc = dict(zip(doc[::2], doc[1::2]))
        assert doc[b"summary"] == b"Get the value of a key"
        assert (doc[b"since"], doc[b"group"], doc[b"complexity"]) == (b"1.0.0", b"string", b"O(1)")

    def test_command_unknown_subcommand(self, r):
        assert_error(lambda: r.execute_command("COMMAND", "nosuch"),
                     E.UNKNOWN_SUBCOMMAND.format("nosuch", "COMMAND"))

    def test_slowlog_get_len_reset(self, wire):
        # slowlog-log-slower-than 0 logs every command, so the log is deterministic.
        assert plain(wire.call("CONFIG", "SET", "slowlog-log-slower-than", "0")) == b"OK"
        try:
            wire.call("SLOWLOG", "RESET")
            wire.call("CLIENT", "SETNAME", "slow")
            wire.call("SET", "k" * 200, "v")
            wire.call("DEL", *[f"key{i}" for i in range(1, 41)])
            assert wire.call("AUTH", "secret")[0] == "error"
            reply = wire.call("SLOWLOG", "GET")
            assert reply[0] == "array"
            for entry in reply[1]:
                assert entry[0] == "array"
                kinds = [field[0] for field in entry[1]]
                assert kinds == ["int", "int", "int", "array", "bulk", "bulk"], entry
            entries = plain(reply)
            # Newest first; arguments as typed, at most 32 of at most 128 bytes, passwords
            # redacted; EXEC-free, so every command here is one entry.
            assert [entry[3] for entry in entries] == [
                [b"AUTH", b"(redacted)"],
                [b"DEL"] + [b"key%d" % i for i in range(1, 31)] + [b"... (10 more arguments)"],
                [b"SET", b"k" * 128 + b"... (72 more bytes)", b"v"],
                [b"CLIENT", b"SETNAME", b"slow"],
                [b"SLOWLOG", b"RESET"],
            ]
            ids = [entry[0] for entry in entries]
            assert ids == list(range(ids[0], ids[0] - 5, -1))
            port = wire.sock.getsockname()[1]
            assert all(entry[4] == b"127.0.0.1:%d" % port for entry in entries)
            assert [entry[5] for entry in entries] == [b"slow"] * 4 + [b""]
            assert all(abs(entry[1] - time.time()) < 5 and entry[2] >= 0 for entry in entries)
            assert plain(wire.call("SLOWLOG", "LEN")) == 6  # the GET is logged after it replies
            assert len(plain(wire.call("SLOWLOG", "GET", "2"))) == 2
            assert len(plain(wire.call("SLOWLOG", "GET", "-1"))) == 8
            assert plain(wire.call("SLOWLOG", "GET", "0")) == []
            assert plain(wire.call("SLOWLOG", "RESET")) == b"OK"
            assert plain(wire.call("SLOWLOG", "LEN")) == 1  # the RESET itself
        finally:
            wire.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            wire.call("SLOWLOG", "RESET")

    def test_slowlog_skips_exec_and_honours_max_len(self, wire):
        assert plain(wire.call("CONFIG", "SET", "slowlog-log-slower-than", "0")) == b"OK"
        try:
            wire.call("SLOWLOG", "RESET")
            for command in (("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("EXEC",)):
                wire.call(*command)
            commands = [entry[3] for entry in plain(wire.call("SLOWLOG", "GET"))]
            assert commands == [[b"INCR", b"a"], [b"SET", b"a", b"1"], [b"MULTI"],
                                [b"SLOWLOG", b"RESET"]]
            assert plain(wire.call("CONFIG", "SET", "slowlog-max-len", "3")) == b"OK"
            for i in range(10):
                wire.call("ECHO", str(i))
            commands = [entry[3] for entry in plain(wire.call("SLOWLOG", "GET", "-1"))]
            assert commands == [[b"ECHO", b"9"], [b"ECHO", b"8"], [b"ECHO", b"7"]]
        finally:
            wire.call("CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128")
            wire.call("SLOWLOG", "RESET")

    def test_slowlog_errors_and_directives(self, r):
        assert r.config_get("slowlog*") == {"slowlog-log-slower-than": "10000",
                                            "slowlog-max-len": "128"}
        assert_error(lambda: r.execute_command("SLOWLOG", "GET", "-2"), E.SLOWLOG_COUNT)
        assert_error(lambda: r.execute_command("SLOWLOG", "GET", "x"), E.SLOWLOG_COUNT)
        assert_error(lambda: r.execute_command("SLOWLOG", "GET", "1", "2"),
                     E.SUBCOMMAND_SYNTAX.format("GET", "SLOWLOG"))
        assert_error(lambda: r.execute_command("SLOWLOG", "LEN", "x"),
                     E.WRONG_ARITY.format("slowlog|len"))
        assert_error(lambda: r.execute_command("SLOWLOG", "RESET", "x"),
                     E.WRONG_ARITY.format("slowlog|reset"))
        assert_error(lambda: r.execute_command("SLOWLOG"), E.WRONG_ARITY.format("slowlog"))
        assert_error(lambda: r.execute_command("SLOWLOG", "nosuch"),
                     E.UNKNOWN_SUBCOMMAND.format("nosuch", "SLOWLOG"))
        help_lines = r.execute_command("SLOWLOG", "HELP")
        assert help_lines[:2] == [
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "GET [<count>]"]
        assert len(help_lines) == 12
        assert_error(lambda: r.config_set("slowlog-log-slower-than", -2),
                     E.CONFIG_SET_RANGE.format("slowlog-log-slower-than", -1, I64_MAX))
        assert_error(lambda: r.config_set("slowlog-max-len", -1),
                     E.CONFIG_SET_RANGE.format("slowlog-max-len", 0, I64_MAX))
        assert_error(lambda: r.config_set("slowlog-max-len", "x"),
                     E.CONFIG_SET_NOT_INTEGER.format("slowlog-max-len"))
        assert r.config_get("slowlog-max-len") == {"slowlog-max-len": "128"}

    def test_time_and_lastsave(self, r, wire):
        seconds, micros = r.time()
        assert abs(seconds - time.time()) < 5 and 0 <= micros < 1_000_000
        kind, parts = wire.call("TIME")
        assert kind == "array" and [part[0] for part in parts] == ["bulk", "bulk"]
        assert all(re.fullmatch(rb"\d+", part[1]) for part in parts)
        kind, lastsave = wire.call("LASTSAVE")
        assert kind == "int" and lastsave <= time.time() + 5


class TestServerProcess:
    """The server as a process: it stops on SIGTERM with status 0 and keeps its data."""

    def test_sigterm_exits_zero_and_data_survives_restart(self, start_server):
        first = start_server()
        client = redis_client(first.port, protocol=2)
        client.set("durable", "yes")
        client.set("ttl", "yes", ex=100_000)
        client.close()
        assert first.stop() == 0, first.log_tail()
        second = type(first)(kind=first.kind, argv=first.argv, port=first.port,
                             data_dir=first.data_dir)
        second.start()
        try:
            client = redis_client(second.port, protocol=2)
            assert client.get("durable") == b"yes"
            assert 99_000 < client.ttl("ttl") <= 100_000
            client.close()
        finally:
            second.stop()


class TestStrings:
    def test_get_set_basic(self, r):
        assert r.get("k") is None
        assert r.set("k", "v") is True
        assert r.get("k") == "v"
        assert r.set("k", "") is True
        assert r.get("k") == ""

    def test_set_wire_replies(self, wire):
        assert wire.call("SET", "k", "v") == ("simple", b"OK")
        assert wire.call("SET", "k", "w", "GET") == ("bulk", b"v")
        null = wire.call("GET", "missing")
        assert null in (("null",), ("null3",))
        assert wire.call("SET", "k", "x", "NX") == null
        assert wire.call("SET", "n", "x", "XX") == null

    def test_set_expiry_options(self, r):
        r.set("ex", "v", ex=100)
        assert r.ttl("ex") == 100
        r.set("px", "v", px=100_000)
        assert 99_000 < r.pttl("px") <= 100_000
        r.set("exat", "v", exat=FAR_FUTURE_S)
        assert r.expiretime("exat") == FAR_FUTURE_S
        r.set("pxat", "v", pxat=FAR_FUTURE_S * 1000 + 5)
        assert r.pexpiretime("pxat") == FAR_FUTURE_S * 1000 + 5
        r.set("ex", "w", keepttl=True)
        assert r.ttl("ex") == 100 and r.get("ex") == "w"
        r.set("ex", "x")
        assert r.ttl("ex") == -1

    def test_set_in_the_past_deletes(self, r):
        r.set("k", "old")
        assert r.execute_command("SET", "k", "v", "EXAT", "1") is True
        assert r.exists("k") == 0
        assert r.execute_command("SET", "k", "v", "PXAT", "1", "GET") is None
        assert r.exists("k") == 0

    def test_set_nx_xx_get(self, r):
        assert r.set("k", "1", nx=True) is True
        assert r.set("k", "2", nx=True) is None
        assert r.set("k", "3", xx=True) is True
        assert r.set("missing", "3", xx=True) is None
        assert r.set("k", "4", get=True) == "3"
        assert r.set("k", "5", nx=True, get=True) == "4"
        assert r.get("k") == "4"
        assert r.set("new", "1", xx=True, get=True) is None
        assert r.exists("new") == 0
        assert r.set("k", "6", xx=True, get=True, ex=10) == "4"
        assert r.ttl("k") == 10

    @pytest.mark.parametrize("args, error", [
        (("NX", "XX"), E.SYNTAX),
        (("EX", "10", "PX", "10"), E.SYNTAX),
        (("KEEPTTL", "EX", "5"), E.SYNTAX),
        (("EX",), E.SYNTAX),
        (("FOO",), E.SYNTAX),
        (("EX", "abc"), E.NOT_INTEGER),
        (("EX", "1.5"), E.NOT_INTEGER),
        (("EX", "0"), E.INVALID_EXPIRE.format("set")),
        (("PX", "-1"), E.INVALID_EXPIRE.format("set")),
        (("EX", str(I64_MAX)), E.INVALID_EXPIRE.format("set")),
        (("PX", str(I64_MAX)), E.INVALID_EXPIRE.format("set")),
        (("EXAT", str(I64_MAX)), E.INVALID_EXPIRE.format("set")),
        (("EX", "9223372036854775"), E.INVALID_EXPIRE.format("set")),
    ])
    def test_set_option_errors(self, r, args, error):
        r.set("k", "before")
        assert_error(lambda: r.execute_command("SET", "k", "v", *args), error)
        assert r.get("k") == "before"

    def test_set_large_relative_expiry_is_accepted(self, r):
        assert r.execute_command("SET", "k", "v", "EX", "92233720368547") is True
        assert r.ttl("k") == 92233720368547

    def test_setnx_setex_psetex_getset(self, r):
        assert r.setnx("k", "1") is True
        assert r.setnx("k", "2") is False
        assert r.execute_command("SETEX", "e", 50, "v") is True
        assert r.ttl("e") == 50
        assert r.psetex("p", 50_000, "v") is True
        assert 49_000 < r.pttl("p") <= 50_000
        assert_error(lambda: r.execute_command("SETEX", "e", 0, "v"),
                     E.INVALID_EXPIRE.format("setex"))
        assert_error(lambda: r.psetex("e", -5, "v"), E.INVALID_EXPIRE.format("psetex"))
        assert_error(lambda: r.execute_command("SETEX", "e", "x", "v"), E.NOT_INTEGER)
        assert r.getset("k", "new") == "1"
        assert r.getset("missing", "x") is None
        r.set("t", "v", ex=100)
        r.getset("t", "w")
        assert r.ttl("t") == -1

    def test_getdel_and_getex(self, r):
        r.set("k", "v", ex=100)
        assert r.getdel("k") == "v"
        assert r.exists("k") == 0
        assert r.getdel("k") is None
        r.set("k", "v")
        assert r.getex("k", ex=100) == "v"
        assert r.ttl("k") == 100
        assert r.getex("k", persist=True) == "v"
        assert r.ttl("k") == -1
        assert r.getex("k", pxat=FAR_FUTURE_S * 1000) == "v"
        assert r.pexpiretime("k") == FAR_FUTURE_S * 1000
        assert r.getex("k") == "v" and r.expiretime("k") == FAR_FUTURE_S
        assert r.getex("missing", ex=10) is None
        assert_error(lambda: r.execute_command("GETEX", "k", "EX", "0"),
                     E.INVALID_EXPIRE.format("getex"))
        assert_error(lambda: r.execute_command("GETEX", "k", "PX", "10", "PERSIST"), E.SYNTAX)
        assert_error(lambda: r.execute_command("GETEX", "k", "FOO"), E.SYNTAX)
        assert r.execute_command("GETEX", "k", "EXAT", "1") == "v"
        assert r.exists("k") == 0

    def test_mget_mset_msetnx(self, r):
        assert r.mset({"a": "1", "b": "2"}) is True
        assert r.mget("a", "missing", "b") == ["1", None, "2"]
        assert r.msetnx({"b": "x", "c": "3"}) is False
        assert r.exists("c") == 0
        assert r.msetnx({"c": "3", "d": "4"}) is True
        # A repeated key in MSETNX is set once per pair, the last one winning.
        assert r.execute_command("MSETNX", "e", "1", "e", "2") == 1
        assert r.get("e") == "2"
        assert_error(lambda: r.execute_command("MSET", "a"), E.WRONG_ARITY.format("mset"))
        assert_error(lambda: r.execute_command("MSET", "a", "1", "b"), E.WRONG_ARITY.format("mset"))
        assert_error(lambda: r.execute_command("MSETNX", "a"), E.WRONG_ARITY.format("msetnx"))

    def test_append_strlen_getrange_setrange(self, r):
        assert r.append("k", "Hello") == 5
        assert r.append("k", " World") == 11
        assert r.strlen("k") == 11 and r.strlen("missing") == 0
        assert r.getrange("k", 0, 4) == "Hello"
        assert r.getrange("k", -5, -1) == "World"
        assert r.getrange("k", -100, 100) == "Hello World"
        assert r.getrange("k", 5, 2) == ""
        assert r.getrange("missing", 0, -1) == ""
        assert r.setrange("k", 6, "Redis") == 11
        assert r.get("k") == "Hello Redis"
        assert r.setrange("pad", 3, "x") == 4
        assert r.get("pad") == "\x00\x00\x00x"
        assert r.setrange("empty", 5, "") == 0 and r.exists("empty") == 0
        assert_error(lambda: r.setrange("k", -1, "x"), E.OFFSET_RANGE)
        assert_error(lambda: r.setrange("k", 536870912, "x"), E.STRING_TOO_BIG)
        assert_error(lambda: r.execute_command("GETRANGE", "k", "a", "1"), E.NOT_INTEGER)

    def test_incr_decr_family(self, r):
        assert r.incr("n") == 1
        assert r.incrby("n", 10) == 11
        assert r.decr("n") == 10
        assert r.decrby("n", 20) == -10
        assert r.get("n") == "-10"
        r.set("n", I64_MAX)
        assert_error(lambda: r.incr("n"), E.OVERFLOW)
        r.set("n", I64_MIN)
        assert_error(lambda: r.decr("n"), E.OVERFLOW)
        assert_error(lambda: r.decrby("n", I64_MIN), E.DECR_OVERFLOW)
        assert_error(lambda: r.incrby("n", 2**63), E.NOT_INTEGER)
        for bad in ("abc", " 1", "1 ", "1.5", "", "0x10", "+1", "01", "-0", str(2**63)):
            r.set("s", bad)
            assert_error(lambda: r.incr("s"), E.NOT_INTEGER)
        assert_error(lambda: r.execute_command("INCRBY", "n", "x"), E.NOT_INTEGER)

    def test_incr_integer_forms(self, r):
        # Redis's string2ll: no '+', no leading zeros, no spaces, no "-0"; the edges are fine.
        for text in ("0", "-1", str(I64_MAX - 1), str(I64_MIN + 1)):
            r.set("s", text)
            assert r.incr("s") == int(text) + 1
        assert_error(lambda: r.incrby("s", -3), E.OVERFLOW)

    def test_incrbyfloat(self, r, wire):
        assert r.incrbyfloat("f", 1.5) == 1.5
        assert wire.call("INCRBYFLOAT", "f", "0.1") == ("bulk", b"1.6")  # a bulk even in RESP3
        r.set("f", "10")
        assert wire.call("INCRBYFLOAT", "f", "5.0e3") == ("bulk", b"5010")
        assert r.get("f") == "5010"
        r.set("f", "1.5")
        assert wire.call("INCRBYFLOAT", "f", "1e-20") == ("bulk", b"1.5")
        r.set("f", "abc")
        assert_error(lambda: r.incrbyfloat("f", 1), E.NOT_FLOAT)
        r.set("f", "1")
        assert_error(lambda: r.execute_command("INCRBYFLOAT", "f", "abc"), E.NOT_FLOAT)
        assert_error(lambda: r.execute_command("INCRBYFLOAT", "f", "inf"), E.NAN_OR_INF)
        assert_error(lambda: r.execute_command("INCRBYFLOAT", "f", "nan"), E.NOT_FLOAT)

    def test_incrbyfloat_uses_long_double(self, r, wire):
        # Redis computes in long double: 1e308 + 1e308 does not overflow and prints in full.
        r.set("f", "1e308")
        kind, got = wire.call("INCRBYFLOAT", "f", "1e308")
        assert kind == "bulk" and got.startswith(b"19999999999999999999") and len(got) == 309

    def test_string_commands_arity(self, r):
        for name, args in (("get", ()), ("set", ("k",)), ("setnx", ("k",)), ("append", ("k",)),
                           ("strlen", ()), ("incr", ()), ("incrby", ("k",)), ("getdel", ()),
                           ("mget", ()), ("getrange", ("k", "0")), ("setrange", ("k", "0"))):
            assert_error(lambda: r.execute_command(name.upper(), *args),
                         E.WRONG_ARITY.format(name))


class TestKeys:
    def test_del_unlink_exists_type(self, r):
        r.mset({"a": 1, "b": 2, "c": 3})
        assert r.exists("a", "a", "missing", "b") == 3
        assert r.delete("a", "missing") == 1
        assert r.unlink("b", "b", "c") == 2
        assert r.exists("a", "b", "c") == 0
        r.set("s", "v")
        assert r.type("s") == "string" and r.type("missing") == "none"
        assert_error(lambda: r.execute_command("DEL"), E.WRONG_ARITY.format("del"))

    def test_rename_and_renamenx(self, r):
        r.set("a", "1", ex=100)
        assert r.rename("a", "b") is True
        assert r.get("b") == "1" and r.ttl("b") == 100 and r.exists("a") == 0
        assert r.rename("b", "b") is True
        assert_error(lambda: r.rename("missing", "x"), E.NO_SUCH_KEY)
        r.set("c", "2")
        assert r.renamenx("b", "c") is False
        assert r.renamenx("b", "b") is False
        assert r.renamenx("b", "d") is True
        assert_error(lambda: r.renamenx("missing", "x"), E.NO_SUCH_KEY)

    def test_copy(self, r):
        r.set("a", "1", ex=100)
        assert r.copy("a", "b") is True
        assert r.get("b") == "1" and r.ttl("b") == 100
        assert r.copy("a", "b") is False
        r.set("a", "2")
        assert r.copy("a", "b", replace=True) is True
        assert r.get("b") == "2" and r.ttl("b") == -1
        assert r.copy("a", "a2", destination_db=1) is True
        assert r.exists("a2") == 0
        assert r.copy("missing", "x") is False
        assert_error(lambda: r.copy("a", "a"), E.SAME_OBJECT)
        assert_error(lambda: r.execute_command("COPY", "a", "b", "DB", "16"), E.DB_INDEX)
        assert_error(lambda: r.execute_command("COPY", "a", "b", "DB", "x"), E.NOT_INTEGER)
        assert_error(lambda: r.execute_command("COPY", "a", "b", "FOO"), E.SYNTAX)
        r.select(1)
        assert r.get("a2") == "2"

    def test_keys_patterns(self, r):
        r.mset({"hello": 1, "hallo": 1, "hxllo": 1, "hllo": 1, "heeeello": 1, "h*llo": 1,
                "x[y": 1})
        assert sorted(r.keys("h?llo")) == ["h*llo", "hallo", "hello", "hxllo"]
        assert sorted(r.keys("h*llo")) == ["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]
        assert sorted(r.keys("h[ae]llo")) == ["hallo", "hello"]
        assert sorted(r.keys("h[^e]llo")) == ["h*llo", "hallo", "hxllo"]
        assert sorted(r.keys("h[a-b]llo")) == ["hallo"]
        assert r.keys(r"h\*llo") == ["h*llo"]
        assert r.keys("x[y") == []  # an unclosed class matches nothing
        assert r.keys(r"x\[y") == ["x[y"]
        assert r.keys("*[y") == ["x[y"]
        assert len(r.keys()) == 7
        assert_error(lambda: r.execute_command("KEYS"), E.WRONG_ARITY.format("keys"))

    def test_scan_iterates_to_cursor_zero(self, r):
        r.mset({f"key:{i}": i for i in range(300)})
        r.mset({f"other:{i}": i for i in range(50)})
        seen, cursor, calls = set(), 0, 0
        while True:
            cursor, page = r.scan(cursor, match="key:*", count=17)
            seen.update(page)
            calls += 1
            assert calls < 1000, "SCAN did not return to cursor 0"
            if cursor == 0:
                break
        assert seen == {f"key:{i}" for i in range(300)}
        assert set(r.scan_iter(_type="string", count=100)) == set(r.keys())
        assert list(r.scan_iter(_type="hash")) == []
        assert sorted(r.scan_iter(match="other:1?")) == sorted(f"other:{i}" for i in range(10, 20))

    def test_scan_wire_shape_and_errors(self, r, wire):
        r.set("a", 1)
        reply = wire.call("SCAN", "0", "COUNT", "1000")
        assert reply[0] == "array" and reply[1][0] == ("bulk", b"0")
        assert reply[1][1] == ("array", (("bulk", b"a"),))
        assert_error(lambda: r.execute_command("SCAN", "abc"), E.INVALID_CURSOR)
        assert_error(lambda: r.execute_command("SCAN", "0", "COUNT", "0"), E.SYNTAX)
        assert_error(lambda: r.execute_command("SCAN", "0", "COUNT", "-1"), E.SYNTAX)
        assert_error(lambda: r.execute_command("SCAN", "0", "COUNT", "x"), E.NOT_INTEGER)
        assert_error(lambda: r.execute_command("SCAN", "0", "FOO"), E.SYNTAX)

    def test_randomkey_and_touch(self, r):
        assert r.randomkey() is None
        r.mset({"a": 1, "b": 2})
        assert r.randomkey() in {"a", "b"}
        assert r.touch("a", "b", "missing", "a") == 3

    def test_ttl_pttl_persist(self, r):
        assert (r.ttl("missing"), r.pttl("missing")) == (-2, -2)
        r.set("k", "v")
        assert (r.ttl("k"), r.pttl("k")) == (-1, -1)
        assert r.expire("k", 100) is True
        assert r.ttl("k") == 100 and 99_000 < r.pttl("k") <= 100_000
        assert r.persist("k") is True
        assert r.persist("k") is False
        assert r.persist("missing") is False
        assert r.ttl("k") == -1

    def test_expire_family(self, r):
        r.set("k", "v")
        assert r.pexpire("k", 100_000) is True
        assert 99_000 < r.pttl("k") <= 100_000
        assert r.expireat("k", FAR_FUTURE_S) is True
        assert r.expiretime("k") == FAR_FUTURE_S
        assert r.pexpiretime("k") == FAR_FUTURE_S * 1000
        assert r.pexpireat("k", FAR_FUTURE_S * 1000 + 7) is True
        assert r.pexpiretime("k") == FAR_FUTURE_S * 1000 + 7
        assert r.expiretime("k") == FAR_FUTURE_S
        assert (r.expiretime("missing"), r.pexpiretime("missing")) == (-2, -2)
        r.set("p", "v")
        assert (r.expiretime("p"), r.pexpiretime("p")) == (-1, -1)
        assert r.expire("missing", 10) is False

    def test_expire_zero_negative_or_past_deletes(self, r):
        for args in (("EXPIRE", "0"), ("EXPIRE", "-5"), ("PEXPIRE", "-1"),
                     ("EXPIREAT", "1"), ("PEXPIREAT", "0")):
            r.set("k", "v")
            assert r.execute_command(args[0], "k", args[1]) == 1
            assert r.exists("k") == 0, args

    def test_expire_nx_xx_gt_lt(self, r):
        r.set("k", "v")
        assert r.expire("k", 100, xx=True) is False
        assert r.expire("k", 100, gt=True) is False  # no TTL counts as infinite
        assert r.expire("k", 100, nx=True) is True
        assert r.expire("k", 200, nx=True) is False
        assert r.expire("k", 50, gt=True) is False
        assert r.expire("k", 300, gt=True) is True
        assert r.expire("k", 400, lt=True) is False
        assert r.expire("k", 50, lt=True) is True
        assert r.expire("k", 60, xx=True) is True
        assert r.ttl("k") == 60
        r.persist("k")
        assert r.expire("k", 50, lt=True) is True
        assert r.pexpire("k", 10_000, gt=True) is False
        assert r.expireat("k", FAR_FUTURE_S, gt=True) is True
        assert r.pexpireat("k", FAR_FUTURE_S * 1000 - 1, lt=True) is True
        assert_error(lambda: r.execute_command("EXPIRE", "k", "10", "NX", "XX"),
                     E.EXPIRE_NX_XX_GT_LT)
        assert_error(lambda: r.execute_command("EXPIRE", "k", "10", "NX", "GT"),
                     E.EXPIRE_NX_XX_GT_LT)
        assert_error(lambda: r.execute_command("EXPIRE", "k", "10", "GT", "LT"), E.EXPIRE_GT_LT)
        assert_error(lambda: r.execute_command("EXPIRE", "k", "10", "FOO"),
                     E.EXPIRE_UNSUPPORTED.format("FOO"))
        assert_error(lambda: r.execute_command("EXPIRE", "k", "abc"), E.NOT_INTEGER)

    @pytest.mark.parametrize("command", ["EXPIRE", "PEXPIRE", "EXPIREAT"])
    def test_expire_overflow_is_invalid(self, r, command):
        r.set("k", "v")
        assert_error(lambda: r.execute_command(command, "k", str(I64_MAX)),
                     E.INVALID_EXPIRE.format(command.lower()))
        assert r.ttl("k") == -1

    def test_expire_at_the_edge_of_i64(self, r):
        r.set("k", "v")
        assert r.pexpireat("k", I64_MAX) is True  # milliseconds already: no overflow
        assert r.pexpiretime("k") == I64_MAX
        assert r.expireat("k", I64_MAX // 1000) is True
        assert r.expiretime("k") == I64_MAX // 1000
        assert_error(lambda: r.expire("k", I64_MAX // 1000), E.INVALID_EXPIRE.format("expire"))


class TestTransactions:
    def test_multi_exec_queues_and_runs(self, r, wire):
        assert wire.call("MULTI") == ("simple", b"OK")
        assert wire.call("SET", "a", "1") == ("simple", b"QUEUED")
        assert wire.call("INCR", "a") == ("simple", b"QUEUED")
        assert wire.call("GET", "a") == ("simple", b"QUEUED")
        assert wire.call("EXEC") == ("array", (("simple", b"OK"), ("int", 2), ("bulk", b"2")))
        assert wire.call("MULTI") == ("simple", b"OK")
        assert wire.call("EXEC") == ("array", ())

    def test_pipeline_transaction(self, r):
        with r.pipeline(transaction=True) as pipe:
            pipe.set("a", 1).incr("a").get("a").getdel("a")
            assert pipe.execute() == [True, 2, "2", "2"]
        assert r.exists("a") == 0

    def test_discard_drops_the_queue(self, r, wire):
        wire.call("MULTI")
        wire.call("SET", "a", "1")
        assert wire.call("DISCARD") == ("simple", b"OK")
        assert r.exists("a") == 0
        assert_error(lambda: r.execute_command("DISCARD"), E.DISCARD_WITHOUT_MULTI)
        assert_error(lambda: r.execute_command("EXEC"), E.EXEC_WITHOUT_MULTI)

    def test_queued_error_aborts_exec(self, r, wire):
        wire.call("MULTI")
        assert wire.call("SET", "a", "1") == ("simple", b"QUEUED")
        assert wire.call("SET", "a") == ("error", E.WRONG_ARITY.format("set").encode())
        assert wire.call("NOSUCH", "x") == (
            "error", E.UNKNOWN_COMMAND.format("NOSUCH", "'x' ").encode())
        assert wire.call("EXEC") == ("error", E.EXECABORT.encode())
        assert r.exists("a") == 0
        assert wire.call("EXEC") == ("error", E.EXEC_WITHOUT_MULTI.encode())

    def test_runtime_error_inside_exec_does_not_abort(self, r, wire):
        wire.call("MULTI")
        wire.call("SET", "a", "x")
        wire.call("INCR", "a")
        wire.call("SET", "b", "1")
        reply = wire.call("EXEC")
        assert reply == ("array", (("simple", b"OK"), ("error", E.NOT_INTEGER.encode()),
                                   ("simple", b"OK")))
        assert r.get("b") == "1"

    def test_multi_state_errors(self, r, wire):
        wire.call("MULTI")
        assert wire.call("MULTI") == ("error", E.MULTI_NESTED.encode())
        assert wire.call("WATCH", "a") == ("error", E.WATCH_IN_MULTI.encode())
        assert wire.call("EXEC") == ("array", ())
        assert_error(lambda: r.execute_command("WATCH"), E.WRONG_ARITY.format("watch"))

    def test_select_inside_multi_sticks(self, r, wire):
        wire.call("MULTI")
        wire.call("SELECT", "3")
        wire.call("SET", "in3", "1")
        wire.call("EXEC")
        assert wire.call("DBSIZE") == ("int", 1)
        r.select(3)
        assert r.get("in3") == "1"

    def test_watched_key_changed_by_another_client_nulls_exec(self, r, connect, wire, protocol):
        other = connect()
        r.set("w", "0")
        assert wire.call("WATCH", "w") == ("simple", b"OK")
        other.set("w", "changed")
        wire.call("MULTI")
        wire.call("SET", "w", "mine")
        assert wire.call("EXEC") == (("nullarray",) if protocol == 2 else ("null3",))
        assert r.get("w") == "changed"
        # WATCH state is cleared by EXEC: the next transaction runs.
        wire.call("MULTI")
        wire.call("SET", "w", "mine")
        assert wire.call("EXEC") == ("array", (("simple", b"OK"),))

    def test_watch_error_through_redis_py(self, r, connect):
        other = connect()
        r.set("w", "0")
        with r.pipeline() as pipe:
            pipe.watch("w")
            other.incr("w")
            pipe.multi()
            pipe.set("w", "x")
            with pytest.raises(redis.WatchError):
                pipe.execute()

    def test_watch_sees_expiry_deletion_and_own_writes(self, r, wire):
        for change in (("DEL", "w"), ("SET", "w", "same"), ("EXPIRE", "w", "100")):
            r.set("w", "same")
            wire.call("WATCH", "w")
            wire.call(*change)  # the watching client's own write also counts
            wire.call("MULTI")
            wire.call("GET", "w")
            assert wire.call("EXEC")[0] in ("nullarray", "null3"), change

    def test_unwatch_and_watch_of_missing_key(self, r, connect, wire):
        other = connect()
        wire.call("WATCH", "w")
        other.set("w", "1")
        assert wire.call("UNWATCH") == ("simple", b"OK")
        wire.call("MULTI")
        wire.call("GET", "w")
        assert wire.call("EXEC") == ("array", (("bulk", b"1"),))
        wire.call("WATCH", "nokey")
        other.get("nokey")
        wire.call("MULTI")
        wire.call("GET", "nokey")
        assert wire.call("EXEC")[0] == "array"


PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def secured(start_server):
    """The server under test started with --requirepass."""
    return start_server("target", ["--requirepass", PASSWORD])


class TestAuth:
    """A server started with --requirepass: what Redis 7.0 allows before AUTH."""

    @pytest.fixture
    def anon(self, secured):
        with RespConnection(secured.port) as conn:
            yield conn

    @pytest.mark.parametrize("args", [
        ("PING",), ("ECHO", "a"), ("GET", "a"), ("SET", "a", "b"), ("SELECT", "0"),
        ("CLIENT", "ID"), ("CLIENT", "SETNAME", "x"), ("COMMAND", "COUNT"), ("INFO",),
        ("MULTI",), ("DBSIZE",), ("CONFIG", "GET", "save"), ("WATCH", "a"),
    ])
    def test_commands_before_auth_get_noauth(self, anon, args):
        assert anon.call(*args) == ("error", E.NOAUTH.encode())

    def test_what_runs_before_auth(self, anon):
        # Command lookup and arity are checked before authentication.
        assert anon.call("NOSUCH") == ("error", E.UNKNOWN_COMMAND.format("NOSUCH", "").encode())
        assert anon.call("GET") == ("error", E.WRONG_ARITY.format("get").encode())
        assert anon.call("EXEC") == ("error", E.EXECABORT_NOAUTH.encode())
        assert anon.call("HELLO", "3") == ("error", E.NOAUTH_HELLO.encode())
        assert anon.call("HELLO") == ("error", E.NOAUTH_HELLO.encode())
        assert anon.call("RESET") == ("simple", b"RESET")
        assert anon.call("QUIT") == ("simple", b"OK")

    def test_auth_wrong_then_right(self, anon):
        assert anon.call("AUTH", "wrong") == ("error", E.WRONGPASS.encode())
        assert anon.call("AUTH", "default", "wrong") == ("error", E.WRONGPASS.encode())
        assert anon.call("AUTH", "a", "b", "c") == ("error", E.SYNTAX.encode())
        assert anon.call("PING") == ("error", E.NOAUTH.encode())
        assert anon.call("AUTH", PASSWORD) == ("simple", b"OK")
        assert anon.call("PING") == ("simple", b"PONG")
        assert anon.call("RESET") == ("simple", b"RESET")  # RESET logs the client out
        assert anon.call("PING") == ("error", E.NOAUTH.encode())
        assert anon.call("AUTH", "default", PASSWORD) == ("simple", b"OK")
        assert anon.call("PING") == ("simple", b"PONG")

    def test_hello_with_auth(self, anon):
        assert anon.call("HELLO", "3", "AUTH", "default", "wrong") == (
            "error", E.WRONGPASS.encode())
        assert anon.call("HELLO", "3", "AUTH", "default") == (
            "error", E.HELLO_BAD_OPTION.format("AUTH").encode())
        reply = anon.call("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "n")
        assert reply[0] == "map"
        assert anon.call("CLIENT", "GETNAME") == ("bulk", b"n")

    def test_redis_py_with_password(self, secured, protocol):
        client = redis_client(secured.port, protocol=protocol, password=PASSWORD,
                              decode_responses=True)
        assert client.ping() is True
        client.set("a", "1")
        assert client.get("a") == "1"
        client.close()

    def test_redis_py_without_password(self, secured, protocol):
        def ping():
            client = redis_client(secured.port, protocol=protocol, driver_info=None)
            try:
                client.ping()
            finally:
                client.close()

        # With protocol 3 the HELLO 3 handshake itself fails, with HELLO's own NOAUTH text.
        assert_error(ping, E.NOAUTH_HELLO if protocol == 3 else E.NOAUTH)


class TestExpiry:
    def test_one_ms_key_expires(self, r):
        assert r.set("k", "v", px=1) is True
        tries = poll_until(lambda: r.exists("k") == 0, "key with PX 1 expired")
        assert tries >= 1
        assert r.get("k") is None
        assert r.ttl("k") == -2

    def test_expired_key_is_invisible_to_every_read(self, r):
        r.set("k", "v", px=1)
        r.set("keep", "v")
        poll_until(lambda: r.get("k") is None, "GET of an expired key is nil")
        assert r.exists("k") == 0
        assert r.keys("*") == ["keep"]
        assert r.mget("k", "keep") == [None, "v"]
        assert r.strlen("k") == 0
        assert r.type("k") == "none"
        assert r.incr("k") == 1  # counts from nothing, not from "v"

    def test_unread_keys_expire_actively(self, r):
        r.mset({f"k{i}": 1 for i in range(20)})
        for i in range(20):
            r.pexpire(f"k{i}", 1)
        # Active expiry: DBSIZE counts keys not yet reclaimed, so wait for it to reach 0.
        poll_until(lambda: r.dbsize() == 0, "DBSIZE reaches 0 without reads")
        assert r.info("keyspace") == {}


# Lode's own commands (docs/compatibility.md, "Lode extensions"): Redis has none of them.
LODE_ONLY = pytest.mark.skipif(
    os.environ.get("LODE_COMPAT_TARGET", "lode") == "redis", reason="a Lode extension"
)
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example(name: str) -> str:
    """The code block of README.md between `<!-- name-begin -->` and `<!-- name-end -->`."""
    text = README.read_text()
    block = text[text.index(f"<!-- {name}-begin -->"):text.index(f"<!-- {name}-end -->")]
    return block.split("```", 2)[1].split("\n", 1)[1]


@LODE_ONLY
class TestLodeExtensions:
    def test_readme_krange_redis_py_example_runs(self, r, target):
        code = readme_example("krange-redis-py")
        assert "port=6379" in code
        exec(compile(code.replace("port=6379", f"port={target.port}"), "README.md", "exec"), {})

    def test_krange_pages_forward_and_reverse(self, r, protocol):
        r.mset({"a": "1", "b": "2", "c": "3"})
        assert r.execute_command("KRANGE", "-", "+", "LIMIT", 2) == ["(b", ["a", "b"]]
        assert r.execute_command("KRANGE", "(b", "+", "LIMIT", 2) == [None, ["c"]]
        assert r.execute_command("KRANGE", "[b", "-", "REV") == [None, ["b", "a"]]
        page = r.execute_command("KRANGE", "+", "(a", "REV", "WITHVALUES")[1]
        assert page == ([["c", "3"], ["b", "2"]] if protocol == 3 else ["c", "3", "b", "2"])
        assert r.execute_command("KRANGE", "-", "+", "TYPE", "hash") == [None, []]

    def test_krange_errors(self, r):
        assert_error(lambda: r.execute_command("KRANGE", "a", "+"),
                     "ERR min or max not valid string range item")
        assert_error(lambda: r.execute_command("KRANGE", "-", "+", "LIMIT", 10001),
                     "ERR LIMIT must be between 1 and 10000: read more keys by passing the "
                     "bound KRANGE returns to the next call")
        assert_error(lambda: r.execute_command("KRANGE", "-", "+", "NOPE"), E.SYNTAX)

    def test_krange_command_info(self, wire):
        entry = plain(wire.call("COMMAND", "INFO", "krange"))[0]
        assert entry[:7] == [b"krange", -3, [b"readonly"], 0, 0, 0,
                             [b"@keyspace", b"@read", b"@slow"]]
