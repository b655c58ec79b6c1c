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
    fixture.git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "link",
    ]);
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
    let all: Vec<String> = vec!["build".into(), "lint".into()];
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
