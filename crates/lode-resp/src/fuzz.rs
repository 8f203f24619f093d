//! Fuzz harnesses: library functions a cargo-fuzz target (or a plain test) calls with arbitrary
//! bytes. They panic only when an invariant of the codec breaks.
//!
//! - [`fuzz_decode`]: the request decoder gives the same requests and the same error whether
//!   the input arrives whole, one byte at a time, or in chunks chosen by the input itself, under
//!   both Redis's limits and tiny ones; every argument respects its limit.
//! - [`fuzz_reply`]: the reply decoder never panics, never claims more bytes than it was given,
//!   and whatever it decodes re-encodes (RESP3) to bytes that decode to the same encoding.

use bytes::{Bytes, BytesMut};

use crate::decoder::{Request, RequestDecoder};
use crate::error::ProtocolError;
use crate::limits::{PreAuthLimits, RequestLimits};
use crate::reply::Protocol;
use crate::reply_decoder::decode_reply;

/// Limits small enough that short random inputs reach every limit check.
pub const FUZZ_TINY_LIMITS: RequestLimits = RequestLimits {
    args_max: 6,
    bulk_bytes_max: 40,
    inline_bytes_max: 48,
    pre_auth: Some(PreAuthLimits { args_max: 5, bulk_bytes_max: 30 }),
};

/// Everything a decoder produced from one input.
#[derive(Debug, PartialEq)]
struct Outcome {
    requests: Vec<Request>,
    error: Option<ProtocolError>,
    /// Bytes left in the buffer, when no error stopped decoding.
    leftover: Option<Bytes>,
}

/// Feeds `data` to a fresh decoder in chunks of `chunk_len(i)` bytes.
fn run(data: &[u8], limits: RequestLimits, mut chunk_len: impl FnMut(usize) -> usize) -> Outcome {
    let mut decoder = RequestDecoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    let mut fed = 0;
    let mut chunk = 0;
    while fed < data.len() {
        let len = chunk_len(chunk).clamp(1, data.len() - fed);
        chunk += 1;
        buf.extend_from_slice(&data[fed..fed + len]);
        fed += len;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => break,
                Err(error) => {
                    assert_eq!(decoder.decode(&mut buf), Err(error.clone()), "error not sticky");
                    return Outcome { requests, error: Some(error), leftover: None };
                }
            }
        }
    }
    Outcome { requests, error: None, leftover: Some(buf.freeze()) }
}

fn check_limits(outcome: &Outcome, limits: RequestLimits, input_len: usize) {
    let mut total = 0;
    for request in &outcome.requests {
        assert!(!request.is_empty(), "empty request returned");
        for arg in request {
            assert!(arg.len() <= limits.bulk_bytes_max.max(limits.inline_bytes_max));
            total += arg.len();
        }
    }
    assert!(total <= input_len, "arguments larger than the input");
}

/// Runs the request decoder over `data` several ways and asserts they agree; see module docs.
pub fn fuzz_decode(data: &[u8]) {
    for limits in [RequestLimits::REDIS, FUZZ_TINY_LIMITS] {
        let whole = run(data, limits, |_| usize::MAX);
        check_limits(&whole, limits, data.len());
        let bytewise = run(data, limits, |_| 1);
        assert_eq!(whole, bytewise, "whole vs one byte at a time");
        let chunked = run(data, limits, |i| usize::from(data[i % data.len()] % 17) + 1);
        assert_eq!(whole, chunked, "whole vs chunks");
    }
}

/// Runs the reply decoder over `data` and checks a decode/encode round trip; see module docs.
pub fn fuzz_reply(data: &[u8]) {
    let Ok(Some((reply, used))) = decode_reply(data) else {
        return;
    };
    assert!(used <= data.len());
    let encoded = reply.to_bytes(Protocol::Resp3);
    let (again, again_used) =
        decode_reply(&encoded).expect("own encoding is valid").expect("own encoding is complete");
    assert_eq!(again_used, encoded.len());
    assert_eq!(again.to_bytes(Protocol::Resp3), encoded, "re-encoding differs");
    // RESP2 output of any reply must also be one valid frame.
    let resp2 = reply.to_bytes(Protocol::Resp2);
    let (_, resp2_used) = decode_reply(&resp2).expect("RESP2 valid").expect("RESP2 complete");
    assert_eq!(resp2_used, resp2.len());
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::reply::Reply;
    use lode_testkit::{Seed, iterations};

    /// Bytes that drive the decoders down their interesting paths, plus anything.
    fn protocol_byte(rng: &mut StdRng) -> u8 {
        const ALPHABET: &[u8] = b"*$\r\n\r\n0123456789-+:_,#(=%~>!\"' \t\\xaftPING";
        if rng.random_bool(0.9) {
            ALPHABET[rng.random_range(0..ALPHABET.len())]
        } else {
            rng.random()
        }
    }

    /// A valid request stream, then a few bytes flipped, inserted or removed.
    fn mutated_requests(rng: &mut StdRng) -> Vec<u8> {
        let mut data = Vec::new();
        for _ in 0..rng.random_range(1..6) {
            if rng.random_bool(0.3) {
                data.extend_from_slice(b"SET k \"v a\\x41\" 'x'\r\n");
            } else {
                let argc = rng.random_range(0..5);
                data.extend_from_slice(format!("*{argc}\r\n").as_bytes());
                for _ in 0..argc {
                    let len = rng.random_range(0..45);
                    data.extend_from_slice(format!("${len}\r\n").as_bytes());
                    data.extend((0..len).map(|_| protocol_byte(rng)));
                    data.extend_from_slice(b"\r\n");
                }
            }
        }
        mutate(rng, &mut data);
        data
    }

    fn mutate(rng: &mut StdRng, data: &mut Vec<u8>) {
        for _ in 0..rng.random_range(0..4) {
            let at = rng.random_range(0..=data.len());
            match rng.random_range(0..3) {
                0 if at < data.len() => data[at] = protocol_byte(rng),
                1 => data.insert(at, protocol_byte(rng)),
                _ if at < data.len() => {
                    data.remove(at);
                }
                _ => {}
            }
        }
    }

    fn random_reply(rng: &mut StdRng, depth: usize) -> Reply {
        let bytes = |rng: &mut StdRng| {
            let len = rng.random_range(0..12);
            Bytes::from((0..len).map(|_| rng.random::<u8>()).collect::<Vec<u8>>())
        };
        let text = |rng: &mut StdRng| {
            let len = rng.random_range(0..12);
            Bytes::from((0..len).map(|_| rng.random_range(b' '..=b'~')).collect::<Vec<u8>>())
        };
        let kinds = if depth >= 3 { 10 } else { 14 };
        match rng.random_range(0..kinds) {
            0 => Reply::Simple(text(rng)),
            1 => Reply::Error(text(rng)),
            2 => Reply::Integer(rng.random()),
            3 => Reply::Bulk(bytes(rng)),
            4 => Reply::Null,
            5 => Reply::NullArray,
            6 => Reply::Double(match rng.random_range(0..6) {
                0 => f64::INFINITY,
                1 => f64::NEG_INFINITY,
                2 => f64::from(rng.random::<i32>()),
                3 => f64::from_bits(rng.random()),
                _ => rng.random::<f64>() * 1e6,
            }),
            7 => Reply::Boolean(rng.random()),
            8 => Reply::BigNumber(Bytes::from(format!(
                "-{}{}",
                rng.random::<u64>(),
                rng.random::<u64>()
            ))),
            9 => Reply::Verbatim { format: *b"txt", text: bytes(rng) },
            kind => {
                let items: Vec<Reply> =
                    (0..rng.random_range(0..4)).map(|_| random_reply(rng, depth + 1)).collect();
                match kind {
                    10 => Reply::Array(items),
                    11 => Reply::Set(items),
                    12 => Reply::Push(items),
                    _ => Reply::Map(items.into_iter().map(|v| (Reply::Integer(1), v)).collect()),
                }
            }
        }
    }

    /// What a RESP2 client sees for `reply`.
    fn downgraded(reply: &Reply) -> Reply {
        let all = |items: &[Reply]| items.iter().map(downgraded).collect();
        match reply {
            Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
                Reply::Array(all(items))
            }
            Reply::Map(pairs) => Reply::Array(
                pairs.iter().flat_map(|(k, v)| [downgraded(k), downgraded(v)]).collect(),
            ),
            Reply::Boolean(value) => Reply::Integer(i64::from(*value)),
            Reply::Double(value) => Reply::Bulk(Bytes::from(crate::number::format_g17(*value))),
            Reply::BigNumber(text) | Reply::Verbatim { text, .. } => Reply::Bulk(text.clone()),
            other => other.clone(),
        }
    }

    /// What a RESP3 client sees for `reply`: `_` does not say which null it was.
    fn resp3_seen(reply: &Reply) -> Bytes {
        reply.to_bytes(Protocol::Resp3)
    }

    #[test]
    fn fuzz_decode_random_inputs_never_panic_and_agree_across_splits() {
        let seed = Seed::new("fuzz_decode_random_inputs_never_panic_and_agree_across_splits");
        let mut rng = seed.rng(0);
        for _ in 0..iterations(1500) {
            let data = if rng.random_bool(0.5) {
                let len = rng.random_range(0..200);
                (0..len).map(|_| protocol_byte(&mut rng)).collect()
            } else {
                mutated_requests(&mut rng)
            };
            fuzz_decode(&data);
        }
    }

    #[test]
    fn fuzz_reply_random_inputs_never_panic() {
        let seed = Seed::new("fuzz_reply_random_inputs_never_panic");
        let mut rng = seed.rng(0);
        for _ in 0..iterations(3000) {
            let mut data = if rng.random_bool(0.5) {
                let len = rng.random_range(0..120);
                (0..len).map(|_| protocol_byte(&mut rng)).collect()
            } else {
                let proto = if rng.random() { Protocol::Resp2 } else { Protocol::Resp3 };
                random_reply(&mut rng, 0).to_bytes(proto).to_vec()
            };
            mutate(&mut rng, &mut data);
            fuzz_reply(&data);
        }
    }

    #[test]
    fn reply_round_trips_through_the_reply_decoder_in_both_protocols() {
        let seed = Seed::new("reply_round_trips_through_the_reply_decoder_in_both_protocols");
        let mut rng = seed.rng(0);
        for _ in 0..iterations(2000) {
            let reply = random_reply(&mut rng, 0);
            let resp3 = reply.to_bytes(Protocol::Resp3);
            let (decoded, used) = decode_reply(&resp3).expect("valid").expect("complete");
            assert_eq!(used, resp3.len());
            assert_eq!(resp3_seen(&decoded), resp3, "{reply:?}");
            let resp2 = reply.to_bytes(Protocol::Resp2);
            let (decoded, used) = decode_reply(&resp2).expect("valid").expect("complete");
            assert_eq!(used, resp2.len());
            assert_eq!(decoded, downgraded(&reply), "{reply:?}");
            for end in 0..resp3.len() {
                assert_eq!(decode_reply(&resp3[..end]), Ok(None), "prefix {end} of {reply:?}");
            }
        }
    }
}
