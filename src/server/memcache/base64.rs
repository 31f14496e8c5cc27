//! Base64 (standard alphabet, `=` padding) decoding for meta commands'
//! binary keys (the `b` flag). Keys are echoed as sent, so no encoder.

/// The 6-bit value of a base64 digit.
fn digit(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes `input`, which must be whole groups of four characters with
/// padding only at the end; `None` if it is not valid base64.
pub(crate) fn decode(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() || !input.len().is_multiple_of(4) {
        return None;
    }
    let groups = input.len() / 4;
    let mut out = Vec::with_capacity(groups * 3);
    for (i, group) in input.chunks_exact(4).enumerate() {
        let pad = group.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != groups) {
            return None;
        }
        let mut n = 0u32;
        for &b in group.get(..4 - pad)? {
            n = (n << 6) | digit(b)?;
        }
        n <<= 6 * pad;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(bytes.get(1..4 - pad)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes() {
        assert_eq!(decode(b"YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(decode(b"YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(decode(b"YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(decode(b"AP8A").as_deref(), Some(&[0, 255, 0][..]));
        assert_eq!(decode(b"+/+/").as_deref(), Some(&[0xfb, 0xff, 0xbf][..]));
        assert_eq!(decode(b"bTI="), Some(b"m2".to_vec()));
        for bad in [&b""[..], b"YWJ", b"Y===", b"YQ==YWJj", b"YW*j", b"===="] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
