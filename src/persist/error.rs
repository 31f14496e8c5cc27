//! [`PersistError`]: everything that can go wrong saving or loading a
//! snapshot or a journal, each naming the problem and, for damage inside a
//! file, the byte offset where it was found.

use std::io;

/// An error of the persistence layer. Loading never panics on a damaged or
/// hostile file and never applies half of one silently: every way a file
/// can be wrong has its own variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// Reading or writing the file failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The file does not start with the expected magic bytes: not an
    /// embercache file of this kind.
    #[error("not an embercache {expected} file (magic bytes {found:02x?})")]
    BadMagic {
        /// What the file was opened as ("snapshot" or "journal").
        expected: &'static str,
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// The file was written by a newer release (or is not a version this
    /// release knows).
    #[error("unsupported format version {found} (this release reads versions 1 to {supported})")]
    UnsupportedVersion {
        /// The file's version.
        found: u16,
        /// The newest version this release reads.
        supported: u16,
    },
    /// The file's records use an encoding this release does not know.
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    /// The file holds another kind of content than the one being loaded
    /// (a `Cache` snapshot loaded into a `Db`, say).
    #[error("the file holds {found} records, not {expected}")]
    WrongContent {
        /// What was being loaded.
        expected: &'static str,
        /// What the file says it holds.
        found: &'static str,
    },
    /// The header's checksum does not match: the header is damaged.
    #[error("header checksum mismatch: the file header is damaged")]
    HeaderChecksum,
    /// A frame's checksum does not match its bytes.
    #[error("checksum mismatch in the frame at byte {offset}: the file is damaged")]
    FrameChecksum {
        /// Offset of the frame in the file.
        offset: u64,
    },
    /// The file ends in the middle of a header, a frame or before its footer.
    #[error("the file is truncated at byte {offset}")]
    Truncated {
        /// Where the data ran out.
        offset: u64,
    },
    /// A frame declares a length no valid frame has.
    #[error("the frame at byte {offset} declares an impossible length {len}")]
    FrameTooLarge {
        /// Offset of the frame in the file.
        offset: u64,
        /// The declared length.
        len: u64,
    },
    /// A frame passed its checksum but its records do not decode: written
    /// by a buggy or hostile writer.
    #[error("undecodable record in the frame at byte {offset}: {reason}")]
    Decode {
        /// Offset of the frame in the file.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The footer's counts disagree with the records read.
    #[error("the footer says {expected} records but {found} were read")]
    CountMismatch {
        /// Records the footer declares.
        expected: u64,
        /// Records actually read.
        found: u64,
    },
    /// Data follows the footer.
    #[error("unexpected data after the footer at byte {offset}")]
    TrailingData {
        /// Where the extra data starts.
        offset: u64,
    },
    /// The file is encrypted but no key provider was given (or this build
    /// lacks the `encryption` feature).
    #[error("the file is encrypted: {0}")]
    Encrypted(&'static str),
    /// The master key that wrapped the file's data key is not available
    /// from the key provider.
    #[error("master key {0:?} is not available from the key provider")]
    KeyUnavailable(String),
    /// Decryption failed: the wrong key, or the data was tampered with.
    #[error("authentication failed in the frame at byte {offset}: wrong key or tampered data")]
    Authentication {
        /// Offset of the frame in the file (0 for the wrapped data key).
        offset: u64,
    },
    /// Encryption could not be set up (a key provider's own failure).
    #[error("encryption error: {0}")]
    Crypto(String),
    /// A journal record in the middle of the journal is damaged; recovery
    /// stops here unless told to keep what precedes it.
    #[error("journal {file} is damaged at byte {offset}: {reason}")]
    JournalCorrupt {
        /// The journal segment.
        file: String,
        /// Where the damage starts.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// No snapshot or journal covers the requested point in time.
    #[error("no backup covers the requested time ({0})")]
    NotCovered(String),
    /// A setting is out of range.
    #[error("invalid persistence setting: {0}")]
    Config(String),
}

/// A result of the persistence layer.
pub type PersistResult<T> = Result<T, PersistError>;
