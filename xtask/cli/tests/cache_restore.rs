//! The local cache seen from a run: restored outputs, replayed logs, damaged
//! entries, concurrent and killed runs.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{CHAIN, Fixture, set, text};

fn entry_files(fx: &Fixture) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for shard in std::fs::read_dir(fx.path("turbo-cache/v1/entries")).unwrap() {
        for entry in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files
}

#[test]
fn deleted_and_changed_outputs_are_restored_and_the_log_replayed() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    std::fs::remove_file(fx.path("crates/a/.check.out")).unwrap();
    fx.write("crates/b/.check.out", "tampered\n");
    let out = fx.ok(&["run", "check"]);
    assert_eq!(fx.read("crates/a/.check.out"), "ok\n");
    assert_eq!(fx.read("crates/b/.check.out"), "ok\n");
    assert!(out.contains("a#check: cache hit, replaying logs"), "{out}");
    assert!(
        out.contains("a#check: checked a"),
        "the log is replayed:\n{out}"
    );
    assert!(out.contains("all 4 tasks cached"), "{out}");
}

/// The head index answers a warm hit without opening its entry once the
/// entries are older than its racy margin: what it answers must still be
/// restored, replayed and, when the index is damaged, read the long way.
#[test]
fn hits_answered_by_the_head_index_restore_and_replay() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    std::thread::sleep(Duration::from_millis(2100));
    // Verifies every entry in full and records its head.
    fx.ok(&["run", "check"]);
    let index = fx.state_dir().join("entry-heads.bin");
    let recorded = std::fs::read(&index).expect("the second run writes the index");

    std::fs::remove_file(fx.path("crates/a/.check.out")).unwrap();
    fx.write("crates/b/.check.out", "tampered\n");
    let out = fx.ok(&["run", "check"]);
    assert_eq!(fx.read("crates/a/.check.out"), "ok\n");
    assert_eq!(fx.read("crates/b/.check.out"), "ok\n");
    assert!(
        out.contains("a#check: checked a"),
        "the log is replayed:\n{out}"
    );
    assert!(out.contains("all 4 tasks cached"), "{out}");
    assert_eq!(
        std::fs::read(&index).unwrap(),
        recorded,
        "a warm run writes no index"
    );

    // A damaged index is no index: every entry is read the long way, and the
    // index is written again.
    let mut damaged = recorded.clone();
    damaged[recorded.len() / 2] ^= 0x20;
    std::fs::write(&index, &damaged).unwrap();
    let out = fx.ok(&["run", "check"]);
    assert!(out.contains("a#check: checked a"), "{out}");
    assert!(out.contains("all 4 tasks cached"), "{out}");
    assert_ne!(std::fs::read(&index).unwrap(), damaged);

    // An entry removed under the index is a miss that runs the task.
    for file in entry_files(&fx) {
        std::fs::remove_file(file).unwrap();
    }
    let out = fx.ok(&["run", "check"]);
    assert!(out.contains("a#check: cache miss, executing"), "{out}");
}

#[test]
fn intact_outputs_are_left_alone_on_a_hit() {
    use std::os::unix::fs::MetadataExt;
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    let inode = |rel: &str| std::fs::metadata(fx.path(rel)).unwrap().ino();
    let before = inode("crates/a/.check.out");
    let out = fx.ok(&["run", "check"]);
    assert!(out.contains("all 4 tasks cached"), "{out}");
    assert_eq!(
        inode("crates/a/.check.out"),
        before,
        "an intact output is not rewritten"
    );
    // Same size, new content: seen (by stat, or by content when racy) and restored.
    fx.write("crates/a/.check.out", "no\n");
    fx.ok(&["run", "check"]);
    assert_eq!(fx.read("crates/a/.check.out"), "ok\n");

    // After an edit is reverted, the older entry's outputs are the ones on
    // disk (same content): a hit, and nothing is rewritten.
    let original = fx.read("crates/a/src/lib.rs");
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 5 }\n");
    fx.ok(&["run", "check"]);
    let before = inode("crates/b/.check.out");
    fx.write("crates/a/src/lib.rs", &original);
    let out = fx.ok(&["run", "check"]);
    assert!(out.contains("all 4 tasks cached"), "{out}");
    assert_eq!(
        inode("crates/b/.check.out"),
        before,
        "outputs with the entry's content are left alone"
    );
}

#[test]
fn output_log_modes() {
    let fx = Fixture::new(CHAIN);
    let cold = fx.ok(&["run", "check", "--output-logs=hash-only"]);
    assert!(cold.contains("a#check: cache miss, executing"), "{cold}");
    assert!(!cold.contains("checked a"), "hash-only hides logs:\n{cold}");
    let warm = fx.ok(&["run", "check", "--output-logs=new-only"]);
    assert!(warm.contains("cache hit, suppressing logs"), "{warm}");
    assert!(!warm.contains("checked a"), "{warm}");
    let none = fx.ok(&["run", "check", "--output-logs=none"]);
    assert!(!none.contains("a#check"), "{none}");
    assert!(
        none.contains("4 cached, 4 total"),
        "the summary is still printed:\n{none}"
    );
    let errors = fx.ok(&["run", "check", "--force", "--output-logs=errors-only"]);
    assert!(!errors.contains("checked a"), "{errors}");
}

#[test]
fn truncated_entries_are_one_warning_each_and_then_rebuilt() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    let entries = entry_files(&fx);
    assert_eq!(entries.len(), 4);
    for entry in &entries {
        let bytes = std::fs::read(entry).unwrap();
        std::fs::write(entry, &bytes[..bytes.len() / 2]).unwrap();
    }
    let output = fx.xtask(&["run", "check"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert_eq!(
        out.matches("warning:").count(),
        4,
        "one warning per damaged entry:\n{out}"
    );
    assert!(out.contains("was corrupt"), "{out}");
    assert_eq!(
        fx.executed(&["check"]),
        set(&[]),
        "the rebuilt entries are hits"
    );
}

#[test]
fn two_runs_at_once_share_the_cache_safely() {
    let fx = Fixture::new(CHAIN);
    let spawn = || {
        fx.command(&["run", "check"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(fx.executed(&["check"]), set(&[]));
    let verify = fx.ok(&["cache", "verify"]);
    assert!(verify.contains("checked 4 entries, 0 damaged"), "{verify}");
}

const SLOW: &str = r#"
--- Cargo.toml
[workspace]
members = ["crates/*"]
[workspace.metadata.xtask.tasks.slow]
command = "echo start; if [ -f quick ]; then echo done > out.txt; else sleep 30; echo done > out.txt; fi"
outputs = ["out.txt"]
--- .gitignore
/turbo-cache
out.txt
--- crates/fast/Cargo.toml
[package]
name = "fast"
version = "0.1.0"
--- crates/fast/src/lib.rs
--- crates/fast/quick
--- crates/slow/Cargo.toml
[package]
name = "slow"
version = "0.1.0"
--- crates/slow/src/lib.rs
"#;

fn wait_for(fx: &Fixture, rel: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fx.path(rel).exists() {
        assert!(Instant::now() < deadline, "{rel} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_mid_run_leaves_a_cache_the_next_run_uses() {
    let fx = Fixture::new(SLOW);
    let mut child = fx
        .command(&["run", "slow"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&fx, "crates/fast/out.txt");
    // Give the finished task's entry time to be written, then kill hard.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    // The slow task's orphaned shell is in its own process group: end it.
    let _ = std::process::Command::new("pkill")
        .args(["-f", "sleep 30"])
        .status();

    fx.write("crates/slow/quick", "");
    assert_eq!(
        fx.executed(&["slow"]),
        set(&["slow#slow"]),
        "the finished task is a hit, the killed one runs"
    );
    let verify = fx.ok(&["cache", "verify"]);
    assert!(verify.contains("0 damaged"), "{verify}");
}

#[test]
fn ctrl_c_stops_tasks_and_exits_130() {
    let fx = Fixture::new(SLOW);
    let child = fx
        .command(&["run", "slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&fx, "crates/fast/out.txt");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the sleeping task was killed, not waited for"
    );
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    assert!(!fx.path("crates/slow/out.txt").exists());
    // Nothing of the killed task was cached; the finished one was.
    fx.write("crates/slow/quick", "");
    assert_eq!(fx.executed(&["slow"]), set(&["slow#slow"]));
}

#[test]
fn failure_stops_the_run_unless_continue() {
    let fx = Fixture::new(&CHAIN.replace(
        "command = \"echo other\"",
        "command = \"test $(basename $PWD) != b\"\ndepends-on = [\"^other\"]",
    ));
    let output = fx.xtask(&["run", "other", "--concurrency=1"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("Failed:    b#other"), "{out}");
    assert!(
        out.contains("Skipped:"),
        "c#other depends on b#other:\n{out}"
    );

    let output = fx.xtask(&["run", "other", "--continue"]);
    assert_eq!(output.status.code(), Some(1));
    // a and d passed and are cached; b failed and is not; c was skipped.
    let summary = fx.path("s.json");
    let output = fx
        .command(&[
            "run",
            "other",
            "--continue",
            &format!("--summarize={}", summary.display()),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    let status = |id: &str| {
        json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["task-id"] == id)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("a#other"), "cached");
    assert_eq!(status("d#other"), "cached");
    assert_eq!(status("b#other"), "failed");
    assert_eq!(status("c#other"), "skipped");
}
