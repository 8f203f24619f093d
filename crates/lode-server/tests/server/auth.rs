//! Redis 7.0's pre-AUTH rules under `requirepass`: only AUTH, `HELLO ... AUTH`, QUIT and RESET
//! run; lookup and arity errors still come first; a refused EXEC is an EXECABORT.

use crate::{TestServer, error_reply, q, raw_exchange};
use lode_resp::Reply;

const NOAUTH: &str = "NOAUTH Authentication required.";

#[test]
fn requirepass_refuses_everything_but_auth_hello_quit_reset() {
    let server = TestServer::with(|c| c.requirepass = Some("s3cret".into()));
    let mut raw = server.raw();
    let (replies, _) = raw_exchange(
        &mut raw,
        b"GET k\r\nPING\r\nNOSUCH\r\nGET\r\nEXEC\r\nRESET\r\nAUTH wrong\r\nAUTH s3cret\r\n\
          SET k v\r\nGET k\r\nPING\r\n",
        11,
    );
    assert_eq!(
        replies,
        vec![
            error_reply(NOAUTH),
            error_reply(NOAUTH),
            error_reply("ERR unknown command 'NOSUCH', with args beginning with: "),
            error_reply("ERR wrong number of arguments for 'get' command"),
            error_reply(
                "EXECABORT Transaction discarded because of: NOAUTH Authentication required."
            ),
            Reply::simple("RESET"),
            error_reply("WRONGPASS invalid username-password pair or user is disabled."),
            Reply::ok(),
            Reply::ok(),
            Reply::bulk("v"),
            Reply::simple("PONG"),
        ]
    );
}

#[test]
fn refused_exec_discards_the_open_transaction() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let (replies, _) = raw_exchange(&mut raw, b"MULTI\r\nSET k v\r\nEXEC x\r\nEXEC\r\n", 4);
    assert_eq!(
        replies,
        vec![
            Reply::ok(),
            Reply::simple("QUEUED"),
            error_reply(
                "EXECABORT Transaction discarded because of: ERR wrong number of arguments for \
                 'exec' command"
            ),
            error_reply("ERR EXEC without MULTI"),
        ]
    );
}

#[test]
fn reset_logs_out_and_hello_without_auth_has_its_own_noauth() {
    let server = TestServer::with(|c| c.requirepass = Some("s3cret".into()));
    let mut raw = server.raw();
    let (replies, _) = raw_exchange(
        &mut raw,
        b"AUTH default s3cret\r\nPING\r\nRESET\r\nPING\r\nHELLO 3\r\nHELLO\r\n\
          HELLO 3 AUTH default s3cret\r\n",
        7,
    );
    let hello_noauth = error_reply(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
         HELLO AUTH <user> <pass> option can be used to authenticate the client and select the \
         RESP protocol version at the same time",
    );
    assert_eq!(
        replies[..6],
        [
            Reply::ok(),
            Reply::simple("PONG"),
            Reply::simple("RESET"),
            error_reply(NOAUTH),
            hello_noauth.clone(),
            hello_noauth,
        ]
    );
    assert!(matches!(&replies[6], Reply::Map(_)), "{:?}", replies[6]);
    // The redis crate authenticates from the URL.
    let client = redis::Client::open(format!("redis://:s3cret@{}/", server.addr)).expect("url");
    let mut con = client.get_connection().expect("connect with password");
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
}
