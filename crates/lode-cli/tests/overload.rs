//! Overload soak of the real `lode serve`: a thousand well-behaved clients doing mixed traffic
//! while abusive clients of every kind are started and restarted beside them. Each abusive
//! client must be closed by its limit; every reply a well-behaved client gets must be the one
//! its own writes predict (zero errors); the server's RSS, sampled every second, must not grow.
//!
//! `LODE_SOAK_SECS` sets the duration (default 120 s: CI's soak; set it higher for a longer
//! one), `LODE_SOAK_CONNS` the well-behaved clients (default 1,000). The test process and the
//! server each need a file descriptor per connection: the test fails early, saying so, if
//! `ulimit -n` is too low.

mod support;

use lode_resp::{Reply, decode_reply};
use rand::Rng;
use rand::rngs::StdRng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::free_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SOAK_SECS_DEFAULT: u64 = 120;
const CONNS_DEFAULT: usize = 1000;

/// The server's limits the abusive clients run into.
const TIMEOUT_SECS: u64 = 10;
const QUERY_BUFFER_LIMIT: usize = 1 << 20;
/// One huge reply passes the hard limit. A client that pipelines without reading is left with
/// part of a 1 MiB burst of replies pending once its socket buffers are full: the soft limit
/// (256 KiB for 2 s) closes it if that part is over 256 KiB, else the write-stall timeout
/// (30 s by default, not a directive) does.
const OUTPUT_BUFFER_LIMIT: &str = "normal 32mb 256kb 2";
const OUTPUT_SOFT_SECS: u64 = 2;
const WRITE_STALL_SECS: u64 = 30;

/// The output hard limit, in bytes.
const OUTPUT_HARD_BYTES: usize = 32 << 20;

/// Size of the value the output abusers ask for (under the query buffer limit, so it can be
/// written).
const BIG_VALUE_BYTES: usize = 512 << 10;
/// How late after its limit's time an abusive client may be closed (a loaded 2-core machine).
const CLOSE_SLACK: Duration = Duration::from_secs(10);
/// How early: the server starts its clock after the client's, but a timer may round down.
const CLOSE_EARLY: Duration = Duration::from_millis(5);
/// Longest a well-behaved client waits for a reply before counting an error.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// The RSS bound: the highest sample of the second half may pass the highest of the first half
/// by at most this many percent. Measured on 2 cores: RSS rises for about four minutes while
/// the runtime's 512 blocking threads and malloc's arenas warm up (the second half of a 2-minute
/// run peaked 11% above the first), then stays flat (about 250 MiB from minute 4 to 10). A
/// leak of 20 bytes per command (3 million commands in a second minute) or of 256 KiB per
/// abusive connection (200 of them) passes 25% of that.
const RSS_GROWTH_PERCENT_MAX: u64 = 25;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The soft limit on open files of this process (the spawned server inherits it).
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX)
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend(b"\r\n");
    }
    out
}

/// A connection that sends requests and decodes replies.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Client { stream, buf: Vec::new() })
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        match tokio::time::timeout(REPLY_TIMEOUT, self.stream.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write: {e}")),
            Err(_) => Err("write timed out".to_string()),
        }
    }

    async fn reply(&mut self) -> Result<Reply, String> {
        let started = Instant::now();
        loop {
            match decode_reply(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("bad reply: {}", e.message())),
            }
            let left = REPLY_TIMEOUT.saturating_sub(started.elapsed());
            let mut chunk = [0u8; 16 << 10];
            match tokio::time::timeout(left, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) => return Err("the server closed the connection".to_string()),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => return Err(format!("read: {e}")),
                Err(_) => return Err(format!("no reply in {REPLY_TIMEOUT:?}")),
            }
        }
    }

    async fn call(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        self.send(&encode(args)).await?;
        self.reply().await
    }
}

/// What the well-behaved clients did.
#[derive(Default)]
struct Traffic {
    commands: AtomicU64,
    errors: AtomicU64,
    connected: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    /// Signalled when a client connects or sees an error (the connection waves wait on it).
    changed: tokio::sync::Notify,
}

impl Traffic {
    fn error(&self, text: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_waiters();
        let mut first = self.first_errors.lock().expect("lock");
        if first.len() < 20 {
            first.push(text);
        }
    }
}

/// One well-behaved client's keys and what they hold, as its own writes predict.
struct Model {
    id: usize,
    strings: HashMap<usize, Vec<u8>>,
    counters: [Option<i64>; 4],
}

const STRING_KEYS: usize = 16;

impl Model {
    fn string_key(&self, j: usize) -> Vec<u8> {
        format!("w{}:s{j}", self.id).into_bytes()
    }

    fn counter_key(&self, j: usize) -> Vec<u8> {
        format!("w{}:n{j}", self.id).into_bytes()
    }

    /// A random command of the mix and the reply it must get.
    fn next(&mut self, rng: &mut StdRng) -> (Vec<u8>, Reply) {
        let j = rng.random_range(0..STRING_KEYS);
        let value = |rng: &mut StdRng| -> Vec<u8> {
            let len = rng.random_range(1..=200);
            (0..len).map(|_| rng.random_range(b'a'..=b'z')).collect()
        };
        match rng.random_range(0..100) {
            0..25 => {
                let v = value(rng);
                let cmd = encode(&[b"SET", &self.string_key(j), &v]);
                self.strings.insert(j, v);
                (cmd, Reply::ok())
            }
            25..55 => {
                let expect = self.strings.get(&j).map_or(Reply::Null, Reply::bulk);
                (encode(&[b"GET", &self.string_key(j)]), expect)
            }
            55..70 => {
                let c = rng.random_range(0..self.counters.len());
                let n = self.counters[c].unwrap_or(0) + 1;
                self.counters[c] = Some(n);
                (encode(&[b"INCR", &self.counter_key(c)]), Reply::Integer(n))
            }
            70..80 => {
                let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
                for _ in 0..rng.random_range(2..=3) {
                    let k = rng.random_range(0..STRING_KEYS);
                    let v = value(rng);
                    args.push(self.string_key(k));
                    args.push(v.clone());
                    self.strings.insert(k, v);
                }
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                (encode(&refs), Reply::ok())
            }
            80..90 => {
                let mut args: Vec<Vec<u8>> = vec![b"DEL".to_vec()];
                let mut deleted = 0;
                for _ in 0..rng.random_range(1..=3) {
                    if rng.random_bool(0.2) {
                        let c = rng.random_range(0..self.counters.len());
                        args.push(self.counter_key(c));
                        deleted += i64::from(self.counters[c].take().is_some());
                    } else {
                        let k = rng.random_range(0..STRING_KEYS);
                        args.push(self.string_key(k));
                        deleted += i64::from(self.strings.remove(&k).is_some());
                    }
                }
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                (encode(&refs), Reply::Integer(deleted))
            }
            _ => {
                // A TTL far beyond the run, so no key expires under the model.
                let exists = i64::from(self.strings.contains_key(&j));
                (encode(&[b"EXPIRE", &self.string_key(j), b"1000000"]), Reply::Integer(exists))
            }
        }
    }
}

async fn well_behaved(
    id: usize,
    port: u16,
    mut rng: StdRng,
    deadline: Instant,
    traffic: Arc<Traffic>,
) {
    let mut client = match Client::connect(port).await {
        Ok(c) => c,
        Err(e) => return traffic.error(format!("client {id}: connect: {e}")),
    };
    traffic.connected.fetch_add(1, Ordering::Relaxed);
    traffic.changed.notify_waiters();
    let mut model = Model { id, strings: HashMap::new(), counters: [None; 4] };
    while Instant::now() < deadline {
        // A third of the time a pipeline of up to 32 commands, else one command.
        let n = if rng.random_bool(0.3) { rng.random_range(2..=32) } else { 1 };
        let mut wire = Vec::new();
        let mut expected = Vec::with_capacity(n);
        for _ in 0..n {
            let (cmd, reply) = model.next(&mut rng);
            wire.extend(cmd);
            expected.push(reply);
        }
        if let Err(e) = client.send(&wire).await {
            return traffic.error(format!("client {id}: {e}"));
        }
        for want in expected {
            match client.reply().await {
                Ok(got) if got == want => {}
                Ok(got) => return traffic.error(format!("client {id}: {got:?}, not {want:?}")),
                Err(e) => return traffic.error(format!("client {id}: {e}")),
            }
        }
        traffic.commands.fetch_add(n as u64, Ordering::Relaxed);
    }
    // At the end every key holds what this client's writes say.
    for j in 0..STRING_KEYS {
        let want = model.strings.get(&j).map_or(Reply::Null, Reply::bulk);
        match client.call(&[b"GET", &model.string_key(j)]).await {
            Ok(got) if got == want => {}
            other => return traffic.error(format!("client {id}: final GET s{j}: {other:?}")),
        }
    }
    for c in 0..model.counters.len() {
        let want = model.counters[c].map_or(Reply::Null, |n| Reply::bulk(n.to_string()));
        match client.call(&[b"GET", &model.counter_key(c)]).await {
            Ok(got) if got == want => {}
            other => return traffic.error(format!("client {id}: final GET n{c}: {other:?}")),
        }
    }
}

/// The kinds of abusive client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abuse {
    /// Sends one byte a second of a request that never ends: `timeout` (request age).
    SlowSender,
    /// Connects and sends nothing: `timeout` (idle).
    Idle,
    /// Pipelines GETs of a big value and never reads: the output soft limit or the write-stall
    /// timeout, whichever its pending bytes meet.
    NoReader,
    /// Asks for one reply bigger than the output hard limit: the hard limit.
    HugeReply,
    /// Sends a request bigger than the query buffer limit: the query buffer limit.
    HugeRequest,
}

const ABUSES: [Abuse; 5] =
    [Abuse::SlowSender, Abuse::Idle, Abuse::NoReader, Abuse::HugeReply, Abuse::HugeRequest];

/// What happened to one kind of abusive client over the run.
#[derive(Debug, Default)]
struct Outcome {
    /// Connections made.
    started: u64,
    /// Closed by the server as its limit says, in the time it says.
    dropped: u64,
    /// Seconds from the abuse's start to the close, per drop (min, max).
    close_secs: Option<(f64, f64)>,
    /// Anything else (served, not closed in time, closed too early).
    anomalies: Vec<String>,
}

impl Outcome {
    fn dropped_after(&mut self, t: Duration) {
        self.dropped += 1;
        let t = t.as_secs_f64();
        self.close_secs = Some(self.close_secs.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
    }
}

/// Whether the server closed `stream`: a read gives end of file or an error, within `limit`.
/// A reply instead is an anomaly, reported as `Err`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Result<bool, String> {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout(limit, stream.read(&mut chunk)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Ok(true),
        Ok(Ok(n)) => Err(format!("got a reply: {:?}", String::from_utf8_lossy(&chunk[..n]))),
        Err(_) => Ok(false),
    }
}

/// One abusive connection of `kind`, start to close; updates `outcome`.
async fn abuse_once(kind: Abuse, port: u16, outcome: &Mutex<Outcome>) {
    let record = |result: Result<Duration, String>| {
        let mut o = outcome.lock().expect("lock");
        match result {
            Ok(t) => o.dropped_after(t),
            Err(e) => o.anomalies.push(e),
        }
    };
    // Before the connect: the server's clocks start at its accept, after the handshake, while
    // this task may resume from the connect much later on a busy runtime.
    let started = Instant::now();
    let mut stream = match TcpStream::connect(("127.0.0.1", port)).await {
        Ok(s) => s,
        Err(e) => return record(Err(format!("connect: {e}"))),
    };
    outcome.lock().expect("lock").started += 1;
    let timeout = Duration::from_secs(TIMEOUT_SECS);
    let result = match kind {
        Abuse::SlowSender => {
            let mut request = b"*2\r\n$3\r\nGET\r\n$1000000\r\n".to_vec();
            request.resize(1_000_000, b'x');
            let mut result = Err(format!("not closed in {:?}", timeout + CLOSE_SLACK));
            for &byte in &request {
                if stream.write_all(&[byte]).await.is_err() {
                    result = Ok(started.elapsed());
                    break;
                }
                // Waiting a second for a reply that must not come paces the bytes.
                match closed_within(&mut stream, Duration::from_secs(1)).await {
                    Ok(true) => {
                        result = Ok(started.elapsed());
                        break;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
                if started.elapsed() > timeout + CLOSE_SLACK {
                    break;
                }
            }
            result.and_then(|t| within(t, timeout, "its request's age"))
        }
        Abuse::Idle => match closed_within(&mut stream, timeout + CLOSE_SLACK).await {
            Ok(true) => within(started.elapsed(), timeout, "idle"),
            Ok(false) => Err("idle client not closed".to_string()),
            Err(e) => Err(e),
        },
        Abuse::NoReader => {
            let soft = Duration::from_secs(OUTPUT_SOFT_SECS);
            let stall = Duration::from_secs(WRITE_STALL_SECS);
            let mut result = Err(format!("non-reader not closed in {:?}", stall + CLOSE_SLACK));
            if stream.write_all(&b"GET big\r\n".repeat(64)).await.is_ok() {
                // Never read: a write fails once the server has closed the connection. The
                // small PINGs pace the check without filling any buffer.
                while started.elapsed() < stall + CLOSE_SLACK {
                    let write = stream.write_all(b"PING\r\n");
                    match tokio::time::timeout(Duration::from_millis(250), write).await {
                        Ok(Err(_)) => {
                            result = Ok(started.elapsed());
                            break;
                        }
                        Ok(Ok(())) => {
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                        Err(_) => {}
                    }
                }
            } else {
                result = Err("could not send the pipeline".to_string());
            }
            // Not before the soft seconds; by the stall timeout at the latest.
            result.and_then(|t| {
                if t + CLOSE_EARLY < soft {
                    Err(format!("closed after {t:?}, before the soft seconds ({soft:?})"))
                } else if t > stall + CLOSE_SLACK {
                    Err(format!("closed after {t:?}, long after the write-stall timeout"))
                } else {
                    Ok(t)
                }
            })
        }
        Abuse::HugeReply => {
            let mut args: Vec<&[u8]> = vec![b"MGET"];
            let keys = OUTPUT_HARD_BYTES / BIG_VALUE_BYTES + 8;
            args.extend(std::iter::repeat_n(b"big".as_slice(), keys));
            match stream.write_all(&encode(&args)).await {
                Ok(()) => match closed_within(&mut stream, CLOSE_SLACK).await {
                    Ok(true) => Ok(started.elapsed()),
                    Ok(false) => Err("huge reply: not closed".to_string()),
                    Err(e) => Err(format!("huge reply: {e}")),
                },
                Err(e) => Err(format!("huge reply: write: {e}")),
            }
        }
        Abuse::HugeRequest => {
            let request = encode(&[b"SET", b"huge", &vec![b'x'; 4 * QUERY_BUFFER_LIMIT]]);
            let mut sent = 0;
            let mut closed = false;
            for chunk in request.chunks(64 << 10) {
                if stream.write_all(chunk).await.is_err() {
                    closed = true;
                    break;
                }
                sent += chunk.len();
            }
            if !closed {
                // All of it was sent (the kernel buffers what the server did not read): the
                // server must close, not answer +OK.
                match closed_within(&mut stream, CLOSE_SLACK).await {
                    Ok(true) => closed = true,
                    Ok(false) => {}
                    Err(e) => return record(Err(format!("huge request: {e}"))),
                }
            }
            if !closed {
                Err("huge request: not closed".to_string())
            } else if sent < QUERY_BUFFER_LIMIT {
                Err(format!("huge request: closed after only {sent} bytes"))
            } else {
                Ok(started.elapsed())
            }
        }
    };
    record(result.map_err(|e| format!("{kind:?}: {e}")));
}

/// `t` is at least `limit` (not closed early) and at most `limit + CLOSE_SLACK`.
fn within(t: Duration, limit: Duration, what: &str) -> Result<Duration, String> {
    if t + CLOSE_EARLY < limit {
        Err(format!("closed after {t:?}, before {what} ({limit:?})"))
    } else if t > limit + CLOSE_SLACK {
        Err(format!("closed after {t:?}, long after {what} ({limit:?})"))
    } else {
        Ok(t)
    }
}

/// Restarts `kind` until `deadline`, a second apart.
async fn abuser(kind: Abuse, port: u16, deadline: Instant, outcome: Arc<Mutex<Outcome>>) {
    // The last start leaves time for the longest abuse (a timeout plus slack) to end.
    let last_start = deadline.checked_sub(Duration::from_secs(TIMEOUT_SECS) + CLOSE_SLACK);
    while last_start.is_some_and(|t| Instant::now() < t) {
        abuse_once(kind, port, &outcome).await;
        // Paces the restarts: one abusive connection per kind per second at most.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The server's resident memory in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The server's memory and threads, for the progress lines.
fn memory_line(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let fields = ["VmRSS:", "RssAnon:", "RssFile:", "Threads:"];
    let parts: Vec<String> = status
        .lines()
        .filter(|l| fields.iter().any(|f| l.starts_with(f)))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    parts.join(", ")
}

/// An admin connection to the server, which `support::start` saw ready.
async fn connect_admin(port: u16) -> Client {
    Client::connect(port).await.expect("connect to a ready server")
}

fn info_field(info: &str, field: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no {field}"))
}

#[test]
fn overload_soak_serves_well_behaved_clients_and_drops_abusive_ones_with_flat_memory() {
    let seed = lode_testkit::Seed::new(
        "overload_soak_serves_well_behaved_clients_and_drops_abusive_ones_with_flat_memory",
    );
    let secs: u64 = env_or("LODE_SOAK_SECS", SOAK_SECS_DEFAULT);
    let conns: usize = env_or("LODE_SOAK_CONNS", CONNS_DEFAULT);
    assert!(secs >= 2 * (TIMEOUT_SECS + CLOSE_SLACK.as_secs()), "LODE_SOAK_SECS is too short");
    let abusers_per_kind = 2;
    let needed = (conns + ABUSES.len() * abusers_per_kind + 100) as u64;
    let limit = open_files_limit();
    assert!(
        limit >= needed,
        "the overload soak needs {needed} open files in this process and in the server, but \
         `ulimit -n` is {limit}: raise it (ulimit -n {needed}) or lower LODE_SOAK_CONNS"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (timeout, query_limit) = (TIMEOUT_SECS.to_string(), QUERY_BUFFER_LIMIT.to_string());
    let args = [
        "--timeout",
        &timeout,
        "--client-query-buffer-limit",
        &query_limit,
        "--client-output-buffer-limit",
        OUTPUT_BUFFER_LIMIT,
        "--maxclients",
        "4000",
        "--memtable-size",
        "4mb",
        "--cache-size",
        "16mb",
    ];
    let mut server = support::start(&dir.path().join("data"), port, &args)
        .unwrap_or_else(|log| panic!("lode serve did not start:\n{log}"));
    let pid = server.pid();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let traffic = Arc::new(Traffic::default());
    let outcomes: Vec<Arc<Mutex<Outcome>>> =
        ABUSES.iter().map(|_| Arc::new(Mutex::new(Outcome::default()))).collect();

    let (samples, info) = runtime.block_on(async {
        let mut admin = connect_admin(port).await;
        let big = vec![b'b'; BIG_VALUE_BYTES];
        assert_eq!(admin.call(&[b"SET", b"big", &big]).await, Ok(Reply::ok()));
        // Closed now, so the only idle clients the server closes are the abusive ones.
        drop(admin);
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);

        // RSS once a second until the deadline.
        let sampler = tokio::spawn(async move {
            let mut samples: Vec<(f64, u64)> = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while Instant::now() < deadline {
                tick.tick().await;
                if let Some(kib) = rss_kib(pid) {
                    samples.push((started.elapsed().as_secs_f64(), kib));
                }
            }
            samples
        });
        let mut tasks = Vec::new();
        for (kind, outcome) in ABUSES.iter().zip(&outcomes) {
            for _ in 0..abusers_per_kind {
                tasks.push(tokio::spawn(abuser(*kind, port, deadline, Arc::clone(outcome))));
            }
        }
        // Connect in waves of a hundred, so the listen backlog never overflows.
        for wave in (0..conns).collect::<Vec<_>>().chunks(100) {
            for &id in wave {
                let rng = seed.rng(id as u64);
                let traffic = Arc::clone(&traffic);
                tasks.push(tokio::spawn(well_behaved(id, port, rng, deadline, traffic)));
            }
            let target = (wave[wave.len() - 1] + 1) as u64;
            let wave_deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let notified = traffic.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let settled = traffic.connected.load(Ordering::Relaxed)
                    + traffic.errors.load(Ordering::Relaxed);
                if settled >= target
                    || tokio::time::timeout_at(wave_deadline, notified).await.is_err()
                {
                    break;
                }
            }
        }
        println!(
            "{} well-behaved clients connected in {:.1} s",
            traffic.connected.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
        // Progress every 10 s, so a long run shows it is alive.
        let progress = {
            let traffic = Arc::clone(&traffic);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(10));
                tick.tick().await;
                while Instant::now() < deadline {
                    tick.tick().await;
                    println!(
                        "{:>5.0} s: {} commands, {} errors, server {}",
                        started.elapsed().as_secs_f64(),
                        traffic.commands.load(Ordering::Relaxed),
                        traffic.errors.load(Ordering::Relaxed),
                        memory_line(pid)
                    );
                }
            })
        };
        let bound = deadline + Duration::from_secs(120);
        for task in tasks {
            let left = bound.saturating_duration_since(Instant::now());
            tokio::time::timeout(left, task).await.expect("clients end in time").expect("task");
        }
        progress.abort();
        let samples = sampler.await.expect("sampler");
        let mut admin = connect_admin(port).await;
        let info = match admin.call(&[b"INFO", b"stats"]).await {
            Ok(Reply::Bulk(text)) => String::from_utf8_lossy(&text).into_owned(),
            other => panic!("INFO: {other:?}"),
        };
        let _ = admin.call(&[b"SHUTDOWN"]).await;
        (samples, info)
    });
    let status = server.wait_exit(Duration::from_secs(60));

    // The figures, then the verdicts.
    let commands = traffic.commands.load(Ordering::Relaxed);
    println!(
        "{secs} s, {conns} well-behaved clients: {commands} commands ({:.0}/s), {} errors",
        commands as f64 / secs as f64,
        traffic.errors.load(Ordering::Relaxed)
    );
    let rss: Vec<u64> = samples.iter().map(|s| s.1).collect();
    let line: Vec<String> = samples.iter().map(|(t, k)| format!("{t:.0}:{}", k / 1024)).collect();
    println!("RSS MiB by second: {}", line.join(" "));
    let half = rss.len() / 2;
    let (first, second) = rss.split_at(half);
    let first_max = first.iter().copied().max().unwrap_or(0);
    let second_max = second.iter().copied().max().unwrap_or(0);
    println!(
        "RSS KiB: start {} middle {} end {} max {}; max of first half {first_max}, of second \
         half {second_max} (bound {}%)",
        rss.first().copied().unwrap_or(0),
        rss.get(half).copied().unwrap_or(0),
        rss.last().copied().unwrap_or(0),
        rss.iter().copied().max().unwrap_or(0),
        RSS_GROWTH_PERCENT_MAX
    );
    for (kind, outcome) in ABUSES.iter().zip(&outcomes) {
        let o = outcome.lock().expect("lock");
        println!(
            "{kind:?}: {} started, {} dropped by their limit (after {:?} s), anomalies {:?}",
            o.started, o.dropped, o.close_secs, o.anomalies
        );
    }
    let counters = [
        "client_query_buffer_limit_disconnections",
        "client_output_buffer_limit_disconnections",
        "lode_request_timeout_disconnections",
        "lode_idle_timeout_disconnections",
        "lode_write_stall_disconnections",
        "rejected_connections",
    ];
    for c in counters {
        println!("INFO {c}: {}", info_field(&info, c));
    }

    let log = server.log();
    let log_tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
    assert!(status.success(), "server exited with {status}; log tail:\n{log_tail}");
    let first_errors = traffic.first_errors.lock().expect("lock").clone();
    assert_eq!(
        traffic.errors.load(Ordering::Relaxed),
        0,
        "well-behaved clients saw errors: {first_errors:#?}\nserver log tail:\n{log_tail}"
    );
    assert_eq!(traffic.connected.load(Ordering::Relaxed), conns as u64);
    assert!(commands > 0);
    for (kind, outcome) in ABUSES.iter().zip(&outcomes) {
        let o = outcome.lock().expect("lock");
        assert!(o.anomalies.is_empty(), "{kind:?}: {:?}", o.anomalies);
        assert!(o.dropped > 0 && o.dropped == o.started, "{kind:?}: {o:?}");
    }
    // The server counts each close under the limit the client ran into, and closed no one else.
    let drops = |k: Abuse| {
        outcomes[ABUSES.iter().position(|a| *a == k).expect("kind")].lock().expect("lock").dropped
    };
    let field = |name: &str| info_field(&info, name);
    assert_eq!(field("client_query_buffer_limit_disconnections"), drops(Abuse::HugeRequest));
    assert_eq!(field("lode_request_timeout_disconnections"), drops(Abuse::SlowSender));
    assert_eq!(field("lode_idle_timeout_disconnections"), drops(Abuse::Idle));
    let output = field("client_output_buffer_limit_disconnections");
    assert!(output >= drops(Abuse::HugeReply), "every huge reply passes the hard limit");
    assert_eq!(
        output + field("lode_write_stall_disconnections"),
        drops(Abuse::HugeReply) + drops(Abuse::NoReader),
        "non-readers are closed by the soft limit or the write-stall timeout"
    );
    assert_eq!(field("rejected_connections"), 0);
    assert!(rss.len() as u64 >= secs / 2, "RSS sampled every second: {} samples", rss.len());
    assert!(
        second_max * 100 <= first_max * (100 + RSS_GROWTH_PERCENT_MAX),
        "RSS grew: max {second_max} KiB in the second half against {first_max} KiB in the first"
    );
}
