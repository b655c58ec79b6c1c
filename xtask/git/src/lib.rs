//! git through its command line, behind typed values: history with the files
//! each commit touched, tags, the working tree's status, the current branch,
//! what changed between two states ([`Git`], for `--affected` and `[ref]`
//! filters), and the writes a release makes (commit, tag, push).
//!
//! Every call runs `git` in the workspace root with `LC_ALL=C`; paths are
//! relative to that root (which may be a subdirectory of the repository).
//! Nothing here prints. Output from git is parsed strictly: a record that does
//! not have the expected shape is an error, never a guess.

mod changes;
mod log;
mod refs;
mod status;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use changes::Git;
pub use log::{Commit, Person, Range};
pub use refs::{Branch, Tag};
pub use status::StatusEntry;

/// What can go wrong talking to git. Every message a user may meet says
/// what to do in a `hint:` line, except [`GitError::Unparsable`] (a bug or
/// a git this tool does not know).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("failed to run `{command}`\nhint: is git installed and on PATH?")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{root} is not in a git repository\nhint: run `git init` and commit, or use -C to point at a checkout"
    )]
    NotARepository { root: PathBuf },
    #[error("`{command}` failed: {stderr}\nhint: run it yourself in the workspace root to see why")]
    Failed { command: String, stderr: String },
    #[error("`{command}` printed output this tool cannot read: {detail}")]
    Unparsable { command: String, detail: String },
    #[error("`{reference}` is not a usable git revision (it must not be empty or start with `-`)")]
    BadRevision { reference: String },
    #[error(
        "`{base}` and `{head}` have no common ancestor, so there is no branch point to compare with\nhint: pass a base that is in the history of `{head}`"
    )]
    NoMergeBase { base: String, head: String },
}

impl GitError {
    /// True for trouble with the machine or with git itself (it cannot be
    /// run, it failed, it printed what we cannot read) rather than with what
    /// was asked of it (no repository, a bad revision, unrelated histories).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            GitError::Spawn { .. } | GitError::Failed { .. } | GitError::Unparsable { .. }
        )
    }
}

/// A git repository, seen from a directory inside it.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The repository containing `root`; paths are reported relative to `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Repo, GitError> {
        let repo = Repo { root: root.into() };
        repo.stdout(["rev-parse", "--git-dir"])?;
        Ok(repo)
    }

    /// The repository containing `root`, not checked until the first call:
    /// for callers that may need no git at all (a `--filter` by name runs
    /// none, and must work outside a repository).
    pub fn at(root: impl Into<PathBuf>) -> Repo {
        Repo { root: root.into() }
    }

    /// The directory git runs in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The commit `revision` names, as a full id; `None` when it names none.
    pub fn resolve(&self, revision: &str) -> Result<Option<String>, GitError> {
        check_revision(revision)?;
        let spec = format!("{revision}^{{commit}}");
        let output = self.output(["rev-parse", "--verify", "--quiet", &spec])?;
        Ok(output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string()))
    }

    /// True when the history is truncated (`git clone --depth`).
    pub fn is_shallow(&self) -> Result<bool, GitError> {
        Ok(self
            .stdout(["rev-parse", "--is-shallow-repository"])?
            .trim()
            == "true")
    }

    /// The URL of `remote` (e.g. `origin`), if it exists. May hold
    /// credentials: callers must mask it before showing it.
    pub fn remote_url(&self, remote: &str) -> Result<Option<String>, GitError> {
        let key = format!("remote.{remote}.url");
        let output = self.output(["config", "--get", &key])?;
        let url = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Ok((output.status.success() && !url.is_empty()).then_some(url))
    }

    /// The file at `path` (relative to the root) in `revision`, or `None` when
    /// that revision has no such file.
    pub fn show_file(&self, revision: &str, path: &str) -> Result<Option<String>, GitError> {
        check_revision(revision)?;
        let spec = format!("{revision}:./{path}");
        let output = self.output(["show", &spec])?;
        Ok(output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
    }

    /// Stages `paths` (relative to the root), new files included.
    pub fn add(&self, paths: &[String]) -> Result<(), GitError> {
        let mut args = vec!["add".to_string(), "--".to_string()];
        args.extend(paths.iter().cloned());
        self.stdout(&args).map(drop)
    }

    /// Commits what is staged; returns the new commit's id.
    pub fn commit(&self, message: &str) -> Result<String, GitError> {
        self.stdout(["commit", "--quiet", "--no-verify", "-m", message])?;
        self.resolve("HEAD")?.ok_or_else(|| GitError::Unparsable {
            command: "git rev-parse HEAD".into(),
            detail: "no HEAD after committing".into(),
        })
    }

    /// Pushes `refspecs` to `remote`, atomically when the server can.
    pub fn push(&self, remote: &str, refspecs: &[String]) -> Result<(), GitError> {
        let mut args = vec!["push".to_string(), "--atomic".into(), remote.into()];
        args.extend(refspecs.iter().cloned());
        self.stdout(&args).map(drop)
    }

    fn output<I, S>(&self, args: I) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        Command::new("git")
            .args(&args)
            .current_dir(&self.root)
            // English messages (the checks below read them); no pager, no prompt.
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_PAGER")
            .output()
            .map_err(|source| GitError::Spawn {
                command: command_line(&args),
                source,
            })
    }

    /// Runs git and returns its stdout, or an error naming the command.
    fn stdout<I, S>(&self, args: I) -> Result<String, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = self.output(&args)?;
        self.checked(&args, output)
    }

    /// The stdout of a finished git command, or an error naming the command
    /// (with any credentials in git's message masked).
    fn checked<S: AsRef<OsStr>>(&self, args: &[S], output: Output) -> Result<String, GitError> {
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = mask_url_credentials(String::from_utf8_lossy(&output.stderr).trim());
        Err(if stderr.contains("not a git repository") {
            GitError::NotARepository {
                root: self.root.clone(),
            }
        } else {
            let args: Vec<_> = args.iter().map(|a| a.as_ref().to_owned()).collect();
            GitError::Failed {
                command: command_line(&args),
                stderr,
            }
        })
    }
}

fn command_line(args: &[std::ffi::OsString]) -> String {
    let args: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
    format!("git {}", args.join(" "))
}

/// `https://user:token@host/…` → `https://***@host/…`: git may quote a
/// remote's URL in its errors, and a URL may hold a token.
fn mask_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || "'\"/".contains(c))
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo) => {
                out.push_str("***");
                rest = &tail[userinfo..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// A revision starting with `-` would be read as an option by git.
fn check_revision(revision: &str) -> Result<(), GitError> {
    if revision.is_empty() || revision.starts_with('-') {
        return Err(GitError::BadRevision {
            reference: revision.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            super::mask_url_credentials(
                "fatal: unable to access 'https://x:ghs_SECRET@github.com/o/r.git/': 403; also ssh://git@h/r and https://h/r"
            ),
            "fatal: unable to access 'https://***@github.com/o/r.git/': 403; also ssh://***@h/r and https://h/r"
        );
    }
}
