//! The `ACL` command (`SETUSER`, `GETUSER`, `DELUSER`, `LIST`, `USERS`,
//! `WHOAMI`, `CAT`, `LOG`, `DRYRUN`, `LOAD`, `SAVE`, `HELP`) answered as
//! Redis answers it, protocol-neutral.

use super::Acl;
use super::log::now_ms;
use super::selector::Selector;
use super::user::User;
use crate::db::{Reply, catalog};

fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(128)]).into_owned();
    s.replace(['\r', '\n'], " ")
}

fn err(msg: impl std::fmt::Display) -> Reply {
    Reply::Error(format!("ERR {msg}"))
}

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

impl Acl {
    /// Runs an `ACL …` command (`args[0]` is `ACL`) and answers as Redis
    /// does; `whoami` is the calling session's user, for `ACL WHOAMI`.
    /// Permissions are not checked here (the caller checks `acl|…` first).
    pub fn command<A: AsRef<[u8]>>(&self, args: &[A], whoami: Option<&[u8]>) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
        let Some(&sub) = args.get(1) else { return err("wrong number of arguments for 'acl' command") };
        let Some(spec) = catalog::lookup(b"acl").and_then(|acl| acl.subcommand(sub)) else {
            return err(format_args!("unknown subcommand '{}'. Try ACL HELP.", text(sub)));
        };
        if !spec.arity_ok(args.len()) {
            return err(format_args!("wrong number of arguments for '{}' command", spec.name));
        }
        let n = args.len();
        match spec.name {
            "acl|setuser" => match self.set_user(args[2], &args[3..]) {
                Ok(()) => Reply::OK,
                Err(e) => Reply::Error(e.reply_text()),
            },
            "acl|deluser" => match self.delete_users(&args[2..]) {
                Ok(n) => Reply::count(n),
                Err(e) => Reply::Error(e.reply_text()),
            },
            "acl|getuser" => self.user(args[2]).map_or(Reply::Null, |u| getuser_reply(&u)),
            "acl|list" => Reply::bulks(self.list()),
            "acl|users" => Reply::bulks(self.users()),
            "acl|whoami" => Reply::bulk_or_null(whoami),
            "acl|load" | "acl|save" => self.load_or_save(spec.name == "acl|load"),
            "acl|cat" if n == 2 => Reply::bulks(catalog::cat::NAMES),
            "acl|cat" if n == 3 => match catalog::cat::by_name(args[2]) {
                Some(bits) => {
                    Reply::bulks(catalog::all_with_subcommands().filter(|c| c.in_category(bits)).map(|c| c.name))
                }
                None => err(format_args!("Unknown category '{}'", text(args[2]))),
            },
            "acl|log" if n == 2 => self.log_reply(10),
            "acl|log" if n == 3 && args[2].eq_ignore_ascii_case(b"reset") => {
                self.reset_log();
                Reply::OK
            }
            "acl|log" if n == 3 => match std::str::from_utf8(args[2]).ok().and_then(|s| s.parse::<i64>().ok()) {
                Some(count) => self.log_reply(usize::try_from(count.max(0)).unwrap_or(usize::MAX)),
                None => err("value is not an integer or out of range"),
            },
            "acl|dryrun" => self.dry_run(args[2], &args[3..]),
            "acl|genpass" => err("ACL GENPASS is not supported by embercache"),
            "acl|help" => Reply::Array(HELP.iter().map(|l| Reply::Simple(l)).collect()),
            _ => {
                err(format_args!("unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.", text(sub)))
            }
        }
    }

    fn load_or_save(&self, load: bool) -> Reply {
        let Some(path) = self.acl_file() else {
            return Reply::Error(super::AclError::NoAclFile.reply_text());
        };
        let result = if load { self.load_file(&path) } else { self.save_file(&path) };
        match result {
            Ok(()) => Reply::OK,
            Err(e) => Reply::Error(e.reply_text()),
        }
    }

    fn log_reply(&self, count: usize) -> Reply {
        let now = now_ms();
        Reply::Array(self.log(count).iter().map(|e| e.to_reply(now)).collect())
    }

    /// `ACL DRYRUN user command args…`: `OK`, or why not (not logged).
    fn dry_run(&self, user: &[u8], call: &[&[u8]]) -> Reply {
        let Some(u) = self.user(user) else { return err(format_args!("User '{}' not found", text(user))) };
        let Some(cmd) = catalog::resolve(call) else {
            return err(format_args!("Command '{}' not found", text(call.first().copied().unwrap_or_default())));
        };
        if !cmd.arity_ok(call.len()) {
            return err(format_args!("wrong number of arguments for '{}' command", cmd.name));
        }
        match u.check(call) {
            Ok(()) => Reply::OK,
            Err(d) => Reply::bulk(d.verbose()),
        }
    }
}

fn selector_fields(s: &Selector) -> Vec<(Reply, Reply)> {
    let describe = |f: fn(&Selector, &mut Vec<u8>)| {
        let mut out = Vec::new();
        f(s, &mut out);
        Reply::Bulk(out)
    };
    vec![
        (Reply::bulk("commands"), describe(Selector::describe_commands)),
        (Reply::bulk("keys"), describe(Selector::describe_keys)),
        (Reply::bulk("channels"), describe(Selector::describe_channels)),
    ]
}

/// `ACL GETUSER`'s map: flags, passwords, the root selector's commands,
/// keys and channels, then the other selectors.
fn getuser_reply(u: &User) -> Reply {
    let mut flags = vec![Reply::bulk(if u.is_enabled() { "on" } else { "off" })];
    if u.is_nopass() {
        flags.push(Reply::bulk("nopass"));
    }
    match u.sanitize_payload {
        Some(false) => flags.push(Reply::bulk("skip-sanitize-payload")),
        Some(true) => flags.push(Reply::bulk("sanitize-payload")),
        None => {}
    }
    let mut fields =
        vec![(Reply::bulk("flags"), Reply::Set(flags)), (Reply::bulk("passwords"), Reply::bulks(u.password_hashes()))];
    fields.extend(selector_fields(&u.root));
    let selectors = u.selectors.iter().map(|s| Reply::Map(selector_fields(s))).collect();
    fields.push((Reply::bulk("selectors"), Reply::Array(selectors)));
    Reply::Map(fields)
}
