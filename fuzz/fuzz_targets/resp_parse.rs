//! Feeds arbitrary bytes to the RESP request parser, whole and split in two
//! at a point the first byte picks. Any panic is a bug. Checked: every
//! request consumes at least one byte and no more than is left; the split
//! feed parses the same requests as the whole one, and fails if and only
//! if it does;
//! and re-encoding every parsed command as a multibulk request parses back
//! to the same commands, consuming exactly the encoded bytes. The pump's
//! peek at a `GET`'s key (`get_key`) names only what the parser reads as
//! the first command's key.
//!
//! Small limits (bulk 4 KiB, 64 arguments, inline 1 KiB) let the fuzzer
//! reach every limit error.

#![no_main]

use embercache::server::resp::{ParseLimits, ProtocolError, RequestParser, encode_command, fuzz_get_key};
use libfuzzer_sys::fuzz_target;

const LIMITS: ParseLimits = ParseLimits { max_bulk_len: 4096, max_multibulk_len: 64, max_inline_len: 1024 };

/// Parses `chunks` fed one after the other into a growing buffer: the
/// commands (empty requests dropped) and the first error, if any.
fn parse(chunks: &[&[u8]]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
    let mut parser = RequestParser::new(LIMITS);
    let mut buf = Vec::new();
    let mut cmds = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&buf) {
                Ok(Some(req)) => {
                    assert!(req.consumed > 0, "a request consumed nothing");
                    assert!(req.consumed <= buf.len(), "consumed more than the input");
                    buf.drain(..req.consumed);
                    if !req.args.is_empty() {
                        cmds.push(req.args);
                    }
                }
                Ok(None) => break,
                Err(e) => return (cmds, Some(e)),
            }
        }
    }
    (cmds, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else { return };
    if let Some(key) = fuzz_get_key(input) {
        let req = RequestParser::default().parse(input).expect("a GET the peek names parses").expect("and is whole");
        assert_eq!(req.args.len(), 2, "the peek named a key of {:?}", req.args);
        assert!(req.args[0].eq_ignore_ascii_case(b"get"), "the peek named a key of {:?}", req.args);
        assert_eq!(req.args[1], key, "the peek named another key");
    }
    let (whole, whole_err) = parse(&[input]);
    let at = usize::from(split) % (input.len() + 1);
    let (split_cmds, split_err) = parse(&[&input[..at], &input[at..]]);
    assert_eq!(whole, split_cmds, "split at {at} parsed differently");
    // Which limit error depends on where reads end (as in Redis: a long
    // header is "too big" before its `\r` arrives, "invalid" after).
    assert_eq!(whole_err.is_some(), split_err.is_some(), "split at {at} failed differently");

    let mut encoded = Vec::new();
    for cmd in &whole {
        encode_command(cmd, &mut encoded);
    }
    // Default limits: an inline command may have more arguments than
    // `LIMITS` allows a multibulk one.
    let mut parser = RequestParser::default();
    let mut at = 0;
    let mut again = Vec::new();
    while let Some(req) = parser.parse(&encoded[at..]).expect("re-encoded commands must parse") {
        at += req.consumed;
        again.push(req.args);
    }
    assert_eq!(at, encoded.len());
    assert_eq!(again, whole);
});
