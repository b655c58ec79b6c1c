//! The key a task is looked up and stored under while the run goes
//! (`settle.rs` does the settling): its dependencies' final keys, and the
//! discovered-inputs manifest of its declared key, looked up locally, then
//! on the remote.

use std::borrow::Cow;
use std::ffi::OsString;
use std::time::Duration;

use xtask_cache::{Artifact, Lookup};

use super::Runner;
use crate::discovered::{self, DiscoveredNames, Resolver};
use crate::plan::PlannedTask;
use crate::settle;
use crate::task_graph::NodeIndex;

impl<'a> Runner<'a> {
    /// The task as it must be looked up now (see `settle.rs`).
    pub(super) fn settled(&self, node: NodeIndex) -> Cow<'a, PlannedTask> {
        // The task's environment is computed only if a manifest must be
        // valued: most tasks of a warm run never need it.
        settle::settle(
            self.plan,
            node,
            self.final_keys,
            |declared| self.manifest(self.plan.graph.label(node), declared),
            |names| {
                let command_env = self.command_env(node);
                self.resolver(&command_env).resolve(names)
            },
        )
    }

    pub(super) fn command_env(&self, node: NodeIndex) -> Vec<(OsString, OsString)> {
        self.env.for_command(
            &self.plan.graph.nodes[node].def,
            self.ws.pipeline.env_mode,
            &self.ws.pipeline.global_env,
        )
    }

    pub(super) fn resolver<'e>(&'e self, command_env: &'e [(OsString, OsString)]) -> Resolver<'e> {
        Resolver {
            root: &self.ws.root,
            snapshot: &self.plan.snapshot,
            env: command_env,
        }
    }

    /// The discovered-inputs manifest of a declared key: local, then remote
    /// (also when the local one is damaged or empty).
    fn manifest(&self, label: &str, declared_key: &str) -> Option<DiscoveredNames> {
        if let Some(names) = crate::plan::local_manifest(self.ws, declared_key) {
            return Some(names);
        }
        let key = discovered::manifest_key(declared_key);
        match self.cache.lookup_remote(label, &key) {
            Ok(Lookup::Hit(entry)) => {
                DiscoveredNames::parse(entry.meta()).filter(|names| !names.is_empty())
            }
            _ => None,
        }
    }

    pub(super) fn store_manifest(&self, label: &str, declared_key: &str, names: &DiscoveredNames) {
        let key = discovered::manifest_key(declared_key);
        let meta = names.to_json();
        let artifact = Artifact {
            meta: &meta,
            log: b"",
            base_dir: &self.ws.root,
            outputs: &[],
        };
        // Losing a manifest costs the next run a miss, never a wrong hit.
        self.cache.store(label, &key, &artifact, Duration::ZERO);
    }
}
