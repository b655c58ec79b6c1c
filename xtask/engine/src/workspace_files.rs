//! What a changed file outside the packages' own sources affects, for
//! `--affected` and `[ref]` filters alike: Cargo.lock only the packages whose
//! resolved closure changed; the toolchain, cargo config and root manifest
//! everything that compiles (profiles and workspace dependencies compile into
//! every package).

use std::collections::BTreeMap;

use xtask_git::Repo;
use xtask_graph::PackageIndex;

use crate::cargo_lock::Lock;
use crate::scope::Diff;
use crate::workspace::Workspace;

/// Files that configure how every package compiles.
const COMPILE_SETTINGS: [&str; 5] = [
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    ".cargo/config",
    "Cargo.toml",
];

/// Builds the `special` callback of [`crate::scope::affected`] and
/// [`crate::scope::apply_filters`]: the same rule for `--affected` and
/// `[ref]` filters.
pub fn affected_by_workspace_file(
    ws: &Workspace,
) -> impl Fn(&str, &Diff) -> Option<Vec<PackageIndex>> + '_ {
    let everything: Vec<PackageIndex> = (0..ws.graph.packages.len()).collect();
    // The files `.cargo/config.toml` includes configure compilation as much
    // as it does (as the workspace paths git reports).
    let included: Vec<String> = xtask_graph::cargo_config::files_in(&ws.root.join(".cargo"))
        .into_iter()
        .filter_map(|file| {
            let relative = file.path.strip_prefix(&ws.root).ok()?;
            Some(relative.to_str()?.replace('\\', "/"))
        })
        .collect();
    move |path: &str, diff: &Diff| {
        if path == "Cargo.lock" {
            return Some(lock_changes(ws, diff).unwrap_or_else(|| everything.clone()));
        }
        (COMPILE_SETTINGS.contains(&path) || included.iter().any(|file| file == path))
            .then(|| everything.clone())
    }
}

/// Packages whose external closure differs between the lockfile at the
/// diff's two states; `None` when either cannot be read (then the caller
/// assumes everything changed).
fn lock_changes(ws: &Workspace, diff: &Diff) -> Option<Vec<PackageIndex>> {
    let old = Lock::parse(&lock_at(ws, &diff.from)?)?;
    let new = match &diff.to {
        Some(commit) => lock_at(ws, commit)?,
        None => std::fs::read_to_string(ws.root.join("Cargo.lock")).ok()?,
    };
    let new = Lock::parse(&new)?;
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

/// The lockfile as committed in `commit` (relative to the workspace root,
/// which may be a subdirectory of the repository); `None` when git cannot
/// show it, and the caller assumes everything changed.
fn lock_at(ws: &Workspace, commit: &str) -> Option<String> {
    Repo::at(&ws.root)
        .show_file(commit, "Cargo.lock")
        .ok()
        .flatten()
}
