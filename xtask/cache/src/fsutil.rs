//! Small filesystem helpers: unique temp names, a temp file that removes itself
//! unless persisted, positioned reads, and removal that tolerates a concurrent one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::CacheError;

/// Suffix of every temp file this crate creates in `v1/tmp/`.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other thread or process uses right now: pid + per-process counter +
/// nanoseconds (the nanoseconds guard against pid reuse after a crash).
pub(crate) fn unique_name(prefix: &str) -> String {
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}.{}.{count}.{nanos}{TMP_SUFFIX}",
        std::process::id()
    )
}

/// A file being written under a temp name. Dropping it without `persist` removes
/// it, so an error half-way never leaves a stray file behind (a kill -9 can; `prune`
/// sweeps those).
pub(crate) struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Creates a temp file in `dir` and returns it with its open handle; drop the
    /// handle before `persist` (Windows cannot rename an open file).
    pub(crate) fn create(dir: &Path, prefix: &str) -> io::Result<(TempFile, File)> {
        let path = dir.join(unique_name(prefix));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((TempFile { path }, file))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the (closed) file over `dest` (whose directory must exist), which makes it visible at once
    /// and whole: rename is atomic, so readers see the old entry or the new one.
    ///
    /// There is deliberately no fsync: the guarantee we need is that a killed
    /// process never leaves a half-entry that reads as valid, which temp + rename
    /// gives. Power loss can leave a damaged file, which the hash check on read
    /// catches and turns into a miss; paying an fsync per task is not worth that.
    pub(crate) fn persist(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        // Renamed away: nothing left to clean up.
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            // Best effort: the file is garbage either way and prune sweeps it.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Removes a file; `Ok(false)` if it was already gone (another process may have
/// pruned it first, which is fine).
pub(crate) fn remove_if_exists(path: &Path) -> Result<bool, CacheError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(CacheError::Remove {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Removes `path` only if it is still the file `file` has open. A concurrent `store`
/// may have renamed a fresh, valid entry onto the path since we opened the bad one,
/// and that one must stay.
pub(crate) fn remove_if_same(path: &Path, file: &File) -> Result<bool, CacheError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (Ok(open), Ok(now)) = (file.metadata(), fs::symlink_metadata(path)) else {
            return Ok(false);
        };
        if open.dev() != now.dev() || open.ino() != now.ino() {
            return Ok(false);
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    remove_if_exists(path)
}

/// Reads a file from a position of its own instead of the shared file offset, so
/// several readers (threads restoring the same `Entry`) never disturb each other.
pub(crate) struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl<'a> ReadAt<'a> {
    pub(crate) fn new(file: &'a File, pos: u64) -> Self {
        ReadAt { file, pos }
    }
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A reader that fails once more than `limit` bytes came through: a guard against
/// decompression bombs hidden where no member size is checked (tar's long-name and
/// pax records are read whole by the `tar` crate).
pub(crate) struct LimitedReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> LimitedReader<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        LimitedReader {
            inner,
            remaining: limit,
        }
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Distinguish "exactly at the limit and done" from "more to come".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(
                    "decompressed archive exceeds its size limit",
                )),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}
