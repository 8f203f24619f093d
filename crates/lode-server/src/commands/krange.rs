//! KRANGE, a Lode extension: the keys between two bounds in lexicographic order, forward or
//! reverse, a page at a time, optionally with their values (docs/compatibility.md, "Lode
//! extensions").
//!
//! `KRANGE min max [REV] [LIMIT count] [WITHVALUES] [TYPE type]`: bounds as ZRANGEBYLEX's
//! (`[key` inclusive, `(key` exclusive, `-`, `+`); with REV the first bound is the top, as
//! in ZRANGE ... BYLEX REV. The reply is `[next, keys]`: `next` is nil when the range is
//! exhausted, else the bound (`(last key examined`) to pass as the first argument of the next
//! call (keyset pagination: no server state, and a page resumes exactly after the keys it
//! has covered whatever was written meanwhile).
//!
//! Role: one engine range scan over the metadata keys `0x01 db key` (docs/format/keys.md),
//! which sort as the user keys do, merged with the burst's pending writes by
//! [`crate::tx::Tx::range`]. Each call is bounded: at most LIMIT keys
//! ([`KRANGE_LIMIT_MAX`]), [`KRANGE_PAGE_BYTES_MAX`] bytes of keys and values, and
//! [`KRANGE_EXAMINED_MAX`] keys examined (expired and TYPE-filtered keys count), so however
//! many keys a range holds the server never holds more than one page of it.

use super::is;
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::Kind;
use crate::limits::{
    KRANGE_EXAMINED_MAX, KRANGE_LIMIT_DEFAULT, KRANGE_LIMIT_MAX, KRANGE_PAGE_BYTES_MAX,
};
use bytes::{BufMut, Bytes, BytesMut};
use lode_resp::{Protocol, Reply};
use std::ops::{Bound, ControlFlow};

/// The command group COMMAND DOCS reports: a keyspace command, as SCAN.
const GROUP: &str = "generic";

pub(crate) const SPECS: &[CommandSpec] = &[spec!(
    GROUP,
    "krange",
    -3,
    READONLY | ENGINE,
    (0, 0, 0),
    "Returns the key names between two bounds in lexicographic order, a page at a time (a Lode extension).",
    "0.1.0",
    krange
)];

/// COMMAND DOCS's complexity line.
pub(crate) const COMPLEXITY: &str = "O(log(N)+M) with N the keys in the database and M the \
     keys examined (at most LIMIT plus the expired or TYPE-filtered keys skipped, at most \
     100,000 per call)";

/// Redis's type names, which TYPE accepts (whether or not this server has such keys yet).
const TYPE_NAMES: &[&str] = &["string", "list", "set", "zset", "hash", "stream"];

/// Bytes a reply element costs beyond its payload (its RESP header), for the output limit.
const ELEMENT_OVERHEAD_BYTES: usize = 16;

/// One ZRANGEBYLEX-style bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexBound {
    /// `-`: below every key.
    Min,
    /// `+`: above every key.
    Max,
    /// `[key`.
    Included(Bytes),
    /// `(key`.
    Excluded(Bytes),
}

impl LexBound {
    /// Redis's `zslParseLexRangeItem`.
    pub(crate) fn parse(arg: &Bytes) -> Result<LexBound, CommandError> {
        match arg.first() {
            Some(b'-') if arg.len() == 1 => Ok(LexBound::Min),
            Some(b'+') if arg.len() == 1 => Ok(LexBound::Max),
            Some(b'[') => Ok(LexBound::Included(arg.slice(1..))),
            Some(b'(') => Ok(LexBound::Excluded(arg.slice(1..))),
            _ => Err(errors::STRING_RANGE_ITEM.into()),
        }
    }
}

/// A key range, `(lo, hi)`.
type KeyRange<'b> = (Bound<&'b [u8]>, Bound<&'b [u8]>);

/// The key range from `min` to `max` as `(lo, hi)`, `None` when it holds no key (`+` as min,
/// `-` as max).
fn key_range<'b>(min: &'b LexBound, max: &'b LexBound) -> Option<KeyRange<'b>> {
    let lo = match min {
        LexBound::Min => Bound::Unbounded,
        LexBound::Max => return None,
        LexBound::Included(k) => Bound::Included(&k[..]),
        LexBound::Excluded(k) => Bound::Excluded(&k[..]),
    };
    let hi = match max {
        LexBound::Min => return None,
        LexBound::Max => Bound::Unbounded,
        LexBound::Included(k) => Bound::Included(&k[..]),
        LexBound::Excluded(k) => Bound::Excluded(&k[..]),
    };
    Some((lo, hi))
}

/// KRANGE's options, after the two bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    rev: bool,
    limit: usize,
    with_values: bool,
    /// A type name from [`TYPE_NAMES`].
    kind: Option<&'static str>,
}

impl Options {
    /// A repeated option takes its last value, as Redis's options do.
    fn parse(args: &[Bytes]) -> Result<Options, CommandError> {
        let mut opts =
            Options { rev: false, limit: KRANGE_LIMIT_DEFAULT, with_values: false, kind: None };
        let mut i = 0;
        while i < args.len() {
            let value = args.get(i + 1);
            match value {
                Some(n) if is(&args[i], "limit") => {
                    let n = super::int_arg(n)?;
                    opts.limit = usize::try_from(n)
                        .ok()
                        .filter(|n| (1..=KRANGE_LIMIT_MAX).contains(n))
                        .ok_or_else(errors::krange_limit)?;
                    i += 1;
                }
                Some(name) if is(&args[i], "type") => {
                    let known = TYPE_NAMES.iter().find(|t| is(name, t));
                    opts.kind = Some(known.ok_or_else(|| errors::unknown_type_name(name))?);
                    i += 1;
                }
                _ if is(&args[i], "rev") => opts.rev = true,
                _ if is(&args[i], "withvalues") => opts.with_values = true,
                _ => return Err(errors::SYNTAX.into()),
            }
            i += 1;
        }
        Ok(opts)
    }
}

/// One key of a page, with its value under WITHVALUES (nil for a key that is not a string).
type Item = (Bytes, Option<Option<Bytes>>);

fn krange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let opts = Options::parse(&args[3..])?;
    let (min, max) = if opts.rev { (&args[2], &args[1]) } else { (&args[1], &args[2]) };
    let (min, max) = (LexBound::parse(min)?, LexBound::parse(max)?);
    let mut items: Vec<Item> = Vec::new();
    let mut resume_after: Option<Bytes> = None;
    let done = match key_range(&min, &max) {
        None => true,
        Some((lo, hi)) => {
            let room = ctx.output_room();
            let mut page_bytes = 0usize;
            let mut reply_bytes = 0usize;
            let mut examined = 0usize;
            let now = ctx.now_ms;
            ctx.tx.range(lo, hi, opts.rev, now, |key, meta| {
                let found = meta.filter(|m| opts.kind.is_none_or(|k| k == m.kind.name()));
                if let Some(meta) = found {
                    let value = opts
                        .with_values
                        .then(|| (meta.kind == Kind::String).then(|| meta.value.clone()));
                    let bytes =
                        key.len() + value.as_ref().map_or(0, |v| v.as_ref().map_or(0, Bytes::len));
                    let full = items.len() == opts.limit
                        || (!items.is_empty() && page_bytes + bytes > KRANGE_PAGE_BYTES_MAX);
                    if full {
                        // Not taken: the next call starts at this key.
                        return Ok(ControlFlow::Break(()));
                    }
                    reply_bytes = reply_bytes.saturating_add(bytes + 2 * ELEMENT_OVERHEAD_BYTES);
                    if reply_bytes > room {
                        return Err(CommandError::OutputLimit);
                    }
                    page_bytes += bytes;
                    items.push((key.clone(), value));
                }
                examined += 1;
                resume_after = Some(key.clone());
                Ok(if examined >= KRANGE_EXAMINED_MAX {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            })?
        }
    };
    let next = match (done, resume_after) {
        (false, Some(last)) => {
            let mut bound = BytesMut::with_capacity(1 + last.len());
            bound.put_u8(b'(');
            bound.extend_from_slice(&last);
            Reply::Bulk(bound.freeze())
        }
        _ => Reply::Null,
    };
    Ok(Reply::Array(vec![next, page_reply(items, ctx.session.proto)]))
}

/// The keys; with WITHVALUES, key/value pairs: flat in RESP2 and `[key, value]` arrays in
/// RESP3, as ZRANGE ... WITHSCORES answers.
fn page_reply(items: Vec<Item>, proto: Protocol) -> Reply {
    let value = |v: Option<Bytes>| v.map_or(Reply::Null, Reply::Bulk);
    let mut out = Vec::with_capacity(items.len() * 2);
    for (key, with_value) in items {
        match with_value {
            None => out.push(Reply::Bulk(key)),
            Some(v) if proto == Protocol::Resp3 => {
                out.push(Reply::Array(vec![Reply::Bulk(key), value(v)]));
            }
            Some(v) => out.extend([Reply::Bulk(key), value(v)]),
        }
    }
    Reply::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn args(words: &[&str]) -> Vec<Bytes> {
        words.iter().map(|w| b(w)).collect()
    }

    #[test]
    fn lex_bounds_parse_like_zrangebylex() {
        assert_eq!(LexBound::parse(&b("-")).ok(), Some(LexBound::Min));
        assert_eq!(LexBound::parse(&b("+")).ok(), Some(LexBound::Max));
        assert_eq!(LexBound::parse(&b("[")).ok(), Some(LexBound::Included(b(""))));
        assert_eq!(LexBound::parse(&b("(a(")).ok(), Some(LexBound::Excluded(b("a("))));
        assert_eq!(LexBound::parse(&b("[-")).ok(), Some(LexBound::Included(b("-"))));
        for bad in ["", "a", "--", "+a", "-a", " [a"] {
            assert!(LexBound::parse(&b(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_range_of_infinite_bounds() {
        let (min, max, k) = (LexBound::Min, LexBound::Max, LexBound::Included(b("k")));
        assert_eq!(key_range(&min, &max), Some((Bound::Unbounded, Bound::Unbounded)));
        assert_eq!(key_range(&max, &max), None, "+ as min holds nothing");
        assert_eq!(key_range(&min, &min), None, "- as max holds nothing");
        assert_eq!(key_range(&k, &max), Some((Bound::Included(&b"k"[..]), Bound::Unbounded)));
    }

    #[test]
    fn options_parse_and_refuse() {
        let o = Options::parse(&args(&["rev", "LIMIT", "7", "withvalues", "type", "STRING"]));
        assert_eq!(
            o.ok(),
            Some(Options { rev: true, limit: 7, with_values: true, kind: Some("string") })
        );
        let o = Options::parse(&[]).ok().map(|o| o.limit);
        assert_eq!(o, Some(KRANGE_LIMIT_DEFAULT));
        let max = KRANGE_LIMIT_MAX.to_string();
        let past = (KRANGE_LIMIT_MAX + 1).to_string();
        assert_eq!(
            Options::parse(&args(&["limit", &max])).ok().map(|o| o.limit),
            Some(KRANGE_LIMIT_MAX)
        );
        for bad in [
            &["limit", &past][..],
            &["limit", "0"],
            &["limit", "-1"],
            &["limit", "x"],
            &["limit"],
            &["type"],
            &["type", "nosuch"],
            &["bogus"],
        ] {
            assert!(Options::parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn withvalues_pairs_are_flat_in_resp2_and_arrays_in_resp3() {
        let items = || vec![(b("a"), Some(Some(b("1")))), (b("h"), Some(None))];
        let flat = Reply::Array(vec![
            Reply::Bulk(b("a")),
            Reply::Bulk(b("1")),
            Reply::Bulk(b("h")),
            Reply::Null,
        ]);
        assert_eq!(page_reply(items(), Protocol::Resp2), flat);
        let pairs = Reply::Array(vec![
            Reply::Array(vec![Reply::Bulk(b("a")), Reply::Bulk(b("1"))]),
            Reply::Array(vec![Reply::Bulk(b("h")), Reply::Null]),
        ]);
        assert_eq!(page_reply(items(), Protocol::Resp3), pairs);
        let keys = page_reply(vec![(b("a"), None)], Protocol::Resp3);
        assert_eq!(keys, Reply::Array(vec![Reply::Bulk(b("a"))]));
    }
}
