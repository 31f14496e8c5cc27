//! The catalog as `COMMAND INFO` and `COMMAND DOCS` reply: the same shapes
//! Redis 7 sends (sets of status strings for flags and categories, maps for
//! key specs and docs), protocol-neutral.

use super::doc::{self, Arg};
use super::{BeginSearch, CommandSpec, FindKeys, KeySpec, cat, key};
use crate::db::Reply;

/// Category names with their `@`, by bit (status replies are `'static`).
const AT_NAMES: [&str; 21] = [
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

const _: () = assert!(AT_NAMES.len() == cat::NAMES.len());

fn statuses(bits: u32, names: &[&'static str]) -> Reply {
    Reply::Set(names.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| Reply::Simple(n)).collect())
}

fn int(n: i32) -> Reply {
    Reply::Integer(i64::from(n))
}

fn field(name: &str, value: Reply) -> (Reply, Reply) {
    (Reply::bulk(name), value)
}

/// One command's `COMMAND INFO` entry: name, arity, flags, first key, last
/// key, step, ACL categories, tips, key specs, subcommands.
pub fn info_reply(cmd: &CommandSpec) -> Reply {
    let flags = cmd.flag_names().map(Reply::Simple).collect();
    Reply::Array(vec![
        Reply::bulk(cmd.name),
        int(cmd.arity),
        Reply::Set(flags),
        int(cmd.first_key),
        int(cmd.last_key),
        int(cmd.step),
        statuses(cmd.categories, &AT_NAMES),
        Reply::Set(cmd.tips.iter().map(Reply::bulk).collect()),
        Reply::Array(cmd.key_specs.iter().map(key_spec_reply).collect()),
        Reply::Array(cmd.subcommands.iter().map(info_reply).collect()),
    ])
}

/// The flags of a key reference as `COMMAND GETKEYSANDFLAGS` shows them.
pub(crate) fn key_flags_reply(flags: u16) -> Reply {
    let names: Vec<Reply> =
        key::NAMES.iter().enumerate().filter(|(i, _)| flags & (1 << i) != 0).map(|(_, n)| Reply::Simple(n)).collect();
    Reply::Set(names)
}

fn key_spec_reply(spec: &KeySpec) -> Reply {
    let mut fields = Vec::with_capacity(4);
    if !spec.notes.is_empty() {
        fields.push(field("notes", Reply::bulk(spec.notes)));
    }
    fields.push(field("flags", key_flags_reply(spec.flags)));
    let (kind, params) = match spec.begin {
        BeginSearch::Index(i) => ("index", vec![field("index", int(i))]),
        BeginSearch::Keyword { keyword, start_from } => {
            ("keyword", vec![field("keyword", Reply::bulk(keyword)), field("startfrom", int(start_from))])
        }
        BeginSearch::Unknown => ("unknown", Vec::new()),
    };
    fields.push(field(
        "begin_search",
        Reply::Map(vec![field("type", Reply::bulk(kind)), field("spec", Reply::Map(params))]),
    ));
    let (kind, params) = match spec.find {
        FindKeys::Range { last_key, key_step, limit } => (
            "range",
            vec![field("lastkey", int(last_key)), field("keystep", int(key_step)), field("limit", int(limit))],
        ),
        FindKeys::KeyNum { key_num_idx, first_key, key_step } => (
            "keynum",
            vec![
                field("keynumidx", int(key_num_idx)),
                field("firstkey", int(first_key)),
                field("keystep", int(key_step)),
            ],
        ),
        FindKeys::Unknown => ("unknown", Vec::new()),
    };
    fields.push(field(
        "find_keys",
        Reply::Map(vec![field("type", Reply::bulk(kind)), field("spec", Reply::Map(params))]),
    ));
    Reply::Map(fields)
}

/// One command's `COMMAND DOCS` value (the map after its name): summary,
/// since, group, complexity, doc flags, deprecation, history, arguments,
/// and its subcommands' docs.
pub fn docs_reply(cmd: &CommandSpec) -> Reply {
    let d = cmd.doc();
    let mut fields = Vec::with_capacity(9);
    for (name, value) in [("summary", d.summary), ("since", d.since), ("group", d.group), ("complexity", d.complexity)]
    {
        if !value.is_empty() {
            fields.push(field(name, Reply::bulk(value)));
        }
    }
    if d.doc_flags != 0 {
        fields.push(field("doc_flags", statuses(u32::from(d.doc_flags), &["deprecated", "syscmd"])));
    }
    if let Some(v) = d.deprecated_since {
        fields.push(field("deprecated_since", Reply::bulk(v)));
    }
    if let Some(v) = d.replaced_by {
        fields.push(field("replaced_by", Reply::bulk(v)));
    }
    if !d.history.is_empty() {
        let history = d.history.iter().map(|(v, what)| Reply::Array(vec![Reply::bulk(v), Reply::bulk(what)]));
        fields.push(field("history", Reply::Set(history.collect())));
    }
    if !d.arguments.is_empty() {
        fields.push(field("arguments", Reply::Array(d.arguments.iter().map(arg_reply).collect())));
    }
    if !cmd.subcommands.is_empty() {
        let subs = cmd.subcommands.iter().map(|s| (Reply::bulk(s.name), docs_reply(s)));
        fields.push(field("subcommands", Reply::Map(subs.collect())));
    }
    Reply::Map(fields)
}

fn arg_reply(a: &Arg) -> Reply {
    let mut fields = vec![field("name", Reply::bulk(a.name)), field("type", Reply::bulk(a.kind.name()))];
    if let Some(i) = a.key_spec_index {
        fields.push(field("key_spec_index", Reply::Integer(i64::from(i))));
    }
    for (name, value) in [("token", a.token), ("since", a.since), ("deprecated_since", a.deprecated_since)] {
        if let Some(v) = value {
            fields.push(field(name, Reply::bulk(v)));
        }
    }
    if a.flags != 0 {
        let flags = statuses(u32::from(a.flags), &["optional", "multiple", "multiple_token"]);
        fields.push(field("flags", flags));
    }
    if !a.args.is_empty() {
        fields.push(field("arguments", Reply::Array(a.args.iter().map(arg_reply).collect())));
    }
    Reply::Map(fields)
}

const _: () = assert!(doc::OPTIONAL == 1 && doc::MULTIPLE == 2 && doc::MULTIPLE_TOKEN == 4);
const _: () = assert!(doc::DEPRECATED == 1 && doc::SYSCMD == 2);
