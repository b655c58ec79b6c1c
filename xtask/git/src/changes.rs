//! What changed between two states of the repository: the files of a diff
//! (the working tree included), the merge-base of two commits, and the
//! remote's default branch. [`Git`] names these questions so that callers
//! (the engine's `--affected` and `[ref]` filters) test their rules against a
//! fake; [`Repo`] answers them through the git CLI.

use std::collections::BTreeSet;

use crate::{GitError, Repo, check_revision};

/// The questions change detection asks. Refs are anything `git rev-parse`
/// understands; paths are relative to the root with `/` separators.
pub trait Git {
    /// Files that differ between commit `from` and commit `to` (no merge-base
    /// is taken here), or with `to` `None` between `from` and the working tree
    /// (staged, unstaged and untracked files that are not ignored). A rename
    /// yields both paths.
    fn changed_files(&self, from: &str, to: Option<&str>) -> Result<Vec<String>, GitError>;
    /// The best common ancestor of `a` and `b`, as a commit id;
    /// [`GitError::NoMergeBase`] when their histories never meet.
    fn merge_base(&self, a: &str, b: &str) -> Result<String, GitError>;
    /// The commit `revision` names, as a full id; `None` when it names none.
    fn resolve(&self, revision: &str) -> Result<Option<String>, GitError>;
    /// True when the history is truncated (`git clone --depth`).
    fn is_shallow(&self) -> Result<bool, GitError>;
    /// The remote's default branch (`origin/HEAD`'s target, e.g.
    /// `origin/main`); `None` when the clone does not record one.
    fn default_branch(&self) -> Result<Option<String>, GitError>;
}

impl Git for Repo {
    fn changed_files(&self, from: &str, to: Option<&str>) -> Result<Vec<String>, GitError> {
        check_revision(from)?;
        if let Some(to) = to {
            check_revision(to)?;
        }
        // --no-renames: a rename is a deletion plus an addition, so both paths
        // count. --relative: paths relative to the root, and changes outside
        // it (when the root is a subdirectory) left out. -z: no quoting of
        // unusual file names.
        let mut args = vec![
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--relative",
            from,
        ];
        args.extend(to);
        args.push("--");
        // Without a second commit, `git diff <from>` compares with the working
        // tree, which covers committed, staged and unstaged changes at once.
        let output = self.output(&args)?;
        if !output.status.success() {
            // Outside a repository `git diff` turns into `diff --no-index` and
            // fails with its usage text: ask git where the repository is, so
            // that the error says what is wrong.
            self.stdout(["rev-parse", "--git-dir"])?;
        }
        let diff = self.checked(&args, output)?;
        let mut files: BTreeSet<String> = nul_separated(&diff).collect();
        if to.is_none() {
            // Untracked files are in no diff; list the ones git does not ignore
            // (ls-files is relative to, and limited to, the current directory).
            let untracked = self.stdout(["ls-files", "-z", "--others", "--exclude-standard"])?;
            files.extend(nul_separated(&untracked));
        }
        Ok(files.into_iter().collect())
    }

    fn merge_base(&self, a: &str, b: &str) -> Result<String, GitError> {
        check_revision(a)?;
        check_revision(b)?;
        let args = ["merge-base", a, b];
        let output = self.output(args)?;
        // Exit status 1 without a message is git's "no common ancestor".
        if output.status.code() == Some(1) && output.stderr.is_empty() {
            return Err(GitError::NoMergeBase {
                base: a.to_string(),
                head: b.to_string(),
            });
        }
        Ok(self.checked(&args, output)?.trim().to_string())
    }

    fn resolve(&self, revision: &str) -> Result<Option<String>, GitError> {
        Repo::resolve(self, revision)
    }

    fn is_shallow(&self) -> Result<bool, GitError> {
        Repo::is_shallow(self)
    }

    fn default_branch(&self) -> Result<Option<String>, GitError> {
        let args = [
            "symbolic-ref",
            "--quiet",
            "--short",
            "refs/remotes/origin/HEAD",
        ];
        let output = self.output(args)?;
        // Exit status 1 without a message: the ref does not exist, which
        // is how a clone without a recorded default branch looks.
        if output.status.code() == Some(1) && output.stderr.is_empty() {
            return Ok(None);
        }
        let out = self.checked(&args, output)?;
        let branch = out.trim();
        Ok((!branch.is_empty()).then(|| branch.to_string()))
    }
}

/// Splits git's `-z` output into paths.
fn nul_separated(out: &str) -> impl Iterator<Item = String> + '_ {
    out.split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}
