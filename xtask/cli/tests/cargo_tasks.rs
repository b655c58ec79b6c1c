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

/// Runs `run <args> --continue --summarize` and returns task id → status.
fn statuses(fx: &Fixture, args: &[&str]) -> (BTreeMap<String, String>, String) {
    let summary = fx.path("turbo-cache/s.json");
    let mut full = vec!["run"];
    full.extend_from_slice(args);
    let summarize = format!("--summarize={}", summary.display());
    full.extend_from_slice(&["--continue", &summarize]);
    let output = fx
        .command(&full)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let map = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task-id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (map, text(&output))
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
        3,
        "one clippy invocation, echoed in each member's log:\n{out}"
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
        out.contains("tool#check: its dependency good failed to build"),
        "{out}"
    );
}
