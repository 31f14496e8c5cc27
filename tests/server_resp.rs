#![cfg(feature = "server")]
//! The RESP server against the real `redis` client and raw sockets.

#[path = "support/server.rs"]
mod server_support;

use embercache::Db;
use embercache::server::Server;
use server_support::TestServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `input` and reads until the server closes the connection.
fn send_and_read_to_end(s: &mut TcpStream, input: &[u8]) -> Vec<u8> {
    s.write_all(input).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

/// Sends `input` and reads exactly `want.len()` bytes.
fn exchange(s: &mut TcpStream, input: &[u8], want: &str) {
    s.write_all(input).unwrap();
    let mut got = vec![0; want.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want, "reply to {:?}", String::from_utf8_lossy(input));
}

#[test]
fn sync_client_runs_data_commands() {
    let server = TestServer::new();
    let mut con = server.client();
    let () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let missing: Option<String> = redis::cmd("GET").arg("nope").query(&mut con).unwrap();
    assert_eq!(missing, None);
    let n: i64 = redis::cmd("INCR").arg("n").query(&mut con).unwrap();
    assert_eq!(n, 1);
    let len: i64 = redis::cmd("LPUSH").arg("l").arg("a").arg("b").arg("c").query(&mut con).unwrap();
    assert_eq!(len, 3);
    let items: Vec<String> = redis::cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut con).unwrap();
    assert_eq!(items, ["c", "b", "a"]);
    let added: i64 = redis::cmd("HSET").arg("h").arg("f1").arg("1").arg("f2").arg("2").query(&mut con).unwrap();
    assert_eq!(added, 2);
    let mut all: Vec<(String, String)> = redis::cmd("HGETALL").arg("h").query(&mut con).unwrap();
    all.sort();
    assert_eq!(all, [("f1".into(), "1".into()), ("f2".into(), "2".into())]);
    let _: i64 = redis::cmd("ZADD").arg("z").arg(2.5).arg("b").arg(1).arg("a").query(&mut con).unwrap();
    let ranked: Vec<(String, f64)> =
        redis::cmd("ZRANGE").arg("z").arg(0).arg(-1).arg("WITHSCORES").query(&mut con).unwrap();
    assert_eq!(ranked, [("a".into(), 1.0), ("b".into(), 2.5)]);
    let err = redis::cmd("INCR").arg("k").query::<i64>(&mut con).unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
}

#[test]
fn sync_client_connection_commands() {
    let server = TestServer::new();
    let mut con = server.client();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let msg: String = redis::cmd("PING").arg("hi").query(&mut con).unwrap();
    assert_eq!(msg, "hi");
    let echo: Vec<u8> = redis::cmd("ECHO").arg(&b"a\r\nb"[..]).query(&mut con).unwrap();
    assert_eq!(echo, b"a\r\nb");
    let () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    let err = redis::cmd("SELECT").arg(16).query::<()>(&mut con).unwrap_err();
    assert!(err.to_string().contains("DB index is out of range"), "{err}");
    let () = redis::cmd("CLIENT").arg("SETNAME").arg("worker-1").query(&mut con).unwrap();
    let name: String = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(name, "worker-1");
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    let other: i64 = redis::cmd("CLIENT").arg("ID").query(&mut server.client()).unwrap();
    assert!(id > 0 && other > 0 && id != other);
}

#[test]
fn pipeline_of_a_thousand_commands() {
    let server = TestServer::new();
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("INCRBY").arg("counter").arg(i);
    }
    let results: Vec<i64> = pipe.query(&mut con).unwrap();
    assert_eq!(results.len(), 1000);
    assert_eq!(results[999], (0..1000).sum::<i64>());
    assert!(results.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn resp3_after_hello_3() {
    let server = TestServer::new();
    let url = format!("{}?protocol=resp3", server.url());
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let _: i64 = redis::cmd("HSET").arg("h").arg("f").arg("v").query(&mut con).unwrap();
    let map: redis::Value = redis::cmd("HGETALL").arg("h").query(&mut con).unwrap();
    assert!(matches!(map, redis::Value::Map(ref m) if m.len() == 1), "{map:?}");
    let _: i64 = redis::cmd("ZADD").arg("z").arg(1.5).arg("m").query(&mut con).unwrap();
    let score: redis::Value = redis::cmd("ZSCORE").arg("z").arg("m").query(&mut con).unwrap();
    assert_eq!(score, redis::Value::Double(1.5));
    let nil: redis::Value = redis::cmd("GET").arg("missing").query(&mut con).unwrap();
    assert_eq!(nil, redis::Value::Nil);

    // And the exact bytes, over a raw socket.
    let mut s = server.raw();
    let mut hello = Vec::new();
    embercache::server::resp::encode_command(&["HELLO", "3"], &mut hello);
    s.write_all(&hello).unwrap();
    let mut got = vec![0; 16];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"%7\r\n$6\r\nserver\r\n");
    let mut s = server.raw();
    exchange(&mut s, b"HELLO 3\r\n", "%7\r\n");
    let mut s = server.raw();
    exchange(&mut s, b"HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n");
    exchange(&mut s, b"SADD s a\r\nSMEMBERS s\r\n", ":1\r\n*1\r\n$1\r\na\r\n");
}

#[test]
fn inline_commands_and_quit() {
    let server = TestServer::new();
    let mut s = server.raw();
    exchange(&mut s, b"PING\r\n", "+PONG\r\n");
    exchange(&mut s, b"set k 'a b'\r\nget k\nECHO \"\\x41\"\r\n", "+OK\r\n$3\r\na b\r\n$1\r\nA\r\n");
    exchange(&mut s, b"NOSUCH x\r\n", "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
    assert_eq!(send_and_read_to_end(&mut s, b"QUIT\r\nPING\r\n"), b"+OK\r\n");
}

#[test]
fn malformed_input_gets_the_protocol_error_and_a_closed_connection() {
    let server = TestServer::new();
    let cases: &[(&[u8], &str)] = &[
        (b"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        (b"*a\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"),
        (b"PING\r\nset k \"v\r\n", "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"),
    ];
    for (input, want) in cases {
        let mut s = server.raw();
        assert_eq!(String::from_utf8_lossy(&send_and_read_to_end(&mut s, input)), *want);
    }
    let mut s = server.raw();
    let out = send_and_read_to_end(&mut s, &vec![b'x'; 70 * 1024]);
    assert_eq!(String::from_utf8_lossy(&out), "-ERR Protocol error: too big inline request\r\n");
}

#[test]
fn query_buffer_limit_closes_the_connection() {
    let server = TestServer::start(Server::builder().query_buffer_limit(4096));
    let mut s = server.raw();
    let mut input = b"*2\r\n$4\r\nECHO\r\n$100000\r\n".to_vec();
    input.extend(vec![b'a'; 8192]);
    // Closed without a reply (writing more may fail once it is closed).
    let _ = s.write_all(&input);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(out.is_empty());
}

/// A thread that connects and sends `BLPOP key 10`, given time to block
/// (no timing is asserted: a push either wakes it or came first).
fn blpop_on_a_new_connection(
    server: &TestServer,
    key: &'static str,
) -> std::thread::JoinHandle<Option<(String, String)>> {
    let url = server.url();
    let waiter = std::thread::spawn(move || {
        let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
        redis::cmd("BLPOP").arg(key).arg(10).query(&mut con).unwrap()
    });
    std::thread::sleep(Duration::from_millis(100));
    waiter
}

#[test]
fn blpop_is_served_by_rpush_from_another_connection() {
    let server = TestServer::new();
    let waiter = blpop_on_a_new_connection(&server, "jobs");
    let mut con = server.client();
    let _: i64 = redis::cmd("RPUSH").arg("jobs").arg("job-1").query(&mut con).unwrap();
    assert_eq!(waiter.join().unwrap(), Some(("jobs".into(), "job-1".into())));
    // A blocked client does not stall the others.
    let timed_out: Option<(String, String)> = redis::cmd("BLPOP").arg("none").arg("0.05").query(&mut con).unwrap();
    assert_eq!(timed_out, None);
}

#[test]
fn a_client_that_leaves_while_blocked_takes_nothing_pushed_later() {
    let server = TestServer::new();
    let mut blocked = server.raw();
    blocked.write_all(b"BLPOP queue 0\r\n").unwrap();
    // Let it block, then leave without waiting for the reply.
    std::thread::sleep(Duration::from_millis(100));
    drop(blocked);
    std::thread::sleep(Duration::from_millis(100));
    let mut con = server.client();
    let _: i64 = redis::cmd("RPUSH").arg("queue").arg("job-1").query(&mut con).unwrap();
    // Whichever way the race went, the job must still be there: a client
    // that left never takes it.
    let mut len = 0;
    for _ in 0..50 {
        len = redis::cmd("LLEN").arg("queue").query(&mut con).unwrap();
        if len == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(len, 1, "the pushed job is still queued");
}

/// A blocking command in the middle of a pipeline: the replies before it
/// come first, then it waits (on a pumped connection, in the task it is
/// handed to), then the commands after it run, in order.
#[test]
fn a_pipeline_that_blocks_midway_goes_on_after_the_wait() {
    let server = TestServer::new();
    let mut s = server.raw();
    pipeline_blocked_midway(&server, &mut s);
    // The connection serves on as before.
    exchange(&mut s, b"GET a\r\n", "$1\r\n2\r\n");
}

/// Sends `SET a 1`, `BLPOP q 0`, `GET a`, `INCR a` in one write on `s`,
/// pushes to `q` from another connection, and checks every reply; the
/// bytes the two connections sent.
fn pipeline_blocked_midway(server: &TestServer, s: &mut TcpStream) -> usize {
    let pipeline = b"SET a 1\r\nBLPOP q 0\r\nGET a\r\nINCR a\r\n";
    s.write_all(pipeline).unwrap();
    let mut first = [0; 5];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"+OK\r\n");
    let push = b"RPUSH q x\r\n";
    exchange(&mut server.raw(), push, ":1\r\n");
    let want = "*2\r\n$1\r\nq\r\n$1\r\nx\r\n$1\r\n1\r\n:2\r\n";
    let mut rest = vec![0; want.len()];
    s.read_exact(&mut rest).unwrap();
    assert_eq!(String::from_utf8_lossy(&rest), want);
    pipeline.len() + push.len()
}

/// `total_net_input_bytes` counts every byte read once: a request split
/// across writes, and what a pipeline holds after a blocking command
/// (left for the task the connection is handed to), as redis-server counts.
#[test]
fn net_input_bytes_count_what_was_read() {
    let server = TestServer::new();
    let mut s = server.raw();
    let mut sent = pipeline_blocked_midway(&server, &mut s);
    let halves: [&[u8]; 2] = [b"*2\r\n$3\r\nGET\r", b"\n$1\r\na\r\n"];
    s.write_all(halves[0]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    exchange(&mut s, halves[1], "$1\r\n2\r\n");
    let info = b"INFO stats\r\n";
    s.write_all(info).unwrap();
    sent += halves[0].len() + halves[1].len() + info.len();
    let reply: String = redis::from_redis_value(&redis::Parser::new().parse_value(&mut s).unwrap()).unwrap();
    let counted = reply.lines().find_map(|l| l.strip_prefix("total_net_input_bytes:")).expect("the field");
    assert_eq!(counted.parse::<usize>().unwrap(), sent, "{reply}");
}

/// A client subscribed in the middle of its pipeline gets its messages,
/// and goes on running commands allowed to subscribers; an idle client
/// killed by another is closed.
#[test]
fn subscribers_get_their_messages_and_killed_clients_are_closed() {
    let server = TestServer::new();
    let mut sub = server.raw();
    exchange(
        &mut sub,
        b"PING\r\nSUBSCRIBE a b\r\n",
        "+PONG\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    );
    let mut con = server.client();
    for (channel, message) in [("a", "one"), ("b", "two"), ("a", "three")] {
        let n: i64 = redis::cmd("PUBLISH").arg(channel).arg(message).query(&mut con).unwrap();
        assert_eq!(n, 1);
        let want =
            format!("*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{message}\r\n", channel.len(), message.len());
        let mut got = vec![0; want.len()];
        sub.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want);
    }
    exchange(&mut sub, b"UNSUBSCRIBE a\r\n", "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n");

    let mut idle = server.raw();
    idle.write_all(b"CLIENT ID\r\n").unwrap();
    let mut id = Vec::new();
    let mut byte = [0];
    while !id.ends_with(b"\r\n") {
        idle.read_exact(&mut byte).unwrap();
        id.push(byte[0]);
    }
    let id = String::from_utf8_lossy(&id[1..id.len() - 2]).into_owned();
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(&id).query(&mut con).unwrap();
    assert_eq!(killed, 1);
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).unwrap(), 0, "closed with nothing more sent");
}

/// A RESP3 subscriber whose pipeline's replies wait for it to read (small
/// requests, large replies: the whole pipeline is read before the replies
/// are written): a message published meanwhile reaches it, and every reply
/// comes once it reads, none lost or left waiting behind the message.
#[test]
fn a_subscriber_that_reads_late_gets_every_reply_and_the_message() {
    const GETS: usize = 12;
    let server = TestServer::new();
    let value = "v".repeat(1 << 20);
    let mut con = server.client();
    let () = redis::cmd("SET").arg("big").arg(&value).query(&mut con).unwrap();
    let mut sub = server.raw();
    sub.write_all(b"HELLO 3\r\n").unwrap();
    let mut hello = [0; 1];
    sub.read_exact(&mut hello).unwrap();
    assert_eq!(&hello, b"%");
    // The rest of HELLO's map, then the confirmation (a push in RESP3).
    let confirm = ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n";
    sub.write_all(b"SUBSCRIBE ch\r\n").unwrap();
    let mut seen = Vec::new();
    let mut byte = [0];
    while !seen.ends_with(confirm.as_bytes()) {
        sub.read_exact(&mut byte).unwrap();
        seen.push(byte[0]);
    }
    sub.write_all("GET big\r\n".repeat(GETS).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let n: i64 = redis::cmd("PUBLISH").arg("ch").arg("hi").query(&mut con).unwrap();
    assert_eq!(n, 1);
    let reply = format!("${}\r\n{value}\r\n", value.len());
    let message = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    let mut got = vec![0; reply.len() * GETS + message.len()];
    sub.read_exact(&mut got).unwrap();
    let got = String::from_utf8(got).unwrap();
    let at = got.find(message).expect("the message arrived");
    assert_eq!(at % reply.len(), 0, "the message lies between two replies");
    let rest = format!("{}{}", &got[..at], &got[at + message.len()..]);
    assert!(rest == reply.repeat(GETS), "every GET answered once, in order");
}

#[test]
fn max_clients_refuses_the_next_one() {
    let server = TestServer::start(Server::builder().max_clients(1));
    let mut first = server.raw();
    exchange(&mut first, b"PING\r\n", "+PONG\r\n");
    // Refused on arrival, before it sends anything (unread input would make
    // the close a reset).
    let mut second = server.raw();
    let out = send_and_read_to_end(&mut second, b"");
    assert_eq!(String::from_utf8_lossy(&out), "-ERR max number of clients reached\r\n");
    drop(first);
    // The slot frees up once the first client is gone.
    let mut third = None;
    for _ in 0..100 {
        let mut s = server.raw();
        s.write_all(b"PING\r\n").unwrap();
        let mut got = [0u8; 7];
        if s.read_exact(&mut got).is_ok() && &got == b"+PONG\r\n" {
            third = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(third.is_some());
}

#[test]
fn shutdown_closes_connections_and_the_listener() {
    let server = TestServer::new();
    let addr = server.addr;
    let mut s = server.raw();
    exchange(&mut s, b"PING\r\n", "+PONG\r\n");
    server.shutdown();
    let mut out = Vec::new();
    assert_eq!(s.read_to_end(&mut out).unwrap_or(0), 0);
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn async_client_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let server = Server::builder().bind("127.0.0.1:0").build().unwrap();
        let handle = server.spawn(Db::new()).unwrap();
        let client = redis::Client::open(format!("redis://{}/", handle.local_addr())).unwrap();
        let con = client.get_multiplexed_async_connection().await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let mut con = con.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    let () = redis::cmd("SET").arg(format!("k{t}:{i}")).arg(i).query_async(&mut con).await.unwrap();
                    let _: i64 = redis::cmd("INCR").arg("total").query_async(&mut con).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut con = con;
        let total: i64 = redis::cmd("GET").arg("total").query_async(&mut con).await.unwrap();
        assert_eq!(total, 400);
        let v: i64 = redis::cmd("GET").arg("k7:49").query_async(&mut con).await.unwrap();
        assert_eq!(v, 49);
        handle.shutdown().await.unwrap();
    });
}

#[test]
fn shutdown_does_not_wait_for_a_client_that_never_reads() {
    let server = TestServer::new();
    let mut s = server.raw();
    let value = "x".repeat(1 << 20);
    let mut input = Vec::new();
    embercache::server::resp::encode_command(&["SET", "big", &value], &mut input);
    for _ in 0..64 {
        input.extend_from_slice(b"GET big\r\n");
    }
    // 64 MiB of replies that are never read: the server's write blocks.
    s.write_all(&input).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    server.shutdown();
}

/// With I/O threads of its own the server hands connections out round
/// robin; everything that crosses connections must cross threads too.
#[test]
fn io_threads_serve_connections_that_meet_across_threads() {
    let builder = Server::builder().io_threads(2).busy_poll(Duration::from_micros(50));
    let server = TestServer::start(builder.memcached_bind("127.0.0.1:0"));
    // Connections alternate between the threads: a, c, the BLPOP waiter
    // on one; b, d, the subscriber on the other.
    let mut a = server.client();
    let mut b = server.client();
    let mut c = server.client();
    let mut d = server.client();

    // A blocked client is woken by a push from the other thread.
    let waiter = blpop_on_a_new_connection(&server, "jobs");
    let _: i64 = redis::cmd("RPUSH").arg("jobs").arg("job-1").query(&mut b).unwrap();
    assert_eq!(waiter.join().unwrap(), Some(("jobs".into(), "job-1".into())));

    // WATCH sees a change made on the other thread.
    let () = redis::cmd("WATCH").arg("w").query(&mut a).unwrap();
    let () = redis::cmd("SET").arg("w").arg("theirs").query(&mut b).unwrap();
    let () = redis::cmd("MULTI").query(&mut a).unwrap();
    let () = redis::cmd("SET").arg("w").arg("mine").query(&mut a).unwrap();
    let aborted: Option<Vec<String>> = redis::cmd("EXEC").query(&mut a).unwrap();
    assert_eq!(aborted, None);
    let w: String = redis::cmd("GET").arg("w").query(&mut c).unwrap();
    assert_eq!(w, "theirs");

    // A message published on one thread reaches a subscriber on the other.
    let mut sub = server.raw();
    exchange(&mut sub, b"SUBSCRIBE news\r\n", "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    let receivers: i64 = redis::cmd("PUBLISH").arg("news").arg("hi").query(&mut c).unwrap();
    assert_eq!(receivers, 1);
    let want = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
    let mut got = vec![0; want.len()];
    sub.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want);

    // CLIENT KILL on one thread closes a connection served by the other.
    let victim: i64 = redis::cmd("CLIENT").arg("ID").query(&mut b).unwrap();
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(victim).query(&mut c).unwrap();
    assert_eq!(killed, 1);
    assert!(redis::cmd("PING").query::<String>(&mut b).is_err());

    // The Memcached port's connections share the threads and the store.
    let mut m = TcpStream::connect(server.memcached.unwrap()).unwrap();
    m.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    exchange(&mut m, b"set mc 0 0 2\r\nhi\r\n", "STORED\r\n");
    let v: String = redis::cmd("GET").arg("mc").query(&mut d).unwrap();
    assert_eq!(v, "hi");

    // Shutdown closes the connections on every thread.
    server.shutdown();
    let mut out = Vec::new();
    assert_eq!(sub.read_to_end(&mut out).unwrap_or(0), 0);
    assert_eq!(m.read_to_end(&mut out).unwrap_or(0), 0);
}
