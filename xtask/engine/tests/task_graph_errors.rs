//! The configuration errors only the task graph can find (a cycle, a task
//! the command line or a dependency names that does not apply, a persistent
//! dependency), as a person reads them: the whole text snapshotted, the
//! fixture's directory shown as `[ROOT]`. `UPDATE_EXPECT=1` rewrites them.

use expect_test::{Expect, expect};
use xtask_config::Pipeline;
use xtask_engine::TaskGraph;
use xtask_graph::{DepKind, Dependency, Package, PackageGraph};

/// Packages `a` and `b` (b depends on a), the root manifest holding
/// `tables`; builds the task graph of `tasks` over both and compares the error.
fn check(tables: &str, tasks: &[&str], expected: Expect) {
    check_with_a(tables, "", tasks, expected);
}

/// As `check`, with `a_tables` in package a's manifest.
fn check_with_a(tables: &str, a_tables: &str, tasks: &[&str], expected: Expect) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let manifest = format!("[workspace]\nmembers = [\"crates/*\"]\n\n{tables}\n");
    std::fs::write(root.join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir_all(root.join("crates/a")).unwrap();
    let a_manifest = format!("[package]\nname = \"a\"\n\n{a_tables}\n");
    std::fs::write(root.join("crates/a/Cargo.toml"), a_manifest).unwrap();
    let package = |name: &str, dependencies: Vec<Dependency>| Package {
        name: name.into(),
        version: "0.1.0".into(),
        dir: format!("crates/{name}"),
        manifest: format!("crates/{name}/Cargo.toml"),
        dependencies,
        binaries: Vec::new(),
        has_library: true,
        has_xtask_metadata: name == "a" && !a_tables.is_empty(),
        features: Default::default(),
        declared_dependencies: Vec::new(),
    };
    let on_a = Dependency {
        package: 0,
        kind: DepKind::Normal,
    };
    let graph = PackageGraph {
        root: root.clone(),
        target_dir: root.join("target"),
        packages: vec![package("a", Vec::new()), package("b", vec![on_a])],
    };
    let pipeline = Pipeline::load(&graph).expect("the configuration itself is valid");
    let tasks: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
    let Err(error) = TaskGraph::build(&graph, &pipeline, &tasks, &[0, 1]) else {
        panic!("the task graph is refused");
    };
    let shown = error
        .to_string()
        .replace(&root.display().to_string(), "[ROOT]");
    expected.assert_eq(&shown);
}

#[test]
fn unknown_task_on_the_command_line() {
    check(
        "[workspace.metadata.xtask.tasks.gen]\ncommand = \"true\"",
        &["deploy"],
        expect![[r#"
            unknown task `deploy`
            hint: known tasks are build, check, gen, lint, test; define new ones in [workspace.metadata.xtask.tasks.<name>]"#]],
    );
}

#[test]
fn cycle() {
    check(
        "[workspace.metadata.xtask.tasks.gen]\ncommand = \"true\"\ndepends-on = [\"docs\"]\n\n[workspace.metadata.xtask.tasks.docs]\ncommand = \"true\"\ndepends-on = [\"gen\"]",
        &["gen"],
        expect![[r#"
            task dependency cycle: a#gen -> a#docs -> a#gen
            hint: each task depends on the next; remove one of these `depends-on` entries from [workspace.metadata.xtask.tasks.<task>] in [ROOT]/Cargo.toml (or from a package's [package.metadata.xtask.tasks.<task>])"#]],
    );
}

#[test]
fn named_task_the_package_does_not_define() {
    // `gen-a` is a known task (package a defines it), but not b's.
    check_with_a(
        "[workspace.metadata.xtask.tasks.docs]\ncommand = \"true\"\ndepends-on = [\"b#gen-a\"]",
        "[package.metadata.xtask.tasks.gen-a]\ncommand = \"true\"",
        &["docs"],
        expect![[r#"
            a#docs depends on `gen-a`, which package `b` does not define
            hint: define it in [package.metadata.xtask.tasks.gen-a] of b, or in [workspace.metadata.xtask.tasks.gen-a]"#]],
    );
}

#[test]
fn persistent_dependency() {
    check(
        "[workspace.metadata.xtask.tasks.serve]\ncommand = \"serve\"\npersistent = true\n\n[workspace.metadata.xtask.tasks.e2e]\ncommand = \"true\"\ndepends-on = [\"serve\"]",
        &["e2e"],
        expect![[r#"
            a#e2e depends on a#serve, a persistent task, which never finishes
            hint: remove it from `depends-on`, or set `persistent = false`"#]],
    );
}
