//! The other commands and run modes: dry runs, summaries, graphs, explain,
//! cache maintenance, workspace shapes.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{CHAIN, Fixture, set, text};

#[test]
fn dry_run_json_lists_tasks_with_keys_and_cache_status_and_runs_nothing() {
    let fx = Fixture::new(CHAIN);
    let output = fx.xtask(&["run", "check", "--dry-run=json"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !fx.path("crates/a/.check.out").exists(),
        "a dry run runs nothing"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let tasks = json["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 4);
    let b = tasks.iter().find(|t| t["task-id"] == "b#check").unwrap();
    assert_eq!(b["cache"], "MISS");
    assert_eq!(b["dependencies"], serde_json::json!(["a#check"]));
    assert_eq!(b["key"].as_str().unwrap().len(), 64);
    assert!(b["inputs"]["src/lib.rs"].is_string());

    let keys_before: Vec<String> = tasks
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect();
    fx.ok(&["run", "check"]);
    let output = fx.xtask(&["run", "check", "--dry-run=json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let tasks = json["tasks"].as_array().unwrap();
    assert!(tasks.iter().all(|t| t["cache"] == "HIT"), "{json}");
    let keys_after: Vec<String> = tasks
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys_before, keys_after,
        "dry run and real run agree on keys"
    );

    let text_out = fx.ok(&["run", "check", "--dry-run"]);
    assert!(
        text_out.contains("Tasks to run (4 total, 4 cached)"),
        "{text_out}"
    );
}

#[test]
fn secrets_never_appear_in_dry_runs_or_summaries() {
    let fx = Fixture::new(CHAIN);
    let secret = "s3cr3t-value-123";
    let output = fx
        .command(&["run", "check", "--dry-run=json"])
        .env("CHECK_MODE", secret)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!text(&output).contains(secret));
    let summary = fx.path("s.json");
    let output = fx
        .command(&[
            "run",
            "check",
            &format!("--summarize={}", summary.display()),
        ])
        .env("CHECK_MODE", secret)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!text(&output).contains(secret));
    assert!(!std::fs::read_to_string(summary).unwrap().contains(secret));
}

#[test]
fn summarize_without_a_path_writes_into_the_cache_dir() {
    let fx = Fixture::new(CHAIN);
    let out = fx.ok(&["run", "check", "--summarize"]);
    let runs: Vec<_> = std::fs::read_dir(fx.path("turbo-cache/runs"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 1, "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[0].as_ref().unwrap().path()).unwrap()).unwrap();
    assert_eq!(json["totals"]["tasks"], 4);
    assert_eq!(json["totals"]["executed"], 4);
    assert_eq!(json["exit-code"], 0);
}

#[test]
fn graph_formats() {
    let fx = Fixture::new(CHAIN);
    let dot = fx.ok(&["graph"]);
    assert!(dot.contains("\"b\" -> \"a\"\n"), "{dot}");
    assert!(
        dot.contains("\"c\" -> \"a\" [style=dashed]"),
        "dev edges are dashed:\n{dot}"
    );
    let mermaid = fx.ok(&["graph", "check", "--format", "mermaid"]);
    assert!(mermaid.starts_with("graph LR\n"), "{mermaid}");
    assert!(mermaid.contains("[\"b#check\"]"), "{mermaid}");
    let json: serde_json::Value =
        serde_json::from_str(&fx.ok(&["graph", "check", "--format", "json"])).unwrap();
    assert_eq!(json["nodes"].as_array().unwrap().len(), 4);
    assert!(
        json["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["from"] == "c#check" && e["to"] == "b#check")
    );
}

#[test]
fn explain_names_what_changed() {
    let fx = Fixture::new(CHAIN);
    let first = fx.ok(&["explain", "b#check"]);
    assert!(first.contains("no earlier successful run"), "{first}");
    fx.ok(&["run", "check"]);
    let same = fx.ok(&["explain", "b#check"]);
    assert!(same.contains("it will be a cache hit"), "{same}");

    fx.write("crates/b/src/lib.rs", "pub fn b() -> u32 { 5 }\n");
    fx.write("crates/b/src/more.rs", "\n");
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 9 }\n");
    let out = fx
        .command(&["explain", "b#check"])
        .env("CHECK_MODE", "x")
        .output()
        .unwrap();
    let out = text(&out);
    assert!(out.contains("src/lib.rs  changed"), "{out}");
    assert!(out.contains("src/more.rs  added"), "{out}");
    assert!(out.contains("dependency       a#check  changed"), "{out}");
    assert!(
        out.contains("env              CHECK_MODE  changed"),
        "{out}"
    );

    fx.ok(&["cache", "clean"]);
    fx.write("crates/b/src/lib.rs", "pub fn b() -> u32 { a::a() + 1 }\n");
    std::fs::remove_file(fx.path("crates/b/src/more.rs")).unwrap();
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 1 }\n");
    let gone = fx.ok(&["explain", "b#check"]);
    assert!(gone.contains("no longer in the cache"), "{gone}");
}

#[test]
fn cache_status_verify_prune_clean() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    let status = fx.ok(&["cache", "status"]);
    assert!(status.contains("entries       4"), "{status}");
    assert!(status.contains("turbo-cache"), "{status}");
    let verify = fx.ok(&["cache", "verify"]);
    assert!(verify.contains("checked 4 entries, 0 damaged"), "{verify}");
    let prune = fx.ok(&["cache", "prune", "--max-size", "0"]);
    assert!(prune.contains("removed 4 entries"), "{prune}");
    assert_eq!(fx.executed(&["check"]).len(), 4);
    let clean = fx.ok(&["cache", "clean"]);
    assert!(clean.contains("removed 4 entries"), "{clean}");
    let bad = fx.xtask(&["cache", "prune", "--max-age", "forever"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("is not an age"));
}

#[test]
fn cache_dir_flag_and_env_move_the_cache() {
    let fx = Fixture::new(CHAIN);
    let elsewhere = tempfile::tempdir().unwrap();
    let flag = format!("--cache-dir={}", elsewhere.path().join("a").display());
    fx.ok(&["run", "check", &flag]);
    assert!(elsewhere.path().join("a/v1/entries").is_dir());
    assert!(!fx.path("turbo-cache/v1/entries").exists());
    let output = fx
        .command(&["run", "check"])
        .env("XTASK_CACHE_DIR", elsewhere.path().join("a"))
        .output()
        .unwrap();
    assert!(
        text(&output).contains("all 4 tasks cached"),
        "{}",
        text(&output)
    );
}

#[test]
fn warm_run_spawns_no_cargo_and_a_new_member_is_seen() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    // A `cargo` that fails loudly (found through PATH, or $CARGO as cargo
    // subcommands and cargo_metadata use): a warm run must not start it.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("cargo");
    std::fs::write(&fake, "#!/bin/sh\necho fake cargo was called >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let output = fx
        .command(&["run", "check"])
        .env("PATH", &path)
        .env("CARGO", &fake)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));

    // A new crate under the members glob changes no manifest, but must be seen.
    fx.write(
        "crates/e/Cargo.toml",
        "[package]\nname = \"e\"\nversion = \"0.1.0\"\n",
    );
    fx.write("crates/e/src/lib.rs", "\n");
    let output = fx
        .command(&["run", "check"])
        .env("PATH", &path)
        .env("CARGO", &fake)
        .output()
        .unwrap();
    assert!(
        text(&output).contains("fake cargo was called"),
        "the graph is re-read:\n{}",
        text(&output)
    );
    assert_eq!(fx.executed(&["check"]), set(&["e#check"]));
}

#[test]
fn works_from_a_subdirectory_and_with_dash_c() {
    let fx = Fixture::new(CHAIN);
    let output = fx
        .command(&["run", "check"])
        .current_dir(fx.path("crates/b/src"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let other = tempfile::tempdir().unwrap();
    let output = fx
        .command(&["-C", fx.root().to_str().unwrap(), "run", "check"])
        .current_dir(other.path())
        .output()
        .unwrap();
    assert!(
        text(&output).contains("all 4 tasks cached"),
        "{}",
        text(&output)
    );
}

const ROOT_PACKAGE_WITH_DEV_CYCLE: &str = r#"
--- Cargo.toml
[package]
name = "app"
version = "0.1.0"
edition = "2021"
[dependencies]
x = { path = "crates/x" }
[workspace]
members = ["crates/*"]
[workspace.metadata.xtask.tasks.check]
command = "echo ok > .check.out"
depends-on = ["^check"]
outputs = [".check.out"]
--- .gitignore
/turbo-cache
/target
--- src/main.rs
fn main() {}
--- notes.txt
root file
--- crates/x/Cargo.toml
[package]
name = "x"
version = "0.1.0"
edition = "2021"
[dev-dependencies]
y = { path = "../y" }
--- crates/x/src/lib.rs
--- crates/y/Cargo.toml
[package]
name = "y"
version = "0.1.0"
edition = "2021"
[dependencies]
x = { path = "../x" }
--- crates/y/src/lib.rs
"#;

#[test]
fn root_package_and_dev_dependency_cycle() {
    let fx = Fixture::new(ROOT_PACKAGE_WITH_DEV_CYCLE);
    assert_eq!(
        fx.executed(&["check"]),
        set(&["app#check", "x#check", "y#check"])
    );
    // A root file belongs to the root package; a nested package's file does not.
    fx.write("notes.txt", "changed\n");
    assert_eq!(fx.executed(&["check"]), set(&["app#check"]));
    fx.write("crates/y/src/lib.rs", "// y\n");
    assert_eq!(fx.executed(&["check"]), set(&["y#check"]));
}

#[test]
fn github_actions_gets_log_groups() {
    let fx = Fixture::new(CHAIN);
    let output = fx
        .command(&["run", "check"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("::group::a#check\n"), "{out}");
    assert!(out.contains("a#check: checked a\n::endgroup::"), "{out}");
}

#[test]
fn persistent_tasks_cannot_be_dependencies() {
    let fx = Fixture::new(&CHAIN.replace(
        "command = \"echo other\"",
        "command = \"echo serve\"\npersistent = true\n[workspace.metadata.xtask.tasks.after]\ncommand = \"true\"\ndepends-on = [\"other\"]",
    ));
    let output = fx.xtask(&["run", "after"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("a#after depends on a#other, a persistent task"),
        "{}",
        text(&output)
    );
}

#[test]
fn per_package_override_replaces_the_workspace_definition() {
    let fx = Fixture::new(CHAIN);
    let manifest = fx.read("crates/d/Cargo.toml")
        + "[package.metadata.xtask.tasks.check]\ncommand = \"echo special > .check.out\"\n";
    fx.write("crates/d/Cargo.toml", &manifest);
    fx.ok(&["run", "check"]);
    assert_eq!(fx.read("crates/d/.check.out"), "special\n");
    assert_eq!(fx.read("crates/a/.check.out"), "ok\n");
}
