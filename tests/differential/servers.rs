//! The two servers the differential test compares: a real `redis-server`
//! started by the test (and killed by a guard, even on panic), and
//! embercache's RESP server in-process.

use super::resp::{Conn, Resp};
use embercache::Db;
use embercache::server::{Server, ServerHandle};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `redis-server` binary: `$REDIS_SERVER`, else the first on `PATH`.
pub(crate) fn redis_server_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REDIS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("redis-server")).find(|p| p.is_file())
}

/// `Some(binary)`, or `None` after a loud message: the test is skipped,
/// except under `CI=true`, where a missing server fails it.
pub(crate) fn redis_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(bin) = redis_server_binary() {
        return Some(bin);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{test}: redis-server is not installed, and CI=true: the differential test must run in CI");
    // Straight to the process's stderr: the test harness captures
    // `eprintln!` of a passing test, and a skip must be seen.
    let bar = "!".repeat(72);
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\n!!! {test}: redis-server not found (PATH or $REDIS_SERVER): SKIPPED\n\
         !!! install it (apt-get install redis-server) to run the comparison\n{bar}"
    );
    None
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

/// A `redis-server` child process with its own temporary directory; killed
/// (and the directory removed) on drop.
pub(crate) struct RedisServer {
    child: Child,
    dir: PathBuf,
    pub(crate) addr: SocketAddr,
}

impl RedisServer {
    /// Starts `bin` on a free loopback port and waits until it answers PING.
    pub(crate) fn start(bin: &Path) -> RedisServer {
        // Another process may take the port between the probe and the
        // server's bind: try a few.
        let mut last = String::new();
        for attempt in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!("embercache-diff-{}-{port}-{attempt}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temporary directory");
            let child = Command::new(bin)
                // Two databases, as the embercache server here: SELECT, MOVE,
                // SWAPDB and COPY … DB between 0 and 1, and 2 out of range.
                // hz 500: blocking commands time out within a few
                // milliseconds (at the default 10, about 100).
                .args(["--save", "", "--appendonly", "no", "--databases", "2", "--hz", "500", "--bind", "127.0.0.1"])
                .arg("--port")
                .arg(port.to_string())
                .arg("--dir")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut server = RedisServer { child, dir, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(e) => last = e,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(format!("exited with {status}: {err}"));
            }
            if let Ok(mut c) = Conn::connect(self.addr)
                && let Ok((Resp::Simple(p), _)) = c.call(&[b"PING".to_vec()])
                && p == "PONG"
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err("no PONG within 10 s".into())
    }

    /// The server's version (`INFO server`'s `redis_version`).
    pub(crate) fn version(&self) -> String {
        let mut c = Conn::connect(self.addr).expect("connect to redis-server");
        match c.call(&[b"INFO".to_vec(), b"server".to_vec()]) {
            Ok((Resp::Bulk(b), _)) => String::from_utf8_lossy(&b)
                .lines()
                .find_map(|l| l.strip_prefix("redis_version:"))
                .unwrap_or("?")
                .to_string(),
            _ => "?".into(),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// embercache's RESP server on a free loopback port, on its own runtime.
pub(crate) struct EmberServer {
    rt: tokio::runtime::Runtime,
    handle: Option<ServerHandle>,
    pub(crate) addr: SocketAddr,
}

impl EmberServer {
    pub(crate) fn start() -> EmberServer {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        // Two databases, as the reference redis-server is started with.
        let server = Server::builder().bind("127.0.0.1:0").databases(2).build().expect("bind a loopback port");
        let handle = {
            let _enter = rt.enter();
            server.spawn(Db::new()).expect("spawn the server")
        };
        let addr = handle.local_addr();
        EmberServer { rt, handle: Some(handle), addr }
    }
}

impl Drop for EmberServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = self.rt.block_on(h.shutdown());
        }
    }
}
