//! Configuration errors: each names the file, the line when known, the key,
//! and how to fix it.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "failed to parse {path}: {message}\nhint: fix the line shown above; the keys of [workspace.metadata.xtask] are listed in README.md#configuration"
    )]
    Toml { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(Located),
}

impl xtask_toolbox::fault::Classify for ConfigError {
    fn fault(&self) -> xtask_toolbox::fault::Fault {
        use xtask_toolbox::fault::Fault;
        match self {
            // The manifest was there a moment ago (cargo read it): the disk.
            ConfigError::Io { .. } => Fault::System,
            ConfigError::Toml { .. } | ConfigError::Invalid(_) => Fault::User,
        }
    }
}

/// A semantic mistake at a known place in a manifest.
#[derive(Debug)]
pub struct Located {
    pub path: PathBuf,
    /// 1-based; 0 when the line is not known.
    pub line: usize,
    /// The dotted key, e.g. `workspace.metadata.xtask.tasks.build.depends-on`.
    pub key: String,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": `{}`: {}", self.key, self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\nhint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// The closest candidates to a misspelled name, for "did you mean" hints
/// (the toolbox's, shared with `--filter`).
pub use xtask_toolbox::suggest::{edit_distance, suggest};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names_only() {
        let names = ["build", "test", "lint", "check"];
        assert_eq!(suggest("biuld", names), vec!["build"]);
        assert_eq!(suggest("tset", names), vec!["test"]);
        assert!(suggest("deploy", names).is_empty());
    }
}
