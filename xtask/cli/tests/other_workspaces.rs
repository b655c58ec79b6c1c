//! The tool in someone else's workspace, with zero configuration: their
//! `git status` stays clean.

mod support;

use std::path::Path;
use std::process::Command;

use support::{CHAIN, Fixture};

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
    assert!(fx.path("turbo-cache/v1/entries").is_dir(), "entries were stored");
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
