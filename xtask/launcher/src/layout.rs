//! Where things are: the workspace the engine is built from, the engine
//! binary and its dep-info in the target directory, the launcher's own
//! state (stamp, lock, clock) beside them, and which of the two launchers
//! (the workspace member, or the standalone copy of the fast path) this is.

use std::path::{Path, PathBuf};

/// The engine's package and binary, as `cargo build` names them.
pub const ENGINE_PACKAGE: &str = "xtask";
pub const ENGINE_BIN: &str = "xtask";
/// The engine is built in the dev profile (its hot crates are optimised
/// there, see the root Cargo.toml), so `cargo test`, which builds the same
/// binary for the CLI tests, shares the build instead of doing it twice.
pub const ENGINE_PROFILE: &str = "dev";
/// The directory cargo puts the dev profile's outputs in.
const ENGINE_PROFILE_DIR: &str = "debug";
/// Where `cargo run --package xtask-launcher` puts the member launcher.
const MEMBER_PROFILE_DIR: &str = "debug";

/// Which launcher runs: both are built from the same sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The workspace member `xtask/launcher` (`cargo run --package
    /// xtask-launcher`): the slow path, which builds and writes everything.
    Member,
    /// The one-package workspace in `.cargo/xtask-launch` (the fast path):
    /// it runs a fresh engine and hands everything else to the member.
    Standalone,
}

#[derive(Debug)]
pub struct Layout {
    pub variant: Variant,
    /// The workspace root: the engine is built from `<root>/Cargo.toml`.
    pub workspace_root: PathBuf,
    /// The launcher itself (a rebuilt launcher trusts no stamp of an old one).
    pub launcher_exe: PathBuf,
    /// The other variant's binary, where it is built (it too is part of the
    /// stamp: either may be rebuilt while the other runs).
    pub other_launcher_exe: PathBuf,
    /// Cargo's target directory (the one holding `CACHEDIR.TAG`), when it
    /// can be told from where the launcher runs.
    pub target_root: Option<PathBuf>,
    /// `<target>/debug/xtask`.
    pub engine_exe: PathBuf,
    /// `<target>/debug/xtask.d`: cargo's list of every workspace source file
    /// compiled into the engine.
    pub engine_dep_info: PathBuf,
    /// `<target>/debug/.xtask-launch/`: the stamp, the lock, the clock file.
    pub state_dir: PathBuf,
}

impl Layout {
    /// The layout of the launcher running as `launcher_exe`, which cargo put
    /// at `<target>/<profile>/xtask-launch`, for the workspace at
    /// `workspace_root`. The engine goes to the same target directory (the
    /// launcher's cargo invocation sees the same configuration and
    /// environment as the one that built the launcher), in the dev profile's
    /// directory whatever profile the launcher was built in.
    pub fn new(
        variant: Variant,
        workspace_root: PathBuf,
        launcher_exe: PathBuf,
    ) -> Result<Layout, String> {
        let target_dir = launcher_exe
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| {
                format!(
                    "the launcher runs as {}, not from a cargo target directory\nhint: run it as `cargo xtask`",
                    launcher_exe.display()
                )
            })?;
        let profile_dir = target_dir.join(ENGINE_PROFILE_DIR);
        let exe_name = format!("{ENGINE_BIN}{}", std::env::consts::EXE_SUFFIX);
        let other_profile_dir = match variant {
            Variant::Member => crate::fast_path::PROFILE,
            Variant::Standalone => MEMBER_PROFILE_DIR,
        };
        let launcher_name = launcher_exe
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default();
        Ok(Layout {
            variant,
            other_launcher_exe: target_dir.join(other_profile_dir).join(launcher_name),
            target_root: cargo_target_root(target_dir),
            engine_exe: profile_dir.join(&exe_name),
            engine_dep_info: profile_dir.join(format!("{ENGINE_BIN}.d")),
            state_dir: profile_dir.join(".xtask-launch"),
            workspace_root,
            launcher_exe,
        })
    }

    /// The layout of this process: the root is two levels above the
    /// launcher's manifest (`<root>/xtask/launcher`, or the fast path's
    /// `<root>/.cargo/xtask-launch`). `cargo run` passes the manifest
    /// directory at run time, which stays right when the checkout moves; the
    /// compiled-in one is the fallback for a direct start.
    pub fn of_this_process() -> Result<Layout, String> {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let workspace_root = manifest_dir
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .ok_or_else(|| {
                format!(
                    "the launcher's manifest directory {} is not <root>/xtask/launcher",
                    manifest_dir.display()
                )
            })?;
        let launcher_exe = std::env::current_exe()
            .map_err(|e| format!("cannot tell where the launcher runs from: {e}"))?;
        let variant = if manifest_dir.ends_with(crate::fast_path::DIR) {
            Variant::Standalone
        } else {
            Variant::Member
        };
        Layout::new(variant, workspace_root, launcher_exe)
    }

    pub fn stamp_path(&self) -> PathBuf {
        self.state_dir.join("stamp")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.state_dir.join("lock")
    }

    /// The fast path's alias as of a failed attempt to install it.
    pub fn fast_path_failure_path(&self) -> PathBuf {
        self.state_dir.join("fast-path-failed")
    }

    pub fn clock_path(&self) -> PathBuf {
        self.state_dir.join("clock")
    }

    pub fn workspace_manifest(&self) -> PathBuf {
        self.workspace_root.join("Cargo.toml")
    }
}

/// The target directory cargo was given: `dir` (`<target>/<profile>/..`) or,
/// with a `--target` triple, its parent; cargo marks it with `CACHEDIR.TAG`.
fn cargo_target_root(dir: &Path) -> Option<PathBuf> {
    [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .find(|candidate| candidate.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_lives_in_the_dev_profile_directory_of_the_launchers_target_dir() {
        for launcher_profile in ["debug", "release", "fast"] {
            let exe = PathBuf::from(format!(
                "/ws/target/x86_64-unknown-linux-gnu/{launcher_profile}/xtask-launch"
            ));
            let layout = Layout::new(Variant::Member, PathBuf::from("/ws"), exe).unwrap();
            let dir = Path::new("/ws/target/x86_64-unknown-linux-gnu/debug");
            assert_eq!(
                layout.engine_exe,
                dir.join(format!("xtask{}", std::env::consts::EXE_SUFFIX))
            );
            assert_eq!(layout.engine_dep_info, dir.join("xtask.d"));
            assert_eq!(layout.stamp_path(), dir.join(".xtask-launch/stamp"));
        }
    }

    #[test]
    fn a_launcher_outside_any_directory_is_an_error_not_a_panic() {
        let error = Layout::new(
            Variant::Member,
            PathBuf::from("/ws"),
            PathBuf::from("xtask-launch"),
        )
        .unwrap_err();
        assert!(error.contains("cargo xtask"), "{error}");
    }

    #[test]
    fn each_launcher_knows_where_the_other_is_built_and_the_target_dir_by_its_tag() {
        let dir = crate::test_dir::TestDir::new("layout");
        let target = dir.path().join("target");
        dir.write(
            "target/CACHEDIR.TAG",
            "Signature: 8a477f597d28d172789f06886806bc55",
        );
        let member = Layout::new(
            Variant::Member,
            dir.path().to_path_buf(),
            target.join("debug/xtask-launch"),
        )
        .unwrap();
        assert_eq!(
            member.other_launcher_exe,
            target.join("xtask-launch/xtask-launch")
        );
        assert_eq!(member.target_root.as_deref(), Some(target.as_path()));
        let standalone = Layout::new(
            Variant::Standalone,
            dir.path().to_path_buf(),
            target.join("x86_64-unknown-linux-gnu/xtask-launch/xtask-launch"),
        )
        .unwrap();
        assert_eq!(
            standalone.other_launcher_exe,
            target.join("x86_64-unknown-linux-gnu/debug/xtask-launch")
        );
        // With a `--target` triple the tag is one level further up.
        assert_eq!(standalone.target_root.as_deref(), Some(target.as_path()));
        // No tag, no target directory to name in an alias.
        let untagged = Layout::new(
            Variant::Member,
            dir.path().to_path_buf(),
            dir.path().join("elsewhere/debug/xtask-launch"),
        )
        .unwrap();
        assert_eq!(untagged.target_root, None);
    }
}
