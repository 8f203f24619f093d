//! Tests of the request decoder: frames, splits at every byte, limits at and past each
//! value, Redis's error texts, and a million pipelined commands in bounded memory.

use rand::Rng;

use super::*;
use crate::limits::{
    BULK_BYTES_MAX, INLINE_BYTES_MAX, MULTIBULK_ARGS_MAX, PRE_AUTH_ARGS_MAX,
    PRE_AUTH_BULK_BYTES_MAX, PreAuthLimits,
};
use lode_testkit::{Seed, iterations};

fn req(args: &[&str]) -> Request {
    args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
}

/// Requests decoded from `input` fed whole, and the error that stopped decoding, if any.
fn decode_all(input: &[u8], limits: RequestLimits) -> (Vec<Request>, Option<String>) {
    let mut decoder = RequestDecoder::with_limits(limits);
    let mut buf = BytesMut::from(input);
    let mut requests = Vec::new();
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(request)) => requests.push(request),
            Ok(None) => return (requests, None),
            Err(error) => return (requests, Some(error.message().to_owned())),
        }
    }
}

fn decodes(input: &[u8], expected: &[Request]) {
    let (requests, error) = decode_all(input, RequestLimits::REDIS);
    assert_eq!(error, None, "{:?}", String::from_utf8_lossy(input));
    assert_eq!(requests, expected, "{:?}", String::from_utf8_lossy(input));
    crate::fuzz::fuzz_decode(input);
}

fn fails(input: &[u8], limits: RequestLimits, message: &str) {
    let (requests, error) = decode_all(input, limits);
    assert_eq!(requests, Vec::<Request>::new(), "{:?}", String::from_utf8_lossy(input));
    assert_eq!(error.as_deref(), Some(message), "{:?}", String::from_utf8_lossy(input));
}

/// Whether `input` is a valid prefix: no request, no error yet.
fn waits(input: &[u8], limits: RequestLimits) -> bool {
    decode_all(input, limits) == (vec![], None)
}

#[test]
fn decode_reads_multibulk_requests() {
    decodes(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", &[req(&["SET", "k", "value"])]);
    decodes(b"*2\r\n$0\r\n\r\n$4\r\na\r\nb\r\n", &[req(&["", "a\r\nb"])]);
    decodes(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", &[req(&["PING"]), req(&["PING"])]);
}

#[test]
fn decode_skips_empty_and_negative_multibulks() {
    decodes(b"*0\r\n*-1\r\n*-10\r\n*1\r\n$4\r\nPING\r\n", &[req(&["PING"])]);
}

#[test]
fn decode_reads_inline_requests() {
    decodes(b"PING\r\n", &[req(&["PING"])]);
    decodes(b"PING\n", &[req(&["PING"])]);
    decodes(b"\r\n\n   \r\nPING\r\n", &[req(&["PING"])]);
    decodes(
        b"SET k \"a b\\x41\"\r\nGET 'it\\'s'\r\n",
        &[req(&["SET", "k", "a bA"]), req(&["GET", "it's"])],
    );
    decodes(b"ECHO \"\"\r\n", &[req(&["ECHO", ""])]);
    decodes(b"a\rb\r\r\n", &[req(&["a", "b"])]);
}

#[test]
fn decode_mixes_inline_and_multibulk_in_one_buffer() {
    decodes(
        b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nQUIT\n",
        &[req(&["PING"]), req(&["ECHO", "hi"]), req(&["QUIT"])],
    );
}

#[test]
fn decode_waits_for_truncated_frames() {
    let frame = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
    for end in 0..frame.len() {
        assert!(waits(&frame[..end], RequestLimits::REDIS), "prefix of {end} bytes");
    }
    assert!(waits(b"PING", RequestLimits::REDIS));
    assert!(waits(b"SET k \"unterminated", RequestLimits::REDIS));
}

#[test]
fn decode_gives_the_same_requests_for_every_split_point() {
    let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$3\r\nv\r\n\r\n*0\r\nGET \"k\\x31\" 'x'\r\n\r\n*1\r\n$4\r\nPING\r\n";
    let (expected, error) = decode_all(input, RequestLimits::REDIS);
    assert_eq!(error, None);
    assert_eq!(expected.len(), 3);
    for split in 0..=input.len() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for part in [&input[..split], &input[split..]] {
            buf.extend_from_slice(part);
            while let Some(request) = decoder.decode(&mut buf).expect("valid") {
                got.push(request);
            }
        }
        assert_eq!(got, expected, "split at {split}");
        assert!(buf.is_empty());
    }
    crate::fuzz::fuzz_decode(input);
}

#[test]
fn decode_random_pipelines_in_random_chunks() {
    let seed = Seed::new("decode_random_pipelines_in_random_chunks");
    let mut rng = seed.rng(0);
    for _ in 0..iterations(200) {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..rng.random_range(1..20) {
            let argc = rng.random_range(1..6);
            let args: Request = (0..argc)
                .map(|_| {
                    let len = rng.random_range(0..40);
                    Bytes::from((0..len).map(|_| rng.random::<u8>()).collect::<Vec<u8>>())
                })
                .collect();
            if rng.random_bool(0.3) {
                // Inline form: double-quote every argument with \xHH escapes.
                for arg in &args {
                    input.extend_from_slice(b" \"");
                    for byte in arg.iter() {
                        input.extend_from_slice(format!("\\x{byte:02x}").as_bytes());
                    }
                    input.push(b'"');
                }
                input.extend_from_slice(b"\r\n");
            } else {
                input.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
                for arg in &args {
                    input.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                    input.extend_from_slice(arg);
                    input.extend_from_slice(b"\r\n");
                }
            }
            expected.push(args);
        }
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut fed = 0;
        while fed < input.len() {
            let len = rng.random_range(1..=16).min(input.len() - fed);
            buf.extend_from_slice(&input[fed..fed + len]);
            fed += len;
            while let Some(request) = decoder.decode(&mut buf).expect("valid") {
                got.push(request);
            }
        }
        assert_eq!(got, expected);
        assert!(buf.is_empty() && !decoder.is_mid_request());
    }
}

#[test]
fn decode_reports_redis_error_texts() {
    let redis = RequestLimits::REDIS;
    let invalid_mbulk = "ERR Protocol error: invalid multibulk length";
    let invalid_bulk = "ERR Protocol error: invalid bulk length";
    fails(b"*abc\r\n", redis, invalid_mbulk);
    fails(b"*\r\n", redis, invalid_mbulk);
    fails(b"*-0\r\n", redis, invalid_mbulk);
    fails(b"*+1\r\n", redis, invalid_mbulk);
    fails(b"*99999999999\r\n", redis, invalid_mbulk);
    fails(b"*3000000000\r\n", redis, invalid_mbulk);
    fails(b"*1\rX", redis, invalid_mbulk);
    fails(b"*1\r\n$-1\r\n", redis, invalid_bulk);
    fails(b"*1\r\n$abc\r\n", redis, invalid_bulk);
    fails(b"*1\r\n$2000000000\r\n", redis, invalid_bulk);
    fails(b"*1\r\n$99999999999999999999999\r\n", redis, invalid_bulk);
    fails(b"*1\r\n$3\r\nabcXY", redis, invalid_bulk);
    fails(b"*1\r\n\r\n", redis, "ERR Protocol error: expected '$', got ' '");
    fails(b"SET k \"v\r\n", redis, "ERR Protocol error: unbalanced quotes in request");
    fails(b"SET k 'v'x\r\n", redis, "ERR Protocol error: unbalanced quotes in request");
}

#[test]
fn decode_reports_expected_dollar_after_earlier_arguments() {
    let (requests, error) =
        decode_all(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", RequestLimits::REDIS);
    assert!(requests.is_empty());
    assert_eq!(error.as_deref(), Some("ERR Protocol error: expected '$', got 'f'"));
    let (_, error) = decode_all(b"*1\r\n$3\r\nabc\r", RequestLimits::REDIS);
    assert_eq!(error, None, "waits for the byte after \\r");
    let (_, error) = decode_all(b"*1\r\n$3\r\nabc\rX", RequestLimits::REDIS);
    assert_eq!(error.as_deref(), Some("ERR Protocol error: invalid bulk length"));
}

#[test]
fn decode_errors_are_sticky() {
    let mut decoder = RequestDecoder::new();
    let mut buf = BytesMut::from(&b"*x\r\n"[..]);
    let error = decoder.decode(&mut buf).expect_err("invalid");
    buf.clear();
    buf.extend_from_slice(b"PING\r\n");
    assert_eq!(decoder.decode(&mut buf), Err(error));
}

#[test]
fn multibulk_args_max_at_limit_waits_and_past_limit_fails() {
    let mut decoder = RequestDecoder::new();
    let mut buf = BytesMut::from(format!("*{MULTIBULK_ARGS_MAX}\r\n").as_bytes());
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(decoder.is_mid_request());
    assert!(decoder.args_capacity() <= ARGS_CAPACITY_INITIAL_MAX);
    let past = format!("*{}\r\n", MULTIBULK_ARGS_MAX + 1);
    fails(past.as_bytes(), RequestLimits::REDIS, "ERR Protocol error: invalid multibulk length");
}

#[test]
fn bulk_bytes_max_at_limit_waits_without_allocating_and_past_limit_fails() {
    let mut decoder = RequestDecoder::new();
    let mut buf = BytesMut::from(format!("*1\r\n${BULK_BYTES_MAX}\r\n").as_bytes());
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(buf.capacity() < 4096, "reserved {} bytes up front", buf.capacity());
    let past = format!("*1\r\n${}\r\n", BULK_BYTES_MAX + 1);
    fails(past.as_bytes(), RequestLimits::REDIS, "ERR Protocol error: invalid bulk length");
}

#[test]
fn inline_bytes_max_at_limit_decodes_and_past_limit_fails() {
    let redis = RequestLimits::REDIS;
    let too_big = "ERR Protocol error: too big inline request";
    let mut line = vec![b'a'; INLINE_BYTES_MAX];
    assert!(waits(&line, redis));
    line.push(b'\n');
    let (requests, error) = decode_all(&line, redis);
    assert_eq!((requests.len(), error), (1, None));
    let mut line = vec![b'a'; INLINE_BYTES_MAX + 1];
    fails(&line, redis, too_big);
    line.push(b'\n');
    fails(&line, redis, too_big);
}

#[test]
fn count_line_bytes_max_at_limit_waits_and_past_limit_fails() {
    let redis = RequestLimits::REDIS;
    let mut line = vec![b'*'];
    line.resize(COUNT_LINE_BYTES_MAX, b'1');
    assert!(waits(&line, redis));
    line.push(b'1');
    fails(&line, redis, "ERR Protocol error: too big mbulk count string");

    let mut line = b"*1\r\n$".to_vec();
    line.resize(4 + COUNT_LINE_BYTES_MAX, b'1');
    let (requests, error) = decode_all(&line, redis);
    assert_eq!((requests.len(), error), (0, None));
    line.push(b'1');
    let (_, error) = decode_all(&line, redis);
    assert_eq!(error.as_deref(), Some("ERR Protocol error: too big bulk count string"));
}

#[test]
fn pre_auth_limits_at_limit_pass_and_past_limit_fail() {
    let limits = RequestLimits::REDIS.with_pre_auth(PreAuthLimits::REDIS);
    assert!(waits(format!("*{PRE_AUTH_ARGS_MAX}\r\n").as_bytes(), limits));
    fails(
        format!("*{}\r\n", PRE_AUTH_ARGS_MAX + 1).as_bytes(),
        limits,
        "ERR Protocol error: unauthenticated multibulk length",
    );
    assert!(waits(format!("*1\r\n${PRE_AUTH_BULK_BYTES_MAX}\r\n").as_bytes(), limits));
    fails(
        format!("*1\r\n${}\r\n", PRE_AUTH_BULK_BYTES_MAX + 1).as_bytes(),
        limits,
        "ERR Protocol error: unauthenticated bulk length",
    );
    // The protocol-wide limit is checked first and keeps its own text.
    fails(
        format!("*1\r\n${}\r\n", BULK_BYTES_MAX + 1).as_bytes(),
        limits,
        "ERR Protocol error: invalid bulk length",
    );
}

#[test]
fn set_limits_lifts_pre_auth_limits_for_later_requests() {
    let mut decoder =
        RequestDecoder::with_limits(RequestLimits::REDIS.with_pre_auth(PreAuthLimits::REDIS));
    let mut buf = BytesMut::from(&b"AUTH pw\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(Some(req(&["AUTH", "pw"]))));
    decoder.set_limits(RequestLimits::REDIS);
    buf.extend_from_slice(b"*11\r\n");
    assert_eq!(decoder.decode(&mut buf), Ok(None));
}

#[test]
fn configured_limits_at_limit_pass_and_past_limit_fail() {
    let limits =
        RequestLimits { args_max: 3, bulk_bytes_max: 5, inline_bytes_max: 8, pre_auth: None };
    let (requests, error) = decode_all(b"*3\r\n$5\r\naaaaa\r\n$0\r\n\r\n$1\r\nb\r\n", limits);
    assert_eq!((requests.len(), error), (1, None));
    fails(b"*4\r\n", limits, "ERR Protocol error: invalid multibulk length");
    fails(b"*1\r\n$6\r\n", limits, "ERR Protocol error: invalid bulk length");
    let (requests, error) = decode_all(b"GET abcd\r\n", limits);
    assert_eq!(
        (requests.len(), error),
        (0, Some("ERR Protocol error: too big inline request".into()))
    );
    let (requests, error) = decode_all(b"GET abc\r\n", limits);
    assert_eq!((requests.len(), error), (1, None));
}

#[test]
fn limits_above_the_ceilings_are_clamped() {
    let limits = RequestLimits { args_max: usize::MAX, ..RequestLimits::REDIS };
    assert_eq!(RequestDecoder::with_limits(limits).limits(), RequestLimits::REDIS);
}

#[test]
fn decode_a_million_pipelined_commands_with_bounded_memory() {
    let mut chunk = Vec::new();
    for _ in 0..1000 {
        chunk.extend_from_slice(b"*1\r\n$4\r\nPING\r\nPING\r\n");
    }
    let mut decoder = RequestDecoder::new();
    let mut buf = BytesMut::new();
    let mut count = 0;
    let mut capacity_max = 0;
    while count < 1_000_000 {
        buf.extend_from_slice(&chunk);
        while let Some(request) = decoder.decode(&mut buf).expect("valid") {
            assert_eq!(request.len(), 1);
            count += 1;
        }
        capacity_max = capacity_max.max(buf.capacity());
    }
    assert_eq!(count, 1_000_000);
    assert!(capacity_max <= 4 * chunk.len(), "buffer grew to {capacity_max} bytes");
}

#[test]
fn partial_request_bytes_plus_the_buffer_is_what_was_received_of_the_request() {
    let seed =
        Seed::new("partial_request_bytes_plus_the_buffer_is_what_was_received_of_the_request");
    let mut rng = seed.rng(0);
    for _ in 0..iterations(50) {
        // Whole requests, each received in random pieces.
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::new();
        for _ in 0..rng.random_range(1..8) {
            let mut request = Vec::new();
            let argc = rng.random_range(1..5);
            request.extend_from_slice(format!("*{argc}\r\n").as_bytes());
            for _ in 0..argc {
                let len = rng.random_range(0..300);
                request.extend_from_slice(format!("${len}\r\n").as_bytes());
                request.extend(std::iter::repeat_n(b'v', len));
                request.extend_from_slice(b"\r\n");
            }
            let mut fed = 0;
            let mut held_max = 0;
            while fed < request.len() {
                let len = rng.random_range(1..=64).min(request.len() - fed);
                buf.extend_from_slice(&request[fed..fed + len]);
                fed += len;
                let held = decoder.partial_request_bytes() + buf.len();
                assert_eq!(held, fed, "received {fed} bytes of the request");
                held_max = held_max.max(held);
                if let Some(args) = decoder.decode(&mut buf).expect("valid") {
                    assert_eq!(args.len(), argc);
                    assert_eq!(fed, request.len(), "complete only once all of it arrived");
                }
            }
            assert_eq!(held_max, request.len());
            assert_eq!(decoder.partial_request_bytes() + buf.len(), 0, "nothing held after it");
        }
        // A skipped `*0` is not held either.
        buf.extend_from_slice(b"*0\r\n");
        assert_eq!(decoder.decode(&mut buf).expect("valid"), None);
        assert_eq!(decoder.partial_request_bytes() + buf.len(), 0);
    }
}
