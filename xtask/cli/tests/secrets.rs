//! Secrets in the environment: which reach a task (the table in README's
//! "Secrets and the environment"), and that no env value, nor its bare
//! blake3, is shown or stored.

mod support;

use std::path::Path;

use support::{Fixture, text};

/// One package; `plain` declares nothing, `named` names the secrets.
const SECRETS: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask]
env-mode = "MODE"

[workspace.metadata.xtask.tasks.plain]
command = "env > plain.env"
cache = false

[workspace.metadata.xtask.tasks.named]
command = "env > named.env"
cache = false
pass-env = ["GITHUB_TOKEN", "TURBO_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_*"]
--- .gitignore
/turbo-cache
*.env
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
"#;

const VALUES: &[(&str, &str)] = &[
    ("GITHUB_TOKEN", "ghs_value_github"),
    ("GITHUB_SHA", "value-sha"),
    ("TURBO_TOKEN", "value-turbo-token"),
    ("XTASK_REMOTE_CACHE_TOKEN", "value-xtask-token"),
    ("XTASK_REMOTE_CACHE_SIGNATURE_KEY", "value-signing-key"),
    ("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "value-turbo-signing"),
    ("AWS_SECRET_ACCESS_KEY", "value-aws-secret"),
    ("AZURE_STORAGE_ACCOUNT_KEY", "value-azure-key"),
    ("SOME_SETTING", "value-setting"),
];

#[test]
fn tasks_get_our_secrets_never_and_ci_tokens_only_when_named() {
    // (mode, task, variables it must see, variables it must not).
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "strict",
            "plain",
            &["GITHUB_SHA"],
            &[
                "GITHUB_TOKEN",
                "TURBO_TOKEN",
                "AWS_SECRET_ACCESS_KEY",
                "SOME_SETTING",
            ],
        ),
        (
            "strict",
            "named",
            &["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_SHA"],
            &["TURBO_TOKEN", "AZURE_STORAGE_ACCOUNT_KEY"],
        ),
        (
            "loose",
            "plain",
            &["GITHUB_SHA", "SOME_SETTING"],
            &["GITHUB_TOKEN", "TURBO_TOKEN", "AWS_SECRET_ACCESS_KEY"],
        ),
        (
            "loose",
            "named",
            &["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "SOME_SETTING"],
            &["TURBO_TOKEN", "AZURE_STORAGE_ACCOUNT_KEY"],
        ),
    ];
    let always_hidden = [
        "XTASK_REMOTE_CACHE_TOKEN",
        "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
        "TURBO_REMOTE_CACHE_SIGNATURE_KEY",
    ];
    for mode in ["strict", "loose"] {
        let fx = Fixture::new(&SECRETS.replace("MODE", mode));
        let mut command = fx.command(&["run", "plain", "named"]);
        command.envs(VALUES.iter().copied());
        let output = command.output().unwrap();
        let out = text(&output);
        assert!(output.status.success(), "{mode}: {out}");
        assert!(
            out.contains("`TURBO_TOKEN` (declared by a#named) holds the remote cache's secret"),
            "{mode}: a declared own secret is reported: {out}"
        );
        for (name, value) in VALUES {
            assert!(
                !out.contains(value),
                "{mode}: {name}'s value printed: {out}"
            );
        }
        for (case_mode, task, seen, unseen) in cases.iter().filter(|c| c.0 == mode) {
            let env = fx.read(&format!("crates/a/{task}.env"));
            for name in *seen {
                assert!(
                    env.lines().any(|l| l.starts_with(&format!("{name}="))),
                    "{case_mode} {task} must see {name}:\n{env}"
                );
            }
            for name in unseen.iter().chain(&always_hidden) {
                assert!(
                    !env.lines().any(|l| l.starts_with(&format!("{name}="))),
                    "{case_mode} {task} must not see {name}:\n{env}"
                );
            }
        }
    }
}

/// A shell task with a declared variable and a global one.
const HASHED: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask]
global-env = ["REGION"]

[workspace.metadata.xtask.tasks.deploy]
command = "echo deployed > .deploy.out"
outputs = [".deploy.out"]
env = ["DEPLOY_ENV"]
--- .gitignore
/turbo-cache
.deploy.out
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
"#;

fn dry_run(fx: &Fixture, deploy_env: &str) -> serde_json::Value {
    let output = fx
        .command(&["run", "deploy", "--dry-run=json"])
        .env("DEPLOY_ENV", deploy_env)
        .env("REGION", "eu-1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every file under `dir`, as lossy text (history, summaries, salts, state).
fn files_text(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                found.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    found
}

#[test]
fn no_env_value_nor_its_bare_hash_is_shown_or_stored_yet_keys_agree_between_machines() {
    let values = ["prod-db-7", "eu-1"];
    let bare: Vec<String> = values
        .iter()
        .map(|v| blake3::hash(v.as_bytes()).to_hex()[..32].to_string())
        .collect();
    let machine_one = Fixture::new(HASHED);
    let machine_two = Fixture::new(HASHED);

    let one = dry_run(&machine_one, "prod-db-7");
    let two = dry_run(&machine_two, "prod-db-7");
    let task = |json: &serde_json::Value| json["tasks"][0].clone();
    assert_eq!(
        task(&one)["key"],
        task(&two)["key"],
        "a shared remote cache needs the same key on every machine"
    );
    let shown = task(&one)["env"]["DEPLOY_ENV"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(shown.len(), 32, "{one}");
    assert_ne!(
        task(&two)["env"]["DEPLOY_ENV"].as_str().unwrap(),
        shown,
        "each workspace salts with its own salt"
    );
    assert_eq!(
        task(&dry_run(&machine_one, "prod-db-7"))["env"]["DEPLOY_ENV"],
        shown.as_str(),
        "stable between runs of one workspace"
    );
    let changed = dry_run(&machine_one, "prod-db-8");
    assert_ne!(task(&changed)["env"]["DEPLOY_ENV"], shown.as_str());
    assert_ne!(task(&changed)["key"], task(&one)["key"]);

    // A real run with a summary and history, then `explain` after a change.
    let summary = machine_one.path("summary.json");
    let output = machine_one
        .command(&[
            "run",
            "deploy",
            &format!("--summarize={}", summary.display()),
        ])
        .env("DEPLOY_ENV", "prod-db-7")
        .env("REGION", "eu-1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let explain = machine_one
        .command(&["explain", "a#deploy"])
        .env("DEPLOY_ENV", "prod-db-8")
        .env("REGION", "eu-1")
        .output()
        .unwrap();
    let explained = text(&explain);
    assert!(
        explained.contains("DEPLOY_ENV") && explained.contains("changed"),
        "{explained}"
    );
    assert!(
        explained.contains(task(&one)["key"].as_str().unwrap()),
        "explain names the last key: {explained}"
    );

    let mut published = vec![
        ("dry run".to_string(), one.to_string()),
        ("run output".to_string(), text(&output)),
        ("explain".to_string(), explained),
    ];
    published.extend(files_text(&machine_one.path("turbo-cache/v1/workspaces")));
    published.extend(files_text(&machine_one.path("turbo-cache/runs")));
    published.push((
        "summary".to_string(),
        std::fs::read_to_string(&summary).unwrap(),
    ));
    assert!(
        published.iter().any(|(name, _)| name.contains("history")),
        "the history was written and is checked: {:?}",
        published.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for (name, content) in &published {
        for (value, hash) in values.iter().zip(&bare) {
            assert!(!content.contains(value), "{value} in {name}");
            assert!(
                !content.contains(hash.as_str()),
                "bare hash of {value} in {name}"
            );
        }
    }
}
