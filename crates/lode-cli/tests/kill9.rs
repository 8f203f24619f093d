//! kill -9 of the real `lode serve --appendfsync always` under several concurrent clients:
//! after a restart every acknowledged write is there, every MSET and EXEC is all or
//! nothing, and a collection deleted and recreated before the crash shows only its newest
//! elements (collection versions are never reused).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{connect, free_port};

fn spawn(dir: &std::path::Path, port: u16) -> support::Server {
    support::start(dir, port, &["--appendfsync", "always", "--memtable-size", "256kb"])
        .unwrap_or_else(|log| panic!("lode serve did not start:\n{log}"))
}

/// What one writer thread got acknowledged.
#[derive(Debug, Default)]
struct Acked {
    /// Highest `i` whose `SET w{t}:{i}` was acknowledged (all lower ones were too).
    set: Option<u64>,
    msets: u64,
    execs: u64,
    /// Fields `f0..` of hash `h{t}` acknowledged.
    hash_fields: u64,
}

#[test]
fn kill9_with_appendfsync_always_keeps_every_acknowledged_write() {
    let seed =
        lode_testkit::Seed::new("kill9_with_appendfsync_always_keeps_every_acknowledged_write");
    let dir = tempfile::tempdir().expect("tempdir");
    let rounds = lode_testkit::iterations(2);
    for round in 0..rounds {
        let port = free_port();
        let mut child = spawn(dir.path(), port);
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Vec<Arc<Mutex<Acked>>> = (0..4).map(|_| Arc::default()).collect();
        // Acknowledged SETs over all writers, so the kill can wait for a random count of them.
        let progress = Arc::new((Mutex::new(0u64), std::sync::Condvar::new()));
        let writers: Vec<_> = (0..4u64)
            .map(|t| {
                let mut con = connect(port);
                let stop = Arc::clone(&stop);
                let acked = Arc::clone(&acked[t as usize]);
                let progress = Arc::clone(&progress);
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) && i < 1_000_000 {
                        let key = format!("r{round}:w{t}:{i}");
                        if redis::cmd("SET").arg(&key).arg(i).query::<()>(&mut con).is_err() {
                            return;
                        }
                        acked.lock().expect("lock").set = Some(i);
                        *progress.0.lock().expect("lock") += 1;
                        progress.1.notify_all();
                        let tag = format!("r{round}:t{t}:{i}");
                        let mset = redis::cmd("MSET")
                            .arg(format!("r{round}:m{t}:a"))
                            .arg(&tag)
                            .arg(format!("r{round}:m{t}:b"))
                            .arg(&tag)
                            .arg(format!("r{round}:m{t}:c"))
                            .arg(&tag)
                            .query::<()>(&mut con);
                        if mset.is_err() {
                            return;
                        }
                        acked.lock().expect("lock").msets = i + 1;
                        let exec = redis::pipe()
                            .atomic()
                            .cmd("INCR")
                            .arg(format!("r{round}:x{t}:a"))
                            .cmd("INCR")
                            .arg(format!("r{round}:x{t}:b"))
                            .query::<(i64, i64)>(&mut con);
                        if exec.is_err() {
                            return;
                        }
                        acked.lock().expect("lock").execs = i + 1;
                        let hset = redis::cmd("HSET")
                            .arg(format!("r{round}:h{t}"))
                            .arg(format!("f{i}"))
                            .arg(i)
                            .query::<i64>(&mut con);
                        if hset.is_err() {
                            return;
                        }
                        acked.lock().expect("lock").hash_fields = i + 1;
                        // A hash deleted and recreated with one new field, atomically.
                        let regen = redis::pipe()
                            .atomic()
                            .cmd("DEL")
                            .arg(format!("r{round}:g{t}"))
                            .cmd("HSET")
                            .arg(format!("r{round}:g{t}"))
                            .arg(format!("gen{i}"))
                            .arg(i)
                            .query::<(i64, i64)>(&mut con);
                        if regen.is_err() {
                            return;
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        // Kill at a random moment: after a random number of acknowledged SETs (bounded in time
        // in case the writers stop early).
        let mut rng = seed.rng(round as u64);
        let target = rand::Rng::random_range(&mut rng, 20..600u64);
        let (count, cv) = &*progress;
        let done = cv
            .wait_timeout_while(count.lock().expect("lock"), Duration::from_secs(60), |n| {
                *n < target
            })
            .expect("lock");
        drop(done);
        child.kill();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().expect("writer");
        }

        let mut child = spawn(dir.path(), port);
        let mut con = connect(port);
        for (t, acked) in acked.iter().enumerate() {
            let acked = acked.lock().expect("lock");
            let Some(last) = acked.set else { continue };
            for i in 0..=last {
                let got: Option<u64> = redis::cmd("GET")
                    .arg(format!("r{round}:w{t}:{i}"))
                    .query(&mut con)
                    .expect("get");
                assert_eq!(
                    got,
                    Some(i),
                    "acknowledged SET r{round}:w{t}:{i} lost (last acked {last})"
                );
            }
            let m: Vec<Option<String>> = redis::cmd("MGET")
                .arg(format!("r{round}:m{t}:a"))
                .arg(format!("r{round}:m{t}:b"))
                .arg(format!("r{round}:m{t}:c"))
                .query(&mut con)
                .expect("mget");
            assert!(m.iter().all(|v| *v == m[0]), "MSET torn: {m:?}");
            if acked.msets > 0 {
                let tag: String = m[0].clone().expect("acknowledged MSET present");
                let n: u64 = tag.rsplit(':').next().and_then(|s| s.parse().ok()).expect("tag");
                assert!(n + 1 >= acked.msets, "acknowledged MSET {} lost (found {n})", acked.msets);
            }
            let x: Vec<Option<i64>> = redis::cmd("MGET")
                .arg(format!("r{round}:x{t}:a"))
                .arg(format!("r{round}:x{t}:b"))
                .query(&mut con)
                .expect("mget");
            assert_eq!(x[0], x[1], "EXEC torn");
            assert!(x[0].unwrap_or(0) as u64 >= acked.execs, "acknowledged EXEC lost");
            let h: std::collections::HashMap<String, u64> = redis::cmd("HGETALL")
                .arg(format!("r{round}:h{t}"))
                .query(&mut con)
                .expect("hgetall");
            for j in 0..acked.hash_fields {
                assert_eq!(h.get(&format!("f{j}")), Some(&j), "acknowledged HSET f{j} lost");
            }
            let hlen: u64 =
                redis::cmd("HLEN").arg(format!("r{round}:h{t}")).query(&mut con).expect("hlen");
            assert_eq!(hlen, h.len() as u64, "HLEN agrees with the elements");
            let g: Vec<(String, u64)> = redis::cmd("HGETALL")
                .arg(format!("r{round}:g{t}"))
                .query(&mut con)
                .expect("hgetall");
            assert!(g.len() <= 1, "a recreated hash shows an older version's fields: {g:?}");
            // A new hash at the same key after the restart starts empty.
            let (_, _, fresh): (i64, i64, Vec<(String, u64)>) = redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(format!("r{round}:g{t}"))
                .cmd("HSET")
                .arg(format!("r{round}:g{t}"))
                .arg("after")
                .arg(1)
                .cmd("HGETALL")
                .arg(format!("r{round}:g{t}"))
                .query(&mut con)
                .expect("regen after restart");
            assert_eq!(fresh, vec![("after".to_string(), 1)]);
        }
        let (): () = redis::cmd("SHUTDOWN").query(&mut con).unwrap_or(());
        let status = child.wait_exit(Duration::from_secs(60));
        assert!(status.success(), "SHUTDOWN exits cleanly: {status}");
    }
}
