//! The engine's log lines: one `info` per finished flush and compaction carrying its sizes
//! (checked against `Db::stats`), one `error` per failed one, all sent to the `tracing`
//! subscriber that was current when the database was opened (the background threads' too).

use lode::fs::{SimFs, SimOp};
use lode::{Db, Options};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{Level, Metadata, span};

/// One event the engine logged.
#[derive(Debug, Clone)]
struct Logged {
    level: Level,
    thread: Option<String>,
    message: String,
    fields: BTreeMap<String, String>,
}

impl Logged {
    fn u64(&self, name: &str) -> u64 {
        let text = self.fields.get(name).unwrap_or_else(|| panic!("no field {name} in {self:?}"));
        text.parse().unwrap_or_else(|_| panic!("field {name} is not a number in {self:?}"))
    }
}

/// A subscriber that keeps every event from the engine.
#[derive(Debug, Default, Clone)]
struct Capture(Arc<Mutex<Vec<Logged>>>);

impl Capture {
    fn events(&self) -> Vec<Logged> {
        self.0.lock().expect("lock").clone()
    }

    fn with_message(&self, message: &str) -> Vec<Logged> {
        self.events().into_iter().filter(|e| e.message == message).collect()
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if !event.metadata().target().starts_with("lode") {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        self.0.lock().expect("lock").push(Logged {
            level: *event.metadata().level(),
            thread: std::thread::current().name().map(str::to_string),
            message,
            fields: fields.0,
        });
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn put_keys(db: &Db, range: std::ops::Range<u32>) {
    for i in range {
        db.put(format!("key{i:06}"), format!("value{i:06}-{}", "x".repeat(64))).expect("put");
    }
}

#[test]
fn flush_and_compaction_log_one_info_line_each_with_their_sizes() {
    let capture = Capture::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let stats = tracing::subscriber::with_default(capture.clone(), || {
        let db = Db::open(dir.path(), Options::default()).expect("open");
        put_keys(&db, 0..1000);
        db.flush().expect("flush");
        put_keys(&db, 500..1500);
        db.flush().expect("flush");
        db.compact().expect("compact");
        let stats = db.stats();
        // Closing joins the background threads, so every line they log has been logged.
        drop(db);
        stats
    });

    let flushes = capture.with_message("flush finished");
    assert_eq!(flushes.len(), 2, "{:?}", capture.events());
    for (flush, entries) in flushes.iter().zip([1000, 1000]) {
        assert_eq!(flush.level, Level::INFO);
        assert_eq!(flush.thread.as_deref(), Some("lode-flush"), "logged by the flush thread");
        assert_eq!(flush.u64("entries"), entries);
        assert!(flush.u64("memtable_bytes") > 0 && flush.u64("sst_bytes") > 0, "{flush:?}");
        assert!(flush.fields.contains_key("file") && flush.fields.contains_key("duration"));
    }
    let flushed: u64 = flushes.iter().map(|f| f.u64("sst_bytes")).sum();
    assert_eq!(flushed, stats.flush_bytes_written);

    let compactions = capture.with_message("compaction finished");
    assert_eq!(compactions.len() as u64, stats.compactions, "{:?}", capture.events());
    assert!(!compactions.is_empty());
    let read: u64 = compactions.iter().map(|c| c.u64("input_bytes")).sum();
    let written: u64 = compactions.iter().map(|c| c.u64("output_bytes")).sum();
    assert_eq!((read, written), (stats.compaction_bytes_read, stats.compaction_bytes_written));
    let first = &compactions[0];
    assert_eq!(first.level, Level::INFO);
    assert_eq!(first.fields["reason"], "manual");
    assert_eq!((first.u64("from_level"), first.u64("input_files")), (0, 2), "{first:?}");
    assert!(first.u64("to_level") > 0 && first.u64("output_files") >= 1, "{first:?}");
    assert_eq!(first.u64("input_bytes"), flushed, "the two flushed files are the inputs");
    assert!(first.fields.contains_key("duration"));
    assert!(capture.events().iter().all(|e| e.level == Level::INFO), "{:?}", capture.events());
}

#[test]
fn background_compaction_logs_the_pickers_reason() {
    let capture = Capture::default();
    let dir = tempfile::tempdir().expect("tempdir");
    tracing::subscriber::with_default(capture.clone(), || {
        let db = Db::open(dir.path(), Options::default().l0_compaction_trigger(2)).expect("open");
        for round in 0..2 {
            put_keys(&db, round * 100..round * 100 + 200);
            db.flush().expect("flush");
        }
        db.wait_idle().expect("idle");
        drop(db);
    });
    let compactions: Vec<Logged> =
        capture.events().into_iter().filter(|e| e.message.starts_with("compaction")).collect();
    assert!(!compactions.is_empty(), "{:?}", capture.events());
    let first = &compactions[0];
    assert_eq!(first.thread.as_deref(), Some("lode-compact"));
    assert_eq!(first.fields["reason"], "l0-files", "{first:?}");
    assert_eq!(first.u64("from_level"), 0);
}

fn sim_db() -> (SimFs, Db) {
    let fs = SimFs::new();
    let options = Options::default().sync_interval(Duration::ZERO).fs(Arc::new(fs.clone()));
    let db = Db::open(Path::new("/db"), options).expect("open");
    (fs, db)
}

#[test]
fn failed_flush_logs_an_error() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let (fs, db) = sim_db();
        put_keys(&db, 0..10);
        // The first create is the new memtable's WAL; the second the flush's SST.
        fs.fail(SimOp::Create, 1, u64::MAX);
        db.flush().expect_err("flush cannot create its SST");
        drop(db);
    });
    let errors: Vec<Logged> =
        capture.events().into_iter().filter(|e| e.level == Level::ERROR).collect();
    assert_eq!(errors.len(), 1, "{:?}", capture.events());
    assert!(errors[0].message.starts_with("flush failed"), "{:?}", errors[0]);
    assert!(errors[0].fields.contains_key("error"));
    assert!(capture.with_message("flush finished").is_empty());
}

#[test]
fn failed_compaction_logs_an_error() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let (fs, db) = sim_db();
        for round in 0..2 {
            put_keys(&db, round * 10..round * 10 + 20);
            db.flush().expect("flush");
        }
        fs.fail(SimOp::Create, 0, u64::MAX);
        db.compact().expect_err("compaction cannot create its output");
        drop(db);
    });
    let errors: Vec<Logged> =
        capture.events().into_iter().filter(|e| e.level == Level::ERROR).collect();
    assert_eq!(errors.len(), 1, "{:?}", capture.events());
    assert!(errors[0].message.contains("compaction failed"), "{:?}", errors[0]);
    assert!(capture.with_message("compaction finished").is_empty());
}
