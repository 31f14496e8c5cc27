//! Small pieces the server's own commands share: matching a subcommand or
//! option name, and Redis's common error replies.

use crate::db::Reply;

/// Whether argument `a` is `b`, ignoring ASCII case (as Redis compares
/// subcommand and option names).
pub(crate) fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Redis's wrong-arity error for command `name`.
pub(crate) fn arity(name: &str) -> Reply {
    Reply::Error(format!("ERR wrong number of arguments for '{name}' command"))
}

/// Redis's `ERR syntax error`.
pub(crate) fn syntax() -> Reply {
    Reply::Error("ERR syntax error".into())
}
