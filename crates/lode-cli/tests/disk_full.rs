//! `lode serve` on a real full disk (a small tmpfs): writes get a `-MISCONF` error reply, as
//! Redis answers writes after a failed AOF write; reads keep working; after the disk has room
//! again and the server restarts, every acknowledged write is there and writes work.

mod support;

use lode_testkit::SmallFs;
use support::{connect, free_port};

const DISK_BYTES: u64 = 8 << 20;
/// Larger than the data it leaves room for: compaction after the restart needs space for its
/// outputs before it deletes its inputs.
const BALLAST_BYTES: usize = 5 << 20;
const VALUE_BYTES: usize = 1000;
/// The writer stops after this many SETs even if the disk never fills (it must first).
const SETS_MAX: u32 = 100_000;

fn value(i: u32) -> String {
    format!("{i:010}").repeat(VALUE_BYTES / 10)
}

#[test]
fn full_disk_answers_writes_with_misconf_keeps_reads_and_recovers_after_restart() {
    let Some(disk) = SmallFs::mount(DISK_BYTES) else { return };
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![1u8; BALLAST_BYTES]).expect("ballast");
    let dir = disk.path().join("data");
    let port = free_port();
    let mut server =
        support::start(&dir, port, &["--memtable-size", "256kb"]).expect("lode serve starts");
    let mut con = connect(port);

    let mut acked = 0u32;
    let error = loop {
        assert!(acked < SETS_MAX, "{SETS_MAX} SETs never filled a {DISK_BYTES}-byte disk");
        match redis::cmd("SET").arg(format!("k{acked}")).arg(value(acked)).query::<()>(&mut con) {
            Ok(()) => acked += 1,
            Err(e) => break e,
        }
    };
    assert!(acked > 100, "the disk filled after only {acked} SETs");
    assert_eq!(error.code(), Some("MISCONF"), "{error}");
    let text = error.to_string();
    assert!(text.contains("No space left on device"), "{text}");
    assert!(text.contains("restart"), "the error says what to do: {text}");
    eprintln!("the full disk's reply: {text}");

    // Writes stay refused, with the same reply; reads work on the same connection.
    let again = redis::cmd("INCR").arg("counter").query::<i64>(&mut con).expect_err("refused");
    assert_eq!(again.code(), Some("MISCONF"), "{again}");
    for i in [0, acked / 2, acked - 1] {
        let got: String = redis::cmd("GET").arg(format!("k{i}")).query(&mut con).expect("GET");
        assert_eq!(got, value(i));
    }
    let size: u64 = redis::cmd("DBSIZE").query(&mut con).expect("DBSIZE");
    assert!(size >= u64::from(acked), "DBSIZE {size} < {acked} acknowledged SETs");

    // Stop it (the process dies; nothing acknowledged may depend on a clean shutdown), free
    // space and restart: every acknowledged SET is there, and writes work again.
    server.kill();
    // Restarting while the disk is still full: a clear error, or a server that reads.
    match support::start(&dir, free_port(), &["--memtable-size", "256kb"]) {
        Err(log) => {
            eprintln!("restart on a full disk:\n{log}");
            assert!(log.contains("No space left on device"), "{log}");
        }
        Ok(mut early) => {
            early.kill();
        }
    }
    std::fs::remove_file(&ballast).expect("free space");
    let port = free_port();
    let mut server = support::start(&dir, port, &["--memtable-size", "256kb"])
        .expect("lode serve restarts once space is free");
    let mut con = connect(port);
    for i in 0..acked {
        let got: Option<String> =
            redis::cmd("GET").arg(format!("k{i}")).query(&mut con).expect("GET");
        assert_eq!(got.as_deref(), Some(value(i).as_str()), "acknowledged SET k{i} lost");
    }
    let n: i64 = redis::cmd("INCR").arg("counter").query(&mut con).expect("writes resume");
    assert_eq!(n, 1);
    server.kill();
}
