//! `lode`: the command-line front end. `lode serve` runs the Redis-protocol server
//! (crates/lode-server) with flags and an optional TOML file named after Redis's directives;
//! `lode check` and `lode dump` are the operator tools (tools.rs).

mod tools;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use lode_server::limits::QUERY_BUFFER_LIMIT_MIN;
use lode_server::{
    Appendfsync, Config, check_slowlog_log_slower_than, check_slowlog_max_len, parse_bytes,
    parse_yes_no,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Lode: a persistent key-value store with a Redis-compatible server.
#[derive(Debug, Parser)]
#[command(name = "lode", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Redis-protocol server (RESP2/RESP3) on a data directory.
    ///
    /// Flags override the TOML file, which overrides the defaults. Logs go to stderr (at the
    /// default level, one line per flush and compaction); set RUST_LOG (e.g. `RUST_LOG=debug`)
    /// for more. SIGINT, SIGTERM and the SHUTDOWN command stop it cleanly: no new
    /// connections, current replies finished, data synced.
    Serve(Box<ServeArgs>),
    /// Verify every checksum of every file of a stopped server's data directory or a checkpoint.
    ///
    /// Reads CURRENT, every MANIFEST record (and replays them), every live SST (footer, index,
    /// filter, every data block, and its key range and entry count against the MANIFEST) and
    /// every WAL record recovery would replay. Prints one line per problem (file, offset, what
    /// is wrong), warnings for files nobody names, notes for what recovery handles (a torn
    /// tail of the newest WAL), then a summary. Never changes the directory. Refuses a
    /// directory a running server holds: check a checkpoint of it instead. A progress bar
    /// shows on stderr when it is a terminal.
    ///
    /// Exit status: 0 no corruption, 1 corruption found, 2 could not check (no such
    /// directory, not a Lode directory, in use).
    Check(tools::CheckArgs),
    /// Print the records of one WAL, SST or MANIFEST file for a human.
    ///
    /// WAL: each batch's offset and seqnos, then its puts and deletes. SST: footer, index and
    /// filter, then every entry of every data block (key, seqno, kind, value). MANIFEST: every
    /// version edit (files added and removed per level with sizes and key ranges, log number,
    /// next file number, last seqno). Keys and values are escaped as redis-cli prints them.
    /// A damaged record is an `error at OFFSET` line, and the dump goes on where the format
    /// says where the next record starts. A progress bar shows on stderr when it is a
    /// terminal and stdout is not.
    ///
    /// Exit status: 0 all verified, 1 something was damaged, 2 the file could not be opened.
    Dump(tools::DumpArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// TOML file with any of the settings below (same names, e.g. `port = 6380`,
    /// `appendfsync = "always"`, `cache-size = "1gb"`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// TCP port to listen on (0 picks a free port) [default: 6379].
    #[arg(long)]
    port: Option<u16>,
    /// IP address to listen on [default: 127.0.0.1].
    #[arg(long)]
    bind: Option<String>,
    /// Data directory, created if missing [default: ./lode-data].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// When writes reach the disk: `always` (fsync before each reply, shared by concurrent
    /// clients), `everysec` (a background fsync every second), or `no` (left to the OS)
    /// [default: everysec].
    #[arg(long, value_name = "always|everysec|no")]
    appendfsync: Option<String>,
    /// Password clients must send with AUTH (or HELLO ... AUTH default <password>).
    #[arg(long, value_name = "PASSWORD")]
    requirepass: Option<String>,
    /// Most clients connected at once [default: 10000].
    #[arg(long, value_name = "N")]
    maxclients: Option<u64>,
    /// Close a client idle this many seconds, or whose request is still incomplete this many
    /// seconds after its first byte (a slow sender); 0 = never [default: 0].
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Close a client that has sent more than this of a request not yet complete, e.g.
    /// `64mb`; at least 1mb [default: 1gb].
    #[arg(long, value_name = "SIZE")]
    client_query_buffer_limit: Option<String>,
    /// Close a client whose replies waiting to be written pass HARD, or stay over SOFT for
    /// SECONDS; 0 turns a limit off. Redis's syntax; only the normal class applies to Lode
    /// (replica and pubsub are accepted) [default: "normal 1gb 256mb 60"].
    #[arg(long, value_name = "normal HARD SOFT SECONDS")]
    client_output_buffer_limit: Option<String>,
    /// Engine block cache, e.g. `256mb`, `1gb` or plain bytes [default: 256mb].
    #[arg(long, value_name = "SIZE")]
    cache_size: Option<String>,
    /// Engine memtable size, e.g. `64mb` [default: 64mb].
    #[arg(long, value_name = "SIZE")]
    memtable_size: Option<String>,
    /// Refuse clients from other hosts while no password is set: yes or no [default: yes].
    #[arg(long, value_name = "yes|no")]
    protected_mode: Option<String>,
    /// SLOWLOG logs commands that run at least this long; -1 logs none, 0 logs every
    /// command [default: 10000].
    #[arg(long, value_name = "MICROSECONDS", allow_negative_numbers = true)]
    slowlog_log_slower_than: Option<i64>,
    /// Most SLOWLOG entries kept [default: 128].
    #[arg(long, value_name = "N")]
    slowlog_max_len: Option<u64>,
    /// Serve Prometheus metrics at http://<bind>:<PORT>/metrics (0 picks a free port, named in
    /// the log) [default: off].
    #[arg(long, value_name = "PORT")]
    metrics_port: Option<u16>,
}

/// A size in the TOML file: `"64mb"` or a plain number of bytes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

/// A yes/no in the TOML file: `"yes"` or a boolean.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum YesNo {
    Bool(bool),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    port: Option<u16>,
    bind: Option<String>,
    dir: Option<PathBuf>,
    appendfsync: Option<String>,
    requirepass: Option<String>,
    maxclients: Option<u64>,
    timeout: Option<u64>,
    client_query_buffer_limit: Option<Size>,
    client_output_buffer_limit: Option<String>,
    cache_size: Option<Size>,
    memtable_size: Option<Size>,
    protected_mode: Option<YesNo>,
    slowlog_log_slower_than: Option<i64>,
    slowlog_max_len: Option<u64>,
    metrics_port: Option<u16>,
}

fn size(flag: Option<&str>, file: Option<&Size>, name: &str) -> Result<Option<usize>> {
    let bytes = match (flag, file) {
        (Some(text), _) => parse_bytes(text).map_err(anyhow::Error::msg),
        (None, Some(Size::Text(text))) => parse_bytes(text).map_err(anyhow::Error::msg),
        (None, Some(Size::Bytes(n))) => Ok(*n),
        (None, None) => return Ok(None),
    }
    .with_context(|| format!("--{name}"))?;
    Ok(Some(usize::try_from(bytes).with_context(|| format!("--{name} is too large"))?))
}

fn load_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing the config file {}", path.display()))
}

/// Flags over the file over the defaults.
fn resolve(args: ServeArgs) -> Result<Config> {
    let file = match &args.config {
        Some(path) => load_file(path)?,
        None => FileConfig::default(),
    };
    let mut config = Config::default();
    if let Some(port) = args.port.or(file.port) {
        config.port = port;
    }
    if let Some(bind) = args.bind.or(file.bind) {
        config.bind = bind;
    }
    if let Some(dir) = args.dir.or(file.dir) {
        config.dir = dir;
    }
    if let Some(a) = args.appendfsync.or(file.appendfsync) {
        config.appendfsync = Appendfsync::parse(&a).map_err(anyhow::Error::msg)?;
    }
    config.requirepass = args.requirepass.or(file.requirepass).filter(|p| !p.is_empty());
    if let Some(n) = args.maxclients.or(file.maxclients) {
        if n == 0 {
            bail!("maxclients must be at least 1");
        }
        config.maxclients = n;
    }
    if let Some(t) = args.timeout.or(file.timeout) {
        config.timeout_secs = t;
    }
    if let Some(b) = size(
        args.client_query_buffer_limit.as_deref(),
        file.client_query_buffer_limit.as_ref(),
        "client-query-buffer-limit",
    )? {
        if (b as u64) < QUERY_BUFFER_LIMIT_MIN {
            bail!("client-query-buffer-limit must be at least 1mb (Redis's floor), not {b} bytes");
        }
        config.client_query_buffer_limit = b as u64;
    }
    if let Some(text) = args.client_output_buffer_limit.or(file.client_output_buffer_limit) {
        config.client_output_buffer_limit.apply(&text).map_err(anyhow::Error::msg).with_context(
            || format!("client-output-buffer-limit {text:?} (e.g. \"normal 1gb 256mb 60\")"),
        )?;
    }
    if let Some(b) = size(args.cache_size.as_deref(), file.cache_size.as_ref(), "cache-size")? {
        config.cache_bytes = b;
    }
    if let Some(b) =
        size(args.memtable_size.as_deref(), file.memtable_size.as_ref(), "memtable-size")?
    {
        config.memtable_bytes = b;
    }
    let protected = match (args.protected_mode, file.protected_mode) {
        (Some(text), _) | (None, Some(YesNo::Text(text))) => {
            Some(parse_yes_no(&text).map_err(anyhow::Error::msg).context("protected-mode")?)
        }
        (None, Some(YesNo::Bool(b))) => Some(b),
        (None, None) => None,
    };
    if let Some(p) = protected {
        config.protected_mode = p;
    }
    if let Some(us) = args.slowlog_log_slower_than.or(file.slowlog_log_slower_than) {
        config.slowlog_log_slower_than_us = check_slowlog_log_slower_than(us)
            .map_err(anyhow::Error::msg)
            .context("slowlog-log-slower-than (-1 logs nothing, 0 logs every command)")?;
    }
    if let Some(n) = args.slowlog_max_len.or(file.slowlog_max_len) {
        let signed = i64::try_from(n).unwrap_or(-1);
        config.slowlog_max_len =
            check_slowlog_max_len(signed).map_err(anyhow::Error::msg).context("slowlog-max-len")?;
    }
    config.metrics_port = args.metrics_port.or(file.metrics_port);
    config.config_file = args.config;
    Ok(config)
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = resolve(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lode-worker")
        .build()
        .context("starting the async runtime")?;
    let dir = config.dir.clone();
    let result = runtime
        .block_on(lode_server::run(config))
        .with_context(|| format!("lode serve on {}", dir.display()));
    result.map_err(with_hint)?;
    Ok(ExitCode::SUCCESS)
}

/// Adds what to do next to an error whose cause an operator can fix.
fn with_hint(error: anyhow::Error) -> anyhow::Error {
    let full = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::StorageFull)
            || cause.to_string().contains("No space left on device")
    });
    if full {
        error.context(
            "the disk is full: free space on the data directory's file system, then start \
             lode serve again (every acknowledged write is kept)",
        )
    } else {
        error
    }
}

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Check(args) => Ok(tools::check(args)),
        Command::Dump(args) => Ok(tools::dump(args)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["lode", "serve"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Serve(a) => *a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_override_file_and_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lode.toml");
        std::fs::write(
            &path,
            "port = 7000\nappendfsync = \"always\"\ncache-size = \"1gb\"\nmemtable-size = 4096\nprotected-mode = false\n",
        )
        .expect("write");
        let config = resolve(args(&["--config", path.to_str().expect("utf8"), "--port", "7001"]))
            .expect("config");
        assert_eq!(config.port, 7001);
        assert_eq!(config.appendfsync, Appendfsync::Always);
        assert_eq!(config.cache_bytes, 1 << 30);
        assert_eq!(config.memtable_bytes, 4096);
        assert!(!config.protected_mode);
        assert_eq!(config.bind, "127.0.0.1");
        assert_eq!(config.slowlog_log_slower_than_us, 10_000, "Redis's default");
        assert_eq!(config.slowlog_max_len, 128, "Redis's default");
        assert_eq!(config.metrics_port, None, "no metrics endpoint unless asked for");
    }

    #[test]
    fn metrics_port_from_flag_or_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lode.toml");
        std::fs::write(&path, "metrics-port = 9121\n").expect("write");
        let file = path.to_str().expect("utf8");
        assert_eq!(resolve(args(&["--config", file])).expect("config").metrics_port, Some(9121));
        let flag = resolve(args(&["--config", file, "--metrics-port", "0"])).expect("config");
        assert_eq!(flag.metrics_port, Some(0), "the flag wins; 0 picks a free port");
        assert!(Cli::try_parse_from(["lode", "serve", "--metrics-port", "65536"]).is_err());
    }

    #[test]
    fn slowlog_directives_from_flags_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lode.toml");
        std::fs::write(&path, "slowlog-log-slower-than = 0\nslowlog-max-len = 5\n").expect("write");
        let file = path.to_str().expect("utf8");
        let config = resolve(args(&["--config", file])).expect("config");
        assert_eq!((config.slowlog_log_slower_than_us, config.slowlog_max_len), (0, 5));
        let config =
            resolve(args(&["--config", file, "--slowlog-log-slower-than", "-1"])).expect("config");
        assert_eq!(config.slowlog_log_slower_than_us, -1, "-1 (off) is the lowest value");
        let err = resolve(args(&["--slowlog-log-slower-than", "-2"])).expect_err("below -1");
        assert!(format!("{err:#}").contains("between -1 and"), "{err:#}");
        let err = resolve(args(&["--slowlog-max-len", "9223372036854775808"])).expect_err("> i64");
        assert!(format!("{err:#}").contains("slowlog-max-len"), "{err:#}");
    }

    #[test]
    fn client_limits_from_flags_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lode.toml");
        std::fs::write(
            &path,
            "client-query-buffer-limit = \"2mb\"\nclient-output-buffer-limit = \"normal 8mb 2mb 5\"\n",
        )
        .expect("write");
        let config = resolve(args(&["--config", path.to_str().expect("utf8")])).expect("config");
        assert_eq!(config.client_query_buffer_limit, 2 << 20);
        assert_eq!(
            config.client_output_buffer_limit.normal,
            lode_server::OutputBufferLimit {
                hard_bytes: 8 << 20,
                soft_bytes: 2 << 20,
                soft_secs: 5
            }
        );
        let config = resolve(args(&[
            "--client-query-buffer-limit",
            "1mb",
            "--client-output-buffer-limit",
            "normal 0 0 0",
        ]))
        .expect("config");
        assert_eq!(config.client_query_buffer_limit, 1 << 20);
        assert_eq!(config.client_output_buffer_limit.normal, lode_server::OutputBufferLimit::NONE);
        let floor = resolve(args(&["--client-query-buffer-limit", "1048575"]));
        assert!(format!("{:#}", floor.expect_err("under 1mb")).contains("at least 1mb"));
        let bad = resolve(args(&["--client-output-buffer-limit", "normal 1mb"]));
        assert!(format!("{:#}", bad.expect_err("3 words")).contains("Wrong number of arguments"));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(resolve(args(&["--appendfsync", "sometimes"])).is_err());
        assert!(resolve(args(&["--cache-size", "12q"])).is_err());
        assert!(resolve(args(&["--maxclients", "0"])).is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lode.toml");
        std::fs::write(&path, "prot = 1\n").expect("write");
        assert!(resolve(args(&["--config", path.to_str().expect("utf8")])).is_err());
    }
}
