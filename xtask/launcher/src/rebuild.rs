//! Bringing the engine up to date: one launch at a time (a file lock), cargo
//! building it with its usual progress on the terminal, then a new stamp.

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::SystemTime;

use crate::features::Features;
use crate::layout::{ENGINE_BIN, ENGINE_PACKAGE, ENGINE_PROFILE, Layout};

/// Held exclusively while a launch rebuilds the engine and writes the stamp
/// (a second launch waits, then finds the stamp fresh instead of asking
/// cargo again), and shared from a launch's check of the stamp until it
/// execs the engine (so no launch replaces the binary in between). `exec`
/// closes the file, which releases the lock.
pub struct BuildLock {
    _file: File,
}

impl BuildLock {
    pub fn exclusive(layout: &Layout) -> io::Result<BuildLock> {
        std::fs::create_dir_all(&layout.state_dir)?;
        let file = BuildLock::open(layout)?;
        file.lock()?;
        Ok(BuildLock { _file: file })
    }

    /// `None` before the first build made the state directory (there is no
    /// stamp to protect then either).
    pub fn shared(layout: &Layout) -> Option<BuildLock> {
        let file = BuildLock::open(layout).ok()?;
        file.lock_shared().ok()?;
        Some(BuildLock { _file: file })
    }

    fn open(layout: &Layout) -> io::Result<File> {
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(layout.lock_path())
    }
}

/// "Now" on the file system's clock, which is what the inputs' timestamps
/// are compared with: the modification time of a file written just now in
/// the state directory.
pub fn file_system_now(layout: &Layout) -> io::Result<SystemTime> {
    let path = layout.clock_path();
    std::fs::write(&path, std::process::id().to_string())?;
    std::fs::metadata(&path)?.modified()
}

/// `cargo build` of the engine binary, its output on our stderr as if the
/// user had typed it. `cargo` is `$CARGO` when `cargo run` started us, so the
/// engine is built by the same toolchain (and sees the same configuration:
/// the working directory is left as it is).
pub fn build_engine(cargo: &Path, layout: &Layout, features: Features) -> io::Result<ExitStatus> {
    let mut command = Command::new(cargo);
    crate::environment::without_cargo_run_vars(&mut command)
        .arg("build")
        .arg("--manifest-path")
        .arg(layout.workspace_manifest())
        .args([
            "--package",
            ENGINE_PACKAGE,
            "--bin",
            ENGINE_BIN,
            "--profile",
            ENGINE_PROFILE,
        ])
        .args(features.cargo_args())
        // Our stdout is the engine's: cargo's JSON or notes must not land there.
        .stdout(io::stderr())
        .status()
}
