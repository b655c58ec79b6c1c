//! A reader that stops reading (`cargo xtask affected | head -1`): every
//! command that prints ends quietly with 141, as a tool ended by SIGPIPE
//! does; a run finishes its tasks and exits with its own code; a stdout that
//! fails otherwise (a full disk) is an error naming it.

mod support;

use std::process::{Output, Stdio};

use support::{CHAIN, Fixture, text};

/// Runs `args` with stdout a pipe whose reader is gone before the child
/// starts: every write to it fails (EPIPE), however little is written.
/// (Closing the read end after spawning raced the child: a short output
/// could land in the pipe's buffer first and the command exit 0.)
fn with_stdout_closed(fx: &Fixture, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    fx.command(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn assert_quiet(args: &[&str], output: &Output) {
    let err = String::from_utf8_lossy(&output.stderr);
    for noise in ["panicked", "Broken pipe", "error:", "standard output"] {
        assert!(!err.contains(noise), "{args:?} printed {noise:?}:\n{err}");
    }
}

#[test]
fn every_command_that_prints_ends_quietly_with_141() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 2 }\n");
    let commands: &[&[&str]] = &[
        &["affected", "--base", "HEAD"],
        &["affected", "--base", "HEAD", "--format", "json"],
        &["graph", "check"],
        &["graph", "check", "--format", "json"],
        &["run", "check", "--dry-run"],
        &["run", "check", "--dry-run=json"],
        &["explain", "b#check"],
        &["cache", "status"],
        &["cache", "verify"],
    ];
    for args in commands {
        // Something to print: the same command with stdout read.
        let printed = fx.xtask(args);
        assert!(printed.status.success(), "{args:?}: {}", text(&printed));
        assert!(!printed.stdout.is_empty(), "{args:?} prints nothing");

        let output = with_stdout_closed(&fx, args);
        assert_eq!(
            output.status.code(),
            Some(141),
            "{args:?}: {}",
            text(&output)
        );
        assert_quiet(args, &output);
    }
}

#[test]
fn a_run_with_its_stdout_closed_finishes_its_tasks() {
    let fx = Fixture::new(CHAIN);
    let output = with_stdout_closed(&fx, &["run", "check"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_quiet(&["run", "check"], &output);
    let again = fx.ok(&["run", "check"]);
    assert!(again.contains("all 4 tasks cached"), "{again}");

    fx.write(
        "Cargo.toml",
        &fx.read("Cargo.toml")
            .replace("command = \"echo other\"", "command = \"exit 7\""),
    );
    let output = with_stdout_closed(&fx, &["run", "other", "--filter=a"]);
    assert_eq!(output.status.code(), Some(1), "the run's own code");
}

#[test]
fn a_stdout_that_fails_otherwise_is_an_error_naming_it() {
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full");
        return;
    };
    let fx = Fixture::new(CHAIN);
    let output = fx
        .command(&["graph", "check"])
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("failed to write to standard output"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
