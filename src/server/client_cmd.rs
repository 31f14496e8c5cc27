//! CLIENT and its subcommands: the connection's own (ID, GETNAME, SETNAME,
//! SETINFO, INFO, NO-EVICT, NO-TOUCH), the other clients (LIST, KILL), and
//! client-side caching (TRACKING, CACHING, GETREDIR, TRACKINGINFO); PAUSE,
//! UNPAUSE and REPLY are accepted and do nothing.

use super::replies::{arity, eq, syntax};
use super::session::Session;
use super::state::{ClientInfo, ServerState};
use super::tracking::Mode;
use crate::db::Reply;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Redis refuses names with spaces, newlines or other characters outside `!`..`~`.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// Redis's reply to a name [`valid_name`] refuses.
pub(crate) const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

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

/// `CLIENT <subcommand> …`: every subcommand, with Redis's replies.
pub(crate) fn client(session: &mut Session, args: &[Vec<u8>]) -> Reply {
    let Some(sub) = args.get(1).map(|s| s.to_ascii_lowercase()) else { return arity("client") };
    let state = Arc::clone(&session.state);
    let n = args.len();
    let sub_arity = |s: &str| Reply::Error(format!("ERR wrong number of arguments for 'client|{s}' command"));
    match sub.as_slice() {
        b"id" if n == 2 => Reply::Integer(i64::try_from(session.client.id).unwrap_or(i64::MAX)),
        b"getname" if n == 2 => Reply::bulk_or_null(session.client.name.as_ref()),
        b"setname" if n == 3 => {
            if !valid_name(&args[2]) {
                return Reply::Error(BAD_NAME.into());
            }
            session.client.name = (!args[2].is_empty()).then(|| args[2].clone());
            *session.info.name.lock() = session.client.name.clone();
            Reply::OK
        }
        b"setinfo" if n == 4 => {
            // Client libraries announce themselves (LIB-NAME, LIB-VER), for CLIENT LIST.
            let value = String::from_utf8_lossy(&args[3]).into_owned();
            let mut lib = session.info.lib.lock();
            if eq(&args[2], "lib-name") {
                lib.0 = value;
            } else if eq(&args[2], "lib-ver") {
                lib.1 = value;
            } else {
                return Reply::Error(format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(&args[2])));
            }
            Reply::OK
        }
        b"id" | b"getname" | b"setname" | b"setinfo" => sub_arity(&String::from_utf8_lossy(&sub)),
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
                        None => return Reply::Error("ERR Invalid client ID".into()),
                    }
                    i = n;
                } else {
                    return syntax();
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
                return syntax();
            };
            if sub.as_slice() == b"no-evict" {
                session.info.no_evict.store(on, Ordering::Relaxed);
            }
            Reply::OK
        }
        b"tracking" => tracking(session, args),
        b"caching" if n == 3 => {
            if state.tracking.mode(session.info.id).is_none() {
                return Reply::Error(
                    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled".into(),
                );
            }
            if eq(&args[2], "yes") && session.tracking_optin {
                session.caching = Some(true);
            } else if eq(&args[2], "no") && session.tracking_optout {
                session.caching = Some(false);
            } else if eq(&args[2], "yes") || eq(&args[2], "no") {
                return Reply::Error(
                    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.".into(),
                );
            } else {
                return syntax();
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
        b"pause" | b"unpause" | b"reply" => {
            // Accepted for tools that send them; pausing is not modelled.
            Reply::OK
        }
        _ => Reply::Error(format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&args[1]).chars().take(128).collect::<String>()
        )),
    }
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
    let mut mode = Mode::to_self(&session.info, bcast, prefixes, noloop);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    /// A session of a server with one database, not connected to anything.
    fn session() -> Session {
        let config = Arc::new(super::super::Server::builder().config);
        let (stop, _) = tokio::sync::watch::channel(false);
        let state = ServerState::new(vec![Db::new()], config, stop);
        let addr = "127.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        let info = state.connect(addr, addr);
        Session::new(state, info)
    }

    fn run(s: &mut Session, args: &[&str]) -> Reply {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        client(s, &args)
    }

    fn err(s: &mut Session, args: &[&str]) -> String {
        match run(s, args) {
            Reply::Error(e) => e,
            other => panic!("{args:?} is not an error: {other:?}"),
        }
    }

    #[test]
    fn the_connections_own_subcommands() {
        let mut s = session();
        let id = i64::try_from(s.info.id).unwrap_or(-1);
        assert_eq!(run(&mut s, &["client", "id"]), Reply::Integer(id));
        assert_eq!(err(&mut s, &["client"]), "ERR wrong number of arguments for 'client' command");
        assert_eq!(err(&mut s, &["client", "id", "x"]), "ERR wrong number of arguments for 'client|id' command");
        assert_eq!(err(&mut s, &["client", "setname", "a b"]), BAD_NAME);
        assert_eq!(run(&mut s, &["client", "SETNAME", "me"]), Reply::OK);
        assert_eq!(run(&mut s, &["client", "getname"]), Reply::bulk("me"));
        assert_eq!(s.info.name_string(), "me", "CLIENT LIST sees the name");
        assert_eq!(run(&mut s, &["client", "setname", ""]), Reply::OK);
        assert_eq!(run(&mut s, &["client", "getname"]), Reply::Null);
        assert_eq!(run(&mut s, &["client", "setinfo", "LIB-NAME", "redis-rs"]), Reply::OK);
        assert_eq!(err(&mut s, &["client", "setinfo", "color", "red"]), "ERR Unrecognized option 'color'");
        assert_eq!(
            err(&mut s, &["client", "setinfo", "lib-ver"]),
            "ERR wrong number of arguments for 'client|setinfo' command"
        );
        let Reply::Bulk(line) = run(&mut s, &["client", "info"]) else { panic!("CLIENT INFO is a bulk string") };
        let line = String::from_utf8_lossy(&line).into_owned();
        assert!(line.starts_with(&format!("id={id} ")), "{line}");
        assert!(line.contains(" lib-name=redis-rs "), "{line}");
        assert_eq!(err(&mut s, &["client", "nope"]), "ERR unknown subcommand 'nope'. Try CLIENT HELP.");
        assert_eq!(err(&mut s, &["client", "no-evict", "maybe"]), "ERR syntax error");
        assert_eq!(run(&mut s, &["client", "no-evict", "on"]), Reply::OK);
        assert!(s.info.no_evict.load(Ordering::Relaxed));
        assert_eq!(run(&mut s, &["client", "getredir"]), Reply::Integer(-1));
        assert_eq!(
            err(&mut s, &["client", "tracking", "on", "prefix", "a"]),
            "ERR PREFIX option requires BCAST mode to be enabled"
        );
        assert_eq!(run(&mut s, &["client", "tracking", "on", "optin"]), Reply::OK);
        assert_eq!(run(&mut s, &["client", "caching", "yes"]), Reply::OK);
        assert_eq!(run(&mut s, &["client", "getredir"]), Reply::Integer(0));
    }
}
