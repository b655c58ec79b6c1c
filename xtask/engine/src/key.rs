//! Task keys: blake3 over a canonical, versioned encoding of everything that
//! can change a task's result. The encoding ([`KeyInputs`]) is also kept as
//! the task's input manifest, so `explain` can say what changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xtask_toolbox::hex;

/// Bump when the meaning of any field changes: every key changes with it.
const KEY_FORMAT: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct KeyInputs {
    pub format: u32,
    pub package: String,
    /// The package directory: outputs are restored there, so two packages
    /// with identical files must not share entries.
    pub dir: String,
    pub task: String,
    /// The task's own definition, as it applies to this package.
    pub definition: KeyDefinition,
    /// Input files: path → content hash (`+x` when executable).
    pub files: BTreeMap<String, String>,
    /// Files matching `global-inputs`.
    pub global_files: BTreeMap<String, String>,
    /// Declared variables: name → blake3 of the value, or `<unset>`. Shown
    /// and stored only salted (env_salt.rs).
    pub env: BTreeMap<String, String>,
    /// Keys of the tasks this one depends on, by label.
    pub dependencies: BTreeMap<String, String>,
    /// Only for the built-in cargo kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cargo: Option<CargoInputs>,
    /// What cargo reported the last run of this task read beyond the
    /// inputs above, with the values those names have now (see
    /// `discovered.rs`). Absent until a run has reported anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered: Option<DiscoveredInputs>,
}

/// A task's definition as its key sees it. Its own type, with the fields
/// named here rather than serialized from the configuration's `TaskDef`: a
/// renamed or retyped config field never changes keys by accident, and no
/// part of a definition can fail to encode (which would let two tasks share
/// a key). `pass-env` is absent on purpose: passed variables are not hashed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KeyDefinition {
    /// The shell command, for a command task.
    pub command: Option<String>,
    /// The built-in cargo kind (`build`, `check`, `lint`, `test`).
    pub cargo: Option<String>,
    /// `depends-on` as written (`^task`, `task`, `pkg#task`).
    pub depends_on: Vec<String>,
    /// `inputs` as written; `None`: the package's default inputs.
    pub inputs: Option<Vec<String>>,
    pub outputs: Vec<String>,
    /// The outputs stored and restored (declared, or a cargo kind's own).
    pub effective_outputs: Vec<String>,
    pub env: Vec<String>,
    pub cache: bool,
    pub persistent: bool,
    pub args: Vec<String>,
    pub profile: Option<String>,
    pub features: Vec<String>,
}

impl KeyDefinition {
    pub fn of(def: &xtask_config::TaskDef, effective_outputs: Vec<String>) -> KeyDefinition {
        use xtask_config::{Action, CargoKind, TaskDependency};
        let (command, cargo) = match &def.action {
            Action::Shell(command) => (Some(command.clone()), None),
            Action::Cargo(kind) => {
                let name = match kind {
                    CargoKind::Build => "build",
                    CargoKind::Check => "check",
                    CargoKind::Lint => "lint",
                    CargoKind::Test => "test",
                };
                (None, Some(name.to_string()))
            }
            Action::Nothing => (None, None),
        };
        let depends_on = def
            .depends_on
            .iter()
            .map(|dep| match dep {
                TaskDependency::Upstream(task) => format!("^{task}"),
                TaskDependency::SamePackage(task) => task.clone(),
                TaskDependency::Named { package, task } => format!("{package}#{task}"),
            })
            .collect();
        KeyDefinition {
            command,
            cargo,
            depends_on,
            inputs: def
                .inputs
                .as_ref()
                .map(|patterns| patterns.iter().map(ToString::to_string).collect()),
            outputs: def.outputs.iter().map(ToString::to_string).collect(),
            effective_outputs,
            env: def.env.clone(),
            cache: def.cache,
            persistent: def.persistent,
            args: def.args.clone(),
            profile: def.profile.clone(),
            features: def.features.clone(),
        }
    }
}

/// Discovered inputs and their current values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DiscoveredInputs {
    /// Path (workspace-relative, or absolute outside it) → content hash.
    pub files: BTreeMap<String, String>,
    /// Variable → hash of its value, or `<unset>`.
    pub env: BTreeMap<String, String>,
}

/// What a cargo invocation compiles besides the package's own files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CargoInputs {
    /// Content digest of every workspace crate in the package's dependency
    /// closure, by name.
    pub closure: BTreeMap<String, String>,
    /// The package's resolved external crates from Cargo.lock:
    /// `name version` → `source checksum`.
    pub external: BTreeMap<String, String>,
    /// Root files that configure compilation: Cargo.lock, toolchain and
    /// cargo config files, and the root manifest without our own metadata.
    pub workspace_files: BTreeMap<String, String>,
    /// `rustc -vV`.
    pub rustc: String,
}

impl KeyInputs {
    pub fn new(package: &str, dir: &str, task: &str, definition: KeyDefinition) -> KeyInputs {
        KeyInputs {
            format: KEY_FORMAT,
            package: package.to_string(),
            dir: dir.to_string(),
            task: task.to_string(),
            definition,
            files: BTreeMap::new(),
            global_files: BTreeMap::new(),
            env: BTreeMap::new(),
            dependencies: BTreeMap::new(),
            cargo: None,
            discovered: None,
        }
    }

    /// The key: 64 lowercase hex characters.
    pub fn key(&self) -> String {
        // serde_json writes struct fields in declaration order and BTreeMaps
        // sorted, so the encoding is canonical. It cannot fail (string keys,
        // no custom serializers); if it ever did, sharing an empty encoding
        // would make different tasks share a key, so stop instead.
        // One buffer per thread, reused: a plan encodes one key per task,
        // and growing a fresh buffer for each was a tenth of the encoding.
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with_borrow_mut(|encoded| {
            encoded.clear();
            serde_json::to_writer(&mut *encoded, self).expect("key inputs always serialize");
            hex::encode(blake3::hash(encoded).as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_every_part() {
        let base = KeyInputs::new("a", "crates/a", "build", KeyDefinition::default());
        let mut changed = Vec::new();
        let mut k = base.clone();
        k.files.insert("src/lib.rs".into(), "00".into());
        changed.push(k);
        let mut k = base.clone();
        k.env.insert("MODE".into(), "<unset>".into());
        changed.push(k);
        let mut k = base.clone();
        k.dependencies.insert("b#build".into(), "ff".into());
        changed.push(k);
        let mut k = base.clone();
        k.dir = "crates/b".into();
        changed.push(k);
        let mut k = base.clone();
        k.definition.args = vec!["--all-targets".into()];
        changed.push(k);
        let mut k = base.clone();
        k.discovered = Some(DiscoveredInputs::default());
        changed.push(k);
        let mut k = base.clone();
        k.discovered = Some(DiscoveredInputs {
            files: BTreeMap::from([("shared/x".into(), "01".into())]),
            env: BTreeMap::new(),
        });
        changed.push(k);
        for k in &changed {
            assert_ne!(k.key(), base.key());
        }
        assert_eq!(base.key(), base.clone().key());
        assert_eq!(base.key().len(), 64);
    }
}
