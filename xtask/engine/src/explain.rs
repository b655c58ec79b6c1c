//! "Why did this miss the cache?": the difference between a task's inputs now
//! and those of its last successful run.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::key::{KeyDefinition, KeyInputs};

/// One difference, worded for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `file`, `global file`, `env`, `dependency`, `definition`, `cargo`, …
    pub kind: String,
    pub name: String,
    /// `added`, `removed`, `changed`, `executable bit changed`
    pub what: String,
}

/// Compares two input manifests of the same task.
pub fn diff(before: &KeyInputs, now: &KeyInputs) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.format != now.format {
        changes.push(change(
            "key format",
            "version",
            "changed (a new xtask version)",
        ));
    }
    if before.dir != now.dir {
        changes.push(change("package", "directory", "changed"));
    }
    diff_definition(&before.definition, &now.definition, &mut changes);
    diff_files("file", &before.files, &now.files, &mut changes);
    diff_files(
        "global file",
        &before.global_files,
        &now.global_files,
        &mut changes,
    );
    diff_map("env", &before.env, &now.env, &mut changes);
    diff_map(
        "dependency",
        &before.dependencies,
        &now.dependencies,
        &mut changes,
    );
    match (&before.cargo, &now.cargo) {
        (Some(b), Some(n)) => {
            diff_map("workspace crate", &b.closure, &n.closure, &mut changes);
            diff_map("external crate", &b.external, &n.external, &mut changes);
            diff_map(
                "cargo file",
                &b.workspace_files,
                &n.workspace_files,
                &mut changes,
            );
            if b.rustc != n.rustc {
                changes.push(change("cargo", "rustc -vV", "changed"));
            }
        }
        (None, None) => {}
        _ => changes.push(change("definition", "kind", "changed")),
    }
    let empty = crate::key::DiscoveredInputs::default();
    let (b, n) = (
        before.discovered.as_ref().unwrap_or(&empty),
        now.discovered.as_ref().unwrap_or(&empty),
    );
    diff_map("discovered file", &b.files, &n.files, &mut changes);
    diff_map("discovered env", &b.env, &n.env, &mut changes);
    changes
}

fn change(kind: &str, name: &str, what: &str) -> Change {
    Change {
        kind: kind.into(),
        name: name.into(),
        what: what.into(),
    }
}

fn diff_definition(before: &KeyDefinition, now: &KeyDefinition, changes: &mut Vec<Change>) {
    // A struct of strings, lists and flags always becomes a JSON object.
    let before = serde_json::to_value(before).expect("a definition always encodes");
    let now = serde_json::to_value(now).expect("a definition always encodes");
    let (before, now) = (&before, &now);
    let (Some(b), Some(n)) = (before.as_object(), now.as_object()) else {
        if before != now {
            changes.push(change("definition", "task", "changed"));
        }
        return;
    };
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(n.keys()).collect();
    for key in keys {
        if b.get(key) != n.get(key) {
            let what = format!(
                "changed from {} to {}",
                b.get(key).map_or("nothing".into(), |v| v.to_string()),
                n.get(key).map_or("nothing".into(), |v| v.to_string())
            );
            changes.push(change("definition", key, &what));
        }
    }
}

fn diff_files(
    kind: &str,
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    changes: &mut Vec<Change>,
) {
    for (path, hash) in now {
        match before.get(path) {
            None => changes.push(change(kind, path, "added")),
            Some(old) if old == hash => {}
            Some(old) if old.trim_end_matches("+x") == hash.trim_end_matches("+x") => {
                changes.push(change(kind, path, "executable bit changed"))
            }
            Some(_) => changes.push(change(kind, path, "changed")),
        }
    }
    for path in before.keys().filter(|p| !now.contains_key(*p)) {
        changes.push(change(kind, path, "removed"));
    }
}

fn diff_map(
    kind: &str,
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    changes: &mut Vec<Change>,
) {
    for (name, value) in now {
        match before.get(name) {
            None => changes.push(change(kind, name, "added")),
            Some(old) if old != value => changes.push(change(kind, name, "changed")),
            Some(_) => {}
        }
    }
    for name in before.keys().filter(|n| !now.contains_key(*n)) {
        changes.push(change(kind, name, "removed"));
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
            .map(|c| (c.kind, c.name, c.what))
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
}
