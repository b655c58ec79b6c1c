//! Handing over to the engine. On Unix the launcher becomes the engine
//! (`exec`): same process, so arguments, the standard streams, the exit
//! status and every signal (Ctrl-C, a CI runner's SIGTERM) are the engine's
//! with nothing in between. Elsewhere it runs the engine and exits with its
//! exit code.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode};

/// Runs `engine` with `args`; returns only if it could not be started (or,
/// off Unix, when it finished).
pub fn run_engine(engine: &Path, args: Vec<OsString>) -> Result<ExitCode, String> {
    let mut command = Command::new(engine);
    crate::environment::without_cargo_run_vars(&mut command).args(args);
    let cannot_run = |e: std::io::Error| format!("cannot run the engine {}: {e}", engine.display());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(cannot_run(command.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(cannot_run)?;
        Ok(status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .map_or(ExitCode::FAILURE, ExitCode::from))
    }
}
