//! Shared by the examples that compare against Redis (`db_memory`,
//! `persist_bench`): a `redis-server` child on a free loopback port, killed
//! on drop, and a pipelined RESP connection to it.
//!
//! Included with `#[path = "common/redis.rs"] mod redis;` (not through
//! `common/mod.rs`, so that the examples that never start Redis do not
//! compile it).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Commands written to redis before their replies are read.
const PIPELINE: usize = 256;
/// How often [`RedisServer::connect`] and [`RedisServer::shutdown`] poll.
const POLL: Duration = Duration::from_millis(1);

/// Whether an executable named `name` is on `PATH`.
pub(crate) fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// `redis-server`'s version (`redis-server 7.0.15`), or just `redis-server`.
pub(crate) fn version() -> String {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.split_whitespace().find_map(|w| w.strip_prefix("v=")).map(|v| format!("redis-server {v}"))
        })
        .unwrap_or_else(|| "redis-server".to_owned())
}

/// A RESP reply (the kinds the commands used here answer).
#[derive(Debug)]
pub(crate) enum Reply {
    Status,
    Int(i64),
    Bulk(Option<Vec<u8>>),
}

/// A `redis-server` child process on a loopback port, killed on drop.
pub(crate) struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port with `args` after the
    /// port, bind address and `--daemonize no` (stdout discarded, stderr
    /// passed through).
    pub(crate) fn start(args: &[&str]) -> Result<RedisServer, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--daemonize", "no"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        Ok(RedisServer { child, port })
    }

    /// Connects, retrying every millisecond until the server listens (at
    /// most 10 s).
    pub(crate) fn connect(&mut self) -> Result<Redis, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpStream::connect(("127.0.0.1", self.port)) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    let read = stream.try_clone().map_err(|e| format!("redis: {e}"))?;
                    let write = BufWriter::with_capacity(1 << 16, stream);
                    return Ok(Redis { write, read: BufReader::with_capacity(1 << 16, read), pending: 0 });
                }
                Err(e) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        return Err(format!("redis-server exited before listening: {status}"));
                    }
                    if Instant::now() > deadline {
                        return Err(format!("redis-server on port {} not reachable: {e}", self.port));
                    }
                    std::thread::sleep(POLL);
                }
            }
        }
    }

    /// Stops the server with `SHUTDOWN NOSAVE` through `redis` and waits
    /// for the process to exit (at most 10 s; killed on drop otherwise).
    pub(crate) fn shutdown(mut self, mut redis: Redis) -> Result<(), String> {
        redis.sync()?;
        redis.begin(2)?;
        redis.bulk(b"SHUTDOWN")?;
        redis.bulk(b"NOSAVE")?;
        redis.write.flush().map_err(io_err)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => return Err("redis-server did not exit after SHUTDOWN NOSAVE".to_owned()),
                Err(e) => return Err(format!("waiting for redis-server: {e}")),
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pipelined RESP connection.
pub(crate) struct Redis {
    write: BufWriter<TcpStream>,
    read: BufReader<TcpStream>,
    /// Commands written whose replies are not read yet.
    pending: usize,
}

fn io_err(e: std::io::Error) -> String {
    format!("redis connection: {e}")
}

impl Redis {
    /// Writes one argument of the command begun with [`Redis::begin`].
    pub(crate) fn bulk(&mut self, arg: &[u8]) -> Result<(), String> {
        write!(self.write, "${}\r\n", arg.len()).map_err(io_err)?;
        self.write.write_all(arg).map_err(io_err)?;
        self.write.write_all(b"\r\n").map_err(io_err)
    }

    /// Starts a command of `args` arguments; the caller writes them with [`Redis::bulk`].
    pub(crate) fn begin(&mut self, args: usize) -> Result<(), String> {
        write!(self.write, "*{args}\r\n").map_err(io_err)
    }

    /// Ends a command: reads the replies once [`PIPELINE`] are pending.
    pub(crate) fn end(&mut self) -> Result<(), String> {
        self.pending += 1;
        if self.pending >= PIPELINE { self.sync() } else { Ok(()) }
    }

    /// Writes `ZADD key score member …` as one pipelined command.
    pub(crate) fn zadd(&mut self, key: &[u8], pairs: &[(f64, &[u8])]) -> Result<(), String> {
        self.begin(2 + 2 * pairs.len())?;
        self.bulk(b"ZADD")?;
        self.bulk(key)?;
        let mut score = String::new();
        for (s, member) in pairs {
            score.clear();
            let _ = write!(score, "{s}");
            self.bulk(score.as_bytes())?;
            self.bulk(member)?;
        }
        self.end()
    }

    /// Reads every pending reply (any error reply is an error).
    pub(crate) fn sync(&mut self) -> Result<(), String> {
        self.write.flush().map_err(io_err)?;
        while self.pending > 0 {
            self.reply()?;
            self.pending -= 1;
        }
        Ok(())
    }

    /// Sends one command and returns its reply.
    pub(crate) fn call(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        self.sync()?;
        self.begin(args.len())?;
        for arg in args {
            self.bulk(arg)?;
        }
        self.write.flush().map_err(io_err)?;
        self.reply()
    }

    /// Reads one reply.
    fn reply(&mut self) -> Result<Reply, String> {
        let mut line = Vec::new();
        self.read.read_until(b'\n', &mut line).map_err(io_err)?;
        let Some(body) = line.strip_suffix(b"\r\n") else {
            return Err(format!("redis: malformed reply line {:?}", String::from_utf8_lossy(&line)));
        };
        let (&kind, rest) = body.split_first().ok_or("redis: empty reply line")?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let number = || text.parse::<i64>().map_err(|_| format!("redis: bad number {text:?}"));
        match kind {
            b'+' => Ok(Reply::Status),
            b'-' => Err(format!("redis error: {text}")),
            b':' => Ok(Reply::Int(number()?)),
            b'$' => {
                let Ok(len) = usize::try_from(number()?) else { return Ok(Reply::Bulk(None)) };
                let mut data = vec![0; len + 2];
                self.read.read_exact(&mut data).map_err(io_err)?;
                data.truncate(len);
                Ok(Reply::Bulk(Some(data)))
            }
            other => Err(format!("redis: unknown reply type {:?}", other as char)),
        }
    }

    /// The number `field` of `INFO section` (`used_memory` of `memory`,
    /// `loading` of `persistence`, …).
    pub(crate) fn info(&mut self, section: &str, field: &str) -> Result<u64, String> {
        let Reply::Bulk(Some(info)) = self.call(&[b"INFO", section.as_bytes()])? else {
            return Err("redis: INFO did not answer a bulk string".to_owned());
        };
        String::from_utf8_lossy(&info)
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().parse().ok())
            .ok_or_else(|| format!("redis: no numeric {field} in INFO {section}"))
    }

    /// `DBSIZE`.
    pub(crate) fn dbsize(&mut self) -> Result<u64, String> {
        self.int(&[b"DBSIZE"])
    }

    /// Sends one command whose reply is an integer.
    pub(crate) fn int(&mut self, args: &[&[u8]]) -> Result<u64, String> {
        match self.call(args)? {
            Reply::Int(n) => u64::try_from(n).map_err(|_| format!("redis: {} answered {n}", cmd_name(args))),
            other => Err(format!("redis: {} answered {other:?}", cmd_name(args))),
        }
    }
}

fn cmd_name(args: &[&[u8]]) -> String {
    args.first().map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default()
}
