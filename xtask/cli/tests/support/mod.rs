//! Fixture workspaces for the CLI tests: written from compact text into a
//! temp dir, committed with real git, driven through the real binary.

#![allow(dead_code)] // each test file uses a different part

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

/// Three crates (`b` depends on `a`, `c` on `b` and dev-depends on `a`) and an
/// unrelated `d`, each with a `check` task that writes `.check.out`.
pub const CHAIN: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask]
global-env = []

[workspace.metadata.xtask.tasks.check]
command = "echo checked $(basename $PWD) && echo ok > .check.out"
depends-on = ["^check"]
outputs = [".check.out"]
env = ["CHECK_MODE"]

[workspace.metadata.xtask.tasks.other]
command = "echo other"
--- .gitignore
/target
/turbo-cache
.check.out
*.log
--- README.md
A fixture.
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
pub fn a() -> u32 { 1 }
--- crates/b/Cargo.toml
[package]
name = "b"
version = "0.1.0"
edition = "2021"
[dependencies]
a = { path = "../a" }
--- crates/b/src/lib.rs
pub fn b() -> u32 { a::a() + 1 }
--- crates/c/Cargo.toml
[package]
name = "c"
version = "0.1.0"
edition = "2021"
[dependencies]
b = { path = "../b" }
[dev-dependencies]
a = { path = "../a" }
--- crates/c/src/lib.rs
pub fn c() -> u32 { b::b() + 1 }
--- crates/d/Cargo.toml
[package]
name = "d"
version = "0.1.0"
edition = "2021"
--- crates/d/src/lib.rs
pub fn d() {}
--- crates/d/run.sh
echo run
"#;

impl Fixture {
    pub fn new(text: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Fixture { dir };
        for (path, content) in parse(text) {
            fixture.write(&path, &content);
        }
        fixture.git(&["init", "-q", "-b", "main"]);
        fixture.git(&["add", "-A"]);
        fixture.commit("init");
        fixture
    }

    /// Commits what is staged, as a fixed test author.
    pub fn commit(&self, message: &str) {
        self.git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            message,
        ]);
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// The per-workspace state directory the first run created (there is
    /// exactly one: the fixture is one workspace).
    pub fn state_dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = std::fs::read_dir(self.path("turbo-cache/v1/workspaces"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs[0].clone()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(self.root())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    /// The xtask command, run in the fixture with a predictable environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env("CI", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("XTASK_CACHE_DIR")
            .env_remove("CHECK_MODE");
        command
    }

    pub fn xtask(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout + stderr.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.xtask(args);
        let text = text(&output);
        assert!(output.status.success(), "xtask {args:?} failed:\n{text}");
        text
    }

    /// Runs `run <args> --summarize` and returns the labels of the tasks
    /// that executed (not restored from the cache).
    pub fn executed(&self, args: &[&str]) -> BTreeSet<String> {
        self.executed_with(args, &[])
    }

    pub fn executed_with(&self, args: &[&str], env: &[(&str, &str)]) -> BTreeSet<String> {
        let (statuses, output) = self.statuses(args, env);
        assert!(
            output.status.success(),
            "xtask run {args:?} failed:\n{}",
            text(&output)
        );
        statuses
            .into_iter()
            .filter(|(_, status)| status == "executed")
            .map(|(id, _)| id)
            .collect()
    }

    /// Runs `run <args> --summarize=…` (success or not) and returns each
    /// task's status from the summary, with the command's output.
    pub fn statuses(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (BTreeMap<String, String>, Output) {
        self.statuses_in("", args, env)
    }

    /// [`Fixture::statuses`] for a workspace in a subdirectory (`-C dir`).
    pub fn statuses_in(
        &self,
        dir: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (BTreeMap<String, String>, Output) {
        let summary = self.path("turbo-cache/summary.json");
        let _ = std::fs::remove_file(&summary);
        let summarize = format!("--summarize={}", summary.display());
        let mut full = if dir.is_empty() {
            vec![]
        } else {
            vec!["-C", dir]
        };
        full.push("run");
        full.extend_from_slice(args);
        full.push(&summarize);
        let mut command = self.command(&full);
        command.env_remove("CARGO_TARGET_DIR");
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.output().unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&summary).unwrap_or_default())
                .unwrap_or_else(|_| panic!("no run summary for {args:?}:\n{}", text(&output)));
        let statuses = json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["task-id"].as_str().unwrap().to_string(),
                    t["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (statuses, output)
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
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

/// Output with what changes from run to run replaced: the fixture's path,
/// keys (short and full), GitHub's stop-commands token, timings; and cargo's wait for a lock
/// other cargo processes on the machine may hold.
pub fn redact(out: &str, fx: &Fixture) -> String {
    let root = fx.root().display().to_string();
    let mut text = String::new();
    for line in out.replace(&root, "[ROOT]").lines() {
        if line.contains("Blocking waiting for file lock") {
            continue;
        }
        if line.starts_with("::stop-commands::") {
            text.push_str("::stop-commands::[TOKEN]\n");
            continue;
        }
        let words: Vec<String> = line.split(' ').map(redact_word).collect();
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    text
}

fn redact_word(word: &str) -> String {
    let core = word.trim_matches(|c: char| "():,".contains(c));
    let (start, end) = match word.find(core) {
        Some(start) if !core.is_empty() => (start, start + core.len()),
        _ => return word.to_string(),
    };
    let hex = |n: usize| core.len() == n && core.bytes().all(|b| b.is_ascii_hexdigit());
    let replacement = if hex(16) || hex(64) {
        "[KEY]"
    } else if hex(32) {
        "[TOKEN]"
    } else if is_duration(core) {
        "[TIME]"
    } else {
        return word.to_string();
    };
    format!("{}{replacement}{}", &word[..start], &word[end..])
}

/// `812ms`, `1.25s`, `2m05s`: how we and cargo print durations.
fn is_duration(word: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let Some(rest) = word.strip_suffix("ms").or_else(|| word.strip_suffix('s')) else {
        return false;
    };
    match rest.split_once('m') {
        Some((minutes, seconds)) => number(minutes) && number(seconds),
        None => number(rest),
    }
}
