//! Hand-built hostile archives, wrapped in a valid entry: restore refuses them,
//! names the member, and writes nothing outside the base directory.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use tar::EntryType;
use xtask_cache::{CacheError, LinkProblem, LocalCache, Refusal, RestoreLimits};

use crate::common::*;

struct Setup {
    tmp: tempfile::TempDir,
    cache: LocalCache,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
        write(&tmp.path().join("outside/keep.txt"), b"keep");
        fs::create_dir_all(tmp.path().join("ws/pkg")).unwrap();
        Setup { tmp, cache }
    }

    /// The base directory is two levels down so `../..` targets have somewhere to go.
    fn base(&self) -> PathBuf {
        self.tmp.path().join("ws/pkg")
    }

    /// Installs `tar` as an entry and restores it.
    fn restore(&self, tar: Vec<u8>, limits: RestoreLimits) -> Result<(), CacheError> {
        let key = key(30);
        // write_raw accepts it: the head is fine and the hash matches. Refusing
        // the members is restore's job.
        self.cache
            .write_raw(&key, &entry_bytes(&key, &tar))
            .unwrap();
        let entry = expect_hit(self.cache.lookup(&key).unwrap());
        entry
            .restore_outputs(&self.base(), &limits, &everything)
            .map(|_| ())
    }

    /// Everything outside the base directory, except the cache.
    fn outside_base(&self) -> Vec<String> {
        tree(self.tmp.path())
            .into_iter()
            .filter(|p| !p.starts_with("cache") && !p.starts_with("ws/pkg/"))
            .collect()
    }
}

fn expect_refusal(result: Result<(), CacheError>, member: &str, expected: Refusal) {
    match result {
        Err(err @ CacheError::UnsafeMember { .. }) => {
            let CacheError::UnsafeMember {
                member: m, reason, ..
            } = &err
            else {
                unreachable!()
            };
            assert_eq!(m, Path::new(member));
            assert_eq!(reason, &expected);
            assert!(err.to_string().contains(member), "{err}");
        }
        other => panic!("expected a refusal of {member}, got {other:?}"),
    }
}

const UNTOUCHED: [&str; 4] = ["outside", "outside/keep.txt", "ws", "ws/pkg"];

fn one_member(path: &str, entry_type: EntryType, data: &[u8], link: Option<&str>) -> Vec<u8> {
    tar_with(|b| {
        let header = raw_header(path, entry_type, data.len() as u64, link);
        b.append(&header, data).unwrap();
    })
}

#[test]
fn parent_dir_member() {
    let s = Setup::new();
    let tar = one_member("outputs/../evil", EntryType::Regular, b"evil", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/../evil",
        Refusal::ParentDir,
    );
    assert_eq!(s.outside_base(), UNTOUCHED);
    assert_eq!(tree(&s.base()), Vec::<String>::new());
}

#[test]
fn deep_parent_dir_member() {
    let s = Setup::new();
    let tar = one_member("outputs/a/../../../evil", EntryType::Regular, b"evil", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/a/../../../evil",
        Refusal::ParentDir,
    );
    assert_eq!(s.outside_base(), UNTOUCHED);
}

#[test]
fn absolute_member() {
    let s = Setup::new();
    let target = s.tmp.path().join("outside/abs-evil");
    let path = target.to_str().unwrap().to_owned();
    let tar = one_member(&path, EntryType::Regular, b"evil", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        &path,
        Refusal::AbsolutePath,
    );
    assert!(!target.exists());
    assert_eq!(s.outside_base(), UNTOUCHED);
}

#[test]
fn escaping_symlink() {
    let s = Setup::new();
    let tar = one_member(
        "outputs/link",
        EntryType::Symlink,
        b"",
        Some("../../outside"),
    );
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/link",
        Refusal::Symlink {
            target: "../../outside".into(),
            problem: LinkProblem::Escapes,
        },
    );
    assert!(fs::symlink_metadata(s.base().join("link")).is_err());
    assert_eq!(s.outside_base(), UNTOUCHED);
}

#[test]
fn absolute_symlink() {
    let s = Setup::new();
    let tar = one_member("outputs/link", EntryType::Symlink, b"", Some("/etc"));
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/link",
        Refusal::Symlink {
            target: "/etc".into(),
            problem: LinkProblem::Absolute,
        },
    );
    assert_eq!(tree(&s.base()), Vec::<String>::new());
}

#[test]
fn symlink_then_file_through_it() {
    // The classic two-step: a link to a directory outside, then a file "inside" it.
    let s = Setup::new();
    let tar = tar_with(|b| {
        let link = raw_header("outputs/dir", EntryType::Symlink, 0, Some("../../outside"));
        b.append(&link, &[][..]).unwrap();
        let file = raw_header("outputs/dir/keep.txt", EntryType::Regular, 4, None);
        b.append(&file, &b"evil"[..]).unwrap();
    });
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/dir",
        Refusal::Symlink {
            target: "../../outside".into(),
            problem: LinkProblem::Escapes,
        },
    );
    assert_eq!(
        fs::read(s.tmp.path().join("outside/keep.txt")).unwrap(),
        b"keep"
    );
}

#[test]
fn symlink_chains_that_only_escape_for_real() {
    // `a/p -> ..` is inside (it is the base); `a/p/x -> ../..` looks two deep by
    // its path but really sits in the base, so it would reach the base's parent.
    // Nothing is ever written below a link of the same archive.
    let s = Setup::new();
    let tar = tar_with(|b| {
        let p = raw_header("outputs/a/p", EntryType::Symlink, 0, Some(".."));
        b.append(&p, &[][..]).unwrap();
        let x = raw_header("outputs/a/p/x", EntryType::Symlink, 0, Some("../.."));
        b.append(&x, &[][..]).unwrap();
    });
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/a/p/x",
        Refusal::InsideNonDirectory {
            parent: "a/p".into(),
        },
    );
    assert!(fs::symlink_metadata(s.base().join("x")).is_err());
    assert_eq!(tree(&s.base()), Vec::<String>::new(), "not even `a/p`");

    // `d/s -> ..` then `x -> d/s/..`: lexically inside, really the base's parent.
    let s = Setup::new();
    let tar = tar_with(|b| {
        let ds = raw_header("outputs/d/s", EntryType::Symlink, 0, Some(".."));
        b.append(&ds, &[][..]).unwrap();
        let x = raw_header("outputs/x", EntryType::Symlink, 0, Some("d/s/.."));
        b.append(&x, &[][..]).unwrap();
    });
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/x",
        Refusal::Symlink {
            target: "d/s/..".into(),
            problem: LinkProblem::DotDotAfterName,
        },
    );
}

#[test]
fn existing_parent_symlink_leading_outside() {
    let s = Setup::new();
    symlink(s.tmp.path().join("outside"), s.base().join("out")).unwrap();
    let tar = one_member("outputs/out/keep.txt", EntryType::Regular, b"evil", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/out/keep.txt",
        Refusal::ParentEscapes { path: "out".into() },
    );
    assert_eq!(
        fs::read(s.tmp.path().join("outside/keep.txt")).unwrap(),
        b"keep"
    );
}

#[test]
fn hard_link() {
    let s = Setup::new();
    let tar = tar_with(|b| {
        let file = raw_header("outputs/a", EntryType::Regular, 1, None);
        b.append(&file, &b"a"[..]).unwrap();
        let link = raw_header(
            "outputs/h",
            EntryType::Link,
            0,
            Some("../../outside/keep.txt"),
        );
        b.append(&link, &[][..]).unwrap();
    });
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/h",
        Refusal::HardLink,
    );
    assert!(!s.base().join("h").exists());
}

#[test]
fn char_device_and_fifo() {
    let s = Setup::new();
    let tar = one_member("outputs/null", EntryType::Char, b"", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/null",
        Refusal::Device,
    );
    let tar = one_member("outputs/pipe", EntryType::Fifo, b"", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/pipe",
        Refusal::Fifo,
    );
    assert_eq!(tree(&s.base()), Vec::<String>::new());
}

#[test]
fn members_outside_outputs() {
    let s = Setup::new();
    let tar = one_member("elsewhere.txt", EntryType::Regular, b"x", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "elsewhere.txt",
        Refusal::UnexpectedMember,
    );
}

#[test]
fn over_the_size_limit() {
    let s = Setup::new();
    let tar = tar_with(|b| {
        let small = raw_header("outputs/small", EntryType::Regular, 600, None);
        b.append(&small, &[1u8; 600][..]).unwrap();
        let big = raw_header("outputs/big", EntryType::Regular, 600, None);
        b.append(&big, &[2u8; 600][..]).unwrap();
    });
    let limits = RestoreLimits {
        max_bytes: 1000,
        ..RestoreLimits::default()
    };
    match s.restore(tar, limits) {
        Err(err @ CacheError::RestoreTooLarge { .. }) => {
            let CacheError::RestoreTooLarge { member, limit, .. } = &err else {
                unreachable!()
            };
            assert_eq!(member, Path::new("outputs/big"));
            assert_eq!(*limit, 1000);
            assert!(err.to_string().contains("outputs/big"), "{err}");
        }
        other => panic!("expected RestoreTooLarge, got {other:?}"),
    }
    assert_eq!(tree(&s.base()), Vec::<String>::new(), "not even `small`");
    assert_eq!(s.outside_base(), UNTOUCHED);
}

#[test]
fn existing_parent_symlink_staying_inside_is_followed() {
    // Not everything is hostile: a workspace may link one of its directories to
    // another one of its own.
    let s = Setup::new();
    fs::create_dir_all(s.base().join("real")).unwrap();
    symlink("real", s.base().join("alias")).unwrap();
    let tar = tar_with(|b| {
        let file = raw_header("outputs/alias/file.txt", EntryType::Regular, 2, None);
        b.append(&file, &b"ok"[..]).unwrap();
        let link = raw_header("outputs/alias/up", EntryType::Symlink, 0, Some("../real"));
        b.append(&link, &[][..]).unwrap();
    });
    s.restore(tar, RestoreLimits::default()).unwrap();
    assert_eq!(fs::read(s.base().join("real/file.txt")).unwrap(), b"ok");
    assert_eq!(
        fs::read_link(s.base().join("real/up")).unwrap(),
        Path::new("../real")
    );
    assert_eq!(s.outside_base(), UNTOUCHED);
}

#[test]
fn a_directory_in_the_way_of_a_file() {
    let s = Setup::new();
    write(&s.base().join("thing/inside.txt"), b"user data");
    let tar = one_member("outputs/thing", EntryType::Regular, b"file", None);
    expect_refusal(
        s.restore(tar, RestoreLimits::default()),
        "outputs/thing",
        Refusal::DirectoryInTheWay,
    );
    assert_eq!(
        fs::read(s.base().join("thing/inside.txt")).unwrap(),
        b"user data"
    );
}
