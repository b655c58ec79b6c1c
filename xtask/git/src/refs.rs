//! Refs: tags (with the commit each points at), the current branch, and
//! creating annotated tags.

use crate::{GitError, Repo};

/// A tag and the commit it points at (annotated tags peeled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub commit: String,
}

/// What HEAD is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branch {
    /// On a branch, e.g. `main` (no `refs/heads/` prefix).
    Named(String),
    /// HEAD names a commit directly (`git checkout <tag>`, some CI checkouts).
    Detached,
}

impl Repo {
    /// Tags whose name matches the glob `pattern` (e.g. `api-v*`); with
    /// `merged_into`, only those whose commit is an ancestor of that revision.
    pub fn tags(&self, pattern: &str, merged_into: Option<&str>) -> Result<Vec<Tag>, GitError> {
        let mut args = vec![
            "for-each-ref".to_string(),
            // Ref names cannot hold control characters: a line is one tag.
            "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)".into(),
        ];
        if let Some(rev) = merged_into {
            crate::check_revision(rev)?;
            args.push(format!("--merged={rev}"));
        }
        args.push(format!("refs/tags/{pattern}"));
        let out = self.stdout(&args)?;
        out.lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let mut fields = line.split('\0');
                let (Some(name), Some(object), Some(peeled)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    return Err(GitError::Unparsable {
                        command: "git for-each-ref refs/tags".into(),
                        detail: format!("unexpected line {line:?}"),
                    });
                };
                let commit = if peeled.is_empty() { object } else { peeled };
                Ok(Tag {
                    name: name.to_string(),
                    commit: commit.to_string(),
                })
            })
            .collect()
    }

    /// The branch HEAD is on, or [`Branch::Detached`].
    pub fn current_branch(&self) -> Result<Branch, GitError> {
        let output = self.output(["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        if output.status.success() {
            let name = String::from_utf8_lossy(&output.stdout).trim().to_string();
            return Ok(Branch::Named(name));
        }
        // Exit 1 with no message is git's word for "detached"; anything else
        // (not a repository, …) is reported as it is.
        self.stdout(["rev-parse", "--git-dir"])?;
        Ok(Branch::Detached)
    }

    /// Creates the annotated tag `name` on `commit` with `message`. Fails if
    /// the tag exists.
    pub fn create_tag(&self, name: &str, commit: &str, message: &str) -> Result<(), GitError> {
        crate::check_revision(name)?;
        crate::check_revision(commit)?;
        // verbatim: the default cleanup would drop markdown headings as comments.
        self.stdout([
            "tag",
            "--annotate",
            "--no-sign",
            "--cleanup=verbatim",
            "-m",
            message,
            name,
            commit,
        ])
        .map(drop)
    }

    /// The message of annotated tag `name`; `None` for a lightweight tag or
    /// no such tag.
    pub fn tag_message(&self, name: &str) -> Result<Option<String>, GitError> {
        crate::check_revision(name)?;
        let full = format!("refs/tags/{name}");
        let kind = self.output(["cat-file", "-t", &full])?;
        if !kind.status.success() || String::from_utf8_lossy(&kind.stdout).trim() != "tag" {
            return Ok(None);
        }
        let out = self.stdout(["for-each-ref", "--format=%(contents)", &full])?;
        Ok(Some(out.trim_end().to_string()))
    }
}
