//! `lode serve`: the Redis-protocol server over the Lode engine.
//!
//! Path of a request: [`conn`] (socket, bounded query buffer, lode-resp decoder) ->
//! [`command`] (table, checks, bursts) -> `commands/*` (one file per family) -> [`tx`] (the
//! burst's view: overlay + one engine batch) -> [`keyspace`] (the encoding of
//! docs/format/keys.md) -> the engine. Around it: [`server`] (listener, shutdown, background
//! tasks), [`expire`] (active expiry), [`info`], [`slowlog`], [`metrics`] and [`metrics_http`]
//! (Prometheus), [`command_info`] (COMMAND's replies), [`clients`], `blocked` (clients in BLPOP and the like), [`config`], [`limits`],
//! [`client_limits`] (what closes an abusive client), and
//! [`errors`] (every Redis error text, in one place).
//!
//! ```no_run
//! # async fn demo() -> Result<(), lode_server::Error> {
//! let config = lode_server::Config { port: 0, ..lode_server::Config::default() };
//! let server = lode_server::start(config).await?;
//! println!("listening on {}", server.local_addr());
//! server.shutdown();
//! server.wait().await
//! # }
//! ```
#![forbid(unsafe_code)]

mod blocked;
mod client_limits;
mod clients;
mod command;
mod command_info;
mod commands;
mod config;
mod conn;
mod errors;
mod expire;
mod glob;
mod info;
mod keyspace;
pub mod limits;
mod long_double;
mod metrics;
mod metrics_http;
mod server;
mod session;
mod slowlog;
mod tx;

pub use client_limits::{OutputBufferLimit, OutputBufferLimits};
pub use config::{
    Appendfsync, CLIENTS_MAX_DEFAULT, Config, SLOWLOG_LOG_SLOWER_THAN_DEFAULT_US,
    SLOWLOG_MAX_LEN_DEFAULT, check_slowlog_log_slower_than, check_slowlog_max_len, parse_bytes,
    parse_yes_no,
};
pub use keyspace::{
    ELEMENT_KEY_BYTES_MAX, RECLAIM_MIN_ELEMENTS, STRING_BYTES_MAX, USER_KEY_BYTES_MAX,
};
pub use server::{Error, REDIS_VERSION, ServerHandle, run, start};
