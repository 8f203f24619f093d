//! The codec through its public API only: a client conversation, and the fuzz harnesses replayed
//! over a fixed corpus (the cases of Redis's own `tests/unit/protocol.tcl` among them).

use bytes::{Bytes, BytesMut};
use lode_resp::{
    Protocol, Reply, RequestDecoder, RequestLimits, decode_reply, fuzz_decode, fuzz_reply,
};

const CORPUS: &[&[u8]] = &[
    b"",
    b"\r\n",
    b"*-10\r\n",
    b"*20000000\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
    b"*blabla\r\n",
    b"*99999999999\r\n",
    b"SET k \"unbalanced\r\n",
    b"PING\r\nPING\nECHO \"a\\x00b\"\r\n",
    b"*2\r\n$4\r\nECHO\r\n$5\r\nhel\r\n\r\n",
    b"+OK\r\n",
    b"%2\r\n+a\r\n,inf\r\n+b\r\n#t\r\n",
    b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n=7\r\ntxt:abc\r\n",
    b"*1\r\n*1\r\n*1\r\n_\r\n",
];

#[test]
fn corpus_replays_through_the_fuzz_harnesses() {
    for input in CORPUS {
        fuzz_decode(input);
        fuzz_reply(input);
    }
}

/// What the fuzzers kept and found (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`).
#[test]
fn fuzz_corpus_resp_decode_replays_clean() {
    lode_testkit::replay_fuzz_inputs("resp_decode", fuzz_decode);
}

#[test]
fn fuzz_corpus_resp_reply_replays_clean() {
    lode_testkit::replay_fuzz_inputs("resp_reply", fuzz_reply);
}

#[test]
fn redis_cli_conversation_decodes_and_encodes() {
    let mut decoder = RequestDecoder::with_limits(RequestLimits::default());
    let mut buf = BytesMut::new();
    // redis-cli sends multibulk; a health check typed into nc sends an inline PING.
    buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nPING\r\n");
    let set = decoder.decode(&mut buf).expect("valid").expect("complete");
    assert_eq!(set, [Bytes::from("SET"), Bytes::from("key"), Bytes::from("value")]);
    let ping = decoder.decode(&mut buf).expect("valid").expect("complete");
    assert_eq!(ping, [Bytes::from("PING")]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));

    let mut out = BytesMut::new();
    Reply::ok().encode(Protocol::Resp2, &mut out);
    Reply::simple("PONG").encode(Protocol::Resp2, &mut out);
    assert_eq!(&out[..], b"+OK\r\n+PONG\r\n");
    let (first, used) = decode_reply(&out).expect("valid").expect("complete");
    assert_eq!((first, used), (Reply::ok(), 5));
}

#[test]
fn protocol_error_is_the_reply_sent_before_closing() {
    let mut decoder = RequestDecoder::new();
    let mut buf = BytesMut::from(&b"*20000000\r\n"[..]);
    let error = decoder.decode(&mut buf).expect_err("over the argument limit");
    let reply = Reply::error(error.message());
    assert_eq!(
        &reply.to_bytes(Protocol::Resp3)[..],
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
}
