#![cfg(feature = "server")]
//! The `embercache-server` binary, driven by the real `redis-cli` and
//! `redis-benchmark` (Debian's redis-tools). Without them the tests that
//! need them are skipped with a loud message, except under `CI=true`,
//! where they fail.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_embercache-server");

/// Whether `tool` is on the PATH; if not, skips (or fails under CI=true).
fn have(tool: &str, test: &str) -> bool {
    let found =
        std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is missing and CI=true: install redis-tools");
        }
        // Straight to the process's stderr: the test harness would swallow an eprintln!.
        let msg = format!("!!! {tool} not found (apt-get install redis-tools): SKIPPING {test}\n");
        let _ = std::io::stderr().write_all(msg.as_bytes());
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("embercache-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `embercache-server`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on a free port with `--dir <dir>`, then `args`
    /// (after `config`, a config file, if given).
    fn start(dir: &Path, config: Option<&Path>, args: &[&str]) -> Server {
        for _ in 0..3 {
            let port = free_port();
            if let Some(s) = Self::try_start(dir, config, args, port) {
                return s;
            }
        }
        panic!(
            "embercache-server did not start; its log:\n{}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
    }

    fn try_start(dir: &Path, config: Option<&Path>, args: &[&str], port: u16) -> Option<Server> {
        let log = dir.join("server.log");
        let mut cmd = Command::new(BIN);
        if let Some(c) = config {
            cmd.arg(c);
        }
        cmd.args(["--port", &port.to_string(), "--dir", dir.to_str().unwrap()]).args(args);
        let child = cmd.stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
        let mut server = Server { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.child.try_wait().unwrap().is_some() {
                return None; // the port was taken meanwhile, say
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                // PONG, or NOAUTH from a server with a password: it is up.
                let mut reply = [0; 7];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read_exact(&mut reply).is_ok()
                    && (&reply == b"+PONG\r\n" || &reply == b"-NOAUTH")
                {
                    return Some(server);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `redis-cli -p <port> args…`: its standard output, trimmed.
    fn cli(&self, args: &[&str]) -> String {
        let out = self.cli_output(args, None);
        assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    fn cli_output(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut child = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Waits for the process to exit on its own.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_cli_commands() {
    if !have("redis-cli", "redis_cli_commands") {
        return;
    }
    let dir = temp_dir("commands");
    let s = Server::start(&dir, None, &["--save", "", "--maxmemory", "10mb"]);
    assert_eq!(s.cli(&["PING"]), "PONG");
    assert_eq!(s.cli(&["SET", "greeting", "hello world"]), "OK");
    assert_eq!(s.cli(&["GET", "greeting"]), "hello world");
    for i in 0..20 {
        s.cli(&["SET", &format!("key:{i}"), "x"]);
    }
    assert_eq!(s.cli(&["DBSIZE"]), "21");
    let info = s.cli(&["INFO", "server"]);
    assert!(info.contains("# Server") && info.contains("redis_version:"), "{info}");
    assert!(info.contains(&format!("tcp_port:{}", s.port)), "{info}");
    assert_eq!(s.cli(&["CONFIG", "GET", "maxmemory"]), "maxmemory\n10485760");
    let mut scanned: Vec<String> = s.cli(&["--scan", "--pattern", "key:*"]).lines().map(str::to_string).collect();
    scanned.sort();
    let mut want: Vec<String> = (0..20).map(|i| format!("key:{i}")).collect();
    want.sort();
    assert_eq!(scanned, want);
    // -n selects another database.
    assert_eq!(s.cli(&["-n", "3", "SET", "only-in-3", "v"]), "OK");
    assert_eq!(s.cli(&["-n", "3", "DBSIZE"]), "1");
    assert_eq!(s.cli(&["-n", "3", "GET", "only-in-3"]), "v");
    assert_eq!(s.cli(&["GET", "only-in-3"]), "");
    assert_eq!(s.cli(&["DBSIZE"]), "21");
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `redis-cli --pipe`: mass insertion of raw RESP.
#[test]
fn redis_cli_pipe_mode() {
    if !have("redis-cli", "redis_cli_pipe_mode") {
        return;
    }
    let dir = temp_dir("pipe");
    let s = Server::start(&dir, None, &["--save", ""]);
    let mut input = Vec::new();
    for i in 0..5000 {
        let (k, v) = (format!("pipe:{i}"), format!("value {i}"));
        input
            .extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n", k.len(), v.len()).as_bytes());
    }
    input.extend_from_slice(b"*3\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n$1\r\na\r\n");
    let out = s.cli_output(&["--pipe"], Some(&input));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report} {}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("errors: 0, replies: 5001"), "{report}");
    assert_eq!(s.cli(&["DBSIZE"]), "5001");
    assert_eq!(s.cli(&["GET", "pipe:4999"]), "value 4999");
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `maxmemory` bounds the numbered databases together, also when it is
/// set at run time.
#[test]
fn maxmemory_is_one_bound_for_all_databases() {
    if !have("redis-cli", "maxmemory_is_one_bound_for_all_databases") {
        return;
    }
    let dir = temp_dir("maxmemory");
    let s = Server::start(&dir, None, &["--save", "", "--databases", "4", "--maxmemory-policy", "allkeys-lru"]);
    assert_eq!(s.cli(&["CONFIG", "SET", "maxmemory", "200kb"]), "OK");
    let value = "v".repeat(1000);
    for db in 0..4 {
        let mut input = format!("*2\r\n$6\r\nSELECT\r\n$1\r\n{db}\r\n").into_bytes();
        for i in 0..300 {
            let k = format!("k{i}");
            input.extend_from_slice(
                format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{value}\r\n", k.len(), value.len()).as_bytes(),
            );
        }
        let out = s.cli_output(&["--pipe"], Some(&input));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
    let info = s.cli(&["INFO", "memory"]);
    let used: u64 = info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap();
    // Checked before each write, as Redis does: over by the last one at most.
    assert!(used <= 200 * 1024 + 1200, "one bound for the four databases: used_memory {used}");
    for db in ["0", "1", "2", "3"] {
        let n: u64 = s.cli(&["-n", db, "DBSIZE"]).parse().unwrap();
        assert!(n > 10, "database {db} keeps a share: {n}");
    }
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

const BENCH_TESTS: &str = "set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset";

/// The throughput lines of `redis-benchmark -q` (test name, requests per second).
fn bench_lines(stdout: &str) -> Vec<(String, f64)> {
    stdout
        .split(['\r', '\n'])
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(": ")?;
            let rps = rest.strip_suffix(" msec").and(rest.split(" requests per second").next())?;
            Some((name.to_string(), rps.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn redis_benchmark_runs_every_test_without_errors() {
    if !have("redis-benchmark", "redis_benchmark_runs_every_test_without_errors") {
        return;
    }
    let dir = temp_dir("bench");
    // One thread serving everything (busy polling, the default), and
    // connections spread over two; with the CPU slice (the default) and
    // without.
    for (threads, poll, slice, pipeline) in
        [("1", "50", "500", "1"), ("1", "50", "0", "16"), ("2", "0", "0", "1"), ("2", "50", "500", "16")]
    {
        let args = ["--save", "", "--io-threads", threads, "--busy-poll-us", poll, "--cpu-slice-us", slice];
        let s = Server::start(&dir, None, &args);
        assert_eq!(s.cli(&["CONFIG", "GET", "busy-poll-us"]), format!("busy-poll-us\n{poll}"));
        assert_eq!(s.cli(&["CONFIG", "GET", "cpu-slice-us"]), format!("cpu-slice-us\n{slice}"));
        assert_eq!(s.cli(&["CONFIG", "GET", "io-threads"]), format!("io-threads\n{threads}"));
        let port = s.port.to_string();
        let out = Command::new("redis-benchmark")
            .args(["-p", &port, "-t", BENCH_TESTS, "-n", "2000", "-c", "10", "-q", "-P", pipeline])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "--io-threads {threads} -P {pipeline}: {stdout}\n{stderr}");
        // redis-benchmark 7 stops at the first error reply, saying so.
        assert!(!stdout.contains("rror") && !stderr.contains("rror"), "-P {pipeline}: {stdout}\n{stderr}");
        let lines = bench_lines(&stdout);
        let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "SET",
            "GET",
            "INCR",
            "LPUSH",
            "RPOP",
            "SADD",
            "HSET",
            "ZADD",
            "LRANGE_100 (first 100 elements)",
            "MSET (10 keys)",
        ] {
            assert!(names.contains(&want), "-P {pipeline}: no {want} line in:\n{stdout}");
        }
        assert!(lines.iter().all(|(_, rps)| *rps > 0.0), "{lines:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn config_file_is_honoured_and_rewritten() {
    if !have("redis-cli", "config_file_is_honoured_and_rewritten") {
        return;
    }
    let dir = temp_dir("conf");
    let conf = dir.join("redis.conf");
    let text = "# embercache test config\n\
                maxmemory 2mb\n\
                maxmemory-policy \"allkeys-lru\"   \n\
                \n\
                   # an indented comment\n\
                dbfilename 'my dump.ember'\n\
                notify-keyspace-events \"Ex\"\n\
                hz 20\n\
                save \"\"\n\
                slowlog-max-len 64\n\
                client-output-buffer-limit pubsub 64mb 16mb 60\n";
    std::fs::write(&conf, text).unwrap();
    let s = Server::start(&dir, Some(&conf), &[]);
    let get = |name: &str| s.cli(&["CONFIG", "GET", name]);
    assert_eq!(get("maxmemory"), "maxmemory\n2097152");
    assert_eq!(get("maxmemory-policy"), "maxmemory-policy\nallkeys-lru");
    assert_eq!(get("dbfilename"), "dbfilename\nmy dump.ember");
    assert_eq!(get("hz"), "hz\n20");
    assert_eq!(get("slowlog-max-len"), "slowlog-max-len\n64");
    assert_eq!(get("save"), "save"); // and an empty value, trimmed
    assert_eq!(get("port"), format!("port\n{}", s.port));
    assert!(get("notify-keyspace-events").contains('x'));
    assert!(get("client-output-buffer-limit").contains("pubsub 67108864 16777216 60"));
    assert_eq!(s.cli(&["CONFIG", "SET", "maxmemory", "3mb"]), "OK");
    assert_eq!(s.cli(&["CONFIG", "SET", "hz", "30"]), "OK");
    assert_eq!(s.cli(&["CONFIG", "REWRITE"]), "OK");
    let rewritten = std::fs::read_to_string(&conf).unwrap();
    assert!(rewritten.contains("maxmemory 3145728\n") && rewritten.contains("hz 30\n"), "{rewritten}");
    assert!(
        rewritten.contains("# embercache test config") && rewritten.contains("dbfilename 'my dump.ember'"),
        "{rewritten}"
    );
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_options_exit_nonzero_with_a_clear_message() {
    let dir = temp_dir("bad");
    let out = Command::new(BIN).args(["--port", "0", "--no-such-option", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("'--no-such-option 1'") && stderr.contains("Bad directive or wrong number of arguments"),
        "{stderr}"
    );
    let conf = dir.join("bad.conf");
    std::fs::write(&conf, "# ok\nport 7000\nmaxmemory lots\n").unwrap();
    let out = Command::new(BIN).arg(&conf).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("at line 3") && stderr.contains("maxmemory lots") && stderr.contains("memory value"),
        "{stderr}"
    );
    // `-` reads the config from standard input.
    let mut child = Command::new(BIN).arg("-").stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"port 7000\nbogus-directive\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("standard input, at line 2") && stderr.contains("bogus-directive"), "{stderr}");
    let out = Command::new(BIN).args(["--port", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("port 0 disables the TCP listener"));
    let out = Command::new(BIN).args(["--daemonize", "yes"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("daemonize"));
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("embercache-server v="));
    let out = Command::new(BIN).arg("-h").output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Usage: embercache-server"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn save_then_restart_loads_the_data_and_shutdown_exits() {
    if !have("redis-cli", "save_then_restart_loads_the_data_and_shutdown_exits") {
        return;
    }
    let dir = temp_dir("restart");
    let mut s = Server::start(&dir, None, &["--save", ""]);
    s.cli(&["SET", "kept", "1"]);
    s.cli(&["-n", "2", "RPUSH", "list", "a", "b"]);
    assert_eq!(s.cli(&["SAVE"]), "OK");
    s.cli(&["SET", "not-saved", "x"]);
    let _ = s.cli_output(&["SHUTDOWN", "NOSAVE"], None);
    assert!(s.wait_exit().success(), "{}", s.log_text());
    drop(s);

    // With save rules, SIGTERM saves before exiting.
    let mut s = Server::start(&dir, None, &["--save", "3600 1"]);
    assert_eq!(s.cli(&["GET", "kept"]), "1");
    assert_eq!(s.cli(&["GET", "not-saved"]), "");
    assert_eq!(s.cli(&["-n", "2", "LRANGE", "list", "0", "-1"]), "a\nb");
    s.cli(&["SET", "saved-on-sigterm", "y"]);
    let killed = Command::new("kill").args(["-TERM", &s.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(s.wait_exit().success(), "{}", s.log_text());
    assert!(s.log_text().contains("Received SIGTERM"), "{}", s.log_text());
    drop(s);

    let s = Server::start(&dir, None, &["--save", ""]);
    assert_eq!(s.cli(&["GET", "saved-on-sigterm"]), "y");
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn requirepass_and_the_memcached_port() {
    if !have("redis-cli", "requirepass_and_the_memcached_port") {
        return;
    }
    let dir = temp_dir("auth");
    let mc = free_port();
    let s = Server::start(&dir, None, &["--save", "", "--requirepass", "s3cret", "--memcached-port", &mc.to_string()]);
    let denied = s.cli(&["SET", "k", "v"]);
    assert!(denied.contains("NOAUTH"), "{denied}");
    assert_eq!(s.cli(&["--no-auth-warning", "-a", "s3cret", "SET", "k", "v"]), "OK");
    // The Memcached port serves database 0 behind the same password:
    // memcached's token login (a `set` of "<user> <password>") first.
    let connect = || {
        let m = TcpStream::connect(("127.0.0.1", mc)).unwrap();
        m.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        m
    };
    let mut refused = Vec::new();
    let mut m = connect();
    m.write_all(b"get k\r\n").unwrap();
    let _ = m.read_to_end(&mut refused);
    assert_eq!(refused, b"CLIENT_ERROR unauthenticated\r\n");
    let mut m = connect();
    m.write_all(b"set login 0 0 14\r\ndefault s3cret\r\nget k\r\n").unwrap();
    let want = b"STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n";
    let mut got = vec![0; want.len()];
    m.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    std::fs::remove_dir_all(dir).unwrap();
}
