//! [`Git`] through the CLI against real repositories: the files of a diff
//! (working tree, renames, a root below the repository's top), merge-bases,
//! the remote's default branch, and the errors a user meets.

use std::path::Path;
use std::process::Command;

use xtask_git::{Git, GitError, Repo};

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
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// `ws/` holds `a.rs` and `old.rs`, `docs/` lies outside it; committed on main.
fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, ".gitignore", "*.log\n");
    write(dir, "ws/a.rs", "a\n");
    write(dir, "ws/old.rs", "old\n");
    write(dir, "docs/guide.md", "guide\n");
    git(dir, &["init", "-q"]);
    commit_all(dir, "base");
    tmp
}

#[test]
fn changed_files_cover_the_working_tree_and_both_sides_of_a_rename() {
    let tmp = fixture();
    let dir = tmp.path();
    let base = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["mv", "ws/old.rs", "ws/new.rs"]);
    write(dir, "ws/a.rs", "unstaged\n");
    write(dir, "ws/untracked ä.rs", "untracked, odd name\n");
    write(dir, "ws/debug.log", "ignored\n");
    write(dir, "docs/guide.md", "outside the root\n");

    let repo = Repo::at(dir.join("ws"));
    assert_eq!(
        repo.changed_files(&base, None).unwrap(),
        ["a.rs", "new.rs", "old.rs", "untracked ä.rs"]
    );
    let head = commit_all(dir, "edits");
    // Between two commits: only what they hold, never the working tree.
    write(dir, "ws/later.rs", "untracked\n");
    assert_eq!(
        repo.changed_files(&base, Some(&head)).unwrap(),
        ["a.rs", "new.rs", "old.rs", "untracked ä.rs"]
    );
    assert_eq!(
        repo.changed_files(&head, Some(&head)).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn merge_base_is_the_branch_point_and_unrelated_histories_say_so() {
    let tmp = fixture();
    let dir = tmp.path();
    let branch_point = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(dir, "ws/a.rs", "feature\n");
    commit_all(dir, "feature");
    git(dir, &["checkout", "-q", "main"]);
    write(dir, "ws/a.rs", "main\n");
    commit_all(dir, "main");

    let repo = Repo::at(dir);
    assert_eq!(repo.merge_base("main", "feature").unwrap(), branch_point);

    git(dir, &["checkout", "-q", "--orphan", "unrelated"]);
    commit_all(dir, "unrelated root");
    let err = repo.merge_base("main", "HEAD").unwrap_err();
    assert!(matches!(err, GitError::NoMergeBase { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("`main` and `HEAD` have no common ancestor"),
        "{err}"
    );
    assert!(!err.is_internal());

    let err = repo.merge_base("main", "no-such-ref").unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("\nhint: "), "{err}");
}

#[test]
fn default_branch_comes_from_origin_head_and_is_none_without_it() {
    let tmp = fixture();
    let origin = tmp.path();
    assert_eq!(Repo::at(origin).default_branch().unwrap(), None);

    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.display());
    git(clones.path(), &["clone", "-q", &url, "clone"]);
    let clone = Repo::at(clones.path().join("clone"));
    assert_eq!(
        clone.default_branch().unwrap().as_deref(),
        Some("origin/main")
    );
    assert!(!Git::is_shallow(&clone).unwrap());
}

#[test]
fn revisions_that_read_as_options_are_refused_before_git_runs() {
    let tmp = fixture();
    let repo = Repo::at(tmp.path());
    for result in [
        repo.changed_files("--output=/tmp/x", None).map(drop),
        repo.changed_files("HEAD", Some("-p")).map(drop),
        repo.merge_base("HEAD", "--all").map(drop),
    ] {
        assert!(
            matches!(result, Err(GitError::BadRevision { .. })),
            "{result:?}"
        );
    }
    assert_eq!(Git::resolve(&repo, "--all").ok(), None);
}

#[test]
fn outside_a_repository_every_question_says_so_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    // `at` runs nothing: a caller that needs no git may hold one anyway.
    let repo = Repo::at(tmp.path());
    let errors = [
        repo.changed_files("HEAD", None).unwrap_err(),
        repo.merge_base("main", "HEAD").unwrap_err(),
        repo.default_branch().unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, GitError::NotARepository { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("is not in a git repository\nhint: "),
            "{err}"
        );
        assert!(!err.is_internal());
    }
}
