//! The lode-bench binary end to end: the whole suite at a tiny size (every workload gives a
//! checked row with the fields the results format promises), argument errors that say what
//! to do, the peers when built with them, and the server harness against a real
//! redis-server when one is installed.

use lode_bench::report::{Row, parse_rows};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lode-bench"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run lode-bench");
    assert!(
        out.status.success(),
        "lode-bench failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn rows(path: &Path) -> Vec<Row> {
    parse_rows(&std::fs::read_to_string(path).expect("results file")).expect("rows")
}

#[test]
fn whole_suite_for_lode_gives_a_checked_row_per_workload() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let json = dir.path().join("results.jsonl");
    let svg = dir.path().join("chart.svg");
    let out = run(bench()
        .args(["--engines", "lode", "--num", "3000", "--quiet", "--json"])
        .arg(&json)
        .arg("--chart")
        .arg(&svg)
        .arg("--dir")
        .arg(dir.path().join("dbs")));
    let rows = rows(&json);
    let lode: Vec<&Row> = rows.iter().filter(|r| r.engine == "lode").collect();
    let names: Vec<&str> = lode.iter().map(|r| r.workload.as_str()).collect();
    assert_eq!(names, lode_bench::workloads::WORKLOADS, "one row per workload, in order");
    for r in &lode {
        assert_eq!(r.status, "ok", "{}: {}", r.workload, r.status);
        let rate = r.ops_per_sec.is_some_and(|x| x > 0.0);
        // recover reports the time to open, not a rate.
        assert!(r.ops > 0 && rate == (r.workload != "recover"), "{}: rate", r.workload);
        assert_eq!(r.num, 3000);
        let durable = ["fillsync", "fillsync_8t", "recover"].contains(&r.workload.as_str());
        assert_eq!(r.durability, if durable { "durable" } else { "buffered" }, "{}", r.workload);
        assert!(r.peak_rss_bytes.is_some(), "{}: no peak RSS", r.workload);
        assert!(r.options.starts_with("lode"), "{}: options {:?}", r.workload, r.options);
    }
    let by = |w: &str| lode.iter().find(|r| r.workload == w).expect("row");
    assert_eq!(by("fillrandom").ops, 3000);
    assert!(by("fillrandom").write_amp.is_some_and(|x| x >= 1.0), "WAL alone writes every byte");
    assert!(by("fillrandom").space_amp.is_some());
    assert!(by("readrandom").write_amp.is_none(), "reads have no write amplification");
    assert_eq!(by("fillsync").fsyncs_per_op, Some(1.0), "one fsync per lone durable put");
    assert_eq!(by("fillsync_8t").threads, 8);
    assert_eq!(by("readseq").ops, 3000, "readseq read every key");
    assert!(by("recover").extra.contains_key("open_ms"));
    assert!(by("recover").p50_us.is_some_and(|x| x > 0.0), "the open time");
    assert!(rows.iter().any(|r| r.engine == "machine" && r.workload == "fdatasync_128b"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("#### fillrandom (buffered; latency per batch of 1000)"), "{stdout}");
    assert!(stdout.contains("#### fillsync (durable; latency per op)"), "{stdout}");
    let chart = std::fs::read_to_string(&svg).expect("chart");
    assert!(chart.contains("<svg") && chart.contains("lode fillrandom buffered"));
    // Nothing is left behind in the data directory.
    let left: Vec<PathBuf> = std::fs::read_dir(dir.path().join("dbs"))
        .expect("dbs")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn workload_counts_and_report_redraw_from_the_results_file() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let json = dir.path().join("r.jsonl");
    run(bench()
        .args(["--engines", "lode", "--num", "5000", "--quiet", "--rounds", "2"])
        .args(["--workloads", "fillseq:1000,readrandom:777,settle,compact", "--json"])
        .arg(&json)
        .arg("--dir")
        .arg(dir.path()));
    let rows = rows(&json);
    let read: Vec<&Row> = rows.iter().filter(|r| r.workload == "readrandom").collect();
    assert_eq!(read.len(), 2, "two rounds");
    assert!(read.iter().all(|r| r.ops == 777));
    assert_eq!(read.iter().map(|r| r.round).collect::<Vec<_>>(), [1, 2]);
    let compact = rows.iter().find(|r| r.workload == "compact").expect("compact row");
    // 1,000 keys of 116 bytes after a full compaction: the files hold little else.
    assert!(compact.space_amp.is_some_and(|s| s < 3.0), "{:?}", compact.space_amp);
    let svg = dir.path().join("again.svg");
    let out = run(bench().arg("report").arg(&json).arg("--chart").arg(&svg));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("#### readrandom (buffered; latency per op)"), "{stdout}");
    assert!(stdout.contains("| lode | 2 |"), "{stdout}");
    assert!(std::fs::read_to_string(&svg).expect("svg").contains("lode readrandom buffered"));
}

#[test]
fn a_capped_fill_is_completed_unmeasured_so_later_workloads_see_every_key() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let json = dir.path().join("r.jsonl");
    // A cap of 15 s x 0.0001 = 1.5 ms: the fill of 20,000 keys hits it.
    run(bench()
        .args(["--engines", "lode", "--num", "20000", "--quiet", "--cap-scale", "0.0001"])
        .args(["--workloads", "fillrandom,readseq:1000000", "--json"])
        .arg(&json)
        .arg("--dir")
        .arg(dir.path()));
    let rows = rows(&json);
    let fill = rows.iter().find(|r| r.workload == "fillrandom").expect("fill row");
    assert_eq!(fill.status, "capped");
    assert!(fill.ops < 20_000, "the rate covers the keys written before the cap");
    assert!(fill.extra.contains_key("completion_secs"));
    let scan = rows.iter().find(|r| r.workload == "readseq").expect("readseq row");
    assert!(!scan.extra.contains_key("db_keys"), "the database holds every key");
}

#[test]
fn bad_arguments_are_refused_with_what_to_do() {
    let out = bench().args(["--workloads", "fillrandom,nosuch"]).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown workload \"nosuch\": choose from fillseq"), "{err}");
    let out = bench().args(["--engines", "mysql"]).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("choose from lode, rocksdb"));
    let out = bench().args(["--value-size", "7"]).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("values must be 8 bytes"));
    if !cfg!(feature = "peers") {
        let out = bench().args(["--engines", "lode,fjall"]).output().expect("run");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--features peers"));
    }
}

#[cfg(feature = "peers")]
#[test]
fn every_peer_runs_the_checked_workloads() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let json = dir.path().join("peers.jsonl");
    run(bench()
        .args(["--num", "2000", "--quiet", "--json"])
        .arg(&json)
        .args(["--workloads", "fillrandom,readrandom,seekrandom,readseq,deleterandom,recover"])
        .arg("--dir")
        .arg(dir.path()));
    let rows = rows(&json);
    for engine in lode_bench::engines::ENGINES {
        let of: Vec<&Row> = rows.iter().filter(|r| r.engine == *engine).collect();
        assert_eq!(of.len(), 6, "{engine}: {of:?}");
        assert!(of.iter().all(|r| r.status == "ok"), "{engine}: {of:?}");
    }
}

/// The lode binary built beside this test (target/debug/lode), if lode-cli was built.
fn lode_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let lode = exe.parent()?.parent()?.join("lode");
    lode.exists().then_some(lode)
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn server_harness_compares_lode_and_redis_when_both_are_here() {
    let Some(lode) = lode_binary() else {
        eprintln!("skipped: no lode binary beside the tests (cargo build -p lode-cli)");
        return;
    };
    if !installed("redis-server") || !installed("redis-benchmark") {
        eprintln!("skipped: redis-server or redis-benchmark is not installed");
        return;
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let json = dir.path().join("server.jsonl");
    let out = run(bench()
        .args(["server", "--lode"])
        .arg(&lode)
        .args(["--appendfsync", "everysec", "--tests", "set,get", "--clients", "4"])
        .args(["--requests-p1", "300", "--requests-p16", "1600", "--cap-secs", "60", "--json"])
        .arg(&json)
        .arg("--dir")
        .arg(dir.path()));
    let rows = rows(&json);
    assert_eq!(rows.len(), 8, "2 servers x 2 tests x 2 pipelines: {rows:?}");
    for r in &rows {
        assert!(r.engine == "lode" || r.engine == "redis");
        assert_eq!(r.durability, "everysec");
        assert!(r.ops_per_sec.is_some_and(|x| x > 0.0), "{r:?}");
        assert!(r.peak_rss_bytes.is_some(), "{r:?}");
        assert!(r.extra.contains_key("disk_mib"), "{r:?}");
    }
    let lode_set = rows.iter().find(|r| r.engine == "lode" && r.workload == "set_p16");
    assert!(lode_set.is_some_and(|r| r.num == 1600));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("#### set_p16 (everysec; latency per request)"), "{stdout}");
    assert!(stdout.contains("| vs redis |"), "{stdout}");
}
