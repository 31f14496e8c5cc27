//! Per-command cost of `Db` in process, against the same command sent to a
//! real `redis-server` over loopback (one request, one reply: the round trip
//! an application pays today), in the same run.
//!
//! Commands: GET, SET, INCR, LPUSH, LPOP, HSET, ZADD, ZRANK and ZRANGE (10
//! and 100 members from a random rank) over a 1M-member sorted set, at 1 and
//! 2 threads. embercache runs each command through `Db::execute` (argument
//! parsing and dispatch included, as the server will) and, for GET and SET,
//! also through the typed API (`embercache-typed`). Arguments are
//! preformatted, so formatting is not measured.
//!
//! Groups are `db/<command>/<threads>t`; bench ids `embercache`,
//! `embercache-typed` and `redis-server`. Without `redis-server` on the
//! PATH the peer is skipped with a message.
//!
//! ```text
//! cargo bench --bench db
//! python3 benches/ratios.py --groups db/ --peers redis-server
//! ```

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use embercache::Db;
use embercache::db::SetOptions;

/// Members of the big sorted set.
const ZSET_MEMBERS: usize = 1_000_000;
/// Plain keys for GET/SET.
const KEYS: usize = 100_000;
/// Preformatted argument pool size (a power of two).
const POOL: usize = 1 << 14;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A tiny RESP client: one command, one reply (read fully, not parsed
/// beyond what framing needs).
struct Resp {
    w: TcpStream,
    r: BufReader<TcpStream>,
    line: Vec<u8>,
}

impl Resp {
    fn connect(port: u16) -> Option<Resp> {
        let w = TcpStream::connect(("127.0.0.1", port)).ok()?;
        w.set_nodelay(true).ok()?;
        let r = BufReader::new(w.try_clone().ok()?);
        Some(Resp { w, r, line: Vec::new() })
    }

    fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn call(&mut self, frame: &[u8]) {
        self.w.write_all(frame).expect("write to redis-server");
        self.read_reply();
    }

    fn read_reply(&mut self) {
        self.line.clear();
        self.r.read_until(b'\n', &mut self.line).expect("read from redis-server");
        let n: i64 = std::str::from_utf8(&self.line[1..self.line.len().saturating_sub(2)])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        match self.line.first() {
            Some(b'$') if n >= 0 => {
                let mut buf = vec![0; n as usize + 2];
                self.r.read_exact(&mut buf).expect("bulk body");
            }
            Some(b'*') => {
                for _ in 0..n.max(0) {
                    self.read_reply();
                }
            }
            _ => {}
        }
    }
}

/// A `redis-server` on a free loopback port, stopped on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Option<RedisServer> {
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisServer { child, port };
        for _ in 0..200 {
            if let Some(mut c) = Resp::connect(port) {
                c.call(&Resp::encode(&[b"PING"]));
                return Some(server);
            }
            thread::sleep(Duration::from_millis(10));
        }
        eprintln!("!!! redis-server did not answer; skipping the peer");
        None
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One benchmarked command: builds the argument list for op number `i`
/// of thread `t`.
type Gen = fn(usize, usize, &Pool) -> Vec<Vec<u8>>;

struct Pool {
    keys: Vec<Vec<u8>>,
    members: Vec<Vec<u8>>,
    scores: Vec<Vec<u8>>,
    ranks: Vec<Vec<u8>>,
}

impl Pool {
    fn new() -> Pool {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let n = POOL;
        Pool {
            keys: (0..n).map(|_| format!("key:{}", next() % KEYS as u64).into_bytes()).collect(),
            members: (0..n).map(|_| format!("player:{}", next() % ZSET_MEMBERS as u64).into_bytes()).collect(),
            scores: (0..n).map(|_| (next() % 1_000_000).to_string().into_bytes()).collect(),
            ranks: (0..n).map(|_| (next() % (ZSET_MEMBERS as u64 - 200)).to_string().into_bytes()).collect(),
        }
    }
}

fn v(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

fn range_args(p: &Pool, i: usize, m: usize) -> Vec<Vec<u8>> {
    let start = &p.ranks[i % POOL];
    let stop = (std::str::from_utf8(start).unwrap().parse::<usize>().unwrap() + m - 1).to_string();
    v(&[b"ZRANGE", b"lb", start, stop.as_bytes()])
}

const COMMANDS: &[(&str, Gen)] = &[
    ("get", |_, i, p| v(&[b"GET", &p.keys[i % POOL]])),
    ("set", |_, i, p| v(&[b"SET", &p.keys[i % POOL], b"0123456789abcdef"])),
    ("incr", |t, i, _| v(&[b"INCR", format!("counter:{t}:{}", i % 1000).as_bytes()])),
    ("lpush", |t, _, _| v(&[b"LPUSH", format!("list:{t}").as_bytes(), b"0123456789abcdef"])),
    ("lpop", |t, _, _| v(&[b"LPOP", format!("list:{t}").as_bytes()])),
    ("hset", |t, i, p| v(&[b"HSET", format!("hash:{t}:{}", i % 1000).as_bytes(), &p.scores[i % POOL][..1], b"value"])),
    ("zadd", |_, i, p| v(&[b"ZADD", b"lb", &p.scores[i % POOL], &p.members[i % POOL]])),
    ("zrank", |_, i, p| v(&[b"ZRANK", b"lb", &p.members[i % POOL]])),
    ("zrange10", |_, i, p| range_args(p, i, 10)),
    ("zrange100", |_, i, p| range_args(p, i, 100)),
];

/// Fills both stores: GET keys, the big sorted set, and long lists for LPOP.
fn prefill(db: &Db, redis: Option<&mut Resp>) {
    let members = if full_run() { ZSET_MEMBERS } else { 10_000 };
    let mut frames = Vec::new();
    for k in 0..KEYS.min(members) {
        let key = format!("key:{k}");
        db.set(key.as_bytes(), b"0123456789abcdef", SetOptions::default()).unwrap();
        frames.push(Resp::encode(&[b"SET", key.as_bytes(), b"0123456789abcdef"]));
    }
    for m in 0..members {
        let (score, member) = ((m * 7919 % 1_000_000).to_string(), format!("player:{m}"));
        db.execute(&[b"ZADD".as_slice(), b"lb", score.as_bytes(), member.as_bytes()]);
        frames.push(Resp::encode(&[b"ZADD", b"lb", score.as_bytes(), member.as_bytes()]));
    }
    if let Some(r) = redis {
        // Pipelined, in chunks.
        for chunk in frames.chunks(1000) {
            let buf: Vec<u8> = chunk.concat();
            r.w.write_all(&buf).unwrap();
            for _ in chunk {
                r.read_reply();
            }
        }
    }
}

/// Runs `op` on `threads` fresh threads started together; the time is the
/// slowest thread's. One thread runs on a fresh thread too, not on the
/// bench's main thread: there, glibc's main heap (grown by the prefill)
/// made the same loop 1.4-1.8x slower (measured), which would be an
/// artefact of where the bench runs, not of the store.
fn timed(
    threads: usize,
    iters: u64,
    op: impl Fn(usize, &mut dyn FnMut(u64) -> Duration) -> Duration + Sync,
) -> Duration {
    let _ = iters;
    let barrier = Barrier::new(threads);
    let times: Vec<Duration> = thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (op, barrier) = (&op, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    op(t, &mut |_| Duration::ZERO)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    times.into_iter().max().unwrap_or_default()
}

fn bench_command(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    gen_args: Gen,
    threads: usize,
    db: &Db,
    pool: &Pool,
    redis_port: Option<u16>,
) {
    // Pops need something to pop: push `iters` first, untimed.
    let needs_items = name == "lpop";
    g.bench_function("embercache", |b| {
        b.iter_custom(|iters| {
            timed(threads, iters, |t, _| {
                let frames: Vec<Vec<Vec<u8>>> = (0..POOL).map(|i| gen_args(t, i, pool)).collect();
                if needs_items {
                    let key = format!("list:{t}");
                    for _ in 0..iters {
                        db.execute(&[b"RPUSH".as_slice(), key.as_bytes(), b"0123456789abcdef"]);
                    }
                }
                let start = Instant::now();
                for i in 0..iters as usize {
                    black_box(db.execute(&frames[i % POOL]));
                }
                let took = start.elapsed();
                if name == "lpush" {
                    db.execute(&[b"DEL".as_slice(), format!("list:{t}").as_bytes()]);
                }
                took
            })
        })
    });
    if name == "get" || name == "set" {
        g.bench_function("embercache-typed", |b| {
            b.iter_custom(|iters| {
                timed(threads, iters, |_, _| {
                    let start = Instant::now();
                    for i in 0..iters as usize {
                        let key = &pool.keys[i % POOL];
                        if name == "get" {
                            black_box(db.get(key).ok());
                        } else {
                            black_box(db.set(key, b"0123456789abcdef", SetOptions::default()).ok());
                        }
                    }
                    start.elapsed()
                })
            })
        });
    }
    if let Some(port) = redis_port {
        g.bench_function("redis-server", |b| {
            b.iter_custom(|iters| {
                timed(threads, iters, |t, _| {
                    let mut c = Resp::connect(port).expect("connect");
                    let frames: Vec<Vec<u8>> = (0..POOL)
                        .map(|i| {
                            let a = gen_args(t, i, pool);
                            Resp::encode(&a.iter().map(Vec::as_slice).collect::<Vec<_>>())
                        })
                        .collect();
                    if needs_items {
                        let push = Resp::encode(&[b"RPUSH", format!("list:{t}").as_bytes(), b"0123456789abcdef"]);
                        for _ in 0..iters {
                            c.call(&push);
                        }
                    }
                    let start = Instant::now();
                    for i in 0..iters as usize {
                        c.call(&frames[i % POOL]);
                    }
                    let took = start.elapsed();
                    if name == "lpush" {
                        c.call(&Resp::encode(&[b"DEL", format!("list:{t}").as_bytes()]));
                    }
                    took
                })
            })
        });
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    let db = Db::new();
    let pool = Pool::new();
    let server = if which("redis-server") {
        RedisServer::start()
    } else {
        eprintln!("!!! redis-server not found on PATH: the redis-server peer is skipped");
        None
    };
    let mut redis = server.as_ref().and_then(|s| Resp::connect(s.port));
    prefill(&db, redis.as_mut());
    drop(redis);
    let port = server.as_ref().map(|s| s.port);
    for threads in [1, 2] {
        for &(name, gen_args) in COMMANDS {
            let mut g = c.benchmark_group(format!("db/{name}/{threads}t"));
            g.throughput(Throughput::Elements(threads as u64));
            bench_command(&mut g, name, gen_args, threads, &db, &pool, port);
            g.finish();
        }
    }
    c.final_summary();
}

fn which(bin: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}
