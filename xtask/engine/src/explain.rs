//! "Why did this miss the cache?": the difference between a task's inputs now
//! and those of its last successful run.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::key::{KeyDefinition, KeyInputs};

/// One difference: what kind of input, which one, and how it differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub name: String,
    pub what: Difference,
}

/// Which part of the key inputs differs; shown as a person reads it
/// (`file`, `global file`, `env`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    KeyFormat,
    Package,
    Definition,
    File,
    GlobalFile,
    Env,
    Dependency,
    WorkspaceCrate,
    ExternalCrate,
    CargoFile,
    Cargo,
    DiscoveredFile,
    DiscoveredEnv,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::KeyFormat => "key format",
            ChangeKind::Package => "package",
            ChangeKind::Definition => "definition",
            ChangeKind::File => "file",
            ChangeKind::GlobalFile => "global file",
            ChangeKind::Env => "env",
            ChangeKind::Dependency => "dependency",
            ChangeKind::WorkspaceCrate => "workspace crate",
            ChangeKind::ExternalCrate => "external crate",
            ChangeKind::CargoFile => "cargo file",
            ChangeKind::Cargo => "cargo",
            ChangeKind::DiscoveredFile => "discovered file",
            ChangeKind::DiscoveredEnv => "discovered env",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`: the explain listing aligns kinds in a column.
        f.pad(self.as_str())
    }
}

impl Serialize for ChangeKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How an input differs from the last successful run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    Added,
    Removed,
    /// Another value (a content hash, a key, …).
    Changed,
    /// Same content, the `+x` bit flipped.
    ExecutableBit,
    /// A definition field, with both values as JSON (`nothing` when absent).
    Value {
        from: String,
        to: String,
    },
    /// The key format, which a new xtask version bumps.
    NewFormat,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Added => f.pad("added"),
            Difference::Removed => f.pad("removed"),
            Difference::Changed => f.pad("changed"),
            Difference::ExecutableBit => f.pad("executable bit changed"),
            Difference::Value { from, to } => write!(f, "changed from {from} to {to}"),
            Difference::NewFormat => f.pad("changed (a new xtask version)"),
        }
    }
}

impl Serialize for Difference {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Compares two input manifests of the same task.
pub fn diff(before: &KeyInputs, now: &KeyInputs) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.format != now.format {
        changes.push(change(
            ChangeKind::KeyFormat,
            "version",
            Difference::NewFormat,
        ));
    }
    if before.dir != now.dir {
        changes.push(change(
            ChangeKind::Package,
            "directory",
            Difference::Changed,
        ));
    }
    diff_definition(&before.definition, &now.definition, &mut changes);
    diff_files(ChangeKind::File, &before.files, &now.files, &mut changes);
    diff_files(
        ChangeKind::GlobalFile,
        &before.global_files,
        &now.global_files,
        &mut changes,
    );
    diff_map(ChangeKind::Env, &before.env, &now.env, &mut changes);
    diff_map(
        ChangeKind::Dependency,
        &before.dependencies,
        &now.dependencies,
        &mut changes,
    );
    match (&before.cargo, &now.cargo) {
        (Some(b), Some(n)) => {
            diff_map(
                ChangeKind::WorkspaceCrate,
                &b.closure,
                &n.closure,
                &mut changes,
            );
            diff_map(
                ChangeKind::ExternalCrate,
                &b.external,
                &n.external,
                &mut changes,
            );
            diff_map(
                ChangeKind::CargoFile,
                &b.workspace_files,
                &n.workspace_files,
                &mut changes,
            );
            if b.rustc != n.rustc {
                changes.push(change(ChangeKind::Cargo, "rustc -vV", Difference::Changed));
            }
        }
        (None, None) => {}
        _ => changes.push(change(ChangeKind::Definition, "kind", Difference::Changed)),
    }
    let empty = crate::key::DiscoveredInputs::default();
    let (b, n) = (
        before.discovered.as_ref().unwrap_or(&empty),
        now.discovered.as_ref().unwrap_or(&empty),
    );
    diff_map(ChangeKind::DiscoveredFile, &b.files, &n.files, &mut changes);
    diff_map(ChangeKind::DiscoveredEnv, &b.env, &n.env, &mut changes);
    changes
}

fn change(kind: ChangeKind, name: &str, what: Difference) -> Change {
    Change {
        kind,
        name: name.into(),
        what,
    }
}

fn diff_definition(before: &KeyDefinition, now: &KeyDefinition, changes: &mut Vec<Change>) {
    // A struct of strings, lists and flags always becomes a JSON object.
    let before = serde_json::to_value(before).expect("a definition always encodes");
    let now = serde_json::to_value(now).expect("a definition always encodes");
    let (before, now) = (&before, &now);
    let (Some(b), Some(n)) = (before.as_object(), now.as_object()) else {
        if before != now {
            changes.push(change(ChangeKind::Definition, "task", Difference::Changed));
        }
        return;
    };
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(n.keys()).collect();
    for key in keys {
        if b.get(key) != n.get(key) {
            let shown =
                |v: Option<&serde_json::Value>| v.map_or("nothing".into(), |v| v.to_string());
            let what = Difference::Value {
                from: shown(b.get(key)),
                to: shown(n.get(key)),
            };
            changes.push(change(ChangeKind::Definition, key, what));
        }
    }
}

fn diff_files(
    kind: ChangeKind,
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    changes: &mut Vec<Change>,
) {
    for (path, hash) in now {
        match before.get(path) {
            None => changes.push(change(kind, path, Difference::Added)),
            Some(old) if old == hash => {}
            Some(old) if old.trim_end_matches("+x") == hash.trim_end_matches("+x") => {
                changes.push(change(kind, path, Difference::ExecutableBit))
            }
            Some(_) => changes.push(change(kind, path, Difference::Changed)),
        }
    }
    for path in before.keys().filter(|p| !now.contains_key(*p)) {
        changes.push(change(kind, path, Difference::Removed));
    }
}

fn diff_map(
    kind: ChangeKind,
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    changes: &mut Vec<Change>,
) {
    for (name, value) in now {
        match before.get(name) {
            None => changes.push(change(kind, name, Difference::Added)),
            Some(old) if old != value => changes.push(change(kind, name, Difference::Changed)),
            Some(_) => {}
        }
    }
    for name in before.keys().filter(|n| !now.contains_key(*n)) {
        changes.push(change(kind, name, Difference::Removed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str) -> KeyDefinition {
        KeyDefinition {
            command: Some(text.to_string()),
            ..KeyDefinition::default()
        }
    }

    #[test]
    fn reports_each_kind_of_change() {
        let mut before = KeyInputs::new("a", "a", "build", command("x"));
        before.files.insert("src/lib.rs".into(), "aa".into());
        before.files.insert("run.sh".into(), "bb".into());
        before.files.insert("gone.rs".into(), "cc".into());
        before.env.insert("MODE".into(), "11".into());
        let mut now = before.clone();
        now.definition = command("y");
        now.files.insert("src/lib.rs".into(), "ab".into());
        now.files.insert("run.sh".into(), "bb+x".into());
        now.files.remove("gone.rs");
        now.files.insert("new.rs".into(), "dd".into());
        now.env.insert("MODE".into(), "12".into());
        let found: Vec<(String, String, String)> = diff(&before, &now)
            .into_iter()
            .map(|c| (c.kind.to_string(), c.name, c.what.to_string()))
            .collect();
        let expect = |k: &str, n: &str, w: &str| (k.to_string(), n.to_string(), w.to_string());
        assert_eq!(
            found,
            vec![
                expect("definition", "command", "changed from \"x\" to \"y\""),
                expect("file", "new.rs", "added"),
                expect("file", "run.sh", "executable bit changed"),
                expect("file", "src/lib.rs", "changed"),
                expect("file", "gone.rs", "removed"),
                expect("env", "MODE", "changed"),
            ]
        );
        assert!(diff(&before, &before).is_empty());
    }

    #[test]
    fn kinds_are_typed_and_shown_in_a_column() {
        let before = KeyInputs::new("a", "a", "build", KeyDefinition::default());
        let mut now = before.clone();
        now.dir = "b".into();
        now.global_files
            .insert("rust-toolchain.toml".into(), "ee".into());
        let changes = diff(&before, &now);
        let kinds: Vec<(ChangeKind, &Difference)> =
            changes.iter().map(|c| (c.kind, &c.what)).collect();
        assert_eq!(
            kinds,
            [
                (ChangeKind::Package, &Difference::Changed),
                (ChangeKind::GlobalFile, &Difference::Added),
            ]
        );
        assert_eq!(
            format!("[{:<12}]", ChangeKind::GlobalFile),
            "[global file ]"
        );
        assert_eq!(
            serde_json::to_value(&changes[1]).unwrap(),
            serde_json::json!({"kind": "global file", "name": "rust-toolchain.toml", "what": "added"})
        );
    }
}
