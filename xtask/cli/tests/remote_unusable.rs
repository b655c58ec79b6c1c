//! A remote cache this machine cannot use — a fork's pull request gets no
//! secrets, a build lacks a backend, a variable holds a bad URL — is one
//! warning and a local-only run; only a mistake in the manifest or on the
//! command line is an error.

mod support;

use std::process::Output;

use support::{CHAIN, Fixture, text};

/// Runs `run check` with `env` and returns the output.
fn run_with(fx: &Fixture, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = fx.command(args);
    for name in [
        "TURBO_API",
        "TURBO_TOKEN",
        "TURBO_TEAM",
        "XTASK_REMOTE_CACHE_URL",
        "XTASK_REMOTE_CACHE_TOKEN",
        "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
        "TURBO_REMOTE_CACHE_SIGNATURE_KEY",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// Asserts a successful run of all four tasks that printed exactly one
/// remote-cache warning, containing `says`; returns the output.
fn local_only(fx: &Fixture, args: &[&str], env: &[(&str, &str)], says: &[&str]) -> String {
    let output = run_with(fx, args, env);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("4 successful"), "{out}");
    let warnings: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("warning: remote cache"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning:\n{out}");
    for piece in says {
        assert!(out.contains(piece), "expected `{piece}` in:\n{out}");
    }
    out
}

fn with_manifest_remote(table: &str) -> Fixture {
    Fixture::new(&CHAIN.replace(
        "global-env = []",
        &format!("global-env = []\n\n[workspace.metadata.xtask.remote-cache]\n{table}"),
    ))
}

#[test]
fn a_fork_pull_request_without_the_token_runs_with_the_local_cache() {
    let fx = Fixture::new(CHAIN);
    // What GitHub gives a workflow run from a fork: the variable, an empty secret.
    let fork = [
        ("TURBO_API", "http://127.0.0.1:9"),
        ("TURBO_TEAM", "acme"),
        ("TURBO_TOKEN", ""),
    ];
    local_only(
        &fx,
        &["run", "check"],
        &fork,
        &["needs a token", "TURBO_TOKEN", "local cache"],
    );
    // The local cache works as ever.
    let out = text(&run_with(&fx, &["run", "check"], &fork));
    assert!(out.contains("all 4 tasks cached"), "{out}");
    // `cache status` says so too, and succeeds.
    let output = run_with(&fx, &["cache", "status"], &fork);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("unusable here"), "{}", text(&output));
}

#[test]
fn signing_configured_in_the_manifest_without_the_key_is_a_warning() {
    let fx = with_manifest_remote("url = \"file:///nonexistent-remote\"\nsignature = true");
    let out = local_only(
        &fx,
        &["run", "check"],
        &[("TURBO_TOKEN", "tok-very-secret-123")],
        &["SIGNATURE_KEY"],
    );
    assert!(!out.contains("tok-very-secret-123"), "{out}");
}

#[test]
fn a_bad_url_from_the_environment_is_a_warning_with_credentials_masked() {
    let fx = Fixture::new(CHAIN);
    let out = local_only(
        &fx,
        &["run", "check"],
        &[(
            "XTASK_REMOTE_CACHE_URL",
            "ftp://user:pw-secret-9@cache.example",
        )],
        &["XTASK_REMOTE_CACHE_URL", "file://"],
    );
    assert!(!out.contains("pw-secret-9"), "{out}");
    local_only(
        &fx,
        &["run", "check", "--force"],
        &[("TURBO_API", "file://relative/dir")],
        &["TURBO_API", "absolute path"],
    );
}

#[test]
fn a_cloud_url_this_build_cannot_use_is_one_warning() {
    let fx = Fixture::new(CHAIN);
    // Without the `s3` feature this is refused up front; with it (feature
    // unification under `cargo test --workspace`), the endpoint refuses the
    // connection: one warning either way, and the build goes on.
    local_only(
        &fx,
        &["run", "check"],
        &[
            ("XTASK_REMOTE_CACHE_URL", "s3://bucket/prefix"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "aws-very-secret"),
        ],
        &["s3"],
    );
}

#[test]
fn mistakes_in_the_manifest_or_on_the_command_line_stay_errors() {
    let fx = with_manifest_remote("url = \"ftp://cache.example\"");
    let output = run_with(&fx, &["run", "check"], &[]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(
        out.contains("`url` in") && out.contains("Cargo.toml"),
        "{out}"
    );
    assert!(!fx.path("crates/a/.check.out").exists(), "nothing ran");

    let fx = Fixture::new(CHAIN);
    for args in [
        &["run", "check", "--remote-cache=ftp://cache.example"][..],
        &["run", "check", "--remote-cache=file://relative"][..],
        // A broken environment does not hide a mistake in the flags.
        &["run", "check", "--remote-cache-mode=sideways"][..],
    ] {
        let output = run_with(&fx, args, &[("TURBO_API", "http://127.0.0.1:9")]);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {out}");
        assert!(out.contains("--remote-cache"), "{args:?}: {out}");
    }
}
