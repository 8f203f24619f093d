//! INFO: the server's counters in Redis's section format (`# Server`, `field:value` lines,
//! CRLF), with the fields monitoring tools read. `redis_version` reports a 7.0-compatible
//! version because clients gate features on it; `lode_version` says what is really running.

use crate::client_limits::LimitHit;
use crate::keyspace::Keyspace;
use crate::server::{REDIS_VERSION, Shared};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Samples kept for `instantaneous_ops_per_sec` (one per cron tick, as Redis keeps 16).
const OPS_SAMPLES: usize = 16;

/// Server-wide counters (the engine's are in `lode::Stats`, the keyspace's in `Keyspace`).
#[derive(Debug, Default)]
pub(crate) struct ServerStats {
    pub commands: AtomicU64,
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Clients closed by `client-query-buffer-limit`.
    query_buffer_limit_disconnections: AtomicU64,
    /// Clients closed by `client-output-buffer-limit` (hard or soft).
    output_buffer_limit_disconnections: AtomicU64,
    /// Clients closed by the write-stall timeout.
    write_stall_disconnections: AtomicU64,
    /// Clients closed by `timeout`: idle, or a request incomplete for that long.
    idle_timeout_disconnections: AtomicU64,
    request_timeout_disconnections: AtomicU64,
    ops_samples: Mutex<VecDeque<(Instant, u64)>>,
    /// Calls and microseconds in the handler per command name (`# Commandstats`).
    calls: Mutex<BTreeMap<&'static str, (u64, u64)>>,
    /// Error replies per prefix (`# Errorstats`, `total_error_replies`).
    errors: Mutex<BTreeMap<String, u64>>,
}

impl ServerStats {
    /// Counts a client closed by `hit`.
    pub(crate) fn count_limit(&self, hit: LimitHit) {
        match hit {
            LimitHit::QueryBuffer => &self.query_buffer_limit_disconnections,
            LimitHit::OutputHard | LimitHit::OutputSoft => &self.output_buffer_limit_disconnections,
            LimitHit::WriteStall => &self.write_stall_disconnections,
            LimitHit::Idle => &self.idle_timeout_disconnections,
            LimitHit::RequestTimeout => &self.request_timeout_disconnections,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Records the command counter (called by the cron every tick).
    pub(crate) fn sample(&self) {
        let mut samples = self.ops_samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back((Instant::now(), self.commands.load(Ordering::Relaxed)));
        while samples.len() > OPS_SAMPLES {
            samples.pop_front();
        }
    }

    fn ops_per_sec(&self) -> u64 {
        let samples = self.ops_samples.lock().unwrap_or_else(|e| e.into_inner());
        match (samples.front(), samples.back()) {
            (Some((t0, c0)), Some((t1, c1))) if t1 > t0 => {
                let secs = (*t1 - *t0).as_secs_f64();
                (c1.saturating_sub(*c0) as f64 / secs).round() as u64
            }
            _ => 0,
        }
    }

    pub(crate) fn reset(&self) {
        self.commands.store(0, Ordering::Relaxed);
        self.connections_received.store(0, Ordering::Relaxed);
        self.rejected_connections.store(0, Ordering::Relaxed);
        for c in [
            &self.query_buffer_limit_disconnections,
            &self.output_buffer_limit_disconnections,
            &self.write_stall_disconnections,
            &self.idle_timeout_disconnections,
            &self.request_timeout_disconnections,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.ops_samples.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Counts one call of the command `name` that ran `micros` (the total is in `commands`).
    pub(crate) fn count_call(&self, name: &'static str, micros: u64) {
        self.commands.fetch_add(1, Ordering::Relaxed);
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let (n, usec) = calls.entry(name).or_default();
        *n += 1;
        *usec = usec.saturating_add(micros);
    }

    /// Counts one error reply, by its prefix (`ERR`, `WRONGTYPE`, ...), as Redis's errorstats.
    pub(crate) fn count_error(&self, text: &str) {
        let prefix = text.split(' ').next().unwrap_or_default();
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        match errors.get_mut(prefix) {
            Some(n) => *n += 1,
            None => {
                errors.insert(prefix.to_string(), 1);
            }
        }
    }

    fn error_replies(&self) -> u64 {
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).values().sum()
    }
}

fn kv(out: &mut String, key: &str, value: &dyn std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

/// Every section, in Redis 7.0's order (`module_list` prints as `# Modules`).
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// What plain `INFO` (and `INFO default`) prints: all but commandstats and latencystats.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// The sections `args` asks for (lower case), as Redis's `genInfoSectionDict`: none means
/// default; `all` and `everything` mean every section (Lode has no modules to tell them
/// apart); `modules` is the Modules section; unknown names select nothing.
fn wanted_sections(args: &[String]) -> Vec<&'static str> {
    if args.is_empty() {
        return DEFAULT_SECTIONS.to_vec();
    }
    ALL_SECTIONS
        .iter()
        .copied()
        .filter(|name| {
            args.iter().any(|a| match a.as_str() {
                "all" | "everything" => true,
                "default" => DEFAULT_SECTIONS.contains(name),
                "modules" => *name == "module_list",
                other => other == *name,
            })
        })
        .collect()
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.2}G", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.2}M", b / (1u64 << 20) as f64)
    } else if b >= 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else {
        format!("{bytes}B")
    }
}

/// Resident set size from /proc (0 where it is not available).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// The INFO text for `sections` (lower case; empty = Redis's default set), sections in Redis's
/// order separated by a blank line; empty for unknown names.
pub(crate) fn render(shared: &Shared, sections: &[String]) -> String {
    let mut out = String::new();
    for name in wanted_sections(sections) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(shared, name, &mut out);
    }
    out
}

fn section(shared: &Shared, name: &str, out: &mut String) {
    let ks = &shared.ks;
    let uptime = shared.started.elapsed().as_secs();
    match name {
        "server" => {
            let _ = write!(out, "# Server\r\n");
            kv(out, "redis_version", &REDIS_VERSION);
            kv(out, "lode_version", &env!("CARGO_PKG_VERSION"));
            kv(out, "redis_git_sha1", &"00000000");
            kv(out, "redis_git_dirty", &0);
            kv(out, "redis_build_id", &"0");
            kv(out, "redis_mode", &"standalone");
            kv(out, "os", &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH));
            kv(out, "arch_bits", &(usize::BITS));
            kv(out, "multiplexing_api", &"tokio");
            kv(out, "process_id", &std::process::id());
            kv(out, "process_supervised", &"no");
            kv(out, "run_id", &shared.run_id);
            kv(out, "tcp_port", &shared.local_addr.port());
            kv(out, "server_time_usec", &(crate::command::now_ms() * 1000));
            kv(out, "uptime_in_seconds", &uptime);
            kv(out, "uptime_in_days", &(uptime / 86_400));
            kv(out, "hz", &10);
            kv(out, "configured_hz", &10);
            kv(
                out,
                "executable",
                &std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            );
            kv(
                out,
                "config_file",
                &shared
                    .config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            kv(out, "io_threads_active", &0);
            return;
        }
        "clients" => {
            let _ = write!(out, "# Clients\r\n");
            kv(out, "connected_clients", &shared.clients.count());
            kv(out, "cluster_connections", &0);
            kv(out, "maxclients", &shared.live.maxclients());
            kv(out, "client_recent_max_input_buffer", &0);
            kv(out, "client_recent_max_output_buffer", &0);
            kv(out, "blocked_clients", &shared.ks.blocked.count());
            kv(out, "tracking_clients", &0);
            kv(out, "clients_in_timeout_table", &0);
            return;
        }
        "module_list" => {
            let _ = write!(out, "# Modules\r\n");
            return;
        }
        "commandstats" => {
            let _ = write!(out, "# Commandstats\r\n");
            let calls = shared.stats.calls.lock().unwrap_or_else(|e| e.into_inner());
            for (name, (n, usec)) in calls.iter() {
                let per_call = *usec as f64 / (*n).max(1) as f64;
                let _ = write!(
                    out,
                    "cmdstat_{name}:calls={n},usec={usec},usec_per_call={per_call:.2},\
                     rejected_calls=0,failed_calls=0\r\n"
                );
            }
            return;
        }
        "errorstats" => {
            let _ = write!(out, "# Errorstats\r\n");
            let errors = shared.stats.errors.lock().unwrap_or_else(|e| e.into_inner());
            for (prefix, n) in errors.iter() {
                let _ = write!(out, "errorstat_{prefix}:count={n}\r\n");
            }
            return;
        }
        "latencystats" => {
            let _ = write!(out, "# Latencystats\r\n");
            return;
        }
        "cluster" => {
            let _ = write!(out, "# Cluster\r\n");
            kv(out, "cluster_enabled", &0);
            return;
        }
        _ => {}
    }
    let stats = ks.db.stats();
    match name {
        "memory" => {
            let used = stats.memtable_bytes + stats.block_cache_bytes;
            let _ = write!(out, "# Memory\r\n");
            kv(out, "used_memory", &used);
            kv(out, "used_memory_human", &human(used));
            kv(out, "used_memory_rss", &rss_bytes());
            kv(out, "used_memory_rss_human", &human(rss_bytes()));
            kv(out, "used_memory_peak", &used);
            kv(out, "used_memory_peak_human", &human(used));
            kv(out, "maxmemory", &0);
            kv(out, "maxmemory_human", &"0B");
            kv(out, "maxmemory_policy", &"noeviction");
            kv(out, "mem_fragmentation_ratio", &"1.00");
            kv(out, "lode_memtable_bytes", &stats.memtable_bytes);
            kv(out, "lode_block_cache_bytes", &stats.block_cache_bytes);
        }
        "persistence" => {
            let _ = write!(out, "# Persistence\r\n");
            kv(out, "loading", &0);
            kv(out, "async_loading", &0);
            kv(out, "rdb_changes_since_last_save", &Keyspace::get(&ks.changes_since_save));
            kv(out, "rdb_bgsave_in_progress", &0);
            kv(out, "rdb_last_save_time", &shared.last_save_unix.load(Ordering::Relaxed));
            kv(out, "rdb_last_bgsave_status", &"ok");
            kv(out, "aof_enabled", &1);
            kv(out, "aof_rewrite_in_progress", &0);
            kv(out, "aof_rewrite_scheduled", &0);
            kv(out, "aof_last_write_status", &"ok");
            kv(out, "aof_last_bgrewrite_status", &"ok");
            kv(out, "lode_appendfsync", &shared.live.appendfsync().name());
            kv(out, "lode_wal_bytes_written", &stats.wal_bytes_written);
            kv(out, "lode_wal_syncs", &stats.wal_syncs);
            kv(out, "lode_flushes", &stats.flushes);
            kv(out, "lode_sst_files", &stats.level_files.iter().sum::<u64>());
            kv(out, "lode_sst_bytes", &stats.level_bytes.iter().sum::<u64>());
            kv(out, "lode_last_seqno", &stats.last_seqno);
            kv(out, "lode_compaction_filter_removed", &stats.compaction_filter_removed);
            kv(out, "lode_reclaim_compactions", &shared.ks.reclaim.done.load(Ordering::Relaxed));
        }
        "stats" => {
            let _ = write!(out, "# Stats\r\n");
            let s = &shared.stats;
            kv(out, "total_connections_received", &s.connections_received.load(Ordering::Relaxed));
            kv(out, "total_commands_processed", &s.commands.load(Ordering::Relaxed));
            kv(out, "instantaneous_ops_per_sec", &s.ops_per_sec());
            kv(out, "rejected_connections", &s.rejected_connections.load(Ordering::Relaxed));
            kv(out, "expired_keys", &Keyspace::get(&ks.expired_keys));
            kv(out, "evicted_keys", &0);
            kv(out, "keyspace_hits", &Keyspace::get(&ks.hits));
            kv(out, "keyspace_misses", &Keyspace::get(&ks.misses));
            kv(out, "pubsub_channels", &0);
            kv(out, "pubsub_patterns", &0);
            kv(out, "total_error_replies", &s.error_replies());
            // Redis 7.2's names (7.0 has no such counters).
            kv(
                out,
                "client_query_buffer_limit_disconnections",
                &s.query_buffer_limit_disconnections.load(Ordering::Relaxed),
            );
            kv(
                out,
                "client_output_buffer_limit_disconnections",
                &s.output_buffer_limit_disconnections.load(Ordering::Relaxed),
            );
            kv(
                out,
                "lode_write_stall_disconnections",
                &s.write_stall_disconnections.load(Ordering::Relaxed),
            );
            kv(
                out,
                "lode_idle_timeout_disconnections",
                &s.idle_timeout_disconnections.load(Ordering::Relaxed),
            );
            kv(
                out,
                "lode_request_timeout_disconnections",
                &s.request_timeout_disconnections.load(Ordering::Relaxed),
            );
            kv(out, "lode_block_cache_hits", &stats.block_cache_hits);
            kv(out, "lode_block_cache_misses", &stats.block_cache_misses);
        }
        "replication" => {
            let _ = write!(out, "# Replication\r\n");
            kv(out, "role", &"master");
            kv(out, "connected_slaves", &0);
            kv(out, "master_failover_state", &"no-failover");
            kv(out, "master_replid", &shared.run_id);
            kv(out, "master_replid2", &"0000000000000000000000000000000000000000");
            kv(out, "master_repl_offset", &0);
            kv(out, "second_repl_offset", &-1);
            kv(out, "repl_backlog_active", &0);
        }
        "cpu" => {
            let _ = write!(out, "# CPU\r\n");
            kv(out, "used_cpu_sys", &"0.000000");
            kv(out, "used_cpu_user", &"0.000000");
        }
        "keyspace" => {
            let _ = write!(out, "# Keyspace\r\n");
            for (db, keys, expires) in ks.nonempty_dbs() {
                let _ = write!(out, "db{}:keys={keys},expires={expires},avg_ttl=0\r\n", db.get());
            }
        }
        _ => {}
    }
}
