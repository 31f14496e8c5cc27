//! The append-only journal: numbered, timestamped entries of effects, one
//! checksummed frame each, in segment files `journal-<first seq>.ember`.
//!
//! What an entry holds is up to its user (for a `Db`: the resulting value
//! of every key a command wrote, so replaying is idempotent); this module
//! numbers entries, writes them under an fsync policy, rotates segments,
//! and reads them back, telling a torn last entry (a crash mid-write,
//! dropped and reported like Redis's `aof-load-truncated`) from damage in
//! the middle (an error).

use super::error::{PersistError, PersistResult};
use super::file::sync_dir;
use super::format::{Content, FileKind, FrameReader, FrameWriter, Header};
use super::snapshot::bincode_config;
use super::{SnapshotOptions, reader_codec, writer_codec};
use parking_lot::Mutex;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// When the journal's writes reach the disk (Redis's `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// After every entry, before the write returns: nothing acknowledged is
    /// lost, at the cost of a disk flush per write.
    Always,
    /// Once a second, by a background thread: a crash loses at most the
    /// last second of writes. The default.
    #[default]
    EverySecond,
    /// Handed to the operating system once a second, never fsynced by us:
    /// a process crash loses at most a second, an OS crash what the OS had
    /// not written.
    Os,
}

impl std::str::FromStr for FsyncPolicy {
    type Err = PersistError;
    /// Redis's names: `always`, `everysec` (or `every_second`), `no` (or `os`).
    fn from_str(s: &str) -> PersistResult<Self> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" | "every_second" => Ok(FsyncPolicy::EverySecond),
            "no" | "os" => Ok(FsyncPolicy::Os),
            _ => Err(PersistError::Config(format!("unknown fsync policy {s:?}"))),
        }
    }
}

/// The file name of the segment starting at `seq`.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("journal-{seq:020}.ember")
}

/// The segments in `dir`, by first sequence number.
pub(crate) fn segments(dir: &Path) -> PersistResult<Vec<(u64, PathBuf)>> {
    numbered(dir, "journal-")
}

/// Files `<prefix><number>.ember` in `dir`, sorted by number.
pub(crate) fn numbered(dir: &Path, prefix: &str) -> PersistResult<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(n) = name.strip_prefix(prefix).and_then(|r| r.strip_suffix(".ember")) else { continue };
        if let Ok(n) = n.parse::<u64>() {
            out.push((n, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

struct Segment {
    frames: FrameWriter<BufWriter<File>>,
    /// Bytes written since the last flush to the OS.
    dirty: bool,
}

/// The writing side of a journal. Entries are numbered under its lock, so
/// callers that append while holding their own locks get numbers in the
/// order of their effects.
pub(crate) struct Journal {
    dir: PathBuf,
    policy: FsyncPolicy,
    opts: SnapshotOptions,
    content: Content,
    state: Mutex<State>,
    /// Mirror of the next sequence number, readable without the lock.
    next: AtomicU64,
    bytes: AtomicU64,
}

struct State {
    next_seq: u64,
    last_ms: i64,
    segment: Option<Segment>,
    payload: Vec<u8>,
}

impl Journal {
    /// A journal in `dir` whose next entry is numbered `next_seq`, starting
    /// a new segment there.
    pub(crate) fn create(
        dir: &Path,
        content: Content,
        next_seq: u64,
        policy: FsyncPolicy,
        opts: SnapshotOptions,
        now_ms: i64,
    ) -> PersistResult<Journal> {
        let j = Journal {
            dir: dir.to_path_buf(),
            policy,
            opts,
            content,
            state: Mutex::new(State { next_seq, last_ms: now_ms, segment: None, payload: Vec::new() }),
            next: AtomicU64::new(next_seq),
            bytes: AtomicU64::new(0),
        };
        j.rotate(now_ms)?;
        Ok(j)
    }

    /// The number the next entry will get.
    pub(crate) fn position(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Bytes written to segments by this process.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Closes the current segment (flushed and fsynced) and starts a new one
    /// at the next sequence number, which it returns.
    pub(crate) fn rotate(&self, now_ms: i64) -> PersistResult<u64> {
        let mut st = self.state.lock();
        if let Some(seg) = st.segment.take() {
            let mut w = seg.frames.finish()?;
            w.flush()?;
            w.get_ref().sync_data()?;
        }
        let seq = st.next_seq;
        let path = self.dir.join(segment_name(seq));
        let file = OpenOptions::new().write(true).create(true).truncate(true).open(&path)?;
        let mut header = Header::new(FileKind::Journal, self.content, now_ms, seq);
        let codec = writer_codec(&self.opts, &mut header)?;
        let mut frames = FrameWriter::start(BufWriter::with_capacity(256 * 1024, file), header, codec)?;
        frames.get_mut().flush()?;
        frames.get_mut().get_ref().sync_all()?;
        sync_dir(&path)?;
        st.segment = Some(Segment { frames, dirty: false });
        Ok(seq)
    }

    /// Appends one entry whose body `body` writes into a buffer, given the
    /// entry's sequence number; numbers and timestamps it (timestamps never
    /// go backwards). Nothing is written if `body` fails. Returns the
    /// sequence number.
    pub(crate) fn append_with(
        &self,
        now_ms: i64,
        body: impl FnOnce(u64, &mut Vec<u8>) -> PersistResult<()>,
    ) -> PersistResult<u64> {
        super::file::fail_at(super::file::FailPoint::JournalAppend)?;
        let mut st = self.state.lock();
        let st = &mut *st;
        let seq = st.next_seq;
        let ms = now_ms.max(st.last_ms);
        st.payload.clear();
        bincode::serde::encode_into_std_write((seq, ms), &mut st.payload, bincode_config())
            .map_err(|e| PersistError::Config(e.to_string()))?;
        body(seq, &mut st.payload)?;
        let seg = st.segment.as_mut().ok_or_else(|| PersistError::Config("the journal is closed".into()))?;
        let before = seg.frames.bytes();
        seg.frames.frame(&st.payload)?;
        self.bytes.fetch_add(seg.frames.bytes() - before, Ordering::Relaxed);
        seg.dirty = true;
        if self.policy == FsyncPolicy::Always {
            seg.frames.get_mut().flush()?;
            seg.frames.get_mut().get_ref().sync_data()?;
            seg.dirty = false;
        }
        st.next_seq = seq + 1;
        st.last_ms = ms;
        self.next.store(seq + 1, Ordering::Release);
        Ok(seq)
    }

    /// Hands buffered entries to the OS and, unless the policy is `Os`,
    /// fsyncs them; the fsync runs outside the lock. Called once a second.
    pub(crate) fn sync(&self) -> PersistResult<()> {
        let file = {
            let mut st = self.state.lock();
            let Some(seg) = st.segment.as_mut().filter(|s| s.dirty) else { return Ok(()) };
            seg.frames.get_mut().flush()?;
            seg.dirty = false;
            if self.policy == FsyncPolicy::Os {
                return Ok(());
            }
            seg.frames.get_mut().get_ref().try_clone()?
        };
        file.sync_data()?;
        Ok(())
    }

    /// Flushes and fsyncs everything written so far.
    pub(crate) fn sync_all(&self) -> PersistResult<()> {
        let mut st = self.state.lock();
        if let Some(seg) = st.segment.as_mut() {
            seg.frames.get_mut().flush()?;
            seg.frames.get_mut().get_ref().sync_data()?;
            seg.dirty = false;
        }
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.sync_all();
    }
}

/// One entry read back.
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) unix_ms: i64,
    /// The entry's body (what `append` was given).
    pub(crate) body: Vec<u8>,
}

/// How reading a segment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// At a frame boundary.
    Clean,
    /// A torn last entry at this offset (the file reaches its end inside it).
    Torn(u64),
    /// Damage at this offset with more data after it.
    Corrupt(u64, String),
}

/// Reads every entry of the segment at `path`, passing each to `f`.
/// Returns how the segment ended and the offset after its last good entry.
pub(crate) fn read_segment(
    path: &Path,
    content: Content,
    opts: &SnapshotOptions,
    mut f: impl FnMut(Entry) -> PersistResult<()>,
) -> PersistResult<(Ending, u64)> {
    let len = fs::metadata(path)?.len();
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let (header, hlen) = match Header::read(&mut r, FileKind::Journal) {
        Ok((h, n, _)) => (h, n),
        // A crash while creating the segment: nothing was ever acknowledged in it.
        Err(PersistError::Truncated { .. }) => return Ok((Ending::Torn(0), 0)),
        Err(e) => return Err(e),
    };
    if header.content != content {
        return Err(PersistError::WrongContent { expected: content.name(), found: header.content.name() });
    }
    let mut frames = FrameReader::new(r, reader_codec(opts, &header)?, hlen);
    let mut buf = Vec::new();
    loop {
        let at = frames.offset();
        match frames.next(&mut buf) {
            Ok(None) => return Ok((Ending::Clean, at)),
            Ok(Some(_)) => {
                let (seq, unix_ms): (u64, i64) = match bincode::serde::decode_from_slice(&buf, bincode_config()) {
                    Ok((h, n)) => {
                        buf.drain(..n);
                        h
                    }
                    Err(e) => return Ok((Ending::Corrupt(at, e.to_string()), at)),
                };
                f(Entry { seq, unix_ms, body: std::mem::take(&mut buf) })?;
            }
            Err(PersistError::Truncated { .. }) => return Ok((Ending::Torn(at), at)),
            Err(e @ PersistError::Decode { .. }) => return Ok((Ending::Corrupt(at, e.to_string()), at)),
            Err(e @ (PersistError::FrameChecksum { .. } | PersistError::FrameTooLarge { .. }))
            | Err(e @ PersistError::Authentication { .. }) => {
                // A damaged frame that runs to the end of the file is a torn
                // write; one followed by more data is damage in the middle.
                let declared = frame_end(path, at).unwrap_or(u64::MAX);
                return Ok(if declared >= len {
                    (Ending::Torn(at), at)
                } else {
                    (Ending::Corrupt(at, e.to_string()), at)
                });
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where the frame at `at` would end, by its declared length.
fn frame_end(path: &Path, at: u64) -> PersistResult<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(at))?;
    let mut len = [0u8; 4];
    f.read_exact(&mut len)?;
    Ok(at + 8 + u64::from(u32::from_le_bytes(len)))
}

/// Cuts the segment at `path` to `len` bytes (dropping a torn last entry),
/// durably.
pub(crate) fn truncate_segment(path: &Path, len: u64) -> PersistResult<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()?;
    Ok(())
}
