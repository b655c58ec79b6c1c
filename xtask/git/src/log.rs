//! History: the commits of a range, each with its author, message and the
//! files it touched.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use crate::{GitError, Repo, check_revision};

/// Someone who wrote a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// One commit as `git log` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Full object id.
    pub id: String,
    /// Parent ids; two or more for a merge.
    pub parents: Vec<String>,
    pub author: Person,
    /// Author time, seconds since the Unix epoch.
    pub time: i64,
    /// The whole message: subject, blank line, body, trailers.
    pub message: String,
    /// Files the commit added, changed or deleted, relative to the root
    /// (renames count as both paths). Empty for a merge: what a merge brings
    /// in is already in the commits it merges.
    pub files: Vec<String>,
}

impl Commit {
    /// The first line of the message.
    pub fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }

    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(7)]
    }
}

/// The commits reachable from `to` but not from `from` (`from..to`), or the
/// whole history up to `to` when `from` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Range {
    pub from: Option<String>,
    pub to: String,
}

impl Range {
    pub fn since(from: Option<&str>, to: &str) -> Range {
        Range {
            from: from.map(str::to_string),
            to: to.to_string(),
        }
    }
}

impl Repo {
    /// The commits of `range`, newest first (git's default order).
    pub fn log(&self, range: &Range) -> Result<Vec<Commit>, GitError> {
        check_revision(&range.to)?;
        // A marker no file name can forge: records are split where it starts.
        let marker = format!(
            "xtask-commit-{:016x}",
            RandomState::new().build_hasher().finish()
        );
        let format = format!("--format={marker}%x00%H%x00%P%x00%an%x00%ae%x00%at%x00%B");
        let mut args = vec![
            "-c".to_string(),
            "core.quotepath=off".into(),
            "log".into(),
            "--no-renames".into(),
            "--name-only".into(),
            "--relative".into(),
            "-z".into(),
            format,
            range.to.clone(),
        ];
        if let Some(from) = &range.from {
            check_revision(from)?;
            args.push(format!("^{from}"));
        }
        args.push("--".into());
        let out = self.stdout(&args)?;
        parse_log(&out, &marker).map_err(|detail| GitError::Unparsable {
            command: format!("git log {}", range_text(range)),
            detail,
        })
    }
}

fn range_text(range: &Range) -> String {
    match &range.from {
        Some(from) => format!("{from}..{}", range.to),
        None => range.to.clone(),
    }
}

/// Parses `git log -z --name-only` output whose format starts every commit
/// with `marker` followed by NUL-separated fields.
fn parse_log(out: &str, marker: &str) -> Result<Vec<Commit>, String> {
    let mut commits = Vec::new();
    let mut tokens = out.split('\0').peekable();
    while let Some(token) = tokens.next() {
        if token.is_empty() {
            continue;
        }
        let start = token.trim_start_matches('\n');
        if start != marker {
            return Err(format!("expected a commit record, found {start:?}"));
        }
        let mut field = |name: &str| {
            tokens
                .next()
                .map(str::to_string)
                .ok_or_else(|| format!("a commit record ends before its {name}"))
        };
        let id = field("id")?;
        if id.len() < 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{id:?} is not a commit id"));
        }
        let parents = field("parents")?
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let name = field("author name")?;
        let email = field("author email")?;
        let time = field("time")?;
        let time = time
            .parse()
            .map_err(|_| format!("{time:?} is not a time in seconds"))?;
        let message = field("message")?.trim_end().to_string();
        let mut files = Vec::new();
        while let Some(next) = tokens.peek() {
            let path = next.trim_start_matches('\n');
            if path == marker {
                break;
            }
            if !path.is_empty() {
                files.push(path.to_string());
            }
            tokens.next();
        }
        commits.push(Commit {
            id,
            parents,
            author: Person { name, email },
            time,
            message,
            files,
        });
    }
    Ok(commits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "xtask-commit-0000000000000001";

    #[test]
    fn parses_files_merges_and_messages_with_odd_lines() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let c = "c".repeat(40);
        let out = format!(
            "{M}\0{a}\0{b} {c}\0Ann\0ann@x\01700000000\0Merge side\n\0\
             \n{M}\0{b}\0{c}\0Bob\0bob@x\01700000001\0feat: x\n\nline\n{M} in a body\n\0\
             \nsrc/a.rs\0{M}-not-quite\0"
        );
        let commits = parse_log(&out, M).unwrap();
        assert_eq!(commits.len(), 2);
        assert!(commits[0].is_merge());
        assert!(commits[0].files.is_empty());
        assert_eq!(commits[1].subject(), "feat: x");
        assert!(commits[1].message.ends_with("in a body"));
        assert_eq!(commits[1].files, ["src/a.rs", &format!("{M}-not-quite")]);
    }

    #[test]
    fn refuses_output_of_another_shape() {
        assert!(parse_log("garbage\0", M).is_err());
        assert!(parse_log(&format!("{M}\0nothex\0"), M).is_err());
        assert!(parse_log(&format!("{M}\0{}\0\0A\0a@x\0soon\0m\0", "a".repeat(40)), M).is_err());
    }
}
