//! Real Redis topologies for integration tests, started from the machine's
//! `redis-server` and `redis-cli` (Debian's `redis-server` and `redis-tools`
//! packages): one server ([`RedisProc`], [`Standalone`]), a primary with a
//! replica watched by three sentinels ([`SentinelSet`]), and a three-primary
//! [`Cluster`] that can move a slot while clients run.
//!
//! Every process runs on a free loopback port in a temporary directory of its
//! own, and is killed (the directory removed) when its guard drops, also when
//! the test panics. Without the binaries the start functions print a loud
//! banner and return `None` (the test is skipped), except under `CI=true`,
//! where they panic: CI must run these tests.
//!
//! Included by path (`#[path = "support/redis.rs"] mod redis_support;`) from
//! the tests that need it; blocking std code, no runtime.
#![allow(dead_code, reason = "each test file uses a part of the harness")]

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a server gets to answer after its start.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two polls of a server's state.
const POLL: Duration = Duration::from_millis(25);
/// Connect, read and write timeout of every client connection: a wedged
/// server fails the test instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Redis Cluster's bus listens on the client port plus this.
const CLUSTER_BUS_OFFSET: u16 = 10_000;
/// Slots in a Redis Cluster.
pub(crate) const SLOTS: u16 = 16_384;

// ---------------------------------------------------------------------------
// Binaries and the skip-or-fail gate

/// `$<env>` if set, else the first `name` on `PATH`.
fn find_binary(name: &str, env: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// The binaries a topology is started from.
#[derive(Clone, Debug)]
pub(crate) struct Binaries {
    /// `redis-server` (`$REDIS_SERVER`, else `PATH`); also runs the sentinels.
    pub(crate) server: PathBuf,
    /// `redis-cli` (`$REDIS_CLI`, else `PATH`), when found.
    pub(crate) cli: Option<PathBuf>,
}

/// The binaries, or `None` after a loud banner when `redis-server` (or, with
/// `need_cli`, `redis-cli`) is missing: the caller skips the test. Under
/// `CI=true` a missing binary panics instead.
pub(crate) fn skip_unless_available(test: &str, need_cli: bool) -> Option<Binaries> {
    let server = find_binary("redis-server", "REDIS_SERVER");
    let cli = find_binary("redis-cli", "REDIS_CLI");
    let missing = match (&server, &cli) {
        (None, _) => "redis-server (PATH or $REDIS_SERVER)",
        (Some(_), None) if need_cli => "redis-cli (PATH or $REDIS_CLI)",
        (Some(server), cli) => return Some(Binaries { server: server.clone(), cli: cli.clone() }),
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{test}: {missing} not found, and CI=true: the tests against a real Redis must run in CI");
    // Straight to the process's stderr: the test harness captures
    // `eprintln!` of a passing test, and a skip must be seen.
    let bar = "!".repeat(72);
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\n!!! {test}: {missing} not found: SKIPPED\n\
         !!! install it (apt-get install redis-server redis-tools) to run it\n{bar}"
    );
    None
}

// ---------------------------------------------------------------------------
// Talking to a server

/// `args` as a command.
fn command(args: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd
}

/// A fresh connection to `addr`, with [`IO_TIMEOUT`] on everything.
pub(crate) fn connect(addr: SocketAddr) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let con = client.get_connection_with_timeout(IO_TIMEOUT)?;
    con.set_read_timeout(Some(IO_TIMEOUT))?;
    con.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(con)
}

/// Runs `cmd` on a fresh connection to `addr`.
pub(crate) fn query_cmd<T: redis::FromRedisValue>(addr: SocketAddr, cmd: &redis::Cmd) -> redis::RedisResult<T> {
    cmd.query(&mut connect(addr)?)
}

/// Runs the command `args` on a fresh connection to `addr`.
pub(crate) fn query<T: redis::FromRedisValue>(addr: SocketAddr, args: &[&str]) -> redis::RedisResult<T> {
    query_cmd(addr, &command(args))
}

/// The value of `field` in an `INFO` reply.
pub(crate) fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).map(str::trim_end)
}

/// Polls `check` every [`POLL`] until it gives `Some`, or panics after
/// `timeout` with `what` and the last state `check` reported.
fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut(&mut String) -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        if let Some(v) = check(&mut last) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?} (last: {last})");
        sleep(POLL);
    }
}

// ---------------------------------------------------------------------------
// One process

/// A loopback port free a moment ago; with `cluster_bus`, one whose bus port
/// (`port + 10000`, at most 65535) was free too.
fn free_port(cluster_bus: bool) -> u16 {
    for _ in 0..500 {
        let probe = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = probe.local_addr().expect("bound address").port();
        if !cluster_bus {
            return port;
        }
        if let Some(bus) = port.checked_add(CLUSTER_BUS_OFFSET)
            && TcpListener::bind(("127.0.0.1", bus)).is_ok()
        {
            return port;
        }
    }
    panic!("no loopback port p with p + {CLUSTER_BUS_OFFSET} free as well");
}

/// A fresh, empty directory for one server.
fn temp_dir() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "embercache-redis-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// How to start a [`RedisProc`]: `redis-server [redis.conf] --bind 127.0.0.1
/// --port P --dir D --logfile D/redis.log --save "" --appendonly no ARGS`.
#[must_use]
pub(crate) struct Launch<'a> {
    bin: &'a Path,
    config: Option<String>,
    args: Vec<String>,
    cluster_bus: bool,
}

impl<'a> Launch<'a> {
    /// A plain server from `bin`: no persistence, loopback only.
    pub(crate) fn new(bin: &'a Path) -> Self {
        Launch { bin, config: None, args: Vec::new(), cluster_bus: false }
    }

    /// A configuration file (written as `redis.conf` in the server's
    /// directory and passed first: sentinels need one they can rewrite).
    pub(crate) fn config(mut self, text: &str) -> Self {
        self.config = Some(text.to_owned());
        self
    }

    /// Extra arguments, after the defaults (so they override them); `{port}`
    /// in one is replaced by the port chosen.
    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// The port chosen leaves `port + 10000` free for the cluster bus.
    pub(crate) fn cluster_bus(mut self) -> Self {
        self.cluster_bus = true;
        self
    }

    /// Starts the server on a free port and waits until it answers; another
    /// port is tried when the chosen one was taken in between.
    pub(crate) fn start(self) -> RedisProc {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port(self.cluster_bus);
            let dir = temp_dir();
            let mut args: Vec<String> = Vec::new();
            if let Some(text) = &self.config {
                let conf = dir.join("redis.conf");
                fs::write(&conf, text).expect("write redis.conf");
                args.push(conf.to_string_lossy().into_owned());
            }
            let log = dir.join("redis.log").to_string_lossy().into_owned();
            let dir_arg = dir.to_string_lossy().into_owned();
            let defaults = ["--bind", "127.0.0.1", "--port", "{port}", "--dir", &dir_arg, "--logfile", &log];
            args.extend(defaults.map(str::to_owned));
            args.extend(["--save", "", "--appendonly", "no"].map(str::to_owned));
            args.extend(self.args.iter().cloned());
            for a in &mut args {
                *a = a.replace("{port}", &port.to_string());
            }
            let mut proc = RedisProc { bin: self.bin.to_owned(), args, dir, port, child: None };
            // On failure `proc` drops: killed, its directory removed.
            match proc.spawn_and_wait() {
                Ok(()) => return proc,
                Err(e) => last = e,
            }
        }
        panic!("{} did not start: {last}", self.bin.display());
    }
}

/// A `redis-server` process (a data node or a sentinel) on a loopback port,
/// in a temporary directory of its own. Killed, and the directory removed,
/// on drop.
#[derive(Debug)]
pub(crate) struct RedisProc {
    bin: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisProc {
    /// Starts `bin` with `args` (after the defaults of [`Launch`]).
    pub(crate) fn start(bin: &Path, args: &[&str]) -> RedisProc {
        Launch::new(bin).args(args).start()
    }

    /// `127.0.0.1:port`.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The port it listens on (the same after [`restart`](Self::restart)).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:port/`, for `redis::Client::open`.
    pub(crate) fn url(&self) -> String {
        format!("redis://{}/", self.addr())
    }

    /// Its directory (data, `redis.log`, configuration files).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the process runs (it may have been killed or have exited).
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// A new connection (panics if the server does not answer).
    pub(crate) fn connection(&self) -> redis::Connection {
        connect(self.addr()).unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr()))
    }

    /// Runs the command `args` on a new connection.
    pub(crate) fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        query(self.addr(), args)
    }

    /// `INFO section` as text (panics if the server does not answer).
    pub(crate) fn info(&self, section: &str) -> String {
        self.query(&["INFO", section]).unwrap_or_else(|e| panic!("INFO {section} on {}: {e}", self.addr()))
    }

    /// The server's version (`INFO server`'s `redis_version`).
    pub(crate) fn version(&self) -> String {
        info_field(&self.info("server"), "redis_version").unwrap_or("?").to_owned()
    }

    /// Runs `redis-cli -h 127.0.0.1 -p PORT args...` and returns its
    /// standard output (no trailing newline); panics if it fails or is
    /// missing (gate the test with `skip_unless_available(test, true)`).
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let cli = find_binary("redis-cli", "REDIS_CLI").expect("redis-cli (PATH or $REDIS_CLI)");
        let out = Command::new(&cli)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", cli.display()));
        assert!(out.status.success(), "redis-cli {args:?}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned()
    }

    /// Kills the process with SIGKILL (a crash: nothing saved, clients cut).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process cleanly (`SHUTDOWN NOSAVE`), killing it if it has
    /// not exited within a few seconds.
    pub(crate) fn stop(&mut self) {
        if !self.is_running() {
            self.kill();
            return;
        }
        // The reply is the connection closing.
        let _ = self.query::<redis::Value>(&["SHUTDOWN", "NOSAVE"]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.is_running() && Instant::now() < deadline {
            sleep(POLL);
        }
        // Reaps it (or kills it if it did not exit).
        self.kill();
    }

    /// Starts the process again on the same port, in the same directory
    /// (killing it first if it runs), and waits until it answers.
    pub(crate) fn restart(&mut self) {
        self.kill();
        // The port is ours but may not be bindable at once (or another
        // process grabbed it meanwhile): retry for a while.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => panic!("restart on port {}: {e}", self.port),
                Err(_) => sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The last lines of its log and standard error.
    pub(crate) fn log_tail(&self) -> String {
        let mut out = String::new();
        for name in ["redis.log", "stderr.log"] {
            let text = fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            for l in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Spawns the process and waits until this very process answers (a
    /// server of someone else's on the port does not count).
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stderr.log"))
            .map_err(|e| format!("stderr.log: {e}"))?;
        let child = Command::new(&self.bin)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        let pid = child.id().to_string();
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                return Err(format!("exited at start:\n{}", self.log_tail()));
            }
            if let Ok(info) = self.query::<String>(&["INFO", "server"])
                && info_field(&info, "process_id") == Some(pid.as_str())
            {
                return Ok(());
            }
            sleep(POLL);
        }
        Err(format!("no answer within {START_TIMEOUT:?}:\n{}", self.log_tail()))
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let _ =
                writeln!(std::io::stderr(), "--- redis-server on port {} (log tail):\n{}", self.port, self.log_tail());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Standalone

/// One plain `redis-server`: a [`RedisProc`] (dereferences to it).
#[derive(Debug)]
pub(crate) struct Standalone {
    /// The server.
    pub(crate) server: RedisProc,
}

impl Standalone {
    /// Starts one, or `None` (skipped) without `redis-server`.
    pub(crate) fn start(test: &str) -> Option<Standalone> {
        skip_unless_available(test, false).map(|b| Standalone::with(&b))
    }

    /// Starts one from `bins`.
    pub(crate) fn with(bins: &Binaries) -> Standalone {
        Standalone { server: RedisProc::start(&bins.server, &[]) }
    }
}

impl std::ops::Deref for Standalone {
    type Target = RedisProc;
    fn deref(&self) -> &RedisProc {
        &self.server
    }
}

impl std::ops::DerefMut for Standalone {
    fn deref_mut(&mut self) -> &mut RedisProc {
        &mut self.server
    }
}

// ---------------------------------------------------------------------------
// Sentinel and Cluster: files of their own

#[path = "redis/cluster.rs"]
mod cluster;
#[path = "redis/sentinel.rs"]
mod sentinel;

#[allow(unused_imports, reason = "each test file uses a part of the harness")]
pub(crate) use cluster::Cluster;
#[allow(unused_imports, reason = "each test file uses a part of the harness")]
pub(crate) use sentinel::SentinelSet;
