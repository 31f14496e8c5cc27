//! The Memcached port's authentication and ACL checks, at the session level.

use super::super::Session;
use super::super::tests::{run, run_bytes};
use crate::acl::{Acl, LogReason};
use crate::db::{Db, Reply};

/// An ACL whose `default` user needs a password, with `app` (reads and
/// writes `app:*`, no dangerous commands) and `reader` (reads only).
fn acl() -> Acl {
    let acl = Acl::new();
    acl.set_user("default", &["resetpass", ">admin-secret"]).unwrap();
    acl.set_user("app", &["on", ">app-secret", "~app:*", "+@all", "-@dangerous"]).unwrap();
    acl.set_user("reader", &["on", ">read-secret", "~*", "+@read"]).unwrap();
    acl
}

fn session(acl: &Acl) -> (Db, Session) {
    let db = Db::new();
    (db.clone(), Session::new(db).acl(acl))
}

const AUTH_FAILED: &str = "CLIENT_ERROR authentication failure\r\n";

/// The `set` that authenticates as `user` with `password`.
fn login(user: &str, password: &str) -> String {
    let token = format!("{user} {password}");
    format!("set auth 0 0 {}\r\n{token}\r\n", token.len())
}

#[test]
fn nothing_but_authentication_before_it() {
    let acl = acl();
    for request in ["get a\r\n", "version\r\n", "mn\r\n", "stats\r\n", "quit\r\n", "add a 0 0 1\r\nx\r\n", "set a\r\n"]
    {
        let (db, mut s) = session(&acl);
        let (out, closed) = run_bytes(&mut s, request.as_bytes());
        assert_eq!((out.as_str(), closed), ("CLIENT_ERROR unauthenticated\r\n", true), "{request:?}");
        assert_eq!(db.dbsize(), 0);
    }
    // A data block too long for credentials is not buffered.
    let (_, mut s) = session(&acl);
    let (out, closed) = run_bytes(&mut s, b"set a 0 0 1000000\r\n");
    assert_eq!((out.as_str(), closed), ("CLIENT_ERROR unauthenticated\r\n", true));
}

#[test]
fn the_set_of_user_and_password_logs_in_and_stores_nothing() {
    let acl = acl();
    let (db, mut s) = session(&acl);
    // Wrong password, unknown user, no password: refused, and the client may retry.
    let wrong = login("app", "nope") + &login("ghost", "app-secret") + "set auth 0 0 3\r\napp\r\n";
    assert_eq!(run(&mut s, &wrong), AUTH_FAILED.repeat(3));
    let failures: u64 = acl.log(10).iter().filter(|e| e.reason == LogReason::Auth).map(|e| e.count).sum();
    assert_eq!(failures, 3, "each failure is in ACL LOG");
    // The credentials arrive in pieces: nothing is consumed before they are whole.
    let ok = login("app", "app-secret");
    let mut out = Vec::new();
    assert_eq!(s.process(&ok.as_bytes()[..ok.len() - 3], &mut out).consumed, 0);
    assert_eq!(run(&mut s, &(ok + "get app:x\r\n")), "STORED\r\nEND\r\n");
    assert_eq!(db.dbsize(), 0, "the credentials were not stored");
    // Logged in: `set` is a set again.
    assert_eq!(run(&mut s, &login("app", "app-secret")), "CLIENT_ERROR NOPERM No permissions to access a key\r\n");
    assert_eq!(run(&mut s, "set app:1 0 0 2 noreply\r\nhi\r\nget app:1\r\n"), "VALUE app:1 0 2\r\nhi\r\nEND\r\n");
    // The password may hold spaces: everything after the first one.
    acl.set_user("spaced", &["on", "> two words", "~*", "+@all"]).unwrap();
    let (_, mut s) = session(&acl);
    assert_eq!(run(&mut s, &login("spaced", " two words")), "STORED\r\n");
    // The `default` user's password, as with `requirepass`.
    let (_, mut s) = session(&acl);
    assert_eq!(
        run(&mut s, &(login("default", "wrong") + &login("default", "admin-secret"))),
        format!("{AUTH_FAILED}STORED\r\n")
    );
    let stats = run(&mut s, "stats\r\n");
    assert!(stats.contains("STAT auth_cmds 2\r\n") && stats.contains("STAT auth_errors 1\r\n"), "{stats}");
}

#[test]
fn commands_are_checked_as_the_redis_commands_they_amount_to() {
    let acl = acl();
    let (db, mut s) = session(&acl);
    db.execute(&["SET", "other", "secret"]);
    db.execute(&["SET", "app:n", "5"]);
    run(&mut s, &login("app", "app-secret"));
    let noperm = "CLIENT_ERROR NOPERM No permissions to access a key\r\n";
    // Text protocol: each key of a retrieval; nothing is sent when one is refused.
    assert_eq!(run(&mut s, "get app:n other\r\n"), noperm);
    assert_eq!(run(&mut s, "gets app:n\r\n").lines().next(), Some("VALUE app:n 0 1 1"));
    for refused in [
        "gat 10 other\r\n",
        "incr other 1\r\n",
        "decr other 1\r\n",
        "delete other\r\n",
        "touch other 10\r\n",
        "append other 0 0 1\r\nx\r\n",
        "cas other 0 0 1 1\r\nx\r\n",
    ] {
        assert_eq!(run(&mut s, refused), noperm, "{refused:?}");
    }
    // A refused data block is skipped, however it arrives; the old value stays.
    let (out, closed) = run_bytes(&mut s, b"set other 0 0 5\r\nab");
    assert_eq!((out.as_str(), closed), (noperm, false));
    assert_eq!(run(&mut s, "cde\r\nincr app:n 2\r\n"), "7\r\n");
    assert_eq!(db.get(b"other").unwrap().as_deref(), Some(&b"secret"[..]));
    // `noreply` silences the refusal too.
    assert_eq!(run(&mut s, "set other 0 0 1 noreply\r\nx\r\ndelete other noreply\r\nmn\r\n"), "MN\r\n");
    // Keyless commands: `flush_all` is FLUSHALL, `stats` is INFO (both @dangerous).
    let denied = |cmd: &str| format!("CLIENT_ERROR NOPERM User app has no permissions to run the '{cmd}' command\r\n");
    assert_eq!(run(&mut s, "flush_all\r\n"), denied("flushall"));
    assert_eq!(run(&mut s, "stats\r\n"), denied("info"));
    assert_eq!(run(&mut s, "version\r\nverbosity 1\r\n").lines().nth(1), Some("OK"));
    // Meta protocol, base64 keys decoded first.
    for refused in ["mg other v\r\n", "mg b3RoZXI= b v\r\n", "md other\r\n", "ma other\r\n", "me other\r\n"] {
        assert_eq!(run(&mut s, refused), noperm, "{refused:?}");
    }
    assert_eq!(run(&mut s, "ms other 2\r\nzz\r\nmg app:n v\r\n"), format!("{noperm}VA 1\r\n7\r\n"));
    assert_eq!(db.dbsize(), 2, "nothing was created or deleted");
    assert_eq!(db.get(b"other").unwrap().as_deref(), Some(&b"secret"[..]));
    let denials: u64 = acl.log(100).iter().filter(|e| e.reason != LogReason::Auth).map(|e| e.count).sum();
    assert_eq!(denials, 19, "every refusal is in ACL LOG");
}

#[test]
fn a_reader_reads_and_touching_or_vivifying_is_a_write() {
    let acl = acl();
    let (db, mut s) = session(&acl);
    db.execute(&["SET", "k", "v"]);
    run(&mut s, &login("reader", "read-secret"));
    assert_eq!(run(&mut s, "get k\r\nmg k v\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\nVA 1\r\nv\r\n");
    let denied =
        |cmd: &str| format!("CLIENT_ERROR NOPERM User reader has no permissions to run the '{cmd}' command\r\n");
    assert_eq!(run(&mut s, "gat 100 k\r\n"), denied("getex"));
    assert_eq!(run(&mut s, "mg k v T100\r\n"), denied("getex"));
    assert_eq!(run(&mut s, "mg new v N100\r\n"), denied("set"));
    assert_eq!(run(&mut s, "set k 0 0 1\r\nw\r\n"), denied("set"));
    assert_eq!(db.execute(&["TTL", "k"]), Reply::Integer(-1), "not touched");
    assert_eq!(db.dbsize(), 1, "nothing vivified");
}

#[test]
fn acl_changes_apply_to_connected_sessions() {
    let acl = acl();
    let (db, mut s) = session(&acl);
    run(&mut s, &login("app", "app-secret"));
    assert_eq!(run(&mut s, "set app:a 0 0 1\r\nx\r\n"), "STORED\r\n");
    // Rules changed: the next command is checked against them.
    acl.set_user("app", &["-set"]).unwrap();
    assert!(run(&mut s, "set app:a 0 0 1\r\ny\r\n").contains("no permissions to run the 'set' command"));
    // The user deleted: the connection is closed, as Redis closes its clients.
    acl.delete_users(&["app"]).unwrap();
    let (out, closed) = run_bytes(&mut s, b"get app:a\r\n");
    assert_eq!((out.as_str(), closed), ("", true));
    // No password any more: a session that has not logged in runs as
    // `default`, as a new one does.
    let mut waiting = Session::new(db.clone()).acl(&acl);
    acl.set_user("default", &["nopass"]).unwrap();
    assert_eq!(run(&mut waiting, "get app:a\r\n"), "VALUE app:a 0 1\r\nx\r\nEND\r\n");
    let mut fresh = Session::new(db.clone()).acl(&acl);
    assert_eq!(run(&mut fresh, "delete app:a\r\n"), "DELETED\r\n");
    // Without an ACL everything is allowed (a session on its own).
    let mut open = Session::new(db);
    assert_eq!(run(&mut open, "flush_all\r\n"), "OK\r\n");
}

#[test]
fn a_user_allowed_everything_is_checked_again_once_restricted() {
    let acl = acl();
    acl.set_user("admin", &["on", ">admin", "allkeys", "allchannels", "+@all"]).unwrap();
    let (_db, mut s) = session(&acl);
    run(&mut s, &login("admin", "admin"));
    // Allowed everything: a multi-key get is not checked key by key.
    assert_eq!(run(&mut s, "set app:a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\n"), "STORED\r\nSTORED\r\n");
    assert_eq!(run(&mut s, "get app:a b\r\n"), "VALUE app:a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nEND\r\n");
    // Limited to `app:*` meanwhile: every key of the next get is checked.
    acl.set_user("admin", &["resetkeys", "~app:*"]).unwrap();
    assert_eq!(run(&mut s, "get app:a b\r\n"), "CLIENT_ERROR NOPERM No permissions to access a key\r\n");
    assert_eq!(run(&mut s, "get app:a\r\n"), "VALUE app:a 0 1\r\nx\r\nEND\r\n");
}
