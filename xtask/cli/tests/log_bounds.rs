//! A task that prints 200 MiB: the tool streams it without holding it, stores
//! a bounded log (its first and last MiBs, with a marker), and replays that.
//! Peak memory of the tool is read from `/proc/<pid>/status` while it runs.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::Fixture;

const SPAM: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask.tasks.spam]
command = "echo first line; head -c 209715200 /dev/zero | tr '\\0' x | fold -w 1000; echo; echo last line"
--- .gitignore
/target
/turbo-cache
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
"#;

/// Runs xtask with `args`, stdout into `stdout`, and returns (success, peak
/// resident memory in KiB as the kernel counts it).
fn run_measured(fx: &Fixture, args: &[&str], stdout: Stdio) -> (bool, u64) {
    let mut child = fx
        .command(args)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    loop {
        // VmHWM only grows: the last reading before exit is the peak.
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), peak_kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_200_mib_log_is_streamed_stored_bounded_and_replayed_bounded() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipped: no /proc to read peak memory from");
        return;
    }
    let fx = Fixture::new(SPAM);
    let (ok, cold_kib) = run_measured(&fx, &["run", "spam"], Stdio::null());
    assert!(ok, "the cold run failed");
    assert!(cold_kib > 0, "no memory reading");
    assert!(
        cold_kib < 200 * 1024,
        "the cold run peaked at {cold_kib} KiB"
    );

    let replay = fx.path("replay.txt");
    let file = std::fs::File::create(&replay).unwrap();
    let (ok, warm_kib) = run_measured(&fx, &["run", "spam"], Stdio::from(file));
    eprintln!("peak resident memory: cold run {cold_kib} KiB, replay {warm_kib} KiB");
    assert!(ok, "the warm run failed");
    assert!(warm_kib < 200 * 1024, "the replay peaked at {warm_kib} KiB");
    let replayed = std::fs::read_to_string(&replay).unwrap();
    assert!(replayed.contains("cache hit, replaying logs"), "not a hit");
    assert!(replayed.contains("a#spam: first line"));
    assert!(replayed.contains("a#spam: last line"));
    assert!(
        replayed.contains("bytes of output dropped here"),
        "no marker in the replay"
    );
    assert!(
        replayed.len() < 16 << 20,
        "{} bytes replayed",
        replayed.len()
    );
}

/// 8 MiB of output, then a failure.
const LOUD_FAILURE: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask.tasks.loud]
command = "echo first line; head -c 8388608 /dev/zero | tr '\\0' x | fold -w 1000; echo; echo last line; exit 3"
--- .gitignore
/target
/turbo-cache
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
"#;

/// Where the reporter holds a task's output until it ends (errors-only,
/// GitHub groups), it holds what a stored log keeps: the first and last MiBs
/// with a marker, not everything.
#[test]
fn output_held_until_a_task_ends_is_bounded() {
    let fx = Fixture::new(LOUD_FAILURE);
    for (mode, env) in [
        ("errors-only", None),
        ("full", Some(("GITHUB_ACTIONS", "true"))),
    ] {
        let mut command = fx.command(&["run", "loud", &format!("--output-logs={mode}")]);
        if let Some((k, v)) = env {
            command.env(k, v);
        }
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{mode}: the task fails");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("a#loud: first line"), "{mode}");
        assert!(stdout.contains("a#loud: last line"), "{mode}");
        assert!(
            stdout.contains("bytes of output dropped here"),
            "{mode}: no marker"
        );
        assert!(
            stdout.len() < 6 << 20,
            "{mode}: {} bytes printed",
            stdout.len()
        );
    }
}
