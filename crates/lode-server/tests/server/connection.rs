use crate::{TestServer, fails, q};
use redis::Value;

#[test]
fn ping_echo_select_quit() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut con, &["PING", "hi"]), "hi");
    assert_eq!(
        fails(&mut con, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(q::<String>(&mut con, &["ECHO", "x y"]), "x y");
    assert_eq!(q::<String>(&mut con, &["SELECT", "0"]), "OK");
    assert_eq!(fails(&mut con, &["SELECT", "16"]), "ERR DB index is out of range");
    assert_eq!(fails(&mut con, &["SELECT", "x"]), "ERR value is not an integer or out of range");
    let mut raw = server.raw();
    let (replies, closed) = crate::raw_exchange(&mut raw, b"QUIT\r\nPING\r\n", 2);
    assert_eq!(replies, vec![lode_resp::Reply::ok()]);
    assert!(closed, "QUIT closes after its reply");
}

#[test]
fn auth_without_a_password_configured_is_an_error() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(
        fails(&mut con, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    assert_eq!(q::<String>(&mut con, &["AUTH", "default", "anything"]), "OK");
}

#[test]
fn hello_switches_to_resp3_and_replies_change_shape() {
    let server = TestServer::start();
    let mut con = server.client_resp3();
    let hello: Value = q(&mut con, &["HELLO", "3"]);
    let Value::Map(pairs) = hello else { panic!("HELLO 3 answers a map: {hello:?}") };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == Value::BulkString(k.as_bytes().to_vec()))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("server"), Some(Value::BulkString(b"redis".to_vec())));
    assert_eq!(get("proto"), Some(Value::Int(3)));
    assert_eq!(
        get("version"),
        Some(Value::BulkString(lode_server::REDIS_VERSION.as_bytes().to_vec()))
    );
    assert_eq!(q::<Value>(&mut con, &["GET", "missing"]), Value::Nil);
    let config: Value = q(&mut con, &["CONFIG", "GET", "appendfsync"]);
    assert!(matches!(config, Value::Map(_)), "{config:?}");
    assert_eq!(fails(&mut con, &["HELLO", "4"]), "NOPROTO unsupported protocol version");
    assert_eq!(
        fails(&mut con, &["HELLO", "x"]),
        "ERR Protocol version is not an integer or out of range"
    );
    assert_eq!(
        fails(&mut con, &["HELLO", "3", "BOGUS"]),
        "ERR Syntax error in HELLO option 'BOGUS'"
    );
    // Raw check of RESP3 null and map bytes.
    let mut raw = server.raw();
    let (replies, _) = crate::raw_exchange(
        &mut raw,
        b"HELLO 3 SETNAME raw\r\nGET nothing\r\nCLIENT GETNAME\r\n",
        3,
    );
    assert_eq!(replies[1], lode_resp::Reply::Null);
    assert_eq!(replies[2], lode_resp::Reply::bulk("raw"));
}

#[test]
fn client_subcommands() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut other = server.client();
    let id: i64 = q(&mut con, &["CLIENT", "ID"]);
    assert!(id > 0);
    assert_eq!(q::<Option<String>>(&mut con, &["CLIENT", "GETNAME"]), None);
    assert_eq!(q::<String>(&mut con, &["CLIENT", "SETNAME", "worker-1"]), "OK");
    assert_eq!(q::<String>(&mut con, &["CLIENT", "GETNAME"]), "worker-1");
    assert_eq!(
        fails(&mut con, &["CLIENT", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        fails(&mut con, &["CLIENT", "SetInfo", "LIB-NAME", "mylib"]),
        "ERR unknown subcommand 'SetInfo'. Try CLIENT HELP.",
        "SETINFO is Redis 7.2's"
    );
    let info: String = q(&mut con, &["CLIENT", "INFO"]);
    assert!(info.starts_with(&format!("id={id} addr=")), "{info}");
    assert!(
        info.contains(" name=worker-1 ")
            && info.contains(" db=0 ")
            && info.contains(" cmd=client|info ")
            && info.trim_end().ends_with(" resp=2"),
        "{info}"
    );
    let list: String = q(&mut con, &["CLIENT", "LIST"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert_eq!(
        fails(&mut con, &["CLIENT", "BOGUS"]),
        "ERR unknown subcommand 'BOGUS'. Try CLIENT HELP."
    );
    assert_eq!(
        fails(&mut con, &["CLIENT", "ID", "x"]),
        "ERR wrong number of arguments for 'client|id' command"
    );
    let other_id: i64 = q(&mut other, &["CLIENT", "ID"]);
    assert_eq!(q::<i64>(&mut con, &["CLIENT", "KILL", "ID", &other_id.to_string()]), 1);
    assert!(
        redis::cmd("PING").query::<String>(&mut other).is_err(),
        "a killed client is disconnected"
    );
    assert_eq!(fails(&mut con, &["CLIENT", "KILL", "1.2.3.4:5"]), "ERR No such client");
    assert_eq!(q::<String>(&mut con, &["RESET"]), "RESET");
    assert_eq!(q::<Option<String>>(&mut con, &["CLIENT", "GETNAME"]), None);
}

#[test]
fn maxclients_refuses_the_client_past_the_limit() {
    let server = TestServer::with(|c| c.maxclients = 2);
    let mut a = server.client();
    let mut b = server.client();
    assert_eq!(q::<String>(&mut a, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut b, &["PING"]), "PONG");
    let mut raw = server.raw();
    let (replies, closed) = crate::read_replies(&mut raw, 1);
    assert_eq!(replies, vec![crate::error_reply("ERR max number of clients reached")]);
    let (_, closed_after) = crate::read_replies(&mut raw, 1);
    assert!(closed || closed_after);
    drop(a);
    // The slot frees once the server notices the close.
    assert!(crate::eventually(std::time::Duration::from_secs(10), || {
        redis::Client::open(server.url())
            .expect("url")
            .get_connection()
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }));
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = TestServer::with(|c| c.timeout_secs = 1);
    let mut raw = server.raw();
    let start = std::time::Instant::now();
    let (replies, closed) = crate::read_replies(&mut raw, 1);
    assert!(replies.is_empty() && closed);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}
