//! Handing over to the engine. On Unix the launcher becomes the engine
//! (`exec`): same process, so arguments, the standard streams, the exit
//! status and every signal (Ctrl-C, a CI runner's SIGTERM) are the engine's
//! with nothing in between. Elsewhere it runs the engine and exits with its
//! exit code.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode};

use crate::rebuild::BuildLock;

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
    crate::environment::without_cargo_run_vars(&mut command).args(args);
    let cannot_run = |e: std::io::Error| format!("cannot run the engine {}: {e}", engine.display());
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
