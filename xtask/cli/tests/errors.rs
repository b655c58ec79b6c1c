//! Bad input gets a clear error naming the file, the line or key, and the fix;
//! exit code 2; never a panic.

mod support;

use support::{CHAIN, Fixture, text};

fn fails_with(fx: &Fixture, args: &[&str], expected: &[&str]) -> String {
    let output = fx.xtask(args);
    let out = text(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code 2 for {args:?}:\n{out}"
    );
    assert!(!out.contains("panicked"), "{out}");
    for piece in expected {
        assert!(out.contains(piece), "expected `{piece}` in:\n{out}");
    }
    out
}

fn with_manifest(edit: impl Fn(&str) -> String) -> Fixture {
    let fx = Fixture::new(CHAIN);
    let manifest = edit(&fx.read("Cargo.toml"));
    fx.write("Cargo.toml", &manifest);
    fx
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let fx = with_manifest(|m| {
        m.replace(
            "outputs = [\".check.out\"]",
            "outputs = [\".check.out\"]\noutptus = []",
        )
    });
    fails_with(
        &fx,
        &["run", "check"],
        &[
            "Cargo.toml",
            "line 12",
            "unknown field `outptus`",
            "expected one of",
            "`outputs`",
            "hint:",
        ],
    );
}

#[test]
fn malformed_toml_names_the_line() {
    let fx = with_manifest(|m| m.replace("command = \"echo other\"", "command = \"echo other"));
    fails_with(
        &fx,
        &["run", "check"],
        &["Cargo.toml:15", "invalid basic string"],
    );
}

#[test]
fn unknown_task_in_depends_on_suggests_the_near_one() {
    let fx = with_manifest(|m| m.replace("depends-on = [\"^check\"]", "depends-on = [\"^chek\"]"));
    fails_with(
        &fx,
        &["run", "check"],
        &[
            "Cargo.toml:10",
            "workspace.metadata.xtask.tasks.check.depends-on",
            "unknown task `chek`",
            "did you mean `check`?",
        ],
    );
}

#[test]
fn unknown_package_in_depends_on() {
    let fx =
        with_manifest(|m| m.replace("depends-on = [\"^check\"]", "depends-on = [\"zzz#check\"]"));
    fails_with(
        &fx,
        &["run", "check"],
        &["Cargo.toml:10", "unknown package `zzz`"],
    );
}

#[test]
fn bad_glob_names_the_key() {
    let fx = with_manifest(|m| m.replace("outputs = [\".check.out\"]", "outputs = [\"out/[a\"]"));
    fails_with(
        &fx,
        &["run", "check"],
        &[
            "Cargo.toml:11",
            "tasks.check.outputs",
            "bad glob `out/[a`",
            "hint:",
        ],
    );
}

#[test]
fn bad_env_name() {
    let fx = with_manifest(|m| m.replace("env = [\"CHECK_MODE\"]", "env = [\"$CHECK_MODE\"]"));
    fails_with(
        &fx,
        &["run", "check"],
        &["Cargo.toml:12", "is not an environment variable name"],
    );
}

#[test]
fn task_cycle_is_printed() {
    let fx = with_manifest(|m| {
        m.replace(
            "command = \"echo other\"",
            "command = \"echo other\"\ndepends-on = [\"check\"]",
        )
        .replace(
            "depends-on = [\"^check\"]",
            "depends-on = [\"^check\", \"other\"]",
        )
    });
    let out = fails_with(
        &fx,
        &["run", "check"],
        &[
            "task dependency cycle:",
            "hint:",
            "Cargo.toml",
            "depends-on",
        ],
    );
    assert!(
        out.contains("a#check -> a#other -> a#check")
            || out.contains("a#other -> a#check -> a#other"),
        "{out}"
    );
}

#[test]
fn broken_member_manifest_shows_cargo_error() {
    let fx = Fixture::new(CHAIN);
    fx.write(
        "crates/b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \n",
    );
    fails_with(
        &fx,
        &["run", "check"],
        &["cargo metadata", "crates/b/Cargo.toml"],
    );
}

#[test]
fn unknown_task_on_the_command_line() {
    let fx = Fixture::new(CHAIN);
    fails_with(
        &fx,
        &["run", "deploy-everything"],
        &["unknown task `deploy-everything`", "known tasks are"],
    );
}

#[test]
fn bad_cache_limit() {
    let fx =
        with_manifest(|m| format!("{m}\n[workspace.metadata.xtask.cache]\nmax-size = \"lots\"\n"));
    fails_with(
        &fx,
        &["run", "check"],
        &["cache.max-size", "`lots` is not a size", "10GiB"],
    );
}

#[test]
fn not_a_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["run", "build"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("no Cargo.toml found"),
        "{}",
        text(&output)
    );
}
