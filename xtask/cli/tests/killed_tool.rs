//! `kill -9` of the tool ends its tasks too, grandchildren included (the
//! reaper in xtask-engine's reaper.rs), and a normal run leaves nothing behind.

mod support;

use std::time::{Duration, Instant};

use support::{Fixture, text};

/// A task that records its shell's pid and a grandchild's, then waits.
const SLEEPY: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask.tasks.sleepy]
command = "sleep 300 & echo $! > grandchild.pid; echo $$ > task.pid; wait"
cache = false

[workspace.metadata.xtask.tasks.quick]
command = "echo quick"
cache = false
--- .gitignore
/turbo-cache
*.pid
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
"#;

/// Alive and not a zombie waiting for a parent to reap it.
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn read_pid(fx: &Fixture, name: &str, deadline: Instant) -> i32 {
    loop {
        if let Ok(text) = std::fs::read_to_string(fx.path(&format!("crates/a/{name}")))
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "the task never wrote {name}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills what a failing test would leave running.
struct KillOnDrop(Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn tasks_and_their_children_end_when_the_tool_is_killed() {
    let fx = Fixture::new(SLEEPY);
    let mut tool = fx
        .command(&["run", "sleepy"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let task = read_pid(&fx, "task.pid", deadline);
    let grandchild = read_pid(&fx, "grandchild.pid", deadline);
    let _cleanup = KillOnDrop(vec![task, grandchild]);
    assert!(running(task) && running(grandchild));

    tool.kill().unwrap(); // SIGKILL: no handler, no cleanup of its own
    tool.wait().unwrap();
    let killed = Instant::now();
    while (running(task) || running(grandchild)) && killed.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !running(task) && !running(grandchild),
        "still running {:?} after the tool was killed: task {task} {}, grandchild {grandchild} {}",
        killed.elapsed(),
        running(task),
        running(grandchild)
    );
}

/// Reapers started in `dir` that are still running.
fn reapers_in(dir: &std::path::Path) -> usize {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains("__reap-task-groups")
                && std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd == dir)
        })
        .count()
}

#[test]
fn a_normal_run_leaves_no_reaper_behind() {
    let fx = Fixture::new(SLEEPY);
    let started = Instant::now();
    // `output()` waits for stdout and stderr to close: a reaper holding them
    // would hold this up.
    let output = fx.xtask(&["run", "quick"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let finished = Instant::now();
    while reapers_in(fx.root()) > 0 && finished.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(reapers_in(fx.root()), 0, "the reaper ends with the run");
}
