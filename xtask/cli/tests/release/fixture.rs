//! Scripted repositories for the release tests: files from compact text,
//! commits with fixed authors and dates (so ids are stable), and the real
//! binary run in them.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Repo {
    pub dir: tempfile::TempDir,
    clock: Cell<i64>,
}

/// 2026-11-01T00:00:00Z; every commit is one hour after the previous one.
const START: i64 = 1_793_491_200;
/// The release date every test pins: 2026-12-01.
pub const RELEASE_EPOCH: &str = "1796083200";

impl Repo {
    /// Writes `text`'s files, makes Cargo.lock, commits it all as the first commit.
    pub fn new(text: &str) -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
            clock: Cell::new(START),
        };
        for (path, content) in parse(text) {
            repo.write(&path, &content);
        }
        repo.git(&["init", "-q", "-b", "main"]);
        let status = Command::new("cargo")
            .args(["generate-lockfile", "--offline", "--quiet"])
            .current_dir(repo.root())
            .status()
            .unwrap();
        assert!(status.success(), "cargo generate-lockfile");
        repo.commit_all("Ann Author", "chore: initial import");
        repo
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Runs git as `author` at the fixture's clock; returns stdout.
    pub fn git_as(&self, author: &str, args: &[&str]) -> String {
        let t = self.clock.get();
        self.clock.set(t + 3600);
        let email = format!(
            "{}@example.com",
            author.split(' ').next().unwrap().to_lowercase()
        );
        let date = format!("@{t} +0000");
        let out = Command::new("git")
            .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
            .args(args)
            .current_dir(self.root())
            .env("GIT_AUTHOR_NAME", author)
            .env("GIT_AUTHOR_EMAIL", &email)
            .env("GIT_COMMITTER_NAME", author)
            .env("GIT_COMMITTER_EMAIL", &email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_as("Ann Author", args)
    }

    /// Appends a line to each file and commits them with `message`.
    pub fn commit(&self, author: &str, message: &str, files: &[&str]) -> String {
        for file in files {
            let path = self.path(file);
            let mut text = std::fs::read_to_string(&path).unwrap_or_default();
            let comment = if file.ends_with(".toml") {
                "#"
            } else if file.ends_with(".md") {
                ""
            } else {
                "//"
            };
            text.push_str(&format!("{comment} {}\n", message.lines().next().unwrap()));
            self.write(file, &text);
        }
        self.commit_all(author, message)
    }

    pub fn commit_all(&self, author: &str, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git_as(author, &["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// The xtask binary in the repository, with a pinned release date.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env("SOURCE_DATE_EPOCH", RELEASE_EPOCH)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("XTASK_CACHE_DIR")
            // cargo publish's verify builds stay in the fixture.
            .env_remove("CARGO_TARGET_DIR")
            .env("GIT_AUTHOR_NAME", "Release Bot")
            .env("GIT_AUTHOR_EMAIL", "bot@example.com")
            .env("GIT_COMMITTER_NAME", "Release Bot")
            .env("GIT_COMMITTER_EMAIL", "bot@example.com")
            .env("GIT_AUTHOR_DATE", format!("@{RELEASE_EPOCH} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{RELEASE_EPOCH} +0000"));
        command
    }

    pub fn xtask(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout, with commit ids replaced by
    /// their position in history (`<c3>`), so snapshots survive any change
    /// that moves ids.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.xtask(args);
        assert!(
            output.status.success(),
            "xtask {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        self.filter_ids(&String::from_utf8_lossy(&output.stdout))
    }

    /// Runs, asserts exit code 2, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.xtask(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(2), "xtask {args:?}: {stderr}");
        self.filter_ids(&stderr)
    }

    pub fn filter_ids(&self, text: &str) -> String {
        let ids = self.git(&["rev-list", "--all", "--reverse", "--topo-order"]);
        let mut text = text.to_string();
        for (n, id) in ids.lines().enumerate() {
            text = text.replace(id, &format!("<c{n}:full>"));
            text = text.replace(&id[..7], &format!("<c{n}>"));
        }
        text
    }

    pub fn tags(&self) -> Vec<String> {
        self.git(&["tag", "-l"])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// `--- path` lines start files; everything up to the next one is content.
fn parse(text: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("--- ") {
            files.push((path.trim().to_string(), String::new()));
        } else if let Some((_, content)) = files.last_mut() {
            content.push_str(line);
            content.push('\n');
        }
    }
    files
}

/// A tool the test needs from outside: its path, or `None` after a notice
/// (and a failure under CI=true, where .ci installs it).
pub fn external_tool(env: &str, name: &str, install: &str) -> Option<PathBuf> {
    let found = std::env::var_os(env).map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "{name} is missing under CI=true: {install}"
        );
        eprintln!("notice: skipping: {name} is not installed ({install}, or set {env})");
    }
    found
}
