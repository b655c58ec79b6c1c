//! What each task's outputs looked like when we last wrote or restored them,
//! so a cache hit whose outputs are still in place skips the restore.
//!
//! Restoring means creating files (new inodes, renames): on a warm run of a
//! few hundred tasks that is most of the time. An output counts as intact when
//! its size, mtime, ctime and inode are as recorded; when the record was taken
//! so soon after the file changed that a later change could share its
//! timestamps (the racy-timestamp rule of the stat cache), the content hash
//! decides instead.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::history::write_atomically;

const RACY_MARGIN_NS: i64 = 2_000_000_000;

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct OutputFile {
    path: String,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    inode: u64,
    /// blake3 of the content (or of the link target for a symlink).
    hash: String,
}

/// The outputs of one task, as observed after a run or restore.
#[derive(Serialize, Deserialize, Clone)]
pub struct Recorded {
    key: String,
    recorded_at_ns: i64,
    files: Vec<OutputFile>,
}

#[derive(Default)]
pub struct OutputState {
    path: PathBuf,
    tasks: HashMap<String, Recorded>,
    changed: bool,
}

impl OutputState {
    pub fn load(state_dir: &Path) -> OutputState {
        let path = state_dir.join("outputs.json");
        let tasks = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        OutputState {
            path,
            tasks,
            changed: false,
        }
    }

    /// True when the outputs of `label` are exactly what the entry `key` holds.
    pub fn intact(&self, root: &Path, label: &str, key: &str) -> bool {
        let Some(recorded) = self.tasks.get(label) else {
            return false;
        };
        recorded.key == key
            && recorded.files.iter().all(|file| {
                let path = root.join(&file.path);
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    return false;
                };
                let observed = observe(&file.path, &meta, None);
                let same_stat = observed.size == file.size
                    && observed.mtime_ns == file.mtime_ns
                    && observed.ctime_ns == file.ctime_ns
                    && observed.inode == file.inode;
                let racy = file.mtime_ns >= recorded.recorded_at_ns - RACY_MARGIN_NS
                    || file.ctime_ns >= recorded.recorded_at_ns - RACY_MARGIN_NS;
                same_stat
                    && (!racy || content_hash(&path, &meta).as_deref() == Some(file.hash.as_str()))
            })
    }

    /// Applies what a run observed: `Some` records outputs, `None` forgets them.
    pub fn apply(&mut self, updates: Vec<(String, Option<Recorded>)>) {
        for (label, recorded) in updates {
            match recorded {
                Some(recorded) => {
                    self.tasks.insert(label, recorded);
                }
                None => {
                    self.tasks.remove(&label);
                }
            }
            self.changed = true;
        }
    }

    pub fn save(&self) {
        if !self.changed {
            return;
        }
        if let (Some(dir), Some(name), Ok(bytes)) = (
            self.path.parent(),
            self.path.file_name().and_then(|n| n.to_str()),
            serde_json::to_vec(&self.tasks),
        ) {
            // Losing this file only costs one restore per task.
            let _ = write_atomically(dir, name, &bytes);
        }
    }
}

/// Observes the outputs of a task as they are on disk now, for entry `key`.
/// `None` when one cannot be read: then nothing is recorded, and the next hit
/// restores, which is the safe direction.
pub fn observe_outputs(root: &Path, key: &str, outputs: &[PathBuf]) -> Option<Recorded> {
    let mut files = Vec::with_capacity(outputs.len());
    for rel in outputs {
        let path = root.join(rel);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if meta.is_dir() {
            continue;
        }
        let hash = content_hash(&path, &meta)?;
        files.push(observe(&rel.to_string_lossy(), &meta, Some(hash)));
    }
    let recorded_at_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    Some(Recorded {
        key: key.to_string(),
        recorded_at_ns,
        files,
    })
}

fn observe(path: &str, meta: &std::fs::Metadata, hash: Option<String>) -> OutputFile {
    OutputFile {
        path: path.to_string(),
        size: meta.len(),
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        inode: meta.ino(),
        hash: hash.unwrap_or_default(),
    }
}

fn content_hash(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    if meta.is_symlink() {
        let target = std::fs::read_link(path).ok()?;
        return Some(
            blake3::hash(target.as_os_str().as_encoded_bytes())
                .to_hex()
                .to_string(),
        );
    }
    xtask_hash::hash_file(path, meta.len())
        .ok()
        .map(|h| h.to_hex().to_string())
}
