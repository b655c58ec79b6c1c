//! Every configuration error as a person reads it: one small fixture per
//! message, the whole text snapshotted (the fixture's directory shown as
//! `[ROOT]`). `UPDATE_EXPECT=1 cargo test -p xtask-config` rewrites them.

use expect_test::{Expect, expect};
use xtask_config::Pipeline;
use xtask_graph::{Package, PackageGraph};

/// The root manifest's head: a workspace of the members under `crates/`.
const WORKSPACE: &str = "[workspace]\nmembers = [\"crates/*\"]\n\n";

/// Writes `files` (`--- path` then the content) into a temp dir, builds the
/// package graph cargo would report for it (a member per
/// `crates/<name>/Cargo.toml` section), loads the configuration and compares
/// the error with `expected`.
fn check(files: &str, expected: Expect) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let mut packages = Vec::new();
    for section in files.split("--- ").filter(|s| !s.trim().is_empty()) {
        let (path, content) = section.split_once('\n').unwrap();
        let target = root.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, content).unwrap();
        if let Some(member) = path.strip_suffix("/Cargo.toml") {
            packages.push(package(member, content));
        }
    }
    // A member whose manifest vanished after cargo read it.
    if files.contains("--- missing") {
        let mut gone = package("crates/gone", "[package.metadata.xtask]");
        gone.name = "gone".into();
        packages.push(gone);
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let graph = PackageGraph {
        root: root.clone(),
        target_dir: root.join("target"),
        packages,
    };
    let error = Pipeline::load(&graph).expect_err("the configuration is refused");
    // As the command line shows it: the message, then each cause.
    let mut shown = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        shown.push_str(&format!("\n  caused by: {inner}"));
        cause = inner.source();
    }
    let shown = shown.replace(&root.display().to_string(), "[ROOT]");
    expected.assert_eq(&shown);
}

fn package(dir: &str, manifest: &str) -> Package {
    let name = manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .map_or_else(
            || dir.rsplit('/').next().unwrap().to_string(),
            |n| n.trim_end_matches('"').to_string(),
        );
    Package {
        name,
        version: "0.1.0".into(),
        dir: dir.into(),
        manifest: format!("{dir}/Cargo.toml"),
        dependencies: Vec::new(),
        binaries: Vec::new(),
        has_library: true,
        has_xtask_metadata: manifest.contains("[package.metadata.xtask"),
        features: Default::default(),
        declared_dependencies: Vec::new(),
    }
}

/// A root manifest: the workspace head, then `xtask` (our tables).
fn root(xtask: &str) -> String {
    format!(
        "--- Cargo.toml\n{WORKSPACE}{xtask}\n--- crates/a/Cargo.toml\n[package]\nname = \"a\"\n"
    )
}

#[test]
fn unknown_key_lists_the_known_ones() {
    check(
        &root("[workspace.metadata.xtask.tasks.check]\ncommand = \"true\"\noutptus = []"),
        expect![[r#"
            failed to parse [ROOT]/Cargo.toml: TOML parse error at line 6, column 1
              |
            6 | outptus = []
              | ^^^^^^^
            unknown field `outptus`, expected one of `command`, `depends-on`, `inputs`, `outputs`, `env`, `pass-env`, `cache`, `persistent`, `args`, `profile`, `features`
            hint: fix the line shown above; the keys of [workspace.metadata.xtask] are listed in README.md#configuration"#]],
    );
}

#[test]
fn malformed_toml() {
    check(
        &root("[workspace.metadata.xtask.tasks.check]\ncommand = \"true"),
        expect![[r#"
            failed to parse [ROOT]/Cargo.toml: TOML parse error at line 5, column 16
              |
            5 | command = "true
              |                ^
            invalid basic string, expected `"`
            hint: fix the line shown above; the keys of [workspace.metadata.xtask] are listed in README.md#configuration"#]],
    );
}

#[test]
fn unknown_task_in_depends_on_with_a_suggestion() {
    check(
        &root(
            "[workspace.metadata.xtask.tasks.check]\ncommand = \"true\"\ndepends-on = [\"^chek\"]",
        ),
        expect![[r#"
            [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.depends-on`: unknown task `chek` in `^chek`
            hint: did you mean `check`?"#]],
    );
}

#[test]
fn unknown_task_in_depends_on_lists_the_known_ones() {
    check(
        &root(
            "[workspace.metadata.xtask.tasks.check]\ncommand = \"true\"\ndepends-on = [\"deploy\"]",
        ),
        expect![[r#"
            [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.depends-on`: unknown task `deploy` in `deploy`
            hint: define [workspace.metadata.xtask.tasks.deploy] or remove `deploy`; known tasks: build, check, lint, test"#]],
    );
}

#[test]
fn dependency_naming_no_task() {
    check(
        &root("[workspace.metadata.xtask.tasks.check]\ncommand = \"true\"\ndepends-on = [\"^\"]"),
        expect![[r#"
            [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.depends-on`: `^` names no task
            hint: write `^task` (the task in dependencies), `task` (same package) or `package#task`"#]],
    );
}

#[test]
fn unknown_package_in_depends_on() {
    check(
        &root(
            "[workspace.metadata.xtask.tasks.check]\ncommand = \"true\"\ndepends-on = [\"b#check\"]",
        ),
        expect![[r#"
            [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.depends-on`: unknown package `b` in `b#check`
            hint: did you mean `a`?"#]],
    );
}

#[test]
fn bad_globs() {
    let glob = |key: &str, value: &str| {
        root(&format!(
            "[workspace.metadata.xtask.tasks.check]\ncommand = \"true\"\n{key} = [\"{value}\"]"
        ))
    };
    check(
        &glob("outputs", "out/[a"),
        expect![[r#"
        [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.outputs`: bad glob `out/[a`: unclosed character class; missing ']'
        hint: write a pattern relative to the package directory (or start it with `$TURBO_ROOT$/` for the workspace root), for example "src/**/*.rs""#]],
    );
    check(
        &glob("inputs", "/etc/passwd"),
        expect![[r#"
        [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.inputs`: bad glob `/etc/passwd`: absolute paths are not allowed
        hint: write a pattern relative to the package directory (or start it with `$TURBO_ROOT$/` for the workspace root), for example "src/**/*.rs""#]],
    );
    check(
        &glob("inputs", "!$TURBO_ROOT$/../x"),
        expect![[r#"
        [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.inputs`: bad glob `!$TURBO_ROOT$/../x`: `..` is not allowed
        hint: write a pattern relative to the package directory (or start it with `$TURBO_ROOT$/` for the workspace root), for example "src/**/*.rs""#]],
    );
    check(
        &glob("outputs", ""),
        expect![[r#"
        [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.outputs`: bad glob ``: the pattern is empty
        hint: write a pattern relative to the package directory (or start it with `$TURBO_ROOT$/` for the workspace root), for example "src/**/*.rs""#]],
    );
    check(
        &root("[workspace.metadata.xtask]\nglobal-inputs = [\"!\"]"),
        expect![[r#"
            [ROOT]/Cargo.toml:5: `workspace.metadata.xtask.global-inputs`: bad glob `!`: the pattern is empty
            hint: write a pattern relative to the package directory (or start it with `$TURBO_ROOT$/` for the workspace root), for example "src/**/*.rs""#]],
    );
}

#[test]
fn bad_env_names() {
    check(
        &root("[workspace.metadata.xtask.tasks.check]\ncommand = \"true\"\nenv = [\"$MODE\"]"),
        expect![[r#"
            [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.env`: `$MODE` is not an environment variable name
            hint: write the variable's name only (letters, digits, `_`; `*` as a wildcard), without `$` or a value"#]],
    );
    check(
        &root("[workspace.metadata.xtask]\nglobal-env = [\"1ST\"]"),
        expect![[r#"
            [ROOT]/Cargo.toml:5: `workspace.metadata.xtask.global-env`: `1ST` is not an environment variable name
            hint: write the variable's name only (letters, digits, `_`; `*` as a wildcard), without `$` or a value"#]],
    );
}

#[test]
fn bad_task_name() {
    check(
        &root("[workspace.metadata.xtask.tasks.\"a b\"]\ncommand = \"true\""),
        expect![[r#"
            [ROOT]/Cargo.toml:4: `workspace.metadata.xtask.tasks.a b`: `a b` is not a valid task name
            hint: task names may not be empty or contain `#`, `^` or spaces"#]],
    );
}

#[test]
fn empty_command_names_its_line() {
    check(
        &root("[workspace.metadata.xtask.tasks.check]\ndepends-on = []\ncommand = \"  \""),
        expect![[r#"
            [ROOT]/Cargo.toml:6: `workspace.metadata.xtask.tasks.check.command`: the command is empty
            hint: write the shell command to run, or remove the key"#]],
    );
}

#[test]
fn cargo_settings_on_a_shell_task_name_the_tasks_line() {
    check(
        &root("[workspace.metadata.xtask.tasks.gen]\ncommand = \"make\"\nprofile = \"dev\""),
        expect![[r#"
            [ROOT]/Cargo.toml:4: `workspace.metadata.xtask.tasks.gen`: `args`, `profile` and `features` apply to the built-in cargo tasks only
            hint: use them on build, check, lint or test without a `command`; put flags of a shell task in its command"#]],
    );
    check(
        &root("[workspace.metadata.xtask.tasks.other]\nargs = [\"--all\"]"),
        expect![[r#"
            [ROOT]/Cargo.toml:4: `workspace.metadata.xtask.tasks.other`: `args`, `profile` and `features` apply to the built-in cargo tasks only
            hint: use them on build, check, lint or test without a `command`; put flags of a shell task in its command"#]],
    );
}

#[test]
fn bad_env_mode() {
    check(
        &root("[workspace.metadata.xtask]\nenv-mode = \"lax\""),
        expect![[r#"
            [ROOT]/Cargo.toml:5: `workspace.metadata.xtask.env-mode`: unknown mode `lax`
            hint: use "strict" (only declared variables reach tasks) or "loose" (all of them)"#]],
    );
}

#[test]
fn bad_cache_units() {
    check(
        &root("[workspace.metadata.xtask.cache]\nmax-size = \"lots\""),
        expect![[r#"
            [ROOT]/Cargo.toml:5: `workspace.metadata.xtask.cache.max-size`: `lots` is not a size
            hint: write a size such as "500MB", "1.5GiB" or "10GiB" (a bare number is bytes)"#]],
    );
    check(
        &root("[workspace.metadata.xtask.cache]\nmax-age = \"forever\""),
        expect![[r#"
            [ROOT]/Cargo.toml:5: `workspace.metadata.xtask.cache.max-age`: `forever` is not an age
            hint: write a duration such as "30s", "250ms", "2m", "1.5h" or "14d" (a bare number is seconds)"#]],
    );
}

#[test]
fn mistakes_in_a_member_name_its_manifest() {
    check(
        &format!(
            "--- Cargo.toml\n{WORKSPACE}--- crates/a/Cargo.toml\n[package]\nname = \"a\"\n\n[package.metadata.xtask.tasks.check]\ncommand = \"\"\n"
        ),
        expect![[r#"
            [ROOT]/crates/a/Cargo.toml:5: `package.metadata.xtask.tasks.check.command`: the command is empty
            hint: write the shell command to run, or remove the key"#]],
    );
}

#[test]
fn unreadable_member_manifest() {
    check(
        &format!("--- Cargo.toml\n{WORKSPACE}--- missing\n"),
        expect![[r#"
            failed to read [ROOT]/crates/gone/Cargo.toml
              caused by: No such file or directory (os error 2)"#]],
    );
}
