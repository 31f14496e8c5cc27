//! A look at the first command of a buffer without parsing it: the key
//! of a `GET`, which a pump warms before the round's commands run (see
//! `server::pump`). Only the exact form clients send is recognised
//! (`*2\r\n$3\r\nGET\r\n$<len>\r\n<key>\r\n`, any case); anything else is
//! `None`, which only means no warming.

/// The key of the `GET` at the start of `input`, if it starts with a
/// whole one.
pub(crate) fn get_key(input: &[u8]) -> Option<&[u8]> {
    let rest = input.strip_prefix(b"*2\r\n$3\r\n")?;
    let (name, rest) = rest.split_at_checked(3)?;
    if !name.eq_ignore_ascii_case(b"get") {
        return None;
    }
    let rest = rest.strip_prefix(b"\r\n$")?;
    let line = rest.iter().position(|&b| b == b'\r')?;
    // The bulk length as the parser reads it.
    let len = super::parse::parse_len(&rest[..line])?;
    let rest = rest[line..].strip_prefix(b"\r\n")?;
    let key = rest.get(..len)?;
    rest.get(len..)?.starts_with(b"\r\n").then_some(key)
}

#[cfg(test)]
mod tests {
    use super::get_key;
    use crate::server::resp::RequestParser;
    use proptest::prelude::*;

    #[test]
    fn names_the_key_of_a_whole_get() {
        assert_eq!(get_key(b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"), Some(&b"foo"[..]));
        assert_eq!(get_key(b"*2\r\n$3\r\nget\r\n$0\r\n\r\n*1\r\n"), Some(&b""[..]));
        assert_eq!(get_key(b"*2\r\n$3\r\nGET\r\n$3\r\nfo"), None);
        assert_eq!(get_key(b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r"), None);
        assert_eq!(get_key(b"*2\r\n$3\r\nSET\r\n$3\r\nfoo\r\n"), None);
        assert_eq!(get_key(b"*3\r\n$3\r\nGET\r\n$3\r\nfoo\r\n$1\r\nx\r\n"), None);
        assert_eq!(get_key(b"*2\r\n$3\r\nGET\r\n$-1\r\n"), None);
        assert_eq!(get_key(b"*2\r\n$3\r\nGET\r\n$99999999999999999999\r\n"), None);
        assert_eq!(get_key(b"GET foo\r\n"), None);
        // A length the parser refuses (a leading zero) names nothing.
        assert_eq!(get_key(b"*2\r\n$3\r\nGET\r\n$03\r\nfoo\r\n"), None);
        assert_eq!(get_key(b""), None);
    }

    proptest! {
        /// Whatever the bytes, a key named is the one the parser reads as
        /// `GET`'s argument.
        #[test]
        fn agrees_with_the_parser(
            key in proptest::collection::vec(any::<u8>(), 0..40),
            name in prop::sample::select(vec!["GET", "get", "gEt", "SET", "GETX"]),
            cut in 0usize..80,
            noise in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut input = format!("*2\r\n${}\r\n{name}\r\n${}\r\n", name.len(), key.len()).into_bytes();
            input.extend_from_slice(&key);
            input.extend_from_slice(b"\r\n");
            input.extend_from_slice(&noise);
            let input = &input[..cut.min(input.len())];
            let mut parser = RequestParser::default();
            let mut args = crate::server::resp::Args::new();
            let parsed = matches!(parser.next(input, &mut args), Ok(Some(_)));
            match get_key(input) {
                Some(k) => {
                    prop_assert!(parsed);
                    prop_assert!(args[0].eq_ignore_ascii_case(b"get"));
                    prop_assert_eq!(k, args[1]);
                }
                None => prop_assert!(!parsed || !args[0].eq_ignore_ascii_case(b"get")),
            }
            // Random bytes are never a panic.
            let _ = get_key(&noise);
        }
    }
}
