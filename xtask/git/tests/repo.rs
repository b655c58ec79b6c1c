//! The wrapper against a real repository that each test scripts.

use std::path::Path;
use std::process::Command;

use xtask_git::{Branch, GitError, Range, Repo};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ann Author")
        .env("GIT_AUTHOR_EMAIL", "ann@example.com")
        .env("GIT_COMMITTER_NAME", "Ann Author")
        .env("GIT_COMMITTER_EMAIL", "ann@example.com")
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

fn commit(dir: &Path, path: &str, message: &str) -> String {
    write(dir, path, message);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    git(tmp.path(), &["config", "commit.gpgsign", "false"]);
    tmp
}

#[test]
fn log_lists_files_per_commit_and_none_for_merges() {
    let tmp = fixture();
    let dir = tmp.path();
    let first = commit(dir, "ws/a/src/lib.rs", "feat: a");
    git(dir, &["switch", "-q", "-c", "side"]);
    commit(dir, "ws/b/weird name.rs", "fix: b\n\nBREAKING CHANGE: yes");
    git(dir, &["switch", "-q", "main"]);
    commit(dir, "outside.txt", "docs: outside the root");
    git(dir, &["merge", "-q", "--no-ff", "side", "-m", "Merge side"]);

    let repo = Repo::open(dir.join("ws")).unwrap();
    let all = repo.log(&Range::since(None, "HEAD")).unwrap();
    assert_eq!(all.len(), 4);
    assert!(all[0].is_merge());
    assert!(all[0].files.is_empty());
    let b = all.iter().find(|c| c.subject() == "fix: b").unwrap();
    assert_eq!(b.files, ["b/weird name.rs"]);
    assert!(b.message.contains("BREAKING CHANGE: yes"));
    assert_eq!(b.author.name, "Ann Author");
    // Outside the root: the commit is listed, with no files.
    let outside = all
        .iter()
        .find(|c| c.subject().starts_with("docs"))
        .unwrap();
    assert!(outside.files.is_empty());

    let since = repo.log(&Range::since(Some(&first), "HEAD")).unwrap();
    assert_eq!(since.len(), 3);
    assert!(since.iter().all(|c| c.id != first));
}

#[test]
fn tags_are_peeled_and_filtered_by_ancestry() {
    let tmp = fixture();
    let dir = tmp.path();
    let one = commit(dir, "f", "one");
    let repo = Repo::open(dir).unwrap();
    repo.create_tag("a-v1.0.0", &one, "release a 1.0.0\n\n### Added\nrecord")
        .unwrap();
    git(dir, &["switch", "-q", "-c", "other"]);
    let two = commit(dir, "g", "two");
    git(dir, &["tag", "a-v2.0.0", &two]);
    git(dir, &["switch", "-q", "main"]);

    let mut all = repo.tags("a-v*", None).unwrap();
    all.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(all[0].commit, one, "annotated tag peeled to its commit");
    assert_eq!(all[1].commit, two);
    let merged = repo.tags("a-v*", Some("HEAD")).unwrap();
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].name, "a-v1.0.0");
    assert_eq!(
        repo.tag_message("a-v1.0.0").unwrap().as_deref(),
        Some("release a 1.0.0\n\n### Added\nrecord")
    );
    assert_eq!(repo.tag_message("a-v2.0.0").unwrap(), None, "lightweight");
    assert!(repo.create_tag("a-v1.0.0", &two, "again").is_err());
}

#[test]
fn branch_status_commit_and_show() {
    let tmp = fixture();
    let dir = tmp.path();
    let one = commit(dir, "ws/f", "one");
    let repo = Repo::open(dir.join("ws")).unwrap();
    assert_eq!(repo.current_branch().unwrap(), Branch::Named("main".into()));
    assert!(repo.status().unwrap().is_empty());

    write(dir, "ws/f", "changed");
    write(dir, "ws/new", "new");
    let mut status: Vec<_> = repo
        .status()
        .unwrap()
        .into_iter()
        .map(|e| (e.code, e.path))
        .collect();
    status.sort();
    assert_eq!(
        status,
        [(" M".into(), "f".into()), ("??".into(), "new".into())]
    );

    repo.add(&["f".into(), "new".into()]).unwrap();
    let two = repo.commit("chore: two").unwrap();
    assert_eq!(repo.resolve("HEAD").unwrap().as_deref(), Some(two.as_str()));
    assert_eq!(repo.show_file(&one, "f").unwrap().as_deref(), Some("one"));
    assert_eq!(repo.show_file(&one, "new").unwrap(), None);
    assert_eq!(repo.resolve("no-such-ref").unwrap(), None);
    assert!(matches!(
        repo.resolve("--all"),
        Err(GitError::BadRevision { .. })
    ));

    git(dir, &["checkout", "-q", "--detach", &one]);
    assert_eq!(repo.current_branch().unwrap(), Branch::Detached);
    assert!(!repo.is_shallow().unwrap());
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Repo::open(tmp.path()).unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err}");
}
