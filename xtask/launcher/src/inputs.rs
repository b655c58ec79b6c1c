//! Which files decide the engine binary, and so which ones the stamp watches:
//! every source file cargo compiled into it (its dep-info), the manifest of
//! each crate those belong to, the workspace's `Cargo.toml`, `Cargo.lock` and
//! toolchain file, every cargo configuration file that applies, and the cargo
//! and rustc binaries themselves. Files that do not exist yet are watched
//! too: creating one (a `rust-toolchain.toml`, say) is a change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the launcher knows of the toolchain without running it.
pub struct Toolchain {
    /// `$CARGO`, which `cargo run` sets to the cargo binary that runs us (the
    /// toolchain's, behind rustup's proxy); `None` when started directly.
    pub cargo: Option<PathBuf>,
    /// `$CARGO_HOME`, else `~/.cargo`.
    pub cargo_home: Option<PathBuf>,
}

impl Toolchain {
    pub fn of_this_process() -> Toolchain {
        let home = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo"));
        Toolchain {
            cargo: std::env::var_os("CARGO").map(PathBuf::from),
            cargo_home: std::env::var_os("CARGO_HOME").map(PathBuf::from).or(home),
        }
    }

    /// The cargo and rustc binaries: a toolchain update replaces them.
    fn binaries(&self) -> Vec<PathBuf> {
        let Some(cargo) = &self.cargo else {
            return Vec::new();
        };
        let rustc = cargo.with_file_name(format!("rustc{}", std::env::consts::EXE_SUFFIX));
        vec![cargo.clone(), rustc]
    }
}

/// The files that decide a build of the engine from `workspace_root`, given
/// the `sources` its dep-info names.
pub fn engine_inputs(
    workspace_root: &Path,
    sources: &[PathBuf],
    toolchain: &Toolchain,
) -> Vec<PathBuf> {
    let mut inputs = BTreeSet::new();
    for name in [
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain",
        "rust-toolchain.toml",
    ] {
        inputs.insert(workspace_root.join(name));
    }
    // Cargo reads `.cargo/config(.toml)` in every ancestor directory and in
    // CARGO_HOME (profiles, rustflags, target settings all live there).
    let config_dirs = workspace_root
        .ancestors()
        .map(|dir| dir.join(".cargo"))
        .chain(toolchain.cargo_home.clone());
    for dir in config_dirs {
        inputs.insert(dir.join("config"));
        inputs.insert(dir.join("config.toml"));
    }
    // What the workspace's config includes (`include = [...]`) configures
    // the build as much; without a TOML parser, every `.toml` file beside it
    // stands for them (the fast path's own files are one level down).
    inputs.extend(toml_files_in(&workspace_root.join(".cargo")));
    let mut searched = BTreeSet::new();
    for source in sources {
        inputs.insert(source.clone());
        if let Some(manifest) = owning_manifest(source, &mut searched) {
            inputs.insert(manifest);
        }
    }
    inputs.extend(toolchain.binaries());
    inputs.into_iter().collect()
}

fn toml_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml") && path.is_file())
        .collect()
}

/// The `Cargo.toml` of the crate that `source` belongs to: the nearest one
/// in its ancestors. `searched` holds directories already looked at, so a
/// crate's many files cost one walk up.
fn owning_manifest(source: &Path, searched: &mut BTreeSet<PathBuf>) -> Option<PathBuf> {
    for dir in source.ancestors().skip(1) {
        if !searched.insert(dir.to_path_buf()) {
            return None; // the walk from a sibling already found (or missed) it
        }
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            return Some(manifest);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn sources_bring_their_crates_manifests_and_the_workspace_its_files() {
        let dir = TestDir::new("inputs");
        let root = dir.path();
        dir.write("Cargo.toml", "[workspace]");
        dir.write("xtask/engine/Cargo.toml", "[package]");
        dir.write("xtask/cli/Cargo.toml", "[package]");
        dir.write(".cargo/flags.toml", "[build]");
        dir.write(".cargo/xtask-launch/alias.toml", "[alias]");
        let sources = [
            dir.write("xtask/engine/src/lib.rs", ""),
            dir.write("xtask/engine/src/run/exec.rs", ""),
            dir.write("xtask/cli/src/main.rs", ""),
        ];
        let toolchain = Toolchain {
            cargo: Some(PathBuf::from("/rustup/toolchains/stable/bin/cargo")),
            cargo_home: Some(PathBuf::from("/home/me/.cargo")),
        };
        let inputs = engine_inputs(root, &sources, &toolchain);
        let expected = [
            root.join("Cargo.toml"),
            root.join("Cargo.lock"),
            root.join("rust-toolchain"),
            root.join("rust-toolchain.toml"),
            root.join(".cargo/config.toml"),
            root.join(".cargo/flags.toml"),
            root.parent().unwrap().join(".cargo/config.toml"),
            PathBuf::from("/.cargo/config"),
            PathBuf::from("/home/me/.cargo/config.toml"),
            root.join("xtask/engine/Cargo.toml"),
            root.join("xtask/cli/Cargo.toml"),
            sources[1].clone(),
            PathBuf::from("/rustup/toolchains/stable/bin/cargo"),
            PathBuf::from(format!(
                "/rustup/toolchains/stable/bin/rustc{}",
                std::env::consts::EXE_SUFFIX
            )),
        ];
        for path in expected {
            assert!(
                inputs.contains(&path),
                "{} missing from {inputs:#?}",
                path.display()
            );
        }
        // One walk per crate, not per file; and nothing from above the root's
        // manifest for files that have their own.
        assert!(!inputs.contains(&root.join("xtask/Cargo.toml")));
        // The launcher's own files would make every launch after writing
        // them a rebuild.
        assert!(!inputs.contains(&root.join(".cargo/xtask-launch/alias.toml")));
        assert_eq!(
            inputs.iter().filter(|p| p.ends_with("Cargo.toml")).count(),
            3
        );
    }
}
