//! The false-hit table: cache-key mutations on one fixture workspace
//! (`false_hits/fixture.txt`), each a row of `false_hits/cases.toml`. A case
//! changes something a task's result depends on, runs, and checks that
//! exactly the expected tasks ran (and that the rebuilt binary shows the
//! change); then it undoes the change and checks that everything is a hit
//! again. Real git, real cargo, the real binary.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use support::{Fixture, text};

#[derive(Deserialize)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    tasks: Vec<String>,
    #[serde(default)]
    edits: Vec<(String, String)>,
    #[serde(default)]
    env: Vec<(String, String)>,
    expect: Vec<String>,
    #[serde(default)]
    prints: Option<String>,
    /// The run is expected to fail (the mutation breaks the task).
    #[serde(default)]
    fails: bool,
}

fn fixture() -> Fixture {
    let fixture = Fixture::new(include_str!("false_hits/fixture.txt"));
    std::os::unix::fs::symlink(
        "../../shared/target.txt",
        fixture.path("ws/crates/app/linked.txt"),
    )
    .unwrap();
    fixture.git(&["add", "-A"]);
    fixture.git(&["add", "-f", "ws/crates/beta/tracked.txt"]);
    fixture.commit("link");
    // Ignored only after it is tracked, as happens in real repositories.
    fixture.write(".git/info/exclude", "excluded.txt\n");
    fixture
}

/// Runs `tasks` in the workspace and returns the tasks that executed.
fn run(
    fixture: &Fixture,
    tasks: &[String],
    env: &[(String, String)],
    may_fail: bool,
) -> BTreeSet<String> {
    let args: Vec<&str> = tasks.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (statuses, output) = fixture.statuses_in("ws", &args, &env);
    assert!(
        may_fail || output.status.success(),
        "run {tasks:?} failed:\n{}",
        text(&output)
    );
    statuses
        .into_iter()
        .filter(|(_, status)| status == "executed" || status == "failed")
        .map(|(id, _)| id)
        .collect()
}

fn app_prints(fixture: &Fixture) -> String {
    let output = std::process::Command::new(fixture.path("ws/target/release/app"))
        .output()
        .expect("the app binary is restored or built");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_mutation_reruns_what_it_must_and_nothing_else() {
    let table: Table = toml::from_str(include_str!("false_hits/cases.toml")).unwrap();
    let fixture = fixture();
    let all: Vec<String> = vec!["build".into(), "lint".into(), "stamp".into()];
    run(&fixture, &all, &[], false);
    assert_eq!(
        run(&fixture, &all, &[], false),
        BTreeSet::new(),
        "a second run of an unchanged tree must be all hits"
    );

    let mut failures = Vec::new();
    for case in &table.case {
        let before: Vec<(String, Option<String>)> = case
            .edits
            .iter()
            .map(|(path, _)| {
                (
                    path.clone(),
                    std::fs::read_to_string(fixture.path(path)).ok(),
                )
            })
            .collect();
        for (path, content) in &case.edits {
            fixture.write(path, content);
        }
        let ran = run(&fixture, &case.tasks, &case.env, case.fails);
        let expected: BTreeSet<String> = case.expect.iter().cloned().collect();
        if ran != expected {
            failures.push(format!("{}: ran {ran:?}, expected {expected:?}", case.name));
        }
        if let Some(line) = &case.prints {
            let printed = app_prints(&fixture);
            if !printed.lines().any(|l| l == line) {
                failures.push(format!(
                    "{}: the app printed\n{printed}expected `{line}`",
                    case.name
                ));
            }
        }
        for (path, content) in &before {
            match content {
                Some(content) => fixture.write(path, content),
                None => {
                    let _ = std::fs::remove_file(fixture.path(path));
                }
            }
        }
        let again = run(&fixture, &case.tasks, &[], false);
        if !again.is_empty() {
            failures.push(format!(
                "{}: after undoing it, {again:?} ran instead of hitting",
                case.name
            ));
        }
        if case.prints.is_some() && !Path::new(&fixture.path("ws/target/release/app")).exists() {
            failures.push(format!("{}: the app binary was not restored", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "false hits or spurious misses:\n{}",
        failures.join("\n")
    );
}

/// `a` and `c` use `shared` plainly, `b` enables its `extra` feature. Cargo
/// unifies features within one invocation, so batching `b` with `a` would
/// make `a`'s test see `extra` — a result `cargo test -p a` never gives.
const FEATURES: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
--- crates/shared/Cargo.toml
[package]
name = "shared"
version = "0.1.0"
edition = "2021"
[features]
extra = []
--- crates/shared/src/lib.rs
pub fn mode() -> &'static str {
    if cfg!(feature = "extra") { "extra" } else { "plain" }
}
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
[dependencies]
shared = { path = "../shared" }
--- crates/a/src/lib.rs
#[test]
fn sees_plain() {
    assert_eq!(shared::mode(), "plain");
}
--- crates/c/Cargo.toml
[package]
name = "c"
version = "0.1.0"
edition = "2021"
[dependencies]
shared = { path = "../shared" }
--- crates/c/src/lib.rs
#[test]
fn sees_plain_too() {
    assert_eq!(shared::mode(), "plain");
}
--- crates/b/Cargo.toml
[package]
name = "b"
version = "0.1.0"
edition = "2021"
[dependencies]
shared = { path = "../shared", features = ["extra"] }
--- crates/b/src/lib.rs
#[test]
fn sees_extra() {
    assert_eq!(shared::mode(), "extra");
}
"#;

#[test]
fn batches_never_unify_features_a_package_alone_would_not_see() {
    let fixture = Fixture::new(FEATURES);
    let output = fixture
        .command(&["run", "test", "--concurrency", "1"])
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let log = text(&output);
    assert!(output.status.success(), "a batch changed a result:\n{log}");
    // The packages that agree still share one invocation; `b` runs apart.
    assert!(
        log.contains("(batched: 3 packages)"),
        "a, c and shared agree on features and should be one batch:\n{log}"
    );
    assert_eq!(fixture.executed(&["test"]), BTreeSet::new());
    assert_eq!(
        fixture.executed(&["test", "--filter", "a", "--force"]),
        support::set(&["a#test"])
    );
}

const SLOW_TASK: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask.tasks.copy]
command = "sleep 1; cat value.txt > out.txt; sleep 1"
outputs = ["out.txt"]
--- .gitignore
/target
/turbo-cache
out.txt
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
--- crates/a/value.txt
v1
"#;

#[test]
fn an_input_edited_while_its_task_runs_stores_nothing() {
    let fixture = Fixture::new(SLOW_TASK);
    let mut child = fixture.command(&["run", "copy"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    fixture.write("crates/a/value.txt", "v2\n");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // The task has read v2; put v1 back before it finishes.
    fixture.write("crates/a/value.txt", "v1\n");
    assert!(child.wait().unwrap().success());
    assert_eq!(fixture.read("crates/a/out.txt"), "v2\n");
    // The source says v1 again: a hit would restore the v2 output.
    assert_eq!(fixture.executed(&["copy"]), support::set(&["a#copy"]));
    assert_eq!(fixture.read("crates/a/out.txt"), "v1\n");
    assert_eq!(fixture.executed(&["copy"]), BTreeSet::new());
}

const BINARIES: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
--- crates/tool/Cargo.toml
[package]
name = "tool"
version = "0.1.0"
edition = "2021"
--- crates/tool/src/main.rs
fn main() {}
"#;

#[test]
fn a_new_auto_discovered_binary_is_built_stored_and_restored() {
    let fixture = Fixture::new(BINARIES);
    assert_eq!(fixture.executed(&["build"]), support::set(&["tool#build"]));
    fixture.write("crates/tool/src/bin/extra.rs", "fn main() {}\n");
    assert_eq!(fixture.executed(&["build"]), support::set(&["tool#build"]));
    std::fs::remove_file(fixture.path("target/release/extra")).unwrap();
    assert_eq!(fixture.executed(&["build"]), BTreeSet::new());
    assert!(
        fixture.path("target/release/extra").exists(),
        "the hit restores the new binary"
    );
}

#[test]
fn a_target_directory_outside_the_workspace_is_never_a_hit_that_restores_nothing() {
    let fixture = Fixture::new(BINARIES);
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target");
    let env = [("CARGO_TARGET_DIR", target.to_str().unwrap())];
    let binary = target.join("release/tool");
    assert_eq!(
        fixture.executed_with(&["build"], &env),
        support::set(&["tool#build"])
    );
    std::fs::remove_file(&binary).unwrap();
    let (statuses, output) = fixture.statuses(&["build"], &env);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        binary.exists(),
        "after the run the binary is there:\n{}",
        text(&output)
    );
    assert_eq!(statuses["tool#build"], "executed");
    assert!(
        text(&output).contains("outside the workspace"),
        "{}",
        text(&output)
    );
}

#[test]
fn cargo_home_and_its_config_are_in_cargo_keys() {
    let fixture = Fixture::new(BINARIES);
    let home = fixture.path("cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    let env = [("CARGO_HOME", home.to_str().unwrap())];
    assert_eq!(
        fixture.executed_with(&["build"], &env),
        support::set(&["tool#build"])
    );
    assert_eq!(fixture.executed_with(&["build"], &env), BTreeSet::new());
    fixture.write(
        "cargo-home/config.toml",
        "[build]\nrustflags = [\"--cfg\", \"from_cargo_home\"]\n",
    );
    assert_eq!(
        fixture.executed_with(&["build"], &env),
        support::set(&["tool#build"])
    );
    assert_eq!(fixture.executed_with(&["build"], &env), BTreeSet::new());
}

const OUTSIDE_READ: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
--- shared/data.txt
v1
--- crates/app/Cargo.toml
[package]
name = "app"
version = "0.1.0"
edition = "2021"
--- crates/app/src/main.rs
fn main() {
    println!("{}", include_str!("../../../shared/data.txt").trim());
}
"#;

#[test]
fn discovered_inputs_travel_through_the_remote() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("--remote-cache=file://{}", remote.path().display());
    let first = Fixture::new(OUTSIDE_READ);
    assert_eq!(
        first.executed(&["build", &url]),
        support::set(&["app#build"])
    );

    // Same sources: the manifest and the entry come from the remote, and a
    // dry run says so (it settles the key with the remote's manifest).
    let second = Fixture::new(OUTSIDE_READ);
    let mut dry_run = second.command(&["run", "build", &url, "--dry-run=json"]);
    dry_run.env_remove("CARGO_TARGET_DIR");
    let output = dry_run.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let task = &json["tasks"][0];
    assert_eq!(
        (task["cache"].as_str(), task["cache-location"].as_str()),
        (Some("HIT"), Some("remote")),
        "{task}"
    );
    assert!(
        task["discovered"]["files"].get("shared/data.txt").is_some(),
        "{task}"
    );
    assert_eq!(second.executed(&["build", &url]), BTreeSet::new());
    // A machine whose outside file differs must not take that result.
    let third = Fixture::new(OUTSIDE_READ);
    third.write("shared/data.txt", "v2\n");
    assert_eq!(
        third.executed(&["build", &url]),
        support::set(&["app#build"])
    );
    let printed = std::process::Command::new(third.path("target/release/app"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout), "v2\n");
}
