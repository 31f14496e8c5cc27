//! Crash-safe file replacement: write a temporary file beside the target,
//! fsync it, rename it over the target, fsync the directory. A crash at any
//! point leaves either the old file or the new one, never a mix.
//!
//! Tests inject a failure at each stage through [`FailPoint`] (a
//! per-thread setting, so parallel tests do not interfere).

use super::error::{PersistError, PersistResult};
use std::cell::Cell;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A stage of [`write_atomically`] at which a test makes it fail, as a
/// crash there would.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// Writing fails once this many bytes have been written.
    AfterBytes(u64),
    /// Syncing the temporary file fails.
    Sync,
    /// Renaming it over the target fails.
    Rename,
    /// Syncing the directory fails (the rename has happened).
    DirSync,
    /// Appending an entry to a journal fails (nothing is written).
    JournalAppend,
}

thread_local! {
    static FAIL: Cell<Option<FailPoint>> = const { Cell::new(None) };
}

/// Makes this thread's next atomic writes fail at `point` (`None`: never).
#[doc(hidden)]
pub fn set_fail_point(point: Option<FailPoint>) {
    FAIL.with(|f| f.set(point));
}

pub(crate) fn fail_at(point: FailPoint) -> io::Result<()> {
    if FAIL.with(Cell::get) == Some(point) {
        return Err(io::Error::other(format!("injected failure at {point:?}")));
    }
    Ok(())
}

/// A writer that fails once a byte budget is spent (for [`FailPoint::AfterBytes`]).
pub(crate) struct Budget<W> {
    w: W,
    left: Option<u64>,
}

impl<W: Write> Write for Budget<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(left) = self.left.as_mut() {
            if *left == 0 {
                return Err(io::Error::other("injected failure: write budget spent"));
            }
            let n = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
            let n = self.w.write(&buf[..n])?;
            *left -= n as u64;
            return Ok(n);
        }
        self.w.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// The writer [`write_atomically`] hands out.
pub(crate) type AtomicWriter = BufWriter<Budget<File>>;

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn temp_path(path: &Path) -> PathBuf {
    let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `path` through `f` so that a crash or failure at any point leaves
/// the previous file (if any) intact. The temporary file is removed on
/// failure.
pub(crate) fn write_atomically<R>(
    path: &Path,
    f: impl FnOnce(&mut AtomicWriter) -> PersistResult<R>,
) -> PersistResult<R> {
    let tmp = temp_path(path);
    let result = write_temp(&tmp, path, f);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_temp<R>(tmp: &Path, path: &Path, f: impl FnOnce(&mut AtomicWriter) -> PersistResult<R>) -> PersistResult<R> {
    let file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    let left = match FAIL.with(Cell::get) {
        Some(FailPoint::AfterBytes(n)) => Some(n),
        _ => None,
    };
    let mut w = BufWriter::with_capacity(1 << 20, Budget { w: file, left });
    let r = f(&mut w)?;
    let file = w.into_inner().map_err(|e| PersistError::Io(e.into_error()))?.w;
    fail_at(FailPoint::Sync)?;
    file.sync_all()?;
    drop(file);
    fail_at(FailPoint::Rename)?;
    fs::rename(tmp, path)?;
    fail_at(FailPoint::DirSync)?;
    sync_dir(path)?;
    Ok(r)
}

/// Fsyncs the directory holding `path`, so a rename or creation in it is durable.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn write(path: &Path, data: &[u8]) -> PersistResult<()> {
        write_atomically(path, |w| Ok(w.write_all(data)?))
    }

    #[test]
    fn a_failure_at_every_stage_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = tempdir();
        let path = dir.join("f");
        write(&path, b"old").unwrap();
        for point in [FailPoint::AfterBytes(0), FailPoint::AfterBytes(2), FailPoint::Sync, FailPoint::Rename] {
            set_fail_point(Some(point));
            assert!(write(&path, b"new contents").is_err(), "{point:?} fails the write");
            set_fail_point(None);
            assert_eq!(fs::read(&path).unwrap(), b"old", "{point:?} keeps the old file");
            assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "{point:?} leaves no temporary");
        }
        // Past the rename the new file is in place, though not known durable.
        set_fail_point(Some(FailPoint::DirSync));
        assert!(write(&path, b"new").is_err());
        set_fail_point(None);
        assert_eq!(fs::read(&path).unwrap(), b"new");
        write(&path, b"newer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"newer");
        fs::remove_dir_all(&dir).unwrap();
    }

    pub(crate) fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "embercache-file-test-{}-{}",
            std::process::id(),
            TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }
}
