//! What the server benchmarks share (`server_bench`, `memcached_bench`):
//! the release `embercache-server` binary, servers on free loopback ports
//! killed when dropped, medians (`cold_lookups` uses these too), and
//! paired ratios.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) type Error = Box<dyn std::error::Error>;

/// Builds the release embercache-server binary (a no-op when up to date)
/// and returns its path, in the target directory's `release/`.
pub(crate) fn embercache_server() -> Result<PathBuf, Error> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--features", "server", "--bin", "embercache-server"])
        .status()?;
    if !status.success() {
        return Err("building embercache-server failed".into());
    }
    let exe = std::env::current_exe()?;
    let target = exe.ancestors().nth(3).ok_or("no target directory")?; // target/<profile>/examples/<exe>
    Ok(target.join("release").join("embercache-server"))
}

pub(crate) fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A server process, killed when dropped.
pub(crate) struct Running {
    child: Child,
    pub(crate) port: u16,
}

impl Running {
    /// Starts `cmd` and waits until it accepts connections on `port`.
    pub(crate) fn start(cmd: &mut Command, port: u16) -> Result<Running, Error> {
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        let running = Running { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{cmd:?} did not start").into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(running)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Each round's ratio of embercache's figure to the other server's, and
/// in how many rounds embercache was ahead. A round's two runs are seconds
/// apart, so their ratio is free of the drift of the host's speed between
/// rounds, and a row at parity shows as about half the rounds each way.
pub(crate) fn paired(ember: impl IntoIterator<Item = f64>, other: impl IntoIterator<Item = f64>) -> (Vec<f64>, usize) {
    let ratios: Vec<f64> = ember.into_iter().zip(other).map(|(e, o)| e / o).collect();
    let ahead = ratios.iter().filter(|&&r| r >= 1.0).count();
    (ratios, ahead)
}
