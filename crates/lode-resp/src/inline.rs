//! Splitting an inline command line into arguments, with Redis's quoting rules.
//!
//! Role: the request decoder hands each inline line (without its `\r\n`) to [`split_inline`].
//! The rules are those of Redis's `sdssplitargs`:
//! - arguments are separated by ASCII whitespace; leading whitespace is skipped;
//! - `"double quotes"` understand `\n \r \t \b \a`, `\xHH` (two hex digits) and `\<any>` as that
//!   byte (so `\\` and `\"`);
//! - `'single quotes'` understand only `\'`;
//! - a quote may open in the middle of an argument (`a"b c"` is `ab c`), but a closing quote must
//!   be followed by whitespace or the end of the line;
//! - a NUL byte ends the line, as it ends Redis's C string.
//!
//! An unterminated quote, or a closing quote followed by something else, is
//! `unbalanced quotes in request`.

use bytes::Bytes;

/// The arguments of one inline line, or `Err(())` on unbalanced quotes.
pub(crate) fn split_inline(line: &[u8]) -> Result<Vec<Bytes>, ()> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    // Reads past the end see NUL, like the C code's terminator.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(args);
        }
        let mut arg = Vec::new();
        let mut quote: Option<u8> = None;
        loop {
            let c = at(i);
            let mut done = false;
            match quote {
                Some(b'"') => {
                    if c == b'\\'
                        && at(i + 1) == b'x'
                        && let (Some(hi), Some(lo)) = (hex(at(i + 2)), hex(at(i + 3)))
                    {
                        arg.push(hi << 4 | lo);
                        i += 3;
                    } else if c == b'\\' && at(i + 1) != 0 {
                        i += 1;
                        arg.push(match at(i) {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    } else if c == b'"' {
                        closing_quote_ok(at(i + 1))?;
                        done = true;
                    } else if c == 0 {
                        return Err(());
                    } else {
                        arg.push(c);
                    }
                }
                Some(_) => {
                    if c == b'\\' && at(i + 1) == b'\'' {
                        i += 1;
                        arg.push(b'\'');
                    } else if c == b'\'' {
                        closing_quote_ok(at(i + 1))?;
                        done = true;
                    } else if c == 0 {
                        return Err(());
                    } else {
                        arg.push(c);
                    }
                }
                None => match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' | b'\'' => quote = Some(c),
                    _ => arg.push(c),
                },
            }
            if at(i) != 0 {
                i += 1;
            }
            if done {
                break;
            }
        }
        args.push(Bytes::from(arg));
    }
}

fn closing_quote_ok(next: u8) -> Result<(), ()> {
    if next == 0 || is_c_space(next) { Ok(()) } else { Err(()) }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, ()> {
        split_inline(line).map(|args| args.iter().map(|a| a.to_vec()).collect())
    }

    fn ok(line: &[u8], expected: &[&[u8]]) {
        let got = split(line).expect("balanced");
        let expected: Vec<Vec<u8>> = expected.iter().map(|a| a.to_vec()).collect();
        assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(line));
    }

    #[test]
    fn split_inline_separates_on_whitespace() {
        ok(b"", &[]);
        ok(b"   \t ", &[]);
        ok(b"PING", &[b"PING"]);
        ok(b"  SET  k   v  ", &[b"SET", b"k", b"v"]);
        ok(b"a\tb\rc", &[b"a", b"b", b"c"]);
        ok(b"\x0ba b\x0bc", &[b"a", b"b\x0bc"]);
    }

    #[test]
    fn split_inline_double_quotes_understand_escapes() {
        ok(b"SET k \"a b\"", &[b"SET", b"k", b"a b"]);
        ok(b"\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"", &[b"\n\r\t\x08\x07\\\"q"]);
        ok(b"\"\\x41\\x7a\\xff\\x0\"", &[b"Az\xffx0"]);
        ok(b"\"\\xg1\"", &[b"xg1"]);
        ok(b"\"\"", &[b""]);
        ok(b"a\"b c\"", &[b"ab c"]);
        ok(b"\"it's\"", &[b"it's"]);
    }

    #[test]
    fn split_inline_single_quotes_understand_only_escaped_quote() {
        ok(b"'a b'", &[b"a b"]);
        ok(b"'it\\'s'", &[b"it's"]);
        ok(b"'\\n\\x41'", &[b"\\n\\x41"]);
        ok(b"'say \"hi\"'", &[b"say \"hi\""]);
        ok(b"''", &[b""]);
    }

    #[test]
    fn split_inline_nul_ends_the_line() {
        ok(b"GET a\0b c", &[b"GET", b"a"]);
        assert!(split(b"\"ab\0c\"").is_err());
    }

    #[test]
    fn split_inline_rejects_unbalanced_quotes() {
        for bad in
            [&b"\"abc"[..], b"'abc", b"\"abc\"def", b"'abc'def", b"\"abc\\\"", b"\"\\", b"'\\'"]
        {
            assert!(split(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        ok(b"\"abc\" \"def\"", &[b"abc", b"def"]);
        ok(b"'abc'\t'def'", &[b"abc", b"def"]);
    }
}
