//! [`LocalKeyFile`]: master keys kept in a local file.

use super::{KEY_LEN, KeyProvider};
use crate::persist::error::{PersistError, PersistResult};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInPlace, KeyInit, Nonce, Tag};
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// Longest master key id in a key file.
const MAX_ID: usize = 128;
/// Version byte of a wrapped key.
const WRAP_VERSION: u8 = 1;
/// A wrapped key: version, nonce, encrypted data key, tag.
const WRAPPED_LEN: usize = 1 + 12 + KEY_LEN + 16;
/// Domain separation for the wrapping's associated data (followed by the
/// master key id, so a wrapped key only unwraps under the id it names).
const WRAP_AAD_DOMAIN: &[u8] = b"embercache/keywrap/v1";

/// A [`KeyProvider`] holding master keys in memory, read from a key file.
///
/// # Key file format
///
/// A UTF-8 text file, one master key per line: its id, whitespace, and the
/// 256-bit key as 64 hexadecimal digits. Blank lines and lines starting
/// with `#` are ignored. Ids are 1 to 128 printable ASCII characters without
/// spaces, not starting with `#`, each at most once. **The last key is the
/// current one**: new files are wrapped under it.
///
/// ```text
/// # embercache master keys: the last one is current
/// 2024-01 3f1c...64 hex digits...
/// 2024-06 a9e0...64 hex digits...
/// ```
///
/// To rotate, append a new key ([`append_new_key`](Self::append_new_key)
/// or [`generate_entry`](Self::generate_entry)) and reload the provider:
/// new files use the new key, and files written under older keys keep
/// loading for as long as their key stays in the file. Remove an old key
/// only once no file still needs it (rewrite snapshots first).
///
/// # Permissions
///
/// On Unix, [`open`](Self::open) refuses a key file that its group or other
/// users can access in any way (`chmod 600` it). Elsewhere, protect the
/// file with the platform's own means. Keys are wiped from memory when the
/// provider is dropped; `Debug` shows ids only.
///
/// Wrapping encrypts the data key with AES-256-GCM under the master key,
/// with a random nonce and the master key's id as associated data.
pub struct LocalKeyFile {
    /// Never empty; the last is current.
    keys: Vec<(String, Zeroizing<[u8; KEY_LEN]>)>,
}

impl fmt::Debug for LocalKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyFile")
            .field("key_ids", &self.keys.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>())
            .field("current", &self.current_key_id())
            .finish()
    }
}

fn key_file_error(what: impl fmt::Display) -> PersistError {
    PersistError::Crypto(format!("key file: {what}"))
}

fn check_id(id: &str) -> PersistResult<()> {
    let ok = !id.is_empty() && id.len() <= MAX_ID && !id.starts_with('#') && id.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(key_file_error(format!(
            "invalid master key id {id:?}: 1 to {MAX_ID} printable ASCII characters without spaces, not starting with '#'"
        )))
    }
}

fn decode_hex_key(hex: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let digits = hex.as_bytes();
    if digits.len() != 2 * KEY_LEN {
        return None;
    }
    let nibble = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    for (k, pair) in key.iter_mut().zip(digits.chunks_exact(2)) {
        if let [hi, lo] = *pair {
            *k = (nibble(hi)? << 4) | nibble(lo)?;
        }
    }
    Some(key)
}

/// Reads a key file, refusing (on Unix) one accessible to group or others.
fn read_key_file(path: &Path) -> PersistResult<Zeroizing<String>> {
    let named = |e: std::io::Error| {
        PersistError::Io(std::io::Error::new(e.kind(), format!("key file {}: {e}", path.display())))
    };
    let file = fs::File::open(path).map_err(named)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(named)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(key_file_error(format!(
                "{} is accessible by group or others (mode {:o}); restrict it with `chmod 600`",
                path.display(),
                mode & 0o777
            )));
        }
    }
    let mut text = Zeroizing::new(String::new());
    std::io::Read::read_to_string(&mut &file, &mut text).map_err(named)?;
    Ok(text)
}

impl LocalKeyFile {
    /// Reads the key file at `path` (format above).
    pub fn open(path: impl AsRef<Path>) -> PersistResult<Self> {
        let path = path.as_ref();
        let text = read_key_file(path)?;
        Self::parse(&text).map_err(|e| match e {
            PersistError::Crypto(m) => PersistError::Crypto(format!("{m} (in {})", path.display())),
            e => e,
        })
    }

    /// Parses the contents of a key file (format above). Errors name the
    /// line, never the key material.
    pub fn parse(text: &str) -> PersistResult<Self> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(id), Some(hex), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(key_file_error(format!("line {}: expected `<id> <64 hex digits>`", n + 1)));
            };
            let key = decode_hex_key(hex)
                .ok_or_else(|| key_file_error(format!("line {}: the key must be 64 hexadecimal digits", n + 1)))?;
            keys.push((id.to_owned(), key));
        }
        Self::checked(keys)
    }

    /// A provider with the given `(id, key)` pairs, the last being current
    /// (for tests, or keys obtained elsewhere).
    pub fn from_keys<I: Into<String>>(keys: impl IntoIterator<Item = (I, [u8; KEY_LEN])>) -> PersistResult<Self> {
        Self::checked(keys.into_iter().map(|(id, key)| (id.into(), Zeroizing::new(key))).collect())
    }

    fn checked(keys: Vec<(String, Zeroizing<[u8; KEY_LEN]>)>) -> PersistResult<Self> {
        if keys.is_empty() {
            return Err(key_file_error("no master key"));
        }
        for (i, (id, _)) in keys.iter().enumerate() {
            check_id(id)?;
            if keys[..i].iter().any(|(other, _)| other == id) {
                return Err(key_file_error(format!("master key id {id:?} appears twice")));
            }
        }
        Ok(LocalKeyFile { keys })
    }

    /// A new key file line (`<id> <64 hex digits>\n`) holding a fresh random
    /// key; append it to the key file to make it the current key.
    pub fn generate_entry(id: &str) -> PersistResult<String> {
        check_id(id)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::getrandom(&mut key[..])
            .map_err(|e| PersistError::Crypto(format!("no randomness for a master key: {e}")))?;
        let mut line = String::with_capacity(id.len() + 2 + 2 * KEY_LEN);
        line.push_str(id);
        line.push(' ');
        for b in key.iter() {
            line.push_str(&format!("{b:02x}"));
        }
        line.push('\n');
        Ok(line)
    }

    /// Appends a fresh random key named `id` to the key file at `path`
    /// (created, mode 0600 on Unix, if missing), making it the current key.
    /// Refuses an id the file already has. Providers already loaded keep
    /// their keys: [`open`](Self::open) the file again to rotate.
    pub fn append_new_key(path: impl AsRef<Path>, id: &str) -> PersistResult<()> {
        let path = path.as_ref();
        let mut prefix = "";
        if path.exists() {
            let text = read_key_file(path)?;
            if !text.trim().is_empty() {
                let existing = Self::parse(&text)?;
                if existing.keys.iter().any(|(k, _)| k == id) {
                    return Err(key_file_error(format!("master key id {id:?} is already in {}", path.display())));
                }
            }
            if !text.is_empty() && !text.ends_with('\n') {
                prefix = "\n";
            }
        }
        let entry = Zeroizing::new(format!("{prefix}{}", Self::generate_entry(id)?));
        let mut options = fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        file.write_all(entry.as_bytes())?;
        file.sync_all()?;
        Ok(())
    }

    /// The ids of the master keys held, oldest first (the last is current).
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    fn current(&self) -> Option<&(String, Zeroizing<[u8; KEY_LEN]>)> {
        self.keys.last()
    }

    fn wrap_aad(id: &str) -> Vec<u8> {
        let mut aad = WRAP_AAD_DOMAIN.to_vec();
        aad.extend_from_slice(id.as_bytes());
        aad
    }
}

impl KeyProvider for LocalKeyFile {
    fn current_key_id(&self) -> String {
        self.current().map(|(id, _)| id.clone()).unwrap_or_default()
    }

    fn wrap(&self, data_key: &[u8; KEY_LEN]) -> PersistResult<(String, Vec<u8>)> {
        let (id, master) = self.current().ok_or_else(|| key_file_error("no master key"))?;
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| PersistError::Crypto(format!("no randomness for a nonce: {e}")))?;
        let aead = Aes256Gcm::new((&**master).into());
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(WRAP_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(data_key);
        let tag = aead
            .encrypt_in_place_detached(Nonce::<Aes256Gcm>::from_slice(&nonce), &Self::wrap_aad(id), &mut out[13..])
            .map_err(|_| PersistError::Crypto("wrapping the data key failed".into()))?;
        out.extend_from_slice(&tag);
        Ok((id.clone(), out))
    }

    fn unwrap(&self, key_id: &str, wrapped: &[u8]) -> PersistResult<[u8; KEY_LEN]> {
        let Some((_, master)) = self.keys.iter().find(|(id, _)| id == key_id) else {
            return Err(PersistError::KeyUnavailable(key_id.to_owned()));
        };
        let fail = PersistError::Authentication { offset: 0 };
        let Some((&WRAP_VERSION, rest)) = wrapped.split_first() else {
            return Err(fail);
        };
        let Some((nonce, rest)) = rest.split_first_chunk::<12>() else {
            return Err(fail);
        };
        let Some((body, tag)) = rest.split_first_chunk::<KEY_LEN>() else {
            return Err(fail);
        };
        if tag.len() != 16 {
            return Err(fail);
        }
        let mut key = Zeroizing::new(*body);
        let aead = Aes256Gcm::new((&**master).into());
        aead.decrypt_in_place_detached(
            Nonce::<Aes256Gcm>::from_slice(nonce),
            &Self::wrap_aad(key_id),
            &mut key[..],
            Tag::<Aes256Gcm>::from_slice(tag),
        )
        .map_err(|_| fail)?;
        Ok(*key)
    }
}
