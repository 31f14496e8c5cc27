//! The request parser: RESP multibulk (`*N\r\n$len\r\n…`) and inline
//! commands, incremental over a byte buffer that the caller keeps filling.
//!
//! The parser keeps the progress of a partly received multibulk command, so
//! a command of a million small arguments arriving in many reads is scanned
//! once, not once per read. Nothing is allocated from a declared length: a
//! bulk is copied out only once all its bytes are in the buffer, and the
//! argument vector grows with the arguments actually received.

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

/// A multibulk command received in part.
#[derive(Debug, Default)]
struct Partial {
    /// Arguments still expected.
    remaining: usize,
    /// Arguments received so far.
    args: Vec<Vec<u8>>,
    /// Where the next argument's `$` is expected.
    pos: usize,
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
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: ParseLimits) -> Self {
        RequestParser { limits, partial: None }
    }

    /// The next complete request at the front of `buf`: `Ok(None)` when
    /// more bytes are needed, an error when the input is malformed (after
    /// which the connection should be closed; the parser is reset).
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
        let result = match self.partial {
            Some(_) => self.multibulk_args(buf),
            None => match buf.first() {
                None => Ok(None),
                Some(b'*') => self.multibulk_header(buf),
                Some(_) => self.inline(buf),
            },
        };
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    /// The position of the first `\r` at or after `from`, once the byte
    /// after it has arrived too; `Ok(None)` if more input is needed.
    fn header_end(&self, buf: &[u8], from: usize, too_big: ProtocolError) -> Result<Option<usize>, ProtocolError> {
        let rest = buf.get(from..).unwrap_or_default();
        match rest.iter().position(|&b| b == b'\r') {
            Some(i) if from + i + 1 < buf.len() => Ok(Some(from + i)),
            Some(_) => Ok(None),
            None if rest.len() > self.limits.max_inline_len => Err(too_big),
            None => Ok(None),
        }
    }

    fn multibulk_header(&mut self, buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
        let Some(cr) = self.header_end(buf, 0, ProtocolError::TooBigMultibulkCount)? else {
            return Ok(None);
        };
        let count = parse_i64(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > i64::try_from(self.limits.max_multibulk_len).unwrap_or(i64::MAX) {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        let pos = cr + 2;
        let Ok(remaining @ 1..) = usize::try_from(count) else {
            // `*0` and `*-1`: nothing to run.
            return Ok(Some(Request { args: Vec::new(), consumed: pos }));
        };
        self.partial = Some(Partial { remaining, args: Vec::with_capacity(remaining.min(64)), pos });
        self.multibulk_args(buf)
    }

    fn multibulk_args(&mut self, buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
        let max_bulk = self.limits.max_bulk_len;
        loop {
            let Some(partial) = self.partial.as_ref() else { return Ok(None) };
            if partial.remaining == 0 {
                let done = self.partial.take().unwrap_or_default();
                return Ok(Some(Request { args: done.args, consumed: done.pos }));
            }
            let pos = partial.pos;
            let Some(cr) = self.header_end(buf, pos, ProtocolError::TooBigBulkCount)? else {
                return Ok(None);
            };
            if buf[pos] != b'$' {
                return Err(ProtocolError::ExpectedDollar(buf[pos]));
            }
            let len = parse_i64(&buf[pos + 1..cr])
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= max_bulk)
                .ok_or(ProtocolError::InvalidBulkLength)?;
            let start = cr + 2;
            // The bulk and its trailing CRLF (not checked, as in Redis).
            let Some(end) = start.checked_add(len).filter(|&e| e.saturating_add(2) <= buf.len()) else {
                return Ok(None);
            };
            let Some(partial) = self.partial.as_mut() else { return Ok(None) };
            partial.args.push(buf[start..end].to_vec());
            partial.remaining -= 1;
            partial.pos = end + 2;
        }
    }

    fn inline(&mut self, buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
        let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
            return if buf.len() > self.limits.max_inline_len { Err(ProtocolError::TooBigInline) } else { Ok(None) };
        };
        if nl > self.limits.max_inline_len {
            return Err(ProtocolError::TooBigInline);
        }
        let line = &buf[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let args = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
        Ok(Some(Request { args, consumed: nl + 1 }))
    }
}

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
