use super::*;
use crate::db::command;

#[test]
fn every_db_command_is_in_the_catalog_with_the_same_arity_and_flags() {
    let mut wrong = Vec::new();
    for c in command::all() {
        let spec = lookup(c.name.as_bytes()).unwrap_or_else(|| panic!("{} has no catalog entry", c.name));
        let flags = |f: u8| c.flags & f != 0;
        if spec.arity != c.arity
            || spec.has_flag(flag::WRITE) != flags(command::WRITE)
            || spec.has_flag(flag::DENYOOM) != flags(command::DENYOOM)
            || spec.has_flag(flag::BLOCKING) != flags(command::BLOCKING)
        {
            wrong.push(format!(
                "{} (catalog {} {:?}, table {} {:#b})",
                c.name,
                spec.arity,
                spec.flag_names().collect::<Vec<_>>(),
                c.arity,
                c.flags
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn ids_are_dense_and_names_resolve() {
    let all: Vec<_> = all_with_subcommands().collect();
    assert_eq!(all.len(), COUNT);
    for (i, c) in all.iter().enumerate() {
        assert_eq!(usize::from(c.id), i);
        assert!(std::ptr::eq(lookup(c.name.as_bytes()).unwrap(), *c), "{}", c.name);
        assert!(!c.doc().summary.is_empty(), "{} has a summary", c.name);
        assert_eq!(c.parent().is_some(), c.name.contains('|'));
    }
    for name in ["auth", "hello", "acl", "command", "config", "client", "multi", "subscribe", "memory"] {
        assert!(lookup(name.as_bytes()).is_some(), "{name}");
    }
    assert_eq!(lookup(b"CONFIG|GET").map(|c| c.name), Some("config|get"));
    assert!(lookup(b"config|nope").is_none() && lookup(b"get|x").is_none() && lookup(&[b'a'; 40]).is_none());
    assert_eq!(resolve(&["Config", "GET", "x"]).map(|c| c.name), Some("config|get"));
    assert_eq!(resolve(&["config"]).map(|c| c.name), Some("config"));
    assert!(resolve(&["config", "nope"]).is_none());
    assert_eq!(resolve(&["get", "k"]).map(|c| c.name), Some("get"));
    assert!(resolve::<&str>(&[]).is_none());
    assert_eq!(cat::by_name(b"SortedSet"), Some(cat::SORTEDSET));
    assert_eq!(cat::by_name(b"all"), None);
}

fn keys(args: &[&str]) -> Vec<(String, Access)> {
    let spec = resolve(args).unwrap();
    spec.keys(args).into_iter().map(|k| (args[k.index].to_string(), k.access())).collect()
}

const R: Access = Access { read: true, write: false };
const W: Access = Access { read: false, write: true };
const RW: Access = Access { read: true, write: true };
const NONE: Access = Access { read: false, write: false };

fn k(name: &str, a: Access) -> (String, Access) {
    (name.to_string(), a)
}

#[test]
fn key_extraction() {
    assert_eq!(keys(&["get", "a"]), [k("a", R)]);
    assert_eq!(keys(&["set", "a", "1"]), [k("a", W)]);
    assert_eq!(keys(&["set", "a", "1", "nx", "GeT"]), [k("a", RW)]);
    assert_eq!(keys(&["set", "a", "get"]), [k("a", W)], "GET is an option only after the value");
    assert_eq!(keys(&["mset", "a", "1", "b", "2"]), [k("a", W), k("b", W)]);
    assert_eq!(keys(&["del", "a", "b"]), [k("a", W), k("b", W)]);
    assert_eq!(keys(&["exists", "a"]), [k("a", NONE)]);
    assert_eq!(keys(&["blpop", "a", "b", "0"]), [k("a", RW), k("b", RW)]);
    assert_eq!(keys(&["rename", "a", "b"]), [k("a", RW), k("b", W)]);
    assert_eq!(keys(&["zunionstore", "d", "2", "a", "b", "weights", "1", "2"]), [k("d", W), k("a", R), k("b", R)]);
    assert_eq!(keys(&["zunionstore", "d", "5", "a"]), [], "a count past the end voids the call's keys");
    assert_eq!(keys(&["zunionstore", "d", "x", "a"]), []);
    assert_eq!(keys(&["zunionstore", "d", "-1", "a"]), []);
    assert_eq!(keys(&["zunionstore", "d", "99999999999999999999", "a"]), []);
    assert_eq!(keys(&["lmpop", "2", "a", "b", "left"]), [k("a", RW), k("b", RW)]);
    assert_eq!(keys(&["blmpop", "0", "1", "a", "left"]), [k("a", RW)]);
    assert_eq!(keys(&["zinter", "2", "a", "b"]), [k("a", R), k("b", R)]);
    assert_eq!(keys(&["sintercard", "1", "a", "limit", "3"]), [k("a", R)]);
    assert_eq!(keys(&["object", "encoding", "a"]), [k("a", NONE)]);
    assert_eq!(keys(&["ping"]), []);
    assert_eq!(keys(&["get"]), [], "too few arguments: no keys, no panic");
    assert_eq!(keys(&["set"]), []);
    let set = lookup(b"set").unwrap();
    assert_eq!(set.key_args(&["set", "a", "b"]), [b"a"]);
}

#[test]
fn keyword_begin_search() {
    // No command of the catalog uses a keyword spec; this one is made up
    // (GEORADIUS … STORE key has this shape in Redis).
    static SPEC: CommandSpec = CommandSpec {
        id: 0,
        name: "made-up",
        arity: -2,
        flags: 0,
        first_key: 0,
        last_key: 0,
        step: 0,
        categories: 0,
        tips: &[],
        key_specs: &[KeySpec {
            flags: key::OW | key::UPDATE,
            begin: BeginSearch::Keyword { keyword: "STORE", start_from: 1 },
            find: FindKeys::Range { last_key: 0, key_step: 1, limit: 0 },
            notes: "",
        }],
        subcommands: &[],
    };
    assert_eq!(SPEC.key_args(&["x", "a", "store", "dst", "b"]), [b"dst"]);
    assert!(SPEC.key_args(&["x", "a", "b", "store"]).is_empty(), "the last argument is never the keyword");
    assert!(SPEC.key_args(&["x"]).is_empty());
}

#[test]
fn channels() {
    let ch = |args: &[&str]| -> Vec<(usize, ChannelKind)> {
        resolve(args).unwrap().channels(args).into_iter().map(|c| (c.index, c.kind)).collect()
    };
    assert_eq!(ch(&["publish", "c", "m"]), [(1, ChannelKind::Publish)]);
    assert_eq!(ch(&["subscribe", "a", "b"]), [(1, ChannelKind::Subscribe), (2, ChannelKind::Subscribe)]);
    assert_eq!(ch(&["psubscribe", "a*"]), [(1, ChannelKind::PatternSubscribe)]);
    assert_eq!(ch(&["unsubscribe"]), []);
    assert_eq!(ch(&["get", "a"]), []);
}

#[test]
fn info_reply_shape() {
    let Reply::Array(info) = info_reply(lookup(b"get").unwrap()) else { panic!() };
    assert_eq!(info.len(), 10);
    assert_eq!(info[0], Reply::bulk("get"));
    assert_eq!(info[2], Reply::Set(vec![Reply::Simple("readonly"), Reply::Simple("fast")]));
    assert_eq!(info[6], Reply::Set(vec![Reply::Simple("@read"), Reply::Simple("@string"), Reply::Simple("@fast")]));
    let Reply::Map(doc) = docs_reply(lookup(b"config").unwrap()) else { panic!() };
    assert!(doc.iter().any(|(k, _)| *k == Reply::bulk("subcommands")));
}

use crate::db::Reply;
