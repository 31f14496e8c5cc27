//! The Memcached protocols over the same [`Db`](crate::db::Db) the RESP server serves:
//! the text protocol (`get`, `gets`, `gat`, `gats`, `set`, `add`,
//! `replace`, `append`, `prepend`, `cas`, `incr`, `decr`, `touch`,
//! `delete`, `flush_all`, `version`, `verbosity`, `stats`, `quit`) and the
//! meta protocol (`mg`, `ms`, `md`, `ma`, `me`, `mn`), as memcached 1.6
//! answers them. Enable it with
//! [`ServerBuilder::memcached_bind`](super::ServerBuilder::memcached_bind);
//! [`Session`] is the same protocol without I/O.
//!
//! An item is a Redis string: what a Memcached client sets, a Redis client
//! reads with `GET`, and the reverse. Each key also keeps the item's 32-bit
//! client flags and a CAS unique, which changes on every write from either
//! side; exptimes follow memcached (0 never, negative already expired, up
//! to 30 days relative seconds, larger a unix time). A key holding another
//! Redis type is a miss for reads, is replaced by `set`, is not replaced by
//! `add`, is deleted by `delete`, and makes the other writes fail with
//! `CLIENT_ERROR WRONGTYPE …` (see `db::item` for the rules). Client flags
//! are not kept in snapshots or journals (restored items have flags 0).
//!
//! Limits, as memcached's: keys of 1 to 250 bytes (`CLIENT_ERROR bad
//! command line format`; any byte but space and line ends, control bytes
//! included, as memcached takes them); items (key and
//! value) up to [`DEFAULT_MAX_ITEM_SIZE`] or
//! [`ServerBuilder::memcached_max_item_size`](super::ServerBuilder::memcached_max_item_size)
//! (`SERVER_ERROR object too large for cache`, the data then skipped as it
//! arrives, never buffered); an unterminated line longer than
//! [`parse::MAX_LINE_LEN`] (or [`parse::MAX_GET_LINE_LEN`] for retrievals)
//! gets an error and the connection is closed. The binary protocol
//! (first byte 0x80) is answered with a binary "not supported" response,
//! then the connection is closed.
//!
//! Access: the server's ACL applies to this port too. While it wants a
//! password, a connection logs in with memcached's token authentication
//! (a `set` of `<user> <password>`), and every command is checked against
//! the user's permissions as the Redis command it amounts to; see `auth`
//! for the rules and [`Session::acl`] for a session of one's own.
//!
//! `version` answers `VERSION 1.6.0 embercache-<version>`: the memcached
//! protocol level served, which clients parse, then the server's name.
//!
//! Differences from memcached: numbers with more than
//! 32 bits of client flags are refused; `decr` never pads the value with
//! spaces; `stats` has the general counters but no slab or item
//! breakdowns; `mg`'s `E` flag and `lru`, `slabs`, `watch` and other admin
//! commands are not supported; `verbosity` is accepted and ignored.

mod auth;
mod base64;
mod connection;
mod meta;
pub mod parse;
mod pumped;
mod session;
mod stats;
mod text;

pub use session::{Progress, Session};

pub(in crate::server) use connection::serve_listener;
pub(crate) use session::Shared;

/// The keys a pump warms for the first line of `input`, for the
/// `memcache_parse` fuzz target.
#[doc(hidden)]
#[cfg(fuzzing)]
pub fn fuzz_get_keys<'a>(input: &'a [u8], each: impl FnMut(&'a [u8])) {
    text::get_keys(input, each);
}

/// The largest item (key and value bytes) accepted unless configured
/// otherwise: 1 MiB, memcached's `-I` default.
pub const DEFAULT_MAX_ITEM_SIZE: usize = 1024 * 1024;

/// What `version` reports: the protocol level, then this server.
pub(crate) const VERSION: &str = concat!("1.6.0 embercache-", env!("CARGO_PKG_VERSION"));

/// Reply lines shared by the commands.
mod replies {
    pub(super) const ERROR: &[u8] = b"ERROR\r\n";
    pub(super) const END: &[u8] = b"END\r\n";
    pub(super) const NOT_FOUND: &[u8] = b"NOT_FOUND\r\n";
    pub(super) const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format\r\n";
    pub(super) const BAD_CHUNK: &[u8] = b"CLIENT_ERROR bad data chunk\r\n";
    pub(super) const INVALID_EXPTIME: &[u8] = b"CLIENT_ERROR invalid exptime argument\r\n";
    pub(super) const NON_NUMERIC: &[u8] = b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    pub(super) const LINE_TOO_LONG: &[u8] = b"CLIENT_ERROR line too long\r\n";
    pub(super) const TOO_LARGE: &[u8] = b"SERVER_ERROR object too large for cache\r\n";
    pub(super) const OUT_OF_MEMORY: &[u8] = b"SERVER_ERROR out of memory storing object\r\n";
    pub(super) const SERVER_ERROR: &[u8] = b"SERVER_ERROR internal error\r\n";
    pub(super) const WRONGTYPE: &[u8] =
        b"CLIENT_ERROR WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    /// Appends `prefix` then `n` in decimal (the numbers of `VALUE` lines
    /// and meta flags: no `fmt` machinery on the hot path).
    pub(super) fn number(out: &mut Vec<u8>, prefix: &[u8], n: impl itoa::Integer) {
        out.extend_from_slice(prefix);
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// Builds the state the sessions of a listener of `server` share.
pub(crate) fn shared(
    server: &std::sync::Arc<super::state::ServerState>,
    max_item_size: usize,
) -> std::sync::Arc<Shared> {
    std::sync::Arc::new(Shared::of_server(server, max_item_size))
}

#[cfg(test)]
mod tests;
