//! A cache that cannot be set up is read-only, never an error for the caller
//! that asks for `open_or_read_only`; leftovers of dead stores are swept.

use std::fs;

use xtask_cache::{Artifact, CacheError, LocalCache, Lookup};

use crate::common::*;

#[test]
fn tmp_being_a_file_gives_a_read_only_cache_that_still_hits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let cache = LocalCache::open(&dir).unwrap();
    let stored = key(70);
    store_simple(&cache, &tmp.path().join("pkg"), &stored, b"kept");
    fs::remove_dir(dir.join("v1/tmp")).unwrap();
    fs::write(dir.join("v1/tmp"), b"not a directory").unwrap();

    assert!(matches!(
        LocalCache::open(&dir),
        Err(CacheError::CreateDir { .. })
    ));
    let (cache, problem) = LocalCache::open_or_read_only(&dir);
    let problem = problem.expect("the reason, for one warning");
    assert!(problem.is_cache_fault(), "{problem:?}");
    assert!(!cache.is_writable());
    assert!(matches!(cache.lookup(&stored).unwrap(), Lookup::Hit(_)));
    assert!(matches!(cache.lookup(&key(71)).unwrap(), Lookup::Miss));
    let err = cache
        .store(
            &key(71),
            &Artifact {
                meta: b"{}",
                log: b"",
                base_dir: tmp.path(),
                outputs: &[],
            },
        )
        .unwrap_err();
    assert!(matches!(err, CacheError::ReadOnly { .. }) && err.is_cache_fault());
    assert!(
        cache
            .write_raw(&key(71), b"x")
            .unwrap_err()
            .is_cache_fault()
    );
}

#[test]
fn a_cache_dir_that_is_a_file_reads_as_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    fs::write(&dir, b"a file").unwrap();
    let (cache, problem) = LocalCache::open_or_read_only(&dir);
    assert!(problem.is_some());
    assert!(matches!(cache.lookup(&key(72)).unwrap(), Lookup::Miss));
    assert_eq!(cache.read_raw(&key(72)).unwrap(), None);
}

#[test]
fn open_sweeps_temp_files_of_dead_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    LocalCache::open(&dir).unwrap();
    let old = dir.join("v1/tmp/somekey.123.0.456.tmp");
    let fresh = dir.join("v1/tmp/otherkey.124.0.457.tmp");
    let foreign = dir.join("v1/tmp/notes.txt");
    for path in [&old, &fresh, &foreign] {
        write(path, b"half an entry");
    }
    set_mtime(&old, ago(2 * 3600));
    set_mtime(&foreign, ago(2 * 3600));
    LocalCache::open(&dir).unwrap();
    assert!(!old.exists(), "a store that died two hours ago left it");
    assert!(fresh.exists(), "a store in progress may own it");
    assert!(foreign.exists(), "not ours");
}
