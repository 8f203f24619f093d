use crate::{TestServer, fails, q};
use redis::Value;

#[test]
fn info_has_the_fields_tools_read() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = q(&mut con, &["SET", "a", "1"]);
    let _: String = q(&mut con, &["SET", "b", "1", "EX", "100"]);
    let _: Option<String> = q(&mut con, &["GET", "a"]);
    let _: Option<String> = q(&mut con, &["GET", "zz"]);
    let info: String = q(&mut con, &["INFO"]);
    for field in [
        "# Server\r\n",
        "redis_version:7.0.15\r\n",
        "lode_version:",
        "uptime_in_seconds:",
        &format!("tcp_port:{}\r\n", server.addr.port()),
        "# Clients\r\n",
        "connected_clients:1\r\n",
        "# Memory\r\n",
        "used_memory:",
        "# Persistence\r\n",
        "aof_enabled:1",
        "# Stats\r\n",
        "total_commands_processed:",
        "instantaneous_ops_per_sec:",
        "keyspace_hits:1\r\n",
        "keyspace_misses:1\r\n",
        "expired_keys:0",
        "# Keyspace\r\n",
        "db0:keys=2,expires=1,avg_ttl=0\r\n",
    ] {
        assert!(info.contains(field), "INFO lacks {field:?}:\n{info}");
    }
    let only: String = q(&mut con, &["INFO", "keyspace"]);
    assert!(only.starts_with("# Keyspace\r\n") && !only.contains("# Server"), "{only}");
    let everything: String = q(&mut con, &["INFO", "all"]);
    assert!(everything.contains("# Replication\r\nrole:master"));
}

#[test]
fn config_get_set_resetstat() {
    let server = TestServer::start();
    let mut con = server.client();
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "appendfsync"]);
    assert_eq!(got, vec!["appendfsync", "everysec"]);
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "save", "appendonly"]);
    assert_eq!(got, vec!["appendonly", "yes", "save", ""]);
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "max*"]);
    assert!(
        got.contains(&"maxmemory-policy".to_string()) && got.contains(&"maxclients".to_string()),
        "{got:?}"
    );
    assert_eq!(
        q::<String>(&mut con, &["CONFIG", "SET", "appendfsync", "always", "timeout", "0"]),
        "OK"
    );
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "appendfsync"]);
    assert_eq!(got, vec!["appendfsync", "always"]);
    assert_eq!(
        q::<String>(&mut con, &["SET", "k", "v"]),
        "OK",
        "writes work with appendfsync always"
    );
    assert_eq!(q::<String>(&mut con, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]), "OK");
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "maxmemory-policy"]);
    assert_eq!(got[1], "allkeys-lru");
    assert_eq!(
        fails(&mut con, &["CONFIG", "SET", "no-such-thing", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-thing'"
    );
    assert_eq!(
        fails(&mut con, &["CONFIG", "SET", "appendfsync", "sometimes"]),
        "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"
    );
    assert_eq!(
        fails(&mut con, &["CONFIG", "GET"]),
        "ERR wrong number of arguments for 'config|get' command"
    );
    assert_eq!(q::<String>(&mut con, &["CONFIG", "RESETSTAT"]), "OK");
    let info: String = q(&mut con, &["INFO", "stats"]);
    assert!(info.contains("keyspace_hits:0"), "{info}");
}

#[test]
fn command_count_info_docs_list() {
    let server = TestServer::start();
    let mut con = server.client();
    let count: i64 = q(&mut con, &["COMMAND", "COUNT"]);
    assert!(count >= 60, "{count}");
    let info: Vec<Value> = q(&mut con, &["COMMAND", "INFO", "get", "nosuch"]);
    let Value::Array(get) = &info[0] else { panic!("{info:?}") };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!((&get[3], &get[4], &get[5]), (&Value::Int(1), &Value::Int(1), &Value::Int(1)));
    assert_eq!(info[1], Value::Nil);
    let all: Vec<Value> = q(&mut con, &["COMMAND"]);
    assert_eq!(all.len() as i64, count);
    let docs: Value = q(&mut con, &["COMMAND", "DOCS", "set"]);
    assert!(format!("{docs:?}").contains("summary"), "{docs:?}");
    let list: Vec<String> = q(&mut con, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"]);
    assert!(list.contains(&"getrange".to_string()) && !list.contains(&"set".to_string()));
    // LIST names subcommands too; COUNT counts only top-level commands.
    let list: Vec<String> = q(&mut con, &["COMMAND", "LIST"]);
    assert!(list.contains(&"config|get".to_string()) && list.contains(&"client|list".to_string()));
    assert_eq!(list.iter().filter(|n| !n.contains('|')).count() as i64, count);
    let info: Vec<Value> = q(&mut con, &["COMMAND", "INFO", "set"]);
    let Value::Array(set) = &info[0] else { panic!("{info:?}") };
    let flags = format!("{:?}", set[2]);
    assert!(flags.find("write") < flags.find("denyoom") && flags.contains("denyoom"), "{flags}");
}

#[test]
fn info_sections_come_in_redis_order() {
    let server = TestServer::start();
    let mut con = server.client();
    // Connecting may already have counted errors (the client's CLIENT SETINFO is unknown in
    // 7.0): measure what one failing command adds.
    let count = |info: &str, field: &str| -> u64 {
        info.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    let before: String = q(&mut con, &["INFO"]);
    let _ = fails(&mut con, &["GET"]);
    let info: String = q(&mut con, &["INFO"]);
    let headers: Vec<&str> = info.lines().filter_map(|l| l.strip_prefix("# ")).collect();
    assert_eq!(
        headers,
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    assert_eq!(
        count(&info, "errorstat_ERR:count="),
        count(&before, "errorstat_ERR:count=") + 1,
        "{info}"
    );
    assert_eq!(
        count(&info, "total_error_replies:"),
        count(&before, "total_error_replies:") + 1,
        "{info}"
    );
    assert!(info.contains("cluster_enabled:0"), "{info}");
    let everything: String = q(&mut con, &["INFO", "everything"]);
    assert!(everything.contains("# Commandstats\r\ncmdstat_"), "{everything}");
    assert_eq!(q::<String>(&mut con, &["INFO", "nosuchsection"]), "");
}

#[test]
fn time_save_lastsave_flushall_dbsize() {
    let server = TestServer::start();
    let mut con = server.client();
    let time: Vec<String> = q(&mut con, &["TIME"]);
    assert!(time[0].parse::<u64>().expect("secs") > 1_600_000_000);
    assert!(time[1].parse::<u32>().expect("micros") < 1_000_000);
    let _: String = q(&mut con, &["MSET", "a", "1", "b", "2"]);
    assert_eq!(q::<String>(&mut con, &["SAVE"]), "OK");
    assert!(q::<i64>(&mut con, &["LASTSAVE"]) > 1_600_000_000);
    assert_eq!(q::<String>(&mut con, &["BGSAVE"]), "Background saving started");
    assert_eq!(q::<String>(&mut con, &["FLUSHALL"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0);
    let _: String = q(&mut con, &["SET", "c", "3", "EX", "100"]);
    assert_eq!(q::<String>(&mut con, &["FLUSHDB", "ASYNC"]), "OK");
    assert_eq!(q::<Vec<String>>(&mut con, &["KEYS", "*"]), Vec::<String>::new());
    assert_eq!(fails(&mut con, &["FLUSHDB", "LATER"]), "ERR syntax error");
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    assert_eq!(info, "# Keyspace\r\n");
}

#[test]
fn shutdown_stops_the_server_cleanly() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = q(&mut con, &["SET", "kept", "yes"]);
    assert!(redis::cmd("SHUTDOWN").query::<Value>(&mut con).is_err(), "SHUTDOWN sends no reply");
    let dir = {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = server;
        let data = std::mem::replace(&mut server.dir, dir);
        server.wait_stopped();
        data
    };
    let server = TestServer::in_dir(dir, |_| {});
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["GET", "kept"]), "yes");
}

#[test]
fn commandstats_count_calls_and_their_microseconds() {
    let server = TestServer::start();
    let mut con = server.client();
    for _ in 0..3 {
        let _: String = q(&mut con, &["SET", "k", "v"]);
    }
    let stats: String = q(&mut con, &["INFO", "commandstats"]);
    // A command is counted once it has run, as in Redis: this INFO is not in its own reply.
    assert!(!stats.contains("cmdstat_info:"), "{stats}");
    let line = stats.lines().find_map(|l| l.strip_prefix("cmdstat_set:")).expect("set line");
    let field = |name: &str| -> String {
        line.split(',')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {line}"))
            .to_string()
    };
    assert_eq!(field("calls"), "3");
    let usec: u64 = field("usec").parse().expect("usec");
    assert_eq!(field("usec_per_call"), format!("{:.2}", usec as f64 / 3.0), "{line}");
    let stats: String = q(&mut con, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_info:calls=1,"), "{stats}");
}
