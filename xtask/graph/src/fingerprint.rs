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
//!
//! The manifests and the lock file are covered by their bytes, but a warm run
//! does not read them: the cache keeps each one's stat from when they were
//! last read, and when every stat is unchanged and none is racy (git's
//! index rule, `xtask_toolbox::timestamps`) their recorded digest stands.
//! Reading 3,000 manifests was 15% of a warm run at 3,000 crates; a `stat`
//! each is a tenth of that.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use xtask_toolbox::timestamps;

use crate::PackageGraph;

const FORMAT: u32 = 6;

#[derive(Serialize, Deserialize)]
struct CachedGraph {
    format: u32,
    fingerprint: String,
    manifests: ManifestState,
    graph: PackageGraph,
}

/// What was read of the files covered by their bytes (root manifest, lock
/// file, member manifests, in that order): the digest of them all, and each
/// one's stat taken just before it was read.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
struct ManifestState {
    digest: String,
    /// When the stats were taken (ns since the epoch): a file changed this
    /// close to it may change again without its stat changing.
    seen_ns: i64,
    /// `None` for a file that could not be stat-ed (absent).
    stats: Vec<Option<Stat>>,
}

/// The parts of a file's stat that change when its bytes do: size, mtime
/// and ctime in nanoseconds, inode (a file replaced by a rename has a new
/// one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat(u64, i64, i64, u64);

impl Stat {
    /// Following symlinks, as reading the file does.
    fn of(path: &Path) -> Option<Stat> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stat(
            meta.len(),
            timestamps::mtime_ns(&meta),
            timestamps::ctime_ns(&meta),
            meta.ino(),
        ))
    }

    fn is_racy(self, seen_ns: i64) -> bool {
        timestamps::is_racy(self.1.max(self.2), seen_ns)
    }
}

pub(crate) fn read_cached(cache_path: &Path, root: &Path) -> Option<PackageGraph> {
    let bytes = std::fs::read(cache_path).ok()?;
    let cached: CachedGraph = serde_json::from_slice(&bytes).ok()?;
    if cached.format != FORMAT || cached.graph.root != root {
        return None;
    }
    let files = covered_files(&cached.graph);
    let (seen_ns, stats) = stat_all(&files);
    let unchanged = unchanged_since(&stats, &cached.manifests);
    let manifests = if unchanged {
        cached.manifests
    } else {
        read_manifests(&files, seen_ns, stats)
    };
    if fingerprint(&cached.graph, &manifests.digest) != cached.fingerprint {
        return None;
    }
    if !unchanged {
        // Touched, or read too soon after an edit, but the same bytes: the
        // new stats spare the next run this reading.
        let _ = write(cache_path, &cached.graph, manifests);
    }
    Some(cached.graph)
}

pub(crate) fn write_cached(cache_path: &Path, graph: &PackageGraph) -> std::io::Result<()> {
    let files = covered_files(graph);
    let (seen_ns, stats) = stat_all(&files);
    write(cache_path, graph, read_manifests(&files, seen_ns, stats))
}

fn write(cache_path: &Path, graph: &PackageGraph, manifests: ManifestState) -> std::io::Result<()> {
    let cached = CachedGraph {
        format: FORMAT,
        fingerprint: fingerprint(graph, &manifests.digest),
        manifests,
        graph: graph.clone(),
    };
    // A concurrent reader sees the old or the new cache, never half of one.
    xtask_toolbox::atomic::write(cache_path, &serde_json::to_vec(&cached)?)
}

/// The files the fingerprint covers by their bytes, each with its label.
fn covered_files(graph: &PackageGraph) -> Vec<(&'static str, PathBuf)> {
    let root = &graph.root;
    let mut files = vec![
        ("root", root.join("Cargo.toml")),
        ("lock", root.join("Cargo.lock")),
    ];
    files.extend(
        graph
            .packages
            .iter()
            .map(|package| ("member", root.join(&package.manifest))),
    );
    files
}

/// Each file's stat now, and the moment just before they were taken.
fn stat_all(files: &[(&str, PathBuf)]) -> (i64, Vec<Option<Stat>>) {
    let seen_ns = timestamps::ns_since_epoch(SystemTime::now());
    (
        seen_ns,
        files.iter().map(|(_, path)| Stat::of(path)).collect(),
    )
}

/// Whether every file's stat is the recorded one, and none is racy: then
/// their bytes are the ones the recorded digest covers.
fn unchanged_since(stats: &[Option<Stat>], recorded: &ManifestState) -> bool {
    recorded.stats == stats
        && stats
            .iter()
            .flatten()
            .all(|stat| !stat.is_racy(recorded.seen_ns))
}

/// Reads every file for the digest of their bytes, keeping `stats`, taken
/// (from `seen_ns` on) before the bytes were read: a change in between
/// shows as a different stat, or a racy one, next time.
fn read_manifests(
    files: &[(&str, PathBuf)],
    seen_ns: i64,
    stats: Vec<Option<Stat>>,
) -> ManifestState {
    let mut hasher = blake3::Hasher::new();
    for (label, path) in files {
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
    }
    ManifestState {
        digest: hasher.finalize().to_hex().to_string(),
        seen_ns,
        stats,
    }
}

/// The fingerprint: the manifests' digest, and what is cheap to read every
/// time (cargo's configuration, member directories' listings, the target
/// directory variable).
fn fingerprint(graph: &PackageGraph, manifests_digest: &str) -> String {
    let root = &graph.root;
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"manifests");
    hasher.update(manifests_digest.as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Package;

    /// A workspace of one member, `crates/a`, and the graph cache of it.
    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
        cache: PathBuf,
        graph: PackageGraph,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_path_buf();
            std::fs::create_dir_all(root.join("crates/a")).unwrap();
            std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
            std::fs::write(root.join("Cargo.lock"), "version = 4\n").unwrap();
            std::fs::write(
                root.join("crates/a/Cargo.toml"),
                "[package]\nname = \"a\"\n",
            )
            .unwrap();
            let graph = PackageGraph {
                root: root.clone(),
                target_dir: root.join("target"),
                packages: vec![Package {
                    name: "a".into(),
                    version: "0.1.0".into(),
                    dir: "crates/a".into(),
                    manifest: "crates/a/Cargo.toml".into(),
                    dependencies: Vec::new(),
                    binaries: Vec::new(),
                    has_library: true,
                    has_xtask_metadata: false,
                    features: Default::default(),
                    declared_dependencies: Vec::new(),
                }],
            };
            let cache = root.join("graph.json");
            Fixture {
                _dir: dir,
                root,
                cache,
                graph,
            }
        }

        /// A fixture whose graph cache was written, its stats taken
        /// `after_ns` after the files' last change.
        fn recorded(after_ns: i64) -> Fixture {
            let fx = Fixture::new();
            write_cached(&fx.cache, &fx.graph).unwrap();
            fx.restat(after_ns);
            fx
        }

        fn cached(&self) -> CachedGraph {
            serde_json::from_slice(&std::fs::read(&self.cache).unwrap()).unwrap()
        }

        /// Rewrites the cache as if its stats had been taken of the files
        /// as they are now, `after_ns` after their last change, keeping its
        /// digest and fingerprint: what a later run sees when the stats are
        /// unchanged since the files were read.
        fn restat(&self, after_ns: i64) {
            let mut cached = self.cached();
            cached.manifests.seen_ns = timestamps::ns_since_epoch(SystemTime::now()) + after_ns;
            cached.manifests.stats = stat_all(&covered_files(&self.graph)).1;
            std::fs::write(&self.cache, serde_json::to_vec(&cached).unwrap()).unwrap();
        }
    }

    /// Well past the racy margin.
    const OLD: i64 = timestamps::RACY_MARGIN_NS + 1_000_000_000;

    #[test]
    fn unchanged_stats_are_trusted_without_reading_the_manifests() {
        let fx = Fixture::new();
        write_cached(&fx.cache, &fx.graph).unwrap();
        assert!(read_cached(&fx.cache, &fx.root).is_some());
        // Different bytes behind a stat recorded as unchanged and old: only a
        // run that did not read the manifest can still call the cache valid.
        std::fs::write(
            fx.root.join("crates/a/Cargo.toml"),
            "[package]\nname = \"b\"\n",
        )
        .unwrap();
        fx.restat(OLD);
        assert!(read_cached(&fx.cache, &fx.root).is_some());
    }

    #[test]
    fn a_racy_stat_is_not_trusted() {
        let fx = Fixture::new();
        write_cached(&fx.cache, &fx.graph).unwrap();
        std::fs::write(
            fx.root.join("crates/a/Cargo.toml"),
            "[package]\nname = \"b\"\n",
        )
        .unwrap();
        // Recorded a moment ago: the file was changed within the margin of
        // that, so it is read, and the change is seen.
        fx.restat(0);
        assert!(read_cached(&fx.cache, &fx.root).is_none());
    }

    #[test]
    fn an_edit_that_keeps_size_and_mtime_is_seen() {
        let fx = Fixture::recorded(OLD);
        let manifest = fx.root.join("crates/a/Cargo.toml");
        let mtime = std::fs::metadata(&manifest).unwrap().modified().unwrap();
        std::fs::write(&manifest, "[package]\nname = \"b\"\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&manifest)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert!(read_cached(&fx.cache, &fx.root).is_none(), "ctime moved");
    }

    #[test]
    fn added_removed_and_replaced_files_are_seen() {
        for change in ["lock removed", "lock replaced", "member manifest removed"] {
            let fx = Fixture::recorded(OLD);
            match change {
                "lock removed" => std::fs::remove_file(fx.root.join("Cargo.lock")).unwrap(),
                "lock replaced" => {
                    let other = fx.root.join("other.lock");
                    std::fs::write(&other, "version = 3\n").unwrap();
                    std::fs::rename(other, fx.root.join("Cargo.lock")).unwrap();
                }
                _ => std::fs::remove_file(fx.root.join("crates/a/Cargo.toml")).unwrap(),
            }
            assert!(read_cached(&fx.cache, &fx.root).is_none(), "{change}");
        }
    }

    #[test]
    fn a_touched_manifest_with_the_same_bytes_keeps_the_cache_and_refreshes_its_stats() {
        let fx = Fixture::recorded(OLD);
        let manifest = fx.root.join("crates/a/Cargo.toml");
        let before = fx.cached().manifests;
        std::fs::write(&manifest, std::fs::read(&manifest).unwrap()).unwrap();
        assert!(read_cached(&fx.cache, &fx.root).is_some());
        let after = fx.cached().manifests;
        assert_eq!(after.digest, before.digest);
        assert_ne!(after.seen_ns, before.seen_ns, "stats taken again");
        assert_eq!(after.stats[2], Stat::of(&manifest));
    }

    #[test]
    fn recorded_stats_that_do_not_fit_the_graph_mean_reading_everything() {
        let fx = Fixture::new();
        write_cached(&fx.cache, &fx.graph).unwrap();
        let mut cached = fx.cached();
        cached.manifests.stats.pop();
        cached.manifests.seen_ns = 0;
        std::fs::write(&fx.cache, serde_json::to_vec(&cached).unwrap()).unwrap();
        assert!(read_cached(&fx.cache, &fx.root).is_some(), "same bytes");
        assert_eq!(fx.cached().manifests.stats.len(), 3, "and rewritten whole");
        std::fs::write(fx.root.join("Cargo.lock"), "version = 3\n").unwrap();
        let mut cached = fx.cached();
        cached.manifests.stats.clear();
        std::fs::write(&fx.cache, serde_json::to_vec(&cached).unwrap()).unwrap();
        assert!(read_cached(&fx.cache, &fx.root).is_none(), "changed bytes");
    }
}
