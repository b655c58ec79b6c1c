//! The walk against the `ignore` crate's own walker, configured as the
//! engine used it before this walker replaced it: on generated trees with
//! nested `.gitignore` files, negations, directory-only and anchored rules,
//! nested repositories and linked work trees with their `info/exclude`,
//! rules in a directory above the root, a global excludes file, symlinks and
//! skipped directories, both must list exactly the same files.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// The engine's walk before this module: `ignore`'s parallel walker.
fn crate_walk(root: &Path, skip: &[String], global: Option<&Path>) -> BTreeSet<String> {
    let skip: Vec<PathBuf> = skip.iter().map(|dir| root.join(dir)).collect();
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(false)
        .ignore(false)
        .parents(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && (entry.file_name() == ".git" || skip.iter().any(|s| s == entry.path())))
        });
    if let Some(global) = global {
        let _ = builder.add_ignore(global);
    }
    builder
        .build()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.depth() > 0 && !entry.file_type().unwrap().is_dir())
        .map(|entry| {
            let rel = entry.path().strip_prefix(root).unwrap();
            rel.to_str().unwrap().to_owned()
        })
        .collect()
}

fn our_walk(
    root: &Path,
    skip: &[String],
    global: Option<&Path>,
    threads: usize,
) -> BTreeSet<String> {
    let paths: Vec<String> = list(root, skip, global, threads)
        .unwrap()
        .into_iter()
        .map(|found| found.path)
        .collect();
    // In path order, each once: the snapshot relies on the order to look
    // the stat cache up in one pass.
    assert!(
        paths.windows(2).all(|pair| pair[0] < pair[1]),
        "not in path order: {paths:?}"
    );
    paths.into_iter().collect()
}

/// xorshift: the same trees on every run, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const DIRS: &[&str] = &[
    "a", "b", "src", "out", "build", ".hidden", "tmp", "deep", "keep",
];
const FILES: &[&str] = &[
    "x.rs",
    "y.log",
    "keep.log",
    "README.md",
    "notes.md",
    "a.txt",
    "b.tmp",
    ".env",
    "lib.rs",
    "#hash",
    // Beside the directories `a` and `src`: `a-b` < `a/…` < `a0`, and
    // `src.rs` < `src/…` in path order.
    "a-b",
    "a0",
    "src.rs",
];
const RULES: &[&str] = &[
    "*.log",
    "!keep.log",
    "/out/",
    "out",
    "build/",
    "**/tmp",
    "*.t?p",
    "src/*.md",
    "!src/",
    "deep/**",
    "a/b",
    "/a",
    "!*.rs",
    "# a comment",
    "\\#hash",
    "[ab].txt",
    "*.md",
    "!README.md",
    "b/",
    "**/.hidden",
    "!.hidden/",
    "keep/",
    "!keep/",
    "x.rs",
    "/.env",
    "deep/*/",
    "",
    "  ",
    "[unclosed",
];

/// Writes `path`; where the generator already put a file of that name on
/// the way (or a directory in its place), the tree just lacks this one.
fn write(path: &Path, text: &str) {
    let _ = fs::create_dir_all(path.parent().unwrap()).and_then(|()| fs::write(path, text));
}

fn rules(rng: &mut Rng) -> String {
    (0..1 + rng.below(4))
        .map(|_| format!("{}\n", rng.pick(RULES)))
        .collect()
}

/// A tree of files, ignore files and repositories below `dir`.
fn grow(rng: &mut Rng, dir: &Path, depth: usize) {
    for _ in 0..rng.below(4) {
        write(&dir.join(rng.pick(FILES)), "x");
    }
    if rng.below(3) == 0 {
        write(&dir.join(".gitignore"), &rules(rng));
    }
    match rng.below(8) {
        // A nested repository with its own excludes.
        0 => write(&dir.join(".git/info/exclude"), &rules(rng)),
        // A linked work tree: `.git` names a git dir whose `commondir`
        // points at the common dir holding `info/exclude`.
        1 => {
            let common = dir.join("../.common-git");
            write(&common.join("info/exclude"), &rules(rng));
            write(&common.join("worktrees/w/commondir"), "../..\n");
            let Ok(common) = fs::canonicalize(&common) else {
                return;
            };
            let git_dir = common.join("worktrees/w");
            write(
                &dir.join(".git"),
                &format!("gitdir: {}\n", git_dir.display()),
            );
        }
        _ => {}
    }
    if rng.below(6) == 0 {
        let target = rng.pick(FILES);
        let _ = std::os::unix::fs::symlink(target, dir.join(format!("link-{}", rng.below(9))));
        let _ = std::os::unix::fs::symlink("..", dir.join("up"));
    }
    if depth < 4 {
        for _ in 0..rng.below(4) {
            let child = dir.join(rng.pick(DIRS));
            grow(rng, &child, depth + 1);
        }
    }
}

#[test]
fn lists_what_the_crate_walker_listed_on_generated_trees() {
    for seed in 1..=120u64 {
        let top = tempfile::tempdir().unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Rules above the root apply below it, with canonical paths.
        write(&top.path().join(".gitignore"), &rules(&mut rng));
        let root = top.path().join("ws");
        grow(&mut rng, &root, 0);
        write(&root.join("target/t.rs"), "x");
        let global = top.path().join("global-excludes");
        write(&global, &rules(&mut rng));
        let skip = ["target".to_owned()];
        let global = (seed % 2 == 0).then_some(global.as_path());

        let expected = crate_walk(&root, &skip, global);
        for threads in [1, 2, 3] {
            assert_eq!(
                our_walk(&root, &skip, global, threads),
                expected,
                "seed {seed}, {threads} threads"
            );
        }
    }
}

#[test]
fn a_root_given_relative_to_the_working_directory_lists_the_same() {
    let top = tempfile::tempdir().unwrap();
    write(&top.path().join("ws/.gitignore"), "/src/gen\n*.log\n");
    write(&top.path().join("ws/src/gen/a.rs"), "x");
    write(&top.path().join("ws/src/ws/src/gen/b.rs"), "x");
    write(&top.path().join("ws/src/c.log"), "x");
    write(&top.path().join("ws/src/lib.rs"), "x");
    let absolute = our_walk(&top.path().join("ws"), &[], None, 1);
    assert_eq!(
        absolute,
        BTreeSet::from([
            ".gitignore".to_owned(),
            "src/lib.rs".to_owned(),
            "src/ws/src/gen/b.rs".to_owned()
        ])
    );
    // The matchers are rooted at absolute directories: a name below a root
    // spelled relatively must not be cut as if it were that root.
    let cwd = std::env::current_dir().unwrap();
    let relative = pathdiff(&top.path().join("ws"), &cwd);
    assert_eq!(our_walk(&relative, &[], None, 1), absolute);
}

/// `to` spelled relative to `from` (both absolute).
fn pathdiff(to: &Path, from: &Path) -> PathBuf {
    let ups = from.components().count() - 1;
    let mut path: PathBuf = std::iter::repeat_n("..", ups).collect();
    path.push(to.strip_prefix("/").unwrap());
    path
}

#[test]
fn an_unreadable_directory_fails_the_walk_and_names_it() {
    use std::os::unix::fs::PermissionsExt;
    let top = tempfile::tempdir().unwrap();
    let locked = top.path().join("locked");
    write(&locked.join("a.rs"), "x");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let result = list(top.path(), &[], None, 2);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    if fs::read_dir(&locked).is_ok() && nix_is_root() {
        return; // root reads it anyway: nothing to check here
    }
    let error = result.err().expect("an unreadable directory is an error");
    assert_eq!(error.dir, locked);
}

fn nix_is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn a_git_file_is_read_no_further_than_its_bound() {
    let top = tempfile::tempdir().unwrap();
    // One endless line: the exclude lookup gives up instead of reading it.
    write(&top.path().join(".git"), &"gitdir: ".repeat(20_000));
    write(&top.path().join("a.rs"), "x");
    assert_eq!(
        our_walk(top.path(), &[], None, 1),
        BTreeSet::from([".git".to_owned(), "a.rs".to_owned()])
    );
}
