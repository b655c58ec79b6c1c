//! The tool in someone else's workspace, with zero configuration: their
//! `git status` stays clean, built-in tasks mean what cargo means, and an
//! installed `cargo-xtask` answers `cargo xtask …` without any alias.

mod support;

use std::path::Path;
use std::process::Command;

use support::{CHAIN, Fixture, text};

/// A workspace whose ignore file knows nothing about us (only `/target`), with
/// a bench that stable Rust refuses (`#![feature(test)]`, as in ripgrep).
const FOREIGN: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
--- crates/searcher/Cargo.toml
[package]
name = "searcher"
version = "0.1.0"
edition = "2021"
--- crates/searcher/src/lib.rs
/// Finds `needle`.
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    haystack.find(needle)
}
--- crates/searcher/benches/nightly.rs
#![feature(test)]
extern crate test;

#[bench]
fn find(b: &mut test::Bencher) {
    b.iter(|| searcher::find("haystack", "st"));
}
"#;

fn git_status(root: &Path) -> String {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_cache_directory_keeps_git_status_clean_without_editing_the_ignore_file() {
    let fx = Fixture::new(&CHAIN.replace("/turbo-cache\n", ""));
    assert!(!fx.read(".gitignore").contains("turbo-cache"));
    fx.ok(&["run", "check"]);
    assert!(
        fx.path("turbo-cache/v1/entries").is_dir(),
        "entries were stored"
    );
    assert_eq!(git_status(fx.root()), "", "turbo-cache/ is not untracked");
    assert_eq!(fx.read("turbo-cache/.gitignore").lines().last(), Some("*"));
    assert!(
        fx.read("turbo-cache/CACHEDIR.TAG")
            .starts_with("Signature: 8a477f597d28d172789f06886806bc55")
    );

    // A cache created before the ignore file existed gets it on the next run.
    std::fs::remove_file(fx.path("turbo-cache/.gitignore")).unwrap();
    assert_ne!(git_status(fx.root()), "");
    fx.ok(&["run", "check"]);
    assert_eq!(git_status(fx.root()), "");
}

#[test]
fn built_in_check_is_cargo_check_and_all_targets_is_an_args_away() {
    let fx = Fixture::new(FOREIGN);
    let (statuses, output) = fx.statuses(&["check"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(statuses["searcher#check"], "executed");

    // The bench is still there for whoever asks for every target.
    fx.write(
        "Cargo.toml",
        &format!(
            "{}\n[workspace.metadata.xtask.tasks.check]\nargs = [\"--all-targets\"]\n",
            fx.read("Cargo.toml")
        ),
    );
    let (statuses, output) = fx.statuses(&["check"], &[]);
    assert!(!output.status.success());
    assert_eq!(statuses["searcher#check"], "failed", "{}", text(&output));
    assert!(text(&output).contains("E0554"), "{}", text(&output));
}

#[test]
fn run_help_says_what_each_built_in_task_runs() {
    let help = fx_help();
    for line in [
        "check  cargo check",
        "lint   cargo fmt --check, then cargo clippy --all-targets -- -D warnings",
        "build  cargo build --release",
        "test   cargo nextest run when installed, else cargo test",
    ] {
        assert!(help.contains(line), "`{line}` missing from:\n{help}");
    }
}

fn fx_help() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    text(&out)
}

/// The installed path: the `cargo-xtask` binary that `cargo install --path
/// xtask/cli` would put in ~/.cargo/bin, here linked into a temporary bin
/// directory first on PATH (installing for real compiles everything again),
/// and real cargo resolving `cargo xtask` to it in a workspace with no alias.
#[test]
fn an_installed_cargo_xtask_runs_in_a_workspace_without_an_alias() {
    let fx = Fixture::new(CHAIN);
    assert!(!fx.path(".cargo/config.toml").exists(), "no alias here");
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_cargo-xtask"),
        bin.path().join("cargo-xtask"),
    )
    .unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.path().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |args: &[&str]| {
        Command::new(&cargo)
            .args(args)
            .current_dir(fx.root())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env("CI", "1")
            .env_remove("XTASK_CACHE_DIR")
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap()
    };

    let out = run(&["xtask", "run", "check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("4 successful"), "{}", text(&out));
    assert_eq!(fx.read("crates/c/.check.out"), "ok\n");
    // Same binary, second run: everything from the cache.
    let out = run(&["xtask", "run", "check"]);
    assert!(text(&out).contains("all 4 tasks cached"), "{}", text(&out));
    // Global flags and errors work as with the alias.
    let out = run(&["xtask", "-C", "crates/a", "graph", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("\"a\""), "{}", text(&out));
    let out = run(&["xtask", "run", "no-such-task"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown task `no-such-task`"),
        "{}",
        text(&out)
    );
}
