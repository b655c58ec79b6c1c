//! Whether a cache hit's outputs are already on disk, so the restore (new
//! files, new inodes, renames: most of a warm run's time) can be skipped.
//!
//! Each cache entry lists the content hash of every output it holds. This
//! module remembers, per output file, the stat and content hash we last saw:
//! an output whose size, mtime, ctime and inode are unchanged since then is
//! not read again. Comparing contents rather than keys means that after an
//! edit is reverted, the outputs the older entry holds are recognised as
//! already in place. A record taken so soon after the file changed that a
//! later change could share its timestamps (the racy-timestamp rule of the
//! stat cache) is not trusted: the file is hashed again.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use xtask_toolbox::hex;
use xtask_toolbox::layout::{StateBucket, StateDir};
use xtask_toolbox::timestamps;

/// What we last saw of one output file.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Seen {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    inode: u64,
    /// blake3 of the content (or of the link target for a symlink).
    hash: String,
    recorded_at_ns: i64,
}

impl Seen {
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// Output files by workspace-relative path.
#[derive(Default)]
pub struct OutputState {
    path: PathBuf,
    files: HashMap<String, Seen>,
    changed: bool,
}

impl OutputState {
    pub fn load(state_dir: &StateDir) -> OutputState {
        let path = state_dir.path(StateBucket::Outputs);
        let files = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        OutputState {
            path,
            files,
            changed: false,
        }
    }

    /// True when every output an entry holds (`expected`: path → content
    /// hash) is on disk with that content. Also returns what was observed,
    /// to be recorded.
    pub fn intact(
        &self,
        root: &Path,
        expected: &BTreeMap<String, String>,
    ) -> (bool, Vec<(String, Seen)>) {
        let mut observed = Vec::new();
        for (path, hash) in expected {
            match self.current(root, path) {
                Some(seen) if &seen.hash == hash => observed.push((path.clone(), seen)),
                _ => return (false, Vec::new()),
            }
        }
        (true, observed)
    }

    /// The file as it is now, from the remembered stat when that is safe.
    fn current(&self, root: &Path, rel: &str) -> Option<Seen> {
        let abs = root.join(rel);
        let meta = std::fs::symlink_metadata(&abs).ok()?;
        if let Some(known) = self.files.get(rel) {
            let racy = timestamps::is_racy(known.mtime_ns, known.recorded_at_ns)
                || timestamps::is_racy(known.ctime_ns, known.recorded_at_ns);
            if !racy && same_stat(known, &meta) {
                return Some(known.clone());
            }
        }
        observe(&abs, &meta)
    }

    /// Applies what a run observed.
    pub fn apply(&mut self, observed: Vec<(String, Seen)>) {
        for (path, seen) in observed {
            if self.files.get(&path) != Some(&seen) {
                self.files.insert(path, seen);
                self.changed = true;
            }
        }
    }

    pub fn save(&self) {
        if !self.changed {
            return;
        }
        if let Ok(bytes) = serde_json::to_vec(&self.files) {
            // Losing this file only costs one restore per task.
            let _ = xtask_toolbox::atomic::write(&self.path, &bytes);
        }
    }
}

/// Observes output files as they are on disk now (after a run or a
/// restore): path → what was seen. A file that cannot be read is left out;
/// an entry without its hash is simply restored next time.
pub fn observe_files(root: &Path, outputs: &[PathBuf]) -> Vec<(String, Seen)> {
    outputs
        .iter()
        .filter_map(|rel| {
            let abs = root.join(rel);
            let meta = std::fs::symlink_metadata(&abs).ok()?;
            if meta.is_dir() {
                return None;
            }
            Some((rel.to_string_lossy().into_owned(), observe(&abs, &meta)?))
        })
        .collect()
}

/// Records files just restored from a verified entry: their content is the
/// entry's, so only their stat is read.
pub fn restored_files(root: &Path, hashes: &BTreeMap<String, String>) -> Vec<(String, Seen)> {
    hashes
        .iter()
        .filter_map(|(rel, hash)| {
            let meta = std::fs::symlink_metadata(root.join(rel)).ok()?;
            let mut seen = stat_only(&meta);
            seen.hash = hash.clone();
            Some((rel.clone(), seen))
        })
        .collect()
}

fn same_stat(known: &Seen, meta: &std::fs::Metadata) -> bool {
    known.size == meta.len()
        && known.mtime_ns == timestamps::mtime_ns(meta)
        && known.ctime_ns == timestamps::ctime_ns(meta)
        && known.inode == meta.ino()
}

fn observe(path: &Path, meta: &std::fs::Metadata) -> Option<Seen> {
    let hash = if meta.is_symlink() {
        let target = std::fs::read_link(path).ok()?;
        hex::encode(blake3::hash(target.as_os_str().as_encoded_bytes()).as_bytes())
    } else {
        hex::encode(xtask_hash::hash_file(path, meta.len()).ok()?.as_bytes())
    };
    Some(Seen {
        hash,
        ..stat_only(meta)
    })
}

fn stat_only(meta: &std::fs::Metadata) -> Seen {
    Seen {
        size: meta.len(),
        mtime_ns: timestamps::mtime_ns(meta),
        ctime_ns: timestamps::ctime_ns(meta),
        inode: meta.ino(),
        hash: String::new(),
        recorded_at_ns: timestamps::ns_since_epoch(SystemTime::now()),
    }
}
