#![cfg(feature = "server")]
//! The Memcached listener against the real `memcache` client, raw sockets,
//! the `redis` client on the same `Db`, Debian's `memccapable`, and a real
//! `memcached` answering the same commands.

use embercache::Db;
use embercache::acl::Acl;
use embercache::server::{Server, ServerBuilder, ServerHandle};
use proptest::prelude::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the server under test serves its Memcached connections.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// A task per connection, on a multi-thread runtime.
    Tasks,
    /// One pump on a current-thread runtime (as `embercache-server` with
    /// one thread runs).
    Pump,
    /// A pump on each of two I/O threads, which busy poll.
    Threads,
}

const SHAPES: [Shape; 3] = [Shape::Tasks, Shape::Pump, Shape::Threads];

/// Runs `test` on a server of each shape, built by `builder`, and shuts
/// each down after.
fn each_shape(builder: impl Fn() -> ServerBuilder, test: impl Fn(&TestServer)) {
    for shape in SHAPES {
        println!("{shape:?}");
        let server = TestServer::shaped(builder(), shape);
        test(&server);
        server.shutdown();
    }
}

/// What runs the server: a runtime of the test's, or a thread with a
/// current-thread runtime of its own (the test thread blocks on sockets,
/// so it cannot drive one).
enum Host {
    Runtime(tokio::runtime::Runtime, Option<ServerHandle>),
    Thread(Option<tokio::sync::oneshot::Sender<()>>, Option<std::thread::JoinHandle<()>>),
}

/// A server (RESP and Memcached) on free loopback ports.
struct TestServer {
    host: Host,
    db: Db,
    resp: SocketAddr,
    mc: SocketAddr,
}

impl TestServer {
    fn start(builder: ServerBuilder) -> Self {
        Self::shaped(builder, Shape::Tasks)
    }

    fn shaped(builder: ServerBuilder, shape: Shape) -> Self {
        let builder = match shape {
            Shape::Threads => builder.io_threads(2).busy_poll(Duration::from_micros(50)),
            Shape::Tasks | Shape::Pump => builder,
        };
        let server = builder.bind("127.0.0.1:0").memcached_bind("127.0.0.1:0").build().unwrap();
        let db = Db::new();
        if let Shape::Pump = shape {
            let (addrs, addrs_rx) = std::sync::mpsc::channel();
            let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let served = db.clone();
            let thread = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    let handle = server.spawn(served).unwrap();
                    addrs.send((handle.local_addr(), handle.memcached_addr().unwrap())).unwrap();
                    let _ = stop_rx.await;
                    handle.shutdown().await.unwrap();
                });
            });
            let (resp, mc) = addrs_rx.recv().unwrap();
            return TestServer { host: Host::Thread(Some(stop), Some(thread)), db, resp, mc };
        }
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let handle = {
            let _enter = rt.enter();
            server.spawn(db.clone()).unwrap()
        };
        let (resp, mc) = (handle.local_addr(), handle.memcached_addr().unwrap());
        TestServer { host: Host::Runtime(rt, Some(handle)), db, resp, mc }
    }

    fn new() -> Self {
        Self::start(Server::builder())
    }

    fn client(&self) -> memcache::Client {
        memcache::Client::connect(format!("memcache://{}?protocol=ascii", self.mc)).unwrap()
    }

    fn redis(&self) -> redis::Connection {
        redis::Client::open(format!("redis://{}/", self.resp)).unwrap().get_connection().unwrap()
    }

    fn raw(&self) -> TcpStream {
        raw(self.mc)
    }

    fn shutdown(mut self) {
        match &mut self.host {
            Host::Runtime(rt, handle) => rt.block_on(handle.take().unwrap().shutdown()).unwrap(),
            Host::Thread(stop, thread) => {
                let _ = stop.take().unwrap().send(());
                thread.take().unwrap().join().unwrap();
            }
        }
    }
}

fn raw(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends `input` and reads exactly `want.len()` bytes.
fn exchange(s: &mut TcpStream, input: &[u8], want: &str) {
    s.write_all(input).unwrap();
    let mut got = vec![0; want.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want, "reply to {:?}", String::from_utf8_lossy(input));
}

/// Sends `input` and reads until the server closes the connection.
fn send_and_read_to_end(s: &mut TcpStream, input: &[u8]) -> Vec<u8> {
    let _ = s.write_all(input);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends `input` and reads one line of reply.
fn line_reply(s: &mut TcpStream, input: &[u8]) -> Vec<u8> {
    s.write_all(input).unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "closed after {:?}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    got
}

/// Sends `command` then `mn`, and returns what came before `MN`: the
/// command's whole reply, however many lines, even none.
fn reply_to(s: &mut TcpStream, command: &[u8]) -> Vec<u8> {
    let mut input = command.to_vec();
    input.extend_from_slice(b"mn\r\n");
    s.write_all(&input).unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    while !got.ends_with(b"MN\r\n") {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {:?}: {:?}", String::from_utf8_lossy(command), String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    got.truncate(got.len() - 4);
    got
}

#[test]
fn memcache_crate_client() {
    each_shape(Server::builder, |server| {
        let c = server.client();
        assert!(c.version().unwrap()[0].1.starts_with("1.6.0 embercache-"));
        c.set("k", "v", 0).unwrap();
        assert_eq!(c.get::<String>("k").unwrap().as_deref(), Some("v"));
        assert_eq!(c.get::<String>("missing").unwrap(), None);
        // The client does not report NOT_STORED: check what was stored.
        let _ = c.add("k", "again", 0);
        assert_eq!(c.get::<String>("k").unwrap().as_deref(), Some("v"), "add leaves an existing key");
        c.add("k2", "two", 0).unwrap();
        c.replace("k2", "2", 0).unwrap();
        let _ = c.replace("nope", "x", 0);
        assert_eq!(c.get::<String>("nope").unwrap(), None, "replace does not create");
        c.append("k", "+").unwrap();
        c.prepend("k", "-").unwrap();
        assert_eq!(c.get::<String>("k").unwrap().as_deref(), Some("-v+"));
        // CAS: from gets, good once, then stale.
        let (_, _, cas): (String, u32, Option<u64>) = c.get("k").unwrap().unwrap();
        let cas = cas.unwrap();
        assert!(c.cas("k", "swapped", 0, cas).unwrap());
        assert!(!c.cas("k", "again", 0, cas).unwrap());
        assert_eq!(c.get::<String>("k").unwrap().as_deref(), Some("swapped"));
        // Counters: 64-bit unsigned, decr stops at 0.
        c.set("n", 10u64, 0).unwrap();
        assert_eq!(c.increment("n", 5).unwrap(), 15);
        assert_eq!(c.decrement("n", 100).unwrap(), 0);
        c.set("n", u64::MAX, 0).unwrap();
        assert_eq!(c.increment("n", 2).unwrap(), 1);
        assert!(c.increment("k", 1).is_err(), "not a number");
        // Touch, delete, multi-get, flush.
        assert!(c.touch("k", 100).unwrap());
        assert!(!c.touch("nope", 100).unwrap());
        let many = c.gets::<String>(&["k", "k2", "nope"]).unwrap();
        assert_eq!(many.len(), 2);
        assert_eq!(many["k2"], "2");
        assert!(c.delete("k2").unwrap());
        assert!(!c.delete("k2").unwrap());
        c.flush().unwrap();
        assert_eq!(c.get::<String>("k").unwrap(), None);
    });
}

#[test]
fn text_protocol_exact_replies_pipelined() {
    each_shape(Server::builder, |server| {
        let mut s = server.raw();
        // Everything in one write; the replies come back in order.
        exchange(
            &mut s,
            b"set a 5 0 3\r\nabc\r\nget a b\r\nadd a 0 0 1\r\nx\r\nappend a 0 0 1\r\nd\r\n\
          incr a 1\r\nset n 0 0 1\r\n9\r\nincr n 1\r\ndecr n 20\r\ntouch n 100\r\ndelete n\r\ndelete n\r\nbogus\r\n",
            "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\nNOT_STORED\r\nSTORED\r\n\
         CLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\n10\r\n0\r\nTOUCHED\r\nDELETED\r\n\
         NOT_FOUND\r\nERROR\r\n",
        );
        exchange(
            &mut s,
            b"set q 0 0 1 noreply\r\nz\r\nincr q 1 noreply\r\ndelete q noreply\r\nget q a\r\n",
            "VALUE a 5 4\r\nabcd\r\nEND\r\n",
        );
        let reply = String::from_utf8(reply_to(&mut s, b"gets a\r\n")).unwrap();
        let cas = reply.lines().next().unwrap().split(' ').nth(4).unwrap().to_owned();
        exchange(
            &mut s,
            format!("cas a 1 0 1 {cas}\r\nx\r\ncas a 1 0 1 {cas}\r\ny\r\n").as_bytes(),
            "STORED\r\nEXISTS\r\n",
        );
        exchange(
            &mut s,
            b"gat 100 a\r\nverbosity 1\r\nflush_all\r\nget a\r\n",
            "VALUE a 1 1\r\nx\r\nEND\r\nOK\r\nOK\r\nEND\r\n",
        );
        let stats = String::from_utf8(reply_to(&mut s, b"stats\r\n")).unwrap();
        assert!(stats.contains("STAT curr_connections 1\r\n") && stats.ends_with("END\r\n"), "{stats}");
        assert_eq!(send_and_read_to_end(&mut s, b"quit\r\nget a\r\n"), b"");
    });
}

#[test]
fn meta_protocol_exact_replies() {
    each_shape(Server::builder, |server| {
        let mut s = server.raw();
        exchange(
            &mut s,
            b"ms m 3 T0 F5\r\nabc\r\nmg m v k f s t O1\r\nmg nope v q\r\nmg nope v k\r\nms m 1 MA q\r\nd\r\nmg m v\r\nmn\r\n",
            "HD\r\nVA 3 km f5 s3 t-1 O1\r\nabc\r\nEN knope\r\nVA 4\r\nabcd\r\nMN\r\n",
        );
        exchange(
            &mut s,
            b"ma c N0 J10 v\r\nma c MD D3 v\r\nma c q\r\nmd c q\r\nmd c k\r\nme c\r\nmg c Tx\r\n",
            "VA 2\r\n10\r\nVA 1\r\n7\r\nNF kc\r\nEN\r\nCLIENT_ERROR bad token in command line format\r\n",
        );
        exchange(&mut s, b"mg w N30 v\r\nmg w v\r\n", "VA 0 W\r\n\r\nVA 0 Z\r\n\r\n");
    });
}

#[test]
fn errors_and_limits() {
    each_shape(
        || Server::builder().memcached_max_item_size(1000),
        |server| {
            let mut s = server.raw();
            let long_key = "k".repeat(251);
            exchange(&mut s, format!("get {long_key}\r\n").as_bytes(), "CLIENT_ERROR bad command line format\r\n");
            exchange(&mut s, b"set a x 0 1\r\nz\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
            exchange(&mut s, b"set a 0 0 2\r\nabcd\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
            // Too large: refused at once, then the data is skipped as it arrives.
            exchange(&mut s, b"set big 0 0 5000\r\n", "SERVER_ERROR object too large for cache\r\n");
            for _ in 0..5 {
                s.write_all(&[b'x'; 1000]).unwrap();
            }
            exchange(&mut s, b"\r\nget big\r\n", "END\r\n");
            // A huge declared size is never allocated.
            exchange(&mut s, b"set big 0 0 2147483647 noreply\r\nmn\r\n", "");
            drop(s);
            let mut s = server.raw();
            exchange(&mut s, b"set ok 0 0 995\r\n", "");
            s.write_all(&[b'y'; 995]).unwrap();
            exchange(&mut s, b"\r\n", "STORED\r\n");
            // An unterminated line over 2048 bytes: an error, then the connection closes.
            let out = send_and_read_to_end(&mut s, &[b'g'; 4096]);
            assert_eq!(String::from_utf8_lossy(&out), "CLIENT_ERROR line too long\r\n");
        },
    );
}

#[test]
fn binary_protocol_is_refused_and_closed() {
    each_shape(Server::builder, |server| {
        let mut s = server.raw();
        // A binary GET of "k" (header, then the key).
        let mut request = vec![0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        request.extend_from_slice(&[0; 8]);
        request.push(b'k');
        let out = send_and_read_to_end(&mut s, &request);
        assert!(out.len() > 24, "{out:?}");
        assert_eq!(&out[..8], &[0x81, 0x00, 0, 0, 0, 0, 0x00, 0x83], "magic, opcode, status Not supported");
        assert_eq!(&out[12..16], &[0xde, 0xad, 0xbe, 0xef]);
        assert!(String::from_utf8_lossy(&out[24..]).contains("binary protocol is not supported"));
    });
}

#[test]
fn one_keyspace_for_both_protocols() {
    let server = TestServer::new();
    let c = server.client();
    let mut r = server.redis();
    c.set("from-mc", "hello", 0).unwrap();
    let v: String = redis::cmd("GET").arg("from-mc").query(&mut r).unwrap();
    assert_eq!(v, "hello");
    let () = redis::cmd("SET").arg("from-redis").arg("world").query(&mut r).unwrap();
    assert_eq!(c.get::<String>("from-redis").unwrap().as_deref(), Some("world"));
    let () = redis::cmd("SET").arg("n").arg("41").query(&mut r).unwrap();
    assert_eq!(c.increment("n", 1).unwrap(), 42);
    let n: i64 = redis::cmd("INCR").arg("n").query(&mut r).unwrap();
    assert_eq!(n, 43);
    // Expiry set on one side is seen on the other.
    let mut s = server.raw();
    exchange(&mut s, b"set t 0 100 1\r\nx\r\n", "STORED\r\n");
    let ttl: i64 = redis::cmd("TTL").arg("t").query(&mut r).unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    // The CAS unique changes after a Redis write: a held one fails.
    let reply = String::from_utf8(reply_to(&mut s, b"gets from-mc\r\n")).unwrap();
    let cas = reply.lines().next().unwrap().split(' ').nth(4).unwrap().to_owned();
    let () = redis::cmd("SET").arg("from-mc").arg("changed").query(&mut r).unwrap();
    exchange(&mut s, format!("cas from-mc 0 0 1 {cas}\r\nx\r\n").as_bytes(), "EXISTS\r\n");
    exchange(&mut s, b"get from-mc\r\n", "VALUE from-mc 0 7\r\nchanged\r\nEND\r\n");
    // A key of another type: a miss for reads, WRONGTYPE for edits.
    let _: i64 = redis::cmd("RPUSH").arg("list").arg("a").query(&mut r).unwrap();
    exchange(
        &mut s,
        b"get list\r\nappend list 0 0 1\r\nx\r\n",
        "END\r\nCLIENT_ERROR WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    assert_eq!(server.db.execute(&["LLEN", "list"]), embercache::db::Reply::Integer(1));
    server.shutdown();
}

#[test]
fn listener_shares_shutdown_and_client_limit() {
    for shape in SHAPES {
        println!("{shape:?}");
        // Off unless asked for.
        let plain = Server::builder().bind("127.0.0.1:0").build().unwrap();
        assert_eq!(plain.memcached_addr().unwrap(), None);

        let server = TestServer::shaped(Server::builder().max_clients(1), shape);
        let mut first = server.raw();
        exchange(&mut first, b"version\r\n", "VERSION 1.6.0 embercache-");
        let mut resp = TcpStream::connect(server.resp).unwrap();
        resp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(send_and_read_to_end(&mut resp, b""), b"-ERR max number of clients reached\r\n");
        let mut second = server.raw();
        assert_eq!(send_and_read_to_end(&mut second, b""), b"ERROR Too many open connections\r\n");
        // Shutdown closes the open connection.
        let mut first = first;
        let start = Instant::now();
        server.shutdown();
        let mut rest = Vec::new();
        let _ = first.read_to_end(&mut rest);
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn delayed_flush_all_runs_without_further_commands() {
    each_shape(Server::builder, |server| {
        let mut s = server.raw();
        exchange(
            &mut s,
            b"set a 0 0 1\r\nx\r\nflush_all 1\r\nget a\r\n",
            "STORED\r\nOK\r\nVALUE a 0 1\r\nx\r\nEND\r\n",
        );
        // The listener's timer flushes it: seen through Redis with no
        // Memcached command sent meanwhile.
        let mut r = server.redis();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let exists: i64 = redis::cmd("EXISTS").arg("a").query(&mut r).unwrap();
            if exists == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the delayed flush never ran");
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

/// Whether tests that need a system binary must run (CI) or may skip.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `path` if it exists; otherwise skips loudly, or fails under CI=true.
fn binary<'a>(path: &'a str, package: &str) -> Option<&'a str> {
    if std::path::Path::new(path).exists() {
        return Some(path);
    }
    assert!(!required(), "{path} is missing (apt-get install {package}); required when CI=true");
    eprintln!("!!! SKIPPED: {path} not found (apt-get install {package})");
    None
}

#[test]
fn memccapable_ascii_passes() {
    let Some(memccapable) = binary("/usr/bin/memccapable", "libmemcached-tools") else { return };
    each_shape(Server::builder, |server| {
        let out = Command::new(memccapable)
            .args(["-h", "127.0.0.1", "-p", &server.mc.port().to_string(), "-a", "-t", "10"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("All tests passed"), "memccapable -a:\n{text}");
        assert!(text.matches("[pass]").count() >= 27, "{text}");
    });
}

/// A real memcached on a free loopback port, killed on drop.
struct Memcached(Child, SocketAddr);

impl Memcached {
    fn start(path: &str, extra: &[&str]) -> Memcached {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(path)
            // `-u root` is only used when run as root (memcached refuses root otherwise).
            .args(["-p", &port.to_string(), "-U", "0", "-l", "127.0.0.1", "-u", "root"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "memcached did not start on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Memcached(child, addr)
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `reply` with CAS uniques replaced by `<cas>`: the 5th word of `VALUE`
/// lines and `c<digits>` tokens of meta status lines.
fn normalize(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let meta = ["HD", "VA ", "EX", "NS", "NF", "EN"];
    text.split_inclusive("\r\n")
        .map(|line| {
            if line.starts_with("VALUE ") {
                let mut words: Vec<&str> = line.trim_end().split(' ').collect();
                if words.len() == 5 {
                    words[4] = "<cas>";
                }
                words.join(" ") + "\r\n"
            } else if meta.iter().any(|m| line.starts_with(m)) {
                let words = line.trim_end().split(' ').map(|w| {
                    let cas = w.len() > 1 && w.starts_with('c') && w[1..].bytes().all(|b| b.is_ascii_digit());
                    if cas { "c<cas>" } else { w }
                });
                words.collect::<Vec<_>>().join(" ") + "\r\n"
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// The last CAS unique in `reply` (from `gets` or a meta `c` flag).
fn last_cas(reply: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(reply);
    text.lines()
        .rev()
        .filter_map(|line| {
            if line.starts_with("VALUE ") {
                line.split(' ').nth(4).map(str::to_owned)
            } else {
                line.split(' ')
                    .find(|w| w.len() > 1 && w.starts_with('c') && w[1..].bytes().all(|b| b.is_ascii_digit()))
                    .map(|w| w[1..].to_owned())
            }
        })
        .next()
}

/// The commands both servers answer the same, byte for byte (CAS values
/// aside). `$CAS` is the last unique that server reported.
fn differential_commands() -> Vec<Vec<u8>> {
    let k251 = "k".repeat(251);
    let o31 = "O".to_string() + &"7".repeat(31);
    let mut cmds: Vec<Vec<u8>> = [
        // Text: storage, retrieval, CAS.
        "set a 5 0 3\r\nabc\r\n",
        "get a b\r\n",
        "gets a\r\n",
        "cas a 7 0 3 $CAS\r\nxyz\r\n",
        "cas a 7 0 3 $CAS\r\nxyz\r\n",
        "cas nope 0 0 1 1\r\nx\r\n",
        "add a 0 0 1\r\nx\r\n",
        "add b 3 0 2\r\nbb\r\n",
        "replace zz 0 0 1\r\nx\r\n",
        "replace b 4 0 2\r\ncc\r\n",
        "append b 9 9 1\r\nd\r\n",
        "prepend b 9 9 1\r\n_\r\n",
        "append zz 0 0 1\r\nx\r\n",
        "get a b zz\r\n",
        "gets  a  b \r\n",
        "set e 0 0 0\r\n\r\nget e\r\n",
        // Counters.
        "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\n",
        "incr n x\r\nincr nope 1\r\nincr a 1\r\n",
        "set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\n",
        "incr a 18446744073709551616\r\nincr a -1\r\n",
        "set s 0 0 3\r\n 12\r\nincr s 1\r\nset s 0 0 3\r\n12 \r\nincr s 1\r\n",
        "set s 0 0 2\r\n-1\r\nincr s 1\r\nset s 0 0 0\r\n\r\nincr s 1\r\n",
        "set n 0 0 1\r\n9\r\nincr n 1\r\nget n\r\n",
        // Touch, gat, delete, expiry.
        "touch a 10\r\ntouch zz 10\r\ntouch a\r\ntouch a x\r\n",
        "gat 100 a\r\ngats 100 a zz\r\ngat x a\r\ngat\r\ngat 1\r\n",
        "delete b\r\ndelete b\r\ndelete b 0\r\ndelete b x\r\n",
        "delete a noreply\r\nget a\r\n",
        "set c 0 -1 1\r\nc\r\nget c\r\n",
        "set t 0 10 1\r\nx\r\ntouch t -1\r\nget t\r\n",
        // Malformed lines and bad data.
        "bogus\r\nGET a\r\n\r\nget\r\n",
        "set a x 0 1\r\nz\r\n",
        "set a 1 0 -1\r\n",
        "set a 1 0 2\r\nabcdef\r\n",
        "set a\r\nset a 1 2\r\ncas a 0 0 1\r\n",
        "cas a 0 0 1 abc\r\nx\r\n",
        "set a 1 0 1 bogus\r\nx\r\nget a\r\n",
        "set a 1 0 1 noreply extra\r\nx\r\n",
        "verbosity 1\r\nverbosity\r\nverbosity x\r\nverbosity 1 noreply\r\n",
        "flush_all x\r\n",
        // noreply everywhere.
        "set q 0 0 1 noreply\r\nx\r\nadd q 0 0 1 noreply\r\ny\r\nappend q 0 0 1 noreply\r\nz\r\nget q\r\n",
        "incr q 1 noreply\r\ntouch q 10 noreply\r\nset q 0 0 -1 noreply\r\ndelete q noreply\r\nget q\r\n",
        // Meta get and set.
        "ms m1 3 T0 F5\r\nabc\r\n",
        "mg m1 v k f c t s O123\r\nmg m1\r\nmg nope v\r\nmg nope v q\r\n",
        "mg m1 s v\r\nmg m1 k\r\nmg m1 q k\r\nmg m1 t\r\n",
        "mg m1 z\r\nmg m1 vv\r\nmg m1 v v\r\nmg m1 O\r\n",
        "mg m1 Tx\r\nmg m1 Nx\r\nmg m1 Rx\r\nmg m1 E5\r\nmg m1 P L\r\nmg m1 Pfoo Lbar v\r\n",
        "mg nope k v O2 q\r\nmg nope k v O2\r\n",
        "ms m3 2 c\r\nhi\r\nms m3 2 C1\r\nhi\r\nms m3 2 q\r\nhi\r\nms m3 2 q ME\r\nhi\r\n",
        "ms m4 2 MX\r\nhi\r\nms m4 x\r\nhi\r\nms m4\r\n",
        "ms m4 2 MA\r\nhi\r\nms m1 2 MA\r\nhi\r\nmg m1 v\r\nms m1 2 MP k O9\r\nhi\r\nmg m1 v f\r\n",
        "ms m1 2 MR\r\nzz\r\nms nope 2 MR\r\nzz\r\nms m1 2 ME\r\nzz\r\n",
        "ms m5 2 Fx\r\nab\r\nms m5 2 Tx\r\nab\r\nms m5 2 S3\r\nab\r\nms m5 2 invalid\r\nab\r\n",
        "ms a3 0\r\n\r\nmg a3 v s\r\nms a4 -1\r\nms a4 01 T0\r\nx\r\nmg a4 v\r\n",
        "ms s 1 T-1\r\nx\r\nmg s\r\nms s 1 F1 T0 I\r\nx\r\nmg s f\r\nmd s T30\r\nmg s\r\n",
        "ms c1 2 c k O7 F9\r\nab\r\n",
        "mg c1 c f\r\n",
        "ms c1 2 C$CAS c\r\ncd\r\n",
        "ms c1 2 C$CAS\r\nef\r\nmg c1 v\r\n",
        "set u 1 0 2\r\nhi\r\nmg u v f s t k O1 q h\r\nmg u h\r\n",
        // Meta delete and arithmetic.
        "md m1 q\r\nmd m1\r\nmd m1 q\r\n",
        "ms m2 2 T0\r\nhi\r\nmd m2 C1\r\nmd m2 k O5\r\n",
        "md nope k O5\r\nma nope k O5\r\nms nope 1 MR k O5\r\nx\r\nms nope 1 k O5 C5\r\nx\r\n",
        "ma cnt\r\nma cnt N0 J10 v\r\nma cnt v\r\nma cnt MD D100 v\r\nma cnt D5 v t c\r\nma cnt q\r\n",
        "ma cnt MI D18446744073709551615 v\r\n",
        "ms s1 2\r\nab\r\nma s1\r\nma s1 Dx\r\nma s1 MZ\r\n",
        "ma n Jx\r\nma n Nx\r\nma n Tx\r\nma n Cx\r\nma n D1 D2\r\nma n z\r\n",
        "md n Cx\r\nmd n Tx I\r\nmd n z\r\n",
        "ms num 1\r\n5\r\nma num C1 v\r\nmd num C1 q\r\n",
        // Stale items and recache tokens.
        "ms st 2 T0\r\nab\r\nmd st I\r\nmg st v c\r\nmg st v\r\nms st 2 C999999999 I\r\ncd\r\nmg st v\r\n",
        "md num I q\r\nmg num v\r\nmg num k v O2 q\r\n",
        "mg vv N30 v c t\r\nmg vv N30 v\r\nmg vv v\r\n",
        "ms r 2 T100\r\nab\r\nmg r R200 v c\r\nmg r R200 v\r\nmg r R20 v\r\n",
        "ms r2 2 T100\r\nab\r\nmg r2 R20 v\r\n",
        // Binary keys.
        "ms YWJj 2 b k\r\nab\r\nmg YWJj b k v\r\nmg abc v\r\nms b64 2 b\r\nab\r\n",
        "mg\r\nme\r\nMN\r\n",
        // Flush.
        "flush_all\r\nget a b m1\r\nmg m1 v\r\n",
    ]
    .iter()
    .map(|c| c.as_bytes().to_vec())
    .collect();
    // Each alone: memcached drops the replies pipelined before a `get`
    // with an overlong key (a quirk not worth copying).
    for cmd in ["set {k} 0 0 1\r\nx\r\n", "get {k}\r\n", "get a {k}\r\n", "mg {k} v\r\n", "ms {k} 1\r\nx\r\n"] {
        cmds.push(cmd.replace("{k}", &k251).into_bytes());
    }
    cmds.push(format!("mg m3 {o31}\r\nmg m3 {o31}7\r\nma m3 {o31}77\r\n").into_bytes());
    // Items over the 1 MiB limit, and appends that would grow past it.
    let mut big = b"set big 0 0 2000000\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 2_000_000));
    big.extend_from_slice(b"\r\nget big\r\n");
    cmds.push(big);
    let mut big = b"set big 0 0 1000000\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 1_000_000));
    big.extend_from_slice(b"\r\nappend big 0 0 100000\r\n");
    big.extend(std::iter::repeat_n(b'y', 100_000));
    big.extend_from_slice(b"\r\nmg big s\r\n");
    cmds.push(big);
    cmds
}

#[test]
fn same_replies_as_memcached() {
    let Some(path) = binary("/usr/bin/memcached", "memcached") else { return };
    each_shape(Server::builder, |server| {
        let memcached = Memcached::start(path, &[]);
        let (mut theirs, mut ours) = (raw(memcached.1), server.raw());
        let (mut their_cas, mut our_cas) = (String::new(), String::new());
        let mut differences = Vec::new();
        for cmd in differential_commands() {
            let text = String::from_utf8_lossy(&cmd);
            let shown: String = text.chars().take(120).collect();
            let expected =
                reply_to(&mut theirs, &String::from_utf8_lossy(&cmd).replace("$CAS", &their_cas).into_bytes());
            let got = reply_to(&mut ours, &String::from_utf8_lossy(&cmd).replace("$CAS", &our_cas).into_bytes());
            if let Some(c) = last_cas(&expected) {
                their_cas = c;
            }
            if let Some(c) = last_cas(&got) {
                our_cas = c;
            }
            let (expected, got) = (normalize(&expected), normalize(&got));
            if expected != got {
                differences.push(format!("{shown:?}\n  memcached: {expected:?}\n  ours:      {got:?}"));
            }
        }
        assert!(differences.is_empty(), "{} differences:\n{}", differences.len(), differences.join("\n"));
        // `quit` closes both, with nothing said.
        assert_eq!(send_and_read_to_end(&mut theirs, b"quit\r\n"), b"");
        assert_eq!(send_and_read_to_end(&mut ours, b"quit\r\n"), b"");
    });
}

/// A server whose ACL wants a password, with user `alice` allowed `app:*`.
fn server_with_users() -> TestServer {
    let acl = Acl::new();
    acl.set_user("alice", &["on", ">s3cret", "~app:*", "+@all"]).unwrap();
    TestServer::start(Server::builder().acl(acl).requirepass("admin-secret"))
}

#[test]
fn memcached_clients_log_in_as_acl_users() {
    let server = server_with_users();
    // An ordinary client logs in with memcached's `set` of "<user> <password>":
    // the `memcache` crate sends it for the credentials in its URL.
    let connect = |credentials: &str| {
        let url = format!("memcache://{credentials}{}?protocol=ascii", server.mc);
        // The pool retries a refused connection until this timeout.
        memcache::Client::builder().add_server(url)?.with_connection_timeout(Duration::from_secs(1)).build()
    };
    assert!(connect("alice:wrong@").is_err(), "a wrong password is refused");
    assert!(connect("").is_err(), "no password: the pool's first `version` is refused");
    let c = connect("alice:s3cret@").unwrap();
    c.set("app:greeting", "hello", 0).unwrap();
    assert_eq!(c.get::<String>("app:greeting").unwrap().as_deref(), Some("hello"));
    let refused = c.set("elsewhere", "x", 0).unwrap_err().to_string();
    assert!(refused.contains("NOPERM"), "{refused}");
    // The credentials were not stored, and the RESP side sees the write.
    let mut r = redis::Client::open(format!("redis://default:admin-secret@{}/", server.resp))
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut r).unwrap();
    assert_eq!(keys, ["app:greeting"]);
    let log: Vec<redis::Value> = redis::cmd("ACL").arg("LOG").query(&mut r).unwrap();
    let log = format!("{log:?}");
    assert!(log.contains("lib-name=memcached"), "refusals and failed logins are logged with the client: {log}");
    // Before logging in, a request is answered and the connection closed.
    let mut s = server.raw();
    assert_eq!(send_and_read_to_end(&mut s, b"get app:greeting\r\n"), b"CLIENT_ERROR unauthenticated\r\n");
    server.shutdown();
}

#[test]
fn authentication_answers_as_memcached_does() {
    let Some(path) = binary("/usr/bin/memcached", "memcached") else { return };
    let dir = std::env::temp_dir().join(format!("embercache-mc-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let authfile = dir.join("authfile");
    std::fs::write(&authfile, "alice:s3cret\n").unwrap();
    let memcached = Memcached::start(path, &["-Y", authfile.to_str().unwrap()]);
    let server = server_with_users();
    let exchanges: [&[u8]; 5] = [
        b"set auth 0 0 11\r\nalice wrong\r\n",
        b"set auth 0 0 9\r\nbob s3cre\r\n",
        b"set auth 0 0 12\r\nalice s3cret\r\n",
        b"set app:k 0 0 1\r\nx\r\nget app:k\r\n",
        b"gets app:missing\r\n",
    ];
    let (mut theirs, mut ours) = (raw(memcached.1), server.raw());
    for (i, input) in exchanges.into_iter().enumerate() {
        // Until logged in, each answer is one line (`mn` is not answered yet).
        let (expected, got) = if i < 3 {
            (line_reply(&mut theirs, input), line_reply(&mut ours, input))
        } else {
            (reply_to(&mut theirs, input), reply_to(&mut ours, input))
        };
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // Before authenticating: the same first answer (memcached then ignores
    // the rest of what was sent; embercache closes the connection).
    for input in [&b"get app:k\r\n"[..], b"version\r\n", b"set auth\r\n"] {
        let (mut theirs, mut ours) = (raw(memcached.1), server.raw());
        let want = b"CLIENT_ERROR unauthenticated\r\n";
        theirs.write_all(input).unwrap();
        let mut got = vec![0; want.len()];
        theirs.read_exact(&mut got).unwrap();
        assert_eq!(got, want, "memcached, {:?}", String::from_utf8_lossy(input));
        assert_eq!(send_and_read_to_end(&mut ours, input), want, "{:?}", String::from_utf8_lossy(input));
    }
    drop(memcached);
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown();
}

#[test]
fn swapdb_moves_what_the_memcached_port_serves() {
    let server = TestServer::new();
    let mut r = server.redis();
    let mut s = server.raw();
    exchange(&mut s, b"set where 0 0 4\r\nzero\r\n", "STORED\r\n");
    redis::cmd("SELECT").arg(1).exec(&mut r).unwrap();
    redis::cmd("SET").arg("where").arg("one").exec(&mut r).unwrap();
    redis::cmd("SWAPDB").arg(0).arg(1).exec(&mut r).unwrap();
    // Database 0 now holds what was in 1, for connections old and new.
    exchange(&mut s, b"get where\r\n", "VALUE where 0 3\r\none\r\nEND\r\n");
    exchange(&mut server.raw(), b"get where\r\n", "VALUE where 0 3\r\none\r\nEND\r\n");
    let old: String = redis::cmd("GET").arg("where").query(&mut r).unwrap();
    assert_eq!(old, "zero", "database 1 holds what the Memcached client wrote");
    // A delayed flush_all empties database 0 as it is when it runs.
    exchange(&mut s, b"flush_all 1\r\n", "OK\r\n");
    redis::cmd("SWAPDB").arg(0).arg(1).exec(&mut r).unwrap();
    redis::cmd("SELECT").arg(0).exec(&mut r).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis::cmd("DBSIZE").query::<i64>(&mut r).unwrap() != 0 {
        assert!(Instant::now() < deadline, "the delayed flush never ran on database 0 as swapped");
        std::thread::sleep(Duration::from_millis(50));
    }
    redis::cmd("SELECT").arg(1).exec(&mut r).unwrap();
    let kept: String = redis::cmd("GET").arg("where").query(&mut r).unwrap();
    assert_eq!(kept, "one", "the database swapped out was not flushed");
    server.shutdown();
}

#[test]
fn memcached_writes_never_land_inside_a_transaction() {
    let server = TestServer::new();
    let mut s = server.raw();
    exchange(&mut s, b"set n 0 0 1\r\n0\r\n", "STORED\r\n");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut batch = Vec::new();
            for _ in 0..16 {
                batch.extend_from_slice(b"incr n 1 noreply\r\n");
            }
            batch.extend_from_slice(b"mn\r\n");
            let mut writes = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                exchange(&mut s, &batch, "MN\r\n");
                writes += 16;
            }
            writes
        })
    };
    let mut r = server.redis();
    for _ in 0..300 {
        let (a, b): (u64, u64) = redis::pipe().atomic().cmd("GET").arg("n").cmd("GET").arg("n").query(&mut r).unwrap();
        assert_eq!(a, b, "a Memcached incr ran between two commands of one EXEC");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().unwrap();
    let n: u64 = redis::cmd("GET").arg("n").query(&mut r).unwrap();
    assert_eq!(n, writes, "every incr counted");
    assert!(writes > 0);
    server.shutdown();
}

/// Reads one `get` reply (through `END`) from `s`.
fn get_reply(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while !got.ends_with(b"END\r\n") {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    got
}

/// Many clients whose `get`s arrive together, so that a pump reads them in
/// one round and warms their lookups together: each gets its own values.
#[test]
fn clients_served_together_each_get_their_own_values() {
    const CLIENTS: usize = 40;
    each_shape(Server::builder, |server| {
        let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.raw()).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            let value = format!("value-{i}-{}", "v".repeat(i * 37));
            exchange(c, format!("set key-{i} {i} 0 {}\r\n{value}\r\n", value.len()).as_bytes(), "STORED\r\n");
        }
        for round in 0..20 {
            // Everyone's request is on its way before anyone's reply is read.
            for (i, c) in clients.iter_mut().enumerate() {
                let other = (i + round) % CLIENTS;
                let request = match round % 3 {
                    0 => format!("get key-{i}\r\n"),
                    1 => format!("get key-{i} missing-{i} key-{other}\r\n"),
                    _ => format!("mg key-{i} v f\r\nmn\r\nget key-{other}\r\n"),
                };
                c.write_all(request.as_bytes()).unwrap();
            }
            for (i, c) in clients.iter_mut().enumerate() {
                let other = (i + round) % CLIENTS;
                let value = |k: usize| format!("value-{k}-{}", "v".repeat(k * 37));
                let item = |k: usize| format!("VALUE key-{k} {k} {}\r\n{}\r\n", value(k).len(), value(k));
                let want = match round % 3 {
                    0 => format!("{}END\r\n", item(i)),
                    1 => format!("{}{}END\r\n", item(i), item(other)),
                    _ => format!("VA {} f{i}\r\n{}\r\nMN\r\n{}END\r\n", value(i).len(), value(i), item(other)),
                };
                let got = get_reply(c);
                assert_eq!(String::from_utf8_lossy(&got), want, "client {i}, round {round}");
            }
        }
    });
}

/// A client that sends many `get`s of a large value without reading the
/// replies: the server holds back that client only (it stops reading it
/// while its replies wait), and every reply arrives whole once it reads.
#[test]
fn a_client_that_does_not_read_holds_back_only_itself() {
    const GETS: usize = 300;
    each_shape(Server::builder, |server| {
        let value: Vec<u8> = (0..64 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
        let mut slow = server.raw();
        let mut set = format!("set big 7 0 {}\r\n", value.len()).into_bytes();
        set.extend_from_slice(&value);
        set.extend_from_slice(b"\r\n");
        exchange(&mut slow, &set, "STORED\r\n");
        // 19 MiB of replies: far more than the sockets' buffers hold.
        let mut writer = slow.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            for _ in 0..GETS {
                writer.write_all(b"get big\r\n").unwrap();
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        // Meanwhile another client is answered.
        let mut other = server.raw();
        for i in 0..20 {
            exchange(
                &mut other,
                format!("set k{i} 0 0 1\r\n{}\r\nget k{i}\r\n", i % 10).as_bytes(),
                &format!("STORED\r\nVALUE k{i} 0 1\r\n{}\r\nEND\r\n", i % 10),
            );
        }
        let mut item = format!("VALUE big 7 {}\r\n", value.len()).into_bytes();
        item.extend_from_slice(&value);
        item.extend_from_slice(b"\r\nEND\r\n");
        let mut got = vec![0u8; item.len()];
        for n in 0..GETS {
            slow.read_exact(&mut got).unwrap();
            assert!(got == item, "reply {n} differs");
        }
        sender.join().unwrap();
    });
}

/// Values larger than one read of the socket, and requests split anywhere.
#[test]
fn requests_that_span_reads() {
    each_shape(Server::builder, |server| {
        let mut s = server.raw();
        let value: Vec<u8> = (0..1_000_000).map(|i| (i % 251) as u8).collect();
        let mut set = format!("set large 0 0 {}\r\n", value.len()).into_bytes();
        set.extend_from_slice(&value);
        set.extend_from_slice(b"\r\n");
        exchange(&mut s, &set, "STORED\r\n");
        s.write_all(b"get large\r\n").unwrap();
        let mut want = format!("VALUE large 0 {}\r\n", value.len()).into_bytes();
        want.extend_from_slice(&value);
        want.extend_from_slice(b"\r\nEND\r\n");
        let mut got = vec![0u8; want.len()];
        s.read_exact(&mut got).unwrap();
        assert!(got == want, "the large value came back different");
        // One request, a byte at a time.
        for &b in b"set tiny 0 0 2\r\nhi\r\n" {
            s.write_all(&[b]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        exchange(&mut s, b"get tiny\r\n", "STORED\r\nVALUE tiny 0 2\r\nhi\r\nEND\r\n");
    });
}

/// Connections that leave (closing their socket, or `quit`) are closed and
/// counted out of `curr_connections`.
#[test]
fn connections_that_leave_are_counted_out() {
    each_shape(Server::builder, |server| {
        let mut watcher = server.raw();
        let current = |s: &mut TcpStream| -> String {
            let stats = String::from_utf8(reply_to(s, b"stats\r\n")).unwrap();
            let line = stats.lines().find(|l| l.starts_with("STAT curr_connections ")).unwrap();
            line.trim_start_matches("STAT curr_connections ").to_owned()
        };
        let mut others: Vec<TcpStream> = (0..5).map(|_| server.raw()).collect();
        for o in &mut others {
            exchange(o, b"version\r\n", "VERSION ");
            let mut rest = [0u8; 64];
            let _ = o.read(&mut rest);
        }
        assert_eq!(current(&mut watcher), "6");
        let mut quitter = others.pop().unwrap();
        assert_eq!(send_and_read_to_end(&mut quitter, b"quit\r\n"), b"");
        others.truncate(1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while current(&mut watcher) != "2" {
            assert!(Instant::now() < deadline, "closed connections still counted: {}", current(&mut watcher));
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(others);
    });
}

/// A client's request on one of its own keys (`c<client>:<k>`), or a `get`
/// of several.
#[derive(Debug, Clone)]
enum Op {
    Store(&'static str, u8, u16, Vec<u8>),
    Get(Vec<u8>),
    Delete(u8),
    Incr(u8, u8),
    Touch(u8),
    MetaGet(u8),
    MetaSet(u8, Vec<u8>),
    MetaArith(u8),
    MetaNoop,
}

fn op() -> impl Strategy<Value = Op> {
    let value = || {
        prop_oneof![
            4 => proptest::collection::vec(b'0'..=b'9', 0..8),
            2 => proptest::collection::vec(b'a'..=b'z', 0..3000),
            1 => proptest::collection::vec(any::<u8>(), 15_000..20_000),
        ]
    };
    let mode = prop_oneof![Just("set"), Just("add"), Just("replace"), Just("append"), Just("prepend")];
    prop_oneof![
        4 => (mode, 0..4u8, any::<u16>(), value()).prop_map(|(m, k, f, v)| Op::Store(m, k, f, v)),
        4 => proptest::collection::vec(0..5u8, 1..4).prop_map(Op::Get),
        1 => (0..4u8).prop_map(Op::Delete),
        1 => (0..4u8, any::<u8>()).prop_map(|(k, n)| Op::Incr(k, n)),
        1 => (0..4u8).prop_map(Op::Touch),
        2 => (0..4u8).prop_map(Op::MetaGet),
        1 => (0..4u8, value()).prop_map(|(k, v)| Op::MetaSet(k, v)),
        1 => (0..4u8).prop_map(Op::MetaArith),
        1 => Just(Op::MetaNoop),
    ]
}

/// `op` as client `c` sends it.
fn render(op: &Op, c: usize) -> Vec<u8> {
    let mut out = match op {
        Op::Store(mode, k, flags, v) => format!("{mode} c{c}:{k} {flags} 0 {}\r\n", v.len()).into_bytes(),
        Op::Get(keys) => {
            let keys: Vec<String> = keys.iter().map(|k| format!("c{c}:{k}")).collect();
            format!("get {}\r\n", keys.join(" ")).into_bytes()
        }
        Op::Delete(k) => format!("delete c{c}:{k}\r\n").into_bytes(),
        Op::Incr(k, n) => format!("incr c{c}:{k} {n}\r\n").into_bytes(),
        Op::Touch(k) => format!("touch c{c}:{k} 0\r\n").into_bytes(),
        Op::MetaGet(k) => format!("mg c{c}:{k} v f s k\r\n").into_bytes(),
        Op::MetaSet(k, v) => format!("ms c{c}:{k} {} F7\r\n", v.len()).into_bytes(),
        Op::MetaArith(k) => format!("ma c{c}:{k} N0 J5 v\r\n").into_bytes(),
        Op::MetaNoop => b"mn\r\n".to_vec(),
    };
    if let Op::Store(.., v) | Op::MetaSet(_, v) = op {
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// What a `Session` of its own answers to `input`, sent whole.
fn answers(input: &[u8]) -> Vec<u8> {
    let mut session = embercache::server::memcache::Session::new(Db::new());
    let (mut out, mut pos) = (Vec::new(), 0);
    while pos < input.len() {
        let progress = session.process(&input[pos..], &mut out);
        pos += progress.consumed;
        if progress.consumed == 0 || progress.close {
            break;
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 8, ..ProptestConfig::default() })]

    /// Clients on keys of their own, their requests cut into pieces of any
    /// size and sent interleaved, every client's pieces before any reply is
    /// read: each gets, byte for byte, what a `Session` of its own answers
    /// to its requests sent whole, whatever the server's shape.
    #[test]
    fn interleaved_clients_get_what_a_session_answers(
        scripts in proptest::collection::vec(proptest::collection::vec(op(), 1..25), 2..7),
        cuts in proptest::collection::vec(1..5000usize, 1..40),
        order in proptest::collection::vec(any::<usize>(), 1..200),
    ) {
        let inputs: Vec<Vec<u8>> =
            scripts.iter().enumerate().map(|(c, ops)| ops.iter().flat_map(|op| render(op, c)).collect()).collect();
        let wanted: Vec<Vec<u8>> = inputs.iter().map(|i| answers(i)).collect();
        each_shape(Server::builder, |server| {
            let mut clients: Vec<TcpStream> = inputs.iter().map(|_| server.raw()).collect();
            let mut sent = vec![0usize; inputs.len()];
            let (mut turn, mut cut) = (0, 0);
            while sent.iter().zip(&inputs).any(|(s, i)| s < &i.len()) {
                // The client `order` names, or the next one with more to send.
                let first = order[turn % order.len()] % inputs.len();
                turn += 1;
                let Some(c) = (0..inputs.len()).map(|i| (first + i) % inputs.len()).find(|&c| sent[c] < inputs[c].len())
                else {
                    break;
                };
                let end = (sent[c] + cuts[cut % cuts.len()]).min(inputs[c].len());
                cut += 1;
                clients[c].write_all(&inputs[c][sent[c]..end]).unwrap();
                sent[c] = end;
            }
            for (c, client) in clients.iter_mut().enumerate() {
                let mut got = vec![0u8; wanted[c].len()];
                client.read_exact(&mut got).unwrap();
                assert!(got == wanted[c], "client {c}: {:?}", String::from_utf8_lossy(&got));
            }
        });
    }
}
