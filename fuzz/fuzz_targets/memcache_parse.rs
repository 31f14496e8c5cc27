//! Feeds arbitrary bytes to a Memcached `Session` (the incremental parser
//! and every text and meta command) on a small `Db` under a manual clock,
//! whole and in chunks of a size the input picks. Any panic is a bug.
//! Checked: each call consumes no more than it was given; `db.validate()`
//! after every chunk (engine structure, weights equal to footprints); and,
//! when neither run was closed and no `stats` reports byte counts that
//! depend on the chunking, the chunked feed answers exactly as the whole.
//! The keys a pump warms for the stream's first line (`get_keys`) are
//! words of that line after a `get` or `gets`, or the one after an `mg`.
//!
//! Input: byte 0 picks the configuration (a memory bound or not, the
//! largest item: 64 B to 8 KiB, an ACL that wants a login or none), byte 1
//! the chunk size, the rest is the client's byte stream. With the ACL, the
//! user `u` (password `p`) may use keys `a*` and no dangerous command.

#![no_main]

use embercache::Db;
use embercache::acl::Acl;
use embercache::db::MaxMemoryPolicy;
use embercache::server::memcache::{Session, fuzz_get_keys};
use embercache::time::ManualClock;
use libfuzzer_sys::fuzz_target;

/// Runs `input` through a fresh session, `chunk` bytes at a time: the
/// replies, and whether the session asked to close.
fn feed(config: u8, input: &[u8], chunk: usize) -> (Vec<u8>, bool) {
    let clock = ManualClock::new();
    let maxmemory = if config & 0x80 != 0 { 16 * 1024 } else { 0 };
    let db = Db::builder()
        .clock(clock)
        .shards(2)
        .maxmemory(maxmemory)
        .maxmemory_policy(MaxMemoryPolicy::ALL[usize::from(config & 7)])
        .build()
        .expect("a valid configuration");
    let max_item = 64usize << (config >> 3 & 7);
    let mut session = Session::new(db.clone()).max_item_size(max_item);
    if config & 0x40 != 0 {
        let acl = Acl::new();
        acl.set_user("default", &[">pw"]).expect("valid rules");
        acl.set_user("u", &["on", ">p", "~a*", "+@all", "-@dangerous"]).expect("valid rules");
        session = session.acl(&acl);
    }
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            let progress = session.process(&buf, &mut out);
            assert!(progress.consumed <= buf.len(), "consumed more than given");
            buf.drain(..progress.consumed);
            if progress.close {
                db.validate();
                return (out, true);
            }
            if progress.consumed == 0 {
                break;
            }
        }
        db.validate();
    }
    (out, false)
}

/// Checks the keys a pump warms for `input`'s first line: words of that
/// line after a `get` or `gets`, or the one after an `mg`.
fn check_warmed_keys(input: &[u8]) {
    let mut keys = Vec::new();
    fuzz_get_keys(input, |k| keys.push(k));
    let most = if input.starts_with(b"get ") || input.starts_with(b"gets ") {
        usize::MAX
    } else if input.starts_with(b"mg ") {
        1
    } else {
        0
    };
    assert!(keys.len() <= most, "{} keys warmed", keys.len());
    let line_end = input.iter().position(|&b| b == b'\n').unwrap_or(0);
    for key in keys {
        assert!(!key.is_empty() && !key.contains(&b' '), "warmed {key:?}");
        let at = (key.as_ptr() as usize).checked_sub(input.as_ptr() as usize).expect("a key inside the input");
        assert!(at + key.len() <= line_end, "a key past the first line");
    }
}

fuzz_target!(|data: &[u8]| {
    let [config, chunk, input @ ..] = data else { return };
    check_warmed_keys(input);
    let (whole, whole_closed) = feed(*config, input, input.len());
    let (chunked, chunked_closed) = feed(*config, input, usize::from(*chunk));
    let reports_bytes = input.windows(5).any(|w| w == b"stats");
    if !whole_closed && !chunked_closed && !reports_bytes {
        assert_eq!(
            String::from_utf8_lossy(&whole),
            String::from_utf8_lossy(&chunked),
            "chunks of {chunk} answered differently"
        );
    }
});
