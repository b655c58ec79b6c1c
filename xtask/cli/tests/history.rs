//! The task history `explain` compares with: written once when a run ends,
//! it survives a run killed half-way, merges concurrent runs, and a damaged
//! or huge history file is one warning, never a failed command.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{CHAIN, Fixture, text};

/// Two independent packages; `a`'s task sleeps while `crates/a/go-slow` exists.
const PAIR: &str = r#"
--- Cargo.toml
[workspace]
members = ["crates/*"]
[workspace.metadata.xtask.tasks.check]
command = "if [ -f go-slow ]; then touch started; sleep 30; fi; echo ok > .check.out"
outputs = [".check.out"]
--- .gitignore
/turbo-cache
.check.out
started
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
--- crates/a/src/lib.rs
pub fn a() {}
--- crates/b/Cargo.toml
[package]
name = "b"
version = "0.1.0"
--- crates/b/src/lib.rs
pub fn b() {}
"#;

/// The history bucket of the fixture's one workspace.
fn history_dir(fx: &Fixture) -> PathBuf {
    fx.state_dir().join("v2/history")
}

fn warnings(out: &str) -> usize {
    out.matches("ignoring the task history").count()
}

#[test]
fn explain_still_answers_for_an_earlier_run_after_a_run_is_killed() {
    let fx = Fixture::new(PAIR);
    fx.ok(&["run", "check"]);
    assert!(
        fx.ok(&["explain", "a#check"])
            .contains("it will be a cache hit")
    );

    fx.write("crates/a/src/lib.rs", "pub fn a() -> u8 { 1 }\n");
    fx.write("crates/a/go-slow", "");
    let mut child = fx
        .command(&["run", "check"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fx.path("crates/a/started").exists() {
        assert!(Instant::now() < deadline, "a#check never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no handler runs, nothing is saved; the reaper ends the sleep.
    child.kill().unwrap();
    child.wait().unwrap();

    let out = fx.ok(&["explain", "a#check"]);
    assert_eq!(warnings(&out), 0, "{out}");
    assert!(
        out.contains("change(s) since the last successful run"),
        "{out}"
    );
    assert!(out.contains("src/lib.rs  changed"), "{out}");
    assert!(out.contains("go-slow  added"), "{out}");
    let out = fx.ok(&["explain", "b#check"]);
    assert!(out.contains("it will be a cache hit"), "{out}");

    std::fs::remove_file(fx.path("crates/a/go-slow")).unwrap();
    fx.ok(&["run", "check"]);
    let out = fx.ok(&["explain", "a#check"]);
    assert!(out.contains("it will be a cache hit"), "{out}");
}

#[test]
fn concurrent_runs_keep_each_others_records() {
    let fx = Fixture::new(PAIR);
    let spawn = |package: &str| {
        fx.command(&["run", "check", "--filter", package])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (one, two) = (spawn("a"), spawn("b"));
    for child in [one, two] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }
    for task in ["a#check", "b#check"] {
        let out = fx.ok(&["explain", task]);
        assert!(out.contains("it will be a cache hit"), "{task}: {out}");
    }
}

#[test]
fn a_damaged_history_is_one_warning_and_the_run_replaces_it() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    let index = history_dir(&fx).join("index.json");
    let whole = std::fs::read(&index).unwrap();
    for damaged in [&whole[..whole.len() / 2], b"\xff\xfe not json"] {
        std::fs::write(&index, damaged).unwrap();
        let out = fx.ok(&["explain", "b#check"]);
        assert_eq!(warnings(&out), 1, "{out}");
        assert!(out.contains("index.json"), "names the file: {out}");
        assert!(out.contains("no earlier successful run"), "{out}");

        let out = fx.ok(&["run", "check"]);
        assert!(out.contains("all 4 tasks cached"), "{out}");
        assert_eq!(warnings(&out), 1, "{out}");
        let out = fx.ok(&["explain", "b#check"]);
        assert_eq!(warnings(&out), 0, "the run rewrote it: {out}");
        assert!(out.contains("it will be a cache hit"), "{out}");
    }
}

#[test]
fn a_huge_history_index_is_not_read() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    let index = history_dir(&fx).join("index.json");
    std::fs::remove_file(&index).unwrap();
    // Sparse: 64 GiB claimed, no disk used.
    std::fs::File::create(&index)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let started = Instant::now();
    let out = fx.ok(&["run", "check"]);
    assert!(out.contains("all 4 tasks cached"), "{out}");
    assert_eq!(warnings(&out), 1, "{out}");
    assert!(out.contains("more than a history index may be"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it was not read"
    );
    assert!(
        fx.ok(&["explain", "b#check"])
            .contains("it will be a cache hit")
    );
}
