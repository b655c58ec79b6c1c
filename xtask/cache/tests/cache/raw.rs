//! Raw bytes in and out, as a remote cache will use them.

use std::fs;

use xtask_cache::{CacheError, LocalCache, Lookup, RestoreLimits};

use crate::common::*;

#[test]
fn read_raw_then_write_raw_moves_an_entry_between_caches() {
    let tmp = tempfile::tempdir().unwrap();
    let first = LocalCache::open(&tmp.path().join("first")).unwrap();
    let second = LocalCache::open(&tmp.path().join("second")).unwrap();
    let key = key(20);
    store_simple(&first, &tmp.path().join("pkg"), &key, b"portable");

    assert_eq!(second.read_raw(&key).unwrap(), None);
    let bytes = first.read_raw(&key).unwrap().unwrap();
    assert_eq!(bytes, fs::read(entry_file(&first, &key)).unwrap());
    second.write_raw(&key, &bytes).unwrap();

    let entry = expect_hit(second.lookup(&key).unwrap());
    assert_eq!(entry.meta(), b"{}");
    let elsewhere = tmp.path().join("elsewhere");
    entry
        .restore_outputs(&elsewhere, &RestoreLimits::default(), &everything)
        .unwrap();
    assert_eq!(fs::read(elsewhere.join("out.txt")).unwrap(), b"portable");
    assert_eq!(second.status().unwrap().tmp_files, 0);
}

#[test]
fn write_raw_refuses_bytes_that_do_not_match_their_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let first = LocalCache::open(&tmp.path().join("first")).unwrap();
    let second = LocalCache::open(&tmp.path().join("second")).unwrap();
    let key = key(21);
    store_simple(&first, &tmp.path().join("pkg"), &key, b"portable");
    let good = first.read_raw(&key).unwrap().unwrap();

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let mut short = good.clone();
    short.truncate(good.len() - 3);
    for bad in [flipped, short, Vec::new(), b"hello".to_vec()] {
        let err = second.write_raw(&key, &bad).unwrap_err();
        assert!(matches!(err, CacheError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains(&key), "{err}");
    }
    assert!(matches!(second.lookup(&key).unwrap(), Lookup::Miss));
    let status = second.status().unwrap();
    assert_eq!((status.entries, status.tmp_files), (0, 0));
}

#[test]
fn read_raw_removes_a_corrupt_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    let key = key(22);
    store_simple(&cache, &tmp.path().join("pkg"), &key, b"x");
    let path = entry_file(&cache, &key);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, bytes).unwrap();

    assert!(matches!(
        cache.read_raw(&key),
        Err(CacheError::Corrupt { .. })
    ));
    assert!(!path.exists());
    assert_eq!(cache.read_raw(&key).unwrap(), None);
}
