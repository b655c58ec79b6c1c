//! A task's cache entry: restoring a hit (outputs already intact are left
//! alone, the log is replayed) and storing a result with the `meta.json`
//! that lets the next hit see its outputs are in place.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use xtask_cache::{Artifact, Lookup, RestoreLimits};

use super::{Runner, error_chain};
use crate::events::{Event, TaskStatus};
use crate::history::Manifest;
use crate::output_state::{self, Seen};
use crate::outputs::{self, OutputGlobs};
use crate::plan::PlannedTask;
use crate::task_graph::NodeIndex;

/// What the cache entry's `meta.json` holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryMeta {
    task: String,
    key: String,
    duration_ms: u128,
    /// Output path → blake3 of its content: lets a hit see that its outputs
    /// are already in place.
    outputs: BTreeMap<String, String>,
}

impl Runner<'_> {
    /// A hit restores the outputs and replays the log. A corrupt entry or a
    /// failed restore is a miss (with a warning), never a failed task.
    pub(super) fn try_restore(&self, node: NodeIndex, planned: &PlannedTask) -> Option<TaskStatus> {
        let label = self.plan.graph.label(node);
        let started = Instant::now();
        let entry = match self.cache.lookup(label, &planned.key) {
            Ok(Lookup::Hit(entry)) => entry,
            Ok(Lookup::Miss) => return None,
            Ok(Lookup::Corrupt { reason, .. }) => {
                self.sink.event(Event::Warning {
                    message: format!("{label}: the cache entry {} was corrupt ({reason}); removed it and running the task", planned.key),
                });
                return None;
            }
            Err(error) => {
                self.cache.read_failed(label, &error);
                return None;
            }
        };
        // Only the task's own outputs, resolved as when they were stored.
        let task = &self.plan.graph.nodes[node];
        let globs = OutputGlobs::new(&self.ws.graph.packages[task.package].dir, &planned.outputs);
        // Entries whose meta does not parse (written before outputs carried
        // hashes), or that list a path that is not an output, are always
        // restored (and the restore refuses what is not an output).
        let outputs = serde_json::from_slice::<EntryMeta>(entry.meta())
            .map(|m| m.outputs)
            .ok()
            .filter(|outputs| outputs.keys().all(|path| globs.allows_listed(path)));
        let (intact, observed) = match &outputs {
            Some(outputs) => self.output_state.intact(&self.ws.root, outputs),
            None => (false, Vec::new()),
        };
        if intact {
            self.record_outputs(observed);
        } else {
            if let Err(error) =
                entry.restore_outputs(&self.ws.root, &RestoreLimits::default(), &globs)
            {
                self.sink.event(Event::Warning {
                    message: format!(
                        "{label}: could not restore outputs from the cache: {}; running the task",
                        error_chain(&error)
                    ),
                });
                return None;
            }
            if let Some(outputs) = &outputs {
                self.record_outputs(output_state::restored_files(&self.ws.root, outputs));
            }
        }
        self.remember(label, planned);
        self.finished(node, planned, &TaskStatus::Cached, started, entry.log());
        Some(TaskStatus::Cached)
    }

    /// Stores a result that ran `duration`: its outputs (with their hashes in
    /// the meta) and its log, locally and, queued, on the remote.
    pub(super) fn store(
        &self,
        node: NodeIndex,
        planned: &PlannedTask,
        log: &[u8],
        duration: Duration,
    ) {
        if self.cache.writes_off() {
            return;
        }
        let task = &self.plan.graph.nodes[node];
        let label = self.plan.graph.label(node);
        let package_dir = &self.ws.graph.packages[task.package].dir;
        let found = outputs::collect(&self.ws.root, package_dir, &planned.outputs);
        if found.is_empty() && !planned.outputs.is_empty() {
            self.sink.event(Event::Warning {
                message: format!(
                    "{label}: no file matched its outputs ({}); check the `outputs` globs",
                    xtask_config::glob::join(&planned.outputs)
                ),
            });
        }
        let observed = output_state::observe_files(&self.ws.root, &found);
        let meta = EntryMeta {
            task: label.to_string(),
            key: planned.key.clone(),
            duration_ms: duration.as_millis(),
            outputs: observed
                .iter()
                .map(|(path, seen)| (path.clone(), seen.hash().to_string()))
                .collect(),
        };
        let meta = serde_json::to_vec(&meta).unwrap_or_default();
        let artifact = Artifact {
            meta: &meta,
            log,
            base_dir: &self.ws.root,
            outputs: &found,
        };
        if self.cache.store(label, &planned.key, &artifact, duration) {
            self.remember(label, planned);
            self.record_outputs(observed);
        }
    }

    fn record_outputs(&self, observed: Vec<(String, Seen)>) {
        let mut updates = self
            .output_updates
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        updates.extend(observed);
    }

    /// The history `explain` compares the next run with: kept in memory and
    /// written when the run ends. Encoded outside the lock, and only when
    /// the task's key changed (a warm run encodes nothing).
    fn remember(&self, label: &str, planned: &PlannedTask) {
        let lock = || self.history.lock().unwrap_or_else(|e| e.into_inner());
        if lock().is_current(label, &planned.key) {
            return;
        }
        let manifest = Manifest::of(&planned.shown_inputs(&self.plan.env_salt));
        lock().record(label, &planned.key, manifest);
    }
}
