//! Scores and ranges as Redis 7.0 reads and prints them: pure functions of the argument bytes.
//!
//! - [`parse_score`] is `getDoubleFromObject` (ZADD, ZINCRBY, WEIGHTS): glibc's `strtod` over
//!   the whole argument, no leading space, no NaN, no overflow to infinity or underflow to zero
//!   (a literal "inf" is fine).
//! - [`ScoreRange::parse`] is `zslParseRange` (ZRANGEBYSCORE, ZCOUNT, ...): an optional `(`,
//!   then `strtod` of the longest prefix, which must end the argument or meet a NUL byte. It
//!   is laxer: leading space, overflow and an empty argument (0) are accepted, as in Redis.
//! - [`LexRange::parse`] is `zslParseLexRange`: `[x`, `(x`, `-`, `+`.
//! - [`format_score`] is Redis 7.0's `%.17g` (`addReplyDouble` in RESP2, and the text of
//!   listpack scores that ZSCAN returns).

use std::cmp::Ordering;

/// The C locale's `isspace`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// What `strtod` made of the start of a string.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Strtod {
    value: f64,
    /// Bytes consumed (0 when nothing converted: `endptr == nptr`).
    consumed: usize,
    /// `errno == ERANGE` with a result of ±HUGE_VAL or 0: overflow or underflow to zero.
    range_error: bool,
}

/// glibc's `strtod` in the C locale: the longest prefix of `s` that is a number (after
/// leading white space): decimal, hexadecimal (`0x1.8p3`), `inf`, `infinity` or `nan[(...)]`.
fn strtod(s: &[u8]) -> Strtod {
    let none = Strtod { value: 0.0, consumed: 0, range_error: false };
    let mut at = s.iter().take_while(|&&b| is_c_space(b)).count();
    let neg = match s.get(at) {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    let rest = &s[at..];
    let signed = |v: f64| if neg { -v } else { v };
    let word = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    if word(b"infinity") {
        return Strtod { value: signed(f64::INFINITY), consumed: at + 8, range_error: false };
    }
    if word(b"inf") {
        return Strtod { value: signed(f64::INFINITY), consumed: at + 3, range_error: false };
    }
    if word(b"nan") {
        let mut end = 3;
        if rest.get(3) == Some(&b'(') {
            let chars = rest[4..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_');
            let close = 4 + chars.count();
            if rest.get(close) == Some(&b')') {
                end = close + 1;
            }
        }
        return Strtod { value: f64::NAN, consumed: at + end, range_error: false };
    }
    if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((value, used, range_error)) = hex(&rest[2..]) {
            return Strtod { value: signed(value), consumed: at + 2 + used, range_error };
        }
        // "0x" without hex digits: the "0" is the number.
        return Strtod { value: signed(0.0), consumed: at + 1, range_error: false };
    }
    let Some(used) = decimal_len(rest) else { return none };
    let text = std::str::from_utf8(&rest[..used]).unwrap_or("0");
    let value: f64 = text.parse().unwrap_or(0.0);
    let mantissa_end = rest[..used].iter().position(|b| b | 0x20 == b'e').unwrap_or(used);
    let nonzero = rest[..mantissa_end].iter().any(|b| (b'1'..=b'9').contains(b));
    let range_error = value.is_infinite() || (value == 0.0 && nonzero);
    Strtod { value: signed(value), consumed: at + used, range_error }
}

/// Length of the longest decimal number at the start of `s` (no sign): digits with at most
/// one '.', at least one digit, then an exponent if one with digits follows.
fn decimal_len(s: &[u8]) -> Option<usize> {
    let int = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut at = int;
    let mut digits = int;
    if s.get(at) == Some(&b'.') {
        let frac = s[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if int > 0 || frac > 0 {
            at += 1 + frac;
            digits += frac;
        }
    }
    if digits == 0 {
        return None;
    }
    if s.get(at).is_some_and(|b| b | 0x20 == b'e') {
        let sign = usize::from(matches!(s.get(at + 1), Some(b'+' | b'-')));
        let exp = s[at + 1 + sign..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp > 0 {
            at += 1 + sign + exp;
        }
    }
    Some(at)
}

/// A hexadecimal float after its "0x" (no sign): `(value, bytes used, range error)`, `None`
/// if no hex digit follows. Rounded to nearest, ties to even, with gradual underflow.
fn hex(s: &[u8]) -> Option<(f64, usize, bool)> {
    let hexval = |b: u8| char::from(b).to_digit(16);
    let mut at = 0;
    let mut mant: u64 = 0;
    let mut sticky = false;
    // value = mant * 2^exp2 (+ sticky bits below).
    let mut exp2: i64 = 0;
    let mut any = false;
    let mut seen_dot = false;
    while at < s.len() {
        let b = s[at];
        if b == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = hexval(b) {
            any = true;
            if mant >> 60 == 0 {
                mant = mant << 4 | u64::from(d);
                if seen_dot {
                    exp2 -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_dot {
                    exp2 += 4;
                }
            }
        } else {
            break;
        }
        at += 1;
    }
    if !any {
        return None;
    }
    if s.get(at).is_some_and(|b| b | 0x20 == b'p') {
        let sign = matches!(s.get(at + 1), Some(b'+' | b'-'));
        let digits_at = at + 1 + usize::from(sign);
        let n = s[digits_at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let e = s[digits_at..digits_at + n]
                .iter()
                .fold(0i64, |acc, &d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
            exp2 += if s[at + 1] == b'-' { -e } else { e };
            at = digits_at + n;
        }
    }
    if mant == 0 {
        return Some((0.0, at, false));
    }
    let value = round_binary(mant, sticky, exp2);
    Some((value, at, value == 0.0 || value.is_infinite()))
}

/// `mant * 2^exp2` (plus `sticky` nonzero bits below `mant`) rounded to the nearest f64.
fn round_binary(mant: u64, sticky: bool, exp2: i64) -> f64 {
    let bits = 64 - i64::from(mant.leading_zeros());
    // The last place of the result: 53 significant bits, or the subnormal last place.
    let lsb = (exp2 + bits - 53).max(-1074);
    if lsb > 971 {
        // At least 2^52 * 2^972 = 2^1024: past the largest double.
        return f64::INFINITY;
    }
    let shift = lsb - exp2;
    let sig: u64 = if shift <= 0 {
        mant << (-shift)
    } else if shift > 64 {
        0
    } else {
        let m = u128::from(mant);
        let kept = m >> shift;
        let half = (m >> (shift - 1)) & 1 == 1;
        let below = sticky || m & ((1u128 << (shift - 1)) - 1) != 0;
        let round_up = half && (below || kept & 1 == 1);
        (kept + u128::from(round_up)) as u64
    };
    ldexp(sig as f64, lsb)
}

/// `x * 2^exp` for an integral `x <= 2^53` and `-1074 <= exp <= 971`, where the product is
/// exact or overflows (no double rounding).
fn ldexp(x: f64, exp: i64) -> f64 {
    let pow2 = |e: i64| f64::from_bits(((1023 + e) as u64) << 52);
    if exp < -1000 { x * pow2(-1000) * pow2(exp + 1000) } else { x * pow2(exp) }
}

/// Redis's `getDoubleFromObject`: the whole argument is one number; `None` means
/// `ERR value is not a valid float` (or the caller's own message).
pub(crate) fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || is_c_space(arg[0]) {
        return None;
    }
    let r = strtod(arg);
    (r.consumed == arg.len() && !r.range_error && !r.value.is_nan()).then_some(r.value)
}

/// One end of a score range: `zslParseRange`'s `strtod` with its `*eptr != '\0'` check.
fn parse_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, text) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    let r = strtod(text);
    // With no conversion `endptr` is the start, so only an empty text (or a NUL) passes.
    let end_ok = text.get(r.consumed).is_none_or(|&b| b == 0);
    (end_ok && !r.value.is_nan()).then_some((r.value, exclusive))
}

/// A score interval, `(` marking an open end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

impl ScoreRange {
    /// `None`: `ERR min or max is not a float`.
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, minex) = parse_bound(min)?;
        let (max, maxex) = parse_bound(max)?;
        Some(ScoreRange { min, minex, max, maxex })
    }

    /// Ranges Redis answers as empty without looking.
    pub(crate) fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }

    pub(crate) fn gte_min(&self, score: f64) -> bool {
        if self.minex { score > self.min } else { score >= self.min }
    }

    pub(crate) fn lte_max(&self, score: f64) -> bool {
        if self.maxex { score < self.max } else { score <= self.max }
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// `zslParseLexRangeItem`.
    fn parse(arg: &[u8]) -> Option<LexBound> {
        // Redis reads a C string here: "+" or "-" followed by a NUL is still "+" or "-".
        let alone = arg.get(1).is_none_or(|&b| b == 0);
        match arg.first()? {
            b'+' if alone => Some(LexBound::Max),
            b'-' if alone => Some(LexBound::Min),
            b'(' => Some(LexBound::Exclusive(arg[1..].to_vec())),
            b'[' => Some(LexBound::Inclusive(arg[1..].to_vec())),
            _ => None,
        }
    }

    /// The member bytes of a bound (empty for `-` and `+`).
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            LexBound::Inclusive(b) | LexBound::Exclusive(b) => b,
            LexBound::Min | LexBound::Max => &[],
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// Redis's `sdscmplex`: `-` below and `+` above everything, themselves equal to themselves.
fn cmp_lex(a: &LexBound, b: &LexBound) -> Ordering {
    use LexBound::{Max, Min};
    match (a, b) {
        (Min, Min) | (Max, Max) => Ordering::Equal,
        (Min, _) | (_, Max) => Ordering::Less,
        (Max, _) | (_, Min) => Ordering::Greater,
        _ => a.bytes().cmp(b.bytes()),
    }
}

/// A lexicographic member interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    /// `None`: `ERR min or max not valid string range item`.
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        Some(LexRange { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    /// Ranges Redis answers as empty without looking.
    pub(crate) fn is_empty(&self) -> bool {
        match cmp_lex(&self.min, &self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.min.exclusive() || self.max.exclusive(),
            Ordering::Less => false,
        }
    }

    pub(crate) fn gte_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(b) => member >= b.as_slice(),
            LexBound::Exclusive(b) => member > b.as_slice(),
        }
    }

    pub(crate) fn lte_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::Max => true,
            LexBound::Min => false,
            LexBound::Inclusive(b) => member <= b.as_slice(),
            LexBound::Exclusive(b) => member < b.as_slice(),
        }
    }
}

/// C's `printf("%.17g", value)`, as Redis 7.0 prints a score (`inf`, `-inf`; NaN is never
/// stored): the same text as a RESP3 double (`lode_resp::format_g17`).
pub(crate) fn format_score(value: f64) -> String {
    lode_resp::format_g17(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_score_follows_get_double_from_object() {
        let good: &[(&str, f64)] = &[
            ("1", 1.0),
            ("-1.5", -1.5),
            ("+5", 5.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1E+3", 1000.0),
            ("inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-INF", f64::NEG_INFINITY),
            ("Infinity", f64::INFINITY),
            ("0x10", 16.0),
            ("0x1p-3", 0.125),
            ("0X1.8P1", 3.0),
            ("-0x.8", -0.5),
            ("1e-310", 1e-310),
            ("0e999999", 0.0),
            ("123456789012345678", 123456789012345678.0),
        ];
        for &(text, want) in good {
            assert_eq!(parse_score(text.as_bytes()), Some(want), "{text}");
        }
        assert!(parse_score(b"-0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
        for bad in [
            "",
            " 1",
            "1 ",
            "\t1",
            "x",
            "1x",
            "1e",
            "1e+",
            "0x",
            "0xg",
            ".",
            "-",
            "+",
            "nan",
            "-nan",
            "nan(1)",
            "1e400",
            "-1e400",
            "1e-400",
            "0x1p99999",
            "0x1p-1080",
            "1\u{0}",
            "infx",
            "in",
            "1..2",
        ] {
            assert_eq!(parse_score(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn strtod_takes_the_longest_number() {
        let cases: &[(&str, f64, usize)] = &[
            ("1e", 1.0, 1),
            ("1e+x", 1.0, 1),
            ("0x", 0.0, 1),
            ("0xg", 0.0, 1),
            ("1.5.5", 1.5, 3),
            ("  -2abc", -2.0, 4),
            ("infinit", f64::INFINITY, 3),
            ("0x1p", 1.0, 3),
            ("0x1.8p1x", 3.0, 7),
        ];
        for &(text, value, consumed) in cases {
            let r = strtod(text.as_bytes());
            assert_eq!((r.value, r.consumed), (value, consumed), "{text}");
        }
        let r = strtod(b"nan(abc_1)x");
        assert!(r.value.is_nan() && r.consumed == 10);
        assert_eq!(strtod(b"nan(a-b)").consumed, 3);
        assert_eq!(strtod(b"x").consumed, 0);
    }

    #[test]
    fn hex_floats_round_to_nearest_even() {
        // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even wins.
        assert_eq!(parse_score(b"0x20000000000001"), Some(9007199254740992.0));
        assert_eq!(parse_score(b"0x20000000000003"), Some(9007199254740996.0));
        // Digits past 64 bits only break ties (sticky).
        let above_tie = 9007199254740994.0 * 18446744073709551616.0;
        assert_eq!(parse_score(b"0x200000000000010000000000000001"), Some(above_tie));
        assert_eq!(parse_score(b"0x1p99999999999999999999"), None);
        assert_eq!(parse_score(b"0x1p-99999999999999999999"), None);
        assert_eq!(parse_score(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_score(b"0x1.8p-1074"), Some(f64::from_bits(2)));
        assert_eq!(parse_score(b"0x1p-1075"), None, "a tie with zero rounds to zero");
        assert_eq!(parse_score(b"0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(parse_score(b"0x1p1024"), None);
    }

    #[test]
    fn score_ranges_follow_zsl_parse_range() {
        let r = ScoreRange::parse(b"(1.5", b"+inf").expect("valid");
        assert_eq!(r, ScoreRange { min: 1.5, minex: true, max: f64::INFINITY, maxex: false });
        let lax: &[(&[u8], f64)] =
            &[(b"", 0.0), (b" 5", 5.0), (b"1\0x", 1.0), (b"1e400", f64::INFINITY), (b"0x2", 2.0)];
        for &(text, want) in lax {
            assert_eq!(parse_bound(text), Some((want, false)), "{text:?}");
        }
        assert_eq!(parse_bound(b"("), Some((0.0, true)));
        for bad in [&b"1x"[..], b"nan", b"[1", b" ", b"x", b"((1"] {
            assert_eq!(parse_bound(bad), None, "{bad:?}");
        }
        assert!(ScoreRange::parse(b"(2", b"2").expect("valid").is_empty());
        assert!(ScoreRange::parse(b"3", b"2").expect("valid").is_empty());
        assert!(!ScoreRange::parse(b"2", b"2").expect("valid").is_empty());
    }

    #[test]
    fn lex_ranges_follow_zsl_parse_lex_range() {
        let r = LexRange::parse(b"[a", b"(c").expect("valid");
        assert!(r.gte_min(b"a") && r.lte_max(b"b") && !r.lte_max(b"c") && !r.gte_min(b"0"));
        for bad in [&b""[..], b"a", b"+a", b"--"] {
            assert_eq!(LexBound::parse(bad), None, "{bad:?}");
        }
        assert_eq!(LexBound::parse(b"+\0x"), Some(LexBound::Max));
        let empty = |a: &[u8], b: &[u8]| LexRange::parse(a, b).expect("valid").is_empty();
        assert!(empty(b"+", b"-") && empty(b"-", b"-") && empty(b"+", b"+") && empty(b"(a", b"[a"));
        assert!(empty(b"[b", b"[a") && empty(b"[a", b"-") && empty(b"+", b"[a"));
        assert!(!empty(b"-", b"+") && !empty(b"[a", b"[a") && !empty(b"-", b"[a"));
        let all = LexRange::parse(b"-", b"+").expect("valid");
        assert!(all.gte_min(b"") && all.lte_max(b"\xff\xff"));
        let none = LexRange::parse(b"+", b"-").expect("valid");
        assert!(!none.gte_min(b"a") && !none.lte_max(b"a"));
    }

    #[test]
    fn format_score_is_printf_17g() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-42.0, "-42"),
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (1e300, "1.0000000000000001e+300"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (123.456, "123.456"),
            (2.5e-105, "2.4999999999999998e-105"),
            (1e-310, "9.9999999999999694e-311"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::from_bits(1), "4.9406564584124654e-324"),
            (-0.000123, "-0.00012300000000000001"),
            (-0.000125, "-0.000125"),
        ];
        for &(value, want) in cases {
            assert_eq!(format_score(value), want, "{value:e}");
        }
    }

    #[test]
    fn format_score_round_trips() {
        use rand::{Rng, SeedableRng};
        let seed = lode_testkit::Seed::new("format_score_round_trips");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed.value);
        for _ in 0..lode_testkit::iterations(20_000) {
            let v = f64::from_bits(rng.random());
            if v.is_nan() {
                continue;
            }
            let text = format_score(v);
            assert_eq!(parse_score(text.as_bytes()), Some(v), "{text}");
        }
    }
}
