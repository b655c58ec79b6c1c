//! Handing over to the engine (or, from the standalone launcher, to the
//! member launcher). On Unix the launcher becomes the engine (`exec`): same
//! process, so arguments, the standard streams, the exit status and every
//! signal (Ctrl-C, a CI runner's SIGTERM) are the engine's with nothing in
//! between. Elsewhere it runs the engine and exits with its exit code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::inputs::Toolchain;
use crate::layout::Layout;
use crate::rebuild::BuildLock;

/// Why the standalone launcher passes a launch to the member launcher.
#[derive(Debug, PartialEq, Eq)]
pub enum HandOver {
    /// The engine must be rebuilt (or the target directory changed): the
    /// member of this checkout does it.
    ToRebuild,
    /// The working directory is in another checkout, which holds a copy of
    /// this one's fast path: that checkout's member sets up its own.
    OtherCheckout,
}

/// Becomes `cargo run` of the member launcher, as the tracked alias would.
pub fn hand_over_to_member(
    why: HandOver,
    layout: &Layout,
    toolchain: &Toolchain,
    args: Vec<OsString>,
) -> Result<ExitCode, String> {
    let cargo = toolchain
        .cargo
        .clone()
        .unwrap_or_else(|| PathBuf::from("cargo"));
    let mut command = Command::new(&cargo);
    command.arg("run");
    match why {
        HandOver::ToRebuild => command
            .arg("--manifest-path")
            .arg(layout.workspace_root.join("xtask/launcher/Cargo.toml")),
        HandOver::OtherCheckout => {
            eprintln!(
                "xtask-launch: {} here was written for {}; handing over to this checkout's launcher",
                crate::fast_path::DIR,
                layout.workspace_root.display()
            );
            command.args(["--package", env!("CARGO_PKG_NAME")])
        }
    };
    command.arg("--").args(args);
    let what = format!("`{} run` of the launcher", cargo.display());
    replace_with(command, &what, None)
}

/// Runs `engine` with `args`; returns only if it could not be started (or,
/// off Unix, when it finished). `lock` keeps other launches from replacing
/// the engine until it has started: `exec` releases it (the file is
/// close-on-exec), elsewhere it is dropped once the engine is spawned.
pub fn run_engine(
    engine: &Path,
    args: Vec<OsString>,
    lock: Option<BuildLock>,
) -> Result<ExitCode, String> {
    let mut command = Command::new(engine);
    command.args(args);
    replace_with(command, &format!("the engine {}", engine.display()), lock)
}

/// Runs `command` in place of this process (`exec`), in the environment the
/// user gave `cargo xtask`; returns only if it could not be started (or, off
/// Unix, when it finished).
fn replace_with(
    mut command: Command,
    what: &str,
    lock: Option<BuildLock>,
) -> Result<ExitCode, String> {
    crate::environment::without_cargo_run_vars(&mut command);
    let cannot_run = |e: std::io::Error| format!("cannot run {what}: {e}");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        drop(lock);
        Err(cannot_run(error))
    }
    #[cfg(not(unix))]
    {
        let mut child = command.spawn().map_err(cannot_run)?;
        drop(lock);
        let status = child.wait().map_err(cannot_run)?;
        Ok(status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .map_or(ExitCode::FAILURE, ExitCode::from))
    }
}
