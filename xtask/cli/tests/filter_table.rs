//! `--filter` as Turborepo means it, checked as data: `data/filters.txt` is a
//! table of cases (arguments → selected packages, warning or error) on a
//! fixture with nested directories and a scripted git history, each case run
//! through the real binary (`run noop … --dry-run=json`).

mod support;

use std::collections::BTreeSet;

use support::{Fixture, text};

const CASES: &str = include_str!("data/filters.txt");

const NESTED: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["libs/core", "libs/util", "libs/net/http", "apps/*", "tools/gen"]

[workspace.metadata.xtask.tasks.noop]
command = "true"
--- .gitignore
/target
/turbo-cache
Cargo.lock
*.log
--- README.md
A fixture.
--- libs/core/Cargo.toml
[package]
name = "core"
version = "0.1.0"
edition = "2021"
--- libs/core/src/lib.rs
pub fn core() {}
--- libs/util/Cargo.toml
[package]
name = "util"
version = "0.1.0"
edition = "2021"
[dependencies]
core = { path = "../core" }
--- libs/util/src/lib.rs
pub fn util() {}
--- libs/net/http/Cargo.toml
[package]
name = "http"
version = "0.1.0"
edition = "2021"
[dependencies]
util = { path = "../../util" }
--- libs/net/http/src/lib.rs
pub fn http() {}
--- apps/api/Cargo.toml
[package]
name = "api"
version = "0.1.0"
edition = "2021"
[dependencies]
http = { path = "../../libs/net/http" }
--- apps/api/src/lib.rs
pub fn api() {}
--- apps/web/Cargo.toml
[package]
name = "web"
version = "0.1.0"
edition = "2021"
[dependencies]
util = { path = "../../libs/util" }
--- apps/web/src/lib.rs
pub fn web() {}
--- tools/gen/Cargo.toml
[package]
name = "gen"
version = "0.1.0"
edition = "2021"
--- tools/gen/src/lib.rs
pub fn gen() {}
"#;

/// The history the table's header describes.
fn fixture() -> Fixture {
    let fx = Fixture::new(NESTED);
    let commit = |message: &str| {
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
    };
    fx.git(&["tag", "v0"]);
    fx.git(&["checkout", "-q", "-b", "feature"]);
    fx.write("libs/net/http/src/lib.rs", "pub fn http() { /* C1 */ }\n");
    commit("C1 http");
    fx.git(&["tag", "v1"]);
    fx.write("tools/gen/src/lib.rs", "pub fn gen() { /* C2 */ }\n");
    fx.write("README.md", "A fixture, edited.\n");
    commit("C2 gen and readme");
    fx.git(&["checkout", "-q", "main"]);
    fx.write("apps/web/src/lib.rs", "pub fn web() { /* C3 */ }\n");
    commit("C3 web");
    fx.git(&["checkout", "-q", "-b", "manifest", "v0"]);
    fx.write(
        "Cargo.toml",
        &format!(
            "{}\n[profile.release]\nopt-level = 2\n",
            fx.read("Cargo.toml")
        ),
    );
    commit("C4 root manifest");
    fx.git(&["checkout", "-q", "feature"]);
    fx.write("apps/api/src/lib.rs", "pub fn api() { /* edited */ }\n");
    fx.write("tools/gen/src/new.rs", "// untracked\n");
    fx.write("libs/core/debug.log", "ignored\n");
    fx
}

/// One line of the table.
struct Case<'a> {
    line: usize,
    args: Vec<&'a str>,
    packages: BTreeSet<&'a str>,
    warning: Option<&'a str>,
    error: Option<&'a str>,
}

fn cases() -> Vec<Case<'static>> {
    let mut cases = Vec::new();
    for (n, line) in CASES.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (args, expected) = line
            .split_once("=>")
            .unwrap_or_else(|| panic!("data/filters.txt:{}: no `=>`", n + 1));
        let expected = expected.trim();
        let (error, rest) = match expected.split_once("error: ") {
            Some((before, error)) => (Some(error.trim()), before),
            None => (None, expected),
        };
        let (packages, warning) = match rest.split_once("warning: ") {
            Some((packages, warning)) => (packages, Some(warning.trim())),
            None => (rest, None),
        };
        cases.push(Case {
            line: n + 1,
            args: args.split_whitespace().collect(),
            packages: packages.split_whitespace().filter(|p| *p != "-").collect(),
            warning,
            error,
        });
    }
    cases
}

#[test]
fn filter_cases_select_what_the_table_says() {
    let fx = fixture();
    let cases = cases();
    assert!(cases.len() >= 40, "the table has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let mut args = vec!["run", "noop", "--dry-run=json"];
        args.extend(&case.args);
        let output = fx.xtask(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let at = format!("data/filters.txt:{} ({})", case.line, case.args.join(" "));
        if let Some(error) = case.error {
            if output.status.code() != Some(2) || !stderr.contains(error) {
                failures.push(format!(
                    "{at}: expected exit 2 with `{error}`, got:\n{}",
                    text(&output)
                ));
            }
            continue;
        }
        if !output.status.success() {
            failures.push(format!("{at}: failed:\n{}", text(&output)));
            continue;
        }
        let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let selected: BTreeSet<&str> = plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["package"].as_str().unwrap())
            .collect();
        if selected != case.packages {
            failures.push(format!(
                "{at}: selected {selected:?}, expected {:?}",
                case.packages
            ));
        }
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("warning:"))
            .collect();
        match case.warning {
            Some(warning) if !warnings.iter().any(|w| w.contains(warning)) => failures.push(
                format!("{at}: expected a warning with `{warning}`, got:\n{stderr}"),
            ),
            None if !warnings.is_empty() => {
                failures.push(format!("{at}: unexpected warnings:\n{stderr}"))
            }
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
