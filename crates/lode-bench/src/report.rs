//! Results: one [`Row`] per (engine, workload, durability, round), written as one JSON object
//! per line and printed as Markdown tables, one per workload and durability, so a table never
//! mixes durability modes. Ratios are against Lode in the same round of the same run.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One measured phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// Engine or server name.
    pub engine: String,
    /// Workload (phase) name.
    pub workload: String,
    /// `buffered` or `durable` for engines; the appendfsync mode for servers.
    pub durability: String,
    /// The run's key count (`--num`), or the requests per test for servers.
    pub num: u64,
    /// Operations this row measured.
    pub ops: u64,
    /// Wall-clock seconds of the measured operations.
    pub seconds: f64,
    /// Operations per second (null when nothing ran).
    pub ops_per_sec: Option<f64>,
    /// Latency percentiles in microseconds (per operation or per batch: `latency_per`).
    pub p50_us: Option<f64>,
    /// 99th percentile latency.
    pub p99_us: Option<f64>,
    /// 99.9th percentile latency.
    pub p999_us: Option<f64>,
    /// Largest latency.
    pub max_us: Option<f64>,
    /// What one latency sample covers: `op`, or `batch of N`.
    pub latency_per: String,
    /// Bytes the process wrote to storage per byte of keys and values written.
    pub write_amp: Option<f64>,
    /// Disk usage of the database over the bytes of its live keys and values.
    pub space_amp: Option<f64>,
    /// Peak resident memory of the process during the phase.
    pub peak_rss_bytes: Option<u64>,
    /// CPU seconds (user + system, all threads) the phase used.
    pub cpu_secs: Option<f64>,
    /// WAL fsyncs per write (engines that count them).
    pub fsyncs_per_op: Option<f64>,
    /// Threads issuing operations.
    pub threads: u32,
    /// `ok`, `capped` (the time cap ended it; figures cover what ran), `skipped` (the
    /// engine's time budget ran out), or `failed: why`.
    pub status: String,
    /// Which repetition of the suite (1-based).
    pub round: u32,
    /// Engine version and every non-default option.
    pub options: String,
    /// Further figures of the phase (settle seconds, reads/s of a mixed phase, ...).
    #[serde(default)]
    pub extra: BTreeMap<String, f64>,
}

impl Row {
    /// The row as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Row always serialises")
    }
}

/// Parses the JSON lines of a results file, skipping blank lines.
///
/// # Errors
/// The first line that is not a row, with its number.
pub fn parse_rows(text: &str) -> Result<Vec<Row>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect()
}

fn fmt_rate(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) => {
            let n = x.round() as u64;
            let s = n.to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(c);
            }
            out
        }
    }
}

fn fmt_opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// Markdown tables of `rows`: one per (durability, workload) in `workload_order` (others
/// after, by name), one line per engine and round, with the ratio to Lode's row of the same
/// round where there is one.
pub fn markdown(rows: &[Row], workload_order: &[&str], baseline: &str) -> String {
    let rank = |w: &str| workload_order.iter().position(|x| *x == w).unwrap_or(usize::MAX);
    // Durability modes in the order they were measured.
    let mut modes: Vec<&str> = Vec::new();
    for r in rows {
        if !modes.contains(&r.durability.as_str()) {
            modes.push(&r.durability);
        }
    }
    let mode_rank = |d: &str| modes.iter().position(|m| *m == d).unwrap_or(usize::MAX);
    let mut groups: Vec<(&str, &str)> =
        rows.iter().map(|r| (r.durability.as_str(), r.workload.as_str())).collect();
    groups.sort_by(|a, b| (mode_rank(a.0), rank(a.1), a.1).cmp(&(mode_rank(b.0), rank(b.1), b.1)));
    groups.dedup();
    let mut out = String::new();
    for (durability, workload) in groups {
        let in_group: Vec<&Row> =
            rows.iter().filter(|r| r.durability == durability && r.workload == workload).collect();
        let per = in_group.first().map_or("op", |r| r.latency_per.as_str());
        let _ = writeln!(out, "\n#### {workload} ({durability}; latency per {per})\n");
        let _ = writeln!(
            out,
            "| engine | round | ops/s | vs {baseline} | p50 us | p99 us | w-amp | s-amp | peak RSS MiB | notes |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for r in in_group {
            let base = rows.iter().find(|b| {
                b.engine == baseline
                    && b.round == r.round
                    && b.workload == r.workload
                    && b.durability == r.durability
            });
            let ratio = match (r.ops_per_sec, base.and_then(|b| b.ops_per_sec)) {
                (Some(x), Some(b)) if b > 0.0 => format!("{:.2}x", x / b),
                _ => "-".into(),
            };
            let mut notes: Vec<String> = Vec::new();
            if r.status != "ok" {
                notes.push(r.status.clone());
            }
            if let Some(f) = r.fsyncs_per_op {
                notes.push(format!("fsyncs/op {f:.3}"));
            }
            if r.threads > 1 {
                notes.push(format!("{} threads", r.threads));
            }
            for (k, v) in &r.extra {
                notes.push(format!(
                    "{k} {}",
                    if v.abs() >= 100.0 { fmt_rate(Some(*v)) } else { format!("{v:.2}") }
                ));
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.engine,
                r.round,
                fmt_rate(r.ops_per_sec),
                ratio,
                fmt_opt(r.p50_us, 1),
                fmt_opt(r.p99_us, 1),
                fmt_opt(r.write_amp, 2),
                fmt_opt(r.space_amp, 2),
                r.peak_rss_bytes.map_or_else(|| "-".into(), |b| (b >> 20).to_string()),
                notes.join("; ")
            );
        }
    }
    out
}

/// One summary table per durability mode: a line per workload, a column per engine (ops/s,
/// the mean over rounds), then `baseline` over the best other engine. Capped runs are marked
/// `*`, and a workload without a rate (recover) shows its p50 time instead.
pub fn matrix(rows: &[Row], workload_order: &[&str], baseline: &str) -> String {
    let rank = |w: &str| workload_order.iter().position(|x| *x == w).unwrap_or(usize::MAX);
    let mut modes: Vec<&str> = Vec::new();
    let mut engines: Vec<&str> = Vec::new();
    for r in rows {
        if !modes.contains(&r.durability.as_str()) {
            modes.push(&r.durability);
        }
        if !engines.contains(&r.engine.as_str()) {
            engines.push(&r.engine);
        }
    }
    // The baseline first, the others in the order they ran.
    engines.sort_by_key(|e| *e != baseline);
    let mut out = String::new();
    for mode in modes {
        let mut workloads: Vec<&str> =
            rows.iter().filter(|r| r.durability == mode).map(|r| r.workload.as_str()).collect();
        workloads.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
        workloads.dedup();
        let _ = writeln!(out, "\n#### ops/s, {mode} (mean of rounds; * = a round was capped)\n");
        let _ = writeln!(out, "| workload | {} | {baseline} / best other |", engines.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(engines.len() + 2));
        for w in workloads {
            let cells: Vec<(String, Option<f64>)> = engines
                .iter()
                .map(|e| {
                    let of: Vec<&Row> = rows
                        .iter()
                        .filter(|r| r.durability == mode && r.workload == w && r.engine == *e)
                        .collect();
                    let rates: Vec<f64> = of.iter().filter_map(|r| r.ops_per_sec).collect();
                    let capped = of.iter().any(|r| r.status == "capped");
                    if !rates.is_empty() {
                        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
                        let mark = if capped { "*" } else { "" };
                        (format!("{}{mark}", fmt_rate(Some(mean))), Some(mean))
                    } else if let Some(p50) = of.iter().find_map(|r| r.p50_us) {
                        (format!("{:.0} ms", p50 / 1000.0), None)
                    } else if let Some(r) = of.first() {
                        (r.status.split(':').next().unwrap_or("-").to_string(), None)
                    } else {
                        ("-".into(), None)
                    }
                })
                .collect();
            let base = engines.iter().position(|e| *e == baseline).and_then(|i| cells[i].1);
            let best_other = engines
                .iter()
                .zip(&cells)
                .filter(|(e, _)| **e != baseline)
                .filter_map(|(_, c)| c.1)
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            let ratio = match (base, best_other) {
                (Some(b), Some(o)) if o > 0.0 => format!("{:.2}x", b / o),
                _ => "-".into(),
            };
            let joined: Vec<&str> = cells.iter().map(|c| c.0.as_str()).collect();
            let _ = writeln!(out, "| {w} | {} | {ratio} |", joined.join(" | "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(engine: &str, workload: &str, rate: f64) -> Row {
        Row {
            engine: engine.into(),
            workload: workload.into(),
            durability: "buffered".into(),
            num: 10,
            ops: 10,
            seconds: 1.0,
            ops_per_sec: Some(rate),
            latency_per: "op".into(),
            status: "ok".into(),
            round: 1,
            threads: 1,
            ..Row::default()
        }
    }

    #[test]
    fn rows_round_trip_through_json_lines() {
        let mut a = row("lode", "fillrandom", 1234.5);
        a.extra.insert("settle_secs".into(), 0.25);
        a.peak_rss_bytes = Some(1 << 30);
        let b = row("rocksdb", "fillrandom", 999.0);
        let text = format!("{}\n\n{}\n", a.to_json(), b.to_json());
        assert_eq!(parse_rows(&text), Ok(vec![a, b]));
        assert!(parse_rows("{\"engine\": 1}").expect_err("not a row").starts_with("line 1:"));
    }

    #[test]
    fn json_rows_carry_every_field_the_issue_names_with_null_for_unknowns() {
        let v: serde_json::Value =
            serde_json::from_str(&row("sled", "readseq", 5.0).to_json()).expect("json");
        for field in [
            "engine",
            "workload",
            "durability",
            "num",
            "ops_per_sec",
            "p50_us",
            "p99_us",
            "write_amp",
            "space_amp",
            "peak_rss_bytes",
        ] {
            assert!(v.get(field).is_some(), "{field} missing");
        }
        assert!(v["write_amp"].is_null());
    }

    #[test]
    fn markdown_groups_by_workload_and_gives_ratios_to_the_baseline() {
        let rows = vec![
            row("rocksdb", "readrandom", 300.0),
            row("lode", "fillrandom", 100.0),
            row("rocksdb", "fillrandom", 50.0),
            row("lode", "readrandom", 150.0),
        ];
        let md = markdown(&rows, &["fillrandom", "readrandom"], "lode");
        let fill = md.find("#### fillrandom").expect("fillrandom table");
        let read = md.find("#### readrandom").expect("readrandom table");
        assert!(fill < read, "tables out of the workload order:\n{md}");
        assert!(md.contains("| rocksdb | 1 | 50 | 0.50x |"), "{md}");
        assert!(md.contains("| rocksdb | 1 | 300 | 2.00x |"), "{md}");
        assert!(md.contains("| lode | 1 | 100 | 1.00x |"), "{md}");
    }

    #[test]
    fn markdown_keeps_durability_modes_in_the_order_measured() {
        let mut always = row("lode", "set_p1", 10.0);
        always.durability = "always".into();
        let mut everysec = row("lode", "set_p1", 20.0);
        everysec.durability = "everysec".into();
        let md = markdown(&[everysec, always], &[], "lode");
        let e = md.find("(everysec;").expect("everysec table");
        let a = md.find("(always;").expect("always table");
        assert!(e < a, "{md}");
    }

    #[test]
    fn matrix_has_a_column_per_engine_and_the_ratio_to_the_best_other() {
        let mut second = row("rocksdb", "fillrandom", 300.0);
        second.round = 2;
        second.status = "capped".into();
        let rows = vec![
            row("rocksdb", "fillrandom", 100.0),
            second,
            row("lode", "fillrandom", 100.0),
            row("fjall", "fillrandom", 50.0),
        ];
        let md = matrix(&rows, &[], "lode");
        assert!(md.contains("| workload | lode | rocksdb | fjall | lode / best other |"), "{md}");
        assert!(md.contains("| fillrandom | 100 | 200* | 50 | 0.50x |"), "{md}");
    }

    #[test]
    fn rates_get_thousands_separators() {
        assert_eq!(fmt_rate(Some(1_234_567.4)), "1,234,567");
        assert_eq!(fmt_rate(Some(999.0)), "999");
        assert_eq!(fmt_rate(None), "-");
    }
}
