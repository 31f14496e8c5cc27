//! OBJECT ENCODING, FREQ, IDLETIME, REFCOUNT and HELP.
//!
//! Encodings are reported with Redis 7.2's names. Lists and hashes report
//! their real representation (packed or not); the other types are stored
//! one way each, so their name is chosen from the value's size as Redis's default
//! thresholds would choose it (what Redis *would* use):
//!
//! | type | name | when |
//! |---|---|---|
//! | string | `int` | a 64-bit integer in canonical form |
//! | string | `embstr` | up to 44 bytes |
//! | string | `raw` | longer |
//! | list | `listpack` | stored packed: at most 128 items, each at most 64 bytes, so far |
//! | list | `quicklist` | stored as a deque: either limit was once exceeded (one way, as Redis) |
//! | hash | `listpack` | stored packed: at most 128 fields, each field and value at most 64 bytes, so far |
//! | hash | `hashtable` | stored as a table: either limit was once exceeded (one way, as Redis) |
//! | set | `intset` | at most 512 members, all integers |
//! | set | `listpack` | at most 128 members of at most 64 bytes |
//! | set | `hashtable` | larger |
//! | zset | `listpack` | at most 128 members of at most 64 bytes, so far (as Redis, it stays a skiplist once converted) |
//! | zset | `skiplist` | either limit was once exceeded |

use super::super::args::parse_i64;
use super::super::{Db, DbError, DbResult, Reply, Value};
use super::{help, subcommand};

/// Redis's `OBJECT FREQ` error when the policy is not LFU.
const NO_FREQ: &str = "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/// Redis's `OBJECT IDLETIME` error under an LFU policy.
const NO_IDLE: &str = "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// Redis's default thresholds (`*-max-listpack-*`, `set-max-intset-entries`,
/// the embstr limit).
const EMBSTR_MAX: usize = 44;
const LISTPACK_ENTRIES: usize = 128;
const LISTPACK_VALUE: usize = 64;
const INTSET_ENTRIES: usize = 512;

/// The encoding name Redis would report for `value` (see the module docs).
fn encoding(value: &Value) -> &'static str {
    let small = |b: &[u8]| b.len() <= LISTPACK_VALUE;
    let is_int = |b: &[u8]| b.len() <= 20 && parse_i64(b).is_some();
    match value {
        Value::String(s) if is_int(s) => "int",
        Value::String(s) if s.len() <= EMBSTR_MAX => "embstr",
        Value::String(_) => "raw",
        Value::List(l) if l.is_packed() => "listpack",
        Value::List(_) => "quicklist",
        Value::Hash(h) if h.is_packed() => "listpack",
        Value::Hash(_) => "hashtable",
        Value::Set(s) if s.len() <= INTSET_ENTRIES && s.iter().all(is_int) => "intset",
        Value::Set(s) if s.len() <= LISTPACK_ENTRIES && s.iter().all(small) => "listpack",
        Value::Set(_) => "hashtable",
        Value::ZSet(z) if z.is_packed() => "listpack",
        Value::ZSet(_) => "skiplist",
    }
}

impl Db {
    /// OBJECT ENCODING: the name of the representation Redis would use for
    /// `key`'s value (see the table in this module's docs), `None` when
    /// absent. Does not count as an access.
    pub fn object_encoding(&self, key: &[u8]) -> Option<&'static str> {
        self.peek(key, |s, _, _, _| encoding(&s.value))
    }

    /// OBJECT FREQ: `key`'s logarithmic access counter, `None` when absent.
    /// Only under an LFU `maxmemory-policy`; otherwise Redis's error.
    pub fn object_freq(&self, key: &[u8]) -> DbResult<Option<u8>> {
        let Some(freq) = self.peek(key, |_, _, freq, _| freq) else { return Ok(None) };
        if !self.inner.policy.is_lfu() {
            return Err(DbError::NotTracked(NO_FREQ));
        }
        Ok(Some(freq))
    }

    /// OBJECT IDLETIME: seconds since `key` was last read or written,
    /// `None` when absent. Under an LFU `maxmemory-policy`, Redis's error.
    pub fn object_idletime(&self, key: &[u8]) -> DbResult<Option<u64>> {
        let now = self.now();
        let Some(idle) = self.peek(key, |s, _, _, _| s.idle_secs(now)) else { return Ok(None) };
        if self.inner.policy.is_lfu() {
            return Err(DbError::NotTracked(NO_IDLE));
        }
        Ok(Some(idle))
    }

    /// OBJECT REFCOUNT: 1 for an existing key (values are never shared
    /// here), `None` when absent.
    pub fn object_refcount(&self, key: &[u8]) -> Option<i64> {
        self.peek(key, |_, _, _, _| 1)
    }
}

/// The lines of `OBJECT HELP` after its header, as Redis words them.
const HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

/// ```text
/// OBJECT ENCODING key
/// OBJECT FREQ key
/// OBJECT IDLETIME key
/// OBJECT REFCOUNT key
/// OBJECT HELP
/// ```
pub(super) fn cmd_object(db: &Db, a: &[&[u8]]) -> Reply {
    const SUBS: &[(&str, i32)] = &[("encoding", 3), ("freq", 3), ("idletime", 3), ("refcount", 3), ("help", 2)];
    let sub = match subcommand(a, "OBJECT", SUBS) {
        Ok(sub) => sub,
        Err(e) => return e.into(),
    };
    let key = a.get(2).copied().unwrap_or_default();
    match sub {
        "encoding" => Reply::bulk_or_null(db.object_encoding(key)),
        "freq" => db.object_freq(key).map(|f| f.map_or(Reply::Null, |f| Reply::Integer(i64::from(f)))).into(),
        "idletime" => db
            .object_idletime(key)
            .map(|t| t.map_or(Reply::Null, |t| Reply::Integer(i64::try_from(t).unwrap_or(i64::MAX))))
            .into(),
        "refcount" => db.object_refcount(key).map_or(Reply::Null, Reply::Integer),
        _ => help("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", HELP),
    }
}
