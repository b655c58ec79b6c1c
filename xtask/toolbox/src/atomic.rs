//! Writes that a concurrent reader, or a later run after a `kill -9`, sees
//! whole or not at all: the bytes go to a temp file in the destination's
//! directory, which is then renamed over the destination (rename is atomic
//! within a file system). A failed write removes its temp file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prefix of the temp files [`write`] creates beside their destination
/// (hidden, and easy to recognise when sweeping leftovers of a killed run).
pub const TEMP_PREFIX: &str = ".xtask-tmp";
/// Suffix of every temp name [`unique_name`] makes.
pub const TEMP_SUFFIX: &str = ".tmp";

/// A name no other thread or process uses right now: `prefix`, the process
/// id, a per-process counter and the clock's nanoseconds (which guard against
/// a pid reused after a crash), then [`TEMP_SUFFIX`].
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}.{}.{count}.{nanos}{TEMP_SUFFIX}",
        std::process::id()
    )
}

/// Writes `bytes` to `path` atomically, creating its directory if needed.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    written_beside(path, bytes)?.persist(path)
}

/// Writes `bytes` to `path` atomically unless `path` exists, creating its
/// directory if needed: of several writers racing, exactly one wins and the
/// others get `ErrorKind::AlreadyExists` (a hard link from the temp file
/// refuses to replace). On a file system without hard links it falls back
/// to a rename, where the last writer wins.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = written_beside(path, bytes)?;
    match std::fs::hard_link(temp.path(), path) {
        // Dropping `temp` removes the temp name; the link keeps the file.
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(err),
        Err(_) => temp.persist(path),
    }
}

/// A temp file in `path`'s directory (created if needed) holding `bytes`.
fn written_beside(path: &Path, bytes: &[u8]) -> io::Result<TempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (temp, mut file) = TempFile::create(dir, &format!("{TEMP_PREFIX}.{name}"))?;
    file.write_all(bytes)?;
    drop(file);
    Ok(temp)
}

/// A file being written under a temp name. Dropping it without `persist`
/// removes it, so an error half-way never leaves a stray file behind (a
/// `kill -9` can; callers sweep old temp names).
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// Creates a temp file in `dir` (which must exist) named from `prefix`, and
    /// returns it with its open handle; drop the handle before `persist`.
    pub fn create(dir: &Path, prefix: &str) -> io::Result<(TempFile, File)> {
        let path = dir.join(unique_name(prefix));
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((TempFile { path: Some(path) }, file))
    }

    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Renames the (closed) file over `dest`, which makes it visible at once
    /// and whole: readers see the old file or the new one. On failure the temp
    /// file is removed.
    ///
    /// There is deliberately no fsync: the guarantee needed is that a killed
    /// process never leaves a half-written file that reads as valid, which
    /// temp + rename gives; readers verify what they read (the cache's hash),
    /// so power loss costs a miss, not a wrong result.
    pub fn persist(mut self, dest: &Path) -> io::Result<()> {
        let path = self.path.take().unwrap_or_default();
        std::fs::rename(&path, dest).inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn a_failed_rename_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A destination that is a non-empty directory cannot be replaced.
        let dest = dir.path().join("taken");
        std::fs::create_dir_all(dest.join("inside")).unwrap();
        assert!(write(&dest, b"x").is_err());
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(TEMP_PREFIX)
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn write_new_never_replaces_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/salt");
        write_new(&path, b"first").unwrap();
        let err = write_new(&path, b"second").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["salt"]);
    }

    #[test]
    fn names_never_repeat() {
        let a = unique_name("x");
        let b = unique_name("x");
        assert_ne!(a, b);
        assert!(a.starts_with("x.") && a.ends_with(TEMP_SUFFIX));
    }
}
