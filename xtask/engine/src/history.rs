//! The input manifest of each task's last successful run, kept so that
//! `explain` can compare it with the inputs of now.
//!
//! A run reads the index (label → key) once, keeps what it records in
//! memory and writes it when it ends, as one segment file and the index
//! (`store.rs`): nothing is written on a task's path, a warm run writes
//! nothing, and a killed run leaves the history of the runs before it as
//! it was (its own tasks are recorded by the next run that hits them).

mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;

use xtask_toolbox::layout::{StateBucket, StateDir};

pub use self::store::HistoryError;
use self::store::{Index, Lock};
use crate::key::KeyInputs;

pub struct History {
    dir: PathBuf,
    /// label → key, as the index said when the run began.
    known: BTreeMap<String, String>,
    /// What this run recorded: label → (key, manifest).
    recorded: BTreeMap<String, (String, Manifest)>,
    /// The index was unusable when loaded, and the caller was told.
    warned: bool,
}

/// A task's inputs encoded as the history stores them (env values salted:
/// see `PlannedTask::shown_inputs`). Encoded before taking the run's lock
/// on the history, so workers do not wait on each other's encoding.
pub struct Manifest(Vec<u8>);

impl Manifest {
    pub fn of(inputs: &KeyInputs) -> Manifest {
        // A KeyInputs is maps and strings: encoding it cannot fail.
        Manifest(serde_json::to_vec(inputs).unwrap_or_default())
    }
}

/// A task's last recorded success.
#[derive(Debug)]
pub struct LastSuccess {
    pub key: String,
    /// Env values salted, as shown.
    pub inputs: KeyInputs,
}

impl History {
    /// The history as the last runs left it, and the one warning to show
    /// when it could not be used (it is then empty, and this run's save
    /// replaces it).
    pub fn load(state_dir: &StateDir) -> (History, Option<String>) {
        let dir = state_dir.path(StateBucket::History);
        let (known, warning) = match store::read_index(&dir) {
            Ok(index) => (keys(index), None),
            Err(error) => (BTreeMap::new(), Some(error.warning())),
        };
        let history = History {
            dir,
            known,
            recorded: BTreeMap::new(),
            warned: warning.is_some(),
        };
        (history, warning)
    }

    /// True when `label`'s last success is already recorded under `key`
    /// (a hit of an unchanged task): nothing to encode or write.
    pub fn is_current(&self, label: &str, key: &str) -> bool {
        let last = match self.recorded.get(label) {
            Some((recorded, _)) => Some(recorded),
            None => self.known.get(label),
        };
        last.is_some_and(|last| last == key)
    }

    /// Remembers that `label` succeeded with `key` and these inputs; written
    /// by [`History::save`].
    pub fn record(&mut self, label: &str, key: &str, manifest: Manifest) {
        if !self.is_current(label, key) {
            self.recorded
                .insert(label.to_string(), (key.to_string(), manifest));
        }
    }

    /// Writes what this run recorded, merged into what other runs wrote
    /// meanwhile, under the history's lock. Returns the one warning to show
    /// if that failed; losing the history only makes `explain` less precise.
    pub fn save(self) -> Option<String> {
        if self.recorded.is_empty() {
            return None;
        }
        let failed = |error: std::io::Error| {
            Some(format!(
                "could not save the task history in {}: {error}; `cargo xtask explain` compares with the runs before this one",
                self.dir.display()
            ))
        };
        if let Err(error) = std::fs::create_dir_all(&self.dir) {
            return failed(error);
        }
        let lock = store::lock(&self.dir);
        if matches!(lock, Lock::Busy) {
            return Some(format!(
                "did not save the task history: another run has held {} for seconds; the next run records these tasks",
                self.dir.join("lock").display()
            ));
        }
        let mut warning = None;
        let mut index = store::read_index(&self.dir).unwrap_or_else(|error| {
            if !self.warned {
                warning = Some(error.warning());
            }
            Index::new()
        });
        let records = self
            .recorded
            .iter()
            .map(|(label, (key, manifest))| (label.as_str(), key.as_str(), manifest.0.as_slice()));
        match store::write_segment(&self.dir, records, &crate::random_token()) {
            Ok(written) => index.extend(written),
            Err(error) => return failed(error),
        }
        // Without a lock another saver may be between its segment and its
        // index: delete nothing.
        let may_delete = matches!(lock, Lock::Held { .. });
        if may_delete && store::live_segments(&index).len() > store::MAX_SEGMENTS {
            // On failure the index keeps pointing at the old segments.
            if let Ok(compacted) = store::compact(&self.dir, &index, &crate::random_token()) {
                index = compacted;
            }
        }
        if let Err(error) = store::write_index(&self.dir, &index) {
            return failed(error);
        }
        if may_delete {
            store::collect_garbage(&self.dir, &index);
        }
        drop(lock);
        warning
    }

    /// `label`'s last recorded success, if the history has one.
    pub fn last(state_dir: &StateDir, label: &str) -> Result<Option<LastSuccess>, HistoryError> {
        let dir = state_dir.path(StateBucket::History);
        let index = store::read_index(&dir)?;
        let Some(pointer) = index.get(label) else {
            return Ok(None);
        };
        let record = store::read_record(&dir, label, pointer)?;
        let inputs = serde_json::from_slice(&record).map_err(|error| HistoryError::Invalid {
            path: dir.clone(),
            reason: format!(
                "the record of `{}` is not a task's inputs: {error}",
                xtask_toolbox::quote::quote_name(label.as_bytes())
            ),
        })?;
        Ok(Some(LastSuccess {
            key: pointer.key.clone(),
            inputs,
        }))
    }
}

fn keys(index: Index) -> BTreeMap<String, String> {
    index
        .into_iter()
        .map(|(label, pointer)| (label, pointer.key))
        .collect()
}

impl HistoryError {
    /// The warning for a history that cannot be used: what, and that it
    /// mends itself.
    pub fn warning(&self) -> String {
        format!(
            "ignoring the task history: {self}; runs replace it as they record tasks (or delete it)"
        )
    }
}

#[cfg(test)]
mod tests;
