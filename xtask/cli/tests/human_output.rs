//! Snapshots of what a person reads: `--dry-run`, `cache status`, `explain`
//! and the run summary, with paths, keys and timings redacted
//! (`support::redact`). A change to any of them shows up here as a diff to
//! review; `UPDATE_EXPECT=1 cargo test -p xtask --test human_output` accepts it.

mod support;

use expect_test::{Expect, expect};
use support::{CHAIN, Fixture, redact, text};

/// Runs the binary, asserts its exit status, and compares its redacted
/// output (stdout then stderr) with `expected`.
fn check(fx: &Fixture, args: &[&str], success: bool, expected: Expect) {
    let mut command = fx.command(args);
    command.env_remove("CARGO_TARGET_DIR");
    let output = command.output().unwrap();
    let printed = text(&output);
    assert_eq!(output.status.success(), success, "{printed}");
    expected.assert_eq(&redact_sizes(&redact(&printed, fx)));
}

/// Entry sizes move by a few bytes with compression; the words around
/// them are what matters.
fn redact_sizes(text: &str) -> String {
    let units = ["B", "KiB", "MiB", "GiB"];
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let redacted: Vec<&str> = words
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let next = words.get(i + 1).map(|w| w.trim_end_matches([',', ')']));
                let is_number =
                    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit() || b == b'.');
                if is_number && next.is_some_and(|n| units.contains(&n)) {
                    "[N]"
                } else {
                    word
                }
            })
            .collect();
        out.push_str(&redacted.join(" "));
        out.push('\n');
    }
    out
}

#[test]
fn the_run_summary() {
    let fx = Fixture::new(CHAIN);
    check(
        &fx,
        &["run", "check", "--filter", "b..."],
        true,
        expect![[r#"
            a#check: cache miss, executing [KEY]
            a#check: checked a
            b#check: cache miss, executing [KEY]
            b#check: checked b

             Tasks:    2 successful, 2 total
            Cached:    0 cached, 2 total
              Time:    [TIME]
            xtask: running 2 tasks, 2 at a time
        "#]],
    );
    fx.write("crates/c/src/lib.rs", "pub fn c() -> u32 { 7 }\n");
    check(
        &fx,
        &["run", "check", "--filter", "b..."],
        true,
        expect![[r#"
            a#check: cache hit, replaying logs [KEY]
            a#check: checked a
            b#check: cache hit, replaying logs [KEY]
            b#check: checked b

             Tasks:    2 successful, 2 total
            Cached:    2 cached, 2 total
              Time:    [TIME] >>> all 2 tasks cached, nothing ran
            xtask: running 2 tasks, 2 at a time
        "#]],
    );
}

#[test]
fn a_failing_run_summary() {
    let fx = Fixture::new(CHAIN);
    fx.write(
        "crates/d/Cargo.toml",
        "[package]\nname = \"d\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.xtask.tasks.check]\ncommand = \"echo broken >&2; exit 3\"\n",
    );
    check(
        &fx,
        &["run", "check", "--concurrency", "1"],
        false,
        expect![[r#"
        a#check: cache miss, executing [KEY]
        a#check: checked a
        b#check: cache miss, executing [KEY]
        b#check: checked b
        c#check: cache miss, executing [KEY]
        c#check: checked c
        d#check: cache miss, executing [KEY]
        d#check: broken
        d#check: command failed (exit code 3)

         Tasks:    3 successful, 4 total
        Cached:    0 cached, 4 total
          Time:    [TIME]
        Failed:    d#check
        xtask: running 4 tasks, 1 at a time
    "#]],
    );
}

#[test]
fn the_dry_run() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check", "--filter", "a"]);
    check(
        &fx,
        &["run", "check", "--filter", "b...", "--dry-run"],
        true,
        expect![[r#"
            Tasks to run (2 total, 1 cached):

            a#check
              key           = [KEY]
              cache         = HIT (local)
              command       = echo checked $(basename $PWD) && echo ok > .check.out
              directory     = crates/a
              inputs        = 2 files
              outputs       = .check.out
              dependencies  = 
              dependents    = b#check
              env           = CHECK_MODE

            b#check
              key           = [KEY]
              cache         = MISS
              command       = echo checked $(basename $PWD) && echo ok > .check.out
              directory     = crates/b
              inputs        = 2 files
              outputs       = .check.out
              dependencies  = a#check
              dependents    = 
              env           = CHECK_MODE
        "#]],
    );
}

#[test]
fn cache_status() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    check(
        &fx,
        &["cache", "status"],
        true,
        expect![[r#"
        local cache   [ROOT]/turbo-cache
        entries       4
        size          [N] KiB
        oldest used   [TIME] ago
        newest used   [TIME] ago
        limits        [N] GiB , 30 days (cache.max-size, cache.max-age)
        remote cache  off (set [workspace.metadata.xtask.remote-cache] url, XTASK_REMOTE_CACHE_URL or --remote-cache=URL)
    "#]],
    );
}

#[test]
fn explain_names_what_changed() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 2 }\n");
    check(
        &fx,
        &["explain", "c#check"],
        true,
        expect![[r#"
        c#check: key [KEY]
        1 change(s) since the last successful run (key [KEY]):
          dependency       b#check  changed
    "#]],
    );
}
