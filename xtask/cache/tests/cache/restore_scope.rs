//! A restore writes only the task's declared outputs, never into `.git`, never a
//! mode onto an existing directory, and nothing at all when any member is
//! refused: the checks cover the whole archive before the first write. Entries
//! are bound to their key, and hostile header extensions are refused before they
//! are read.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use tar::EntryType;
use xtask_cache::{
    CacheError, Corruption, LocalCache, Lookup, OutputFilter, Refusal, RestoreLimits,
};

use crate::common::*;

/// A workspace with a git directory, another package's sources and a canary
/// next to it, outside the workspace.
struct Workspace {
    tmp: tempfile::TempDir,
    cache: LocalCache,
}

impl Workspace {
    fn new() -> Workspace {
        let tmp = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
        let ws = tmp.path().join("ws");
        write(&ws.join(".git/config"), b"[core]\n");
        write(&ws.join(".git/hooks/README"), b"hooks");
        write(&ws.join("cli/Cargo.toml"), b"[package]\n");
        write(&ws.join("lib/src/lib.rs"), b"pub fn f() {}\n");
        write(&tmp.path().join("outside/canary"), b"canary");
        fs::set_permissions(ws.join(".git"), fs::Permissions::from_mode(0o755)).unwrap();
        Workspace { tmp, cache }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("ws")
    }

    /// Installs `tar` as the entry of a key and restores it with `filter`.
    fn restore(&self, tar: Vec<u8>, filter: &dyn OutputFilter) -> Result<(), CacheError> {
        self.restore_with(tar, &RestoreLimits::default(), filter)
    }

    fn restore_with(
        &self,
        tar: Vec<u8>,
        limits: &RestoreLimits,
        filter: &dyn OutputFilter,
    ) -> Result<(), CacheError> {
        let key = key(50);
        self.cache
            .write_raw(&key, &entry_bytes(&key, &tar))
            .unwrap();
        let entry = expect_hit(self.cache.lookup(&key).unwrap());
        entry
            .restore_outputs(&self.root(), limits, filter)
            .map(|_| ())
    }

    /// Every path outside the cache with its kind, mode and contents.
    fn snapshot(&self) -> BTreeMap<String, String> {
        tree(self.tmp.path())
            .into_iter()
            .filter(|rel| !rel.starts_with("cache"))
            .map(|rel| {
                let path = self.tmp.path().join(&rel);
                let meta = fs::symlink_metadata(&path).unwrap();
                let mode = meta.permissions().mode() & 0o7777;
                let what = if meta.file_type().is_symlink() {
                    format!("link -> {}", fs::read_link(&path).unwrap().display())
                } else if meta.is_dir() {
                    format!("dir {mode:o}")
                } else {
                    format!("file {mode:o} {:?}", fs::read(&path).unwrap())
                };
                (rel, what)
            })
            .collect()
    }
}

/// The outputs of `cli#check`: `cli/.check.out` only.
fn check_out(rel: &Path) -> bool {
    rel == Path::new("cli/.check.out")
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let header = raw_header(path, EntryType::Regular, data.len() as u64, None);
    b.append(&header, data).unwrap();
}

fn refusal(result: Result<(), CacheError>) -> (PathBuf, Refusal) {
    match result {
        Err(CacheError::UnsafeMember { member, reason, .. }) => (member, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_artifact_reaching_beyond_its_outputs_writes_nothing() {
    // The artifact of a task whose only output is `cli/.check.out`, carrying a
    // git hook, a cargo config and another package's source as well.
    let ws = Workspace::new();
    let before = ws.snapshot();
    let tar = tar_with(|b| {
        file(b, "outputs/cli/.check.out", b"ok");
        file(b, "outputs/lib/src/lib.rs", b"pwned");
        file(
            b,
            "outputs/.cargo/config.toml",
            b"[build]\nrustc-wrapper = 'evil'\n",
        );
        file(b, "outputs/.git/hooks/pre-commit", b"#!/bin/sh\nevil\n");
    });
    let (member, reason) = refusal(ws.restore(tar, &check_out));
    assert_eq!(member, Path::new("outputs/lib/src/lib.rs"));
    assert_eq!(reason, Refusal::NotAnOutput);
    assert_eq!(
        ws.snapshot(),
        before,
        "not even the declared output is written"
    );
}

#[test]
fn nothing_goes_into_git_whatever_the_filter_says() {
    for path in [
        "outputs/.git/hooks/pre-commit",
        "outputs/.GIT/config",
        "outputs/vendor/.git/config",
    ] {
        let ws = Workspace::new();
        let before = ws.snapshot();
        let tar = tar_with(|b| file(b, path, b"#!/bin/sh\nevil\n"));
        let (member, reason) = refusal(ws.restore(tar, &everything));
        assert_eq!((member.to_str().unwrap(), reason), (path, Refusal::GitDir));
        assert_eq!(ws.snapshot(), before);
    }
}

#[test]
fn a_refusal_after_the_payload_leaves_the_workspace_as_it_was() {
    // The `..` member comes last: by then a writer that checks as it goes has
    // already written the others.
    let ws = Workspace::new();
    let before = ws.snapshot();
    let tar = tar_with(|b| {
        file(b, "outputs/cli/.check.out", b"ok");
        file(b, "outputs/cli/extra/deep/file", b"payload");
        file(b, "outputs/../outside/canary", b"overwritten");
    });
    let (_, reason) = refusal(ws.restore(tar, &everything));
    assert_eq!(reason, Refusal::ParentDir);
    assert_eq!(ws.snapshot(), before);

    // The same with a limit crossed by the last member, and with a member the
    // disk refuses (a non-empty directory in its way).
    let tar = tar_with(|b| {
        file(b, "outputs/cli/.check.out", b"ok");
        file(b, "outputs/cli/big", &[7; 2000]);
    });
    let limits = RestoreLimits {
        max_bytes: 1000,
        ..RestoreLimits::default()
    };
    let err = ws.restore_with(tar, &limits, &everything).unwrap_err();
    assert!(matches!(err, CacheError::RestoreTooLarge { .. }), "{err:?}");
    assert_eq!(ws.snapshot(), before);

    let tar = tar_with(|b| {
        file(b, "outputs/cli/.check.out", b"ok");
        file(b, "outputs/lib/src", b"a file where a directory is");
    });
    let (_, reason) = refusal(ws.restore(tar, &everything));
    assert_eq!(reason, Refusal::DirectoryInTheWay);
    assert_eq!(ws.snapshot(), before);
}

#[test]
fn existing_directories_keep_their_mode() {
    let ws = Workspace::new();
    let tar = tar_with(|b| {
        let dir = |path: &str| {
            let mut header = raw_header(path, EntryType::Directory, 0, None);
            header.set_mode(0o777);
            header.set_cksum();
            header
        };
        b.append(&dir("outputs/cli"), &[][..]).unwrap();
        b.append(&dir("outputs/cli/new"), &[][..]).unwrap();
    });
    fs::set_permissions(ws.root().join("cli"), fs::Permissions::from_mode(0o750)).unwrap();
    ws.restore(tar, &everything).unwrap();
    let mode = |rel: &str| {
        fs::metadata(ws.root().join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("cli"), 0o750, "an existing directory is left alone");
    assert_eq!(
        mode("cli/new"),
        0o777,
        "a directory the restore made gets its mode"
    );
}

#[test]
fn a_symlinked_directory_cannot_carry_an_output_elsewhere() {
    // `cli/dist` is a link inside the workspace, into `.git` or into another
    // package: `cli/dist/**` must not write there.
    let dist = |rel: &Path| rel.starts_with("cli/dist");
    let cases: &[(&str, Refusal)] = &[
        (
            "../.git/hooks",
            Refusal::ParentEscapes {
                path: "cli/dist".into(),
            },
        ),
        (
            "../lib/src",
            Refusal::LandsElsewhere {
                real: "lib/src/lib.rs".into(),
            },
        ),
    ];
    for (target, expected) in cases {
        let ws = Workspace::new();
        symlink(target, ws.root().join("cli/dist")).unwrap();
        let before = ws.snapshot();
        let tar = tar_with(|b| file(b, "outputs/cli/dist/lib.rs", b"pwned"));
        let (_, reason) = refusal(ws.restore(tar, &dist));
        assert_eq!(&reason, expected, "{target}");
        assert_eq!(ws.snapshot(), before);
    }
}

#[test]
fn archives_that_use_one_path_twice_are_refused() {
    let ws = Workspace::new();
    let before = ws.snapshot();
    let cases: Vec<(Vec<u8>, Refusal)> = vec![
        (
            tar_with(|b| {
                file(b, "outputs/cli/a", b"1");
                file(b, "outputs/cli/a", b"2");
            }),
            Refusal::Duplicate,
        ),
        (
            tar_with(|b| {
                file(b, "outputs/cli/a/b", b"1");
                file(b, "outputs/cli/a", b"2");
            }),
            Refusal::Duplicate,
        ),
        (
            tar_with(|b| {
                file(b, "outputs/cli/a", b"1");
                file(b, "outputs/cli/a/b", b"2");
            }),
            Refusal::InsideNonDirectory {
                parent: "cli/a".into(),
            },
        ),
        (
            // A file on disk that is not an output, where a directory must go.
            tar_with(|b| file(b, "outputs/cli/Cargo.toml/x", b"1")),
            Refusal::FileInTheWay {
                path: "cli/Cargo.toml".into(),
            },
        ),
    ];
    let outputs = |rel: &Path| rel.starts_with("cli") && rel != Path::new("cli/Cargo.toml");
    for (tar, expected) in cases {
        let (_, reason) = refusal(ws.restore(tar, &outputs));
        assert_eq!(reason, expected);
        assert_eq!(ws.snapshot(), before);
    }
}

#[test]
fn the_member_count_is_limited_before_writing() {
    let ws = Workspace::new();
    let before = ws.snapshot();
    let tar = tar_with(|b| {
        for i in 0..5 {
            file(b, &format!("outputs/cli/f{i}"), b"x");
        }
    });
    let limits = RestoreLimits {
        max_members: 4,
        ..RestoreLimits::default()
    };
    let err = ws.restore_with(tar, &limits, &everything).unwrap_err();
    assert!(err.to_string().contains("more than 4 members"), "{err}");
    assert_eq!(ws.snapshot(), before);
}

#[test]
fn the_declared_outputs_are_restored() {
    let ws = Workspace::new();
    let tar = tar_with(|b| file(b, "outputs/cli/.check.out", b"ok"));
    ws.restore(tar, &check_out).unwrap();
    assert_eq!(fs::read(ws.root().join("cli/.check.out")).unwrap(), b"ok");
}

/// A GNU long-name record header claiming `size` bytes, as raw tar blocks.
fn long_name_record(name: &[u8], claimed: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::GNULongName);
    header.set_size(claimed);
    header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(name);
    out.resize(out.len().next_multiple_of(512), 0);
    out
}

fn head_then(raw: &[u8]) -> Vec<u8> {
    let mut tar = tar_with(|_| {});
    // Drop the end-of-archive blocks `tar_with` wrote, append, end again.
    tar.truncate(tar.len() - 1024);
    tar.extend_from_slice(raw);
    tar.extend_from_slice(&[0; 1024]);
    tar
}

#[test]
fn a_huge_long_name_record_is_refused_unread() {
    // 256 MiB of name compresses to almost nothing; the `tar` crate would read
    // it whole. The guard refuses it from its header, so 1 MiB of it is enough
    // to show: without the guard the read would fail later, on the short data.
    let ws = Workspace::new();
    let before = ws.snapshot();
    let mut raw = long_name_record(b"", 256 << 20);
    raw.resize(raw.len() + (1 << 20), b'a');
    let tar = head_then(&raw);
    let started = std::time::Instant::now();
    let err = ws.restore(tar, &everything).unwrap_err();
    match &err {
        CacheError::Corrupt {
            reason: Corruption::Archive(why),
            ..
        } => assert!(why.contains("over the limit of 4096"), "{why}"),
        other => panic!("expected a corrupt archive, got {other:?}"),
    }
    assert!(err.to_string().len() < 400, "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(ws.snapshot(), before);
}

#[test]
fn names_in_errors_are_bounded_and_escaped() {
    // A 3000-byte name full of terminal escapes, outside `outputs/`.
    let ws = Workspace::new();
    let name = "\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J".repeat(150);
    let mut raw = long_name_record(format!("{name}\0").as_bytes(), name.len() as u64 + 1);
    let file = raw_header("short", EntryType::Regular, 1, None);
    raw.extend_from_slice(file.as_bytes());
    raw.extend_from_slice(b"x");
    raw.resize(raw.len().next_multiple_of(512), 0);
    let err = ws.restore(head_then(&raw), &everything).unwrap_err();
    let message = err.to_string();
    assert!(matches!(
        err,
        CacheError::UnsafeMember {
            reason: Refusal::UnexpectedMember,
            ..
        }
    ));
    // 200 characters of the name at most, each escape six characters long.
    assert!(message.len() < 1500, "{} bytes: {message}", message.len());
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(message.contains("\\u{1b}]52;c;"), "{message}");
    assert!(
        message.contains(&format!("({} bytes)", name.len())),
        "{message}"
    );
}

#[test]
fn an_entry_belongs_to_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    let (a, b) = (key(60), key(61));
    store_simple(&cache, &tmp.path().join("pkg"), &a, b"built for a");
    let bytes = cache.read_raw(&a).unwrap().unwrap();

    // Served under another key (a remote that answers b with a's artifact).
    let err = cache.write_raw(&b, &bytes).unwrap_err();
    assert!(
        matches!(
            err,
            CacheError::Corrupt {
                reason: Corruption::HashMismatch,
                ..
            }
        ),
        "{err:?}"
    );
    // Copied under another key's name in the cache directory.
    write(&entry_file(&cache, &b), &bytes);
    assert!(matches!(
        cache.lookup(&b).unwrap(),
        Lookup::Corrupt {
            reason: Corruption::HashMismatch,
            ..
        }
    ));
    assert!(matches!(cache.lookup(&b).unwrap(), Lookup::Miss));
    assert!(matches!(cache.lookup(&a).unwrap(), Lookup::Hit(_)));
}

#[test]
fn an_entry_of_the_first_format_is_a_quiet_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    let k = key(62);
    // The first format: `XTC1` and the plain blake3 of the body, no key.
    let body = zstd::encode_all(&tar_with(|_| {})[..], 3).unwrap();
    let mut old = 0x184D_2A50u32.to_le_bytes().to_vec();
    old.extend_from_slice(&40u32.to_le_bytes());
    old.extend_from_slice(b"XTC1\0\0\0\0");
    old.extend_from_slice(blake3::hash(&body).as_bytes());
    old.extend_from_slice(&body);
    write(&entry_file(&cache, &k), &old);
    assert!(matches!(cache.lookup(&k).unwrap(), Lookup::Miss));
    assert!(!entry_file(&cache, &k).exists(), "removed");
}
