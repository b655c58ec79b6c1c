//! Input discovery and content hashing.
//!
//! [`snapshot`] walks the workspace once, the way git sees it (tracked and
//! untracked files that no ignore rule excludes), and gives every file a
//! blake3 content hash. Hashes are remembered in a [`StatCache`] keyed by
//! (size, mtime, ctime, inode, mode), so a warm run only stats files. This
//! crate does no network I/O and knows nothing of tasks.

mod discover;
mod git_index;
mod global_excludes;
mod stat_cache;
mod walker;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

pub use global_excludes::global_excludes_file;
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
        source: std::io::Error,
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

/// Fewer files to hash than this are hashed on the calling thread: an edit
/// or two is not worth starting the pool for.
const PARALLEL_FROM: usize = 8;

/// Walks `root` (skipping `.git` and the workspace-relative `skip` dirs, such
/// as the target and cache directories) and hashes every file, reusing
/// `cache` where the file's stat is unchanged. When anything was hashed,
/// `cache` is replaced by what this walk saw, for the caller to save;
/// otherwise it is left as it was.
pub fn snapshot(
    root: &Path,
    skip: &[String],
    cache: &mut StatCache,
) -> Result<Snapshot, HashError> {
    let scan_started = SystemTime::now();
    let mut found = discover::walk(root, skip, cache.len())?;
    // In name order: the stat cache is, so each lookup compares with the
    // next record only, and the snapshot comes out sorted.
    found.sort_unstable_by(|a, b| a.path.cmp(&b.path));

    // The stat cache answers first, on this thread: a warm run hashes
    // nothing, and starting the thread pool for lookups alone cost more
    // than the lookups (threads, cgroup reads, spinning workers).
    let mut lookups = cache.lookups();
    let mut hashes: Vec<Option<blake3::Hash>> = found
        .iter()
        .map(|file| lookups.get(&file.path, &file.stat))
        .collect();
    let misses: Vec<usize> = (0..found.len()).filter(|&i| hashes[i].is_none()).collect();
    let hash_one = |&i: &usize| {
        let file = &found[i];
        let abs = root.join(&file.path);
        if file.is_symlink {
            hash_symlink(&abs)
        } else {
            hash_file(&abs, file.stat.size)
        }
    };
    let hashed: Vec<Result<blake3::Hash, HashError>> = if misses.len() < PARALLEL_FROM {
        misses.iter().map(hash_one).collect()
    } else {
        misses.par_iter().map(hash_one).collect()
    };

    let mut snapshot = Snapshot::default();
    for (&i, hash) in misses.iter().zip(hashed) {
        hashes[i] = Some(hash?);
        snapshot.hashed += 1;
        snapshot.hashed_bytes += found[i].stat.size;
    }
    // Nothing hashed: the loaded cache answered every file and stays as it
    // is (the caller has nothing to save). Otherwise a new generation holds
    // exactly the files found, under the racy-timestamp rule.
    let mut fresh = (snapshot.hashed > 0).then(|| StatCache::new_generation(scan_started));
    // Every slot is filled now: answered by the stat cache or just hashed.
    for (file, hash) in found.into_iter().zip(hashes) {
        let Some(hash) = hash else { continue };
        if let Some(fresh) = &mut fresh {
            fresh.insert(&file.path, file.stat, hash);
        }
        snapshot.files.push(FileEntry {
            executable: file.stat.mode & 0o100 != 0,
            path: file.path,
            hash,
            stat: file.stat,
        });
    }
    if let Some(fresh) = fresh {
        *cache = fresh;
    }
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
