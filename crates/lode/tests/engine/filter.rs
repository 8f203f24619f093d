//! The compaction filter: keys whose newest value it rejects read as deleted once compaction
//! has seen them, never as an older value; a snapshot that sees an older version of a key
//! still sees exactly that; the space comes back.

use lode::fs::SimFs;
use lode::{CompactionFilter, Db, FilterContext, FilterDecision, Options, Snapshot};
use lode_testkit::{Seed, iterations};
use rand::Rng;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Removes every value that starts with `dead:`.
#[derive(Debug)]
struct DropDead;

impl CompactionFilter for DropDead {
    fn filter(&self, _ctx: &FilterContext<'_>, _key: &[u8], value: &[u8]) -> FilterDecision {
        if value.starts_with(b"dead:") { FilterDecision::Remove } else { FilterDecision::Keep }
    }
}

fn tiny() -> Options {
    Options::default()
        .memtable_size(4 << 10)
        .block_size(256)
        .target_file_size(4 << 10)
        .level_base_size(16 << 10)
        .sync_interval(std::time::Duration::ZERO)
        .compaction_filter(Arc::new(DropDead))
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// What a reader may see for a key whose newest value is `want`: a live value exactly; a
/// dead one, or nothing once a compaction has filtered it.
fn allowed(want: Option<&Vec<u8>>, got: Option<&[u8]>) -> bool {
    match want {
        Some(v) if v.starts_with(b"dead:") => got.is_none() || got == Some(&v[..]),
        Some(v) => got == Some(&v[..]),
        None => got.is_none(),
    }
}

fn check(db: &Db, model: &Model, keys: u32, what: &str) {
    for i in 0..keys {
        let key = format!("k{i:04}").into_bytes();
        let got = db.get(&key).expect("get");
        assert!(
            allowed(model.get(&key), got.as_deref()),
            "{what}: k{i:04} read {:?}, newest written {:?}",
            got.as_deref().map(String::from_utf8_lossy),
            model.get(&key).map(|v| String::from_utf8_lossy(v))
        );
    }
    for reverse in [false, true] {
        let pair =
            |kv: lode::Result<(lode::Key, lode::Value)>| kv.map(|(k, v)| (k.to_vec(), v.to_vec()));
        let items: lode::Result<Vec<(Vec<u8>, Vec<u8>)>> = if reverse {
            db.iter().rev().map(pair).collect()
        } else {
            db.iter().map(pair).collect()
        };
        let items = items.expect("iterate");
        let mut last: Option<&Vec<u8>> = None;
        for (k, v) in &items {
            if let Some(prev) = last {
                assert_eq!(prev < k, !reverse, "{what}: iteration out of order");
            }
            last = Some(k);
            assert!(allowed(model.get(k), Some(v)), "{what}: iteration gave an older value");
        }
        let live = model.values().filter(|v| !v.starts_with(b"dead:")).count();
        assert!(items.len() >= live, "{what}: iteration lost live keys");
    }
}

/// A snapshot and the model when it was taken.
struct Held {
    snapshot: Snapshot,
    model: Model,
}

/// A snapshot reads what the model held when it was taken, by the same rule as the present:
/// however the key changed since, never an older value, and a live value exactly.
fn check_snapshot(held: &Held, what: &str) {
    for (key, v) in &held.model {
        let got = held.snapshot.get(key).expect("snapshot get");
        assert!(
            allowed(Some(v), got.as_deref()),
            "{what}: snapshot read {:?}, it saw {:?}",
            got.as_deref().map(String::from_utf8_lossy),
            String::from_utf8_lossy(v)
        );
    }
}

#[test]
fn filtered_keys_read_as_deleted_never_older_and_snapshots_keep_their_view() {
    let seed = Seed::new("filtered_keys_read_as_deleted_never_older_and_snapshots_keep_their_view");
    let mut rng = seed.rng(0);
    for round in 0..iterations(6) {
        let fs = SimFs::new();
        let db = Db::open(Path::new("/db"), tiny().fs(Arc::new(fs.clone()))).expect("open");
        let keys = rng.random_range(20..300u32);
        let mut model = Model::new();
        let mut held: Option<Held> = None;
        for step in 0..3000u32 {
            let key = format!("k{:04}", rng.random_range(0..keys)).into_bytes();
            match rng.random_range(0..100) {
                0..60 => {
                    let state = if rng.random_bool(0.4) { "dead" } else { "live" };
                    let value = format!("{state}:{step}:{}", "x".repeat(rng.random_range(0..80)));
                    db.put(&key, &value).expect("put");
                    model.insert(key, value.into_bytes());
                }
                60..70 => {
                    db.delete(&key).expect("delete");
                    model.remove(&key);
                }
                70..72 => db.flush().expect("flush"),
                72..73 => db.compact().expect("compact"),
                73..75 => {
                    if let Some(h) = &held {
                        check_snapshot(h, &format!("round {round} step {step}"));
                    }
                    held = match rng.random_bool(0.5) {
                        true => Some(Held { snapshot: db.snapshot(), model: model.clone() }),
                        false => None,
                    };
                }
                75..77 => check(&db, &model, keys, &format!("round {round} step {step}")),
                _ => {
                    let got = db.get(&key).expect("get");
                    assert!(allowed(model.get(&key), got.as_deref()), "round {round} step {step}");
                }
            }
        }
        db.wait_idle().expect("idle");
        if let Some(h) = &held {
            check_snapshot(h, &format!("round {round}, end"));
        }
        drop(held);
        db.compact().expect("compact");
        check(&db, &model, keys, &format!("round {round}, compacted"));
        // With no snapshot left, a full compaction has shown every key to the filter.
        for (k, v) in &model {
            if v.starts_with(b"dead:") {
                assert_eq!(db.get(k).expect("get"), None, "round {round}: a dead key survived");
            }
        }
        drop(db);
        let db = Db::open(Path::new("/db"), tiny().fs(Arc::new(fs))).expect("reopen");
        check(&db, &model, keys, &format!("round {round}, reopened"));
    }
}

#[test]
fn filter_gives_the_space_back_and_counts_what_it_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Written without the filter, so nothing is removed before we measure.
    let unfiltered = Options::default()
        .memtable_size(4 << 10)
        .target_file_size(4 << 10)
        .level_base_size(16 << 10)
        .fs(std::sync::Arc::new(lode::fs::RealFs));
    let db = Db::open(dir.path(), unfiltered).expect("open");
    let value = format!("dead:{}", "z".repeat(200));
    for i in 0..5_000u32 {
        db.put(format!("k{i:06}"), &value).expect("put");
    }
    db.put("survivor", "live:yes").expect("put");
    db.flush().expect("flush");
    db.wait_idle().expect("idle");
    let before: u64 = db.stats().level_bytes.iter().sum();
    drop(db);
    let db =
        Db::open(dir.path(), tiny().fs(std::sync::Arc::new(lode::fs::RealFs))).expect("reopen");
    db.compact().expect("compact");
    let stats = db.stats();
    let after: u64 = stats.level_bytes.iter().sum();
    assert!(before > 5_000 * 200, "the dead values were on disk: {before} bytes");
    assert!(after < 4 << 10, "{after} bytes left after compacting 5,000 dead keys away");
    assert!(stats.compaction_filter_removed >= 5_000, "{stats:?}");
    assert_eq!(db.get("survivor").expect("get").as_deref(), Some(&b"live:yes"[..]));
    assert_eq!(db.iter().count(), 1);
}

/// Removes an element `e:<owner>:<n>` when its owner record `m:<owner>` is gone, as the
/// server's collections do: the filter reads the owner through its context.
#[derive(Debug)]
struct DropOrphans;

impl CompactionFilter for DropOrphans {
    fn filter(&self, ctx: &FilterContext<'_>, key: &[u8], _value: &[u8]) -> FilterDecision {
        let Some(rest) = key.strip_prefix(b"e:") else { return FilterDecision::Keep };
        let owner = rest.split(|&b| b == b':').next().unwrap_or_default();
        match ctx.get([&b"m:"[..], owner].concat()) {
            Ok(None) => FilterDecision::Remove,
            _ => FilterDecision::Keep,
        }
    }
}

#[test]
fn filter_reads_other_keys_as_the_oldest_snapshot_sees_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options::default()
        .memtable_size(4 << 10)
        .target_file_size(4 << 10)
        .level_base_size(16 << 10)
        .fs(Arc::new(lode::fs::RealFs))
        .compaction_filter(Arc::new(DropOrphans));
    let db = Db::open(dir.path(), opts).expect("open");
    db.put("m:a", "owner").expect("put");
    db.put("m:b", "owner").expect("put");
    for i in 0..500u32 {
        db.put(format!("e:a:{i:04}"), "x".repeat(50)).expect("put");
        db.put(format!("e:b:{i:04}"), "y".repeat(50)).expect("put");
    }
    let before_delete = db.snapshot();
    db.delete("m:a").expect("delete");
    db.compact().expect("compact");
    // The snapshot still sees owner a, so a's elements stay for it (and for everyone).
    assert_eq!(before_delete.prefix("e:a:").count(), 500);
    assert_eq!(db.stats().compaction_filter_removed, 0);
    drop(before_delete);
    db.compact().expect("compact");
    assert_eq!(db.prefix("e:a:").count(), 0, "orphans of a removed once no reader sees a");
    assert_eq!(db.prefix("e:b:").count(), 500, "b still has its owner");
    assert_eq!(db.stats().compaction_filter_removed, 500);
}

#[test]
fn compact_range_reclaims_one_range_and_leaves_the_rest_for_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options::default()
        .memtable_size(4 << 10)
        .target_file_size(4 << 10)
        .level_base_size(16 << 10)
        .fs(Arc::new(lode::fs::RealFs))
        .compaction_filter(Arc::new(DropOrphans));
    let db = Db::open(dir.path(), opts).expect("open");
    for owner in ["a", "b"] {
        db.put(format!("m:{owner}"), "owner").expect("put");
        for i in 0..2_000u32 {
            db.put(format!("e:{owner}:{i:05}"), "x".repeat(50)).expect("put");
        }
    }
    db.compact().expect("settle everything in the last level");
    db.delete("m:a").expect("delete");
    db.delete("m:b").expect("delete");
    db.compact_range("e:a:", "e:a:\u{ff}").expect("compact_range");
    assert_eq!(db.prefix("e:a:").count(), 0, "the range's orphans are gone");
    let b_left = db.prefix("e:b:").count();
    // Only files that overlap the range were rewritten: b's elements, in other files, stay
    // until something compacts them (a boundary file may hold a few of b's).
    assert!(b_left > 1_500, "{b_left} of b's 2,000 orphans were still on disk");
    let removed = db.stats().compaction_filter_removed;
    assert!((2_000..2_500).contains(&removed), "{removed}");
    db.compact().expect("compact");
    assert_eq!(db.prefix("e:").count(), 0);
    assert_eq!(db.stats().compaction_filter_removed, 4_000);
}
