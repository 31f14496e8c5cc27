//! The command table behind [`Db::execute`]: each command's name, arity
//! (Redis's convention: `n` exactly `n` arguments counting the name, `-n`
//! at least `n`), flags, and the function that parses its arguments and
//! calls the typed method.

use super::{Db, DbError, Reply};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The command may change the keyspace.
pub const WRITE: u8 = 1;
/// The command may grow memory: refused with OOM at the bound under `noeviction`.
pub const DENYOOM: u8 = 2;
/// The command may block the caller.
pub const BLOCKING: u8 = 4;

/// One command of the table.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: `n` exactly, `-n` at least, counting the name.
    pub arity: i32,
    /// [`WRITE`], [`DENYOOM`], [`BLOCKING`].
    pub flags: u8,
    pub(crate) run: fn(&Db, &[&[u8]]) -> Reply,
}

impl Command {
    /// Whether `n` arguments (counting the name) fit the arity.
    pub fn arity_ok(&self, n: usize) -> bool {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let a = i64::from(self.arity);
        if a >= 0 { n == a } else { n >= -a }
    }
}

/// Command names (lowercase bytes) to commands. `ahash`, not SipHash: the
/// lookup is on every `execute`, and names are not attacker-chosen keys of
/// a growing table.
static TABLE: LazyLock<HashMap<&'static [u8], &'static Command, ahash::RandomState>> = LazyLock::new(|| {
    let families: [&'static [Command]; 10] = [
        super::keys::COMMANDS,
        super::string::COMMANDS,
        super::bitmap::COMMANDS,
        super::hll::COMMANDS,
        super::list::COMMANDS,
        super::blocking::COMMANDS,
        super::hash::COMMANDS,
        super::set::COMMANDS,
        super::zset::COMMANDS,
        super::pubsub::COMMANDS,
    ];
    families.into_iter().flatten().map(|c| (c.name.as_bytes(), c)).collect()
});

/// The command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut lower = [0u8; 32];
    let lower = lower.get_mut(..name.len())?;
    for (l, c) in lower.iter_mut().zip(name) {
        *l = c.to_ascii_lowercase();
    }
    TABLE.get(&*lower).copied()
}

/// Every command, in no particular order.
pub fn all() -> impl Iterator<Item = &'static Command> {
    TABLE.values().copied()
}

/// Redis's reply to an unknown command.
fn unknown(args: &[&[u8]]) -> DbError {
    let clip = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(128)]).into_owned();
    let name = args.first().map_or_else(String::new, |n| clip(n));
    let rest: String = args.iter().skip(1).map(|a| format!("'{}' ", clip(a))).collect();
    DbError::UnknownCommand { name, args: rest }
}

impl Db {
    /// Runs one command given as Redis-style arguments (the name first) and
    /// returns its reply, exactly as Redis would answer it: argument counts,
    /// option keywords in any case, error wording.
    ///
    /// ```
    /// use embercache::Db;
    /// use embercache::db::Reply;
    ///
    /// let db = Db::new();
    /// assert_eq!(db.execute(&["INCRBY", "visits", "5"]), Reply::Integer(5));
    /// assert_eq!(db.execute(&["incr", "visits"]), Reply::Integer(6));
    /// assert!(db.execute(&["GET"]).is_error());
    /// ```
    pub fn execute<A: AsRef<[u8]>>(&self, args: &[A]) -> Reply {
        let args: SmallVec<[&[u8]; 8]> = args.iter().map(AsRef::as_ref).collect();
        let Some(name) = args.first() else {
            return DbError::UnknownCommand { name: String::new(), args: String::new() }.into();
        };
        let Some(cmd) = lookup(name) else { return unknown(&args).into() };
        self.run_command(cmd, &args)
    }

    /// Runs `args` (the name first) as `cmd`, already looked up: what
    /// [`Db::execute`] does after the lookup (the server looks commands up
    /// once for everything it does with them).
    pub(crate) fn run_command(&self, cmd: &'static Command, args: &[&[u8]]) -> Reply {
        if !cmd.arity_ok(args.len()) {
            return DbError::WrongArity(cmd.name.to_string()).into();
        }
        if cmd.flags & DENYOOM != 0
            && let Err(e) = self.make_room()
        {
            return e.into();
        }
        (cmd.run)(self, args)
    }
}
