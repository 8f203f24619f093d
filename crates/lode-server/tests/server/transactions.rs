use crate::{TestServer, fails, q};
use redis::Value;

#[test]
fn multi_exec_runs_queued_commands_in_order() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut con, &["SET", "a", "1"]), "QUEUED");
    assert_eq!(q::<String>(&mut con, &["INCR", "a"]), "QUEUED");
    assert_eq!(q::<String>(&mut con, &["GET", "a"]), "QUEUED");
    let replies: Value = q(&mut con, &["EXEC"]);
    assert_eq!(
        replies,
        Value::Array(vec![Value::Okay, Value::Int(2), Value::BulkString(b"2".to_vec())])
    );
    assert_eq!(fails(&mut con, &["EXEC"]), "ERR EXEC without MULTI");
    assert_eq!(fails(&mut con, &["DISCARD"]), "ERR DISCARD without MULTI");
}

#[test]
fn runtime_errors_stay_inside_exec_and_queue_errors_abort() {
    let server = TestServer::start();
    let mut con = server.client();
    let (): () = redis::cmd("SET").arg("s").arg("text").query(&mut con).expect("set");
    let _: String = q(&mut con, &["MULTI"]);
    assert_eq!(q::<String>(&mut con, &["DISCARD"]), "OK");
    let mut raw = server.raw();
    let (replies, _) = crate::raw_exchange(&mut raw, b"MULTI\r\nINCR s\r\nSET t 1\r\nEXEC\r\n", 4);
    assert_eq!(
        replies[3],
        lode_resp::Reply::Array(vec![
            crate::error_reply("ERR value is not an integer or out of range"),
            lode_resp::Reply::ok()
        ])
    );

    let _: String = q(&mut con, &["MULTI"]);
    assert_eq!(
        fails(&mut con, &["NOSUCHCOMMAND"]),
        "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "
    );
    assert_eq!(fails(&mut con, &["GET"]), "ERR wrong number of arguments for 'get' command");
    let _: String = q(&mut con, &["SET", "u", "1"]);
    assert_eq!(fails(&mut con, &["MULTI"]), "ERR MULTI calls can not be nested");
    assert_eq!(fails(&mut con, &["WATCH", "x"]), "ERR WATCH inside MULTI is not allowed");
    assert_eq!(
        fails(&mut con, &["EXEC"]),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "u"]), 0);

    let _: String = q(&mut con, &["MULTI"]);
    let _: String = q(&mut con, &["SET", "u", "1"]);
    assert_eq!(q::<String>(&mut con, &["DISCARD"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "u"]), 0);
}

#[test]
fn watch_aborts_exec_when_another_client_writes() {
    let server = TestServer::start();
    let mut a = server.client();
    let mut b = server.client();
    let _: String = q(&mut a, &["SET", "w", "1"]);
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    let _: String = q(&mut b, &["SET", "w", "2"]);
    let _: String = q(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "w", "3"]);
    assert_eq!(q::<Value>(&mut a, &["EXEC"]), Value::Nil, "a watched key changed: EXEC aborts");
    assert_eq!(q::<String>(&mut a, &["GET", "w"]), "2");

    // Untouched watch: EXEC runs. UNWATCH forgets.
    assert_eq!(q::<String>(&mut a, &["WATCH", "w", "other"]), "OK");
    let _: String = q(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "w", "4"]);
    assert_eq!(q::<Vec<Value>>(&mut a, &["EXEC"]), vec![Value::Okay]);
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    assert_eq!(q::<String>(&mut a, &["UNWATCH"]), "OK");
    let _: String = q(&mut b, &["SET", "w", "5"]);
    let _: String = q(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "w", "6"]);
    assert_eq!(q::<Vec<Value>>(&mut a, &["EXEC"]), vec![Value::Okay]);
    // FLUSHALL touches every watched key.
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    let _: String = q(&mut b, &["FLUSHALL"]);
    let _: String = q(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "w", "7"]);
    assert_eq!(q::<Value>(&mut a, &["EXEC"]), Value::Nil);
}

#[test]
fn concurrent_incr_in_transactions_never_lose_updates() {
    let server = TestServer::start();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut con = server.client();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let (n, _): (i64, i64) = redis::pipe()
                        .atomic()
                        .cmd("INCR")
                        .arg("counter")
                        .cmd("INCRBY")
                        .arg("other")
                        .arg(2)
                        .query(&mut con)
                        .expect("exec");
                    assert!(n > 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["GET", "counter"]), 800);
    assert_eq!(q::<i64>(&mut con, &["GET", "other"]), 1600);
}

#[test]
fn a_set_with_a_past_expiry_touches_its_watchers_even_on_a_missing_key() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["WATCH", "k"]), "OK");
    assert_eq!(q::<Option<String>>(&mut con, &["SET", "k", "v", "PXAT", "1", "GET"]), None);
    assert_eq!(q::<String>(&mut con, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut con, &["GET", "other"]), "QUEUED");
    let exec: Option<Vec<Option<String>>> = q(&mut con, &["EXEC"]);
    assert_eq!(exec, None, "the transaction is aborted, as Redis 7.0 does");
}
