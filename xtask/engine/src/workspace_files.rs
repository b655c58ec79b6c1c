//! What a changed file outside the packages' own sources affects, for
//! `--affected`: Cargo.lock only the packages whose resolved closure changed;
//! the toolchain, cargo config and root manifest everything that compiles.

use std::collections::BTreeMap;

use xtask_graph::PackageIndex;

use crate::cargo_lock::Lock;
use crate::workspace::Workspace;

/// Files that configure how every package compiles.
const COMPILE_SETTINGS: [&str; 5] = [
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    ".cargo/config",
    "Cargo.toml",
];

/// Builds the `special` callback of [`crate::scope::affected`] for a diff
/// against `base` (a git revision).
pub fn affected_by_workspace_file<'w>(
    ws: &'w Workspace,
    base: &str,
) -> impl Fn(&str) -> Option<Vec<PackageIndex>> + 'w {
    let everything: Vec<PackageIndex> = (0..ws.graph.packages.len()).collect();
    let base = base.to_string();
    move |path: &str| {
        if path == "Cargo.lock" {
            return Some(lock_changes(ws, &base).unwrap_or_else(|| everything.clone()));
        }
        COMPILE_SETTINGS.contains(&path).then(|| everything.clone())
    }
}

/// Packages whose external closure differs between the lockfile at `base`
/// and the one in the working tree; `None` when either cannot be read (then
/// the caller assumes everything changed).
fn lock_changes(ws: &Workspace, base: &str) -> Option<Vec<PackageIndex>> {
    let old = std::process::Command::new("git")
        .args(["show", &format!("{base}:./Cargo.lock")])
        .current_dir(&ws.root)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let old = Lock::parse(&String::from_utf8_lossy(&old.stdout))?;
    let new = Lock::parse(&std::fs::read_to_string(ws.root.join("Cargo.lock")).ok()?)?;
    let closure = |lock: &Lock, p: &xtask_graph::Package| -> BTreeMap<String, String> {
        lock.external_closure(&p.name, &p.version)
    };
    Some(
        ws.graph
            .packages
            .iter()
            .enumerate()
            .filter(|(_, p)| closure(&old, p) != closure(&new, p))
            .map(|(i, _)| i)
            .collect(),
    )
}
