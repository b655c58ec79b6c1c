//! The remote cache seen from a run: two machines sharing one remote, a
//! broken remote that never fails the build, settings shown with secrets
//! masked. (Protocol-level tests against real servers live in xtask-remote.)

mod support;

use support::{CHAIN, Fixture, set, text};

#[test]
fn a_second_machine_restores_from_the_remote_without_running_anything() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("--remote-cache=file://{}", remote.path().display());
    let first = Fixture::new(CHAIN);
    assert_eq!(first.executed(&["check", &url]).len(), 4);

    let second = Fixture::new(CHAIN);
    assert_eq!(
        second.executed(&["check", &url]),
        set(&[]),
        "every task comes from the remote"
    );
    assert_eq!(
        second.read("crates/c/.check.out"),
        "ok\n",
        "outputs restored on the second machine"
    );
    let out = second.ok(&["run", "check", "--output-logs=full"]);
    assert!(
        out.contains("c#check: checked c"),
        "the log travels with the artifact:\n{out}"
    );

    // Read-only: nothing new is written to the remote.
    let third = Fixture::new(CHAIN);
    third.write("crates/d/src/lib.rs", "pub fn d() { let _ = 1; }\n");
    let entries = || walk_count(remote.path());
    let before = entries();
    third.ok(&["run", "check", &url, "--remote-cache-mode=read"]);
    assert_eq!(entries(), before);
}

fn walk_count(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        count += if path.is_dir() { walk_count(&path) } else { 1 };
    }
    count
}

#[test]
fn an_unreachable_remote_is_one_warning_and_the_build_goes_on() {
    let fx = Fixture::new(CHAIN);
    let output = fx
        .command(&["run", "check", "--remote-cache=http://127.0.0.1:9"])
        .env("TURBO_TOKEN", "tok-very-secret-123")
        .env("TURBO_TEAM", "team")
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("4 successful"), "{out}");
    let warnings = out
        .lines()
        .filter(|l| l.contains("warning: remote cache"))
        .count();
    assert_eq!(warnings, 1, "one warning, not one per task:\n{out}");
    assert!(!out.contains("tok-very-secret-123"), "{out}");
}

#[test]
fn cache_status_shows_the_remote_with_secrets_masked() {
    let fx = Fixture::new(CHAIN);
    let output = fx
        .command(&["cache", "status"])
        .env("XTASK_REMOTE_CACHE_URL", "http://127.0.0.1:9")
        .env("TURBO_TOKEN", "tok-very-secret-123")
        .env("TURBO_TEAM", "team")
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("http://127.0.0.1:9"), "{out}");
    assert!(
        out.contains("XTASK_REMOTE_CACHE_URL"),
        "the source of each setting is shown:\n{out}"
    );
    assert!(!out.contains("tok-very-secret-123"), "{out}");

    let bad = fx.xtask(&["cache", "status", "--remote-cache-mode=sideways"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn remote_cache_settings_in_the_manifest_are_validated() {
    let fx = Fixture::new(&CHAIN.replace(
        "global-env = []",
        "global-env = []\n\n[workspace.metadata.xtask.remote-cache]\nurl = \"file:///tmp/x\"\ntoken = \"oops\"",
    ));
    let output = fx.xtask(&["run", "check"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(out.contains("token"), "{out}");
    assert!(!out.contains("oops"), "the secret is not echoed:\n{out}");
}

#[test]
fn writing_a_remote_without_a_signing_key_prints_one_hint() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("--remote-cache=file://{}", remote.path().display());
    let fx = Fixture::new(CHAIN);
    let hints = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("hint:") && l.contains("signing key"))
            .count()
    };
    let out = fx.ok(&["run", "check", &url]);
    assert_eq!(hints(&out), 1, "{out}");
    let out = fx.ok(&["run", "check", &url, "--remote-cache-mode=read"]);
    assert_eq!(hints(&out), 0, "read-only writes nothing:\n{out}");
    let output = fx
        .command(&["run", "check", &url])
        .env(
            "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
            "a-signing-key-never-printed",
        )
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert_eq!(hints(&out), 0, "signed:\n{out}");
    assert!(!out.contains("a-signing-key-never-printed"), "{out}");
}
