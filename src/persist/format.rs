//! The file format shared by snapshots and journals: a header, then
//! checksummed frames.
//!
//! ```text
//! header  magic[8] version:u16 codec:u8 flags:u8 content:u8 reserved[3]
//!         created_unix_ms:i64 position:u64 ext_len:u32 ext[ext_len] crc32:u32
//! frame   len:u32 crc32:u32 payload[len]          (repeated)
//! ```
//!
//! All integers are little-endian. The header's CRC-32 covers every header
//! byte before it; a frame's covers its stored payload. A payload is the
//! records' bytes, compressed (LZ4) when the `COMPRESSED` flag is set, then
//! sealed by the file's cipher when `ENCRYPTED` is set (the extension then
//! holds the wrapped data key). `position` is the journal sequence number
//! the file starts at. Readers accept every version up to
//! [`FORMAT_VERSION`] and refuse later ones by name.

use super::error::{PersistError, PersistResult};
use std::io::{self, Read, Write};

/// The newest format version this release writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Records encoded with bincode 2 (standard configuration) over serde.
pub(crate) const CODEC_BINCODE2: u8 = 1;
/// Flag: payloads are LZ4-compressed.
pub(crate) const COMPRESSED: u8 = 1;
/// Flag: payloads are encrypted; the extension holds the envelope.
pub(crate) const ENCRYPTED: u8 = 2;
/// Largest frame a reader accepts (a frame holds a batch of records, or one
/// record too large to split).
pub(crate) const MAX_FRAME: u32 = 1 << 30;
/// Largest header extension.
const MAX_EXT: u32 = 1 << 16;
/// Bytes of a frame's length and checksum.
pub(crate) const FRAME_OVERHEAD: u64 = 8;

/// What kind of file this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Snapshot,
    Journal,
}

impl FileKind {
    pub(crate) fn magic(self) -> &'static [u8; 8] {
        match self {
            FileKind::Snapshot => b"EMBRSNAP",
            FileKind::Journal => b"EMBRJRNL",
        }
    }

    fn name(self) -> &'static str {
        match self {
            FileKind::Snapshot => "snapshot",
            FileKind::Journal => "journal",
        }
    }
}

/// What the records of a file describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Content {
    /// The keys of a `Db`.
    Keyspace = 1,
    /// The entries of a typed `Cache<K, V>`.
    TypedCache = 2,
}

impl Content {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Content::Keyspace => "Db keyspace",
            Content::TypedCache => "typed Cache",
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Content::Keyspace),
            2 => Some(Content::TypedCache),
            _ => None,
        }
    }
}

/// A file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: FileKind,
    pub(crate) version: u16,
    pub(crate) flags: u8,
    pub(crate) content: Content,
    pub(crate) created_unix_ms: i64,
    /// The journal sequence number the file starts at.
    pub(crate) position: u64,
    /// The encryption envelope (empty when not encrypted).
    pub(crate) ext: Vec<u8>,
}

impl Header {
    pub(crate) fn new(kind: FileKind, content: Content, created_unix_ms: i64, position: u64) -> Self {
        Header { kind, version: FORMAT_VERSION, flags: 0, content, created_unix_ms, position, ext: Vec::new() }
    }

    /// The header's bytes, checksum included.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(44 + self.ext.len());
        b.extend_from_slice(self.kind.magic());
        b.extend_from_slice(&self.version.to_le_bytes());
        b.push(CODEC_BINCODE2);
        b.push(self.flags);
        b.push(self.content as u8);
        b.extend_from_slice(&[0; 3]);
        b.extend_from_slice(&self.created_unix_ms.to_le_bytes());
        b.extend_from_slice(&self.position.to_le_bytes());
        b.extend_from_slice(&(self.ext.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.ext);
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Reads and checks a header of `kind`. Returns it with its length in
    /// bytes and its checksum (which binds frames to this file).
    pub(crate) fn read(r: &mut impl Read, kind: FileKind) -> PersistResult<(Header, u64, u32)> {
        let mut fixed = [0u8; 36];
        read_exact_at(r, &mut fixed, 0)?;
        if &fixed[..8] != kind.magic() {
            return Err(PersistError::BadMagic { expected: kind.name(), found: fixed[..8].to_vec() });
        }
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        if version == 0 || version > FORMAT_VERSION {
            return Err(PersistError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
        }
        let ext_len = u32::from_le_bytes(fixed[32..36].try_into().unwrap_or_default());
        if ext_len > MAX_EXT {
            return Err(PersistError::HeaderChecksum);
        }
        let mut rest = vec![0u8; ext_len as usize + 4];
        read_exact_at(r, &mut rest, 36)?;
        let (ext, crc) = rest.split_at(ext_len as usize);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&fixed);
        hasher.update(ext);
        let sum = hasher.finalize();
        if crc != sum.to_le_bytes() {
            return Err(PersistError::HeaderChecksum);
        }
        if fixed[10] != CODEC_BINCODE2 {
            return Err(PersistError::UnknownCodec(fixed[10]));
        }
        let content = Content::from_byte(fixed[12]).ok_or(PersistError::HeaderChecksum)?;
        let header = Header {
            kind,
            version,
            flags: fixed[11],
            content,
            created_unix_ms: i64::from_le_bytes(fixed[16..24].try_into().unwrap_or_default()),
            position: u64::from_le_bytes(fixed[24..32].try_into().unwrap_or_default()),
            ext: ext.to_vec(),
        };
        Ok((header, 40 + u64::from(ext_len), sum))
    }

    pub(crate) fn compressed(&self) -> bool {
        self.flags & COMPRESSED != 0
    }

    pub(crate) fn encrypted(&self) -> bool {
        self.flags & ENCRYPTED != 0
    }
}

/// Reads exactly `buf.len()` bytes, reporting a short read as truncation at
/// `offset` (where the read started).
fn read_exact_at(r: &mut impl Read, buf: &mut [u8], offset: u64) -> PersistResult<()> {
    match r.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(PersistError::Truncated { offset }),
        Err(e) => Err(e.into()),
    }
}

/// Seals and opens frame payloads of one file (its data key). Frame
/// `index` counts frames from 0 in the file; a cipher binds it (and the
/// header) into each frame so frames cannot be reordered or moved between
/// files.
pub(crate) trait FrameCipher: Send + Sync {
    /// Appends `plain` sealed to `out`.
    fn seal(&self, index: u64, plain: &[u8], out: &mut Vec<u8>) -> PersistResult<()>;
    /// Appends `sealed` opened to `out`; an authentication failure names
    /// the frame at `offset`.
    fn open(&self, index: u64, sealed: &[u8], offset: u64, out: &mut Vec<u8>) -> PersistResult<()>;
}

/// How frames of one file are transformed on their way to and from disk.
pub(crate) struct Codec {
    compress: bool,
    cipher: Option<Box<dyn FrameCipher>>,
    scratch: Vec<u8>,
}

impl Codec {
    pub(crate) fn new(compress: bool, cipher: Option<Box<dyn FrameCipher>>) -> Self {
        Codec { compress, cipher, scratch: Vec::new() }
    }

    /// The header flags this codec implies.
    pub(crate) fn flags(&self) -> u8 {
        (if self.compress { COMPRESSED } else { 0 }) | if self.cipher.is_some() { ENCRYPTED } else { 0 }
    }
}

/// Writes frames to `W`, counting frames and bytes.
pub(crate) struct FrameWriter<W: Write> {
    w: W,
    codec: Codec,
    index: u64,
    bytes: u64,
    out: Vec<u8>,
}

impl<W: Write> FrameWriter<W> {
    /// Writes `header` (its flags set from `codec`) and returns the writer.
    pub(crate) fn start(mut w: W, mut header: Header, codec: Codec) -> PersistResult<Self> {
        header.flags = codec.flags();
        let h = header.encode();
        w.write_all(&h)?;
        Ok(FrameWriter { w, codec, index: 0, bytes: h.len() as u64, out: Vec::new() })
    }

    /// Appends one frame holding `payload`.
    pub(crate) fn frame(&mut self, payload: &[u8]) -> PersistResult<()> {
        let Codec { compress, cipher, scratch } = &mut self.codec;
        let mut body = payload;
        if *compress {
            scratch.clear();
            scratch.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            let max = lz4_flex::block::get_maximum_output_size(payload.len());
            let at = scratch.len();
            scratch.resize(at + max, 0);
            let n = lz4_flex::block::compress_into(payload, &mut scratch[at..])
                .map_err(|e| PersistError::Io(io::Error::other(e)))?;
            scratch.truncate(at + n);
            body = scratch;
        }
        self.out.clear();
        self.out.extend_from_slice(&[0; 8]);
        match cipher {
            Some(c) => c.seal(self.index, body, &mut self.out)?,
            None => self.out.extend_from_slice(body),
        }
        let len = self.out.len() - 8;
        if len > MAX_FRAME as usize {
            return Err(PersistError::Config(format!("a record of {len} bytes exceeds the largest frame")));
        }
        let crc = crc32fast::hash(&self.out[8..]);
        self.out[..4].copy_from_slice(&(len as u32).to_le_bytes());
        self.out[4..8].copy_from_slice(&crc.to_le_bytes());
        self.w.write_all(&self.out)?;
        self.index += 1;
        self.bytes += self.out.len() as u64;
        Ok(())
    }

    /// Bytes written so far, header included.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flushes and returns the underlying writer.
    pub(crate) fn finish(mut self) -> PersistResult<W> {
        self.w.flush()?;
        Ok(self.w)
    }

    /// The underlying writer.
    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.w
    }
}

/// Reads frames from `R`, checking each.
pub(crate) struct FrameReader<R: Read> {
    r: R,
    codec: Codec,
    index: u64,
    offset: u64,
    raw: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    /// A reader positioned after a header of `header_len` bytes.
    pub(crate) fn new(r: R, codec: Codec, header_len: u64) -> Self {
        FrameReader { r, codec, index: 0, offset: header_len, raw: Vec::new() }
    }

    /// Offset of the next frame.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next frame's payload into `out` (cleared first). `Ok(None)`
    /// at a clean end of the stream; a partial frame is `Truncated`.
    pub(crate) fn next(&mut self, out: &mut Vec<u8>) -> PersistResult<Option<u64>> {
        out.clear();
        let at = self.offset;
        let mut head = [0u8; 8];
        let mut got = 0;
        while got < 8 {
            match self.r.read(&mut head[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(PersistError::Truncated { offset: at }),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_FRAME {
            return Err(PersistError::FrameTooLarge { offset: at, len: u64::from(len) });
        }
        self.raw.clear();
        // Grows with the data actually present: a damaged length on a short
        // file fails as truncation without allocating the declared size.
        let n = (&mut self.r).take(u64::from(len)).read_to_end(&mut self.raw)?;
        if n < len as usize {
            return Err(PersistError::Truncated { offset: at });
        }
        if crc32fast::hash(&self.raw) != crc {
            return Err(PersistError::FrameChecksum { offset: at });
        }
        let Codec { compress, cipher, scratch } = &mut self.codec;
        let body: &[u8] = match cipher {
            Some(c) => {
                scratch.clear();
                c.open(self.index, &self.raw, at, scratch)?;
                scratch
            }
            None => &self.raw,
        };
        if *compress {
            let bad = |reason: &str| PersistError::Decode { offset: at, reason: reason.into() };
            let (size, data) = body.split_first_chunk::<4>().ok_or_else(|| bad("compressed frame too short"))?;
            let size = u32::from_le_bytes(*size) as usize;
            if size > MAX_FRAME as usize {
                return Err(bad("compressed frame declares an impossible size"));
            }
            out.resize(size, 0);
            let n = lz4_flex::block::decompress_into(data, out).map_err(|e| bad(&e.to_string()))?;
            if n != size {
                return Err(bad("compressed frame decompresses to the wrong size"));
            }
        } else {
            out.extend_from_slice(body);
        }
        self.index += 1;
        self.offset += FRAME_OVERHEAD + u64::from(len);
        Ok(Some(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(compress: bool, frames: &[&[u8]]) -> Vec<u8> {
        let h = Header::new(FileKind::Snapshot, Content::Keyspace, 1234, 7);
        let mut w = FrameWriter::start(Vec::new(), h, Codec::new(compress, None)).unwrap();
        for f in frames {
            w.frame(f).unwrap();
        }
        w.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> PersistResult<Vec<Vec<u8>>> {
        let mut r = bytes;
        let (h, len, _) = Header::read(&mut r, FileKind::Snapshot)?;
        let mut fr = FrameReader::new(r, Codec::new(h.compressed(), None), len);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while fr.next(&mut buf)?.is_some() {
            out.push(buf.clone());
        }
        Ok(out)
    }

    #[test]
    fn frames_round_trip_plain_and_compressed() {
        let frames: [&[u8]; 3] = [b"hello", b"", &[7u8; 5000]];
        for compress in [false, true] {
            let bytes = write(compress, &frames);
            let got = read_all(&bytes).unwrap();
            assert_eq!(got, frames.iter().map(|f| f.to_vec()).collect::<Vec<_>>());
        }
        assert!(write(true, &frames).len() < write(false, &frames).len(), "compression shrinks repeats");
    }

    #[test]
    fn header_fields_round_trip() {
        let mut h = Header::new(FileKind::Journal, Content::TypedCache, -5, u64::MAX);
        h.ext = b"envelope".to_vec();
        let bytes = h.encode();
        let (back, len, _) = Header::read(&mut &bytes[..], FileKind::Journal).unwrap();
        assert_eq!(back, h);
        assert_eq!(len, bytes.len() as u64);
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_an_error() {
        let bytes = write(false, &[b"abc", b"defgh"]);
        for i in 0..bytes.len() {
            for bit in [0x01, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                assert!(read_all(&b).is_err(), "flipping bit {bit:#x} of byte {i} is detected");
            }
        }
        for cut in 1..bytes.len() {
            let r = read_all(&bytes[..cut]);
            // A cut exactly between frames reads as fewer frames: the
            // snapshot's footer catches that one level up.
            let between = r.as_ref().is_ok_and(|f| f.len() < 2);
            assert!(r.is_err() || between, "cut at {cut}");
        }
    }

    #[test]
    fn wrong_magic_and_future_version_are_named() {
        let mut bytes = write(false, &[b"x"]);
        assert!(matches!(
            Header::read(&mut &bytes[..], FileKind::Journal),
            Err(PersistError::BadMagic { expected: "journal", .. })
        ));
        bytes[8] = 9;
        assert!(matches!(
            Header::read(&mut &bytes[..], FileKind::Snapshot),
            Err(PersistError::UnsupportedVersion { found: 9, .. })
        ));
    }
}
