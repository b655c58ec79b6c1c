//! A batch reads as one thing: its commands and cargo's progress lines are
//! printed once, under the batch's own label (`check ×3`); a member's lines
//! are only its own (diagnostics, test results, status); a member's stored
//! log is its own output after one line naming the batch's command; the
//! summary shows the invocation that really ran, and a dry run the command
//! that will.

mod support;

use expect_test::{Expect, expect};
use support::{Fixture, redact, text};

/// Three packages whose `check` runs as one batch: `good` and `noisy` each
/// warn about a variable of their own; `tool` uses `good`.
const WARNINGS: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
--- crates/good/Cargo.toml
[package]
name = "good"
version = "0.1.0"
edition = "2021"
--- crates/good/src/lib.rs
pub fn add_one(x: u32) -> u32 {
    let good_unused = 1;
    x + 1
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add_one(1), 2);
    }
}
--- crates/noisy/Cargo.toml
[package]
name = "noisy"
version = "0.1.0"
edition = "2021"
--- crates/noisy/src/lib.rs
pub fn four() -> u32 {
    let noisy_unused = 3;
    4
}
--- crates/tool/Cargo.toml
[package]
name = "tool"
version = "0.1.0"
edition = "2021"
[dependencies]
good = { path = "../good" }
--- crates/tool/src/main.rs
fn main() {
    println!("{}", good::add_one(41));
}
"#;

/// A chain (`app` → `b` → `a`) without diagnostics: cargo compiles it in
/// one order, so its output can be a snapshot.
const CHAIN: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
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
--- crates/app/Cargo.toml
[package]
name = "app"
version = "0.1.0"
edition = "2021"
[dependencies]
b = { path = "../b" }
--- crates/app/src/main.rs
fn main() { println!("{}", b::b()); }
"#;

/// Runs `run <args>` with a summary; returns the output and the summary.
fn run(fx: &Fixture, args: &[&str]) -> (String, serde_json::Value) {
    let (_, output) = fx.statuses(args, &[]);
    let summary = fx.read("turbo-cache/summary.json");
    (text(&output), serde_json::from_str(&summary).unwrap())
}

/// The summary's `command` of each task.
fn commands_of(summary: &serde_json::Value) -> Vec<(String, String)> {
    summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task-id"].as_str().unwrap().to_string(),
                t["command"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn lines_of<'t>(out: &'t str, prefix: &str) -> Vec<&'t str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn a_batch_prints_its_command_once_and_owns_cargos_progress_lines() {
    let fx = Fixture::new(WARNINGS);
    let (out, _) = run(&fx, &["check"]);
    assert_eq!(
        out.matches("cargo check --keep-going").count(),
        1,
        "the batched command line, once:\n{out}"
    );
    assert!(
        out.contains("check ×3: cache miss, executing ")
            && ["good#check", "noisy#check", "tool#check"]
                .iter()
                .all(|m| lines_of(&out, "check ×3: cache miss").concat().contains(m)),
        "the members, listed once on the batch's line:\n{out}"
    );
    let progress: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("Checking ") || l.contains("Finished `"))
        .collect();
    assert!(progress.len() >= 4, "cargo's progress lines:\n{out}");
    assert!(
        progress.iter().all(|l| l.starts_with("check ×3: ")),
        "cargo's progress belongs to the batch, not to a member: {progress:#?}"
    );
    // Each warning under its own package, and nowhere else.
    for (member, own, other) in [
        ("good#check: ", "good_unused", "noisy_unused"),
        ("noisy#check: ", "noisy_unused", "good_unused"),
    ] {
        let lines = lines_of(&out, member);
        assert!(lines.iter().any(|l| l.contains(own)), "{member}\n{out}");
        assert!(!lines.iter().any(|l| l.contains(other)), "{member}\n{out}");
    }
    for warning in ["good_unused", "noisy_unused"] {
        assert!(
            out.lines()
                .filter(|l| l.contains(&format!("let {warning}")))
                .all(|l| !l.starts_with("check ×3")),
            "a member's diagnostic is the member's:\n{out}"
        );
    }
    // Each member's status, with its key.
    for member in ["good#check", "noisy#check", "tool#check"] {
        assert_eq!(
            lines_of(&out, &format!("{member}: executed ")).len(),
            1,
            "{out}"
        );
    }
}

#[test]
fn a_members_replayed_log_holds_its_own_diagnostics_and_the_batch_note() {
    let fx = Fixture::new(WARNINGS);
    let (cold, summary) = run(&fx, &["check"]);
    let batched = &commands_of(&summary)[0].1;
    let (warm, _) = run(&fx, &["check"]);
    assert!(warm.contains("all 3 tasks cached"), "{cold}\n---\n{warm}");
    for (member, own, other) in [
        ("good#check: ", "good_unused", "noisy_unused"),
        ("noisy#check: ", "noisy_unused", "good_unused"),
        ("tool#check: ", "", "_unused"),
    ] {
        let replayed = lines_of(&warm, member);
        let notes: Vec<&&str> = replayed
            .iter()
            .filter(|l| l.contains("xtask: ran in a batch"))
            .collect();
        assert_eq!(
            notes,
            [&format!("{member}xtask: ran in a batch of 3 packages: {batched}").as_str()],
            "one line saying it ran in a batch, and as what:\n{warm}"
        );
        assert!(replayed.iter().any(|l| l.contains(own)), "{warm}");
        assert!(
            !replayed.iter().any(|l| l.contains(other)
                || l.contains("Checking ")
                || l.contains("Compiling ")
                || l.contains("Finished `")),
            "only its own output:\n{warm}"
        );
    }
}

#[test]
fn the_summary_shows_the_invocation_a_member_really_ran() {
    let fx = Fixture::new(WARNINGS);
    let (out, summary) = run(&fx, &["check"]);
    let commands = commands_of(&summary);
    assert_eq!(commands.len(), 3, "{out}");
    let batched = &commands[0].1;
    assert!(
        batched.starts_with("cargo check --keep-going --message-format=json -p ")
            && ["-p good", "-p noisy", "-p tool"]
                .iter()
                .all(|p| batched.contains(p)),
        "{commands:?}"
    );
    assert!(
        commands.iter().all(|(_, c)| c == batched),
        "every member ran the one invocation: {commands:?}"
    );
    assert!(
        out.contains(&format!("$ {batched}  (batched: 3 packages)")),
        "{out}"
    );

    // A hit ran nothing: it shows the command its package alone runs.
    let (_, summary) = run(&fx, &["check", "--filter", "good"]);
    assert_eq!(
        commands_of(&summary),
        [(
            "good#check".to_string(),
            "cargo check --keep-going --message-format=json -p good".to_string()
        )]
    );
}

#[test]
fn a_dry_run_shows_the_command_a_test_task_runs() {
    let fx = Fixture::new(WARNINGS);
    let dry = fx.ok(&["run", "test", "--filter", "good", "--dry-run=json"]);
    let dry: serde_json::Value = serde_json::from_str(&dry).unwrap();
    let planned = dry["tasks"][0]["command"].as_str().unwrap().to_string();
    assert_eq!(dry["tasks"][0]["batched"], true);
    let dry_text = fx.ok(&["run", "test", "--filter", "good", "--dry-run"]);
    assert!(
        dry_text.contains(&format!(
            "  command       = {planned}\n  batched       = yes: "
        )),
        "{dry_text}"
    );
    let (out, summary) = run(&fx, &["test", "--filter", "good"]);
    // What ran, as the batch echoed it: one `$ …` line per command.
    let echoed: Vec<&str> = lines_of(&out, "test ×1: $ ")
        .iter()
        .map(|l| {
            let command = &l["test ×1: $ ".len()..];
            command.split("  (batched: ").next().unwrap()
        })
        .collect();
    assert!(echoed.len() >= 2, "it compiled, then ran the tests:\n{out}");
    assert_eq!(planned, echoed.join(" && "), "the dry run showed what runs");
    assert_eq!(
        commands_of(&summary),
        [("good#test".to_string(), planned.clone())],
        "{out}"
    );
}

fn check_output(fx: &Fixture, env: &[(&str, &str)], expected: Expect) {
    let mut command = fx.command(&["run", "build", "--concurrency", "2"]);
    command.env_remove("CARGO_TARGET_DIR");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    expected.assert_eq(&redact(&text(&output), fx));
}

#[test]
fn plain_ci_output_of_a_batch() {
    let fx = Fixture::new(CHAIN);
    check_output(
        &fx,
        &[],
        expect![[r#"
            build ×3: cache miss, executing a#build, app#build, b#build
            build ×3: $ cargo build --keep-going --message-format=json -p a -p app -p b --release  (batched: 3 packages)
            build ×3:    Compiling a v0.1.0 ([ROOT]/crates/a)
            build ×3:    Compiling b v0.1.0 ([ROOT]/crates/b)
            build ×3:    Compiling app v0.1.0 ([ROOT]/crates/app)
            build ×3:     Finished `release` profile [optimized] target(s) in [TIME]
            a#build: executed [KEY]
            app#build: executed [KEY]
            b#build: executed [KEY]
            build ×3: finished in [TIME] (3 executed)

             Tasks:    3 successful, 3 total
            Cached:    0 cached, 3 total
              Time:    [TIME]
            xtask: running 3 tasks, 2 at a time
        "#]],
    );
}

#[test]
fn on_github_actions_a_failing_batch_is_one_group_then_its_errors() {
    let fx = Fixture::new(WARNINGS);
    let output = fx
        .command(&["run", "lint", "--continue"])
        .env("GITHUB_ACTIONS", "true")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let out = text(&output);
    assert!(
        !output.status.success(),
        "clippy denies the unused variables:\n{out}"
    );
    let groups: Vec<&str> = out.lines().filter(|l| l.starts_with("::group::")).collect();
    assert_eq!(groups, ["::group::lint ×3"], "{out}");
    let after = out.split("::endgroup::").nth(1).unwrap();
    for member in ["good#lint", "noisy#lint"] {
        assert!(
            after.contains(&format!("::error::{member} failed with exit code 101")),
            "{out}"
        );
    }
    assert_eq!(
        out.matches("cargo clippy --all-targets").count(),
        1,
        "{out}"
    );
}

#[test]
fn github_actions_shows_a_batch_as_one_group() {
    let fx = Fixture::new(CHAIN);
    check_output(
        &fx,
        &[("GITHUB_ACTIONS", "true")],
        expect![[r#"
            ::group::build ×3
            build ×3: cache miss, executing a#build, app#build, b#build
            build ×3: $ cargo build --keep-going --message-format=json -p a -p app -p b --release  (batched: 3 packages)
            build ×3:    Compiling a v0.1.0 ([ROOT]/crates/a)
            build ×3:    Compiling b v0.1.0 ([ROOT]/crates/b)
            build ×3:    Compiling app v0.1.0 ([ROOT]/crates/app)
            build ×3:     Finished `release` profile [optimized] target(s) in [TIME]
            a#build: executed [KEY]
            app#build: executed [KEY]
            b#build: executed [KEY]
            build ×3: finished in [TIME] (3 executed)
            ::endgroup::

             Tasks:    3 successful, 3 total
            Cached:    0 cached, 3 total
              Time:    [TIME]
            xtask: running 3 tasks, 2 at a time
        "#]],
    );
}

#[test]
fn with_errors_only_a_batch_shows_only_when_a_member_failed() {
    let fx = Fixture::new(WARNINGS);
    let run = |args: &[&str]| {
        let output = fx
            .command(args)
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap();
        (output.status.success(), text(&output))
    };
    let (ok, passing) = run(&["run", "check", "--output-logs=errors-only"]);
    assert!(ok, "{passing}");
    assert!(
        !passing.contains("check ×3") && !passing.contains("#check: "),
        "nothing failed, nothing shown:\n{passing}"
    );
    let (ok, out) = run(&["run", "lint", "--continue", "--output-logs=errors-only"]);
    assert!(!ok, "{out}");
    assert!(
        lines_of(&out, "noisy#lint: ")
            .iter()
            .any(|l| l.contains("noisy_unused")),
        "a failed member's log:\n{out}"
    );
    assert_eq!(
        out.matches("lint ×3: $ cargo clippy").count(),
        1,
        "and the batch's own lines, once:\n{out}"
    );
}

/// A `cargo` first on PATH that records each invocation's argv (one line,
/// arguments separated by a unit separator), says nothing and succeeds for
/// `cargo nextest`, and hands everything else to the real cargo. Beside it a
/// `cargo-nextest`, so the run always takes the nextest path (the one whose
/// command a dry run once showed differently).
fn recording_cargo(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let log = dir.join("argv.log");
    let script = format!(
        "#!/bin/sh\n\
         {{ printf 'cargo'; for arg in \"$@\"; do printf '\\037%s' \"$arg\"; done; echo; }} >> '{}'\n\
         [ \"$1\" = nextest ] && exit 0\n\
         exec '{real}' \"$@\"\n",
        log.display()
    );
    for (name, text) in [
        ("cargo", script.as_str()),
        ("cargo-nextest", "#!/bin/sh\nexit 0\n"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    log
}

#[test]
fn the_commands_a_dry_run_shows_are_the_argv_cargo_gets() {
    let fx = Fixture::new(WARNINGS);
    let bin = tempfile::tempdir().unwrap();
    let log = recording_cargo(bin.path());
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let xtask = |args: &[&str]| {
        let output = fx
            .command(args)
            .env("PATH", &path)
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}:\n{}", text(&output));
        output
    };
    let dry = xtask(&["run", "test", "--filter", "good", "--dry-run=json"]);
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    let planned = dry["tasks"][0]["command"].as_str().unwrap().to_string();
    assert!(
        planned.contains("cargo nextest run "),
        "nextest is on PATH: {planned}"
    );
    // Plain words only, so splitting at spaces is the shell's split.
    assert!(!planned.contains(['\'', '"', '\\']), "{planned}");
    let planned: Vec<Vec<String>> = planned
        .split(" && ")
        .map(|command| command.split(' ').map(String::from).collect())
        .collect();

    let _ = std::fs::remove_file(&log);
    xtask(&["run", "test", "--filter", "good"]);
    let recorded = std::fs::read_to_string(&log).unwrap();
    // xtask's own cargo calls (`cargo metadata`) are not the task's.
    let ran: Vec<Vec<String>> = recorded
        .lines()
        .map(|line| line.split('\u{1f}').map(String::from).collect::<Vec<_>>())
        .filter(|argv| argv.get(1).is_some_and(|sub| sub != "metadata"))
        .collect();
    assert_eq!(
        ran, planned,
        "the argv cargo got is what the dry run showed"
    );
}
