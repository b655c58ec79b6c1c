//! Is the cached package graph still what cargo would say? The graph
//! cache's fingerprint covers manifests and member directories, but cargo
//! also discovers targets from files: a new `src/bin/x.rs`, `examples/y.rs`,
//! `tests/z.rs` or a `build.rs` changes a package's targets — and so the
//! binaries a build stores and restores — without any manifest changing.
//! The snapshot lists every file anyway, so the check costs no system call:
//! a digest of those paths, kept beside the graph cache, says when the
//! graph must be loaded from cargo again.

use xtask_graph::PackageGraph;
use xtask_toolbox::hex;
use xtask_toolbox::layout::{StateBucket, StateDir};

use crate::inputs::{PackageFiles, relative_to};

/// A digest of the paths cargo's target auto-discovery looks at, per package.
pub(crate) fn digest(graph: &PackageGraph, files: &PackageFiles<'_>) -> String {
    let mut hasher = blake3::Hasher::new();
    for (index, package) in graph.packages.iter().enumerate() {
        hasher.update(package.name.as_bytes());
        hasher.update(b"\0");
        for file in files.of(index) {
            let rel = relative_to(&file.path, &package.dir);
            if is_target_path(rel) {
                hasher.update(rel.as_bytes());
                hasher.update(b"\0");
            }
        }
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize().as_bytes())
}

/// What cargo's auto-discovery reads (relative to the package directory).
fn is_target_path(rel: &str) -> bool {
    matches!(rel, "build.rs" | "src/main.rs" | "src/lib.rs")
        || ["src/bin/", "examples/", "tests/", "benches/"]
            .iter()
            .any(|dir| rel.starts_with(dir) && rel.ends_with(".rs"))
}

/// Compares `digest` with the one recorded for a graph loaded from cargo.
/// `fresh`: the graph was just loaded from cargo, so it is recorded as
/// current. Returns false when a cached graph no longer matches the files.
pub(crate) fn still_current(state_dir: &StateDir, digest: &str, fresh: bool) -> bool {
    let path = state_dir.path(StateBucket::TargetLayout);
    if !fresh {
        let recorded = std::fs::read(&path).ok();
        return recorded.is_some_and(|bytes| bytes == digest.as_bytes());
    }
    // Losing it only costs one more cargo metadata next run.
    let _ = xtask_toolbox::atomic::write(&path, digest.as_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paths_cargo_discovers_targets_from() {
        for rel in [
            "build.rs",
            "src/main.rs",
            "src/lib.rs",
            "src/bin/x.rs",
            "src/bin/y/main.rs",
            "examples/e.rs",
            "tests/t.rs",
            "benches/b.rs",
        ] {
            assert!(is_target_path(rel), "{rel}");
        }
        for rel in ["src/util.rs", "README.md", "tests/data/x.txt", "xbuild.rs"] {
            assert!(!is_target_path(rel), "{rel}");
        }
    }
}
