//! Integer parsing and double formatting exactly as Redis does them on the wire.
//!
//! Role: [`parse_i64`] reads every count and length the decoders see, with Redis's
//! `string2ll` rules (no sign but `-`, no leading zeros, no `-0`, no overflow, no spaces);
//! [`format_double`] writes doubles as Redis 7.2+'s `d2string`: `nan`, `inf`, `-inf`, `0`, `-0`,
//! integral values up to 2^62 as integers, everything else as the shortest round-trip digits
//! laid out like `fpconv_dtoa` (plain up to 7 leading/trailing zeros, else `1.5e+300`).

/// Parses `digits` with Redis's `string2ll` rules; `None` if it is not exactly an i64.
pub fn parse_i64(digits: &[u8]) -> Option<i64> {
    let (negative, rest) = match digits {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, digits),
    };
    match rest {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &byte in rest {
        if !byte.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

/// Appends `value` in decimal.
pub(crate) fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(value.to_string().as_bytes());
}

/// Appends `value` formatted as Redis's `d2string` does.
pub fn format_double(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"nan");
    } else if value.is_infinite() {
        out.extend_from_slice(if value < 0.0 { b"-inf" } else { b"inf" });
    } else if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() { b"-0" } else { b"0" });
    } else if let Some(integer) = exact_integer(value) {
        write_i64(out, integer);
    } else {
        format_shortest(out, value);
    }
}

/// C's `printf("%.17g", value)` (`nan`, `inf`, `-inf`, `-0`): how Redis 7.0's `addReplyDouble`
/// prints a double, as a RESP2 bulk string and as a RESP3 double alike.
pub fn format_g17(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // 17 significant digits, correctly rounded (ties to even, as glibc's printf).
    let sci = format!("{:.16e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut out = String::with_capacity(24);
    if value < 0.0 {
        out.push('-');
    }
    let trim = |d: &[u8]| -> usize { d.iter().rposition(|&c| c != b'0').map_or(0, |p| p + 1) };
    if !(-4..17).contains(&exp) {
        out.push(char::from(digits[0]));
        let frac = &digits[1..trim(&digits).max(1)];
        if !frac.is_empty() {
            out.push('.');
            out.extend(frac.iter().map(|&c| char::from(c)));
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp >= 0 {
        let point = exp as usize + 1;
        out.extend(digits[..point].iter().map(|&c| char::from(c)));
        let frac = &digits[point..];
        let frac = &frac[..trim(frac)];
        if !frac.is_empty() {
            out.push('.');
            out.extend(frac.iter().map(|&c| char::from(c)));
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.extend(digits[..trim(&digits)].iter().map(|&c| char::from(c)));
    }
    out
}

/// `value` as an i64 when it is integral and within ±2^62, Redis's `double2ll` range.
fn exact_integer(value: f64) -> Option<i64> {
    const BOUND: f64 = (i64::MAX / 2) as f64;
    if !(-BOUND..=BOUND).contains(&value) || value.fract() != 0.0 {
        return None;
    }
    Some(value as i64)
}

/// The shortest round-trip digits of a finite non-zero `value`, laid out as `fpconv_dtoa`.
///
/// Rust's `{:e}` gives the shortest digits; fpconv (Grisu2) very rarely gives one more digit,
/// so in those cases Lode's text is shorter than Redis's but parses to the same double.
fn format_shortest(out: &mut Vec<u8>, value: f64) {
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let ndigits = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    // value = digits * 10^k
    let k = exponent - (ndigits - 1);
    let exp_abs = exponent.unsigned_abs();
    if value < 0.0 {
        out.push(b'-');
    }
    if k >= 0 && exponent < ndigits + 7 {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat_n(b'0', k.unsigned_abs() as usize));
    } else if k < 0 && (k > -7 || exp_abs < 4) {
        let offset = ndigits + k;
        if offset <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', offset.unsigned_abs() as usize));
            out.extend_from_slice(&digits);
        } else {
            let (int_part, frac_part) = digits.split_at(offset.unsigned_abs() as usize);
            out.extend_from_slice(int_part);
            out.push(b'.');
            out.extend_from_slice(frac_part);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        out.extend_from_slice(exp_abs.to_string().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(value: f64) -> String {
        let mut out = Vec::new();
        format_double(&mut out, value);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn parse_i64_follows_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"123"), Some(123));
        assert_eq!(parse_i64(b"-5"), Some(-5));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn format_double_matches_redis_d2string() {
        let cases: &[(f64, &str)] = &[
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-42.0, "-42"),
            (1.5, "1.5"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (2.71, "2.71"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.234e-5, "1.234e-5"),
            (123456789.125, "123456789.125"),
            (4611686018427387904.0, "4611686018427387904"),
            (9223372036854775808.0, "9223372036854776000"),
            (1e20, "1e+20"),
            (1.5e300, "1.5e+300"),
            (2.5e-105, "2.5e-105"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for &(value, expected) in cases {
            assert_eq!(fmt(value), expected, "{value:e}");
        }
    }

    #[test]
    fn format_double_round_trips() {
        for value in [1.1, 2.0 / 3.0, 1e-300, 123.456e10, -7.0e22, 5e-324] {
            let text = fmt(value);
            assert_eq!(text.parse::<f64>().expect("parses"), value, "{text}");
        }
    }
}
