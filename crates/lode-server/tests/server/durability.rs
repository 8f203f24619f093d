use crate::{TestServer, q};
use lode_server::Appendfsync;

#[test]
fn data_ttls_and_counters_survive_a_restart() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = q(&mut con, &["MSET", "a", "1", "b", "2"]);
    let _: String = q(&mut con, &["SET", "t", "v", "EX", "1000"]);
    let _: i64 = q(&mut con, &["DEL", "b"]);
    drop(con);
    let dir = server.stop();
    let server = TestServer::in_dir(dir, |_| {});
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["GET", "a"]), "1");
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "b"]), None);
    let ttl: i64 = q(&mut con, &["TTL", "t"]);
    assert!((990..=1000).contains(&ttl), "TTL survives restarts: {ttl}");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 2);
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    assert!(info.contains("db0:keys=2,expires=1"), "{info}");
}

#[test]
fn appendfsync_always_shares_fsyncs_between_concurrent_clients() {
    let server = TestServer::with(|c| c.appendfsync = Appendfsync::Always);
    const CLIENTS: usize = 8;
    const WRITES: usize = 100;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let mut con = server.client();
            std::thread::spawn(move || {
                for i in 0..WRITES {
                    let (): () = redis::cmd("SET")
                        .arg(format!("{t}:{i}"))
                        .arg(i)
                        .query(&mut con)
                        .expect("set");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), (CLIENTS * WRITES) as i64);
    let info: String = q(&mut con, &["INFO", "persistence"]);
    let syncs: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("lode_wal_syncs:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("lode_wal_syncs");
    assert!(syncs >= 1, "always syncs");
    assert!(syncs <= (CLIENTS * WRITES) as u64, "at most one fsync per write: {syncs}");
}

#[test]
fn a_pipelined_burst_and_exec_commit_as_one_batch() {
    let server = TestServer::start();
    let mut con = server.client();
    let before: String = q(&mut con, &["INFO", "persistence"]);
    let seq = |info: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("lode_last_seqno:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("seqno")
    };
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("p:{i}")).arg(i).ignore();
    }
    let (): () = pipe.query(&mut con).expect("pipeline");
    let after: String = q(&mut con, &["INFO", "persistence"]);
    // 100 metadata records and one counter record, in however few batches the reads split it into.
    assert!(seq(&after) - seq(&before) >= 101);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 100);
}
