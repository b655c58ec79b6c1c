//! The scoping functions through [`Repo`] against real repositories: a branch
//! with edits in a leaf, a hub and root files, the working tree, renames, a
//! workspace in a subdirectory, and shallow clones.

use std::fs;
use std::path::Path;
use std::process::Command;

use xtask_git::{Git, GitError, Repo};
use xtask_graph::PackageIndex;

use super::fixtures::{graph, names, no_special, parse_all};
use super::*;

/// Runs git with a config that ignores the machine's (no signing, fixed author).
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn commit_all(root: &Path, message: &str) {
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", message]);
}

/// A repository whose files match the directories of [`graph`], committed on
/// `main`, with `feature` checked out at the same commit.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, text) in [
        ("Cargo.toml", "[workspace]\n"),
        ("Cargo.lock", "version = 4\n"),
        ("README.md", "readme\n"),
        (".gitignore", "/target\n*.log\n"),
        ("apps/api/src/lib.rs", "api\n"),
        ("apps/web/src/lib.rs", "web\n"),
        ("packages/util/src/lib.rs", "util\n"),
        ("packages/util/src/old.rs", "moved later\n"),
        ("packages/core/src/lib.rs", "core\n"),
        ("packages/testkit/src/lib.rs", "testkit\n"),
        ("tools/codegen/src/lib.rs", "codegen\n"),
        ("xtask/engine/src/lib.rs", "engine\n"),
        ("xtask/graph/src/lib.rs", "graph\n"),
    ] {
        write(root, path, text);
    }
    git(root, &["init", "-q"]);
    commit_all(root, "base");
    git(root, &["checkout", "-q", "-b", "feature"]);
    dir
}

/// `--affected` with every default, as a CI job or a developer would run it.
fn affected_now(root: &Path) -> Result<Vec<String>, ScopeError> {
    affected_with(root, &no_special)
}

fn affected_with(root: &Path, special: &SpecialFiles<'_>) -> Result<Vec<String>, ScopeError> {
    let git = Repo::at(root);
    let base = default_base(&git)?;
    let graph = graph();
    let found = affected(&graph, &base, "HEAD", &git, special)?;
    Ok(names(&graph, &found))
}

#[test]
fn a_leaf_edit_on_a_branch_affects_the_leaf() {
    let dir = repo();
    let root = dir.path();
    assert_eq!(affected_now(root).unwrap(), Vec::<String>::new());
    write(root, "apps/web/src/lib.rs", "web 2\n");
    commit_all(root, "web");
    assert_eq!(affected_now(root).unwrap(), ["web"]);
}

#[test]
fn commits_on_the_base_branch_after_the_branch_point_are_not_changes() {
    let dir = repo();
    let root = dir.path();
    let branch_point = git(root, &["rev-parse", "HEAD"]);
    write(root, "apps/web/src/lib.rs", "web 2\n");
    commit_all(root, "web");
    git(root, &["checkout", "-q", "main"]);
    write(root, "packages/core/src/lib.rs", "core on main\n");
    commit_all(root, "core on main");
    git(root, &["checkout", "-q", "feature"]);

    let git_cli = Repo::at(root);
    assert_eq!(default_base(&git_cli).unwrap(), branch_point);
    assert_eq!(affected_now(root).unwrap(), ["web"]);
    // An explicit base branch is also measured from the branch point.
    let graph = graph();
    let found = affected(&graph, "main", "HEAD", &git_cli, &no_special).unwrap();
    assert_eq!(names(&graph, &found), ["web"]);
}

#[test]
fn a_hub_edit_affects_every_dependent() {
    let dir = repo();
    let root = dir.path();
    write(root, "packages/core/src/lib.rs", "core 2\n");
    commit_all(root, "core");
    assert_eq!(
        affected_now(root).unwrap(),
        ["api", "core", "testkit", "util", "web"]
    );
}

#[test]
fn root_files_affect_what_the_caller_says_or_nothing() {
    let dir = repo();
    let root = dir.path();
    write(root, "README.md", "readme 2\n");
    commit_all(root, "readme");
    assert_eq!(affected_now(root).unwrap(), Vec::<String>::new());

    write(root, "Cargo.lock", "version = 4\n# bumped\n");
    write(root, "Cargo.toml", "[workspace]\n# edited\n");
    commit_all(root, "lock and manifest");
    let graph = graph();
    let util = graph.find("util").unwrap();
    let lock_only = |file: &str, _: &Diff| (file == "Cargo.lock").then(|| vec![util]);
    assert_eq!(
        affected_with(root, &lock_only).unwrap(),
        ["api", "util", "web"]
    );
    let everything = |file: &str, _: &Diff| -> Option<Vec<PackageIndex>> {
        (file == "Cargo.toml").then(|| (0..graph.packages.len()).collect())
    };
    assert_eq!(
        affected_with(root, &everything).unwrap().len(),
        graph.packages.len()
    );
}

#[test]
fn the_working_tree_counts_staged_unstaged_and_untracked_but_not_ignored() {
    let dir = repo();
    let root = dir.path();
    write(root, "apps/api/src/lib.rs", "unstaged edit\n");
    write(root, "tools/codegen/src/new.rs", "staged new file\n");
    git(root, &["add", "tools/codegen/src/new.rs"]);
    write(root, "xtask/graph/src/ä b.rs", "untracked, odd name\n");
    write(root, "packages/core/debug.log", "ignored\n");
    fs::remove_file(root.join("packages/testkit/src/lib.rs")).unwrap();

    let git_cli = Repo::at(root);
    let head = git(root, &["rev-parse", "HEAD"]);
    assert_eq!(
        git_cli.changed_files(&head, None).unwrap(),
        [
            "apps/api/src/lib.rs",
            "packages/testkit/src/lib.rs",
            "tools/codegen/src/new.rs",
            "xtask/graph/src/ä b.rs",
        ]
    );
    assert_eq!(
        affected_now(root).unwrap(),
        [
            "api",
            "codegen",
            "core",
            "testkit",
            "util",
            "web",
            "xtask-engine",
            "xtask-graph"
        ]
    );
    // Between two commits the working tree is not part of the comparison.
    assert_eq!(
        git_cli.changed_files(&head, Some(&head)).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn a_rename_counts_for_both_paths() {
    let dir = repo();
    let root = dir.path();
    git(
        root,
        &["mv", "packages/util/src/old.rs", "apps/api/src/new.rs"],
    );
    let git_cli = Repo::at(root);
    let base = default_base(&git_cli).unwrap();
    let both = ["apps/api/src/new.rs", "packages/util/src/old.rs"];
    // Staged only, then committed.
    assert_eq!(git_cli.changed_files(&base, None).unwrap(), both);
    commit_all(root, "move");
    assert_eq!(git_cli.changed_files(&base, None).unwrap(), both);
    assert_eq!(git_cli.changed_files(&base, Some("feature")).unwrap(), both);
    assert_eq!(affected_now(root).unwrap(), ["api", "util", "web"]);
}

#[test]
fn filters_by_git_range_on_a_real_repository() {
    let dir = repo();
    let root = dir.path();
    write(root, "packages/util/src/lib.rs", "util 2\n");
    commit_all(root, "util");
    write(root, "xtask/engine/src/lib.rs", "uncommitted\n");
    let git_cli = Repo::at(root);
    let graph = graph();
    let run = |filters: &[&str]| {
        let found = apply_filters(&graph, &parse_all(filters).unwrap(), &git_cli, &no_special);
        let found = found.unwrap();
        names(&graph, &found.packages)
    };
    assert_eq!(run(&["[main]"]), ["util", "xtask-engine"]);
    assert_eq!(run(&["...[main]"]), ["api", "util", "web", "xtask-engine"]);
    // `[from...to]` compares commits only: the uncommitted edit is not in it,
    // not even with HEAD as the head.
    assert_eq!(run(&["[main...feature]"]), ["util"]);
    assert_eq!(run(&["[main...HEAD]"]), ["util"]);
    assert_eq!(run(&["[HEAD^1]", "!util"]), ["xtask-engine"]);
    assert_eq!(run(&["api...[main]"]), ["api"]);

    // Commits on main since the fork: `[main]` compares main itself with the
    // working tree, so they count; --affected starts at the branch point.
    // (The uncommitted edit comes along; only codegen is committed on main.)
    git(root, &["checkout", "-q", "main"]);
    write(root, "tools/codegen/src/lib.rs", "codegen on main\n");
    git(root, &["add", "tools/codegen/src/lib.rs"]);
    git(
        root,
        &[
            "commit",
            "-q",
            "-m",
            "codegen on main",
            "--",
            "tools/codegen/src/lib.rs",
        ],
    );
    git(root, &["checkout", "-q", "feature"]);
    assert_eq!(run(&["[main]"]), ["codegen", "util", "xtask-engine"]);
    assert_eq!(run(&["[main...HEAD]"]), ["util"]);
    let found = affected(&graph, "main", "HEAD", &git_cli, &no_special).unwrap();
    assert_eq!(
        names(&graph, &found),
        ["api", "util", "web", "xtask-engine"]
    );
}

#[test]
fn a_workspace_in_a_subdirectory_sees_only_its_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path();
    write(repo_root, "docs/guide.md", "guide\n");
    write(repo_root, "ws/apps/web/src/lib.rs", "web\n");
    git(repo_root, &["init", "-q"]);
    commit_all(repo_root, "base");
    git(repo_root, &["checkout", "-q", "-b", "feature"]);
    write(repo_root, "docs/guide.md", "guide 2\n");
    write(repo_root, "docs/new.md", "untracked outside\n");
    write(repo_root, "ws/apps/web/src/lib.rs", "web 2\n");
    write(repo_root, "ws/apps/web/src/new.rs", "untracked inside\n");
    commit_all(repo_root, "edits");
    write(repo_root, "docs/untracked.md", "untracked outside\n");
    write(
        repo_root,
        "ws/apps/web/src/untracked.rs",
        "untracked inside\n",
    );

    let git_cli = Repo::at(repo_root.join("ws"));
    assert_eq!(
        git_cli.changed_files("main", None).unwrap(),
        [
            "apps/web/src/lib.rs",
            "apps/web/src/new.rs",
            "apps/web/src/untracked.rs",
        ]
    );
    assert_eq!(affected_now(&repo_root.join("ws")).unwrap(), ["web"]);
}

#[test]
fn a_shallow_clone_lacking_the_base_is_a_clear_error_never_a_full_run() {
    let dir = repo();
    let origin = dir.path();
    write(origin, "apps/web/src/lib.rs", "web 2\n");
    commit_all(origin, "web");
    // The remote's default branch is main, as on a forge.
    git(origin, &["checkout", "-q", "main"]);
    // What actions/checkout does by default: one commit of one branch.
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.display());
    git(
        clones.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "clone",
        ],
    );
    let clone = clones.path().join("clone");
    let git_cli = Repo::at(&clone);
    assert!(git_cli.is_shallow().unwrap());

    let fix = "\nhint: fetch the full history: `fetch-depth: 0` in actions/checkout, or `git fetch --unshallow`";
    // No base branch at all.
    let err = affected_now(&clone).unwrap_err().to_string();
    assert!(
        err.starts_with("this is a shallow clone and the default branch (tried `main`"),
        "{err}"
    );
    assert!(err.contains(fix), "{err}");
    let graph = graph();
    let err = affected(&graph, "origin/main", "HEAD", &git_cli, &no_special)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("this is a shallow clone and `origin/main` is not in its history"),
        "{err}"
    );
    assert!(err.contains(fix), "{err}");
    let err = apply_filters(
        &graph,
        &parse_all(&["...[origin/main]"]).unwrap(),
        &git_cli,
        &no_special,
    )
    .unwrap_err();
    assert!(matches!(err, ScopeError::ShallowClone { .. }), "{err}");

    // The base branch fetched shallowly too: both commits exist, their common
    // ancestor does not.
    git(
        &clone,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    let err = affected(&graph, "origin/main", "HEAD", &git_cli, &no_special)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("this is a shallow clone and the common ancestor of `origin/main` and `HEAD` is not in its history"),
        "{err}"
    );
    assert!(err.contains(fix), "{err}");
    // `[ref]` needs only the ref itself: it works in this shallow clone.
    let found = apply_filters(
        &graph,
        &parse_all(&["[origin/main]"]).unwrap(),
        &git_cli,
        &no_special,
    );
    assert_eq!(names(&graph, &found.unwrap().packages), ["web"]);

    // The fix works.
    git(
        &clone,
        &[
            "fetch",
            "-q",
            "--unshallow",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    assert!(!git_cli.is_shallow().unwrap());
    let found = affected(&graph, "origin/main", "HEAD", &git_cli, &no_special).unwrap();
    assert_eq!(names(&graph, &found), ["web"]);
}

#[test]
fn a_full_clone_finds_the_default_branch_through_origin_head() {
    let dir = repo();
    let origin = dir.path();
    git(origin, &["checkout", "-q", "main"]);
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.display());
    git(clones.path(), &["clone", "-q", &url, "clone"]);
    let clone = clones.path().join("clone");
    git(&clone, &["checkout", "-q", "-b", "topic"]);
    git(&clone, &["branch", "-q", "-D", "main"]);
    let git_cli = Repo::at(&clone);
    assert_eq!(
        git_cli.default_branch().unwrap().as_deref(),
        Some("origin/main")
    );
    assert!(!git_cli.is_shallow().unwrap());
    write(&clone, "packages/testkit/src/lib.rs", "testkit 2\n");
    assert_eq!(affected_now(&clone).unwrap(), ["api", "testkit"]);
}

#[test]
fn git_errors_name_what_went_wrong() {
    let dir = repo();
    let root = dir.path();
    let git_cli = Repo::at(root);
    let graph = graph();

    let err = affected(&graph, "no-such-branch", "HEAD", &git_cli, &no_special).unwrap_err();
    assert_eq!(
        err.to_string().lines().next(),
        Some("git ref `no-such-branch` does not exist")
    );

    // A branch with its own root commit shares no history with main.
    git(root, &["checkout", "-q", "--orphan", "unrelated"]);
    commit_all(root, "unrelated root");
    let err = affected(&graph, "main", "HEAD", &git_cli, &no_special).unwrap_err();
    assert!(
        matches!(err, ScopeError::Git(GitError::NoMergeBase { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("have no common ancestor"), "{err}");

    // A ref that git would read as an option is refused before git runs.
    let err = affected(&graph, "--output=/tmp/x", "HEAD", &git_cli, &no_special).unwrap_err();
    assert!(matches!(err, ScopeError::UnknownRef { .. }), "{err}");

    let plain = tempfile::tempdir().unwrap();
    let err = affected(&graph, "main", "HEAD", &Repo::at(plain.path()), &no_special).unwrap_err();
    assert!(
        matches!(err, ScopeError::Git(GitError::NotARepository { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("is not in a git repository"),
        "{err}"
    );
    // Looking for the default base outside a repository says so too, rather
    // than that no default branch exists.
    let err = default_base(&Repo::at(plain.path())).unwrap_err();
    assert!(
        matches!(err, ScopeError::Git(GitError::NotARepository { .. })),
        "{err}"
    );
}
