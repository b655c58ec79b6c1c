//! Built-in cargo tasks with real cargo: one batched invocation per kind,
//! results attributed per package, binaries restored into target/.

mod support;

use std::collections::BTreeMap;

use support::{Fixture, text};

const MIXED: &str = r#"
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
/// Adds one.
pub fn add_one(x: u32) -> u32 {
    x + 1
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add_one(1), 2);
    }
}
--- crates/unused/Cargo.toml
[package]
name = "unused"
version = "0.1.0"
edition = "2021"
--- crates/unused/src/lib.rs
pub fn noisy() -> u32 {
    let unused_value = 3;
    4
}

#[cfg(test)]
mod tests {
    #[test]
    fn fails() {
        assert_eq!(super::noisy(), 5, "deliberately wrong");
    }
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

/// Runs `run <args> --continue` and returns task id → status, and the output.
fn statuses(fx: &Fixture, args: &[&str]) -> (BTreeMap<String, String>, String) {
    let mut full = args.to_vec();
    full.push("--continue");
    let (statuses, output) = fx.statuses(&full, &[]);
    (statuses, text(&output))
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn batched_lint_caches_the_passing_packages_and_names_the_failing_one() {
    let fx = Fixture::new(MIXED);
    let (status, out) = statuses(&fx, &["lint"]);
    assert_eq!(
        status,
        expect(&[
            ("good#lint", "executed"),
            ("tool#lint", "executed"),
            ("unused#lint", "failed")
        ]),
        "{out}"
    );
    assert_eq!(
        out.matches("cargo clippy").count(),
        1,
        "one clippy invocation, echoed once under the batch's label:\n{out}"
    );
    assert!(out.contains("(batched: 3 packages)"), "{out}");
    assert!(
        out.contains("unused#lint: ") && out.contains("unused_value"),
        "the failure is attributed:\n{out}"
    );
    assert!(out.contains("Failed:    unused#lint"), "{out}");

    let (status, out) = statuses(&fx, &["lint"]);
    assert_eq!(
        status,
        expect(&[
            ("good#lint", "cached"),
            ("tool#lint", "cached"),
            ("unused#lint", "failed")
        ]),
        "{out}"
    );
    // A passing package's stored log holds its own output, not its neighbour's.
    let good_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("good#lint: "))
        .collect();
    assert!(!good_lines.is_empty(), "{out}");
    assert!(
        good_lines.iter().all(|l| !l.contains("unused_value")),
        "{good_lines:?}"
    );
}

#[test]
fn batched_fmt_failure_is_attributed_by_file() {
    let fx = Fixture::new(&MIXED.replace("    let unused_value = 3;\n", ""));
    fx.write(
        "crates/good/src/lib.rs",
        "pub fn add_one(x:u32)->u32{x+1}\n",
    );
    let (status, out) = statuses(&fx, &["lint"]);
    assert_eq!(
        status,
        expect(&[
            ("good#lint", "failed"),
            ("tool#lint", "executed"),
            ("unused#lint", "executed")
        ]),
        "{out}"
    );
    assert!(out.contains("good#lint: Diff in"), "{out}");
}

#[test]
fn batched_test_caches_the_passing_packages_only() {
    let fx = Fixture::new(&MIXED.replace("    let unused_value = 3;\n", ""));
    let (status, out) = statuses(&fx, &["test"]);
    assert_eq!(
        status,
        expect(&[
            ("good#test", "executed"),
            ("tool#test", "executed"),
            ("unused#test", "failed")
        ]),
        "{out}"
    );
    assert!(out.contains("deliberately wrong"), "{out}");
    let (status, _) = statuses(&fx, &["test"]);
    assert_eq!(status["good#test"], "cached");
    assert_eq!(status["unused#test"], "failed");
}

#[test]
fn batched_build_restores_deleted_binaries() {
    let fx = Fixture::new(MIXED);
    let (status, out) = statuses(&fx, &["build"]);
    assert_eq!(status["tool#build"], "executed", "{out}");
    let binary = fx.path("target/release/tool");
    assert!(binary.is_file());
    std::fs::remove_file(&binary).unwrap();
    let (status, out) = statuses(&fx, &["build"]);
    assert_eq!(status["tool#build"], "cached", "{out}");
    let output = std::process::Command::new(&binary)
        .output()
        .expect("the restored binary runs");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "42\n");
}

#[test]
fn a_compile_error_fails_the_package_and_its_dependents_not_the_others() {
    let fx = Fixture::new(MIXED);
    fx.write(
        "crates/good/src/lib.rs",
        "pub fn add_one(x: u32) -> u32 { x + \"one\" }\n",
    );
    let (status, out) = statuses(&fx, &["check"]);
    assert_eq!(
        status,
        expect(&[
            ("good#check", "failed"),
            ("tool#check", "failed"),
            ("unused#check", "executed")
        ]),
        "{out}"
    );
    assert!(
        out.contains("tool#check: xtask: failed: its dependency good failed to build"),
        "{out}"
    );
    assert!(
        out.contains("good#check: xtask: failed: it does not compile"),
        "{out}"
    );
}

/// task id → key, from a dry run (nothing is compiled).
fn keys(fx: &Fixture, task: &str, env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut command = fx.command(&["run", task, "--dry-run=json"]);
    command.env_remove("RUSTFLAGS");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task-id"].as_str().unwrap().to_string(),
                t["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    before
        .iter()
        .filter(|(id, key)| after.get(*id) != Some(key))
        .map(|(id, _)| id.clone())
        .collect()
}

const LOCKED: &str = r#"version = 4

[[package]]
name = "good"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "tool"
version = "0.1.0"
dependencies = ["good"]

[[package]]
name = "unused"
version = "0.1.0"
dependencies = ["memchr"]

[[package]]
name = "itoa"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"

[[package]]
name = "memchr"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bb"
"#;

#[test]
fn precise_keys_for_cargo_tasks() {
    let fx = Fixture::new(&format!("{MIXED}--- Cargo.lock\n{LOCKED}"));
    let base = keys(&fx, "build", &[]);
    assert_eq!(base, keys(&fx, "build", &[]), "keys are stable");

    // A lockfile bump reaches the packages whose closure holds the crate.
    fx.write(
        "Cargo.lock",
        &LOCKED.replace("checksum = \"aa\"", "checksum = \"ab\""),
    );
    assert_eq!(
        changed(&base, &keys(&fx, "build", &[])),
        ["good#build", "tool#build"]
    );
    fx.write("Cargo.lock", LOCKED);

    // RUSTFLAGS changes how everything compiles.
    assert_eq!(
        changed(
            &base,
            &keys(&fx, "build", &[("RUSTFLAGS", "-Cdebuginfo=0")])
        )
        .len(),
        3
    );

    // So does the toolchain file.
    fx.write("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n");
    assert_eq!(changed(&base, &keys(&fx, "build", &[])).len(), 3);
    std::fs::remove_file(fx.path("rust-toolchain.toml")).unwrap();

    // A feature set on one package's build misses that build only.
    let manifest = fx.read("crates/tool/Cargo.toml")
        + "[features]\nfast = []\n[package.metadata.xtask.tasks.build]\nfeatures = [\"fast\"]\n";
    fx.write("crates/tool/Cargo.toml", &manifest);
    assert_eq!(changed(&base, &keys(&fx, "build", &[])), ["tool#build"]);

    // A task definition in the root manifest does not change cargo keys.
    let root =
        fx.read("Cargo.toml") + "[workspace.metadata.xtask.tasks.docs]\ncommand = \"true\"\n";
    fx.write("Cargo.toml", &root);
    assert_eq!(changed(&base, &keys(&fx, "build", &[])), ["tool#build"]);
    // Workspace lints do.
    let root = fx.read("Cargo.toml") + "[workspace.lints.rust]\nunsafe_code = \"deny\"\n";
    fx.write("Cargo.toml", &root);
    assert_eq!(changed(&base, &keys(&fx, "build", &[])).len(), 3);
}

const ENV_SPLIT: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
--- crates/wants/Cargo.toml
[package]
name = "wants"
version = "0.1.0"
edition = "2021"
[package.metadata.xtask.tasks.test]
pass-env = ["SERVER_URL"]
--- crates/wants/src/lib.rs
#[test]
fn sees_the_passed_variable() {
    assert_eq!(std::env::var("SERVER_URL").as_deref(), Ok("http://127.0.0.1:1"));
}
--- crates/plain/Cargo.toml
[package]
name = "plain"
version = "0.1.0"
edition = "2021"
--- crates/plain/src/lib.rs
#[test]
fn does_not_see_an_undeclared_variable() {
    assert!(std::env::var("SERVER_URL").is_err());
}
"#;

#[test]
fn packages_with_different_env_settings_are_not_batched_together() {
    let fx = Fixture::new(ENV_SPLIT);
    let summary = fx.path("turbo-cache/s.json");
    let output = fx
        .command(&["run", "test", &format!("--summarize={}", summary.display())])
        .env("SERVER_URL", "http://127.0.0.1:1")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let out = text(&output);
    assert!(
        output.status.success(),
        "each package ran with its own environment:\n{out}"
    );
    assert!(
        out.contains("(batched: 1 packages)"),
        "two batches of one:\n{out}"
    );
}

#[test]
fn a_shell_task_after_a_batched_build_sees_its_binary() {
    let fx = Fixture::new(&MIXED.replace(
        "members = [\"crates/*\"]",
        "members = [\"crates/*\"]\n[workspace.metadata.xtask.tasks.package]\ncommand = \"test ! -f src/main.rs || test -x ../../target/release/$(basename $PWD)\"\ndepends-on = [\"build\"]",
    ));
    let (status, out) = statuses(&fx, &["package"]);
    assert_eq!(status["tool#build"], "executed", "{out}");
    assert_eq!(
        status["tool#package"], "executed",
        "ran after the batched build, binary in place:\n{out}"
    );
    assert_eq!(status["good#package"], "executed", "{out}");
}
