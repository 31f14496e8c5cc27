//! Encryption at rest (feature `encryption`): envelope encryption of
//! snapshot and journal files with AES-256-GCM or ChaCha20-Poly1305.
//!
//! Every file gets a fresh random 256-bit *data key*. A [`KeyProvider`]
//! (a cloud KMS, or the [`LocalKeyFile`] shipped here) *wraps* that data key
//! under one of its *master keys*, and the file's header stores the wrapped
//! key in a small versioned envelope: the cipher, the master key's id and the
//! wrapped bytes. Reading a file asks the provider to unwrap the data key
//! with the master key the envelope names, so master keys can be rotated:
//! new files use the provider's current key, and older files still load for
//! as long as the provider knows the key they were written under.
//!
//! Each frame is sealed with the file's data key. Its nonce is the frame's
//! index in the file (unique, as each file has a key of its own), and its
//! associated data binds that index and the header's identity (kind,
//! format version, content, creation time and journal position), so a frame
//! can be neither reordered within its file nor moved to another file, and
//! the header's identity cannot be altered without every frame failing to
//! authenticate. Damage or tampering is reported as
//! [`PersistError::Authentication`]
//! with the frame's offset (or a checksum error, when the frame's CRC no
//! longer matches either).
//!
//! Since the nonce is the frame index, a data key must never seal two
//! frames with the same index: a file is written once, from frame 0, under
//! the key drawn for it. (Code that someday appends to an existing
//! encrypted file must continue its frame count, never restart it.)
//!
//! The header's flags (compressed, encrypted) are authenticated too. What
//! is *not* is the number of frames: a snapshot's footer counts them, and a
//! journal's last entry may be torn by a crash anyway.
//!
//! ```
//! use embercache::persist::SnapshotOptions;
//! use embercache::persist::crypt::{Cipher, Encryption, LocalKeyFile};
//! use std::sync::Arc;
//!
//! # fn main() -> embercache::persist::PersistResult<()> {
//! // In production: LocalKeyFile::open("/etc/embercache/keys")? (mode 0600).
//! let keys = LocalKeyFile::from_keys(vec![("2024-01", [7u8; 32]), ("2024-06", [9u8; 32])])?;
//! let opts = SnapshotOptions::new()
//!     .compress(true)
//!     .encryption(Encryption::new(Arc::new(keys)).cipher(Cipher::ChaCha20Poly1305));
//! # let _ = opts;
//! # Ok(())
//! # }
//! ```

mod envelope;
mod local;
#[cfg(test)]
mod tests;

pub use local::LocalKeyFile;

use super::error::{PersistError, PersistResult};
use super::format::{FrameCipher, Header};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInPlace, KeyInit, Nonce, Tag};
use chacha20poly1305::ChaCha20Poly1305;
use envelope::Envelope;
use std::fmt::Debug;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Bytes of a data key or master key (256 bits).
pub const KEY_LEN: usize = 32;
/// Bytes of an AEAD authentication tag, appended to every sealed frame.
const TAG_LEN: usize = 16;
/// Domain separation for the frames' associated data.
const FRAME_AAD_DOMAIN: &[u8; 16] = b"embercache/frame";

/// The AEAD that seals a file's frames. Both use 256-bit keys, 96-bit
/// nonces and 128-bit tags; the choice is recorded in each file, so files of
/// either kind can be read whatever the reader's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cipher {
    /// AES-256 in Galois/Counter Mode: the fastest where the CPU has AES
    /// instructions (most x86-64 and ARMv8 servers).
    #[default]
    Aes256Gcm,
    /// ChaCha20-Poly1305: constant-time in software, the better choice on
    /// CPUs without AES instructions.
    ChaCha20Poly1305,
}

impl Cipher {
    /// The cipher's id in the envelope.
    fn id(self) -> u8 {
        match self {
            Cipher::Aes256Gcm => 1,
            Cipher::ChaCha20Poly1305 => 2,
        }
    }

    fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Cipher::Aes256Gcm),
            2 => Some(Cipher::ChaCha20Poly1305),
            _ => None,
        }
    }
}

/// A source of master keys that wraps and unwraps data keys, in the style
/// of a cloud key management service (the master keys need never leave it).
///
/// [`LocalKeyFile`] implements it with keys from a local file; a KMS client
/// implements it with its encrypt and decrypt calls. Implementations must be
/// usable from several threads at once.
pub trait KeyProvider: Send + Sync + Debug {
    /// The id of the master key new files are wrapped under.
    fn current_key_id(&self) -> String;

    /// Wraps (encrypts) `data_key` under the current master key, returning
    /// that key's id and the wrapped bytes to store in the file. A failure
    /// of the provider itself is best reported as
    /// [`PersistError::Crypto`].
    fn wrap(&self, data_key: &[u8; KEY_LEN]) -> PersistResult<(String, Vec<u8>)>;

    /// Unwraps a data key wrapped under master key `key_id`. Returns
    /// [`PersistError::KeyUnavailable`]
    /// when that master key is not known, and
    /// [`PersistError::Authentication`]
    /// (offset 0) when `wrapped` does not unwrap under it (a wrong key, or
    /// damage).
    fn unwrap(&self, key_id: &str, wrapped: &[u8]) -> PersistResult<[u8; KEY_LEN]>;
}

/// Encryption settings for [`SnapshotOptions::encryption`](super::SnapshotOptions::encryption):
/// a key provider and the cipher new files are sealed with.
///
/// Reading uses whichever cipher and master key each file names, so the
/// same settings read files written before a cipher change or a key
/// rotation.
#[derive(Debug, Clone)]
pub struct Encryption {
    provider: Arc<dyn KeyProvider>,
    cipher: Cipher,
}

impl Encryption {
    /// Encryption with master keys from `provider` and the default cipher
    /// (AES-256-GCM).
    pub fn new(provider: Arc<dyn KeyProvider>) -> Self {
        Encryption { provider, cipher: Cipher::default() }
    }

    /// Seals new files with `cipher`.
    pub fn cipher(mut self, cipher: Cipher) -> Self {
        self.cipher = cipher;
        self
    }

    /// The cipher new files are sealed with.
    pub fn current_cipher(&self) -> Cipher {
        self.cipher
    }

    /// The key provider.
    pub fn provider(&self) -> &Arc<dyn KeyProvider> {
        &self.provider
    }

    /// Starts a new file: draws a data key, has the provider wrap it, writes
    /// the envelope into `header.ext` and returns the frame cipher, which
    /// binds the header's fields, flags included: set them first.
    pub(crate) fn seal_file(&self, header: &mut Header) -> PersistResult<Box<dyn FrameCipher>> {
        let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::getrandom(&mut data_key[..])
            .map_err(|e| PersistError::Crypto(format!("no randomness for a data key: {e}")))?;
        let (key_id, wrapped) = self.provider.wrap(&data_key)?;
        let envelope = Envelope { cipher: self.cipher.id(), key_id, wrapped };
        header.ext = envelope.encode()?;
        Ok(Box::new(FileCipher::new(self.cipher, &data_key, header)))
    }

    /// Opens an existing file: parses the envelope in `header.ext`, has the
    /// provider unwrap the data key and returns the frame cipher.
    pub(crate) fn open_file(&self, header: &Header) -> PersistResult<Box<dyn FrameCipher>> {
        let envelope = Envelope::decode(&header.ext)?;
        let cipher = Cipher::from_id(envelope.cipher).ok_or_else(|| {
            PersistError::Crypto(format!("the file's encryption envelope names an unknown cipher {}", envelope.cipher))
        })?;
        let data_key = Zeroizing::new(self.provider.unwrap(&envelope.key_id, &envelope.wrapped)?);
        Ok(Box::new(FileCipher::new(cipher, &data_key, header)))
    }
}

/// The AEAD of one file, keyed with its data key.
enum Aead {
    Aes(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// Seals and opens the frames of one file.
struct FileCipher {
    aead: Aead,
    /// Associated data up to the frame index, which `aad` appends.
    aad_prefix: Vec<u8>,
}

impl FileCipher {
    fn new(cipher: Cipher, data_key: &[u8; KEY_LEN], header: &Header) -> Self {
        let aead = match cipher {
            Cipher::Aes256Gcm => Aead::Aes(Box::new(Aes256Gcm::new(data_key.into()))),
            Cipher::ChaCha20Poly1305 => Aead::ChaCha(Box::new(ChaCha20Poly1305::new(data_key.into()))),
        };
        // The header's identity, from its fields (not the envelope, which is
        // bound already: another envelope yields another data key).
        let mut aad_prefix = Vec::with_capacity(FRAME_AAD_DOMAIN.len() + 36);
        aad_prefix.extend_from_slice(FRAME_AAD_DOMAIN);
        aad_prefix.extend_from_slice(header.kind.magic());
        aad_prefix.extend_from_slice(&header.version.to_le_bytes());
        aad_prefix.push(header.content as u8);
        aad_prefix.extend_from_slice(&header.created_unix_ms.to_le_bytes());
        aad_prefix.extend_from_slice(&header.position.to_le_bytes());
        aad_prefix.push(header.flags);
        aad_prefix.push(cipher.id());
        FileCipher { aead, aad_prefix }
    }

    /// The associated data of frame `index`.
    fn aad(&self, index: u64) -> Vec<u8> {
        let mut aad = Vec::with_capacity(self.aad_prefix.len() + 8);
        aad.extend_from_slice(&self.aad_prefix);
        aad.extend_from_slice(&index.to_le_bytes());
        aad
    }
}

/// The nonce of frame `index`: the index, little-endian, zero-padded to 96
/// bits. Unique within a file, and each file has its own data key.
fn frame_nonce(index: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&index.to_le_bytes());
    n
}

fn seal_in_place<A: AeadInPlace>(aead: &A, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<Vec<u8>> {
    aead.encrypt_in_place_detached(Nonce::<A>::from_slice(nonce), aad, buf).ok().map(|t| t.to_vec())
}

fn open_in_place<A: AeadInPlace>(aead: &A, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
    aead.decrypt_in_place_detached(Nonce::<A>::from_slice(nonce), aad, buf, Tag::<A>::from_slice(tag)).is_ok()
}

impl FrameCipher for FileCipher {
    fn seal(&self, index: u64, plain: &[u8], out: &mut Vec<u8>) -> PersistResult<()> {
        let start = out.len();
        out.extend_from_slice(plain);
        let (nonce, aad) = (frame_nonce(index), self.aad(index));
        let buf = &mut out[start..];
        let tag = match &self.aead {
            Aead::Aes(a) => seal_in_place(a.as_ref(), &nonce, &aad, buf),
            Aead::ChaCha(c) => seal_in_place(c.as_ref(), &nonce, &aad, buf),
        };
        match tag {
            Some(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            None => {
                out.truncate(start);
                Err(PersistError::Crypto(format!("a frame of {} bytes is too large to encrypt", plain.len())))
            }
        }
    }

    fn open(&self, index: u64, sealed: &[u8], offset: u64, out: &mut Vec<u8>) -> PersistResult<()> {
        let Some(body_len) = sealed.len().checked_sub(TAG_LEN) else {
            return Err(PersistError::Authentication { offset });
        };
        let (body, tag) = sealed.split_at(body_len);
        let start = out.len();
        out.extend_from_slice(body);
        let (nonce, aad) = (frame_nonce(index), self.aad(index));
        let buf = &mut out[start..];
        let ok = match &self.aead {
            Aead::Aes(a) => open_in_place(a.as_ref(), &nonce, &aad, buf, tag),
            Aead::ChaCha(c) => open_in_place(c.as_ref(), &nonce, &aad, buf, tag),
        };
        if ok {
            Ok(())
        } else {
            out.truncate(start);
            Err(PersistError::Authentication { offset })
        }
    }
}
