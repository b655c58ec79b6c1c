//! `--filter`, `--affected` and `cargo xtask affected` on real git repositories.

mod support;

use std::collections::BTreeSet;

use support::{CHAIN, Fixture, set, text};

/// The task ids a dry run would run.
fn planned(fx: &Fixture, args: &[&str]) -> BTreeSet<String> {
    let mut full = vec!["run", "check", "--dry-run=json"];
    full.extend_from_slice(args);
    let output = fx.xtask(&full);
    assert!(output.status.success(), "{args:?}: {}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task-id"].as_str().unwrap().to_string())
        .collect()
}

fn commit_all(fx: &Fixture, message: &str) {
    fx.git(&["add", "-A"]);
    fx.git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        message,
    ]);
}

#[test]
fn every_filter_form() {
    let fx = Fixture::new(CHAIN);
    // `check` depends on `^check`, so dependencies' tasks are always planned;
    // the selection shows in which packages' own tasks are present.
    assert_eq!(planned(&fx, &["--filter", "d"]), set(&["d#check"]));
    assert_eq!(
        planned(&fx, &["--filter", "b"]),
        set(&["a#check", "b#check"])
    );
    assert_eq!(
        planned(&fx, &["--filter", "...a"]),
        set(&["a#check", "b#check", "c#check"])
    );
    assert_eq!(
        planned(&fx, &["--filter", "...^b"]),
        set(&["a#check", "b#check", "c#check"])
    );
    assert_eq!(planned(&fx, &["--filter", "./crates/d"]), set(&["d#check"]));
    assert_eq!(
        planned(&fx, &["--filter", "./crates/*", "--filter", "!...b"]),
        set(&["a#check", "d#check"])
    );
    assert_eq!(
        planned(&fx, &["-F", "a", "-F", "d"]),
        set(&["a#check", "d#check"])
    );

    fx.git(&["checkout", "-qb", "feature"]);
    fx.write("crates/d/src/lib.rs", "pub fn d() { }\n");
    commit_all(&fx, "edit d");
    assert_eq!(planned(&fx, &["--filter", "[main]"]), set(&["d#check"]));
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 9 }\n");
    assert_eq!(
        planned(&fx, &["--filter", "...[main]"]),
        set(&["a#check", "b#check", "c#check", "d#check"]),
        "the working tree counts as changed"
    );

    let output = fx.xtask(&["run", "check", "--filter", "bb"]);
    assert_eq!(output.status.code(), Some(2));
    let out = text(&output);
    assert!(
        out.contains("bb") && out.contains("did you mean `b`"),
        "{out}"
    );
}

#[test]
fn affected_after_leaf_hub_lockfile_and_root_edits() {
    let fx = Fixture::new(&format!(
        "{CHAIN}--- Cargo.lock\n{}",
        r#"version = 4

[[package]]
name = "a"
version = "0.1.0"

[[package]]
name = "b"
version = "0.1.0"
dependencies = ["a", "itoa"]

[[package]]
name = "c"
version = "0.1.0"
dependencies = ["b"]

[[package]]
name = "d"
version = "0.1.0"

[[package]]
name = "itoa"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"
"#
    ));
    fx.git(&["checkout", "-qb", "feature"]);
    let affected = |fx: &Fixture| -> BTreeSet<String> {
        fx.ok(&["affected", "--base", "main"])
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(affected(&fx), set(&[]));

    fx.write("crates/c/src/lib.rs", "pub fn c() -> u32 { 0 }\n");
    assert_eq!(affected(&fx), set(&["c"]), "a leaf edit affects the leaf");
    fx.git(&["checkout", "-q", "--", "."]);

    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 0 }\n");
    commit_all(&fx, "hub");
    assert_eq!(
        affected(&fx),
        set(&["a", "b", "c"]),
        "a hub edit affects its dependents"
    );
    fx.git(&["reset", "-q", "--hard", "main"]);

    let lock = fx
        .read("Cargo.lock")
        .replace("version = \"1.0.0\"", "version = \"1.0.1\"");
    fx.write("Cargo.lock", &lock);
    assert_eq!(
        affected(&fx),
        set(&["b", "c"]),
        "a lockfile bump affects the users of the crate"
    );
    fx.git(&["checkout", "-q", "--", "."]);

    fx.write("README.md", "docs\n");
    assert_eq!(
        affected(&fx),
        set(&[]),
        "a root file outside every package affects nothing"
    );
    fx.write("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n");
    assert_eq!(
        affected(&fx),
        set(&["a", "b", "c", "d"]),
        "the toolchain affects everything"
    );

    let json: serde_json::Value =
        serde_json::from_str(&fx.ok(&["affected", "--base", "main", "--format", "json"])).unwrap();
    assert_eq!(json["base"], "main");
    assert_eq!(json["packages"][0]["directory"], "crates/a");
}

#[test]
fn run_affected_runs_only_affected_packages() {
    let fx = Fixture::new(CHAIN);
    fx.git(&["checkout", "-qb", "feature"]);
    fx.write("crates/b/src/lib.rs", "pub fn b() -> u32 { 2 }\n");
    let planned = planned(&fx, &["--affected", "--base", "main"]);
    assert_eq!(
        planned,
        set(&["a#check", "b#check", "c#check"]),
        "b, its dependent c, and b's dependency task"
    );
    let output = fx
        .command(&["run", "check", "--affected"])
        .env("XTASK_BASE", "main")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !fx.path("crates/d/.check.out").exists(),
        "d is not affected"
    );
}

#[test]
fn shallow_clone_without_the_base_is_a_clear_error() {
    let fx = Fixture::new(CHAIN);
    fx.write("crates/d/src/lib.rs", "pub fn d() { }\n");
    commit_all(&fx, "second");
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", fx.root().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url, "shallow"])
        .current_dir(clone.path())
        .status()
        .unwrap();
    assert!(status.success());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["affected", "--base", "HEAD~1"])
        .current_dir(clone.path().join("shallow"))
        .output()
        .unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(out.contains("shallow"), "{out}");
    assert!(out.contains("fetch-depth: 0"), "{out}");
}
