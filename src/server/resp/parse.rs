//! The request parser: RESP multibulk (`*N\r\n$len\r\n…`) and inline
//! commands, incremental over a byte buffer that the caller keeps filling.
//!
//! The parser keeps the progress of a partly received multibulk command, so
//! a command of a million small arguments arriving in many reads is scanned
//! once, not once per read. Nothing is allocated from a declared length,
//! and nothing is copied: [`RequestParser::next`] hands out the arguments
//! as slices of the caller's buffer (an inline command's, unquoted, of the
//! parser's own), and the list of argument positions grows with the
//! arguments actually received.

use smallvec::SmallVec;
use std::fmt;

/// Redis's `proto-max-bulk-len` default: 512 MiB.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// The largest multibulk count accepted (Redis's historical 1024 × 1024).
pub const DEFAULT_MAX_MULTIBULK_LEN: usize = 1024 * 1024;
/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline command, and the
/// longest `*N` / `$N` header line, 64 KiB.
pub const MAX_INLINE_LEN: usize = 64 * 1024;

/// Limits the parser enforces; every one refuses the request with a
/// protocol error instead of growing without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// The longest bulk argument (`$N`), in bytes.
    pub max_bulk_len: usize,
    /// The most arguments of one multibulk command (`*N`).
    pub max_multibulk_len: usize,
    /// The longest inline command line, in bytes.
    pub max_inline_len: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_inline_len: MAX_INLINE_LEN,
        }
    }
}

/// A malformed request. Its `Display` is Redis's exact error line (without
/// the leading `-`); as in Redis, the connection is closed after sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// `*N` is not an integer, or is too large.
    InvalidMultibulkLength,
    /// `$N` is not an integer, is negative, or exceeds the bulk limit.
    InvalidBulkLength,
    /// A multibulk argument does not start with `$`; carries the byte seen.
    ExpectedDollar(u8),
    /// An inline command with an unterminated or badly closed quote.
    UnbalancedQuotes,
    /// An inline command longer than the inline limit without a newline.
    TooBigInline,
    /// A `*N` line longer than the inline limit without a `\r`.
    TooBigMultibulkCount,
    /// A `$N` line longer than the inline limit without a `\r`.
    TooBigBulkCount,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ERR Protocol error: ")?;
        match self {
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::ExpectedDollar(c) => write!(f, "expected '$', got '{}'", char::from(*c)),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::TooBigMultibulkCount => f.write_str("too big mbulk count string"),
            ProtocolError::TooBigBulkCount => f.write_str("too big bulk count string"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// One request taken off the front of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The arguments, command name first. Empty for requests Redis skips
    /// silently (a blank inline line, `*0`, `*-1`): the caller drops them.
    pub args: Vec<Vec<u8>>,
    /// How many bytes of the buffer the request took; the caller discards
    /// them before the next call.
    pub consumed: usize,
}

/// The arguments of a request, borrowed from the buffer (or the parser):
/// what [`RequestParser::next`] fills.
pub type Args<'a> = SmallVec<[&'a [u8]; 8]>;

/// A multibulk command received in part: where its arguments lie in the
/// buffer (the caller only appends to it until the command is complete,
/// so the positions stay valid).
#[derive(Debug, Default, Clone, Copy)]
struct Partial {
    /// Arguments still expected.
    remaining: usize,
    /// Where the next argument's `$` is expected.
    pos: usize,
}

/// What a complete request's arguments are made of.
enum Parsed {
    /// More bytes needed.
    Incomplete,
    /// A multibulk command: its arguments are `spans`, `consumed` bytes.
    Spans(usize),
    /// An inline command: its arguments are `inline`.
    Inline(usize),
}

/// An incremental request parser; one per connection.
///
/// Call [`RequestParser::parse`] with everything received and not yet
/// consumed. Between calls the caller may only append to the buffer, until
/// a request is returned and its `consumed` bytes are dropped from the front.
#[derive(Debug, Default)]
pub struct RequestParser {
    limits: ParseLimits,
    partial: Option<Partial>,
    /// The positions (start, end) of the current multibulk's arguments.
    spans: Vec<(usize, usize)>,
    /// The current inline command's arguments, unquoted.
    inline: Vec<Vec<u8>>,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: ParseLimits) -> Self {
        RequestParser { limits, ..RequestParser::default() }
    }

    /// The next complete request at the front of `buf`, its arguments
    /// copied out: [`next`](Self::next) without borrowing.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
        let mut args = Args::new();
        let consumed = self.next(buf, &mut args)?;
        Ok(consumed.map(|consumed| Request { args: args.iter().map(|a| a.to_vec()).collect(), consumed }))
    }

    /// The next complete request at the front of `buf`: `Ok(None)` when
    /// more bytes are needed, an error when the input is malformed (after
    /// which the connection should be closed; the parser is reset). Once
    /// complete, its arguments are pushed onto `args` (borrowing `buf`, or
    /// the parser for an inline command's) and the number of bytes it took
    /// is returned; `args` stays empty for the requests of
    /// [`Request::args`]'s note.
    pub fn next<'a>(&'a mut self, buf: &'a [u8], args: &mut Args<'a>) -> Result<Option<usize>, ProtocolError> {
        let result = match self.partial {
            Some(_) => self.multibulk_args(buf),
            None => match buf.first() {
                None => Ok(Parsed::Incomplete),
                Some(b'*') => self.multibulk_header(buf),
                Some(_) => self.inline(buf),
            },
        };
        let parsed = result.inspect_err(|_| self.partial = None)?;
        Ok(match parsed {
            Parsed::Incomplete => None,
            Parsed::Spans(consumed) => {
                for &(s, e) in &self.spans {
                    if let Some(arg) = buf.get(s..e) {
                        args.push(arg);
                    }
                }
                Some(consumed)
            }
            Parsed::Inline(consumed) => {
                args.extend(self.inline.iter().map(Vec::as_slice));
                Some(consumed)
            }
        })
    }

    /// The position of the first `\r` at or after `from`, once the byte
    /// after it has arrived too; `Ok(None)` if more input is needed.
    fn header_end(&self, buf: &[u8], from: usize, too_big: ProtocolError) -> Result<Option<usize>, ProtocolError> {
        let rest = buf.get(from..).unwrap_or_default();
        // Headers are mostly a few bytes (`$3`, `*2`): a plain scan finds
        // their end sooner than memchr's vector set-up.
        let short = rest.iter().take(SHORT_HEADER).position(|&b| b == b'\r');
        let found = match short {
            Some(i) => Some(i),
            None if rest.len() <= SHORT_HEADER => None,
            None => memchr::memchr(b'\r', &rest[SHORT_HEADER..]).map(|i| i + SHORT_HEADER),
        };
        match found {
            Some(i) if from + i + 1 < buf.len() => Ok(Some(from + i)),
            Some(_) => Ok(None),
            None if rest.len() > self.limits.max_inline_len => Err(too_big),
            None => Ok(None),
        }
    }

    fn multibulk_header(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(cr) = self.header_end(buf, 0, ProtocolError::TooBigMultibulkCount)? else {
            return Ok(Parsed::Incomplete);
        };
        let count = parse_i64(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > i64::try_from(self.limits.max_multibulk_len).unwrap_or(i64::MAX) {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        let pos = cr + 2;
        self.spans.clear();
        let Ok(remaining @ 1..) = usize::try_from(count) else {
            // `*0` and `*-1`: nothing to run.
            return Ok(Parsed::Spans(pos));
        };
        self.partial = Some(Partial { remaining, pos });
        self.multibulk_args(buf)
    }

    fn multibulk_args(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(mut partial) = self.partial.take() else { return Ok(Parsed::Incomplete) };
        let max_bulk = self.limits.max_bulk_len;
        while partial.remaining > 0 {
            let pos = partial.pos;
            let (len, start) = match short_bulk_header(buf, pos) {
                Some(parsed) => parsed,
                None => {
                    let Some(cr) = self.header_end(buf, pos, ProtocolError::TooBigBulkCount)? else {
                        self.partial = Some(partial);
                        return Ok(Parsed::Incomplete);
                    };
                    if buf[pos] != b'$' {
                        return Err(ProtocolError::ExpectedDollar(buf[pos]));
                    }
                    (parse_len(&buf[pos + 1..cr]).ok_or(ProtocolError::InvalidBulkLength)?, cr + 2)
                }
            };
            if len > max_bulk {
                return Err(ProtocolError::InvalidBulkLength);
            }
            // The bulk and its trailing CRLF (not checked, as in Redis).
            let Some(end) = start.checked_add(len).filter(|&e| e.saturating_add(2) <= buf.len()) else {
                self.partial = Some(partial);
                return Ok(Parsed::Incomplete);
            };
            self.spans.push((start, end));
            partial.remaining -= 1;
            partial.pos = end + 2;
        }
        Ok(Parsed::Spans(partial.pos))
    }

    fn inline(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(nl) = memchr::memchr(b'\n', buf) else {
            return if buf.len() > self.limits.max_inline_len {
                Err(ProtocolError::TooBigInline)
            } else {
                Ok(Parsed::Incomplete)
            };
        };
        if nl > self.limits.max_inline_len {
            return Err(ProtocolError::TooBigInline);
        }
        let line = &buf[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.inline = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
        Ok(Parsed::Inline(nl + 1))
    }
}

/// The common bulk header at `pos`, read in one pass: `$`, a length of at
/// most [`SHORT_LEN_DIGITS`] digits without a leading zero, CR and LF, all
/// arrived. Gives the length and where the bulk starts; `None` for
/// anything else (more to come, a longer length, an error), which the
/// general path sorts out.
#[inline]
fn short_bulk_header(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let Some([b'$', digits @ ..]) = buf.get(pos..) else { return None };
    let mut len = 0usize;
    for (i, &b) in digits.iter().enumerate().take(SHORT_LEN_DIGITS + 1) {
        match b {
            b'\r' if i > 0 && i + 1 < digits.len() => return Some((len, pos + 1 + i + 2)),
            b'0'..=b'9' if i < SHORT_LEN_DIGITS && (i == 0 || digits[0] != b'0') => {
                len = len * 10 + usize::from(b - b'0');
            }
            _ => return None,
        }
    }
    None
}

/// The most digits [`short_bulk_header`] reads (no `usize` overflow).
const SHORT_LEN_DIGITS: usize = 15;

/// How far a header's end is looked for byte by byte before memchr.
const SHORT_HEADER: usize = 16;

/// Redis's `string2ll`: an optional `-`, then digits without a leading zero
/// (`0` alone excepted), fitting an `i64`; nothing else.
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!neg).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        n = n.checked_mul(10)?;
        n = if neg { n.checked_sub(d)? } else { n.checked_add(d)? };
    }
    Some(n)
}

/// [`parse_i64`] for a length: digits only, no leading zero (`0` alone
/// excepted), fitting a `usize`.
pub(super) fn parse_len(s: &[u8]) -> Option<usize> {
    match s {
        [] => None,
        [b'0'] => Some(0),
        [b'0', ..] => None,
        _ => s.iter().try_fold(0usize, |n, &d| {
            if !d.is_ascii_digit() {
                return None;
            }
            n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
        }),
    }
}

/// C's `isspace` in the "C" locale, which Redis's argument splitter uses.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Splits an inline command as Redis's `sdssplitargs` does: arguments are
/// separated by spaces; `"…"` understands `\xHH`, `\n`, `\r`, `\t`, `\b`,
/// `\a` and `\<any>`; `'…'` understands only `\'`; a closing quote must be
/// followed by a space or the end. `None` on unbalanced quotes.
pub(crate) fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|&b| is_space(b)) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut arg = Vec::new();
        // 0: unquoted, 1: in "…", 2: in '…'.
        let mut quote = 0u8;
        loop {
            let Some(&c) = line.get(i) else {
                if quote != 0 {
                    return None;
                }
                break;
            };
            match quote {
                1 => {
                    let hex = |k: usize| line.get(i + k).and_then(|&b| hex_digit(b));
                    if c == b'\\'
                        && line.get(i + 1) == Some(&b'x')
                        && let (Some(h), Some(l)) = (hex(2), hex(3))
                    {
                        arg.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                    if c == b'\\' && i + 1 < line.len() {
                        arg.push(match line[i + 1] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        i += 2;
                        continue;
                    }
                    if c == b'"' {
                        if line.get(i + 1).is_some_and(|&b| !is_space(b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    arg.push(c);
                }
                2 => {
                    if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                        arg.push(b'\'');
                        i += 2;
                        continue;
                    }
                    if c == b'\'' {
                        if line.get(i + 1).is_some_and(|&b| !is_space(b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    arg.push(c);
                }
                _ => match c {
                    c if is_space(c) => break,
                    b'"' => quote = 1,
                    b'\'' => quote = 2,
                    _ => arg.push(c),
                },
            }
            i += 1;
        }
        args.push(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The general path's reading of the bulk header at the front of `buf`.
    fn general(buf: &[u8]) -> Option<(usize, usize)> {
        let cr = buf.iter().position(|&b| b == b'\r').filter(|&cr| cr + 1 < buf.len())?;
        Some((parse_len(buf.get(1..cr)?).filter(|_| buf[0] == b'$')?, cr + 2))
    }

    #[test]
    fn short_bulk_headers_read_as_the_general_path() {
        for (buf, want) in [
            (&b"$0\r\n"[..], Some((0, 4))),
            (b"$3\r\nfoo\r\n", Some((3, 4))),
            (b"$123456789012345\r\n", Some((123_456_789_012_345, 18))),
            (b"$1234567890123456\r\n", None), // too long for the short path
            (b"$01\r\n", None),
            (b"$-1\r\n", None),
            (b"$\r\n", None),
            (b"$5\r", None),
            (b"$5", None),
            (b"*5\r\n", None),
            (b"", None),
        ] {
            assert_eq!(short_bulk_header(buf, 0), want, "{:?}", String::from_utf8_lossy(buf));
        }
    }

    proptest! {
        #[test]
        fn the_short_path_agrees_with_the_general_one(
            head in prop::collection::vec(prop::sample::select(b"$0123456789\r\n-x".to_vec()), 0..24),
            at in 0usize..3,
        ) {
            let mut buf = vec![b'z'; at];
            buf.extend_from_slice(&head);
            if let Some(short) = short_bulk_header(&buf, at) {
                let (len, start) = general(&buf[at..]).expect("the general path reads it too");
                prop_assert_eq!(short, (len, start + at));
            }
        }
    }
}
