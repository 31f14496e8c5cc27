//! Framing and the small parsers the commands share: lines split into
//! tokens, data blocks, keys and memcached's number rules. Nothing here
//! allocates from a length a peer declared.

use smallvec::SmallVec;

/// memcached's longest key, in bytes.
pub const MAX_KEY_LEN: usize = 250;
/// The longest unterminated line kept while waiting for its newline (as
/// memcached: a longer one gets an error and the connection is closed).
pub const MAX_LINE_LEN: usize = 2048;
/// The longest unterminated `get`/`gets`/`gat`/`gats` line (many keys).
pub const MAX_GET_LINE_LEN: usize = 256 * 1024;
/// The longest opaque token of a meta command (memcached's limit).
pub const MAX_OPAQUE_LEN: usize = 31;

/// A command line split on spaces: up to 24 on the stack (memcached's
/// `MAX_TOKENS`), so a `get` of up to 23 keys does not allocate.
pub(crate) type Tokens<'a> = SmallVec<[&'a [u8]; 24]>;

/// The next line of `input`: its bytes (without `\r\n` or `\n`) and the
/// bytes it takes with its terminator; `None` if no newline arrived yet.
pub(crate) fn next_line(input: &[u8]) -> Option<(&[u8], usize)> {
    let end = memchr::memchr(b'\n', input)?;
    let line = input.get(..end)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, end + 1))
}

/// The limit on an unterminated line that starts like `input`.
pub(crate) fn line_limit(input: &[u8]) -> usize {
    let retrieval = [&b"get "[..], b"gets ", b"gat ", b"gats "].iter().any(|p| input.starts_with(p));
    if retrieval { MAX_GET_LINE_LEN } else { MAX_LINE_LEN }
}

/// Splits a line on spaces (runs of spaces count as one, as memcached's
/// tokenizer).
pub(crate) fn tokenize(line: &[u8]) -> Tokens<'_> {
    let mut tokens = Tokens::new();
    let mut start = 0;
    for space in memchr::memchr_iter(b' ', line).chain(std::iter::once(line.len())) {
        if let Some(t) = line.get(start..space).filter(|t| !t.is_empty()) {
            tokens.push(t);
        }
        start = space + 1;
    }
    tokens
}

/// What the bytes after a command line hold of its data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block<'a> {
    /// Not all of it yet.
    Incomplete,
    /// The block, followed by `\r\n` as it must be.
    Data(&'a [u8]),
    /// `len + 2` bytes arrived but the last two are not `\r\n`.
    BadChunk,
}

/// The data block of `len` bytes at the start of `rest`; it takes
/// `len + 2` bytes of input whatever its outcome.
pub(crate) fn data_block(rest: &[u8], len: usize) -> Block<'_> {
    let Some(total) = len.checked_add(2) else { return Block::BadChunk };
    match (rest.get(..len), rest.get(len..total)) {
        (Some(data), Some(b"\r\n")) => Block::Data(data),
        (Some(_), Some(_)) => Block::BadChunk,
        _ => Block::Incomplete,
    }
}

/// Whether `key`, a token of a request line, is a key memcached accepts:
/// 1 to 250 bytes. As in memcached's text protocol, any byte but the
/// separators goes: spaces split tokens and lines end at a newline, so a
/// token holds neither and only a stray CR is refused here (clients such
/// as memaslap put control bytes in their keys).
pub(crate) fn valid_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && memchr::memchr(b'\r', key).is_none()
}

/// An unsigned decimal number: an optional `+`, then digits, no overflow
/// (memcached's `safe_strtoull` on one token; a minus sign is refused).
pub(crate) fn parse_u64(token: &[u8]) -> Option<u64> {
    let digits = token.strip_prefix(b"+").unwrap_or(token);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// A signed decimal number: an optional sign, then digits, no overflow.
pub(crate) fn parse_i64(token: &[u8]) -> Option<i64> {
    match token.split_first() {
        Some((b'-', rest)) if !rest.starts_with(b"+") => {
            let n = parse_u64(rest)?;
            0i64.checked_sub_unsigned(n)
        }
        _ => i64::try_from(parse_u64(token)?).ok(),
    }
}

/// Client flags: a 32-bit unsigned number.
pub(crate) fn parse_flags(token: &[u8]) -> Option<u32> {
    u32::try_from(parse_u64(token)?).ok()
}

/// A data block length: 0 to `i32::MAX` (memcached reads an `int`).
pub(crate) fn parse_len(token: &[u8]) -> Option<usize> {
    let n = parse_i64(token)?;
    if (0..=i64::from(i32::MAX)).contains(&n) { usize::try_from(n).ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_tokens() {
        assert_eq!(next_line(b"get a\r\nrest"), Some((&b"get a"[..], 7)));
        assert_eq!(next_line(b"get a\nrest"), Some((&b"get a"[..], 6)));
        assert_eq!(next_line(b"get a"), None);
        assert_eq!(next_line(b"\r\n"), Some((&b""[..], 2)));
        assert_eq!(tokenize(b"  get  a b "), Tokens::from_slice(&[b"get", b"a", b"b"]));
        assert!(tokenize(b"").is_empty());
        assert_eq!(line_limit(b"get aaaa"), MAX_GET_LINE_LEN);
        assert_eq!(line_limit(b"set aaaa"), MAX_LINE_LEN);
    }

    #[test]
    fn blocks() {
        assert_eq!(data_block(b"abc\r\nx", 3), Block::Data(b"abc"));
        assert_eq!(data_block(b"abc\r", 3), Block::Incomplete);
        assert_eq!(data_block(b"abcd\n", 3), Block::BadChunk);
        assert_eq!(data_block(b"\r\n", 0), Block::Data(b""));
        assert_eq!(data_block(b"", usize::MAX), Block::BadChunk);
    }

    #[test]
    fn keys() {
        assert!(valid_key(b"a"));
        assert!(valid_key(&[b'k'; 250]));
        assert!(!valid_key(&[b'k'; 251]));
        assert!(!valid_key(b""));
        assert!(valid_key(b"a\x01b") && valid_key(b"\x10\x10key"), "control bytes, as memcached");
        assert!(!valid_key(b"a\rb"));
        // What a line's tokens can hold: no space, no newline.
        for input in [&b"get a\rb c\r\n"[..], b"get a  b\r\n", b"get \x00k\x7f\n"] {
            let (line, _) = next_line(input).unwrap();
            let keys = &tokenize(line)[1..];
            assert!(keys.iter().all(|k| !k.contains(&b' ') && !k.contains(&b'\n')));
            assert_eq!(keys.iter().all(|k| valid_key(k)), !line.contains(&b'\r'), "{input:?}");
        }
        assert!(valid_key("clé".as_bytes()));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"+12"), Some(12));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"+"), None);
        assert_eq!(parse_u64(b"1x"), None);
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"-9223372036854775809"), None);
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-+1"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_flags(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_flags(b"4294967296"), None);
        assert_eq!(parse_len(b"01"), Some(1));
        assert_eq!(parse_len(b"-1"), None);
        assert_eq!(parse_len(b"2147483648"), None);
    }
}
