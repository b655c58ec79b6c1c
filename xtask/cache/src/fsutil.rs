//! Small filesystem helpers: positioned reads, bounded reads, and removal that
//! tolerates a concurrent one (temp files come from the toolbox).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use crate::error::CacheError;

/// Temp names and files are the toolbox's (one implementation for every
/// atomic write of ours); `TMP_SUFFIX` ends every temp name in `v1/tmp/`.
pub(crate) use xtask_toolbox::atomic::{TEMP_SUFFIX as TMP_SUFFIX, TempFile, unique_name};

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
