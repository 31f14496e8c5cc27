//! The reply encoder: a [`Reply`] as RESP2 or RESP3 bytes.

use crate::db::{Reply, ReplyOut, format_double};

/// The protocol a connection speaks, switched by `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default of every new connection.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// Appends `reply` to `out` in `proto`'s encoding, in that protocol's
/// shape ([`Reply::into_resp2_shape`] / [`Reply::into_resp3_shape`]),
/// written as it goes rather than converted first.
pub fn encode(reply: Reply, proto: Protocol, out: &mut Vec<u8>) {
    write(&reply, proto, out);
}

fn header(out: &mut Vec<u8>, kind: u8, n: impl itoa::Integer) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A line reply (`+…` or `-…`): CR and LF would end it early, so they are
/// replaced by spaces, as Redis does for error messages.
fn line(out: &mut Vec<u8>, kind: u8, text: &str) {
    out.push(kind);
    out.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    header(out, b'$', bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn write(reply: &Reply, proto: Protocol, out: &mut Vec<u8>) {
    let resp3 = proto == Protocol::Resp3;
    match reply {
        Reply::Simple(s) => line(out, b'+', s),
        Reply::Error(e) => line(out, b'-', e),
        Reply::Integer(n) => header(out, b':', *n),
        Reply::Bulk(b) => bulk(out, b),
        Reply::Double(d) if resp3 => line(out, b',', &format_double(*d)),
        Reply::Double(d) => bulk(out, format_double(*d).as_bytes()),
        Reply::Null | Reply::NullArray if resp3 => out.extend_from_slice(b"_\r\n"),
        Reply::Null => out.extend_from_slice(b"$-1\r\n"),
        Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
        Reply::Array(items) => {
            header(out, b'*', items.len());
            items.iter().for_each(|r| write(r, proto, out));
        }
        Reply::Set(items) => {
            header(out, if resp3 { b'~' } else { b'*' }, items.len());
            items.iter().for_each(|r| write(r, proto, out));
        }
        // RESP3: an array of two-element arrays; RESP2: one flat array.
        Reply::Pairs(pairs) if resp3 => {
            header(out, b'*', pairs.len());
            for (k, v) in pairs {
                out.extend_from_slice(b"*2\r\n");
                write(k, proto, out);
                write(v, proto, out);
            }
        }
        Reply::Map(pairs) | Reply::Pairs(pairs) => {
            if resp3 {
                header(out, b'%', pairs.len());
            } else {
                header(out, b'*', pairs.len().saturating_mul(2));
            }
            for (k, v) in pairs {
                write(k, proto, out);
                write(v, proto, out);
            }
        }
    }
}

/// Appends a push message of `items`: RESP3's push type (`>`), or an
/// array in RESP2 (pub/sub messages, invalidations).
pub fn encode_push(items: Vec<Reply>, proto: Protocol, out: &mut Vec<u8>) {
    header(out, if proto == Protocol::Resp3 { b'>' } else { b'*' }, items.len());
    items.iter().for_each(|r| write(r, proto, out));
}

/// Appends a status line (`+text`), as MONITOR's lines are sent.
pub fn encode_status(text: &str, out: &mut Vec<u8>) {
    line(out, b'+', text);
}

/// Appends `args` as a RESP multibulk command (`*N` then `$len` bulks), as
/// clients send them.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    header(out, b'*', args.len());
    for a in args {
        bulk(out, a.as_ref());
    }
}

/// What the session's bookkeeping needs of a reply it no longer holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// An error reply.
    pub(crate) error: bool,
    /// A null reply (a miss, for the keyspace statistics).
    pub(crate) null: bool,
}

impl Outcome {
    pub(crate) fn of(reply: &Reply) -> Outcome {
        Outcome { error: reply.is_error(), null: matches!(reply, Reply::Null | Reply::NullArray) }
    }
}

/// A [`ReplyOut`] writing RESP straight into a connection's output buffer,
/// noting the [`Outcome`] of the reply as a whole.
pub(crate) struct RespOut<'a> {
    out: &'a mut Vec<u8>,
    proto: Protocol,
    outcome: Option<Outcome>,
}

impl<'a> RespOut<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>, proto: Protocol) -> Self {
        RespOut { out, proto, outcome: None }
    }

    pub(crate) fn outcome(&self) -> Outcome {
        self.outcome.unwrap_or_default()
    }
}

impl ReplyOut for RespOut<'_> {
    fn array(&mut self, len: usize) {
        self.outcome.get_or_insert_default();
        header(self.out, b'*', len);
    }

    fn bulk(&mut self, bytes: &[u8]) {
        self.outcome.get_or_insert_default();
        bulk(self.out, bytes);
    }

    fn reply(&mut self, reply: Reply) {
        self.outcome.get_or_insert_with(|| Outcome::of(&reply));
        write(&reply, self.proto, self.out);
    }
}
