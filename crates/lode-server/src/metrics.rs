//! Prometheus metrics: the server's counters, kept here as things happen (commands, errors,
//! latency, connections, network bytes), and the engine's, read from `lode::Stats` when a
//! scrape asks; rendered as OpenMetrics text with prometheus-client. [`crate::metrics_http`]
//! serves them on `--metrics-port`; the README's "Metrics and logs" lists every family.
//!
//! Label values are bounded: `command` is a name from the command table (or `unknown`),
//! `component` and `level` are fixed sets, so a client cannot grow the output. Counters here
//! are never reset (CONFIG RESETSTAT resets INFO's counters only), as Prometheus expects.
//!
//! Concurrency: counters are atomics; a family's map and a histogram take short locks.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::fmt;
use std::time::Duration;

/// Every family's name starts with this and `_`.
const PREFIX: &str = "lode";

/// The `command` label of errors from names that are not commands.
pub(crate) const UNKNOWN_COMMAND: &str = "unknown";

/// Upper bounds of the command latency buckets, in seconds: 10 us to 1 s.
const DURATION_BUCKETS_SECS: [f64; 16] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0,
];

type CommandLabel = [(&'static str, &'static str); 1];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS_SECS)
}

/// The server's live metrics. See the module docs.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Per-command families are recorded only when something can read them (the endpoint is
    /// on; it cannot be turned on later): off, a command pays no label lookups for them.
    per_command: bool,
    registry: Registry,
    commands: Family<CommandLabel, Counter>,
    errors: Family<CommandLabel, Counter>,
    durations: Family<CommandLabel, Histogram, fn() -> Histogram>,
    pub connections_received: Counter,
    pub connections_rejected: Counter,
    pub net_read_bytes: Counter,
    pub net_written_bytes: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new(true)
    }
}

impl Metrics {
    /// The families, recording per-command ones only if `per_command`.
    pub(crate) fn new(per_command: bool) -> Metrics {
        let commands = Family::<CommandLabel, Counter>::default();
        let errors = Family::<CommandLabel, Counter>::default();
        let durations: Family<CommandLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        let connections_received = Counter::default();
        let connections_rejected = Counter::default();
        let net_read_bytes = Counter::default();
        let net_written_bytes = Counter::default();
        let mut registry = Registry::with_prefix(PREFIX);
        registry.register("commands", "Commands run, by command", commands.clone());
        registry.register(
            "command_errors",
            "Error replies, by command: refused before running (arity, NOAUTH) or failed in it",
            errors.clone(),
        );
        registry.register_with_unit(
            "command_duration",
            "Time in the command's handler (not the commit or fsync of its burst), by command",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "connections_received",
            "Client connections accepted by the listener",
            connections_received.clone(),
        );
        registry.register(
            "connections_rejected",
            "Client connections refused (maxclients, protected mode)",
            connections_rejected.clone(),
        );
        registry.register_with_unit(
            "net_read",
            "Bytes read from client connections",
            Unit::Bytes,
            net_read_bytes.clone(),
        );
        registry.register_with_unit(
            "net_written",
            "Bytes written to client connections",
            Unit::Bytes,
            net_written_bytes.clone(),
        );
        Metrics {
            per_command,
            registry,
            commands,
            errors,
            durations,
            connections_received,
            connections_rejected,
            net_read_bytes,
            net_written_bytes,
        }
    }

    /// A command's handler ran for `elapsed`; `failed` if it answered an error.
    pub(crate) fn record_call(&self, command: &'static str, elapsed: Duration, failed: bool) {
        if !self.per_command {
            return;
        }
        let label = [("command", command)];
        self.commands.get_or_create(&label).inc();
        self.durations.get_or_create(&label).observe(elapsed.as_secs_f64());
        if failed {
            self.errors.get_or_create(&label).inc();
        }
    }

    /// A command was refused before running (`command` from the table, or
    /// [`UNKNOWN_COMMAND`]).
    pub(crate) fn record_refusal(&self, command: &'static str) {
        if !self.per_command {
            return;
        }
        self.errors.get_or_create(&[("command", command)]).inc();
    }

    /// The OpenMetrics text of a scrape: the live metrics, then the engine's `stats` and the
    /// gauges read now.
    pub(crate) fn render(&self, engine: lode::Stats, connected_clients: u64) -> String {
        let mut out = String::new();
        let mut now = Registry::with_prefix(PREFIX);
        now.register_collector(Box::new(Snapshot { engine, connected_clients }));
        // Writing to a String cannot fail, and every name here is valid.
        let _ = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &now))
            .and_then(|()| encode_eof(&mut out));
        out
    }
}

/// What a scrape reads at that moment.
#[derive(Debug)]
struct Snapshot {
    engine: lode::Stats,
    connected_clients: u64,
}

fn counter<N: prometheus_client::encoding::EncodeCounterValue>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    value: N,
) -> fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(out.encode_descriptor(
        name,
        &format!("{help}."),
        unit.as_ref(),
        metric.metric_type(),
    )?)
}

fn gauge(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    value: u64,
) -> fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(out.encode_descriptor(
        name,
        &format!("{help}."),
        unit.as_ref(),
        metric.metric_type(),
    )?)
}

// The helpers below end `help` with a period, as `Registry::register` does.

/// A gauge with one label, one sample per `(label value, value)`.
fn gauges<'v>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    label: &'static str,
    samples: impl IntoIterator<Item = (&'v str, u64)>,
) -> fmt::Result {
    let mut family =
        out.encode_descriptor(name, &format!("{help}."), unit.as_ref(), MetricType::Gauge)?;
    for (value_of_label, value) in samples {
        ConstGauge::new(value).encode(family.encode_family(&[(label, value_of_label)])?)?;
    }
    Ok(())
}

/// Level names for the `level` label (the engine has 7 levels).
const LEVEL_NAMES: [&str; 8] = ["0", "1", "2", "3", "4", "5", "6", "7"];

impl Collector for Snapshot {
    fn encode(&self, mut out: DescriptorEncoder<'_>) -> fmt::Result {
        let s = &self.engine;
        let o = &mut out;
        gauge(o, "connected_clients", "Clients connected now", None, self.connected_clients)?;
        counter(
            o,
            "wal_written",
            "Bytes appended to WALs",
            Some(Unit::Bytes),
            s.wal_bytes_written,
        )?;
        counter(o, "wal_syncs", "fdatasync calls on WALs", None, s.wal_syncs)?;
        counter(o, "batches_written", "Write batches committed", None, s.batches_written)?;
        counter(
            o,
            "user_written",
            "Key and value bytes of committed batches (write amplification's denominator)",
            Some(Unit::Bytes),
            s.user_bytes_written,
        )?;
        counter(o, "flushes", "Memtables flushed to L0 SSTs", None, s.flushes)?;
        counter(
            o,
            "flush_written",
            "SST bytes written by flushes",
            Some(Unit::Bytes),
            s.flush_bytes_written,
        )?;
        counter(o, "compactions", "Compactions run", None, s.compactions)?;
        counter(
            o,
            "compaction_read",
            "SST bytes read by compactions",
            Some(Unit::Bytes),
            s.compaction_bytes_read,
        )?;
        counter(
            o,
            "compaction_written",
            "SST bytes written by compactions",
            Some(Unit::Bytes),
            s.compaction_bytes_written,
        )?;
        counter(
            o,
            "write_stall",
            "Time writers waited for a flush or compaction to make room",
            Some(Unit::Seconds),
            s.stall_micros as f64 / 1e6,
        )?;
        counter(o, "write_slowdowns", "Times a writer was slowed down", None, s.write_slowdowns)?;
        counter(
            o,
            "write_stops",
            "Times a writer stopped until work caught up",
            None,
            s.write_stops,
        )?;
        counter(o, "block_cache_hits", "Block cache hits", None, s.block_cache_hits)?;
        counter(o, "block_cache_misses", "Block cache misses", None, s.block_cache_misses)?;
        gauges(
            o,
            "memory",
            "Engine memory by component (the block cache holds data, index and filter blocks)",
            Some(Unit::Bytes),
            "component",
            [("block_cache", s.memory.block_cache_bytes), ("memtables", s.memory.memtable_bytes)],
        )?;
        gauge(
            o,
            "immutable_memtables",
            "Memtables waiting for flush",
            None,
            s.immutable_memtables,
        )?;
        gauge(o, "open_tables", "SST readers open (file descriptors)", None, s.open_tables)?;
        gauges(
            o,
            "level_files",
            "SST files per level",
            None,
            "level",
            LEVEL_NAMES.iter().copied().zip(s.level_files.iter().copied()),
        )?;
        gauges(
            o,
            "level",
            "SST bytes per level",
            Some(Unit::Bytes),
            "level",
            LEVEL_NAMES.iter().copied().zip(s.level_bytes.iter().copied()),
        )?;
        gauge(
            o,
            "pending_compaction",
            "Bytes compaction is behind by (writers slow down on it)",
            Some(Unit::Bytes),
            s.pending_compaction_bytes,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn render_names_families_with_prefix_units_and_eof() {
        let metrics = Metrics::default();
        metrics.record_call("get", Duration::from_micros(30), false);
        metrics.record_call("get", Duration::from_millis(2), true);
        metrics.record_refusal(UNKNOWN_COMMAND);
        metrics.net_read_bytes.inc_by(14);
        let mut engine = lode::Stats::default();
        engine.level_files = vec![1, 0, 0, 0, 0, 0, 2];
        engine.level_bytes = vec![100, 0, 0, 0, 0, 0, 300];
        let text = metrics.render(engine, 3);
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(sample(&text, "lode_commands_total{command=\"get\"}"), Some(2.0));
        assert_eq!(sample(&text, "lode_command_errors_total{command=\"get\"}"), Some(1.0));
        assert_eq!(sample(&text, "lode_command_errors_total{command=\"unknown\"}"), Some(1.0));
        let bucket = |le: &str| {
            sample(
                &text,
                &format!("lode_command_duration_seconds_bucket{{le=\"{le}\",command=\"get\"}}"),
            )
        };
        assert_eq!(bucket("0.00005"), Some(1.0), "{text}");
        assert_eq!(bucket("0.0025"), Some(2.0));
        assert_eq!(bucket("+Inf"), Some(2.0));
        assert_eq!(
            sample(&text, "lode_command_duration_seconds_count{command=\"get\"}"),
            Some(2.0)
        );
        assert!(text.contains("# UNIT lode_command_duration_seconds seconds\n"));
        assert_eq!(sample(&text, "lode_net_read_bytes_total"), Some(14.0));
        assert_eq!(sample(&text, "lode_connected_clients"), Some(3.0));
        assert_eq!(sample(&text, "lode_level_files{level=\"6\"}"), Some(2.0));
        assert_eq!(sample(&text, "lode_level_bytes{level=\"0\"}"), Some(100.0));
        assert_eq!(sample(&text, "lode_memory_bytes{component=\"memtables\"}"), Some(0.0));
        assert!(text.contains("# TYPE lode_wal_written_bytes counter\n"), "{text}");
    }
}
