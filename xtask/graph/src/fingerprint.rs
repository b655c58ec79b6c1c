//! The on-disk graph cache and the fingerprint that decides whether it is
//! still valid.
//!
//! The fingerprint covers everything `cargo metadata --no-deps` reads that can
//! change our graph: the root manifest, every member manifest, Cargo.lock,
//! `.cargo/config(.toml)`, `CARGO_TARGET_DIR`, and the subdirectories of each
//! directory that holds members (a new crate under a `members = ["crates/*"]`
//! glob changes no manifest, only that listing; files there do not matter).
//! What cargo's target auto-discovery looks at (`src/bin/`, `examples/`, …)
//! is checked by the engine against the files it hashes anyway
//! (`engine/src/target_layout.rs`): probing it here cost a warm run seven
//! system calls per package.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::PackageGraph;

const FORMAT: u32 = 5;

#[derive(Serialize, Deserialize)]
struct CachedGraph {
    format: u32,
    fingerprint: String,
    graph: PackageGraph,
}

pub(crate) fn read_cached(cache_path: &Path, root: &Path) -> Option<PackageGraph> {
    let bytes = std::fs::read(cache_path).ok()?;
    let cached: CachedGraph = serde_json::from_slice(&bytes).ok()?;
    if cached.format != FORMAT || cached.graph.root != root {
        return None;
    }
    (fingerprint(&cached.graph) == cached.fingerprint).then_some(cached.graph)
}

pub(crate) fn write_cached(cache_path: &Path, graph: &PackageGraph) -> std::io::Result<()> {
    let cached = CachedGraph {
        format: FORMAT,
        fingerprint: fingerprint(graph),
        graph: graph.clone(),
    };
    // A concurrent reader sees the old or the new cache, never half of one.
    xtask_toolbox::atomic::write(cache_path, &serde_json::to_vec(&cached)?)
}

fn fingerprint(graph: &PackageGraph) -> String {
    let root = &graph.root;
    let mut hasher = blake3::Hasher::new();
    let mut feed = |label: &str, path: &Path| {
        hasher.update(label.as_bytes());
        hasher.update(path.as_os_str().as_encoded_bytes());
        match std::fs::read(path) {
            Ok(bytes) => {
                hasher.update(&(bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
            }
            Err(_) => {
                hasher.update(b"<absent>");
            }
        }
    };
    feed("root", &root.join("Cargo.toml"));
    feed("lock", &root.join("Cargo.lock"));
    for package in &graph.packages {
        feed("member", &root.join(&package.manifest));
    }
    // Cargo's config (`[patch]`, `[source]`, `build.target`) changes what
    // `cargo metadata` says; its includes do too, its aliases do not.
    for config in crate::cargo_config::files_in(&root.join(".cargo")) {
        if let Some(digest) = config.digest {
            hasher.update(b"config");
            hasher.update(config.path.as_os_str().as_encoded_bytes());
            hasher.update(digest.as_bytes());
        }
    }
    for dir in member_parent_dirs(graph) {
        hasher.update(b"listing");
        hasher.update(dir.as_os_str().as_encoded_bytes());
        for name in listing(&dir) {
            hasher.update(name.as_encoded_bytes());
            hasher.update(b"\0");
        }
    }
    hasher.update(b"target-dir");
    hasher.update(
        std::env::var_os("CARGO_TARGET_DIR")
            .unwrap_or_default()
            .as_encoded_bytes(),
    );
    hasher.finalize().to_hex().to_string()
}

/// The sorted names of the subdirectories of `dir` (empty when `dir` does
/// not exist).
fn listing(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Directories whose listing can add or remove members: the parents of member
/// directories, up to the root.
fn member_parent_dirs(graph: &PackageGraph) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    for package in &graph.packages {
        let mut dir = package.dir.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            dirs.insert(graph.root.join(parent));
            dir = parent;
        }
        if !package.dir.is_empty() {
            dirs.insert(graph.root.clone());
        }
    }
    dirs
}
