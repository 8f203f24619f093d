"""The exact error replies of Redis 7.0.15, and how to assert them through redis-py.

Every text here was read off a real redis-server 7.0.15 (Debian 12). Clients match on these
strings, so the server under test must send them byte for byte. `{}` marks where Redis puts the
command name (lower case, `config|set` for subcommands) or the argument as the user typed it.
"""

from __future__ import annotations

import pytest
import redis
from redis._parsers.base import BaseParser

WRONG_ARITY = "ERR wrong number of arguments for '{}' command"
UNKNOWN_COMMAND = "ERR unknown command '{}', with args beginning with: {}"
UNKNOWN_SUBCOMMAND = "ERR unknown subcommand '{}'. Try {} HELP."
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
DECR_OVERFLOW = "ERR decrement would overflow"
NAN_OR_INF = "ERR increment would produce NaN or Infinity"
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"
OFFSET_RANGE = "ERR offset is out of range"
STRING_TOO_BIG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
NO_SUCH_KEY = "ERR no such key"
SAME_OBJECT = "ERR source and destination objects are the same"
DB_INDEX = "ERR DB index is out of range"
INVALID_CURSOR = "ERR invalid cursor"
EXPIRE_NX_XX_GT_LT = "ERR NX and XX, GT or LT options at the same time are not compatible"
EXPIRE_GT_LT = "ERR GT and LT options at the same time are not compatible"
EXPIRE_UNSUPPORTED = "ERR Unsupported option {}"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
MULTI_NESTED = "ERR MULTI calls can not be nested"
WATCH_IN_MULTI = "ERR WATCH inside MULTI is not allowed"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
EXECABORT_NOAUTH = "EXECABORT Transaction discarded because of: NOAUTH Authentication required."
NOAUTH = "NOAUTH Authentication required."
NOAUTH_HELLO = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select the "
    "RESP protocol version at the same time"
)
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
NOPROTO = "NOPROTO unsupported protocol version"
HELLO_BAD_PROTOCOL = "ERR Protocol version is not an integer or out of range"
HELLO_BAD_OPTION = "ERR Syntax error in HELLO option '{}'"
CLIENT_NAME_CHARS = "ERR Client names cannot contain spaces, newlines or special characters."
NO_SUCH_CLIENT = "ERR No such client"
CONFIG_SET_UNKNOWN = "ERR Unknown option or number of arguments for CONFIG SET - '{}'"
CONFIG_SET_ENUM = (
    "ERR CONFIG SET failed (possibly related to argument '{}') - argument(s) must be one of "
    "the following: {}"
)
CONFIG_SET_RANGE = (
    "ERR CONFIG SET failed (possibly related to argument '{}') - argument must be between {} "
    "and {} inclusive"
)
CONFIG_SET_NOT_INTEGER = (
    "ERR CONFIG SET failed (possibly related to argument '{}') - argument couldn't be parsed "
    "into an integer"
)
SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"
SUBCOMMAND_SYNTAX = "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP."


def assert_error(call, full_text: str) -> None:
    """`call()` must fail exactly as redis-py fails on the error reply `-<full_text>`.

    redis-py strips known prefixes (ERR, EXECABORT, NOAUTH, ...) and picks an exception class by
    prefix and text; feeding the expected line through redis-py's own parser gives the class and
    message a Redis 7.0 server produces, so both are compared.
    """
    expected = BaseParser.parse_error(full_text)
    with pytest.raises(redis.RedisError) as raised:
        call()
    got = raised.value
    assert (type(got), str(got)) == (type(expected), str(expected)), (
        f"expected -{full_text!r}, got {type(got).__name__}({str(got)!r})"
    )
