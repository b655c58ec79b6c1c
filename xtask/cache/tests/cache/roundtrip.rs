//! Store, delete, look up, restore: everything comes back as it was.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use xtask_cache::{Artifact, CacheError, LocalCache, Lookup, RestoreLimits, RestoreReport};

use crate::common::*;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn mtime(path: &Path) -> std::time::SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn outputs_meta_and_log_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("pkg");
    let cache = LocalCache::open(&tmp.path().join("turbo-cache")).unwrap();

    write(&base.join("dist/nested/deep.txt"), b"deep contents");
    write(&base.join("dist/run.sh"), b"#!/bin/sh\necho hi\n");
    fs::set_permissions(base.join("dist/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(base.join("dist/empty")).unwrap();
    symlink("nested/deep.txt", base.join("dist/link")).unwrap();
    let deep_time = at(1_600_000_000, 123_456_789);
    let run_time = at(1_500_000_000, 0);
    set_mtime(&base.join("dist/nested/deep.txt"), deep_time);
    set_mtime(&base.join("dist/run.sh"), run_time);

    let meta = br#"{"exit_code":0,"duration_ms":12}"#;
    let log = b"compiling\n\x1b[32mok\x1b[0m\n\xff binary too";
    let outputs = paths(&[
        "dist/run.sh",
        "./dist/nested/deep.txt",
        "dist/link",
        "dist/empty",
        "dist/run.sh",
    ]);
    let key = key(1);
    let info = cache
        .store(
            &key,
            &Artifact {
                meta,
                log,
                base_dir: &base,
                outputs: &outputs,
            },
        )
        .unwrap();
    assert_eq!(info.path, entry_file(&cache, &key));
    assert_eq!(info.bytes, fs::metadata(&info.path).unwrap().len());

    fs::remove_dir_all(base.join("dist")).unwrap();

    let entry = expect_hit(cache.lookup(&key).unwrap());
    assert_eq!(entry.key(), key);
    assert_eq!(entry.meta(), meta);
    assert_eq!(entry.log(), log);
    let report = entry
        .restore_outputs(&base, &RestoreLimits::default(), &everything)
        .unwrap();
    assert_eq!(
        report,
        RestoreReport {
            files: 2,
            symlinks: 1,
            directories: 1,
            bytes: 13 + 18,
        }
    );

    assert_eq!(
        fs::read(base.join("dist/nested/deep.txt")).unwrap(),
        b"deep contents"
    );
    assert_eq!(
        fs::read(base.join("dist/run.sh")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    assert_eq!(mode(&base.join("dist/run.sh")), 0o755);
    assert_eq!(mode(&base.join("dist/nested/deep.txt")), 0o644);
    assert_eq!(mtime(&base.join("dist/nested/deep.txt")), deep_time);
    assert_eq!(mtime(&base.join("dist/run.sh")), run_time);
    assert_eq!(
        fs::read_link(base.join("dist/link")).unwrap(),
        Path::new("nested/deep.txt")
    );
    assert!(base.join("dist/empty").is_dir());
    // Nothing else: no temp files left next to the outputs.
    assert_eq!(
        tree(&base),
        [
            "dist",
            "dist/empty",
            "dist/link",
            "dist/nested",
            "dist/nested/deep.txt",
            "dist/run.sh"
        ]
    );
}

#[test]
fn layout_is_versioned_tagged_and_a_plain_tar_zst() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("pkg");
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    assert_eq!(cache.dir(), tmp.path().join("cache"));
    let tag = fs::read_to_string(tmp.path().join("cache/CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n# "));
    assert!(tmp.path().join("cache/v1/tmp").is_dir());
    // Opening again is fine.
    LocalCache::open(&tmp.path().join("cache")).unwrap();

    write(&base.join("b.txt"), b"b");
    write(&base.join("a/z.txt"), b"z");
    let key = key(2);
    cache
        .store(
            &key,
            &Artifact {
                meta: b"m",
                log: b"l",
                base_dir: &base,
                outputs: &paths(&["b.txt", "a/z.txt"]),
            },
        )
        .unwrap();

    // `zstd -d | tar t` works on the file as it is: the header is a skippable frame.
    let file = fs::read(entry_file(&cache, &key)).unwrap();
    let tar = zstd::decode_all(&file[..]).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut data = String::new();
        entry.read_to_string(&mut data).unwrap();
        names.push(format!("{name}={data}"));
    }
    assert_eq!(
        names,
        [
            "meta.json=m",
            "log=l",
            "outputs/a/z.txt=z",
            "outputs/b.txt=b"
        ]
    );
}

#[test]
fn restore_replaces_changed_outputs_and_never_writes_through_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("pkg");
    let outside = tmp.path().join("outside");
    write(&outside.join("secret.txt"), b"do not touch");
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();

    write(&base.join("dist/a.txt"), b"original a");
    write(&base.join("dist/b.txt"), b"original b");
    let key = key(3);
    cache
        .store(
            &key,
            &Artifact {
                meta: b"{}",
                log: b"",
                base_dir: &base,
                outputs: &paths(&["dist/a.txt", "dist/b.txt"]),
            },
        )
        .unwrap();

    // One output edited, the other replaced by a symlink leading outside.
    write(&base.join("dist/a.txt"), b"edited since");
    fs::remove_file(base.join("dist/b.txt")).unwrap();
    symlink(outside.join("secret.txt"), base.join("dist/b.txt")).unwrap();

    let entry = expect_hit(cache.lookup(&key).unwrap());
    entry
        .restore_outputs(&base, &RestoreLimits::default(), &everything)
        .unwrap();

    assert_eq!(fs::read(base.join("dist/a.txt")).unwrap(), b"original a");
    let b = fs::symlink_metadata(base.join("dist/b.txt")).unwrap();
    assert!(b.is_file(), "the symlink is replaced by a regular file");
    assert_eq!(fs::read(base.join("dist/b.txt")).unwrap(), b"original b");
    assert_eq!(
        fs::read(outside.join("secret.txt")).unwrap(),
        b"do not touch"
    );
    assert_eq!(tree(&outside), ["secret.txt"]);
}

#[test]
fn store_rejects_bad_output_lists_and_leaves_no_temp_files() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("pkg");
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    write(&base.join("present.txt"), b"x");
    symlink("../../elsewhere", base.join("escaping")).unwrap();
    let store = |outputs: &[&str]| {
        cache.store(
            &key(4),
            &Artifact {
                meta: b"{}",
                log: b"",
                base_dir: &base,
                outputs: &paths(outputs),
            },
        )
    };

    match store(&["present.txt", "dist/missing.bin"]) {
        Err(err @ CacheError::MissingOutput { .. }) => {
            assert!(err.to_string().contains("dist/missing.bin"), "{err}")
        }
        other => panic!("expected MissingOutput, got {other:?}"),
    }
    for bad in ["../x", "dist/../../x", "/etc/passwd", "", "."] {
        assert!(
            matches!(store(&[bad]), Err(CacheError::InvalidOutputPath { .. })),
            "{bad:?}"
        );
    }
    match store(&["escaping"]) {
        Err(err @ CacheError::UnsupportedOutput { .. }) => {
            assert!(err.to_string().contains("leads outside"), "{err}")
        }
        other => panic!("expected UnsupportedOutput, got {other:?}"),
    }

    assert!(matches!(cache.lookup(&key(4)).unwrap(), Lookup::Miss));
    let status = cache.status().unwrap();
    assert_eq!((status.entries, status.tmp_files), (0, 0));
}

#[test]
fn invalid_keys_are_errors_never_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(tmp.path()).unwrap();
    let upper = key(5).to_uppercase();
    let short = &key(5)[..10];
    let traversal = format!("../{}", &key(5)[3..]);
    for bad in ["../x", upper.as_str(), short, traversal.as_str(), ""] {
        assert!(matches!(
            cache.lookup(bad),
            Err(CacheError::InvalidKey { .. })
        ));
        assert!(matches!(
            cache.read_raw(bad),
            Err(CacheError::InvalidKey { .. })
        ));
        assert!(matches!(
            cache.write_raw(bad, b""),
            Err(CacheError::InvalidKey { .. })
        ));
        let stored = cache.store(
            bad,
            &Artifact {
                meta: b"",
                log: b"",
                base_dir: tmp.path(),
                outputs: &[],
            },
        );
        assert!(matches!(stored, Err(CacheError::InvalidKey { .. })));
    }
    let err = cache.lookup("../x").unwrap_err().to_string();
    assert!(err.starts_with("failed to use cache key \"../x\""), "{err}");
}
