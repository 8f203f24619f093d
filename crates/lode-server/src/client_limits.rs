//! The limits a connected client is held to, as policy: how much of a request it may have the
//! server hold (`client-query-buffer-limit`), how many reply bytes may wait for it
//! (`client-output-buffer-limit`), and how long it may take to send a request (`timeout`).
//!
//! Pure: functions of sizes, times and settings. conn.rs measures (bytes held, bytes pending,
//! when a request began) and closes the client when one of these says so; LiveConfig holds the
//! settings so CONFIG SET changes them for the next check. limits.rs says why each default is
//! what it is.

use std::fmt;
use std::time::{Duration, Instant};

/// Why a client was closed by a limit rather than by its own doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// Its incomplete request passed `client-query-buffer-limit`.
    QueryBuffer,
    /// Its pending replies passed the output hard limit.
    OutputHard,
    /// Its pending replies stayed over the output soft limit for the soft seconds.
    OutputSoft,
    /// Its socket took no reply bytes for the write-stall timeout.
    WriteStall,
    /// It sent nothing for `timeout` seconds.
    Idle,
    /// Its request had been incomplete for `timeout` seconds (a slow sender).
    RequestTimeout,
}

impl LimitHit {
    /// What the log line says.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            LimitHit::QueryBuffer => "closing client that reached max query buffer length",
            LimitHit::OutputHard => "closing client for overcoming the output buffer hard limit",
            LimitHit::OutputSoft => {
                "closing client that stayed over the output buffer soft limit for its seconds"
            }
            LimitHit::WriteStall => "closing client that read no replies for the write-stall time",
            LimitHit::Idle => "closing client idle for timeout seconds",
            LimitHit::RequestTimeout => {
                "closing client whose request stayed incomplete for timeout seconds"
            }
        }
    }
}

/// Whether a client holding `held` bytes of an incomplete request passes
/// `client-query-buffer-limit` (`limit` bytes). At the limit it is kept.
pub(crate) fn query_buffer_over(held: usize, limit: u64) -> bool {
    u64::try_from(held).unwrap_or(u64::MAX) > limit
}

/// When a client waiting for request bytes is closed under `timeout` (`timeout_secs`; 0 =
/// never): `timeout` after it was last served (`now`, Redis's idle rule), or `timeout` after
/// the first byte of its incomplete request arrived (`partial_since`), whichever is earlier.
/// The second rule is Lode's: under Redis's rule alone a client sending one byte a second
/// holds its connection and its partial request forever.
pub(crate) fn read_deadline(
    timeout_secs: u64,
    now: Instant,
    partial_since: Option<Instant>,
) -> Option<Instant> {
    if timeout_secs == 0 {
        return None;
    }
    let from = partial_since.map_or(now, |began| began.min(now));
    from.checked_add(Duration::from_secs(timeout_secs))
}

/// One client class's `client-output-buffer-limit`: `<hard> <soft> <soft-seconds>`, bytes of
/// replies waiting to be written to the client's socket. 0 turns a limit off, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimit {
    /// Past this many pending bytes the client is closed at once.
    pub hard_bytes: u64,
    /// Over this many pending bytes for longer than `soft_secs`, the client is closed.
    pub soft_bytes: u64,
    /// How long pending bytes may stay over `soft_bytes` (0: not at all).
    pub soft_secs: u64,
}

impl OutputBufferLimit {
    /// Unlimited (Redis's default for normal clients).
    pub const NONE: OutputBufferLimit =
        OutputBufferLimit { hard_bytes: 0, soft_bytes: 0, soft_secs: 0 };

    /// Whether `pending` bytes pass the hard limit.
    pub(crate) fn over_hard(&self, pending: usize) -> bool {
        self.hard_bytes != 0 && u64::try_from(pending).unwrap_or(u64::MAX) > self.hard_bytes
    }

    /// Checks `pending` reply bytes at `now`. `over_soft_since` is when they went over the soft
    /// limit without dropping back under it since (kept up to date here). Returns when the
    /// soft limit will close the client if the bytes stay over it, or the limit that closes it
    /// now.
    pub(crate) fn check(
        &self,
        pending: usize,
        over_soft_since: &mut Option<Instant>,
        now: Instant,
    ) -> Result<Option<Instant>, LimitHit> {
        if self.over_hard(pending) {
            return Err(LimitHit::OutputHard);
        }
        if self.soft_bytes == 0 || u64::try_from(pending).unwrap_or(u64::MAX) <= self.soft_bytes {
            *over_soft_since = None;
            return Ok(None);
        }
        let since = *over_soft_since.get_or_insert(now);
        let deadline = since.checked_add(Duration::from_secs(self.soft_secs));
        match deadline {
            Some(d) if d > now => Ok(Some(d)),
            Some(_) => Err(LimitHit::OutputSoft),
            None => Ok(None),
        }
    }
}

/// Redis's `client-output-buffer-limit`: a limit per client class. Lode's clients are all
/// normal ones; the replica and pubsub classes are kept so CONFIG GET and SET round-trip them
/// as Redis does, and act on nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimits {
    /// Every Lode client.
    pub normal: OutputBufferLimit,
    /// Redis's `replica` (`slave`) class: accepted, not used.
    pub replica: OutputBufferLimit,
    /// Redis's `pubsub` class: accepted, not used.
    pub pubsub: OutputBufferLimit,
}

impl OutputBufferLimits {
    /// Lode's defaults: normal `1gb 256mb 60` (see limits.rs for why not Redis's `0 0 0`);
    /// replica and pubsub as in Redis.
    pub const DEFAULT: OutputBufferLimits = OutputBufferLimits {
        normal: crate::limits::OUTPUT_BUFFER_LIMIT_DEFAULT,
        replica: OutputBufferLimit { hard_bytes: 256 << 20, soft_bytes: 64 << 20, soft_secs: 60 },
        pubsub: OutputBufferLimit { hard_bytes: 32 << 20, soft_bytes: 8 << 20, soft_secs: 60 },
    };

    /// Applies Redis's syntax, `<class> <hard> <soft> <soft-seconds>` repeated (classes
    /// `normal`, `replica` or `slave`, `pubsub`; sizes like `64mb`), to the classes it names.
    /// All or nothing: on an error nothing changes.
    ///
    /// # Errors
    /// Redis's reason, for `CONFIG SET ... failed - <reason>`.
    pub fn apply(&mut self, text: &str) -> Result<(), &'static str> {
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.");
        }
        let mut next = *self;
        for group in words.chunks_exact(4) {
            let slot = match group[0].to_ascii_lowercase().as_str() {
                "normal" => &mut next.normal,
                "replica" | "slave" => &mut next.replica,
                "pubsub" => &mut next.pubsub,
                _ => return Err("Invalid client class specified in buffer limit configuration."),
            };
            let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            let hard_bytes = crate::config::parse_bytes(group[1]).map_err(|_| bad)?;
            let soft_bytes = crate::config::parse_bytes(group[2]).map_err(|_| bad)?;
            let soft_secs = group[3].parse::<u64>().map_err(|_| bad)?;
            *slot = OutputBufferLimit { hard_bytes, soft_bytes, soft_secs };
        }
        *self = next;
        Ok(())
    }
}

impl Default for OutputBufferLimits {
    fn default() -> OutputBufferLimits {
        OutputBufferLimits::DEFAULT
    }
}

/// CONFIG GET's form: plain bytes, Redis's class names.
impl fmt::Display for OutputBufferLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let classes = [("normal", self.normal), ("slave", self.replica), ("pubsub", self.pubsub)];
        for (i, (name, l)) in classes.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{name} {} {} {}", l.hard_bytes, l.soft_bytes, l.soft_secs)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_buffer_at_the_limit_is_kept_and_one_past_closes() {
        assert!(!query_buffer_over(1 << 20, 1 << 20));
        assert!(query_buffer_over((1 << 20) + 1, 1 << 20));
    }

    #[test]
    fn read_deadline_is_the_earlier_of_idle_and_request_age() {
        let now = Instant::now();
        assert_eq!(read_deadline(0, now, Some(now)), None, "timeout 0 never closes");
        let t = Duration::from_secs(5);
        assert_eq!(read_deadline(5, now, None), Some(now + t));
        let began = now.checked_sub(Duration::from_secs(3)).expect("3 s ago");
        assert_eq!(read_deadline(5, now, Some(began)), Some(began + t), "a slow request");
    }

    #[test]
    fn output_hard_limit_at_the_limit_is_kept_and_one_past_closes() {
        let limit = OutputBufferLimit { hard_bytes: 100, soft_bytes: 0, soft_secs: 0 };
        let now = Instant::now();
        let mut since = None;
        assert_eq!(limit.check(100, &mut since, now), Ok(None));
        assert_eq!(limit.check(101, &mut since, now), Err(LimitHit::OutputHard));
        assert_eq!(OutputBufferLimit::NONE.check(usize::MAX, &mut since, now), Ok(None));
    }

    #[test]
    fn output_soft_limit_closes_only_after_its_seconds_over_it() {
        let limit = OutputBufferLimit { hard_bytes: 0, soft_bytes: 100, soft_secs: 2 };
        let t0 = Instant::now();
        let mut since = None;
        assert_eq!(limit.check(100, &mut since, t0), Ok(None), "at the limit");
        assert_eq!(since, None);
        let deadline = t0 + Duration::from_secs(2);
        assert_eq!(limit.check(101, &mut since, t0), Ok(Some(deadline)), "one past: timed");
        let almost = deadline.checked_sub(Duration::from_millis(1)).expect("instant");
        assert_eq!(limit.check(500, &mut since, almost), Ok(Some(deadline)));
        assert_eq!(limit.check(101, &mut since, deadline), Err(LimitHit::OutputSoft));
        // Dropping back under the soft limit restarts the clock.
        let mut since = Some(t0);
        assert_eq!(limit.check(50, &mut since, almost), Ok(None));
        assert_eq!(since, None);
        assert_eq!(
            limit.check(101, &mut since, deadline),
            Ok(Some(deadline + Duration::from_secs(2)))
        );
        // 0 seconds: over the soft limit at all closes at once.
        let strict = OutputBufferLimit { soft_secs: 0, ..limit };
        assert_eq!(strict.check(100, &mut None, t0), Ok(None));
        assert_eq!(strict.check(101, &mut None, t0), Err(LimitHit::OutputSoft));
    }

    #[test]
    fn output_buffer_limits_parse_and_print_as_redis_does() {
        let mut limits = OutputBufferLimits::DEFAULT;
        assert_eq!(
            limits.to_string(),
            "normal 1073741824 268435456 60 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        limits.apply("normal 4mb 1mb 10 replica 0 0 0").expect("valid");
        assert_eq!(
            limits.normal,
            OutputBufferLimit { hard_bytes: 4 << 20, soft_bytes: 1 << 20, soft_secs: 10 }
        );
        assert_eq!(limits.replica, OutputBufferLimit::NONE);
        assert_eq!(limits.pubsub, OutputBufferLimits::DEFAULT.pubsub);
        let before = limits;
        for (bad, reason) in [
            ("normal 1 2", "Wrong number"),
            ("", "Wrong number"),
            ("master 0 0 0", "Invalid client class"),
            ("normal 1 2 3 bogus 0 0 0", "Invalid client class"),
            ("normal 1x 0 0", "Error in hard"),
            ("normal 0 0 -1", "Error in hard"),
        ] {
            let err = limits.apply(bad).expect_err(bad);
            assert!(err.starts_with(reason), "{bad:?}: {err}");
            assert_eq!(limits, before, "{bad:?} changed nothing");
        }
    }
}
