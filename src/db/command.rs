//! The command table behind [`Db::execute`]: each command's name, arity
//! (Redis's convention: `n` exactly `n` arguments counting the name, `-n`
//! at least `n`), flags, and the function that parses its arguments and
//! calls the typed method.

use super::{Db, DbError, Reply, ReplyOut};
use smallvec::SmallVec;
use std::cell::Cell;
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
    /// The same command writing its reply as it reads the value (to a
    /// server's output buffer, with no [`Reply`] built in between); `run`
    /// then builds its `Reply` through [`ReplyBuilder`]. For the commands
    /// whose replies are long arrays.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) stream: Option<StreamFn>,
}

/// See [`Command::stream`].
pub(crate) type StreamFn = fn(&Db, &[&[u8]], &mut dyn ReplyOut);

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

/// The longest name spelling [`lookup`] remembers.
const REMEMBERED: usize = 16;

/// A name as a client spelled it and the command it names.
type Remembered = ([u8; REMEMBERED], usize, Option<&'static Command>);

thread_local! {
    /// The last name [`lookup`] found on this thread: clients mostly send
    /// the same command again (a pipeline of SETs, a loop of GETs), and a
    /// comparison of a few bytes is cheaper than lowercasing and hashing.
    static LAST: Cell<Remembered> = const { Cell::new(([0; REMEMBERED], 0, None)) };
}

/// The command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let (bytes, len, cmd) = LAST.with(Cell::get);
    if cmd.is_some() && bytes.get(..len) == Some(name) {
        return cmd;
    }
    let mut lower = [0u8; 32];
    let lower = lower.get_mut(..name.len())?;
    for (l, c) in lower.iter_mut().zip(name) {
        *l = c.to_ascii_lowercase();
    }
    let found = TABLE.get(&*lower).copied();
    if found.is_some() && name.len() <= REMEMBERED {
        let mut bytes = [0; REMEMBERED];
        bytes[..name.len()].copy_from_slice(name);
        LAST.with(|last| last.set((bytes, name.len(), found)));
    }
    found
}

/// Every command, in no particular order.
pub fn all() -> impl Iterator<Item = &'static Command> {
    TABLE.values().copied()
}

/// Redis's reply to an unknown command: the name, then arguments quoted
/// while the list is under 128 bytes, each clipped to the room left; Redis
/// prints them with `%s`, so each ends at its first NUL byte.
fn unknown(args: &[&[u8]]) -> DbError {
    const ROOM: usize = 128;
    let c_string = |b: &'_ [u8]| -> Vec<u8> { b.iter().copied().take_while(|&c| c != 0).collect() };
    let mut name = args.first().map_or_else(Vec::new, |n| c_string(n));
    name.truncate(ROOM);
    let mut rest = Vec::new();
    for a in args.iter().skip(1) {
        if rest.len() >= ROOM {
            break;
        }
        let mut a = c_string(a);
        a.truncate(ROOM - rest.len());
        rest.push(b'\'');
        rest.extend_from_slice(&a);
        rest.extend_from_slice(b"' ");
    }
    DbError::UnknownCommand {
        name: String::from_utf8_lossy(&name).into_owned(),
        args: String::from_utf8_lossy(&rest).into_owned(),
    }
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

    /// [`Db::run_command`] writing the reply to `out`: streamed for the
    /// commands that can (see [`Command::stream`]), else built and handed
    /// over whole.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn run_command_to(&self, cmd: &'static Command, args: &[&[u8]], out: &mut dyn ReplyOut) {
        match cmd.stream {
            Some(stream) if cmd.arity_ok(args.len()) && cmd.flags & DENYOOM == 0 => stream(self, args, out),
            _ => out.reply(self.run_command(cmd, args)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_remembers_the_last_spelling_without_confusing_names() {
        let name = |n: &[u8]| lookup(n).map(|c| c.name);
        for _ in 0..2 {
            assert_eq!(name(b"GET"), Some("get"));
            assert_eq!(name(b"GET"), Some("get"));
            assert_eq!(name(b"gEt"), Some("get"));
            assert_eq!(name(b"SET"), Some("set"));
            assert_eq!(name(b"GETSET"), Some("getset"));
            assert_eq!(name(b"GE"), None);
            assert_eq!(name(b"GETS"), None);
            assert_eq!(name(b""), None);
            assert_eq!(name(b"ZRANGEBYSCORE"), Some("zrangebyscore"));
            assert_eq!(name(b"zremrangebyscore"), Some("zremrangebyscore"));
            assert_eq!(name(b"georadiusbymember_ro_nope"), None);
            assert_eq!(name(&[b'x'; 40]), None);
        }
    }

    #[test]
    fn unknown_commands_quote_their_arguments_as_redis() {
        // Found by the differential test: arguments end at a NUL byte
        // (Redis prints them with `%s`) and the list stops near 128 bytes.
        let e = |args: &[&[u8]]| unknown(args).to_string();
        assert_eq!(e(&[b"nope", b"a\0b", b"c"]), "ERR unknown command 'nope', with args beginning with: 'a' 'c' ");
        assert_eq!(e(&[b"x\0y"]), "ERR unknown command 'x', with args beginning with: ");
        let long = [b'a'; 100];
        let got = e(&[b"nope", &long, &long, &long]);
        let want = format!(
            "ERR unknown command 'nope', with args beginning with: '{}' '{}' ",
            "a".repeat(100),
            "a".repeat(128 - 103)
        );
        assert_eq!(got, want);
        assert_eq!(
            e(&[&[b'n'; 200]]),
            format!("ERR unknown command '{}', with args beginning with: ", "n".repeat(128))
        );
    }
}
