//! Where things are: the workspace the engine is built from, the engine
//! binary and its dep-info in the target directory, and the launcher's own
//! state (stamp, lock, clock) beside them.

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

#[derive(Debug)]
pub struct Layout {
    /// The workspace root: the engine is built from `<root>/Cargo.toml`.
    pub workspace_root: PathBuf,
    /// The launcher itself (a rebuilt launcher trusts no stamp of an old one).
    pub launcher_exe: PathBuf,
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
    pub fn new(workspace_root: PathBuf, launcher_exe: PathBuf) -> Result<Layout, String> {
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
        Ok(Layout {
            engine_exe: profile_dir.join(&exe_name),
            engine_dep_info: profile_dir.join(format!("{ENGINE_BIN}.d")),
            state_dir: profile_dir.join(".xtask-launch"),
            workspace_root,
            launcher_exe,
        })
    }

    /// The layout of this process: the root is two levels above the
    /// launcher's manifest (`<root>/xtask/launcher`). `cargo run` passes the
    /// manifest directory at run time, which stays right when the checkout
    /// moves; the compiled-in one is the fallback for a direct start.
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
        Layout::new(workspace_root, launcher_exe)
    }

    pub fn stamp_path(&self) -> PathBuf {
        self.state_dir.join("stamp")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.state_dir.join("lock")
    }

    pub fn clock_path(&self) -> PathBuf {
        self.state_dir.join("clock")
    }

    pub fn workspace_manifest(&self) -> PathBuf {
        self.workspace_root.join("Cargo.toml")
    }
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
            let layout = Layout::new(PathBuf::from("/ws"), exe).unwrap();
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
        let error = Layout::new(PathBuf::from("/ws"), PathBuf::from("xtask-launch")).unwrap_err();
        assert!(error.contains("cargo xtask"), "{error}");
    }
}
