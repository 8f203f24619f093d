//! Named limits on everything a client can make the decoder hold.
//!
//! Role: the request decoder checks every declared count and length against a [`RequestLimits`]
//! before it acts on it, so a hostile `*99999999999` or `$2000000000` is an error, never an
//! allocation. The constants are Redis's numbers and are also ceilings: a `RequestLimits` can
//! tighten them (for example before `AUTH`) but never raise them.

/// Largest bulk string payload in a request: 512 MiB, Redis's `proto-max-bulk-len` default.
pub const BULK_BYTES_MAX: usize = 512 * 1024 * 1024;

/// Most arguments in one multibulk request: 1,048,576.
///
/// Redis itself accepts up to `INT_MAX`; Lode caps the count and in any case grows the argument
/// list as arguments arrive, starting from at most [`ARGS_CAPACITY_INITIAL_MAX`] slots.
pub const MULTIBULK_ARGS_MAX: usize = 1024 * 1024;

/// Longest inline command line, in bytes before its `\n`: 64 KiB (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_BYTES_MAX: usize = 64 * 1024;

/// Longest `*<count>` or `$<length>` line, in bytes before its `\r`: 64 KiB, as in Redis.
pub const COUNT_LINE_BYTES_MAX: usize = 64 * 1024;

/// Most argument slots allocated up front for a multibulk, whatever count it declares.
pub const ARGS_CAPACITY_INITIAL_MAX: usize = 1024;

/// Deepest nesting of aggregate replies (arrays in arrays...) the reply decoder accepts.
pub const REPLY_NESTING_MAX: usize = 128;

/// Arguments allowed before `AUTH` when a password is set: 10, as in Redis (CVE-2021-32675).
pub const PRE_AUTH_ARGS_MAX: usize = 10;

/// Bulk payload bytes allowed before `AUTH` when a password is set: 16 KiB, as in Redis.
pub const PRE_AUTH_BULK_BYTES_MAX: usize = 16 * 1024;

/// Per-decoder limits on requests; see the module docs. Values above the crate's constants are
/// clamped to them by the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Most arguments in one multibulk; beyond it: `invalid multibulk length`.
    pub args_max: usize,
    /// Largest bulk payload; beyond it: `invalid bulk length`.
    pub bulk_bytes_max: usize,
    /// Longest inline line; beyond it: `too big inline request`.
    pub inline_bytes_max: usize,
    /// Stricter limits while the connection is not authenticated, reported with Redis's
    /// `unauthenticated ...` errors. `None` once authenticated or when no password is set.
    pub pre_auth: Option<PreAuthLimits>,
}

/// The stricter limits a server applies before a client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreAuthLimits {
    /// Most arguments; beyond it: `unauthenticated multibulk length`.
    pub args_max: usize,
    /// Largest bulk payload; beyond it: `unauthenticated bulk length`.
    pub bulk_bytes_max: usize,
}

impl PreAuthLimits {
    /// Redis's numbers: 10 arguments of at most 16 KiB.
    pub const REDIS: PreAuthLimits =
        PreAuthLimits { args_max: PRE_AUTH_ARGS_MAX, bulk_bytes_max: PRE_AUTH_BULK_BYTES_MAX };
}

impl RequestLimits {
    /// Redis's defaults for an authenticated connection.
    pub const REDIS: RequestLimits = RequestLimits {
        args_max: MULTIBULK_ARGS_MAX,
        bulk_bytes_max: BULK_BYTES_MAX,
        inline_bytes_max: INLINE_BYTES_MAX,
        pre_auth: None,
    };

    /// These limits with `pre_auth` applied until the client authenticates.
    #[must_use]
    pub fn with_pre_auth(self, pre_auth: PreAuthLimits) -> RequestLimits {
        RequestLimits { pre_auth: Some(pre_auth), ..self }
    }

    /// These limits with every field clamped to the crate's ceilings.
    #[must_use]
    pub fn clamped(self) -> RequestLimits {
        RequestLimits {
            args_max: self.args_max.min(MULTIBULK_ARGS_MAX),
            bulk_bytes_max: self.bulk_bytes_max.min(BULK_BYTES_MAX),
            inline_bytes_max: self.inline_bytes_max.min(INLINE_BYTES_MAX),
            pre_auth: self.pre_auth,
        }
    }
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits::REDIS
    }
}
