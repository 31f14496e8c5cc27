//! The server's own commands: FLUSHALL, SAVE, BGSAVE, LASTSAVE, SLOWLOG,
//! TIME, SHUTDOWN, MONITOR, and the dispatch to INFO ([`super::info`]),
//! CONFIG ([`super::config_cmd`]) and CLIENT ([`super::client_cmd`]).

use super::replies::{arity, eq, syntax};
use super::session::Session;
use super::state::Hot;
use super::state::{ClientInfo, Push, ServerState, unix_now};
use super::{client_cmd, config_cmd, info};
use crate::db::Reply;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The commands [`run`] answers.
const ADMIN: &[&str] =
    &["info", "config", "flushall", "save", "bgsave", "lastsave", "slowlog", "time", "shutdown", "client"];

/// Answers `args` if it is one of the server's commands.
pub(crate) fn run(session: &mut Session, name: &str, args: &[Vec<u8>]) -> Option<Reply> {
    let n = args.len();
    if !ADMIN.contains(&name) {
        return None;
    }
    let state = Arc::clone(&session.state);
    Some(match name {
        "info" => info::info(&state, &args[1..]),
        "config" => config_cmd::config(&state, args),
        "flushall" => {
            if n > 2 || (n == 2 && !eq(&args[1], "async") && !eq(&args[1], "sync")) {
                return Some(syntax());
            }
            let _inside = session.enter_gate();
            state.dbs.all().iter().for_each(|db| db.flushdb());
            Reply::OK
        }
        "save" if n == 1 => match save(&state) {
            Ok(()) => Reply::OK,
            Err(e) => Reply::Error(format!("ERR {e}")),
        },
        "bgsave" => bgsave(&state, args),
        "lastsave" if n == 1 => Reply::Integer(state.lastsave.load(Ordering::Relaxed)),
        "slowlog" => slowlog(&state, args),
        "time" if n == 1 => {
            let (secs, micros) = unix_now();
            Reply::Array(vec![Reply::bulk(secs.to_string()), Reply::bulk(micros.to_string())])
        }
        "shutdown" => shutdown(&state, args),
        "client" => client_cmd::client(session, args),
        "save" | "lastsave" | "time" => arity(name),
        _ => return None,
    })
}

/// SAVE: a snapshot of every non-empty database (and removes the files of
/// databases that became empty).
pub(crate) fn save(state: &ServerState) -> Result<(), String> {
    let Some(persistence) = state.config.persistence.as_ref() else {
        return Err("no directory configured for snapshots (dir/dbfilename)".into());
    };
    if let Err(e) = persistence.save_databases(&state.dbs.all()) {
        state.last_save_ok.store(false, Ordering::Relaxed);
        return Err(e.to_string());
    }
    state.last_save_ok.store(true, Ordering::Relaxed);
    state.lastsave.store(unix_now().0, Ordering::Relaxed);
    state.stats.zero(Hot::Changes);
    Ok(())
}

fn bgsave(state: &Arc<ServerState>, args: &[Vec<u8>]) -> Reply {
    if args.len() > 2 || (args.len() == 2 && !eq(&args[1], "schedule")) {
        return syntax();
    }
    if state.config.persistence.is_none() {
        return Reply::Error("ERR no directory configured for snapshots (dir/dbfilename)".into());
    }
    if state.bgsave_running.swap(true, Ordering::AcqRel) {
        return Reply::Error("ERR Background save already in progress".into());
    }
    let state = Arc::clone(state);
    let spawned = std::thread::Builder::new().name("embercache-bgsave".into()).spawn(move || {
        let _ = save(&state);
        state.bgsave_running.store(false, Ordering::Release);
    });
    match spawned {
        Ok(_) => Reply::Simple("Background saving started"),
        Err(e) => Reply::Error(format!("ERR could not start the background save: {e}")),
    }
}

fn shutdown(state: &ServerState, args: &[Vec<u8>]) -> Reply {
    let mut save_first = state.config.persistence.as_ref().is_some_and(|p| p.save_on_shutdown);
    for a in &args[1..] {
        if eq(a, "nosave") {
            save_first = false;
        } else if eq(a, "save") {
            save_first = true;
        } else if eq(a, "now") || eq(a, "force") {
        } else if eq(a, "abort") {
            return Reply::Error("ERR No shutdown in progress.".into());
        } else {
            return syntax();
        }
    }
    if save_first
        && let Err(e) = save(state)
        && !args[1..].iter().any(|a| eq(a, "force"))
    {
        return Reply::Error(format!("ERR Errors trying to SHUTDOWN. Check logs. ({e})"));
    }
    let _ = state.stop.send(true);
    // As Redis: the client gets no reply, the connection just closes.
    Reply::Simple("")
}

fn slowlog(state: &ServerState, args: &[Vec<u8>]) -> Reply {
    let sub = args.get(1).map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    match (sub.as_slice(), args.len()) {
        (b"get", 2 | 3) => {
            let count = match args.get(2).map(|c| std::str::from_utf8(c).ok().and_then(|c| c.parse::<i64>().ok())) {
                None => 10,
                Some(Some(-1)) => i64::MAX,
                Some(Some(c)) if c >= 0 => c,
                _ => return Reply::Error("ERR count should be greater than or equal to -1".into()),
            };
            let log = state.slowlog.lock();
            let take = usize::try_from(count).unwrap_or(usize::MAX);
            Reply::Array(
                log.entries
                    .iter()
                    .take(take)
                    .map(|e| {
                        Reply::Array(vec![
                            Reply::Integer(i64::try_from(e.id).unwrap_or(i64::MAX)),
                            Reply::Integer(e.unix_secs),
                            Reply::Integer(i64::try_from(e.micros).unwrap_or(i64::MAX)),
                            Reply::Array(e.args.iter().map(Reply::bulk).collect()),
                            Reply::bulk(&e.client),
                            Reply::bulk(&e.name),
                        ])
                    })
                    .collect(),
            )
        }
        (b"len", 2) => Reply::count(state.slowlog.lock().entries.len()),
        (b"reset", 2) => {
            state.slowlog.lock().entries.clear();
            Reply::OK
        }
        (b"help", 2) => Reply::Array(
            [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Simple(l))
            .collect(),
        ),
        (b"get" | b"len" | b"reset" | b"help", _) => Reply::Error(format!(
            "ERR wrong number of arguments for 'slowlog|{}' command",
            String::from_utf8_lossy(&sub)
        )),
        _ => unknown_sub(args.get(1).map_or(&[][..], Vec::as_slice), "SLOWLOG"),
    }
}

fn unknown_sub(sub: &[u8], cmd: &str) -> Reply {
    Reply::Error(format!(
        "ERR unknown subcommand '{}'. Try {cmd} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)])
    ))
}

/// MONITOR: from now on this client receives every command the server runs.
pub(crate) fn monitor(session: &mut Session) {
    let mut m = session.state.monitors.lock();
    if !m.iter().any(|c| c.id == session.info.id) {
        m.push(Arc::clone(&session.info));
    }
    session.state.monitoring.store(true, Ordering::Relaxed);
}

/// Sends a command to the monitors, in Redis's format:
/// `1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`.
pub(crate) fn feed_monitors<A: AsRef<[u8]>>(session: &Session, args: &[A]) {
    let (secs, micros) = unix_now();
    let mut line = format!("{secs}.{micros:06} [{} {}]", session.db, session.info.addr);
    for a in args {
        line.push_str(" \"");
        for &b in a.as_ref() {
            match b {
                b'"' => line.push_str("\\\""),
                b'\\' => line.push_str("\\\\"),
                b'\n' => line.push_str("\\n"),
                b'\r' => line.push_str("\\r"),
                b'\t' => line.push_str("\\t"),
                0x20..=0x7e => line.push(char::from(b)),
                _ => line.push_str(&format!("\\x{b:02x}")),
            }
        }
        line.push('"');
    }
    let monitors: Vec<Arc<ClientInfo>> = session.state.monitors.lock().clone();
    for m in monitors.iter().filter(|m| m.id != session.info.id) {
        m.push(Push::Status(line.clone()));
    }
}
