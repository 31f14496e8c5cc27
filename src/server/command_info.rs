//! `COMMAND`, `COMMAND COUNT | INFO | DOCS | LIST | GETKEYS |
//! GETKEYSANDFLAGS | HELP`, answered from [`crate::db::catalog`] (what
//! `redis-cli` builds its hints from, and cluster clients their key maps).

use crate::db::Reply;
use crate::db::catalog::{self, CommandSpec, flag};
use crate::db::glob;

fn err(msg: impl std::fmt::Display) -> Reply {
    Reply::Error(format!("ERR {msg}"))
}

fn clip(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(128)]).replace(['\r', '\n'], " ")
}

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Answers `COMMAND …` (`args[0]` is `COMMAND`).
pub(crate) fn command(args: &[Vec<u8>]) -> Reply {
    let Some(sub) = args.get(1) else { return Reply::Array(catalog::all().map(catalog::info_reply).collect()) };
    let Some(spec) = catalog::lookup(b"command").and_then(|c| c.subcommand(sub)) else {
        return err(format_args!("unknown subcommand '{}'. Try COMMAND HELP.", clip(sub)));
    };
    if !spec.arity_ok(args.len()) {
        return err(format_args!("wrong number of arguments for '{}' command", spec.name));
    }
    let names = &args[2..];
    match spec.name {
        "command|count" => Reply::count(catalog::all().count()),
        "command|info" if names.is_empty() => Reply::Array(catalog::all().map(catalog::info_reply).collect()),
        "command|info" => {
            Reply::Array(names.iter().map(|n| catalog::lookup(n).map_or(Reply::Null, catalog::info_reply)).collect())
        }
        "command|docs" => {
            let specs: Vec<&CommandSpec> = if names.is_empty() {
                catalog::all().collect()
            } else {
                names.iter().filter_map(|n| catalog::lookup(n)).collect()
            };
            Reply::Map(specs.into_iter().map(|c| (Reply::bulk(c.name), catalog::docs_reply(c))).collect())
        }
        "command|list" => list(names),
        "command|getkeys" | "command|getkeysandflags" => getkeys(names, spec.name == "command|getkeysandflags"),
        "command|help" => Reply::Array(HELP.iter().map(|l| Reply::Simple(l)).collect()),
        _ => err(format_args!("unknown subcommand '{}'. Try COMMAND HELP.", clip(sub))),
    }
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`:
/// every command and subcommand name.
fn list(args: &[Vec<u8>]) -> Reply {
    let all = catalog::all_with_subcommands();
    let names: Vec<&'static str> = match args {
        [] => all.map(|c| c.name).collect(),
        [by, kind, value] if by.eq_ignore_ascii_case(b"filterby") => {
            if kind.eq_ignore_ascii_case(b"module") {
                Vec::new()
            } else if kind.eq_ignore_ascii_case(b"aclcat") {
                match catalog::cat::by_name(value) {
                    Some(bits) => all.filter(|c| c.in_category(bits)).map(|c| c.name).collect(),
                    None => Vec::new(),
                }
            } else if kind.eq_ignore_ascii_case(b"pattern") {
                all.filter(|c| glob::matches(&value.to_ascii_lowercase(), c.name.as_bytes())).map(|c| c.name).collect()
            } else {
                return err("syntax error");
            }
        }
        _ => return err("syntax error"),
    };
    Reply::bulks(names)
}

/// `COMMAND GETKEYS command args…` (with their flags for `GETKEYSANDFLAGS`).
fn getkeys(call: &[Vec<u8>], with_flags: bool) -> Reply {
    let Some(cmd) = catalog::resolve(call) else { return err("Invalid command specified") };
    if !cmd.has_keys() && !cmd.has_flag(flag::MOVABLEKEYS) {
        return err("The command has no key arguments");
    }
    if !cmd.arity_ok(call.len()) {
        return err("Invalid number of arguments specified for command");
    }
    let keys = cmd.keys(call);
    if keys.is_empty() {
        return err("Invalid arguments specified for command");
    }
    Reply::Array(
        keys.iter()
            .filter_map(|k| {
                let key = Reply::bulk(call.get(k.index)?);
                Some(if with_flags { Reply::Array(vec![key, catalog::key_flags_reply(k.flags)]) } else { key })
            })
            .collect(),
    )
}
