use super::*;
use crate::db::Db;
use crate::server::config_cmd::COMPAT;

fn text(t: &str) -> ServerOptions {
    ServerOptions::from_config_text(t).unwrap_or_else(|e| panic!("{e}"))
}

fn args(a: &[&str]) -> ServerOptions {
    match ServerOptions::from_args(a).unwrap_or_else(|e| panic!("{e}")) {
        Startup::Serve(o) => *o,
        other => panic!("{other:?}"),
    }
}

fn text_err(t: &str) -> (usize, String, String) {
    match ServerOptions::from_config_text(t) {
        Err(OptionsError::Directive { line, text, reason, .. }) => (line, text, reason),
        other => panic!("{other:?}"),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("embercache-options-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn defaults_are_redis_servers() {
    let o = ServerOptions::default();
    assert_eq!((o.port, o.databases, o.maxclients, o.timeout), (6379, 16, 10_000, 0));
    assert_eq!(o.save_rules(), "3600 1 300 100 60 10000");
    assert_eq!(o.maxmemory_policy, MaxMemoryPolicy::NoEviction);
    assert!(o.protected_mode && !o.appendonly && !o.daemonize);
    assert_eq!(o.listen_address().unwrap(), "127.0.0.1:6379");
    assert_eq!(text(""), o);
}

#[test]
fn config_text_with_comments_quotes_and_units() {
    let o = text(
        "# a comment\n\
         \n\
         port 7001\r\n\
         \tmaxmemory 100mb\n\
         maxmemory-policy ALLKEYS-LRU\n\
         dir \"/tmp/with space\"\n\
         dbfilename 'my.snap'\n\
         notify-keyspace-events \"KEA\"\n\
         appendonly yes\n\
         appendfsync always\n\
         timeout 30\n\
         maxclients 64\n\
         hz 50\n\
         repl-backlog-size 1mb\n\
         LogLevel warning\n",
    );
    assert_eq!((o.port, o.maxmemory), (7001, 100 * 1024 * 1024));
    assert_eq!(o.maxmemory_policy, MaxMemoryPolicy::AllKeysLru);
    assert_eq!(o.dir, PathBuf::from("/tmp/with space"));
    assert_eq!(o.dbfilename, "my.snap");
    assert_eq!(o.notify_keyspace_events, "KEA");
    assert!(o.appendonly);
    assert_eq!(o.appendfsync, FsyncPolicy::Always);
    assert_eq!((o.timeout, o.maxclients), (30, 64));
    assert_eq!(o.param("hz"), Some("50"));
    assert_eq!(o.param("repl-backlog-size"), Some("1048576"));
    assert_eq!((o.loglevel, o.param("loglevel")), (LogLevel::Warning, Some("warning")));
}

#[test]
fn memory_units_follow_redis() {
    for (v, n) in [("1k", 1000), ("1kb", 1024), ("2M", 2_000_000), ("2mb", 2 << 20), ("1gb", 1 << 30), ("77", 77)] {
        assert_eq!(text(&format!("maxmemory {v}")).maxmemory, n, "{v}");
    }
    assert!(text_err("maxmemory 1tb").2.contains("memory value"));
}

#[test]
fn save_rules_reset_once_then_add() {
    assert_eq!(text("save 900 1\nsave 300 10").save, [(900, 1), (300, 10)]);
    assert_eq!(text("save 900 1 300 10").save, [(900, 1), (300, 10)]);
    assert!(text("save 900 1\nsave \"\"").save.is_empty());
    assert_eq!(text("save \"\"\nsave 60 5").save, [(60, 5)]);
    assert_eq!(text("save \"30 2\"").save, [(30, 2)]);
    assert_eq!(text_err("save 900").2, "Invalid save parameters");
    assert_eq!(text_err("save a b").2, "Invalid save parameters");
}

#[test]
fn unknown_directives_and_bad_values_name_the_line() {
    let (line, t, reason) = text_err("port 1\n\n# x\nnot-a-thing 1 2\n");
    assert_eq!((line, t.as_str(), reason.as_str()), (4, "not-a-thing 1 2", BAD_DIRECTIVE));
    assert_eq!(text_err("port 1 2").2, BAD_DIRECTIVE);
    assert_eq!(text_err("port").2, BAD_DIRECTIVE);
    assert_eq!(text_err("bind").2, BAD_DIRECTIVE);
    assert_eq!(text_err("hz").2, BAD_DIRECTIVE);
    assert!(text_err("port 70000").2.contains("between 0 and 65535"));
    assert!(text_err("databases 0").2.contains("between 1"));
    assert!(text_err("appendonly maybe").2.contains("'yes' or 'no'"));
    assert!(text_err("maxmemory-policy lol").2.contains("allkeys-lru"));
    assert!(text_err("notify-keyspace-events Q").2.contains("Invalid event class"));
    assert!(text_err("dbfilename a/b").2.contains("just a filename"));
    assert!(text_err("activerehashing perhaps").2.contains("'yes' or 'no'"));
    assert!(text_err("hz fast").2.contains("integer"));
    assert!(text_err("cluster-enabled yes").2.contains("cluster"));
    assert_eq!(text_err("port \"7000").2, "Unbalanced quotes in configuration line");
    let msg = ServerOptions::from_config_text("x 1").unwrap_err().to_string();
    assert!(msg.contains("at line 1") && msg.contains(">>> 'x 1'") && msg.contains(BAD_DIRECTIVE), "{msg}");
}

#[test]
fn every_compat_parameter_is_accepted_and_kept() {
    for (name, default) in COMPAT {
        let value = if default.is_empty() { "\"\"".to_string() } else { conf::quote(default.as_bytes()) };
        let o = text(&format!("{name} {value}"));
        assert_eq!(o.param(name), Some(*default), "{name}");
    }
}

#[test]
fn client_output_buffer_limit_merges_classes() {
    let o = text("client-output-buffer-limit normal 1mb 2mb 3\nclient-output-buffer-limit replica 0 0 0");
    assert_eq!(
        o.param("client-output-buffer-limit"),
        Some("normal 1048576 2097152 3 slave 0 0 0 pubsub 33554432 8388608 60")
    );
    assert!(text_err("client-output-buffer-limit nobody 0 0 0").2.contains("Invalid client class"));
    assert!(text_err("client-output-buffer-limit normal 0 0").2.contains("Wrong number"));
}

#[test]
fn command_line_overrides_the_file() {
    let dir = temp_dir("cmdline");
    let file = dir.join("redis.conf");
    std::fs::write(&file, "port 7000\nmaxmemory 1mb\nsave 900 1\n").unwrap();
    let path = file.to_str().unwrap();
    let o = args(&[path, "--port", "7001", "--save", "60", "5", "--bind", "127.0.0.1", "-::1"]);
    assert_eq!((o.port, o.maxmemory), (7001, 1 << 20));
    // Redis: the first `save` (the file's) resets the defaults, the next adds.
    assert_eq!(o.save, [(900, 1), (60, 5)]);
    assert_eq!(o.bind, ["127.0.0.1", "-::1"]);
    assert_eq!(o.ignored_binds(), ["-::1"]);
    assert_eq!(o.config_file.as_deref(), Some(file.as_path()));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn command_line_forms() {
    assert_eq!(args(&["--port 7002"]).port, 7002);
    assert!(args(&["--save", ""]).save.is_empty());
    // A lone `--save` (last, or before another option) means `--save ""`.
    assert!(args(&["--save"]).save.is_empty());
    let o = args(&["--save", "--port", "7003"]);
    assert!(o.save.is_empty());
    assert_eq!(o.port, 7003);
    // A name's first value may start with `--`.
    assert_eq!(args(&["--logfile", "--odd"]).logfile, Some(PathBuf::from("--odd")));
    assert_eq!(args(&["--requirepass", "a b"]).requirepass.as_deref(), Some("a b"));
    assert_eq!(args(&["--requirepass", ""]).requirepass, None);
    assert_eq!(ServerOptions::from_args(["-v"]).unwrap(), Startup::Version);
    assert_eq!(ServerOptions::from_args(["--version"]).unwrap(), Startup::Version);
    assert_eq!(ServerOptions::from_args(["-h"]).unwrap(), Startup::Help);
    assert_eq!(ServerOptions::from_args(["--help"]).unwrap(), Startup::Help);
    assert_eq!(args(&[]), ServerOptions::default());
}

#[test]
fn command_line_errors_name_the_option() {
    let err = ServerOptions::from_args(["--port", "1", "--bogus", "x"]).unwrap_err();
    match &err {
        OptionsError::Directive { origin: Origin::CommandLine, line: 2, text, reason } => {
            assert_eq!((text.as_str(), reason.as_str()), ("--bogus x", BAD_DIRECTIVE));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("'--bogus x'"));
    let missing = ServerOptions::from_args(["/no/such/redis.conf"]).unwrap_err();
    assert!(matches!(missing, OptionsError::Read { .. }), "{missing:?}");
}

#[test]
fn include_reads_other_files_and_stops_loops() {
    let dir = temp_dir("include");
    let inner = dir.join("inner.conf");
    std::fs::write(&inner, "port 7100\nbogus\n").unwrap();
    let err = ServerOptions::from_config_text(&format!("include {}", inner.display())).unwrap_err();
    match err {
        OptionsError::Directive { origin: Origin::File(f), line: 2, .. } => assert_eq!(f, inner),
        other => panic!("{other:?}"),
    }
    std::fs::write(&inner, "port 7100\n").unwrap();
    assert_eq!(text(&format!("include {}\nmaxmemory 5", inner.display())).port, 7100);
    let looped = dir.join("loop.conf");
    std::fs::write(&looped, format!("include {}\n", looped.display())).unwrap();
    let err = ServerOptions::from_config_text(&format!("include {}", looped.display())).unwrap_err();
    assert!(err.to_string().contains("nested"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn listen_address_forms() {
    let addr = |bind: &str, port: &str| args(&["--bind", bind, "--port", port]).listen_address();
    assert_eq!(addr("::1", "7000").unwrap(), "[::1]:7000");
    assert_eq!(addr("-::1", "7000").unwrap(), "[::1]:7000");
    assert_eq!(addr("*", "7000").unwrap(), "0.0.0.0:7000");
    assert_eq!(addr("localhost", "7000").unwrap(), "localhost:7000");
    assert!(matches!(addr("127.0.0.1", "0"), Err(StartupError::NoListener)));
}

#[test]
fn security_tls_and_memcached_options_reach_the_builder() {
    let refused = |a: &[&str]| match args(a).server_builder() {
        Err(StartupError::NotSupported { option, .. }) => option,
        other => panic!("{a:?}: {other:?}"),
    };
    let b = args(&["--requirepass", "secret", "--aclfile", "/etc/users.acl"]).server_builder().unwrap();
    assert_eq!(b.requirepass.as_deref(), Some(&b"secret"[..]));
    assert_eq!(b.aclfile.as_deref(), Some(std::path::Path::new("/etc/users.acl")));
    let b = args(&["--memcached-port", "11311"]).server_builder().unwrap();
    assert_eq!(b.memcached_addr.as_deref(), Some("127.0.0.1:11311"));
    // A TLS port needs its certificate and key; the files alone are inert.
    assert_eq!(refused(&["--tls-port", "6380"]), "tls-port");
    assert!(args(&["--tls-cert-file", "c.pem"]).server_builder().is_ok());
    assert_eq!(refused(&["--daemonize", "yes"]), "daemonize");
    assert!(args(&["--daemonize", "no", "--memcached-port", "0", "--requirepass", ""]).server_builder().is_ok());
    let tls = args(&["--tls-auth-clients", "optional"]).tls;
    assert_eq!(tls.auth_clients, Some(TlsAuthClients::Optional));
    assert!(text_err("tls-auth-clients sometimes").2.contains("optional"));
}

/// `memcached-tls yes` (memcached's `-Z`): the Memcached listener over TLS
/// with the `tls-*` certificate files; refused without them, without a
/// Memcached port, and in a build without TLS.
#[test]
fn memcached_tls_option() {
    let refused = |a: &[&str]| match args(a).server_builder() {
        Err(StartupError::NotSupported { option, why }) => (option, why),
        other => panic!("{a:?}: {other:?}"),
    };
    assert!(!ServerOptions::default().memcached_tls);
    assert!(args(&["--memcached-tls", "YES"]).memcached_tls);
    assert!(!text("memcached-tls no").memcached_tls);
    assert_eq!(text_err("memcached-tls sometimes").2, "argument must be 'yes' or 'no'");
    assert!(args(&["--memcached-port", "11311", "--memcached-tls", "no"]).server_builder().is_ok());
    let (option, why) = refused(&["--memcached-port", "11311", "--memcached-tls", "yes"]);
    assert_eq!(option, "memcached-tls");
    if cfg!(feature = "tls") {
        assert_eq!(why, "needs tls-cert-file and tls-key-file");
    } else {
        assert!(why.contains("`tls` feature"), "{why}");
    }
}

#[cfg(feature = "tls")]
#[test]
fn memcached_tls_uses_the_tls_certificate_files() {
    let dir = temp_dir("memcached-tls");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    let (cert_file, key_file) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let (cert_file, key_file) = (cert_file.to_str().unwrap(), key_file.to_str().unwrap());
    let with_files = |more: &[&str]| {
        let mut a = vec!["--tls-cert-file", cert_file, "--tls-key-file", key_file, "--tls-auth-clients", "no"];
        a.extend_from_slice(more);
        args(&a).server_builder()
    };
    let b = with_files(&["--memcached-port", "0", "--memcached-tls", "yes"]);
    assert!(matches!(b, Err(StartupError::NotSupported { option: "memcached-tls", .. })), "{b:?}");
    let b = with_files(&["--memcached-port", "11311", "--memcached-tls", "yes"]).unwrap();
    assert!(b.memcached_tls && b.tls.is_some(), "the Memcached listener gets the certificates");
    assert_eq!(b.tls_addr, None, "no tls-port: no TLS listener for the Redis protocol");
    assert_eq!(b.memcached_addr.as_deref(), Some("127.0.0.1:11311"));
    // It binds: the certificate and key load into an acceptor.
    let server = b.bind("127.0.0.1:0").memcached_bind("127.0.0.1:0").build().unwrap();
    assert!(server.memcached_addr().unwrap().is_some() && server.tls_addr().is_none());
    // Both listeners share the one certificate configuration.
    let b = with_files(&["--tls-port", "6390", "--memcached-port", "11311", "--memcached-tls", "yes"]).unwrap();
    assert!(b.memcached_tls && b.tls_addr.as_deref() == Some("127.0.0.1:6390"));
    // Unreadable files fail the start with the TLS error.
    let b = args(&["--tls-cert-file", "/nonexistent.crt", "--tls-key-file", "/nonexistent.key"])
        .server_builder()
        .map(|_| ());
    assert!(b.is_ok(), "the files alone are inert");
    let mut o = args(&["--tls-cert-file", "/nonexistent.crt", "--tls-key-file", "/nonexistent.key"]);
    o.memcached_port = 11311;
    o.memcached_tls = true;
    assert!(matches!(o.server_builder(), Err(StartupError::Tls(_))));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn maxmemory_bounds_the_databases_together() {
    let dir = temp_dir("maxmemory");
    let d = dir.to_str().unwrap();
    let o = args(&["--dir", d, "--databases", "4", "--maxmemory", "100kb", "--maxmemory-policy", "allkeys-lru"]);
    let dbs = o.open_databases().unwrap();
    let value = "v".repeat(1000);
    for i in 0..300 {
        for db in &dbs {
            assert_eq!(db.execute(&["SET", &format!("k{i}"), &value]), crate::db::Reply::OK);
        }
    }
    let used: u64 = dbs.iter().map(Db::used_memory).sum();
    assert!(used <= 100 * 1024 + 1100, "one bound for all: {used}");
    let sizes: Vec<usize> = dbs.iter().map(Db::dbsize).collect();
    assert!(sizes.iter().all(|&n| n > 10), "each keeps a share: {sizes:?}");
    // Redis's default policy, noeviction: once database 0 fills the bound,
    // a write to another database is refused.
    drop(dbs);
    let o = args(&["--dir", d, "--databases", "2", "--maxmemory", "100kb"]);
    let dbs = o.open_databases().unwrap();
    let mut i = 0;
    while dbs[0].execute(&["SET", &format!("k{i}"), &value]) == crate::db::Reply::OK {
        i += 1;
    }
    assert!(dbs[1].execute(&["SET", "other", "x"]).is_error(), "the bound is the databases' together");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn databases_load_their_snapshots() {
    let dir = temp_dir("load");
    let o = args(&["--dir", dir.to_str().unwrap(), "--databases", "3"]);
    let dbs = o.open_databases().unwrap();
    assert_eq!(dbs.len(), 3);
    dbs[0].execute(&["SET", "a", "0"]);
    dbs[2].execute(&["SET", "c", "2"]);
    o.persistence().save_databases(&dbs).unwrap();
    assert!(dir.join("dump.ember").is_file() && dir.join("dump.ember.2").is_file());
    assert!(!dir.join("dump.ember.1").exists());
    drop(dbs);
    let again = o.open_databases().unwrap();
    assert_eq!(again.iter().map(Db::dbsize).collect::<Vec<_>>(), [1, 0, 1]);
    assert_eq!(again[2].get(b"c").unwrap(), Some(b"2".to_vec()));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn appendonly_journals_database_zero_seeded_from_its_snapshot() {
    let dir = temp_dir("aof");
    let plain = args(&["--dir", dir.to_str().unwrap(), "--databases", "1"]);
    let dbs = plain.open_databases().unwrap();
    dbs[0].execute(&["SET", "from-snapshot", "1"]);
    plain.persistence().save_databases(&dbs).unwrap();
    drop(dbs);
    let aof =
        args(&["--dir", dir.to_str().unwrap(), "--databases", "1", "--appendonly", "yes", "--appendfsync", "always"]);
    let dbs = aof.open_databases().unwrap();
    assert!(dbs[0].backups().is_some());
    dbs[0].execute(&["SET", "from-journal", "2"]);
    drop(dbs);
    // Rename the snapshot away: the journal directory alone has both keys.
    std::fs::remove_file(dir.join("dump.ember")).unwrap();
    let dbs = aof.open_databases().unwrap();
    assert_eq!(dbs[0].get(b"from-snapshot").unwrap(), Some(b"1".to_vec()));
    assert_eq!(dbs[0].get(b"from-journal").unwrap(), Some(b"2".to_vec()));
    assert!(dir.join("appendonlydir").is_dir());
    drop(dbs);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_snapshot_stops_the_start() {
    let dir = temp_dir("damaged");
    std::fs::write(dir.join("dump.ember"), b"REDIS0009 not ours").unwrap();
    let o = args(&["--dir", dir.to_str().unwrap()]);
    assert!(matches!(o.open_databases(), Err(StartupError::Load { db: 0, .. })));
    let missing = args(&["--dir", dir.join("nope").to_str().unwrap()]);
    assert!(matches!(missing.open_databases(), Err(StartupError::Dir { .. })));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn io_threads_sets_the_serving_threads() {
    assert_eq!(args(&[]).io_threads(), None);
    assert_eq!(args(&["--io-threads", "1"]).io_threads(), Some(1));
    assert_eq!(text("io-threads 4\n").io_threads(), Some(4));
    for bad in ["0", "129", "x"] {
        let (line, _, reason) = text_err(&format!("io-threads {bad}\n"));
        assert_eq!(line, 1);
        assert!(!reason.is_empty(), "{bad}");
    }
}

/// The serving threads' microsecond options: their default, 0, a value,
/// and what they refuse.
#[test]
fn busy_poll_us_and_cpu_slice_us_take_microseconds() {
    type Field = fn(&ServerOptions) -> u64;
    let options: [(&str, Field, u64); 2] = [
        ("busy-poll-us", |o| o.busy_poll_us, super::DEFAULT_BUSY_POLL_US),
        ("cpu-slice-us", |o| o.cpu_slice_us, super::DEFAULT_CPU_SLICE_US),
    ];
    for (name, field, default) in options {
        assert_eq!(field(&args(&[])), default, "{name}");
        assert_eq!(field(&args(&[&format!("--{name}"), "0"])), 0, "{name}");
        assert_eq!(field(&text(&format!("{name} 2000\n"))), 2000, "{name}");
        for bad in ["-1", "1000001", "x", ""] {
            let (line, _, reason) = text_err(&format!("{name} {bad}\n"));
            assert_eq!(line, 1);
            assert!(!reason.is_empty(), "{name} {bad}");
        }
    }
}
