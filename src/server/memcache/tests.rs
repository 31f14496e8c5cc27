//! Session-level tests of the Memcached protocols: exact replies, the
//! incremental parser fed byte by byte, limits, and the item semantics
//! shared with Redis commands.

use super::Session;
use crate::db::{Db, Reply};
use crate::time::ManualClock;
use std::time::Duration;

/// Runs `input` through `s` in one call; the replies as text.
pub(super) fn run(s: &mut Session, input: &str) -> String {
    run_bytes(s, input.as_bytes()).0
}

/// Runs `input` through `s`: the replies, and whether it asked to close.
pub(super) fn run_bytes(s: &mut Session, input: &[u8]) -> (String, bool) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let p = s.process(&input[at..], &mut out);
        at += p.consumed;
        if p.close {
            return (String::from_utf8_lossy(&out).into_owned(), true);
        }
        if p.consumed == 0 {
            break;
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), false)
}

fn session() -> (Db, Session) {
    let db = Db::new();
    (db.clone(), Session::new(db))
}

/// A `Db` on a manual clock, and a session on it.
fn timed() -> (ManualClock, Db, Session) {
    let clock = ManualClock::new();
    let db = Db::builder().clock(clock.clone()).build().unwrap();
    (clock, db.clone(), Session::new(db))
}

/// The CAS unique `gets` shows for `key`.
fn cas_of(s: &mut Session, key: &str) -> u64 {
    let r = run(s, &format!("gets {key}\r\n"));
    r.lines().next().and_then(|l| l.split(' ').nth(4)).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{r}"))
}

#[test]
fn storage_and_retrieval() {
    let (_, mut s) = session();
    assert_eq!(run(&mut s, "set a 5 0 3\r\nabc\r\nget a b\r\n"), "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\n");
    assert_eq!(run(&mut s, "add a 0 0 1\r\nx\r\nadd b 1 0 1\r\ny\r\n"), "NOT_STORED\r\nSTORED\r\n");
    assert_eq!(run(&mut s, "replace c 0 0 1\r\nx\r\nreplace b 2 0 1\r\nz\r\n"), "NOT_STORED\r\nSTORED\r\n");
    assert_eq!(run(&mut s, "append a 9 9 2\r\nde\r\nprepend a 9 9 1\r\n_\r\n"), "STORED\r\nSTORED\r\n");
    assert_eq!(run(&mut s, "append nope 0 0 1\r\nx\r\n"), "NOT_STORED\r\n");
    assert_eq!(run(&mut s, "get a b c\r\n"), "VALUE a 5 6\r\n_abcde\r\nVALUE b 2 1\r\nz\r\nEND\r\n");
    assert_eq!(run(&mut s, "set e 0 0 0\r\n\r\nget e\r\n"), "STORED\r\nVALUE e 0 0\r\n\r\nEND\r\n");
    assert_eq!(
        run(&mut s, "set big 4294967295 0 1\r\nx\r\nget big\r\n"),
        "STORED\r\nVALUE big 4294967295 1\r\nx\r\nEND\r\n"
    );
    // Lone `\n` ends lines too; runs of spaces are one.
    assert_eq!(run(&mut s, "get  a \n"), "VALUE a 5 6\r\n_abcde\r\nEND\r\n");
}

#[test]
fn cas_changes_on_every_write() {
    let (db, mut s) = session();
    run(&mut s, "set k 0 0 1\r\nx\r\n");
    let c1 = cas_of(&mut s, "k");
    assert_eq!(cas_of(&mut s, "k"), c1, "reading does not change it");
    assert_eq!(run(&mut s, &format!("cas k 0 0 1 {}\r\ny\r\n", c1 + 100)), "EXISTS\r\n");
    assert_eq!(run(&mut s, &format!("cas k 3 0 1 {c1}\r\ny\r\n")), "STORED\r\n");
    assert_eq!(run(&mut s, &format!("cas k 3 0 1 {c1}\r\nz\r\n")), "EXISTS\r\n");
    assert_eq!(run(&mut s, "cas nope 0 0 1 1\r\nz\r\n"), "NOT_FOUND\r\n");
    let c2 = cas_of(&mut s, "k");
    assert_ne!(c2, c1);
    // A Redis write, even in place, changes it.
    db.execute(&["SETRANGE", "k", "0", "w"]);
    let c3 = cas_of(&mut s, "k");
    assert_ne!(c3, c2);
    assert_eq!(run(&mut s, "get k\r\n"), "VALUE k 3 1\r\nw\r\nEND\r\n", "same length in place: flags kept");
    db.execute(&["EXPIRE", "k", "100"]);
    assert_ne!(cas_of(&mut s, "k"), c3);
    assert_eq!(run(&mut s, "get k\r\n"), "VALUE k 3 1\r\nw\r\nEND\r\n", "EXPIRE keeps the flags");
    db.execute(&["SET", "k", "v2"]);
    assert_eq!(run(&mut s, "get k\r\n"), "VALUE k 0 2\r\nv2\r\nEND\r\n", "a Redis SET resets the flags");
    db.execute(&["APPEND", "k", "!"]);
    assert_eq!(db.get(b"k").unwrap(), Some(b"v2!".to_vec()));
}

#[test]
fn incr_decr() {
    let (db, mut s) = session();
    let r = run(&mut s, "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n x\r\nincr nope 1\r\n");
    assert_eq!(r, "STORED\r\n15\r\n0\r\nCLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\n");
    assert_eq!(run(&mut s, "set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\n"), "STORED\r\n1\r\n");
    assert_eq!(run(&mut s, "set n 0 0 3\r\n 12\r\nincr n 1\r\n"), "STORED\r\n13\r\n");
    assert_eq!(
        run(&mut s, "set n 7 0 3\r\n12 \r\nincr n 1\r\nget n\r\n"),
        "STORED\r\n13\r\nVALUE n 7 2\r\n13\r\nEND\r\n"
    );
    let non = "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    assert_eq!(run(&mut s, "set n 0 0 2\r\n-1\r\nincr n 1\r\n"), format!("STORED\r\n{non}"));
    assert_eq!(run(&mut s, "set n 0 0 0\r\n\r\nincr n 1\r\n"), format!("STORED\r\n{non}"));
    assert_eq!(run(&mut s, "incr n 18446744073709551616\r\n"), "CLIENT_ERROR invalid numeric delta argument\r\n");
    assert_eq!(run(&mut s, "incr\r\nincr a\r\nincr a 1 2 3\r\n"), "ERROR\r\nERROR\r\nERROR\r\n");
    db.execute(&["SET", "r", "41"]);
    assert_eq!(run(&mut s, "incr r 1\r\n"), "42\r\n");
    assert_eq!(db.execute(&["INCR", "r"]), Reply::Integer(43), "the value stays a plain number");
}

#[test]
fn noreply_everywhere() {
    let (_, mut s) = session();
    let quiet = "set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nreplace a 0 0 1 noreply\r\nz\r\n\
                 append a 0 0 1 noreply\r\n1\r\nprepend a 0 0 1 noreply\r\n0\r\ncas a 0 0 1 1 noreply\r\nq\r\n\
                 set n 0 0 1 noreply\r\n1\r\nincr n 1 noreply\r\ndecr n 1 noreply\r\nincr a 1 noreply\r\n\
                 touch a 100 noreply\r\ndelete nope noreply\r\ndelete n 0 noreply\r\nverbosity 1 noreply\r\n\
                 set q 0 0 -1 noreply\r\nmn\r\n";
    assert_eq!(run(&mut s, quiet), "MN\r\n");
    assert_eq!(run(&mut s, "get a n\r\nflush_all noreply\r\nget a\r\n"), "VALUE a 0 3\r\n0z1\r\nEND\r\nEND\r\n");
}

#[test]
fn delete_touch_flush_misc() {
    let (_, mut s) = session();
    run(&mut s, "set a 0 0 1\r\nx\r\n");
    let r = run(&mut s, "delete a\r\ndelete a\r\ndelete a 0\r\ndelete a x\r\ndelete a 1 2 3\r\n");
    let usage = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
    assert_eq!(r, format!("DELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\n{usage}ERROR\r\n"));
    run(&mut s, "set a 0 0 1\r\nx\r\n");
    let r = run(&mut s, "touch a 10\r\ntouch zz 10\r\ntouch a\r\ntouch a x\r\ntouch a -1\r\nget a\r\n");
    assert_eq!(r, "TOUCHED\r\nNOT_FOUND\r\nERROR\r\nCLIENT_ERROR invalid exptime argument\r\nTOUCHED\r\nEND\r\n");
    let r = run(
        &mut s,
        "version\r\nverbosity 1\r\nverbosity\r\nverbosity x\r\nflush_all\r\nflush_all 0\r\nflush_all x\r\n",
    );
    let version = format!("VERSION {}\r\n", super::VERSION);
    assert_eq!(
        r,
        format!(
            "{version}OK\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nOK\r\nOK\r\nCLIENT_ERROR invalid exptime argument\r\n"
        )
    );
    assert_eq!(
        run(&mut s, "bogus\r\n\r\nGET a\r\nget\r\ngat\r\ngat 1\r\n"),
        "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nEND\r\n"
    );
    assert_eq!(run(&mut s, "gat x a\r\n"), "CLIENT_ERROR invalid exptime argument\r\n");
    let (text, close) = run_bytes(&mut s, b"quit\r\nget a\r\n");
    assert_eq!((text.as_str(), close), ("", true));
}

#[test]
fn exptimes() {
    let (clock, db, mut s) = timed();
    let r = run(&mut s, "set a 0 10 1\r\na\r\nset b 0 -1 1\r\nb\r\nset c 0 0 1\r\nc\r\nget a b c\r\n");
    assert_eq!(r, "STORED\r\nSTORED\r\nSTORED\r\nVALUE a 0 1\r\na\r\nVALUE c 0 1\r\nc\r\nEND\r\n");
    let now = db.unix_time_ms() / 1000;
    run(&mut s, &format!("set abs 0 {} 1\r\nx\r\nset past 0 {} 1\r\nx\r\n", now + 100, now - 100));
    assert_eq!(run(&mut s, "get abs past\r\n"), "VALUE abs 0 1\r\nx\r\nEND\r\n");
    assert_eq!(run(&mut s, "mg a t\r\nmg c t\r\nmg abs t\r\n"), "HD t10\r\nHD t-1\r\nHD t100\r\n");
    clock.advance(Duration::from_secs(10));
    assert_eq!(run(&mut s, "get a\r\n"), "END\r\n");
    // 30 days is still relative; a day more is a unix time (long past here).
    run(&mut s, "set r 0 2592000 1\r\nx\r\nset u 0 2592001 1\r\nx\r\n");
    assert_eq!(run(&mut s, "get r u\r\n"), "VALUE r 0 1\r\nx\r\nEND\r\n");
    assert_eq!(run(&mut s, "gat 5 r\r\nmg r t\r\n"), "VALUE r 0 1\r\nx\r\nEND\r\nHD t5\r\n");
    assert_eq!(run(&mut s, "touch c 3\r\nmg c t\r\n"), "TOUCHED\r\nHD t3\r\n");
    // A delayed flush_all happens once its time has come.
    assert_eq!(run(&mut s, "flush_all 2\r\nget c\r\n"), "OK\r\nVALUE c 0 1\r\nc\r\nEND\r\n");
    clock.advance(Duration::from_secs(2));
    assert_eq!(run(&mut s, "get c\r\n"), "END\r\n");
}

#[test]
fn limits_and_bad_input() {
    let db = Db::new();
    let mut s = Session::new(db).max_item_size(100);
    let long = "k".repeat(251);
    let key250 = "k".repeat(250);
    let bad = "CLIENT_ERROR bad command line format\r\n";
    assert_eq!(run(&mut s, &format!("get {long}\r\n")), bad);
    assert_eq!(run(&mut s, &format!("set {long} 0 0 1\r\nx\r\n")), format!("{bad}ERROR\r\n"));
    assert_eq!(run(&mut s, &format!("mg {key250} v\r\n")), "EN\r\n");
    // Control bytes are accepted in keys, as memcached accepts them.
    assert_eq!(run(&mut s, "set a\x10b 0 0 1\r\nx\r\n"), "STORED\r\n");
    assert_eq!(run(&mut s, "get a\x10b\r\n"), "VALUE a\x10b 0 1\r\nx\r\nEND\r\n");
    for line in ["set a x 0 1", "set a 4294967296 0 1", "set a -1 0 1", "set a 0 x 1", "cas a 0 0 1 abc"] {
        assert_eq!(run(&mut s, &format!("{line}\r\nx\r\n")), format!("{bad}ERROR\r\n"), "{line}");
    }
    assert_eq!(run(&mut s, "set a 1 0 -1\r\n"), bad);
    assert_eq!(run(&mut s, "set a\r\nset a 1 2\r\nset a 1 0 1 noreply extra\r\n"), "ERROR\r\nERROR\r\nERROR\r\n");
    assert_eq!(run(&mut s, "set a 1 0 1 bogus\r\nx\r\n"), "STORED\r\n", "a sixth token that is not noreply is ignored");
    assert_eq!(
        run(&mut s, "set a 1 0 2\r\nabcdef\r\nget a\r\n"),
        "CLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE a 1 1\r\nx\r\nEND\r\n"
    );
    // Too large: refused, the data skipped as it comes, the old value gone.
    let (r, close) = run_bytes(&mut s, b"set a 0 0 200\r\n");
    assert_eq!((r.as_str(), close), ("SERVER_ERROR object too large for cache\r\n", false));
    assert_eq!(run(&mut s, &format!("{}\r\nget a\r\n", "x".repeat(200))), "END\r\n");
    let r = run(&mut s, "set a 0 0 1\r\nq\r\nadd a 0 0 4000000000\r\n");
    assert_eq!(r, "STORED\r\nCLIENT_ERROR bad command line format\r\n", "beyond an int: a format error");
    assert_eq!(run(&mut s, "add b 0 0 150\r\n"), "SERVER_ERROR object too large for cache\r\n");
    assert_eq!(
        run(&mut s, &format!("{}\r\nget a\r\n", "y".repeat(150))),
        "VALUE a 0 1\r\nq\r\nEND\r\n",
        "add leaves a"
    );
    assert_eq!(run(&mut s, &format!("append a 0 0 99\r\n{}\r\n", "z".repeat(99))), "NOT_STORED\r\n");
    // An unterminated line: an error and the end of the connection.
    let (r, close) = run_bytes(&mut s, "g".repeat(3000).as_bytes());
    assert_eq!((r.as_str(), close), ("CLIENT_ERROR line too long\r\n", true));
    let (r, close) = run_bytes(&mut s, format!("get {}", "k ".repeat(2000)).as_bytes());
    assert_eq!((r.as_str(), close), ("", false), "a long multi-get line may take more");
    let (r, close) = run_bytes(&mut s, format!("{}\r\n", "g".repeat(3000)).as_bytes());
    assert_eq!((r.as_str(), close), ("ERROR\r\n", false), "a complete long line is just a bad command");
}

#[test]
fn binary_protocol_is_refused() {
    let (_, mut s) = session();
    let mut request = vec![0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    request.extend_from_slice(&[0; 8]);
    let mut out = Vec::new();
    let p = s.process(&request, &mut out);
    assert!(p.close);
    assert_eq!(&out[..8], &[0x81, 0x0a, 0, 0, 0, 0, 0, 0x83]);
    assert_eq!(&out[12..16], &[1, 2, 3, 4], "the opaque is echoed");
    let len = u32::from_be_bytes([out[8], out[9], out[10], out[11]]) as usize;
    assert_eq!(out.len(), 24 + len);
    assert!(String::from_utf8_lossy(&out[24..]).contains("not supported"));
}

#[test]
fn byte_by_byte_equals_whole() {
    let input = "set a 5 0 3\r\nabc\r\nget a\r\nset b 0 0 1 noreply\r\nx\r\nms c 2 T0 F3\r\nhi\r\n\
                 mg c v f k\r\nincr a 1\r\nset n 0 0 1\r\n7\r\nincr n 3\r\nmn\r\n";
    let (_, mut whole) = session();
    let expected = run(&mut whole, input);
    let (_, mut s) = session();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for &b in input.as_bytes() {
        buf.push(b);
        loop {
            let p = s.process(&buf, &mut out);
            buf.drain(..p.consumed);
            if p.consumed == 0 {
                break;
            }
        }
    }
    assert!(buf.is_empty());
    assert_eq!(String::from_utf8_lossy(&out), expected);
    assert!(expected.ends_with("10\r\nMN\r\n"), "{expected}");
    // A command waiting for its data is counted once, when it runs.
    let counts = |s: &mut Session| {
        let stats = run(s, "stats\r\n");
        stats.lines().filter(|l| l.starts_with("STAT cmd_")).map(str::to_owned).collect::<Vec<_>>()
    };
    let (whole_counts, counts_by_byte) = (counts(&mut whole), counts(&mut s));
    assert_eq!(whole_counts, counts_by_byte);
    assert!(whole_counts.contains(&"STAT cmd_meta 3".to_owned()), "{whole_counts:?}");
    assert!(whole_counts.contains(&"STAT cmd_set 4".to_owned()), "{whole_counts:?}");
}

#[test]
fn meta_get_and_set() {
    let (_, mut s) = session();
    let r = run(&mut s, "ms m1 3 T0 F5\r\nabc\r\nmg m1 v k f s O123 t\r\nmg m1\r\nmg nope v\r\nmg nope v q\r\nmn\r\n");
    assert_eq!(r, "HD\r\nVA 3 km1 f5 s3 O123 t-1\r\nabc\r\nHD\r\nEN\r\nMN\r\n");
    assert_eq!(run(&mut s, "mg nope k O9 v\r\nmg m1 q k\r\n"), "EN knope O9\r\nHD km1\r\n");
    assert_eq!(run(&mut s, "mg m1 h l\r\nmg m1 h\r\n"), "HD h1 l0\r\nHD h1\r\n");
    assert_eq!(run(&mut s, "ms f1 1\r\nx\r\nmg f1 h u\r\nmg f1 h\r\nmg f1 h\r\n"), "HD\r\nHD h0\r\nHD h0\r\nHD h1\r\n");
    let r = run(&mut s, "mg\r\nmg m1 z\r\nmg m1 v v\r\nmg m1 Tx\r\nmg m1 E5\r\nmg m1 P L v\r\n");
    assert_eq!(
        r,
        "ERROR\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\n\
         CLIENT_ERROR bad token in command line format\r\nCLIENT_ERROR invalid flag\r\nVA 3\r\nabc\r\n"
    );
    let o31 = "O".to_string() + &"1".repeat(31);
    assert_eq!(
        run(&mut s, &format!("mg m1 {o31}\r\nmg m1 {o31}2\r\n")),
        format!("HD {o31}\r\nCLIENT_ERROR opaque token too long\r\n")
    );
    // Modes, quiet, CAS.
    let r = run(
        &mut s,
        "ms m1 2 MA\r\nde\r\nms m1 1 MP k O9\r\n_\r\nmg m1 v f\r\nms m1 1 MR\r\nz\r\nms m1 1 ME\r\nz\r\nms no 1 MR k\r\nz\r\n",
    );
    assert_eq!(r, "HD\r\nHD km1 O9\r\nVA 6 f5\r\n_abcde\r\nHD\r\nNS\r\nNS kno\r\n");
    let r = run(
        &mut s,
        "ms q 2 q\r\nhi\r\nms q 2 q ME\r\nhi\r\nms q 1 MX\r\nx\r\nms q x\r\nhi\r\nms q 1 Fx\r\nx\r\nms q 1 S1\r\nx\r\nmn\r\n",
    );
    assert_eq!(
        r,
        "NS\r\nCLIENT_ERROR invalid mode for ms M token\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n\
         CLIENT_ERROR bad command line format\r\nCLIENT_ERROR invalid flag\r\nMN\r\n"
    );
    let r = run(&mut s, "ms c 2 c\r\nhi\r\n");
    let cas: u64 = r.trim_end().strip_prefix("HD c").and_then(|c| c.parse().ok()).unwrap();
    assert_eq!(run(&mut s, "mg c c\r\n"), format!("HD c{cas}\r\n"));
    assert_eq!(run(&mut s, &format!("ms c 2 C{}\r\nho\r\n", cas + 1)), "EX\r\n");
    let r = run(&mut s, &format!("ms c 2 C{cas} c\r\nho\r\n"));
    assert_eq!(r, format!("HD c{}\r\n", cas_of(&mut s, "c")), "the new unique");
    assert_ne!(r, format!("HD c{cas}\r\n"));
    assert_eq!(run(&mut s, "ms c 2 C5 k\r\nho\r\nms nope 1 C5 k O1\r\nx\r\n"), "EX kc\r\nNF knope O1\r\n");
    assert_eq!(
        run(&mut s, "ms c 2\r\nabcd\r\nms c\r\n"),
        "CLIENT_ERROR bad data chunk\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n"
    );
}

#[test]
fn meta_delete_arith_debug() {
    let (_, mut s) = session();
    run(&mut s, "ms a 1\r\nx\r\n");
    let r = run(&mut s, "md a q\r\nmd a\r\nmd a q\r\nmd a k O5\r\nmn\r\n");
    assert_eq!(r, "NF\r\nNF\r\nNF ka O5\r\nMN\r\n");
    run(&mut s, "ms a 1\r\nx\r\n");
    assert_eq!(
        run(&mut s, "md a C1\r\nmd a Cx\r\nmd a z\r\n"),
        "EX\r\nCLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
    );
    let r = run(
        &mut s,
        "ma cnt\r\nma cnt N0 J10 v\r\nma cnt v\r\nma cnt MD D100 v\r\nma cnt D5 v t\r\nma cnt q\r\nmn\r\nma cnt MI D18446744073709551615 v\r\n",
    );
    assert_eq!(r, "NF\r\nVA 2\r\n10\r\nVA 2\r\n11\r\nVA 1\r\n0\r\nVA 1 t-1\r\n5\r\nMN\r\nVA 1\r\n5\r\n");
    assert_eq!(
        run(&mut s, "ma a\r\nma cnt MZ\r\nma cnt Dx\r\n"),
        "CLIENT_ERROR cannot increment or decrement non-numeric value\r\nCLIENT_ERROR invalid mode for ma M token\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
    );
    assert_eq!(
        run(&mut s, "ma n N10 J5 v t\r\nma n C1 v\r\nma nope k O1\r\n"),
        "VA 1 t10\r\n5\r\nEX\r\nNF knope O1\r\n"
    );
    let r = run(&mut s, "me n\r\nme nope\r\nme\r\n");
    assert!(r.starts_with("ME n exp=10 la=0 cas="), "{r}");
    assert!(r.contains(" fetch=no cls=1 size="), "{r}");
    assert!(r.ends_with("\r\nEN\r\nCLIENT_ERROR bad command line format\r\n"), "{r}");
}

#[test]
fn meta_recache_tokens() {
    let (_, mut s) = session();
    // Vivify on miss: the first reader wins, the next see Z.
    assert_eq!(
        run(&mut s, "mg v N30 v t\r\nmg v N30 v\r\nmg v v\r\n"),
        "VA 0 t30 W\r\n\r\nVA 0 Z\r\n\r\nVA 0 Z\r\n\r\n"
    );
    assert_eq!(run(&mut s, "ms v 2\r\nok\r\nmg v v\r\n"), "HD\r\nVA 2\r\nok\r\n", "a store ends the state");
    // Stale: first reader X W, then Z X; an older CAS with I stores, stale.
    run(&mut s, "ms st 2 T100\r\nab\r\n");
    assert_eq!(
        run(&mut s, "md st I T30\r\nmg st v t\r\nmg st v\r\n"),
        "HD\r\nVA 2 t30 X W\r\nab\r\nVA 2 Z X\r\nab\r\n"
    );
    let c = cas_of(&mut s, "st");
    assert_eq!(run(&mut s, &format!("ms st 2 C{} I\r\ncd\r\n", c + 5)), "EX\r\n");
    assert_eq!(run(&mut s, &format!("ms st 2 C{} I\r\ncd\r\nmg st v\r\n", c - 1)), "HD\r\nVA 2 X W\r\ncd\r\n");
    // Recache below a TTL threshold.
    run(&mut s, "ms r 2 T100\r\nab\r\n");
    assert_eq!(
        run(&mut s, "mg r R200 v\r\nmg r R200 v\r\nmg r R20 v\r\n"),
        "VA 2 W\r\nab\r\nVA 2 Z\r\nab\r\nVA 2 Z\r\nab\r\n"
    );
    run(&mut s, "ms r2 2 T100\r\nab\r\n");
    assert_eq!(run(&mut s, "mg r2 R20 v\r\n"), "VA 2\r\nab\r\n");
}

#[test]
fn meta_base64_keys() {
    let (db, mut s) = session();
    assert_eq!(
        run(&mut s, "ms YWJj 2 b k\r\nab\r\nmg abc v k\r\nmg YWJj b k v\r\n"),
        "HD kYWJj b\r\nVA 2 kabc\r\nab\r\nVA 2 kYWJj b\r\nab\r\n"
    );
    assert_eq!(run(&mut s, "mg abc* b v\r\nms AP8A 1 b\r\nx\r\n"), "CLIENT_ERROR error decoding key\r\nHD\r\n");
    assert_eq!(db.get(&[0, 255, 0]).unwrap(), Some(b"x".to_vec()), "binary keys");
    assert!(run(&mut s, "me AP8A b\r\n").starts_with("ME AP8A exp=-1"));
}

#[test]
fn other_redis_types() {
    let (db, mut s) = session();
    db.execute(&["RPUSH", "list", "a"]);
    let wrong = "CLIENT_ERROR WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(
        run(&mut s, "get list\r\nmg list v\r\nmg list N30 v\r\ngat 10 list\r\nme list\r\n"),
        "END\r\nEN\r\nEN\r\nEND\r\nEN\r\n"
    );
    assert_eq!(run(&mut s, "add list 0 0 1\r\nx\r\nms list 1 ME\r\nx\r\n"), "NOT_STORED\r\nNS\r\n");
    for cmd in [
        "replace list 0 0 1\r\nx",
        "append list 0 0 1\r\nx",
        "cas list 0 0 1 1\r\nx",
        "incr list 1",
        "touch list 1",
        "ms list 1 MA\r\nx",
        "ma list",
        "md list I",
    ] {
        assert_eq!(run(&mut s, &format!("{cmd}\r\n")), wrong, "{cmd}");
    }
    assert_eq!(db.execute(&["LLEN", "list"]), Reply::Integer(1), "nothing changed it");
    assert_eq!(run(&mut s, "delete list\r\n"), "DELETED\r\n");
    db.execute(&["SADD", "set", "a"]);
    assert_eq!(run(&mut s, "set set 0 0 1\r\nx\r\nget set\r\n"), "STORED\r\nVALUE set 0 1\r\nx\r\nEND\r\n");
    db.validate();
}

#[test]
fn stats_report_counters() {
    let (_, mut s) = session();
    run(&mut s, "set a 0 0 1\r\nx\r\nget a b\r\ndelete a\r\ndelete a\r\nincr z 1\r\n");
    let r = run(&mut s, "stats\r\n");
    for line in [
        "STAT cmd_get 2\r\n",
        "STAT cmd_set 1\r\n",
        "STAT get_hits 1\r\n",
        "STAT get_misses 1\r\n",
        "STAT delete_hits 1\r\n",
        "STAT delete_misses 1\r\n",
        "STAT incr_misses 1\r\n",
        "STAT curr_items 0\r\n",
        "STAT total_items 1\r\n",
    ] {
        assert!(r.contains(line), "{line} in {r}");
    }
    assert!(r.starts_with("STAT pid ") && r.ends_with("END\r\n"));
    assert_eq!(run(&mut s, "stats reset\r\nstats items\r\nstats bogus\r\n"), "RESET\r\nEND\r\nERROR\r\n");
    assert!(run(&mut s, "stats settings\r\n").contains("STAT item_size_max 1048576\r\n"));
}

#[test]
fn get_keys_names_what_a_get_line_reads() {
    let keys = |input: &[u8]| {
        let mut found = Vec::new();
        super::text::get_keys(input, |k| found.push(String::from_utf8_lossy(k).into_owned()));
        found
    };
    assert_eq!(keys(b"get a  bb c\r\nget d\r\n"), ["a", "bb", "c"]);
    assert_eq!(keys(b"gets x\n"), ["x"]);
    assert_eq!(keys(b"mg k v f t\r\n"), ["k"]);
    // Not a whole line, not a read, or no key: nothing.
    assert!(keys(b"get a b").is_empty());
    assert!(keys(b"set a 0 0 1\r\nx\r\n").is_empty());
    assert!(keys(b"getx a\r\n").is_empty());
    assert!(keys(b"get \r\n").is_empty());
    assert!(keys(b"").is_empty());
}
