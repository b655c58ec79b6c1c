//! Input discovery and content hashing.
//!
//! [`snapshot`] walks the workspace once, the way git sees it (tracked and
//! untracked files that no ignore rule excludes), and gives every file a
//! blake3 content hash. Hashes are remembered in a [`StatCache`] keyed by
//! (size, mtime, ctime, inode, mode), so a warm run only stats files. This
//! crate does no network I/O and knows nothing of tasks.

mod discover;
mod git_index;
mod stat_cache;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

pub use stat_cache::{FileStat, StatCache};

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Workspace-relative, `/`-separated.
    pub path: String,
    pub hash: blake3::Hash,
    pub executable: bool,
    /// What `stat` said when the file was hashed: a task's inputs are
    /// compared with it again after the task ran.
    pub stat: FileStat,
}

/// Every input file of the workspace, sorted by path.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub files: Vec<FileEntry>,
    /// How many files were hashed (not answered by the stat cache).
    pub hashed: usize,
    /// Bytes read to hash them.
    pub hashed_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("failed to walk {path}")]
    Walk {
        path: PathBuf,
        #[source]
        source: ignore::Error,
    },
    #[error("failed to read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Walking and reading the workspace fail only for reasons of the machine.
impl xtask_toolbox::fault::Classify for HashError {
    fn fault(&self) -> xtask_toolbox::fault::Fault {
        xtask_toolbox::fault::Fault::System
    }
}

/// Walks `root` (skipping `.git` and the workspace-relative `skip` dirs, such
/// as the target and cache directories) and hashes every file, reusing
/// `cache` where the file's stat is unchanged. `cache` is updated in place;
/// the caller saves it.
pub fn snapshot(
    root: &Path,
    skip: &[String],
    cache: &mut StatCache,
) -> Result<Snapshot, HashError> {
    let scan_started = SystemTime::now();
    let found = discover::walk(root, skip, cache.len())?;

    let results: Vec<Result<(FileEntry, Option<u64>), HashError>> = found
        .par_iter()
        .map(|file| {
            let executable = file.stat.mode & 0o100 != 0;
            if let Some(hash) = cache.get(&file.path, &file.stat) {
                let entry = FileEntry {
                    path: file.path.clone(),
                    hash,
                    executable,
                    stat: file.stat,
                };
                return Ok((entry, None));
            }
            let abs = root.join(&file.path);
            let hash = if file.is_symlink {
                hash_symlink(&abs)?
            } else {
                hash_file(&abs, file.stat.size)?
            };
            let entry = FileEntry {
                path: file.path.clone(),
                hash,
                executable,
                stat: file.stat,
            };
            Ok((entry, Some(file.stat.size)))
        })
        .collect();

    let mut snapshot = Snapshot::default();
    let mut fresh = StatCache::new_generation(scan_started);
    for (file, result) in found.iter().zip(results) {
        let (entry, hashed) = result?;
        if let Some(bytes) = hashed {
            snapshot.hashed += 1;
            snapshot.hashed_bytes += bytes;
        }
        fresh.insert(&file.path, file.stat, entry.hash);
        snapshot.files.push(entry);
    }
    *cache = fresh;
    snapshot.files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    Ok(snapshot)
}

/// Hashes the content of one file. Large files are memory-mapped, which lets
/// blake3 use its widest SIMD path without copying.
pub fn hash_file(path: &Path, size_hint: u64) -> Result<blake3::Hash, HashError> {
    let io = |source| HashError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut hasher = blake3::Hasher::new();
    if size_hint >= 128 * 1024 {
        hasher.update_mmap(path).map_err(io)?;
    } else {
        let bytes = std::fs::read(path).map_err(io)?;
        hasher.update(&bytes);
    }
    Ok(hasher.finalize())
}

/// Hashes a symlink by where it points and, when that is a file, by the
/// file's content: a task that reads through the link reads the content, so
/// editing the target (even outside the workspace) must change the key. The
/// stat the cache compares is the target's (see `discover.rs`).
fn hash_symlink(path: &Path) -> Result<blake3::Hash, HashError> {
    let target = std::fs::read_link(path).map_err(|source| HashError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"symlink\0");
    hasher.update(target.as_os_str().as_encoded_bytes());
    if let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
    {
        hasher.update(b"\0content\0");
        hasher.update(hash_file(path, meta.len())?.as_bytes());
    }
    Ok(hasher.finalize())
}
