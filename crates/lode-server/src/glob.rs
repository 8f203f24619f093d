//! Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET): `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
//!
//! Iterative, with one backtracking point (the last `*`), so matching costs at most
//! O(pattern × subject) whatever the pattern: no recursion to exhaust (CVE-2022-36021,
//! CVE-2024-31228 were exponential or unbounded matchers).

/// Whether `subject` matches `pattern`.
pub(crate) fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, s));
                    continue;
                }
                _ if s < subject.len() => {
                    if let Some(next) = atom(pattern, p, subject[s]) {
                        p = next;
                        s += 1;
                        continue;
                    }
                }
                _ => {}
            }
        } else if s == subject.len() {
            return true;
        }
        match star {
            Some((sp, ss)) if ss < subject.len() => {
                star = Some((sp, ss + 1));
                p = sp;
                s = ss + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the one-character atom at `pattern[p]` against `c`; the index after the atom if it
/// matches.
fn atom(pattern: &[u8], p: usize, c: u8) -> Option<usize> {
    match pattern[p] {
        b'?' => Some(p + 1),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == c).then_some(p + 2),
        b'[' => {
            let mut i = p + 1;
            let negate = pattern.get(i) == Some(&b'^');
            if negate {
                i += 1;
            }
            let mut hit = false;
            while i < pattern.len() && pattern[i] != b']' {
                if pattern[i] == b'\\' && i + 1 < pattern.len() {
                    hit |= pattern[i + 1] == c;
                    i += 2;
                } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']'
                {
                    let (lo, hi) = (pattern[i].min(pattern[i + 2]), pattern[i].max(pattern[i + 2]));
                    hit |= (lo..=hi).contains(&c);
                    i += 3;
                } else {
                    hit |= pattern[i] == c;
                    i += 1;
                }
            }
            // An unterminated class ends with the pattern, as in Redis.
            let next = if i < pattern.len() { i + 1 } else { i };
            (hit != negate).then_some(next)
        }
        other => (other == c).then_some(p + 1),
    }
}

/// The literal bytes every match must start with (the pattern up to its first special byte),
/// so a scan can start there instead of at the first key.
pub(crate) fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    if end == pattern.len() {
        // No wildcard: the only match is the pattern itself, which is also its own prefix.
        return pattern;
    }
    &pattern[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_redis() {
        let yes: &[(&str, &str)] = &[
            ("*", ""),
            ("*", "abc"),
            ("a*", "abc"),
            ("*c", "abc"),
            ("a?c", "abc"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("h[b-a]llo", "hallo"),
            ("h\\*llo", "h*llo"),
            ("*a*b*c*", "xxaxxbxxcxx"),
            ("user:*:name", "user:42:name"),
        ];
        for (p, s) in yes {
            assert!(matches(p.as_bytes(), s.as_bytes()), "{p} ~ {s}");
        }
        let no: &[(&str, &str)] = &[
            ("a*", "bac"),
            ("a?c", "ac"),
            ("h[^e]llo", "hello"),
            ("h[a-b]llo", "hcllo"),
            ("abc", "abcd"),
            ("h\\*llo", "hello"),
            ("", "a"),
        ];
        for (p, s) in no {
            assert!(!matches(p.as_bytes(), s.as_bytes()), "{p} !~ {s}");
        }
    }

    #[test]
    fn glob_is_fast_on_pathological_patterns() {
        let pattern = "a*".repeat(2000) + "b";
        let subject = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!matches(pattern.as_bytes(), subject.as_bytes()));
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn literal_prefix_stops_at_the_first_wildcard() {
        assert_eq!(literal_prefix(b"user:*"), b"user:");
        assert_eq!(literal_prefix(b"*"), b"");
        assert_eq!(literal_prefix(b"exact"), b"exact");
        assert_eq!(literal_prefix(b"a\\*b"), b"a");
    }
}
