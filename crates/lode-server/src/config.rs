//! [`Config`]: how `lode serve` is started, named after Redis's directives; and [`LiveConfig`],
//! the part `CONFIG SET` can change while it runs.
//!
//! Pure: parsing sizes (`64mb`, `1gb`, plain bytes) and Redis's yes/no and `appendfsync`
//! words are functions of strings; the binary (crates/lode-cli) reads flags and the TOML file.

use crate::client_limits::{OutputBufferLimit, OutputBufferLimits};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Default most clients connected at once (Redis's `maxclients`).
pub const CLIENTS_MAX_DEFAULT: u64 = 10_000;

/// Default `slowlog-log-slower-than`: 10 ms, as Redis.
pub const SLOWLOG_LOG_SLOWER_THAN_DEFAULT_US: i64 = 10_000;
/// Default `slowlog-max-len`, as Redis.
pub const SLOWLOG_MAX_LEN_DEFAULT: u64 = 128;

/// Checks `slowlog-log-slower-than`: -1 (log nothing) or more, as Redis accepts.
///
/// # Errors
/// Below -1, with Redis's CONFIG SET text.
pub fn check_slowlog_log_slower_than(us: i64) -> Result<i64, String> {
    if us < -1 {
        return Err(format!("argument must be between -1 and {} inclusive", i64::MAX));
    }
    Ok(us)
}

/// Checks `slowlog-max-len`: 0 to `i64::MAX`, as Redis accepts.
///
/// # Errors
/// Outside that range, with Redis's CONFIG SET text.
pub fn check_slowlog_max_len(n: i64) -> Result<u64, String> {
    u64::try_from(n).map_err(|_| format!("argument must be between 0 and {} inclusive", i64::MAX))
}

/// When an acknowledged write reaches the disk (Redis's `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Appendfsync {
    /// fsync before the reply; concurrent clients share fsyncs.
    Always,
    /// Written before the reply; a background sync every second.
    #[default]
    Everysec,
    /// Written before the reply; the OS decides when it reaches the disk.
    No,
}

impl Appendfsync {
    /// Redis's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Appendfsync::Always => "always",
            Appendfsync::Everysec => "everysec",
            Appendfsync::No => "no",
        }
    }

    /// Parses Redis's words (case-insensitive).
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(text: &str) -> Result<Appendfsync, String> {
        match text.to_ascii_lowercase().as_str() {
            "always" => Ok(Appendfsync::Always),
            "everysec" => Ok(Appendfsync::Everysec),
            "no" => Ok(Appendfsync::No),
            _ => Err(format!("appendfsync must be always, everysec or no, not {text:?}")),
        }
    }

    fn from_u8(v: u8) -> Appendfsync {
        match v {
            0 => Appendfsync::Always,
            2 => Appendfsync::No,
            _ => Appendfsync::Everysec,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Appendfsync::Always => 0,
            Appendfsync::Everysec => 1,
            Appendfsync::No => 2,
        }
    }
}

/// Everything `lode serve` is started with.
#[derive(Debug, Clone)]
pub struct Config {
    /// TCP port; 0 picks a free one (tests).
    pub port: u16,
    /// Address to listen on.
    pub bind: String,
    /// Data directory.
    pub dir: PathBuf,
    /// When writes are fsynced.
    pub appendfsync: Appendfsync,
    /// The default user's password; `None` = no AUTH needed.
    pub requirepass: Option<String>,
    /// Most clients connected at once.
    pub maxclients: u64,
    /// Close clients idle this many seconds; 0 = never.
    pub timeout_secs: u64,
    /// Engine block cache bytes.
    pub cache_bytes: usize,
    /// Engine memtable bytes.
    pub memtable_bytes: usize,
    /// Refuse non-loopback clients while no password is set.
    pub protected_mode: bool,
    /// Drop a client whose socket accepts no reply bytes for this long (a stalled reader;
    /// [`crate::limits::WRITE_STALL_TIMEOUT`] by default).
    pub write_stall_timeout: Duration,
    /// `client-query-buffer-limit`: most bytes of an incomplete request a client may have
    /// sent ([`crate::limits::QUERY_BUFFER_LIMIT_DEFAULT`] by default).
    pub client_query_buffer_limit: u64,
    /// `client-output-buffer-limit`: most reply bytes a client may have waiting
    /// ([`OutputBufferLimits::DEFAULT`]).
    pub client_output_buffer_limit: OutputBufferLimits,
    /// How often the active expiry cycle runs.
    pub active_expiry_interval: Duration,
    /// The TOML file the configuration came from, for INFO's `config_file`.
    pub config_file: Option<PathBuf>,
    /// SLOWLOG logs commands that ran at least this many microseconds; -1 logs none, 0 every
    /// command (Redis's `slowlog-log-slower-than`).
    pub slowlog_log_slower_than_us: i64,
    /// Most SLOWLOG entries kept (Redis's `slowlog-max-len`).
    pub slowlog_max_len: u64,
    /// Port of the Prometheus endpoint (`/metrics` on the `bind` address): `None` = no
    /// endpoint (the default), `Some(0)` = a free port (tests; the log line names it).
    pub metrics_port: Option<u16>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            port: 6379,
            bind: "127.0.0.1".to_string(),
            dir: PathBuf::from("./lode-data"),
            appendfsync: Appendfsync::Everysec,
            requirepass: None,
            maxclients: CLIENTS_MAX_DEFAULT,
            timeout_secs: 0,
            cache_bytes: 256 << 20,
            memtable_bytes: 64 << 20,
            protected_mode: true,
            write_stall_timeout: crate::limits::WRITE_STALL_TIMEOUT,
            client_query_buffer_limit: crate::limits::QUERY_BUFFER_LIMIT_DEFAULT,
            client_output_buffer_limit: OutputBufferLimits::DEFAULT,
            active_expiry_interval: Duration::from_millis(100),
            config_file: None,
            slowlog_log_slower_than_us: SLOWLOG_LOG_SLOWER_THAN_DEFAULT_US,
            slowlog_max_len: SLOWLOG_MAX_LEN_DEFAULT,
            metrics_port: None,
        }
    }
}

/// Parses a size as Redis does: plain bytes, or a number with `k`/`kb`/`m`/`mb`/`g`/`gb`
/// (case-insensitive; `k` = 1000, `kb` = 1024, as in redis.conf).
///
/// # Errors
/// Not a number, an unknown unit, or an overflow.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size like 64mb or 1gb"))?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1 << 30,
        _ => return Err(format!("{text:?} has an unknown unit (use b, kb, mb or gb)")),
    };
    n.checked_mul(mul).ok_or_else(|| format!("{text:?} is too large"))
}

/// Redis's `yes`/`no`.
///
/// # Errors
/// Anything else.
pub fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("argument must be 'yes' or 'no', not {text:?}")),
    }
}

/// The settings `CONFIG SET` changes at run time, shared by every connection.
#[derive(Debug)]
pub(crate) struct LiveConfig {
    requirepass: Mutex<Option<String>>,
    maxclients: AtomicU64,
    timeout_secs: AtomicU64,
    appendfsync: AtomicU8,
    protected_mode: AtomicBool,
    query_buffer_limit: AtomicU64,
    /// The normal class of `output_limits`, read by every burst without a lock.
    output_normal: [AtomicU64; 3],
    output_limits: Mutex<OutputBufferLimits>,
    slowlog_log_slower_than_us: AtomicI64,
    slowlog_max_len: AtomicU64,
    /// Redis tuning names Lode accepts and echoes but does not act on.
    other: Mutex<BTreeMap<String, String>>,
}

impl LiveConfig {
    pub(crate) fn new(config: &Config) -> LiveConfig {
        let other = INERT_DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LiveConfig {
            requirepass: Mutex::new(config.requirepass.clone().filter(|p| !p.is_empty())),
            maxclients: AtomicU64::new(config.maxclients),
            timeout_secs: AtomicU64::new(config.timeout_secs),
            appendfsync: AtomicU8::new(config.appendfsync.to_u8()),
            protected_mode: AtomicBool::new(config.protected_mode),
            query_buffer_limit: AtomicU64::new(config.client_query_buffer_limit),
            output_normal: {
                let n = config.client_output_buffer_limit.normal;
                [n.hard_bytes, n.soft_bytes, n.soft_secs].map(AtomicU64::new)
            },
            output_limits: Mutex::new(config.client_output_buffer_limit),
            slowlog_log_slower_than_us: AtomicI64::new(config.slowlog_log_slower_than_us),
            slowlog_max_len: AtomicU64::new(config.slowlog_max_len),
            other: Mutex::new(other),
        }
    }

    fn pass(&self) -> MutexGuard<'_, Option<String>> {
        self.requirepass.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn requirepass(&self) -> Option<String> {
        self.pass().clone()
    }
    pub(crate) fn set_requirepass(&self, pass: Option<String>) {
        *self.pass() = pass.filter(|p| !p.is_empty());
    }
    pub(crate) fn maxclients(&self) -> u64 {
        self.maxclients.load(Ordering::Relaxed)
    }
    pub(crate) fn set_maxclients(&self, n: u64) {
        self.maxclients.store(n, Ordering::Relaxed);
    }
    pub(crate) fn timeout_secs(&self) -> u64 {
        self.timeout_secs.load(Ordering::Relaxed)
    }
    pub(crate) fn set_timeout_secs(&self, n: u64) {
        self.timeout_secs.store(n, Ordering::Relaxed);
    }
    pub(crate) fn appendfsync(&self) -> Appendfsync {
        Appendfsync::from_u8(self.appendfsync.load(Ordering::Relaxed))
    }
    pub(crate) fn set_appendfsync(&self, a: Appendfsync) {
        self.appendfsync.store(a.to_u8(), Ordering::Relaxed);
    }
    pub(crate) fn protected_mode(&self) -> bool {
        self.protected_mode.load(Ordering::Relaxed)
    }
    pub(crate) fn set_protected_mode(&self, yes: bool) {
        self.protected_mode.store(yes, Ordering::Relaxed);
    }
    pub(crate) fn client_query_buffer_limit(&self) -> u64 {
        self.query_buffer_limit.load(Ordering::Relaxed)
    }
    pub(crate) fn set_client_query_buffer_limit(&self, bytes: u64) {
        self.query_buffer_limit.store(bytes, Ordering::Relaxed);
    }
    /// The normal clients' output-buffer limit (every Lode client's).
    pub(crate) fn output_limit(&self) -> OutputBufferLimit {
        let [hard_bytes, soft_bytes, soft_secs] =
            self.output_normal.each_ref().map(|a| a.load(Ordering::Relaxed));
        OutputBufferLimit { hard_bytes, soft_bytes, soft_secs }
    }
    pub(crate) fn output_limits(&self) -> OutputBufferLimits {
        *self.output_limits.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Applies CONFIG SET's `client-output-buffer-limit` text.
    ///
    /// # Errors
    /// Redis's reason; nothing changes.
    pub(crate) fn apply_output_limits(&self, text: &str) -> Result<(), &'static str> {
        let mut limits = self.output_limits.lock().unwrap_or_else(|e| e.into_inner());
        limits.apply(text)?;
        let n = limits.normal;
        for (slot, v) in self.output_normal.iter().zip([n.hard_bytes, n.soft_bytes, n.soft_secs]) {
            slot.store(v, Ordering::Relaxed);
        }
        Ok(())
    }
    pub(crate) fn slowlog_log_slower_than_us(&self) -> i64 {
        self.slowlog_log_slower_than_us.load(Ordering::Relaxed)
    }
    pub(crate) fn set_slowlog_log_slower_than_us(&self, us: i64) {
        self.slowlog_log_slower_than_us.store(us, Ordering::Relaxed);
    }
    pub(crate) fn slowlog_max_len(&self) -> u64 {
        self.slowlog_max_len.load(Ordering::Relaxed)
    }
    pub(crate) fn set_slowlog_max_len(&self, n: u64) {
        self.slowlog_max_len.store(n, Ordering::Relaxed);
    }
    pub(crate) fn other(&self) -> MutexGuard<'_, BTreeMap<String, String>> {
        self.other.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Redis directives Lode accepts in `CONFIG SET` and reports in `CONFIG GET` without acting on
/// them (tools set them; their meaning does not apply to an LSM on disk), with Redis's defaults.
pub(crate) const INERT_DEFAULTS: &[(&str, &str)] = &[
    ("save", ""),
    ("appendonly", "yes"),
    ("databases", "16"),
    ("maxmemory", "0"),
    ("maxmemory-policy", "noeviction"),
    ("maxmemory-samples", "5"),
    ("hz", "10"),
    ("lazyfree-lazy-eviction", "no"),
    ("lazyfree-lazy-expire", "no"),
    ("lazyfree-lazy-server-del", "no"),
    ("lazyfree-lazy-user-del", "no"),
    ("lazyfree-lazy-user-flush", "no"),
    ("tcp-keepalive", "300"),
    ("tcp-backlog", "511"),
    ("loglevel", "notice"),
    ("latency-tracking", "yes"),
    ("notify-keyspace-events", ""),
    ("activerehashing", "yes"),
    ("activedefrag", "no"),
    ("stop-writes-on-bgsave-error", "yes"),
    ("rdbcompression", "yes"),
    ("rdbchecksum", "yes"),
    ("dbfilename", "dump.rdb"),
    ("appendfilename", "appendonly.aof"),
    ("no-appendfsync-on-rewrite", "no"),
    ("auto-aof-rewrite-percentage", "100"),
    ("auto-aof-rewrite-min-size", "67108864"),
    ("proto-max-bulk-len", "536870912"),
    ("hash-max-listpack-entries", "128"),
    ("hash-max-listpack-value", "64"),
    ("list-max-listpack-size", "-2"),
    ("set-max-intset-entries", "512"),
    ("zset-max-listpack-entries", "128"),
    ("zset-max-listpack-value", "64"),
    ("lua-time-limit", "5000"),
    ("busy-reply-threshold", "5000"),
    ("cluster-enabled", "no"),
    ("replica-read-only", "yes"),
    ("min-replicas-to-write", "0"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_bytes_accepts_redis_units() {
        assert_eq!(parse_bytes("123"), Ok(123));
        assert_eq!(parse_bytes("64mb"), Ok(64 << 20));
        assert_eq!(parse_bytes("1GB"), Ok(1 << 30));
        assert_eq!(parse_bytes("2k"), Ok(2000));
        assert_eq!(parse_bytes("2kb"), Ok(2048));
        assert!(parse_bytes("mb").is_err());
        assert!(parse_bytes("12xb").is_err());
        assert!(parse_bytes("-1").is_err());
        assert!(parse_bytes("99999999999999999999gb").is_err());
        assert!(parse_bytes("18446744073709551615gb").is_err());
    }

    #[test]
    fn appendfsync_words() {
        assert_eq!(Appendfsync::parse("ALWAYS"), Ok(Appendfsync::Always));
        assert!(Appendfsync::parse("sometimes").is_err());
        for a in [Appendfsync::Always, Appendfsync::Everysec, Appendfsync::No] {
            assert_eq!(Appendfsync::from_u8(a.to_u8()), a);
        }
    }
}
