//! `cargo xtask release` end to end: scripted histories in real git
//! repositories, the real binary, snapshots of the plan and the changelogs.

#[path = "release/fixture.rs"]
mod fixture;

use expect_test::expect;
use fixture::{Repo, external_tool};

/// Six packages: `web` depends on `base`, `tool` on `web` (0.x), `left` and
/// `right` share `workspace.package.version`, `right` dev-depends on `base`,
/// `quiet` stands alone. Root files (rustfmt.toml, workspace lints) belong to
/// no package.
const MONO: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.package]
version = "0.3.1" # left and right move together
edition = "2021"

[workspace.lints.rust]
unsafe_code = "forbid"
--- .gitignore
/target
/turbo-cache
--- rustfmt.toml
max_width = 100
--- crates/base/Cargo.toml
[package]
name = "base"
version = "1.2.0"
edition = "2021"
--- crates/base/src/lib.rs
pub fn base() {}
--- crates/web/Cargo.toml
[package]
name = "web"
version = "2.0.0"
edition = "2021"

[dependencies]
base = { path = "../base", version = "1.2" } # keep this comment
--- crates/web/src/lib.rs
pub fn web() {}
--- crates/tool/Cargo.toml
[package]
name = "tool"
version = "0.4.0"
edition = "2021"

[dependencies]
web = { path = "../web", version = "2" }
--- crates/tool/src/lib.rs
pub fn tool() {}
--- crates/left/Cargo.toml
[package]
name = "left"
version.workspace = true
edition.workspace = true
--- crates/left/src/lib.rs
pub fn left() {}
--- crates/right/Cargo.toml
[package]
name = "right"
version.workspace = true
edition.workspace = true

[dev-dependencies]
base = { path = "../base", version = "1" }
--- crates/right/src/lib.rs
pub fn right() {}
--- crates/right/README.md
right
--- crates/quiet/Cargo.toml
[package]
name = "quiet"
version = "0.1.0"
edition = "2021"
--- crates/quiet/src/lib.rs
pub fn quiet() {}
"#;

/// MONO with its first releases tagged, then a history of every kind of
/// commit the plan must tell apart.
fn mono_with_history() -> Repo {
    let repo = Repo::new(MONO);
    for tag in [
        "base-v1.2.0",
        "web-v2.0.0",
        "tool-v0.4.0",
        "left-v0.3.1",
        "right-v0.3.1",
        "quiet-v0.1.0",
    ] {
        repo.git(&["tag", tag]);
    }
    repo.git(&[
        "remote",
        "add",
        "origin",
        "https://x-access-token:SECRET-TOKEN@github.com/acme/mono.git",
    ]);
    repo.commit(
        "Ann Author",
        "feat(base): add parse_strict\n\nCloses #12",
        &["crates/base/src/lib.rs"],
    );
    repo.git(&["switch", "-q", "-c", "fix-empty"]);
    repo.commit(
        "Bo Builder",
        "fix(base): handle empty input (#15)",
        &["crates/base/src/lib.rs"],
    );
    repo.git(&["switch", "-q", "main"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "fix-empty",
        "-m",
        "Merge branch 'fix-empty'",
    ]);
    repo.commit(
        "Ann Author",
        "feat(base)!: rename Config to Settings\n\nBREAKING CHANGE: `Config` is now `Settings`.\n\nCo-authored-by: Cy Coder <cy@example.com>",
        &["crates/base/src/lib.rs"],
    );
    repo.commit(
        "Bo Builder",
        "feat(tool): add --json",
        &["crates/tool/src/lib.rs"],
    );
    repo.commit(
        "Ann Author",
        "feat(left): add x",
        &["crates/left/src/lib.rs"],
    );
    repo.git(&["revert", "--no-edit", "HEAD"]);
    repo.commit(
        "Bo Builder",
        "update the right readme",
        &["crates/right/README.md"],
    );
    repo.commit(
        "Ann Author",
        "chore: format with max_width 100",
        &["rustfmt.toml", "Cargo.toml"],
    );
    repo.commit(
        "Ann Author",
        "docs(quiet): fix a typo",
        &["crates/quiet/src/lib.rs"],
    );
    repo.commit(
        "Bo Builder",
        "perf(web): cache the index <fast>",
        &["crates/web/src/lib.rs"],
    );
    repo
}

#[test]
fn plan_for_a_scripted_history() {
    let repo = mono_with_history();
    let plan = repo.ok(&["release", "plan"]);
    expect![[r#"
        release plan on main: 5 of 6 package(s) to release

        base 1.2.0 → 2.0.0 (major)  tag base-v2.0.0, since base-v1.2.0
            why: 3 commits that bump, the strongest: breaking
            feat     <c1>  feat(base): add parse_strict
            fix      <c2>  fix(base): handle empty input (#15)
            breaking <c4>  feat(base)!: rename Config to Settings

        left 0.3.1 → 0.3.2 (patch)  tag left-v0.3.2, since left-v0.3.1
            why: workspace.package.version is shared with right
            feat     <c6>  feat(left): add x  [reverted in this release: not counted]
            revert   <c7>  revert: feat(left): add x  [reverted in this release: not counted]

        right 0.3.1 → 0.3.2 (patch)  tag right-v0.3.2, since right-v0.3.1
            why: 1 commit that bumps, the strongest: fix
            other    <c8>  update the right readme  [not conventional: counted as a fix]

        tool 0.4.0 → 0.5.0 (minor)  tag tool-v0.5.0, since tool-v0.4.0
            why: 1 commit that bumps, the strongest: feature
            why: dependency web 2.0.0 → 3.0.0 (breaking)
            feat     <c5>  feat(tool): add --json

        web 2.0.0 → 3.0.0 (major)  tag web-v3.0.0, since web-v2.0.0
            why: 1 commit that bumps, the strongest: fix
            why: dependency base 1.2.0 → 2.0.0 (breaking)
            perf     <c11>  perf(web): cache the index <fast>

        quiet 0.1.0: nothing to release (1 commit since quiet-v0.1.0, none bumps)
            docs     <c10>  docs(quiet): fix a typo
    "#]]
    .assert_eq(&plan);

    let json: serde_json::Value =
        serde_json::from_str(&repo.ok(&["release", "plan", "--format", "json"])).unwrap();
    let next: Vec<(String, String)> = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["next_version"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let want = [
        ("base", "2.0.0"),
        ("left", "0.3.2"),
        ("quiet", "-"),
        ("right", "0.3.2"),
        ("tool", "0.5.0"),
        ("web", "3.0.0"),
    ];
    assert_eq!(next, want.map(|(a, b)| (a.to_string(), b.to_string())));
    // The token in the remote URL never reaches any output.
    assert!(!plan.contains("SECRET"));
}

#[test]
fn release_edits_manifests_lockfile_changelogs_and_tags() {
    let repo = mono_with_history();
    let out = repo.ok(&["release"]);
    assert!(
        out.contains("released base 2.0.0 (tag base-v2.0.0"),
        "{out}"
    );
    assert!(!out.contains("SECRET"));

    // Versions: own, inherited (the root manifest) and requirements, with
    // the files' comments and layout kept.
    assert!(
        repo.read("crates/base/Cargo.toml")
            .contains("version = \"2.0.0\"\n")
    );
    assert!(
        repo.read("Cargo.toml")
            .contains("version = \"0.3.2\" # left and right move together\n")
    );
    assert!(
        repo.read("crates/web/Cargo.toml")
            .contains("base = { path = \"../base\", version = \"2.0.0\" } # keep this comment\n")
    );
    assert!(
        repo.read("crates/tool/Cargo.toml")
            .contains("web = { path = \"../web\", version = \"3.0.0\" }\n")
    );
    assert!(
        repo.read("crates/right/Cargo.toml")
            .contains("base = { path = \"../base\", version = \"2.0.0\" }\n")
    );
    assert!(
        repo.read("crates/quiet/Cargo.toml")
            .contains("version = \"0.1.0\"")
    );
    let lock = repo.read("Cargo.lock");
    for (name, version) in [
        ("base", "2.0.0"),
        ("web", "3.0.0"),
        ("tool", "0.5.0"),
        ("left", "0.3.2"),
        ("right", "0.3.2"),
        ("quiet", "0.1.0"),
    ] {
        assert!(
            lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"\n")),
            "{name} {version} in\n{lock}"
        );
    }

    expect![[r#"
        # Changelog

        All notable changes are documented in this file. The format follows
        [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and versions follow
        [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

        ## [2.0.0](https://github.com/acme/mono/compare/base-v1.2.0...base-v2.0.0) - 2026-12-01

        ### Breaking changes

        - **base:** rename Config to Settings ([<c4>](https://github.com/acme/mono/commit/<c4:full>)) by Ann Author, Cy Coder
          `Config` is now `Settings`.

        ### Added

        - **base:** add parse_strict (closes [#12](https://github.com/acme/mono/issues/12)) ([<c1>](https://github.com/acme/mono/commit/<c1:full>)) by Ann Author

        ### Fixed

        - **base:** handle empty input ([#15](https://github.com/acme/mono/issues/15)) ([<c2>](https://github.com/acme/mono/commit/<c2:full>)) by Bo Builder
    "#]].assert_eq(&repo.filter_ids(&repo.read("crates/base/CHANGELOG.md")));
    expect![[r#"
        # Changelog

        All notable changes are documented in this file. The format follows
        [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and versions follow
        [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

        ## [3.0.0](https://github.com/acme/mono/compare/web-v2.0.0...web-v3.0.0) - 2026-12-01

        ### Performance

        - **web:** cache the index &lt;fast> ([<c11>](https://github.com/acme/mono/commit/<c11:full>)) by Bo Builder

        ### Dependencies

        - `base` updated to 2.0.0
    "#]].assert_eq(&repo.filter_ids(&repo.read("crates/web/CHANGELOG.md")));
    expect![[r#"
        # Changelog

        All notable changes are documented in this file. The format follows
        [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and versions follow
        [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

        ## 2026-12-01 - base 2.0.0, left 0.3.2, right 0.3.2, tool 0.5.0, web 3.0.0

        ### Breaking changes

        - `base`: rename Config to Settings ([<c4>](https://github.com/acme/mono/commit/<c4:full>)) by Ann Author, Cy Coder
          `Config` is now `Settings`.

        ### Added

        - `base`: add parse_strict (closes [#12](https://github.com/acme/mono/issues/12)) ([<c1>](https://github.com/acme/mono/commit/<c1:full>)) by Ann Author
        - `tool`: add --json ([<c5>](https://github.com/acme/mono/commit/<c5:full>)) by Bo Builder

        ### Fixed

        - `base`: handle empty input ([#15](https://github.com/acme/mono/issues/15)) ([<c2>](https://github.com/acme/mono/commit/<c2:full>)) by Bo Builder

        ### Performance

        - `web`: cache the index &lt;fast> ([<c11>](https://github.com/acme/mono/commit/<c11:full>)) by Bo Builder

        ### Other

        - `right`: update the right readme ([<c8>](https://github.com/acme/mono/commit/<c8:full>)) by Bo Builder
    "#]].assert_eq(&repo.filter_ids(&repo.read("CHANGELOG.md")));
    expect![[r#"
        # Changelog

        All notable changes are documented in this file. The format follows
        [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and versions follow
        [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

        ## [0.3.2](https://github.com/acme/mono/compare/left-v0.3.1...left-v0.3.2) - 2026-12-01

        Released with `right` (they share `workspace.package.version`); no changes of its own.
    "#]]
    .assert_eq(&repo.read("crates/left/CHANGELOG.md"));
    assert!(!repo.path("crates/quiet/CHANGELOG.md").exists());

    // One commit, a chore, so the next plan finds nothing to release.
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]),
        "chore(release): base 2.0.0, left 0.3.2, right 0.3.2, tool 0.5.0, web 3.0.0"
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert_eq!(repo.tags().len(), 11);
    assert_eq!(
        repo.git(&["tag", "--points-at", "HEAD"])
            .lines()
            .collect::<Vec<_>>(),
        [
            "base-v2.0.0",
            "left-v0.3.2",
            "right-v0.3.2",
            "tool-v0.5.0",
            "web-v3.0.0"
        ]
    );
    let again = repo.ok(&["release", "plan"]);
    assert!(
        again.starts_with("release plan on main: 0 of 6 package(s) to release\n"),
        "{again}"
    );

    // The notes and the record live in the tag.
    expect![[r#"
        ### Breaking changes

        - **base:** rename Config to Settings ([<c4>](https://github.com/acme/mono/commit/<c4:full>)) by Ann Author, Cy Coder
          `Config` is now `Settings`.

        ### Added

        - **base:** add parse_strict (closes [#12](https://github.com/acme/mono/issues/12)) ([<c1>](https://github.com/acme/mono/commit/<c1:full>)) by Ann Author

        ### Fixed

        - **base:** handle empty input ([#15](https://github.com/acme/mono/issues/15)) ([<c2>](https://github.com/acme/mono/commit/<c2:full>)) by Bo Builder
    "#]].assert_eq(&repo.ok(&["release", "notes", "base-v2.0.0"]));
    let message = repo.git(&[
        "for-each-ref",
        "--format=%(contents)",
        "refs/tags/web-v3.0.0",
    ]);
    let record_line = message
        .lines()
        .find(|l| l.starts_with("xtask-release-record: "))
        .unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&record_line["xtask-release-record: ".len()..]).unwrap();
    assert_eq!(record["package"], "web");
    assert_eq!(record["version"], "3.0.0");
    assert_eq!(record["tag"], "web-v3.0.0");
    assert_eq!(record["previous_tag"], "web-v2.0.0");
    assert_eq!(
        record["commit"].as_str().unwrap(),
        repo.git(&["rev-parse", "HEAD"])
    );
}

#[test]
fn dry_run_changes_nothing_and_says_what_it_would_do() {
    let repo = mono_with_history();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let out = repo.ok(&["release", "--dry-run"]);
    assert!(
        out.contains("dry run: would write CHANGELOG.md, Cargo.toml, crates/base/CHANGELOG.md"),
        "{out}"
    );
    assert!(out.contains("  tag web-v3.0.0\n"), "{out}");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert_eq!(repo.tags().len(), 6);
    let json: serde_json::Value =
        serde_json::from_str(&repo.ok(&["release", "--dry-run", "--format", "json"])).unwrap();
    assert_eq!(
        json["commit_message"],
        "chore(release): base 2.0.0, left 0.3.2, right 0.3.2, tool 0.5.0, web 3.0.0"
    );
}

#[test]
fn dependency_breaking_can_count_as_a_patch() {
    let repo = Repo::new(&MONO.replace(
        "[workspace.lints.rust]",
        "[workspace.metadata.xtask.release]\ndependency-breaking = \"patch\"\nnon-conventional = \"none\"\n\n[workspace.lints.rust]",
    ));
    for tag in [
        "base-v1.2.0",
        "web-v2.0.0",
        "tool-v0.4.0",
        "left-v0.3.1",
        "right-v0.3.1",
        "quiet-v0.1.0",
    ] {
        repo.git(&["tag", tag]);
    }
    repo.commit(
        "Ann Author",
        "feat(base)!: drop v1",
        &["crates/base/src/lib.rs"],
    );
    repo.commit(
        "Ann Author",
        "tidy the right readme",
        &["crates/right/README.md"],
    );
    let plan = repo.ok(&["release", "plan"]);
    assert!(plan.contains("web 2.0.0 → 2.0.1 (patch)"), "{plan}");
    assert!(plan.contains("tool 0.4.0 → 0.4.1 (patch)"), "{plan}");
    assert!(plan.contains("right 0.3.1: nothing to release"), "{plan}");
    assert!(
        plan.contains("[not conventional: counted as nothing]"),
        "{plan}"
    );
}

/// One package at the root: tags are `v<version>`.
const SINGLE: &str = r#"
--- Cargo.toml
[package]
name = "solo"
version = "1.0.0"
edition = "2021"
--- .gitignore
/target
/turbo-cache
--- src/lib.rs
pub fn solo() {}
"#;

#[test]
fn hotfix_from_a_release_branch_is_a_patch_on_that_branch() {
    let repo = Repo::new(SINGLE);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("Ann Author", "feat: a new thing", &["src/lib.rs"]);
    repo.ok(&["release"]);
    assert_eq!(repo.git(&["tag", "--points-at", "HEAD"]), "v1.1.0");

    repo.git(&["switch", "-q", "-c", "release/1.0", "v1.0.0"]);
    repo.commit("Bo Builder", "fix: crash on empty input", &["src/lib.rs"]);
    repo.commit("Bo Builder", "feat: backported option", &["src/lib.rs"]);
    let plan = repo.ok(&["release", "plan"]);
    assert!(
        plan.contains("solo 1.0.0 → 1.0.1 (patch)  tag v1.0.1, since v1.0.0"),
        "{plan}"
    );
    assert!(
        plan.contains("why: hotfix branch: patch releases only (the commits ask for minor)"),
        "{plan}"
    );
    repo.ok(&["release"]);
    assert_eq!(repo.git(&["tag", "--points-at", "HEAD"]), "v1.0.1");
    let changelog = repo.read("CHANGELOG.md");
    assert!(changelog.contains("## [1.0.1] - 2026-12-01"), "{changelog}");
    assert!(
        !changelog.contains("a new thing"),
        "main's entry stays on main:\n{changelog}"
    );
    assert_eq!(
        repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]),
        "release/1.0"
    );
    repo.git(&["switch", "-q", "main"]);
    assert!(!repo.read("CHANGELOG.md").contains("1.0.1"));

    repo.git(&["switch", "-q", "release/1.0"]);
    repo.commit("Bo Builder", "fix!: change the default", &["src/lib.rs"]);
    let err = repo.fails(&["release"]);
    assert!(
        err.contains("is a breaking change, and release/1.0 takes patch releases only"),
        "{err}"
    );
}

#[test]
fn user_mistakes_are_clear_errors_with_exit_code_2() {
    let repo = Repo::new(SINGLE);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("Ann Author", "fix: one", &["src/lib.rs"]);

    repo.write("src/lib.rs", "changed");
    let err = repo.fails(&["release"]);
    assert!(
        err.contains("the working tree has changes: M src/lib.rs\nhint: commit or stash them"),
        "{err}"
    );
    assert!(
        repo.fails(&["release", "--dry-run"])
            .contains("the working tree has changes")
    );
    repo.git(&["checkout", "--", "src/lib.rs"]);

    repo.git(&["checkout", "-q", "--detach", "HEAD"]);
    let err = repo.fails(&["release"]);
    assert!(
        err.contains("HEAD is detached") && err.contains("git switch main"),
        "{err}"
    );
    // A preview works anywhere.
    assert!(repo.ok(&["release", "plan"]).contains("solo 1.0.0 → 1.0.1"));
    repo.git(&["switch", "-q", "-c", "feature"]);
    let err = repo.fails(&["release"]);
    assert!(
        err.contains(
            "releases are made from main or a release/x.y hotfix branch, and this is feature"
        ),
        "{err}"
    );
    repo.git(&["switch", "-q", "main"]);

    repo.git(&["tag", "v1.1.0"]);
    let err = repo.fails(&["release"]);
    assert!(
        err.contains("solo: Cargo.toml has version 1.0.0, older than its last release tag v1.1.0"),
        "{err}"
    );
    repo.git(&["tag", "-d", "v1.1.0"]);

    repo.git(&["switch", "-q", "-c", "other", "v1.0.0"]);
    repo.commit("Ann Author", "fix: elsewhere", &["src/lib.rs"]);
    repo.git(&["tag", "v1.0.1"]);
    repo.git(&["switch", "-q", "main"]);
    let err = repo.fails(&["release"]);
    assert!(
        err.contains("the release would be 1.0.1, but tag v1.0.1 exists already"),
        "{err}"
    );

    let err = repo.fails(&["release", "notes", "v9.9.9"]);
    assert!(err.contains("there is no annotated tag v9.9.9"), "{err}");
    repo.git(&[
        "tag",
        "-a",
        "-m",
        "hand-made\n\nxtask-release-record: {\"forged\": true}",
        "v0.0.1",
    ]);
    let err = repo.fails(&["release", "notes", "v0.0.1"]);
    assert!(
        err.contains("tag v0.0.1 has a release record this version cannot read"),
        "{err}"
    );
}

#[test]
fn missing_tag_history_and_shallow_clones_are_refused() {
    let repo = Repo::new(SINGLE);
    repo.write(
        "CHANGELOG.md",
        "# Changelog\n\n## [1.0.0] - 2026-10-01\n\n- first\n",
    );
    repo.commit_all("Ann Author", "docs: changelog");
    let err = repo.fails(&["release"]);
    assert!(
        err.contains("solo: CHANGELOG.md lists version 1.0.0, but no release tag of it is in this repository's history")
            && err.contains("git fetch --tags"),
        "{err}"
    );

    let shallow = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.root().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url, "."])
        .current_dir(shallow.path())
        .status()
        .unwrap();
    assert!(status.success());
    let output = repo
        .command(&["-C", shallow.path().to_str().unwrap(), "release", "plan"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("history is shallow") && err.contains("fetch-depth: 0"),
        "{err}"
    );
}

#[test]
fn push_sends_the_commit_and_tags() {
    let repo = Repo::new(SINGLE);
    let remote = tempfile::tempdir().unwrap();
    repo.git(&["init", "-q", "--bare", remote.path().to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["tag", "v1.0.0"]);
    repo.git(&["push", "-q", "origin", "main", "v1.0.0"]);
    repo.commit("Ann Author", "feat: pushed", &["src/lib.rs"]);
    repo.ok(&["release", "--push"]);
    let remote_git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(remote.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        remote_git(&["rev-parse", "main"]),
        repo.git(&["rev-parse", "HEAD"])
    );
    assert_eq!(remote_git(&["tag", "-l"]), "v1.0.0\nv1.1.0");
    // A local path has no web pages: the changelog has no links.
    assert!(!repo.read("CHANGELOG.md").contains("/commit/"));
}

/// Three publishable crates — `xr-app` depends on `xr-lib` and dev-depends
/// (with a version) on `xr-kit`, which depends on `xr-lib` — and one that is
/// `publish = false`. `REGISTRY` is replaced by the local registry's index,
/// `REGISTRY_KEY` by what makes dependencies come from it (or nothing).
const PUBLISHABLE: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
--- .cargo/config.toml
[registries.local]
index = "REGISTRY"
--- crates/app/Cargo.toml
[package]
name = "xr-app"
version = "0.2.0"
edition = "2021"
license = "MIT"
description = "a test crate"

[dependencies]
xr-lib = { path = "../lib", version = "1"REGISTRY_KEY }

[dev-dependencies]
xr-kit = { path = "../kit", version = "0.1"REGISTRY_KEY }
--- crates/app/src/lib.rs
pub fn app() {}
--- crates/kit/Cargo.toml
[package]
name = "xr-kit"
version = "0.1.0"
edition = "2021"
license = "MIT"
description = "a test crate"

[dependencies]
xr-lib = { path = "../lib", version = "1"REGISTRY_KEY }
--- crates/kit/src/lib.rs
pub fn kit() {}
--- crates/lib/Cargo.toml
[package]
name = "xr-lib"
version = "1.0.0"
edition = "2021"
license = "MIT"
description = "a test crate"
--- crates/lib/src/lib.rs
pub fn lib() {}
--- crates/internal/Cargo.toml
[package]
name = "xr-internal"
version = "0.1.0"
edition = "2021"
publish = false
--- crates/internal/src/lib.rs
pub fn internal() {}
"#;

/// A local registry server (cargo-http-registry, on 127.0.0.1), stopped on drop.
struct LocalRegistry {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl LocalRegistry {
    fn start(binary: &std::path::Path) -> LocalRegistry {
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(binary)
            .arg(dir.path())
            .arg("--addr")
            .arg("127.0.0.1:0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let registry = LocalRegistry { child, dir };
        let config = registry.dir.path().join("config.json");
        for _ in 0..100 {
            if std::fs::read_to_string(&config).is_ok_and(|c| c.contains("\"api\"")) {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("cargo-http-registry did not start");
    }

    fn index_url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn publish_dry_run_checks_every_publishable_package_in_order() {
    // crates.io: cargo's dry run overlays the unpublished workspace crates.
    let repo = Repo::new(
        &PUBLISHABLE
            .replace("REGISTRY_KEY", "")
            .replace("REGISTRY", "file:///unused"),
    );
    let output = repo.xtask(&["release", "--dry-run", "--publish"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let order: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("publish: "))
        .collect();
    assert_eq!(
        order,
        [
            "publish: xr-lib 1.0.0 (dry run)",
            "publish: xr-kit 0.1.0 (dry run)",
            "publish: xr-app 0.2.0 (dry run)"
        ],
        "{stderr}"
    );
    assert!(
        !stderr.contains("xr-internal 0.1.0 (dry run)"),
        "publish = false is never published"
    );
}

#[test]
fn publish_to_a_local_registry_resumes_after_a_partial_run() {
    let Some(server) = external_tool(
        "CARGO_HTTP_REGISTRY",
        "cargo-http-registry",
        "cargo install --locked cargo-http-registry",
    ) else {
        return;
    };
    let registry = LocalRegistry::start(&server);
    let repo = Repo::new(
        &PUBLISHABLE
            .replace("REGISTRY_KEY", ", registry = \"local\"")
            .replace("REGISTRY", &registry.index_url()),
    );
    let token = ("CARGO_REGISTRIES_LOCAL_TOKEN", "any-token");

    // An earlier run published xr-lib and then stopped.
    let status = std::process::Command::new("cargo")
        .args([
            "publish",
            "--locked",
            "-p",
            "xr-lib",
            "--registry",
            "local",
            "--quiet",
        ])
        .current_dir(repo.root())
        .env(token.0, token.1)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .unwrap();
    assert!(status.success());

    let dry = repo
        .command(&["release", "--dry-run", "--publish", "--registry", "local"])
        .env(token.0, token.1)
        .output()
        .unwrap();
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );

    let output = repo
        .command(&["release", "--publish", "--registry", "local"])
        .env(token.0, token.1)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("publish: "))
        .collect();
    assert_eq!(
        lines,
        [
            "publish: xr-lib 1.0.0",
            "publish: xr-lib skipped: the registry has this version already",
            "publish: xr-kit 0.1.0",
            "publish: xr-kit published",
            "publish: xr-app 0.2.0",
            "publish: xr-app published",
        ],
        "{stderr}"
    );
    let index = walk(&registry.dir.path().join("index"));
    for name in ["xr-lib", "xr-kit", "xr-app"] {
        assert!(
            index.iter().any(|f| f.ends_with(name)),
            "{name} in the index: {index:?}"
        );
    }
    assert!(!index.iter().any(|f| f.ends_with("xr-internal")));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with(".git") {
                files.extend(walk(&path));
            }
        } else {
            files.push(path.display().to_string());
        }
    }
    files
}

/// Our changelog groups and next versions next to git-cliff's on the same
/// single-package history. Every difference is listed here and in the
/// README's "Releasing" section.
#[test]
fn git_cliff_agrees_on_groups_and_the_bumped_version() {
    let Some(cliff) = external_tool("GIT_CLIFF", "git-cliff", "pip install git-cliff") else {
        return;
    };
    let repo = Repo::new(SINGLE);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("Ann Author", "feat(api): add a", &["src/a.rs"]);
    repo.commit("Bo Builder", "fix: b (#3)", &["src/b.rs"]);
    repo.commit("Ann Author", "docs: c", &["src/c.rs"]);
    repo.commit("Ann Author", "update stuff", &["src/d.rs"]);
    repo.commit("Ann Author", "perf: e", &["src/e.rs"]);
    repo.commit("Ann Author", "feat: f", &["src/f.rs"]);
    repo.git(&["revert", "--no-edit", "HEAD"]);
    repo.git(&["switch", "-q", "-c", "side"]);
    repo.commit("Bo Builder", "fix: g", &["src/g.rs"]);
    repo.git(&["switch", "-q", "main"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "side",
        "-m",
        "Merge branch 'side'",
    ]);
    repo.commit("Ann Author", "refactor!: h", &["src/h.rs"]);
    repo.commit("Ann Author", "chore: i", &["src/i.rs"]);

    let config = repo.path("../cliff.toml");
    std::fs::write(&config, CLIFF_CONFIG).unwrap();
    let cliff_run = |args: &[&str]| {
        let out = std::process::Command::new(&cliff)
            .args(args)
            .current_dir(repo.root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git-cliff {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let context: serde_json::Value = serde_json::from_str(&cliff_run(&[
        "--config",
        config.to_str().unwrap(),
        "--unreleased",
        "--context",
    ]))
    .unwrap();
    let mut theirs: Vec<(String, String)> = context[0]["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let group = if c["breaking"] == true {
                "Breaking changes"
            } else {
                c["group"].as_str().unwrap()
            };
            (
                group.to_string(),
                c["id"].as_str().unwrap()[..7].to_string(),
            )
        })
        .collect();
    let cliff_version = cliff_run(&["--bumped-version"]);

    let plan: serde_json::Value =
        serde_json::from_str(&repo.ok(&["release", "plan", "--format", "json"])).unwrap();
    let our_tag = plan["packages"][0]["tag"].as_str().unwrap().to_string();
    repo.ok(&["release"]);
    let mut ours = changelog_groups(&repo.read("CHANGELOG.md"));

    let log = repo.git(&["log", "--format=%h %s", "--abbrev=7"]);
    let id = |subject: &str| {
        let line = log
            .lines()
            .find(|l| &l[8..] == subject)
            .unwrap_or_else(|| panic!("{subject} in {log}"));
        line[..7].to_string()
    };
    let only_theirs = [
        ("Added", id("feat: f")),
        ("Reverted", id("Revert \"feat: f\"")),
        ("Other", id("Merge branch 'side'")),
    ];
    for (group, commit) in &only_theirs {
        let at = theirs
            .iter()
            .position(|(g, c)| g == group && c == commit)
            .unwrap_or_else(|| panic!("git-cliff lists {group} {commit}: {theirs:?}"));
        theirs.remove(at);
    }
    theirs.sort();
    ours.sort();
    assert_eq!(
        ours, theirs,
        "the same groups, but for the differences listed"
    );
    assert_eq!(our_tag, "v2.0.0");
    assert_eq!(cliff_version, our_tag, "the same next version");

    // Below 1.0 the two part ways: Cargo's rules make a feature a patch.
    let zero = Repo::new(&SINGLE.replace("1.0.0", "0.3.0"));
    zero.git(&["tag", "v0.3.0"]);
    zero.commit("Ann Author", "feat: small", &["src/a.rs"]);
    let plan: serde_json::Value =
        serde_json::from_str(&zero.ok(&["release", "plan", "--format", "json"])).unwrap();
    assert_eq!(plan["packages"][0]["tag"], "v0.3.1");
    let out = std::process::Command::new(&cliff)
        .arg("--bumped-version")
        .current_dir(zero.root())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "v0.4.0",
        "git-cliff's features_always_bump_minor"
    );
}

/// git-cliff set up like our changelog: the same groups, the same skipped types.
const CLIFF_CONFIG: &str = r#"
[changelog]
body = "{% for commit in commits %}{{ commit.id }}\n{% endfor %}"

[git]
conventional_commits = true
filter_unconventional = false
protect_breaking_commits = true
commit_parsers = [
  { message = "^feat", group = "Added" },
  { message = "^fix", group = "Fixed" },
  { message = "^perf", group = "Performance" },
  { message = "^[Rr]evert", group = "Reverted" },
  { message = "^refactor", group = "Changed" },
  { message = "^docs", group = "Documentation" },
  { message = "^(chore|ci|build|test|style)", skip = true },
  { message = ".*", group = "Other" },
]
"#;

/// (group, short id) for every line of a changelog section.
fn changelog_groups(text: &str) -> Vec<(String, String)> {
    let mut group = String::new();
    let mut found = Vec::new();
    for line in text.lines() {
        if let Some(g) = line.strip_prefix("### ") {
            group = g.to_string();
        } else if line.starts_with("- ") {
            let id = line.rsplit_once(" (").map(|(_, rest)| rest).unwrap_or("");
            let id = id
                .trim_start_matches('[')
                .split([']', ')'])
                .next()
                .unwrap_or("");
            found.push((group.clone(), id.to_string()));
        }
    }
    found
}

#[test]
fn the_tools_own_output_does_not_make_the_tree_dirty() {
    // No .gitignore: turbo-cache/ (which this tool writes) is untracked.
    let repo = Repo::new(&SINGLE.replace("--- .gitignore\n/target\n/turbo-cache\n", ""));
    assert!(!repo.path(".gitignore").exists());
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("Ann Author", "fix: one", &["src/lib.rs"]);
    repo.ok(&["release"]);
    assert_eq!(repo.git(&["tag", "--points-at", "HEAD"]), "v1.0.1");
    let committed = repo.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(committed, "CHANGELOG.md\nCargo.lock\nCargo.toml");
    // Anything else untracked still counts.
    repo.write("notes.txt", "draft");
    assert!(repo.fails(&["release"]).contains("?? notes.txt"));
}

#[test]
fn a_first_release_keeps_the_manifest_version() {
    let repo = Repo::new(SINGLE);
    repo.commit("Ann Author", "feat: before any tag", &["src/lib.rs"]);
    let plan = repo.ok(&["release", "plan"]);
    assert!(
        plan.contains("solo 1.0.0 (first release)  tag v1.0.0\n"),
        "{plan}"
    );
    repo.ok(&["release"]);
    assert_eq!(repo.git(&["tag", "--points-at", "HEAD"]), "v1.0.0");
    assert!(repo.read("Cargo.toml").contains("version = \"1.0.0\""));
    assert!(
        repo.read("CHANGELOG.md")
            .contains("## [1.0.0] - 2026-12-01\n\n### Added\n\n- before any tag")
    );
}

#[test]
fn a_failed_push_keeps_the_release_exits_3_and_never_shows_the_token() {
    let repo = Repo::new(SINGLE);
    // Loopback, a port nothing listens on: the push fails at once.
    repo.git(&[
        "remote",
        "add",
        "origin",
        "https://bot:SECRET-TOKEN@127.0.0.1:9/acme/solo.git",
    ]);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("Ann Author", "fix: one", &["src/lib.rs"]);
    let output = repo
        .command(&["release", "--push"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(
        text.contains("the release is committed and tagged locally, but pushing to origin failed"),
        "{text}"
    );
    assert!(!text.contains("SECRET-TOKEN"), "{text}");
    assert!(!repo.read("CHANGELOG.md").contains("SECRET-TOKEN"));
    assert_eq!(repo.git(&["tag", "--points-at", "HEAD"]), "v1.0.1");
}

#[test]
fn a_failing_cargo_update_puts_every_file_back_and_exits_3() {
    let repo = Repo::new(SINGLE);
    repo.git(&["tag", "v1.0.0"]);
    // A dependency no registry has: `cargo update --offline` cannot resolve it.
    let manifest =
        repo.read("Cargo.toml") + "\n[dependencies]\nno-such-crate-for-xtask-tests = \"1\"\n";
    repo.write("Cargo.toml", &manifest);
    repo.commit_all("Ann Author", "feat: use a crate");
    let head = repo.git(&["rev-parse", "HEAD"]);
    let output = repo.xtask(&["release"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("`cargo update --workspace --offline` failed after the manifests were edited (they were put back)"), "{stderr}");
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "every file as it was"
    );
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(repo.tags(), ["v1.0.0"]);
}

/// cargo-semver-checks is optional; a stand-in on PATH answers as it does
/// (cargo runs `cargo-semver-checks semver-checks …` for `cargo semver-checks …`).
#[test]
fn an_api_check_that_needs_more_than_the_commits_say_is_shown_and_applied() {
    let repo = Repo::new(SINGLE);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit(
        "Ann Author",
        "fix: remove the old entry point",
        &["src/lib.rs"],
    );
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("args");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\nif [ \"$2\" = --version ]; then echo 'cargo-semver-checks 0.51.0'; exit 0; fi\n\
         echo '     Summary semver requires new major version: 1 major and 0 minor checks failed'\nexit 1\n",
        log.display()
    );
    let fake = bin.path().join("cargo-semver-checks");
    std::fs::write(&fake, script).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let output = repo
        .command(&["release", "plan"])
        .env("PATH", path)
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        plan.contains("solo 1.0.0 → 2.0.0 (major)  tag v2.0.0"),
        "{plan}"
    );
    assert!(
        plan.contains("why: cargo-semver-checks: the API change needs a major bump, the commits declare patch (they under-declare)"),
        "{plan}"
    );
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(
        args.contains("semver-checks check-release --package solo --baseline-rev v1.0.0"),
        "{args}"
    );
    // Without it, the commits decide.
    assert!(
        repo.ok(&["release", "plan"])
            .contains("solo 1.0.0 → 1.0.1 (patch)")
    );
}
