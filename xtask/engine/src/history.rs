//! The input manifest of each task's last successful run, kept so that
//! `explain` can compare it with the inputs of now.
//!
//! An index (label → key) is read once per run; a task's manifest file is
//! written only when its key changed, so a warm run writes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xtask_toolbox::layout::{StateBucket, StateDir};

use crate::key::KeyInputs;

pub struct History {
    dir: PathBuf,
    index: BTreeMap<String, String>,
    changed: bool,
}

impl History {
    pub fn load(state_dir: &StateDir) -> History {
        let dir = state_dir.path(StateBucket::History);
        let index = std::fs::read(dir.join(INDEX))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        History {
            dir,
            index,
            changed: false,
        }
    }

    /// Remembers that `label` last succeeded with these inputs.
    pub fn record(&mut self, label: &str, key: &str, inputs: &KeyInputs) {
        if self.index.get(label).map(String::as_str) == Some(key) {
            return;
        }
        if let Ok(bytes) = serde_json::to_vec(inputs)
            && write_atomically(&self.dir, &manifest_name(label), &bytes).is_ok()
        {
            self.index.insert(label.to_string(), key.to_string());
            self.changed = true;
        }
    }

    /// Writes the index if anything changed. Losing it only makes `explain`
    /// less precise.
    pub fn save(&self) {
        if self.changed
            && let Ok(bytes) = serde_json::to_vec(&self.index)
        {
            let _ = write_atomically(&self.dir, INDEX, &bytes);
        }
    }

    /// The key of `label`'s last recorded success.
    pub fn last_key(state_dir: &StateDir, label: &str) -> Option<String> {
        let bytes = std::fs::read(state_dir.path(StateBucket::History).join(INDEX)).ok()?;
        let index: BTreeMap<String, String> = serde_json::from_slice(&bytes).ok()?;
        index.get(label).cloned()
    }

    /// The inputs of `label`'s last recorded success (env values salted).
    pub fn last(state_dir: &StateDir, label: &str) -> Option<KeyInputs> {
        let dir = state_dir.path(StateBucket::History);
        let bytes = std::fs::read(dir.join(manifest_name(label))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The index (label → key) inside the history bucket, beside one
/// `manifest_name` file per task.
const INDEX: &str = "index.json";

fn manifest_name(label: &str) -> String {
    format!("{}.json", &blake3::hash(label.as_bytes()).to_hex()[..24])
}

/// Temp file then rename (the toolbox's), so readers never see a torn file.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    xtask_toolbox::atomic::write(&dir.join(name), bytes)
}
