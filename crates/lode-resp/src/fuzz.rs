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
    pre_auth: Some(PreAuthLimits {
        args_max: 5,
        bulk_bytes_max: 30,
    }),
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
                    assert_eq!(
                        decoder.decode(&mut buf),
                        Err(error.clone()),
                        "error not sticky"
                    );
                    return Outcome {
                        requests,
                        error: Some(error),
                        leftover: None,
                    };
                }
            }
        }
    }
    Outcome {
        requests,
        error: None,
        leftover: Some(buf.freeze()),
    }
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
    let (again, again_used) = decode_reply(&encoded)
        .expect("own encoding is valid")
        .expect("own encoding is complete");
    assert_eq!(again_used, encoded.len());
    assert_eq!(
        again.to_bytes(Protocol::Resp3),
        encoded,
        "re-encoding differs"
    );
    // RESP2 output of any reply must also be one valid frame.
    let resp2 = reply.to_bytes(Protocol::Resp2);
    let (_, resp2_used) = decode_reply(&resp2)
        .expect("RESP2 valid")
        .expect("RESP2 complete");
    assert_eq!(resp2_used, resp2.len());
}
