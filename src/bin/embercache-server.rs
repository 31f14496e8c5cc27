//! `embercache-server`: an embercache `Db` served over the Redis protocol,
//! started like redis-server (`embercache-server [/path/to/redis.conf]
//! [--port 6380] [--maxmemory 1gb] …`; `--help` lists the options).
//!
//! The options are read by `embercache::server::options`; this file only
//! logs, loads the databases, serves until SIGINT/SIGTERM or SHUTDOWN, and
//! saves on the way out when `save` rules are set, as redis-server does.

use embercache::Db;
use embercache::server::options::{LogLevel, ServerOptions, Startup};
use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
Usage: embercache-server [/path/to/redis.conf] [options] [-]
       embercache-server - (read the config from standard input)
       embercache-server -v or --version
       embercache-server -h or --help

Options are redis.conf directives written as --name value; they are applied
after the config file, so they override it. Examples:
       embercache-server (run with the defaults: 127.0.0.1:6379)
       embercache-server /etc/redis/6379.conf
       embercache-server --port 7777
       embercache-server /etc/myredis.conf --loglevel verbose
       embercache-server --maxmemory 1gb --maxmemory-policy allkeys-lru --save \"\"

Supported: port, bind, maxmemory, maxmemory-policy, databases, dir,
dbfilename, save, appendonly, appendfsync, appenddirname, timeout, maxclients, io-threads,
notify-keyspace-events, protected-mode, loglevel, logfile, pidfile, daemonize
(no), supervised, slowlog-*, proto-max-bulk-len, client-query-buffer-limit,
include, requirepass, aclfile, tls-* (with the `tls` feature),
memcached-port, memcached-tls (the Memcached port over TLS with the tls-*
certificates), busy-poll-us (how long a serving thread polls for the next
request before it sleeps; 50, 0 to never poll), cpu-slice-us (how long a
serving thread holds its core without a break before it yields it to the
threads waiting for it; 1000, 0 to never yield), and the redis.conf
parameters without an effect here (reported by CONFIG GET).
";

/// As redis-server brings jemalloc: faster than the system's malloc for a
/// server's many small allocations (see `Cargo.toml`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    match ServerOptions::from_args(&args) {
        Ok(Startup::Serve(opts)) => match run(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("embercache-server: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(Startup::Version) => {
            println!(
                "embercache-server v={} redis_version={} bits={}",
                env!("CARGO_PKG_VERSION"),
                embercache::server::REDIS_VERSION,
                usize::BITS
            );
            ExitCode::SUCCESS
        }
        Ok(Startup::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("\n{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &ServerOptions) -> Result<(), Box<dyn Error>> {
    let log = Log::open(opts)?;
    let threads = opts.io_threads().unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    // CONFIG GET io-threads reports the threads actually serving. One
    // thread serves all (as redis-server's main thread), or connections are
    // spread over `threads` threads of their own (as memcached's workers)
    // while this one accepts.
    let builder = opts.server_builder()?.config_param("io-threads", threads.to_string()).io_threads(if threads > 1 {
        threads
    } else {
        0
    });
    for ignored in opts.ignored_binds() {
        log.warning(&format!("bind {ignored}: only the first bind address is served"));
    }
    let started = Instant::now();
    let dbs = opts.open_databases()?;
    let keys: usize = dbs.iter().map(Db::dbsize).sum();
    let addr = opts.listen_address()?;
    let server = builder.build().map_err(|e| format!("could not listen on {addr}: {e}"))?;
    let local = server.local_addr()?;
    let _pidfile = opts.pidfile.as_ref().map(PidFile::write).transpose()?;

    eprintln!(
        "embercache-server {} (Redis {} protocol), pid {}\n  \
         listening on {local}, {} databases, maxmemory {} ({})\n  \
         dir {}, dbfilename {}, save \"{}\", appendonly {}{}",
        env!("CARGO_PKG_VERSION"),
        embercache::server::REDIS_VERSION,
        std::process::id(),
        opts.databases,
        opts.maxmemory,
        opts.maxmemory_policy,
        opts.dir.display(),
        opts.dbfilename,
        opts.save_rules(),
        if opts.appendonly { "yes" } else { "no" },
        opts.config_file.as_ref().map(|f| format!("\n  config file {}", f.display())).unwrap_or_default(),
    );
    log.notice(&format!("DB loaded from disk: {:.3} seconds, {keys} keys", started.elapsed().as_secs_f64()));
    log.notice(&format!("Ready to accept connections tcp {local}"));
    notify_supervisor(opts, "READY=1");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let signal: Arc<Mutex<Option<&'static str>>> = Arc::default();
    let served = runtime.block_on(server.serve_databases(dbs.clone(), wait_for_signal(Arc::clone(&signal))));
    drop(runtime);
    notify_supervisor(opts, "STOPPING=1");
    served?;
    // SHUTDOWN saved already (unless told NOSAVE); a signal saves here.
    let signalled = *signal.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(name) = signalled {
        log.warning(&format!("Received {name} scheduling shutdown..."));
        if !opts.save.is_empty() {
            log.notice("Saving the final snapshot before exiting.");
            opts.persistence().save_databases(&dbs)?;
            log.notice("DB saved on disk");
        }
    }
    drop(dbs); // the journal, if any, is synced as the last handle goes
    log.notice("embercache-server is now ready to exit, bye bye...");
    Ok(())
}

/// Completes at the first SIGINT or SIGTERM, recording which.
async fn wait_for_signal(got: Arc<Mutex<Option<&'static str>>>) {
    #[cfg(unix)]
    let name = {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    };
    #[cfg(not(unix))]
    let name = {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    };
    *got.lock().unwrap_or_else(|e| e.into_inner()) = Some(name);
}

/// Tells systemd (`supervised systemd|auto` and `$NOTIFY_SOCKET` set) how
/// the server is doing, so `Type=notify` units work.
fn notify_supervisor(opts: &ServerOptions, state: &str) {
    if !matches!(opts.param("supervised"), Some("systemd" | "auto")) {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
        let path = path.to_string_lossy().into_owned();
        let addr = match path.strip_prefix('@') {
            Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name.as_bytes()),
            None => SocketAddr::from_pathname(&path),
        };
        if let (Ok(addr), Ok(sock)) = (addr, UnixDatagram::unbound()) {
            let _ = sock.send_to_addr(state.as_bytes(), &addr);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = state;
}

/// The pid file, removed when dropped.
struct PidFile(PathBuf);

impl PidFile {
    fn write(path: &PathBuf) -> Result<PidFile, Box<dyn Error>> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| format!("writing the pid file {}: {e}", path.display()))?;
        Ok(PidFile(path.clone()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// redis-server's log lines (`pid:M 25 Nov 2026 10:00:00.123 * message`)
/// to `logfile`, or to standard error.
struct Log {
    level: LogLevel,
    file: Option<Mutex<std::fs::File>>,
}

impl Log {
    fn open(opts: &ServerOptions) -> Result<Log, Box<dyn Error>> {
        let file = match &opts.logfile {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("Can't open the log file {}: {e}", path.display()))?,
            )),
            None => None,
        };
        Ok(Log { level: opts.loglevel, file })
    }

    fn notice(&self, msg: &str) {
        self.line(LogLevel::Notice, '*', msg);
    }

    fn warning(&self, msg: &str) {
        self.line(LogLevel::Warning, '#', msg);
    }

    fn line(&self, level: LogLevel, mark: char, msg: &str) {
        if self.level == LogLevel::Nothing || level < self.level {
            return;
        }
        let line = format!("{}:M {} {mark} {msg}\n", std::process::id(), timestamp());
        match &self.file {
            Some(f) => {
                let _ = f.lock().unwrap_or_else(|e| e.into_inner()).write_all(line.as_bytes());
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

/// The current UTC time as redis-server logs it: `25 Nov 2026 10:00:00.123`.
fn timestamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{day:02} {} {year} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}
