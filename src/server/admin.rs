//! The server's own commands: FLUSHALL, SAVE, BGSAVE, LASTSAVE, SLOWLOG,
//! TIME, SHUTDOWN, MONITOR, the CLIENT subcommands that concern other
//! clients (LIST, INFO, KILL, NO-EVICT, TRACKING, CACHING, …), and the
//! dispatch to INFO ([`super::info`]) and CONFIG ([`super::config_cmd`]).

use super::session::{Session, self_mode};
use super::state::{ClientInfo, Push, ServerState, unix_now};
use super::tracking::Mode;
use super::{config_cmd, info};
use crate::db::Reply;
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn arity(name: &str) -> Reply {
    Reply::Error(format!("ERR wrong number of arguments for '{name}' command"))
}

fn syntax() -> Reply {
    Reply::Error("ERR syntax error".into())
}

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
            state.dbs.iter().for_each(|db| db.flushdb());
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
        "client" => return client(session, args),
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
    if let Err(e) = persistence.save_databases(&state.dbs) {
        state.last_save_ok.store(false, Ordering::Relaxed);
        return Err(e.to_string());
    }
    state.last_save_ok.store(true, Ordering::Relaxed);
    state.lastsave.store(unix_now().0, Ordering::Relaxed);
    state.changes_since_save.store(0, Ordering::Relaxed);
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

/// One line of CLIENT LIST / CLIENT INFO.
fn client_line(state: &ServerState, c: &ClientInfo) -> String {
    let now = u64::try_from(c.created.elapsed().as_millis()).unwrap_or(0);
    let idle = now.saturating_sub(c.last_active_ms.load(Ordering::Relaxed)) / 1000;
    let multi = c.multi.load(Ordering::Relaxed) - 1;
    let mut flags = String::new();
    if multi >= 0 {
        flags.push('x');
    }
    if c.subs.load(Ordering::Relaxed) + c.psubs.load(Ordering::Relaxed) > 0 {
        flags.push('P');
    }
    if state.tracking.mode(c.id).is_some() {
        flags.push('t');
    }
    if c.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if state.monitors.lock().iter().any(|m| m.id == c.id) {
        flags.push('O');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let (lib, ver) = c.lib.lock().clone();
    format!(
        "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.name_string(),
        c.created.elapsed().as_secs(),
        idle,
        flags,
        c.db.load(Ordering::Relaxed),
        c.subs.load(Ordering::Relaxed),
        c.psubs.load(Ordering::Relaxed),
        multi,
        c.last_cmd.lock(),
        c.resp.load(Ordering::Relaxed),
        lib,
        ver,
    )
}

/// The CLIENT subcommands beyond ID/GETNAME/SETNAME (answered in
/// `commands`); `None` hands those on.
fn client(session: &mut Session, args: &[Vec<u8>]) -> Option<Reply> {
    let sub = args.get(1)?.to_ascii_lowercase();
    let state = Arc::clone(&session.state);
    let n = args.len();
    let sub_arity = |s: &str| Reply::Error(format!("ERR wrong number of arguments for 'client|{s}' command"));
    Some(match sub.as_slice() {
        b"list" => {
            let mut ids: Option<Vec<u64>> = None;
            let mut i = 2;
            while i < n {
                if eq(&args[i], "type") && i + 1 < n {
                    i += 2;
                } else if eq(&args[i], "id") && i + 1 < n {
                    let parsed: Option<Vec<u64>> =
                        args[i + 1..].iter().map(|a| std::str::from_utf8(a).ok()?.parse().ok()).collect();
                    match parsed {
                        Some(v) => ids = Some(v),
                        None => return Some(Reply::Error("ERR Invalid client ID".into())),
                    }
                    i = n;
                } else {
                    return Some(syntax());
                }
            }
            let mut clients: Vec<Arc<ClientInfo>> = state.clients.lock().values().cloned().collect();
            clients.sort_by_key(|c| c.id);
            let text: String = clients
                .iter()
                .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
                .map(|c| client_line(&state, c) + "\n")
                .collect();
            Reply::Bulk(text.into_bytes())
        }
        b"info" if n == 2 => Reply::Bulk((client_line(&state, &session.info) + "\n").into_bytes()),
        b"info" => sub_arity("info"),
        b"kill" => client_kill(session, args),
        b"no-evict" | b"no-touch" if n == 3 => {
            let on = if eq(&args[2], "on") {
                true
            } else if eq(&args[2], "off") {
                false
            } else {
                return Some(syntax());
            };
            if sub.as_slice() == b"no-evict" {
                session.info.no_evict.store(on, Ordering::Relaxed);
            }
            Reply::OK
        }
        b"tracking" => tracking(session, args),
        b"caching" if n == 3 => {
            let Some(mode) = state.tracking.mode(session.info.id) else {
                return Some(Reply::Error(
                    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled".into(),
                ));
            };
            let _ = mode;
            if eq(&args[2], "yes") && session.tracking_optin {
                session.caching = Some(true);
            } else if eq(&args[2], "no") && session.tracking_optout {
                session.caching = Some(false);
            } else if eq(&args[2], "yes") || eq(&args[2], "no") {
                return Some(Reply::Error(
                    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.".into(),
                ));
            } else {
                return Some(syntax());
            }
            Reply::OK
        }
        b"getredir" if n == 2 => match state.tracking.mode(session.info.id) {
            None => Reply::Integer(-1),
            Some(m) if m.redirect => {
                Reply::Integer(m.target.upgrade().map_or(-1, |t| i64::try_from(t.id).unwrap_or(-1)))
            }
            Some(_) => Reply::Integer(0),
        },
        b"trackinginfo" if n == 2 => {
            let mode = state.tracking.mode(session.info.id);
            let mut flags = Vec::new();
            match &mode {
                None => flags.push(Reply::bulk("off")),
                Some(m) => {
                    flags.push(Reply::bulk("on"));
                    if m.bcast {
                        flags.push(Reply::bulk("bcast"));
                    }
                    if session.tracking_optin {
                        flags.push(Reply::bulk("optin"));
                    }
                    if session.tracking_optout {
                        flags.push(Reply::bulk("optout"));
                    }
                    if m.noloop {
                        flags.push(Reply::bulk("noloop"));
                    }
                }
            }
            let redirect = match &mode {
                None => -1,
                Some(m) if m.redirect => m.target.upgrade().map_or(-1, |t| i64::try_from(t.id).unwrap_or(-1)),
                Some(_) => 0,
            };
            let prefixes = mode.map(|m| m.prefixes).unwrap_or_default();
            Reply::Map(vec![
                (Reply::bulk("flags"), Reply::Set(flags)),
                (Reply::bulk("redirect"), Reply::Integer(redirect)),
                (Reply::bulk("prefixes"), Reply::Array(prefixes.into_iter().map(Reply::Bulk).collect())),
            ])
        }
        b"setinfo" if n == 4 => {
            let value = String::from_utf8_lossy(&args[3]).into_owned();
            let mut lib = session.info.lib.lock();
            if eq(&args[2], "lib-name") {
                lib.0 = value;
            } else if eq(&args[2], "lib-ver") {
                lib.1 = value;
            }
            drop(lib);
            return None;
        }
        b"pause" | b"unpause" | b"reply" => {
            // Accepted for tools that send them; pausing is not modelled.
            Reply::OK
        }
        _ => return None,
    })
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [SKIPME yes|no] ...
fn client_kill(session: &mut Session, args: &[Vec<u8>]) -> Reply {
    let state = &session.state;
    let clients: Vec<Arc<ClientInfo>> = state.clients.lock().values().cloned().collect();
    if args.len() == 3 {
        let addr = String::from_utf8_lossy(&args[2]);
        return match clients.iter().find(|c| c.addr.to_string() == addr) {
            Some(c) => {
                c.kill();
                Reply::OK
            }
            None => Reply::Error("ERR No such client".into()),
        };
    }
    if args.len() < 4 || !args.len().is_multiple_of(2) {
        return syntax();
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut skipme = true;
    for pair in args[2..].chunks(2) {
        let v = String::from_utf8_lossy(&pair[1]).into_owned();
        if eq(&pair[0], "id") {
            match v.parse::<u64>() {
                Ok(i) => id = Some(i),
                Err(_) => return Reply::Error("ERR client-id should be greater than 0".into()),
            }
        } else if eq(&pair[0], "addr") {
            addr = Some(v);
        } else if eq(&pair[0], "laddr") {
            laddr = Some(v);
        } else if eq(&pair[0], "skipme") {
            skipme = match v.to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return syntax(),
            };
        } else if eq(&pair[0], "type") || eq(&pair[0], "user") || eq(&pair[0], "maxage") {
        } else {
            return syntax();
        }
    }
    let mut killed = 0;
    for c in &clients {
        if skipme && c.id == session.info.id {
            continue;
        }
        if id.is_some_and(|i| i != c.id)
            || addr.as_ref().is_some_and(|a| *a != c.addr.to_string())
            || laddr.as_ref().is_some_and(|a| *a != c.laddr.to_string())
        {
            continue;
        }
        c.kill();
        killed += 1;
    }
    Reply::Integer(killed)
}

/// CLIENT TRACKING on|off [REDIRECT id] [PREFIX p …] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
fn tracking(session: &mut Session, args: &[Vec<u8>]) -> Reply {
    let Some(onoff) = args.get(2) else {
        return Reply::Error("ERR wrong number of arguments for 'client|tracking' command".into());
    };
    let state = Arc::clone(&session.state);
    if eq(onoff, "off") {
        state.tracking.forget_client(session.info.id);
        session.tracking_optin = false;
        session.tracking_optout = false;
        session.tracking = false;
        return Reply::OK;
    }
    if !eq(onoff, "on") {
        return syntax();
    }
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes = Vec::new();
    let mut redirect: Option<u64> = None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if eq(a, "bcast") {
            bcast = true;
        } else if eq(a, "optin") {
            optin = true;
        } else if eq(a, "optout") {
            optout = true;
        } else if eq(a, "noloop") {
            noloop = true;
        } else if eq(a, "prefix") && i + 1 < args.len() {
            prefixes.push(args[i + 1].clone());
            i += 1;
        } else if eq(a, "redirect") && i + 1 < args.len() {
            match std::str::from_utf8(&args[i + 1]).ok().and_then(|s| s.parse::<u64>().ok()) {
                Some(id) => redirect = Some(id),
                None => return Reply::Error("ERR value is not an integer or out of range".into()),
            }
            i += 1;
        } else {
            return syntax();
        }
        i += 1;
    }
    if optin && optout {
        return Reply::Error("ERR You can't use both OPTIN and OPTOUT.".into());
    }
    if bcast && (optin || optout) {
        return Reply::Error("ERR OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if !bcast && !prefixes.is_empty() {
        return Reply::Error("ERR PREFIX option requires BCAST mode to be enabled".into());
    }
    let mut mode: Mode = self_mode(session, bcast, prefixes, noloop);
    match redirect {
        Some(id) if id != session.info.id => match state.client(id) {
            Some(target) => {
                mode.target = Arc::downgrade(&target);
                mode.redirect = true;
            }
            None => return Reply::Error("ERR The client ID you want redirect to does not exist".into()),
        },
        _ if session.proto() == super::resp::Protocol::Resp2 => {
            // RESP2 has no push messages: Redis accepts it and sends nothing
            // useful; we do the same but the messages go nowhere visible.
        }
        _ => {}
    }
    session.tracking_optin = optin;
    session.tracking_optout = optout;
    session.tracking = !bcast;
    state.tracking.enable(session.info.id, mode);
    Reply::OK
}
