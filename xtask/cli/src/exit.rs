//! Exit codes, documented in README.md#exit-codes and `--help`: 0 success,
//! 1 a task failed, 2 the user's mistake (usage, configuration, a filter or
//! task that names nothing), 3 an internal error or a problem of the
//! environment (I/O, git or cargo missing or failing), 130 cancelled, 141
//! stdout closed by its reader (`stdout.rs`, decided before this is asked).
//!
//! Errors say whose problem they are (`xtask_toolbox::fault::Classify`, and
//! `is_internal` on git's and release's errors); this is the one place that
//! asks, walking the chain from the outside in.

use std::error::Error;

use xtask_toolbox::fault::{Classify, Fault};

/// The `--help` text of the table above.
pub const HELP: &str = "Exit codes:
  0    success
  1    a task failed
  2    a mistake in the command line or the configuration (usage, a bad value, an unknown task or package)
  3    an internal error or a problem of the environment (I/O, git or cargo missing or failing)
  130  interrupted (Ctrl-C)
  141  stdout was closed by its reader (`| head`); a run still finishes its tasks";

pub const USER_MISTAKE: u8 = 2;
pub const SYSTEM_FAILURE: u8 = 3;

/// The exit code for an error that ended the command.
pub fn code(error: &anyhow::Error) -> u8 {
    // The outermost cause that says whose problem it is decides: a context
    // line may sit on top of it, and a wrapper delegates to what it wraps.
    // The rest (the command line's own checks of its arguments, release's
    // plan and manifest errors) are mistakes in the request.
    match error.chain().find_map(fault_of) {
        Some(Fault::System) => SYSTEM_FAILURE,
        Some(Fault::User) | None => USER_MISTAKE,
    }
}

fn fault_of(cause: &(dyn Error + 'static)) -> Option<Fault> {
    fn classified<E: Classify + Error + 'static>(cause: &(dyn Error + 'static)) -> Option<Fault> {
        cause.downcast_ref::<E>().map(Classify::fault)
    }
    let internal = |yes: bool| if yes { Fault::System } else { Fault::User };
    classified::<xtask_engine::EngineError>(cause)
        .or_else(|| classified::<xtask_engine::scope::ScopeError>(cause))
        .or_else(|| classified::<xtask_graph::GraphError>(cause))
        .or_else(|| classified::<xtask_config::ConfigError>(cause))
        .or_else(|| classified::<xtask_hash::HashError>(cause))
        .or_else(|| classified::<xtask_cache::CacheError>(cause))
        .or_else(|| classified::<xtask_remote::RemoteError>(cause))
        .or_else(|| classified::<std::io::Error>(cause))
        .or_else(|| {
            let release = cause.downcast_ref::<xtask_release::ReleaseError>()?;
            Some(internal(release.is_internal()))
        })
        .or_else(|| {
            let git = cause.downcast_ref::<xtask_git::GitError>()?;
            Some(internal(git.is_internal()))
        })
        // Serializing our own values failed: a bug.
        .or_else(|| cause.is::<serde_json::Error>().then_some(Fault::System))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outermost_classified_cause_decides() {
        let io = std::io::Error::other("disk on fire");
        let error = anyhow::Error::new(io).context("failed to write the run summary");
        assert_eq!(code(&error), SYSTEM_FAILURE);

        let engine = xtask_engine::EngineError::UnknownTask {
            task: "x".into(),
            known: vec![],
        };
        assert_eq!(code(&anyhow::Error::new(engine)), USER_MISTAKE);

        let config = xtask_config::ConfigError::Io {
            path: "Cargo.toml".into(),
            source: std::io::Error::other("gone"),
        };
        let wrapped = xtask_engine::EngineError::Config(config);
        let error = anyhow::Error::new(wrapped).context("failed to load the workspace");
        assert_eq!(code(&error), SYSTEM_FAILURE, "a wrapper delegates");

        let git = xtask_git::GitError::Spawn {
            command: "git log".into(),
            source: std::io::Error::other("not found"),
        };
        let release = xtask_release::ReleaseError::Git(git);
        assert_eq!(code(&anyhow::Error::new(release)), SYSTEM_FAILURE);

        assert_eq!(code(&anyhow::anyhow!("`x` is not a task id")), USER_MISTAKE);
    }

    #[test]
    fn cargo_metadata_is_the_users_when_it_names_a_manifest() {
        let failed = |stderr: &str| {
            anyhow::Error::new(xtask_graph::GraphError::CargoMetadata {
                root: "/ws".into(),
                stderr: stderr.into(),
            })
        };
        let manifest = "error: failed to parse manifest at `/ws/crates/b/Cargo.toml`";
        assert_eq!(code(&failed(manifest)), USER_MISTAKE);
        let toolchain = "error: toolchain 'nightly-2020-01-01' is not installed";
        assert_eq!(code(&failed(toolchain)), SYSTEM_FAILURE);
    }
}
