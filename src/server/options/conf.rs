//! redis.conf's lexical rules: lines, `#` comments, and the argument
//! splitting of Redis's `sdssplitargs` (double quotes with `\n \r \t \b \a
//! \\ \" \xHH` escapes, single quotes with `\'`, a closing quote that must
//! end the argument).

/// Why a line did not split into arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unbalanced;

/// Splits one line into arguments as Redis does (see the module docs):
/// the same splitting as inline commands ([`crate::server::resp`]).
pub(crate) fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, Unbalanced> {
    // A NUL byte ends the line, as it ends Redis's C string.
    let line = line.split(|&c| c == 0).next().unwrap_or_default();
    crate::server::resp::split_inline(line).ok_or(Unbalanced)
}

/// One directive of a config text: its line number (from 1), the line as
/// written (trimmed) and its arguments; comment and blank lines are left out.
pub(crate) struct Line<'a> {
    pub(crate) number: usize,
    pub(crate) text: &'a str,
    pub(crate) args: Result<Vec<Vec<u8>>, Unbalanced>,
}

/// The directives of `text`, line by line.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    text.split('\n').enumerate().filter_map(|(i, raw)| {
        let text = raw.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if text.is_empty() || text.starts_with('#') {
            return None;
        }
        Some(Line { number: i + 1, text, args: split_args(text.as_bytes()) })
    })
}

/// Quotes `arg` so that [`split_args`] reads it back unchanged (Redis's
/// `sdscatrepr`): bare when it has no space, quote or control byte.
pub(crate) fn quote(arg: &[u8]) -> String {
    let plain = !arg.is_empty() && arg.iter().all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if plain {
        return String::from_utf8_lossy(arg).into_owned();
    }
    let mut out = String::from("\"");
    for &c in arg {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_args(s.as_bytes()).unwrap().into_iter().map(|a| String::from_utf8(a).unwrap()).collect()
    }

    #[test]
    fn plain_and_quoted_arguments() {
        assert_eq!(split("  save 900   1 "), ["save", "900", "1"]);
        assert_eq!(split(r#"requirepass "a b\"c\\d\n""#), ["requirepass", "a b\"c\\d\n"]);
        assert_eq!(split(r#"x "\x41\x4a" '\'q\'' "" ''"#), ["x", "AJ", "'q'", "", ""]);
        assert_eq!(split(r#"x a"b c""#), ["x", "ab c"]);
        assert_eq!(split("x '\\n'"), ["x", "\\n"]);
        assert_eq!(split_args(b"x \"\\xzz\"").unwrap()[1], b"xzz");
    }

    #[test]
    fn a_nul_byte_ends_the_line() {
        // Found by the server_options fuzz target: this looped forever.
        assert_eq!(split("port\x006380 x"), ["port"]);
        assert_eq!(split_args(b"a \"b\x00c\""), Err(Unbalanced));
    }

    #[test]
    fn unbalanced_quotes() {
        for bad in [r#"x "abc"#, "x 'abc", r#"x "a"b"#, "x 'a'b", r#"x "a\"#] {
            assert_eq!(split_args(bad.as_bytes()), Err(Unbalanced), "{bad}");
        }
    }

    #[test]
    fn lines_skip_comments_and_blanks() {
        let text = "# c\n\n  port 7000\r\n\t# indented comment\nbind a b\n";
        let got: Vec<(usize, &str)> = lines(text).map(|l| (l.number, l.text)).collect();
        assert_eq!(got, [(3, "port 7000"), (5, "bind a b")]);
    }

    #[test]
    fn quote_reads_back() {
        for arg in [&b"plain"[..], b"", b"a b", b"q\"uo'te\\", b"\x00\x7f\xff\n\t"] {
            let line = format!("x {}", quote(arg));
            assert_eq!(split_args(line.as_bytes()).unwrap(), [b"x".to_vec(), arg.to_vec()], "{line}");
        }
    }
}
