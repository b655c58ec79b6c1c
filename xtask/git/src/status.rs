//! The working tree's status: what a release would leave out of its commit.

use crate::{GitError, Repo};

/// One changed, staged or untracked (not ignored) path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// Git's two-letter code (`" M"`, `"??"`, …).
    pub code: String,
    /// Relative to the root.
    pub path: String,
}

impl Repo {
    /// Every path that differs from HEAD under the root, untracked included.
    pub fn status(&self) -> Result<Vec<StatusEntry>, GitError> {
        let out = self.stdout([
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
            "--",
            ".",
        ])?;
        // Porcelain paths are relative to the repository's top, so strip the
        // root's prefix to report them like every other call here.
        let prefix = self.stdout(["rev-parse", "--show-prefix"])?;
        let prefix = prefix.trim_end_matches('\n');
        out.split('\0')
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                if entry.len() < 4 || !entry.is_char_boundary(3) {
                    return Err(GitError::Unparsable {
                        command: "git status --porcelain".into(),
                        detail: format!("unexpected entry {entry:?}"),
                    });
                }
                let path = &entry[3..];
                Ok(StatusEntry {
                    code: entry[..2].to_string(),
                    path: path.strip_prefix(prefix).unwrap_or(path).to_string(),
                })
            })
            .collect()
    }
}
