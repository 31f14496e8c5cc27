//! The record stream of a snapshot: records encoded with bincode 2 (serde)
//! into blocks of about [`BLOCK`] bytes, one block per frame, then a footer
//! frame with the counts and the journal position the snapshot reaches.
//!
//! A frame's first byte says what it holds: [`RECORDS`] or [`FOOTER`]. A
//! reader checks every frame, decodes records one by one (no whole-file
//! buffer), and only reports success once the footer matched and nothing
//! follows it.

use super::error::{PersistError, PersistResult};
use super::format::{Content, FileKind, FrameReader, FrameWriter, Header};
use super::{Progress, SnapshotOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Bytes of records gathered before a frame is written.
pub(crate) const BLOCK: usize = 64 * 1024;
/// Frame tag: a block of records.
const RECORDS: u8 = 0;
/// Frame tag: the footer.
const FOOTER: u8 = 1;

pub(crate) fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// What a snapshot's footer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SnapshotSummary {
    /// Records in the file.
    pub records: u64,
    /// Keys (entries) in the file.
    pub keys: u64,
    /// The journal position the snapshot starts at (its header's).
    pub start_position: u64,
    /// The journal position reached when the snapshot was finished: a
    /// snapshot taken while writes continue is consistent once the journal
    /// is replayed from `start_position` up to here.
    pub end_position: u64,
    /// Unix milliseconds when the snapshot was started.
    pub started_unix_ms: i64,
    /// Unix milliseconds when it was finished.
    pub finished_unix_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct Footer {
    records: u64,
    keys: u64,
    end_position: u64,
    finished_unix_ms: i64,
}

/// Appends `rec`, encoded as a snapshot's records are, to `block`.
pub(crate) fn encode_record<T: Serialize + ?Sized>(rec: &T, block: &mut Vec<u8>) -> PersistResult<()> {
    bincode::serde::encode_into_std_write(rec, block, bincode_config())
        .map_err(|e| PersistError::Config(format!("a record cannot be encoded: {e}")))?;
    Ok(())
}

/// Writes a snapshot's records.
pub(crate) struct SnapshotWriter<'o, W: Write> {
    frames: FrameWriter<W>,
    block: Vec<u8>,
    records: u64,
    keys: u64,
    opts: &'o SnapshotOptions,
    started_unix_ms: i64,
    start_position: u64,
}

impl<'o, W: Write> SnapshotWriter<'o, W> {
    /// Writes the header of a snapshot of `content` starting at journal
    /// `position`.
    pub(crate) fn start(
        w: W,
        content: Content,
        now_unix_ms: i64,
        position: u64,
        opts: &'o SnapshotOptions,
    ) -> PersistResult<Self> {
        let mut header = Header::new(FileKind::Snapshot, content, now_unix_ms, position);
        let codec = super::writer_codec(opts, &mut header)?;
        let frames = FrameWriter::start(w, header, codec)?;
        let mut block = Vec::with_capacity(BLOCK + BLOCK / 4);
        block.push(RECORDS);
        Ok(SnapshotWriter {
            frames,
            block,
            records: 0,
            keys: 0,
            opts,
            started_unix_ms: now_unix_ms,
            start_position: position,
        })
    }

    /// Appends one record; `starts_key` counts it as a new key.
    pub(crate) fn record<T: Serialize + ?Sized>(&mut self, rec: &T, starts_key: bool) -> PersistResult<()> {
        self.record_with(starts_key, |block| encode_record(rec, block))
    }

    /// Appends one record that `encode` appends to the block (with
    /// [`encode_record`]); `starts_key` counts it as a new key.
    pub(crate) fn record_with(
        &mut self,
        starts_key: bool,
        encode: impl FnOnce(&mut Vec<u8>) -> PersistResult<()>,
    ) -> PersistResult<()> {
        encode(&mut self.block)?;
        self.records += 1;
        self.keys += u64::from(starts_key);
        Ok(())
    }

    /// Whether the current block is full (callers flush between slices).
    pub(crate) fn block_full(&self) -> bool {
        self.block.len() >= BLOCK
    }

    /// Writes the current block as a frame if it holds records.
    pub(crate) fn flush_block(&mut self) -> PersistResult<()> {
        if self.block.len() > 1 {
            self.frames.frame(&self.block)?;
            self.block.truncate(1);
            if let Some(p) = &self.opts.progress {
                p(Progress { records: self.records, bytes: self.frames.bytes() });
            }
        }
        Ok(())
    }

    /// Writes the footer and returns the writer and the summary.
    pub(crate) fn finish(mut self, end_position: u64, now_unix_ms: i64) -> PersistResult<(W, SnapshotSummary)> {
        self.flush_block()?;
        let footer = Footer { records: self.records, keys: self.keys, end_position, finished_unix_ms: now_unix_ms };
        let mut payload = vec![FOOTER];
        bincode::serde::encode_into_std_write(&footer, &mut payload, bincode_config())
            .map_err(|e| PersistError::Config(e.to_string()))?;
        self.frames.frame(&payload)?;
        let summary = SnapshotSummary {
            records: self.records,
            keys: self.keys,
            start_position: self.start_position,
            end_position,
            started_unix_ms: self.started_unix_ms,
            finished_unix_ms: now_unix_ms,
        };
        Ok((self.frames.finish()?, summary))
    }
}

/// Reads a snapshot's records in order.
pub(crate) struct SnapshotReader<'o, R: Read> {
    frames: FrameReader<R>,
    header: Header,
    block: Vec<u8>,
    pos: usize,
    frame_offset: u64,
    records: u64,
    keys: u64,
    summary: Option<SnapshotSummary>,
    opts: &'o SnapshotOptions,
}

impl<'o, R: Read> SnapshotReader<'o, R> {
    /// Reads and checks the header, expecting `content`.
    pub(crate) fn open(mut r: R, content: Content, opts: &'o SnapshotOptions) -> PersistResult<Self> {
        let (header, len, _) = Header::read(&mut r, FileKind::Snapshot)?;
        if header.content != content {
            return Err(PersistError::WrongContent { expected: content.name(), found: header.content.name() });
        }
        let codec = super::reader_codec(opts, &header)?;
        Ok(SnapshotReader {
            frames: FrameReader::new(r, codec, len),
            header,
            block: Vec::new(),
            pos: 0,
            frame_offset: 0,
            records: 0,
            keys: 0,
            summary: None,
            opts,
        })
    }

    /// The next record, or `None` once the footer has been read and checked
    /// (the summary is then available).
    pub(crate) fn next<T: DeserializeOwned>(&mut self, starts_key: impl Fn(&T) -> bool) -> PersistResult<Option<T>> {
        loop {
            if self.pos < self.block.len() {
                let (rec, n) = bincode::serde::decode_from_slice::<T, _>(&self.block[self.pos..], bincode_config())
                    .map_err(|e| PersistError::Decode { offset: self.frame_offset, reason: e.to_string() })?;
                self.pos += n;
                self.records += 1;
                self.keys += u64::from(starts_key(&rec));
                return Ok(Some(rec));
            }
            if self.summary.is_some() {
                return Ok(None);
            }
            let Some(at) = self.frames.next(&mut self.block)? else {
                return Err(PersistError::Truncated { offset: self.frames.offset() });
            };
            self.frame_offset = at;
            self.pos = 1;
            match self.block.first() {
                Some(&RECORDS) => {
                    if let Some(p) = &self.opts.progress {
                        p(Progress { records: self.records, bytes: self.frames.offset() });
                    }
                }
                Some(&FOOTER) => {
                    self.read_footer(at)?;
                    return Ok(None);
                }
                _ => return Err(PersistError::Decode { offset: at, reason: "unknown frame tag".into() }),
            }
        }
    }

    fn read_footer(&mut self, at: u64) -> PersistResult<()> {
        let (f, n) = bincode::serde::decode_from_slice::<Footer, _>(&self.block[1..], bincode_config())
            .map_err(|e| PersistError::Decode { offset: at, reason: format!("footer: {e}") })?;
        if n + 1 != self.block.len() {
            return Err(PersistError::Decode { offset: at, reason: "footer has trailing bytes".into() });
        }
        self.block.clear();
        self.pos = 0;
        if f.records != self.records {
            return Err(PersistError::CountMismatch { expected: f.records, found: self.records });
        }
        if f.keys != self.keys {
            return Err(PersistError::CountMismatch { expected: f.keys, found: self.keys });
        }
        let mut rest = Vec::new();
        if self.frames.next(&mut rest)?.is_some() {
            return Err(PersistError::TrailingData { offset: at });
        }
        self.summary = Some(SnapshotSummary {
            records: f.records,
            keys: f.keys,
            start_position: self.header.position,
            end_position: f.end_position,
            started_unix_ms: self.header.created_unix_ms,
            finished_unix_ms: f.finished_unix_ms,
        });
        if let Some(p) = &self.opts.progress {
            p(Progress { records: self.records, bytes: self.frames.offset() });
        }
        Ok(())
    }

    /// Offset of the frame the latest record came from (for errors).
    pub(crate) fn frame_offset(&self) -> u64 {
        self.frame_offset
    }

    /// The footer's summary, once [`next`](Self::next) returned `None`.
    pub(crate) fn summary(&self) -> Option<SnapshotSummary> {
        self.summary
    }
}
