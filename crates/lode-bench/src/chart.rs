//! An SVG bar chart of results: ops/s per workload per engine, one panel per durability mode
//! (never mixed), on a log scale (a durable put and a sequential scan differ by 10,000x).
//! Several rounds of one engine and workload are drawn as their mean; `recover` (a time to
//! open, not a rate of operations) is left to the tables. Hand-written SVG: no plotting
//! dependency for a few rectangles.

use crate::report::Row;
use std::fmt::Write as _;

const PANEL_HEIGHT: f64 = 300.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_TOP: f64 = 60.0;
const LABEL_SPACE: f64 = 90.0;
const BAR_WIDTH: f64 = 14.0;
const GROUP_GAP: f64 = 22.0;

/// A colour per engine: Lode stands out, the rest are distinct.
fn colour(engine: &str) -> &'static str {
    match engine {
        "lode" | "lode-server" => "#d9480f",
        "rocksdb" => "#1c7ed6",
        "fjall" => "#37b24d",
        "redb" => "#ae3ec9",
        "sled" => "#f59f00",
        "lmdb" => "#495057",
        "redis" => "#c2255c",
        _ => "#868e96",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn short(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// One panel's data: workloads in order, engines in order, mean ops/s per pair.
struct Panel {
    durability: String,
    workloads: Vec<String>,
    engines: Vec<String>,
    rate: Vec<Vec<Option<f64>>>,
}

fn panels(rows: &[Row], workload_order: &[&str]) -> Vec<Panel> {
    let rank = |w: &str| workload_order.iter().position(|x| *x == w).unwrap_or(usize::MAX);
    // Durability modes in the order they were measured.
    let mut modes: Vec<&str> = Vec::new();
    for r in rows {
        if !modes.contains(&r.durability.as_str()) {
            modes.push(&r.durability);
        }
    }
    modes
        .into_iter()
        .map(|mode| {
            let of_mode: Vec<&Row> = rows
                .iter()
                // recover's rate is keys recovered per second of open: not comparable ops.
                .filter(|r| r.durability == mode && r.latency_per != "open")
                .filter(|r| r.ops_per_sec.is_some_and(|x| x > 0.0))
                .collect();
            let mut workloads: Vec<String> = of_mode.iter().map(|r| r.workload.clone()).collect();
            workloads.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
            workloads.dedup();
            let mut engines: Vec<String> = Vec::new();
            for r in &of_mode {
                if !engines.contains(&r.engine) {
                    engines.push(r.engine.clone());
                }
            }
            // The same order in every chart, whatever order the engines ran in: Lode first.
            let known = ["lode", "rocksdb", "fjall", "redb", "sled", "lmdb", "redis"];
            engines.sort_by_key(|e| known.iter().position(|k| k == e).unwrap_or(known.len()));
            let rate = workloads
                .iter()
                .map(|w| {
                    engines
                        .iter()
                        .map(|e| {
                            let xs: Vec<f64> = of_mode
                                .iter()
                                .filter(|r| &r.workload == w && &r.engine == e)
                                .filter_map(|r| r.ops_per_sec)
                                .collect();
                            (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
                        })
                        .collect()
                })
                .collect();
            Panel { durability: mode.to_string(), workloads, engines, rate }
        })
        .filter(|p| !p.workloads.is_empty())
        .collect()
}

/// The SVG document for `rows`, titled `title`.
pub fn svg(rows: &[Row], workload_order: &[&str], title: &str) -> String {
    let panels = panels(rows, workload_order);
    let widest = panels
        .iter()
        .map(|p| p.workloads.len() as f64 * (p.engines.len() as f64 * BAR_WIDTH + GROUP_GAP))
        .fold(0.0, f64::max);
    // About 9.5 px per character of the 15 px title.
    let width =
        (MARGIN_LEFT + widest + 20.0).max(640.0).max(MARGIN_LEFT + 9.5 * title.len() as f64);
    let panel_total = PANEL_HEIGHT + LABEL_SPACE + 50.0;
    let height = MARGIN_TOP + panels.len() as f64 * panel_total + 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN_LEFT}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    for (n, p) in panels.iter().enumerate() {
        let top = MARGIN_TOP + n as f64 * panel_total;
        let bottom = top + PANEL_HEIGHT;
        let all: Vec<f64> = p.rate.iter().flatten().flatten().copied().collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min).max(1.0).log10().floor();
        let hi = all.iter().copied().fold(1.0, f64::max).log10().ceil().max(lo + 1.0);
        let y = |v: f64| bottom - (v.max(1.0).log10() - lo) / (hi - lo) * PANEL_HEIGHT;
        let _ = writeln!(
            s,
            r#"<text x="{MARGIN_LEFT}" y="{:.0}" font-size="13" font-weight="bold">ops/s, {} (log scale)</text>"#,
            top - 8.0,
            escape(&p.durability)
        );
        let mut decade = lo;
        while decade <= hi {
            let v = 10f64.powf(decade);
            let yy = y(v);
            let _ = writeln!(
                s,
                r##"<line x1="{MARGIN_LEFT}" x2="{:.0}" y1="{yy:.1}" y2="{yy:.1}" stroke="#dee2e6"/><text x="{:.0}" y="{:.1}" text-anchor="end">{}</text>"##,
                width - 10.0,
                MARGIN_LEFT - 6.0,
                yy + 4.0,
                short(v)
            );
            decade += 1.0;
        }
        let group_width = p.engines.len() as f64 * BAR_WIDTH + GROUP_GAP;
        for (g, workload) in p.workloads.iter().enumerate() {
            let x0 = MARGIN_LEFT + g as f64 * group_width + GROUP_GAP / 2.0;
            for (e, engine) in p.engines.iter().enumerate() {
                let Some(v) = p.rate[g][e] else { continue };
                let x = x0 + e as f64 * BAR_WIDTH;
                let yy = y(v);
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{yy:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {} {}: {:.0} ops/s</title></rect>"#,
                    BAR_WIDTH - 2.0,
                    (bottom - yy).max(0.5),
                    colour(engine),
                    escape(engine),
                    escape(workload),
                    escape(&p.durability),
                    v
                );
                let _ = writeln!(
                    s,
                    r#"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="9">{}</text>"#,
                    x + BAR_WIDTH / 2.0 + 2.0,
                    yy - 3.0,
                    short(v)
                );
            }
            let cx = x0 + p.engines.len() as f64 * BAR_WIDTH / 2.0;
            let _ = writeln!(
                s,
                r#"<text transform="translate({cx:.1},{:.1}) rotate(-35)" text-anchor="end">{}</text>"#,
                bottom + 14.0,
                escape(workload)
            );
        }
        let legend_y = bottom + LABEL_SPACE + 10.0;
        for (e, engine) in p.engines.iter().enumerate() {
            let lx = MARGIN_LEFT + e as f64 * 110.0;
            let _ = writeln!(
                s,
                r#"<rect x="{lx:.0}" y="{:.0}" width="12" height="12" fill="{}"/><text x="{:.0}" y="{:.0}">{}</text>"#,
                legend_y - 10.0,
                colour(engine),
                lx + 16.0,
                legend_y,
                escape(engine)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(engine: &str, workload: &str, durability: &str, rate: f64) -> Row {
        Row {
            engine: engine.into(),
            workload: workload.into(),
            durability: durability.into(),
            ops_per_sec: Some(rate),
            round: 1,
            ..Row::default()
        }
    }

    #[test]
    fn chart_has_a_bar_per_engine_and_workload_and_a_panel_per_durability() {
        let rows = vec![
            row("lode", "fillrandom", "buffered", 150_000.0),
            row("rocksdb", "fillrandom", "buffered", 120_000.0),
            row("lode", "fillsync", "durable", 600.0),
            row("rocksdb", "fillsync", "durable", 500.0),
            row("lode", "readrandom", "buffered", 140_000.0),
        ];
        let svg = svg(&rows, &["fillrandom", "readrandom", "fillsync"], "test <chart>");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<title>").count(), 5, "one bar per row");
        assert!(svg.contains("ops/s, buffered") && svg.contains("ops/s, durable"));
        assert!(svg.contains("test &lt;chart&gt;"), "title escaped");
        assert!(svg.contains("lode fillsync durable: 600 ops/s"));
    }

    #[test]
    fn rounds_are_drawn_as_their_mean_and_missing_rates_are_left_out() {
        let mut second = row("lode", "fillrandom", "buffered", 300.0);
        second.round = 2;
        let mut failed = row("sled", "fillrandom", "buffered", 0.0);
        failed.ops_per_sec = None;
        let rows = vec![row("lode", "fillrandom", "buffered", 100.0), second, failed];
        let svg = svg(&rows, &[], "t");
        assert!(svg.contains("lode fillrandom buffered: 200 ops/s"), "{svg}");
        assert!(!svg.contains("sled"));
    }
}
