//! INCRBYFLOAT's arithmetic as Redis 7.0 does it on x86-64: C `long double`, the x87 80-bit
//! extended format (64-bit significand with an explicit integer bit, 15-bit exponent).
//!
//! Everything is exact, on big integers: [`parse`] is Redis's `string2ld` (glibc `strtold`
//! plus Redis's checks), [`add`] is one `long double` addition, and [`format_human`] is
//! `ld2string(..., LD_STR_HUMAN)` (glibc's `%.17Lf`, then trailing zeros trimmed). Rounding is
//! to nearest, ties to even, everywhere, as the default floating-point environment does.

use num_bigint::{BigInt, BigUint, Sign};

/// The exponent of the least significant bit of a subnormal: the smallest value is 2^-16445.
const MIN_EXP: i64 = -16445;
/// The largest exponent of the least significant bit of a finite value: the largest value is
/// (2^64 - 1) * 2^16320.
const MAX_EXP: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses inputs of this length or longer.
const MAX_CHARS: usize = 5 * 1024;

/// A `long double` other than NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LongDouble {
    /// `(-1)^neg * mant * 2^exp`; zero (either sign) has `mant == 0`.
    Finite {
        neg: bool,
        mant: u64,
        exp: i64,
    },
    Infinite {
        neg: bool,
    },
}

/// Redis's `string2ld`: what glibc's `strtold` accepts, minus leading whitespace, trailing
/// bytes (an embedded NUL included), NaN, overflow and underflow to zero; `None` when Redis
/// replies "value is not a valid float". Infinity ("inf", "infinity", any case, signed) is
/// accepted, as Redis does.
pub(crate) fn parse(input: &[u8]) -> Option<LongDouble> {
    if input.is_empty() || input.len() >= MAX_CHARS || is_c_space(input[0]) {
        return None;
    }
    let (neg, rest) = match input[0] {
        b'-' => (true, &input[1..]),
        b'+' => (false, &input[1..]),
        _ => (false, input),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Some(LongDouble::Infinite { neg });
    }
    let exact = if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        parse_hex(&rest[2..])?
    } else {
        parse_decimal(rest)?
    };
    let Some((num, den)) = exact else {
        // An exact zero: strtold keeps its sign and reports no range error.
        return Some(LongDouble::Finite { neg, mant: 0, exp: 0 });
    };
    match round(neg, num, den) {
        // Overflow (ERANGE with HUGE_VALL) and underflow to zero (ERANGE with 0): rejected.
        LongDouble::Infinite { .. } | LongDouble::Finite { mant: 0, .. } => None,
        value => Some(value),
    }
}

/// `a + b` in `long double`; `None` for NaN (infinities of opposite signs).
pub(crate) fn add(a: LongDouble, b: LongDouble) -> Option<LongDouble> {
    use LongDouble::{Finite, Infinite};
    match (a, b) {
        (Infinite { neg: x }, Infinite { neg: y }) => (x == y).then_some(a),
        (Infinite { .. }, _) => Some(a),
        (_, Infinite { .. }) => Some(b),
        (Finite { neg: na, mant: ma, exp: ea }, Finite { neg: nb, mant: mb, exp: eb }) => {
            let e = ea.min(eb);
            let signed = |neg: bool, mant: u64, exp: i64| {
                let magnitude = BigUint::from(mant) << shift(exp - e);
                BigInt::from_biguint(if neg { Sign::Minus } else { Sign::Plus }, magnitude)
            };
            let sum = signed(na, ma, ea) + signed(nb, mb, eb);
            if sum.sign() == Sign::NoSign {
                // An exact zero sum is +0 in round-to-nearest, unless both operands are -0.
                return Some(Finite { neg: na && nb, mant: 0, exp: 0 });
            }
            let neg = sum.sign() == Sign::Minus;
            let magnitude = sum.magnitude().clone();
            let (num, den) = if e >= 0 {
                (magnitude << shift(e), BigUint::from(1u8))
            } else {
                (magnitude, BigUint::from(1u8) << shift(-e))
            };
            Some(round(neg, num, den))
        }
    }
}

/// Redis's `ld2string(..., LD_STR_HUMAN)` of a finite value: `%.17Lf` as glibc prints it
/// (the exact value rounded half to even at the 17th fraction digit, every integer digit),
/// trailing zeros and then a trailing dot removed, and "-0" turned into "0".
pub(crate) fn format_human(value: LongDouble) -> String {
    let (neg, mant, exp) = match value {
        LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        LongDouble::Infinite { neg } => return if neg { "-inf" } else { "inf" }.to_string(),
    };
    let scale = BigUint::from(10u64.pow(17));
    let scaled = BigUint::from(mant) * &scale;
    // `fixed` is the value times 10^17, rounded half to even to an integer.
    let fixed =
        if exp >= 0 { scaled << shift(exp) } else { round_shift(&scaled, shift(-exp), false) };
    let int_part = &fixed / &scale;
    let frac = u64::try_from(&fixed % &scale).unwrap_or(0);
    let mut text = format!("{}{}.{frac:017}", if neg { "-" } else { "" }, int_part);
    let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
    text.truncate(trimmed);
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn shift(bits: i64) -> usize {
    usize::try_from(bits).unwrap_or(0)
}

/// The exact value `num / den` of an unsigned decimal (`None` if malformed; `Some(None)` for
/// zero): digits with an optional '.', at least one digit, an optional exponent, nothing more.
#[allow(clippy::type_complexity)]
fn parse_decimal(text: &[u8]) -> Option<Option<(BigUint, BigUint)>> {
    let (digits, frac_len, rest) = mantissa(text, 10)?;
    let exp10 = match rest.first() {
        None => 0,
        Some(b'e' | b'E') => exponent(&rest[1..])?,
        Some(_) => return None,
    };
    let Some(first) = digits.iter().position(|&d| d != 0) else {
        return Some(None);
    };
    let digits = &digits[first..];
    let exp10 = exp10.saturating_sub(frac_len as i64);
    // The value lies in [10^(mag-1), 10^mag): settle the far ranges without big powers.
    let mag = exp10.saturating_add(digits.len() as i64);
    if mag > 4934 {
        return Some(Some((BigUint::from(1u8) << 16400usize, BigUint::from(1u8))));
    }
    if mag < -4952 {
        return Some(Some((BigUint::from(1u8), BigUint::from(1u8) << 16500usize)));
    }
    let mut num = BigUint::from(0u8);
    for chunk in digits.chunks(18) {
        let mut part = 0u64;
        for &d in chunk {
            part = part * 10 + u64::from(d);
        }
        num = num * BigUint::from(10u64.pow(chunk.len() as u32)) + BigUint::from(part);
    }
    let ten = BigUint::from(10u8);
    Some(Some(if exp10 >= 0 {
        (num * ten.pow(exp10 as u32), BigUint::from(1u8))
    } else {
        (num, ten.pow((-exp10) as u32))
    }))
}

/// The exact value of a hexadecimal float after its "0x": hex digits with an optional '.',
/// at least one digit, an optional binary exponent "p[+-]digits".
#[allow(clippy::type_complexity)]
fn parse_hex(text: &[u8]) -> Option<Option<(BigUint, BigUint)>> {
    let (digits, frac_len, rest) = mantissa(text, 16)?;
    let exp2 = match rest.first() {
        None => 0,
        Some(b'p' | b'P') => exponent(&rest[1..])?,
        Some(_) => return None,
    };
    let Some(first) = digits.iter().position(|&d| d != 0) else {
        return Some(None);
    };
    let digits = &digits[first..];
    let exp2 = exp2.saturating_sub(4 * frac_len as i64);
    let mag = exp2.saturating_add(4 * digits.len() as i64);
    if mag > 16400 {
        return Some(Some((BigUint::from(1u8) << 16400usize, BigUint::from(1u8))));
    }
    if mag < -16500 {
        return Some(Some((BigUint::from(1u8), BigUint::from(1u8) << 16500usize)));
    }
    let mut num = BigUint::from(0u8);
    for &d in digits {
        num = (num << 4usize) + BigUint::from(d);
    }
    Some(Some(if exp2 >= 0 {
        (num << shift(exp2), BigUint::from(1u8))
    } else {
        (num, BigUint::from(1u8) << shift(-exp2))
    }))
}

/// Digits in `radix` with at most one '.', at least one digit: (the digit values, how many
/// follow the '.', the rest of the text).
fn mantissa(text: &[u8], radix: u32) -> Option<(Vec<u8>, usize, &[u8])> {
    let mut digits = Vec::with_capacity(text.len());
    let mut frac_len = 0;
    let mut seen_dot = false;
    let mut at = 0;
    while at < text.len() {
        let b = text[at];
        if b == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = char::from(b).to_digit(radix) {
            digits.push(d as u8);
            if seen_dot {
                frac_len += 1;
            }
        } else {
            break;
        }
        at += 1;
    }
    (!digits.is_empty()).then_some((digits, frac_len, &text[at..]))
}

/// A decimal exponent "[+-]digits" that must run to the end of the text; saturates far
/// beyond any range that matters.
fn exponent(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value =
        digits.iter().fold(0i64, |acc, &d| (acc * 10 + i64::from(d - b'0')).min(1_000_000_000));
    Some(if neg { -value } else { value })
}

/// `num / den` (both nonzero... `num` may be zero) rounded to the nearest `long double`, ties
/// to even, with gradual underflow and overflow to infinity.
fn round(neg: bool, num: BigUint, den: BigUint) -> LongDouble {
    if num.bits() == 0 {
        return LongDouble::Finite { neg, mant: 0, exp: 0 };
    }
    let b = num.bits() as i64 - den.bits() as i64;
    // A scale giving a quotient of 66 or 67 bits, or the subnormal scale less two guard bits:
    // either way at least two bits below the final last place, plus the remainder as sticky.
    let e = (b - 66).max(MIN_EXP - 2);
    let (n, d) = if e >= 0 { (num, den << shift(e)) } else { (num << shift(-e), den) };
    let q = &n / &d;
    let sticky = q.clone() * &d != n;
    let mut last = (e + q.bits() as i64 - 64).max(MIN_EXP);
    let mut mant = round_shift(&q, shift(last - e), sticky);
    if mant.bits() > 64 {
        mant >>= 1usize;
        last += 1;
    }
    if last > MAX_EXP {
        return LongDouble::Infinite { neg };
    }
    let mant = u64::try_from(&mant).unwrap_or(u64::MAX);
    LongDouble::Finite { neg, mant, exp: if mant == 0 { 0 } else { last } }
}

/// `value >> bits`, rounded half to even; `sticky` says nonzero bits lie below `value`.
fn round_shift(value: &BigUint, bits: usize, sticky: bool) -> BigUint {
    if bits == 0 {
        return value.clone();
    }
    let kept = value >> bits;
    let half = value.bit(bits as u64 - 1);
    let below = sticky || value.trailing_zeros().is_some_and(|tz| tz < bits as u64 - 1);
    if half && (below || kept.bit(0)) { kept + 1u8 } else { kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(current: &str, by: &str) -> Option<String> {
        let sum = add(parse(current.as_bytes())?, parse(by.as_bytes())?)?;
        matches!(sum, LongDouble::Finite { .. }).then(|| format_human(sum))
    }

    fn incr_ok(current: &str, by: &str) -> String {
        incr(current, by).expect("a finite sum")
    }

    #[test]
    fn redis_test_suite_values() {
        assert_eq!(incr_ok("0", "1"), "1");
        assert_eq!(incr_ok("1", "0.25"), "1.25");
        assert_eq!(incr_ok("1.5", "1.5"), "3");
        assert_eq!(incr_ok("17179869184", "1.5"), "17179869185.5");
        assert_eq!(incr_ok("17179869184", "17179869184"), "34359738368");
        assert_eq!(incr_ok("1", "-1.1"), "-0.1");
        assert_eq!(incr_ok("10.50", "0.1"), "10.6");
        assert_eq!(incr_ok("10.6", "-5"), "5.6");
        assert_eq!(incr_ok("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr_ok("0.024390243902439025", "-0.024390243902439025"), "0");
    }

    #[test]
    fn lode_compat_values() {
        assert_eq!(incr_ok("0", "1.5"), "1.5");
        assert_eq!(incr_ok("1.5", "0.1"), "1.6");
        assert_eq!(incr_ok("10", "5.0e3"), "5010");
        assert_eq!(incr_ok("1.5", "1e-20"), "1.5");
        let big = incr_ok("1e308", "1e308");
        assert_eq!(big.len(), 309);
        assert!(big.starts_with("19999999999999999999"), "{big}");
        // 2e308 rounded to 64 bits, every integer digit printed (checked against glibc).
        assert_eq!(&big[..24], "199999999999999999993371");
    }

    #[test]
    fn long_double_precision_shows() {
        // In f64 these print as 0.30000000000000004 and 0.1; in long double:
        assert_eq!(incr_ok("0.1", "0.2"), "0.3");
        assert_eq!(incr_ok("0", "0.1"), "0.1");
        // 2^64 + 1 is not representable; 2^63 + 1 is.
        assert_eq!(incr_ok("9223372036854775808", "1"), "9223372036854775809");
        assert_eq!(incr_ok("18446744073709551616", "1"), "18446744073709551616");
        assert_eq!(incr_ok("18446744073709551616", "3"), "18446744073709551620");
    }

    #[test]
    fn negative_zero_and_tiny_values_print_zero() {
        assert_eq!(incr_ok("-0.0", "-0.0"), "0");
        assert_eq!(incr_ok("0", "-1e-20"), "0");
        assert_eq!(incr_ok("0", "1e-20"), "0");
        assert_eq!(incr_ok("0", "-0.000000000000000015"), "-0.00000000000000002");
        let neg_zero = parse(b"-0").expect("-0 parses");
        assert_eq!(add(neg_zero, neg_zero), Some(neg_zero));
    }

    #[test]
    fn printf_rounds_ties_to_even() {
        // 2^-18 = 0.000003814697265625 exactly: the 18th digit is a tie.
        assert_eq!(incr_ok("0", "0x1p-18"), "0.00000381469726562");
        // 3 * 2^-18 = 0.000011444091796875: tie, rounds up to even.
        assert_eq!(incr_ok("0", "0x3p-18"), "0.00001144409179688");
    }

    #[test]
    fn parse_follows_string2ld() {
        for bad in [
            "",
            " 1",
            "1 ",
            "\t1",
            "abc",
            "nan",
            "-nan",
            "NaN",
            "1e",
            "1e+",
            ".",
            "-",
            "+",
            "0x",
            "0xg",
            "1.2.3",
            "1\u{0}2",
            "infin",
            "1e5000",
            "-1e5000",
            "1e-5000",
            "0x1p99999",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse(&vec![b'1'; MAX_CHARS]), None);
        let mut longest = b"0.".to_vec();
        longest.resize(MAX_CHARS - 1, b'1');
        assert!(parse(&longest).is_some());
        longest.push(b'1');
        assert_eq!(parse(&longest), None);
        for good in ["3.", ".5", "+1", "-0.0", "1E3", "0x10", "0X1.8p1", "1e-4950", "0e99999"] {
            assert!(matches!(parse(good.as_bytes()), Some(LongDouble::Finite { .. })), "{good}");
        }
        for inf in ["inf", "+inf", "-INF", "Infinity", "-infinity"] {
            assert!(matches!(parse(inf.as_bytes()), Some(LongDouble::Infinite { .. })), "{inf}");
        }
        assert_eq!(incr_ok("0x10", "0"), "16");
        assert_eq!(incr_ok("0X1.8p1", "0"), "3");
        assert_eq!(incr_ok("3.", "0"), "3");
    }

    #[test]
    fn infinities_and_overflow() {
        assert_eq!(incr("1", "inf"), None);
        assert_eq!(incr("inf", "-inf"), None);
        // The largest long double plus a little more overflows.
        let max = "1.18973149535723176502e4932";
        assert!(incr(max, "0").is_some());
        assert_eq!(incr(max, max), None);
        assert_eq!(incr("1e4932", "1e4932").map(|s| s.len()), None);
        assert_eq!(incr_ok("1e4931", "1e4931").len(), 4932);
    }

    #[test]
    fn subnormals() {
        let min = LongDouble::Finite { neg: false, mant: 1, exp: MIN_EXP };
        assert_eq!(parse(b"3.6451995318824746025e-4951"), Some(min));
        assert_eq!(parse(b"0x1p-16445"), Some(min));
        assert_eq!(parse(b"0x1p-16446"), None); // a tie with zero: rounds to even, zero
        assert_eq!(parse(b"0x1.8p-16446"), Some(min));
    }
}
