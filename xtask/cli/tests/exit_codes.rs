//! One test per exit code of the table in README.md#exit-codes, through the
//! real binary: 1 a task failed, 2 the user's mistake, 3 the environment.

mod support;

use support::{CHAIN, Fixture, text};

fn code(fx: &Fixture, args: &[&str]) -> (Option<i32>, String) {
    let output = fx.xtask(args);
    (output.status.code(), text(&output))
}

#[test]
fn a_failed_task_is_1() {
    let fx = Fixture::new(&CHAIN.replace("command = \"echo other\"", "command = \"exit 7\""));
    let (code, out) = code(&fx, &["run", "other", "--filter=a"]);
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn a_mistake_in_the_request_or_the_configuration_is_2() {
    let fx = Fixture::new(CHAIN);
    for args in [
        &["run"][..],
        &["run", "check", "--output-logs=some"][..],
        &["run", "deploy-everything"][..],
        &["run", "check", "--filter=zzz..."][..],
        &["explain", "not-a-task-id"][..],
    ] {
        let (code, out) = code(&fx, args);
        assert_eq!(code, Some(2), "{args:?}: {out}");
    }
    fx.write(
        "Cargo.toml",
        &fx.read("Cargo.toml")
            .replace("depends-on = [\"^check\"]", "depends-on = [\"^chek\"]"),
    );
    let (code, out) = code(&fx, &["run", "check"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("unknown task `chek`"), "{out}");
}

#[test]
fn an_environment_problem_is_3() {
    let fx = Fixture::new(CHAIN);
    // The summary cannot be written: its directory is a file.
    let (code, out) = code(&fx, &["run", "other", "--summarize=README.md/run.json"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("failed to write the run summary"), "{out}");

    // git is not on PATH (the graph is cached by the run above, so cargo is
    // not needed).
    let output = fx
        .command(&["run", "other", "--affected", "--base=HEAD"])
        .env("PATH", fx.path("no-such-dir"))
        .output()
        .unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(3), "{out}");
    assert!(out.contains("is git installed"), "{out}");
}

#[test]
fn help_lists_the_exit_codes() {
    let fx = Fixture::new(CHAIN);
    let (code, out) = code(&fx, &["--help"]);
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "Exit codes:",
        "1    a task failed",
        "3    an internal error",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
}
