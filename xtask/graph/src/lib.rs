//! The workspace as a package graph: which packages exist, where they live and
//! which workspace packages each depends on (normal, build and dev edges).
//!
//! The graph comes from `cargo metadata`, which costs a cargo start-up and a
//! resolve (hundreds of milliseconds). It is cached on disk, keyed by a
//! fingerprint of every file that can change it, so a warm run spawns no cargo
//! at all. See [`load`].

pub mod cargo_config;
mod fingerprint;
mod locate;
mod metadata;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use locate::find_workspace_root;

/// Index of a package in [`PackageGraph::packages`].
pub type PackageIndex = usize;

/// The kind of a dependency edge, as Cargo declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    Normal,
    Build,
    Dev,
}

/// An edge from a package to another workspace package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub package: PackageIndex,
    pub kind: DepKind,
}

/// One workspace member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Directory relative to the workspace root, with `/` separators; empty
    /// for a package at the root.
    pub dir: String,
    /// Manifest path relative to the workspace root.
    pub manifest: String,
    /// Workspace dependencies, sorted and without duplicates.
    pub dependencies: Vec<Dependency>,
    /// Names of the binary targets (what `build` produces).
    pub binaries: Vec<String>,
    /// True when the package has a library target (so doc tests exist).
    pub has_library: bool,
    /// True when the manifest has a `[package.metadata.xtask]` table.
    pub has_xtask_metadata: bool,
    /// The `[features]` table: feature → what it enables.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub features: std::collections::BTreeMap<String, Vec<String>>,
    /// Every dependency as declared (workspace and external): what feature
    /// unification needs to know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared_dependencies: Vec<DeclaredDependency>,
}

/// A dependency as the manifest declares it. The graph cache is read on
/// every run, so fields at their usual value are left out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredDependency {
    /// The package's real name.
    pub name: String,
    /// The name the manifest uses for it (`rename`, else `name`): what
    /// `dep:x` and `x/feature` in `[features]` refer to. Empty: `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    key: String,
    #[serde(default = "normal", skip_serializing_if = "is_normal")]
    pub kind: DepKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub default_features: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// The workspace member it resolves to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<PackageIndex>,
    /// For a `path` dependency outside the workspace: its directory
    /// (absolute). What a cache entry from elsewhere may name outside the
    /// workspace (see the engine's discovered inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_path: Option<PathBuf>,
}

impl DeclaredDependency {
    pub fn new(name: String, rename: Option<String>, kind: DepKind) -> DeclaredDependency {
        DeclaredDependency {
            key: rename.filter(|r| *r != name).unwrap_or_default(),
            name,
            kind,
            features: Vec::new(),
            default_features: true,
            optional: false,
            member: None,
            outside_path: None,
        }
    }

    /// The name `[features]` entries use for this dependency.
    pub fn key(&self) -> &str {
        if self.key.is_empty() {
            &self.name
        } else {
            &self.key
        }
    }
}

fn normal() -> DepKind {
    DepKind::Normal
}
fn is_normal(kind: &DepKind) -> bool {
    *kind == DepKind::Normal
}
fn yes() -> bool {
    true
}
fn is_true(value: &bool) -> bool {
    *value
}
fn is_false(value: &bool) -> bool {
    !*value
}

/// The workspace: its root, target directory and members.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageGraph {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    /// Members sorted by name.
    pub packages: Vec<Package>,
}

impl PackageGraph {
    pub fn find(&self, name: &str) -> Option<PackageIndex> {
        self.packages
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()
    }

    /// The package whose directory contains `rel_path` (workspace-relative),
    /// preferring the most deeply nested one.
    pub fn owner_of(&self, rel_path: &str) -> Option<PackageIndex> {
        self.packages
            .iter()
            .enumerate()
            .filter(|(_, p)| is_within(rel_path, &p.dir))
            .max_by_key(|(_, p)| p.dir.len())
            .map(|(i, _)| i)
    }

    /// Direct workspace dependencies of `package` along edges of the given kinds.
    pub fn dependencies_of<'a>(
        &'a self,
        package: PackageIndex,
        kinds: &'a [DepKind],
    ) -> impl Iterator<Item = PackageIndex> + 'a {
        self.packages[package]
            .dependencies
            .iter()
            .filter(move |d| kinds.contains(&d.kind))
            .map(|d| d.package)
    }

    /// Absolute directory of a package.
    /// Directories of the `path` dependencies outside the workspace that
    /// members declare (sorted, without duplicates).
    pub fn outside_path_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .packages
            .iter()
            .flat_map(|p| &p.declared_dependencies)
            .filter_map(|d| d.outside_path.clone())
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    pub fn package_dir(&self, package: PackageIndex) -> PathBuf {
        let dir = &self.packages[package].dir;
        if dir.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir)
        }
    }
}

/// True when workspace-relative `path` lies inside workspace-relative `dir`
/// (the empty dir is the root and contains everything).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || (path.starts_with(dir)
            && (path.len() == dir.len() || path.as_bytes()[dir.len()] == b'/'))
}

/// How the graph was obtained: a graph just loaded from cargo is current by
/// definition (the engine records its target layout then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphSource {
    /// Read from the on-disk cache; no cargo process was started.
    Cached,
    /// `cargo metadata` ran (cold, or a manifest changed).
    CargoMetadata,
}

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("no Cargo.toml found in {dir} or any parent directory")]
    NoWorkspace { dir: PathBuf },
    #[error("failed to read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse {path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("`cargo metadata` failed in {root}:\n{stderr}")]
    CargoMetadata { root: PathBuf, stderr: String },
    #[error("failed to run `cargo metadata` in {root}")]
    CargoSpawn {
        root: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to understand the output of `cargo metadata`: {0}")]
    MetadataFormat(String),
}

impl xtask_toolbox::fault::Classify for GraphError {
    fn fault(&self) -> xtask_toolbox::fault::Fault {
        use xtask_toolbox::fault::Fault;
        match self {
            GraphError::NoWorkspace { .. } | GraphError::Manifest { .. } => Fault::User,
            // With `--no-deps` cargo touches no network and no lockfile, so it
            // fails for a manifest of the user's (and then names it) or for
            // reasons of its own (a toolchain not installed, a disk error).
            GraphError::CargoMetadata { stderr, .. } => {
                if stderr.contains("Cargo.toml") || stderr.contains("manifest") {
                    Fault::User
                } else {
                    Fault::System
                }
            }
            GraphError::Io { .. }
            | GraphError::CargoSpawn { .. }
            | GraphError::MetadataFormat(_) => Fault::System,
        }
    }
}

/// Loads the graph from `cargo metadata`, whatever the cache says, and
/// refreshes the cache file `cache_path`: for when a caller found the cached
/// graph stale in a way the fingerprint cannot see (a new auto-discovered
/// target).
pub fn reload(root: &Path, cache_path: &Path) -> Result<PackageGraph, GraphError> {
    let graph = metadata::from_cargo(root)?;
    let _ = fingerprint::write_cached(cache_path, &graph);
    Ok(graph)
}

/// Loads the package graph of the workspace rooted at `root`, from the cache
/// file `cache_path` (where the caller's layout keeps it) when its
/// fingerprint still matches, else from `cargo metadata` (and then refreshes
/// the cache).
pub fn load(root: &Path, cache_path: &Path) -> Result<(PackageGraph, GraphSource), GraphError> {
    if let Some(graph) = fingerprint::read_cached(cache_path, root) {
        return Ok((graph, GraphSource::Cached));
    }
    let graph = metadata::from_cargo(root)?;
    // A cache that cannot be written only costs the next run a cargo start.
    let _ = fingerprint::write_cached(cache_path, &graph);
    Ok((graph, GraphSource::CargoMetadata))
}
