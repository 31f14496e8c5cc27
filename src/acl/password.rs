//! Passwords as Redis keeps them: the SHA-256 of the password, shown as 64
//! lowercase hex digits (`#<hex>` in rules and ACL files), compared in
//! constant time.

use sha2::{Digest, Sha256};

/// A password's SHA-256.
pub(crate) type Hash = [u8; 32];

/// The hash of `password`.
pub(crate) fn hash(password: &[u8]) -> Hash {
    Sha256::digest(password).into()
}

/// 64 lowercase hex digits, as `#<hash>` rules need them; `None` otherwise
/// (Redis refuses capitals too).
pub(crate) fn parse_hex(hex: &[u8]) -> Option<Hash> {
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// The hash as 64 lowercase hex digits.
pub(crate) fn to_hex(hash: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in hash {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Whether `a == b`, in time independent of where they differ (so a
/// timing attacker learns nothing about a stored hash).
pub(crate) fn ct_eq(a: &Hash, b: &Hash) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_redis() {
        // Redis shows `>p` as this hash (ACL LIST on a real server).
        assert_eq!(to_hex(&hash(b"p")), "148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940");
        let h = hash(b"secret");
        assert_eq!(parse_hex(to_hex(&h).as_bytes()), Some(h));
        assert_eq!(parse_hex(to_hex(&h).to_uppercase().as_bytes()), None);
        assert_eq!(parse_hex(b"abc"), None);
        assert_eq!(parse_hex(&[b'g'; 64]), None);
        assert!(ct_eq(&h, &hash(b"secret")));
        assert!(!ct_eq(&h, &hash(b"Secret")));
    }
}
