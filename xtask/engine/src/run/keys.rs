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
use crate::env::Environment;
use crate::events::Event;
use crate::key::DiscoveredInputs;
use crate::plan::Plan;
use crate::plan::PlannedTask;
use crate::settle;
use crate::task_graph::NodeIndex;
use crate::tiered_cache::TieredCache;
use crate::workspace::Workspace;

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
        command_env(self.ws, self.plan, self.env, node)
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
        let warn = |message| self.sink.event(Event::Warning { message });
        let sources = ManifestSources {
            ws: self.ws,
            plan: self.plan,
            env: self.env,
            cache: self.cache,
        };
        sources.manifest(label, declared_key, &warn)
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

/// Where a declared key's discovered-inputs manifest is looked up: what a run
/// and a dry run (`settle::settled_for_dry_run`) share.
pub(crate) struct ManifestSources<'s> {
    pub ws: &'s Workspace,
    pub plan: &'s Plan,
    pub env: &'s Environment,
    pub cache: &'s TieredCache<'s>,
}

impl ManifestSources<'_> {
    /// The values `names` have now, as `node`'s commands would see them.
    pub(crate) fn resolve(&self, node: NodeIndex, names: &DiscoveredNames) -> DiscoveredInputs {
        let command_env = command_env(self.ws, self.plan, self.env, node);
        Resolver {
            root: &self.ws.root,
            snapshot: &self.plan.snapshot,
            env: &command_env,
        }
        .resolve(names)
    }

    /// The manifest of `declared_key`: local, then remote (also when the
    /// local one is damaged or empty). One from an unsigned remote that names
    /// what it may not is refused with a warning through `warn`.
    pub(crate) fn manifest(
        &self,
        label: &str,
        declared_key: &str,
        warn: &dyn Fn(String),
    ) -> Option<DiscoveredNames> {
        if let Some(names) = crate::plan::local_manifest(self.ws, declared_key) {
            return Some(names);
        }
        let key = discovered::manifest_key(declared_key);
        let admit = |meta: &[u8]| {
            let Some(names) = DiscoveredNames::parse(meta) else {
                return false;
            };
            let Some(name) = self.refused_from_unsigned_remote(&names) else {
                return true;
            };
            warn(format!(
                "{label}: a discovered-inputs manifest from the remote cache names `{}`, which an unsigned remote may not name (its key would reveal that value to whoever watches the remote); not using it, the task runs\nhint: set XTASK_REMOTE_CACHE_SIGNATURE_KEY on every machine sharing the remote to trust what it serves",
                xtask_toolbox::quote::quote_name(name.as_bytes())
            ));
            false
        };
        match self.cache.lookup_remote_admitted(label, &key, &admit) {
            Ok(Lookup::Hit(entry)) => {
                DiscoveredNames::parse(entry.meta()).filter(|names| !names.is_empty())
            }
            _ => None,
        }
    }

    /// The first name an unsigned remote's manifest may not hold (see
    /// `discovered::UnsignedRemoteNames`).
    fn refused_from_unsigned_remote<'n>(&self, names: &'n DiscoveredNames) -> Option<&'n str> {
        let outside_dirs = self.ws.graph.outside_path_dirs();
        let is_secret_name = |name: &str| self.env.is_secret_name(name);
        discovered::UnsignedRemoteNames {
            root: &self.ws.root,
            snapshot: &self.plan.snapshot,
            outside_dirs: &outside_dirs,
            is_secret_name: &is_secret_name,
        }
        .refused(names)
    }
}

/// The environment `node`'s commands run with.
fn command_env(
    ws: &Workspace,
    plan: &Plan,
    env: &Environment,
    node: NodeIndex,
) -> Vec<(OsString, OsString)> {
    env.for_command(
        &plan.graph.nodes[node].def,
        ws.pipeline.env_mode,
        &ws.pipeline.global_env,
    )
}
