//! The envelope stored in an encrypted file's header extension:
//!
//! ```text
//! version:u8 (=1)  cipher:u8  key_id_len:u16 key_id[key_id_len] (UTF-8)
//! wrapped_len:u16 wrapped[wrapped_len]
//! ```
//!
//! Integers are little-endian; nothing may follow `wrapped`. Cipher ids:
//! 1 = AES-256-GCM, 2 = ChaCha20-Poly1305.

use crate::persist::error::{PersistError, PersistResult};

/// The envelope version this release writes and reads.
const ENVELOPE_VERSION: u8 = 1;
/// Longest master key id (cloud KMS key names can be long).
pub(super) const MAX_KEY_ID: usize = 2048;
/// Longest wrapped data key (a KMS ciphertext blob carries metadata).
const MAX_WRAPPED: usize = 8192;

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Envelope {
    /// The cipher id (unchecked here: the caller names an unknown one).
    pub(super) cipher: u8,
    /// The id of the master key that wrapped the data key.
    pub(super) key_id: String,
    /// The wrapped data key.
    pub(super) wrapped: Vec<u8>,
}

fn malformed(what: &str) -> PersistError {
    PersistError::Crypto(format!("malformed encryption envelope in the file header: {what}"))
}

impl Envelope {
    /// The envelope's bytes; refuses ids and wrapped keys too long to store.
    pub(super) fn encode(&self) -> PersistResult<Vec<u8>> {
        if self.key_id.is_empty() || self.key_id.len() > MAX_KEY_ID {
            return Err(PersistError::Crypto(format!(
                "the key provider returned a master key id of {} bytes (1 to {MAX_KEY_ID} allowed)",
                self.key_id.len()
            )));
        }
        if self.wrapped.is_empty() || self.wrapped.len() > MAX_WRAPPED {
            return Err(PersistError::Crypto(format!(
                "the key provider returned a wrapped key of {} bytes (1 to {MAX_WRAPPED} allowed)",
                self.wrapped.len()
            )));
        }
        let mut b = Vec::with_capacity(6 + self.key_id.len() + self.wrapped.len());
        b.push(ENVELOPE_VERSION);
        b.push(self.cipher);
        // Both lengths are bounded above, far below u16::MAX.
        b.extend_from_slice(&(self.key_id.len() as u16).to_le_bytes());
        b.extend_from_slice(self.key_id.as_bytes());
        b.extend_from_slice(&(self.wrapped.len() as u16).to_le_bytes());
        b.extend_from_slice(&self.wrapped);
        Ok(b)
    }

    /// Parses an envelope; any malformation is a `Crypto` error naming it.
    pub(super) fn decode(bytes: &[u8]) -> PersistResult<Envelope> {
        let mut r = bytes;
        let version = take_u8(&mut r).ok_or_else(|| malformed("it is empty"))?;
        if version != ENVELOPE_VERSION {
            return Err(malformed(&format!(
                "unknown envelope version {version} (this release reads {ENVELOPE_VERSION})"
            )));
        }
        let cipher = take_u8(&mut r).ok_or_else(|| malformed("no cipher id"))?;
        let key_id = take_prefixed(&mut r).ok_or_else(|| malformed("the master key id is cut short"))?;
        if key_id.is_empty() || key_id.len() > MAX_KEY_ID {
            return Err(malformed("impossible master key id length"));
        }
        let key_id = std::str::from_utf8(key_id).map_err(|_| malformed("the master key id is not UTF-8"))?;
        let wrapped = take_prefixed(&mut r).ok_or_else(|| malformed("the wrapped data key is cut short"))?;
        if wrapped.is_empty() || wrapped.len() > MAX_WRAPPED {
            return Err(malformed("impossible wrapped key length"));
        }
        if !r.is_empty() {
            return Err(malformed(&format!("{} unexpected trailing bytes", r.len())));
        }
        Ok(Envelope { cipher, key_id: key_id.to_owned(), wrapped: wrapped.to_vec() })
    }
}

fn take_u8(r: &mut &[u8]) -> Option<u8> {
    let (&b, rest) = r.split_first()?;
    *r = rest;
    Some(b)
}

/// A `u16`-length-prefixed byte string.
fn take_prefixed<'a>(r: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = r.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_le_bytes(*len));
    if rest.len() < len {
        return None;
    }
    let (s, rest) = rest.split_at(len);
    *r = rest;
    Some(s)
}
