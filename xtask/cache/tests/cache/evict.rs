//! status, verify, prune and clean.

use std::fs;
use std::os::unix::fs::symlink;

use xtask_cache::{Corruption, LocalCache, Lookup, PrunePolicy};

use crate::common::*;

use std::time::Duration;

const DAY: u64 = 24 * 60 * 60;

fn cache_with(keys: &[u32]) -> (tempfile::TempDir, LocalCache) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    for &n in keys {
        store_simple(
            &cache,
            &tmp.path().join("pkg"),
            &key(n),
            format!("output {n}").as_bytes(),
        );
    }
    (tmp, cache)
}

fn present(cache: &LocalCache, n: u32) -> bool {
    entry_file(cache, &key(n)).exists()
}

#[test]
fn status_counts_entries_and_temp_files_and_ignores_strangers() {
    let (_tmp, cache) = cache_with(&[1, 2, 3]);
    set_mtime(&entry_file(&cache, &key(1)), ago(3 * DAY));
    set_mtime(&entry_file(&cache, &key(3)), ago(DAY));
    let tmp_dir = cache.dir().join("v1/tmp");
    fs::write(tmp_dir.join("leftover.1.2.3.tmp"), b"12345").unwrap();
    // Unknown things are ignored.
    fs::write(cache.dir().join("v1/entries/README"), b"hi").unwrap();
    fs::create_dir_all(cache.dir().join("v1/entries/zz")).unwrap();
    fs::write(cache.dir().join("v1/entries/zz/notes.txt"), b"hi").unwrap();
    let k2 = key(2);
    fs::write(
        cache
            .dir()
            .join("v1/entries")
            .join(&k2[..2])
            .join("stray.tar.zst"),
        b"hi",
    )
    .unwrap();

    let status = cache.status().unwrap();
    let sizes: u64 = [1, 2, 3]
        .iter()
        .map(|&n| fs::metadata(entry_file(&cache, &key(n))).unwrap().len())
        .sum();
    assert_eq!(status.entries, 3);
    assert_eq!(status.total_bytes, sizes);
    assert_eq!(status.tmp_files, 1);
    assert_eq!(status.tmp_bytes, 5);
    let oldest = status.oldest.unwrap();
    let newest = status.newest.unwrap();
    assert!(oldest <= ago(3 * DAY - 60) && oldest >= ago(3 * DAY + 60));
    assert!(newest >= ago(60));

    // clean removes ours, and only ours.
    let report = cache.clean().unwrap();
    assert_eq!(report.removed_entries, 3);
    assert_eq!(report.removed_bytes, sizes);
    assert_eq!(report.removed_tmp_files, 1);
    let status = cache.status().unwrap();
    assert_eq!(
        (status.entries, status.total_bytes, status.tmp_files),
        (0, 0, 0)
    );
    assert_eq!(status.oldest, None);
    assert!(cache.dir().join("v1/entries/zz/notes.txt").exists());
    assert!(matches!(cache.lookup(&key(1)).unwrap(), Lookup::Miss));
    // Cleaning an empty cache is fine.
    assert_eq!(cache.clean().unwrap().removed_entries, 0);
}

#[test]
fn prune_by_age() {
    let (_tmp, cache) = cache_with(&[1, 2, 3]);
    set_mtime(&entry_file(&cache, &key(1)), ago(10 * DAY));
    set_mtime(&entry_file(&cache, &key(2)), ago(2 * DAY));
    let report = cache
        .prune(&PrunePolicy {
            max_age: Some(Duration::from_secs(7 * DAY)),
            max_bytes: None,
        })
        .unwrap();
    assert_eq!(report.removed_entries, 1);
    assert_eq!(report.remaining_entries, 2);
    assert!(!present(&cache, 1));
    assert!(present(&cache, 2) && present(&cache, 3));
}

#[test]
fn prune_by_size_removes_least_recently_used_first() {
    let (_tmp, cache) = cache_with(&[1, 2, 3, 4]);
    // Stored long ago in the order 1, 2, 3, 4...
    for (n, days) in [(1, 4), (2, 3), (3, 2), (4, 1)] {
        set_mtime(&entry_file(&cache, &key(n)), ago(days * DAY));
    }
    // ...but 1 and 2 were looked up just now, so 3 and 4 are the least recent.
    expect_hit(cache.lookup(&key(2)).unwrap());
    expect_hit(cache.lookup(&key(1)).unwrap());
    let len = |n| fs::metadata(entry_file(&cache, &key(n))).unwrap().len();
    let budget = len(1) + len(2) + len(4);
    let len_3 = len(3);

    let report = cache
        .prune(&PrunePolicy {
            max_bytes: Some(budget),
            max_age: None,
        })
        .unwrap();
    assert_eq!(report.removed_entries, 1);
    assert_eq!(report.removed_bytes, len_3);
    assert!(!present(&cache, 3), "the least recently used goes first");
    assert!(present(&cache, 1) && present(&cache, 2) && present(&cache, 4));
    assert!(report.remaining_bytes <= budget);

    // A budget of zero empties the cache.
    let report = cache
        .prune(&PrunePolicy {
            max_bytes: Some(0),
            max_age: None,
        })
        .unwrap();
    assert_eq!((report.removed_entries, report.remaining_entries), (3, 0));
    assert_eq!(report.remaining_bytes, 0);
}

#[test]
fn prune_sweeps_stale_temp_files_only() {
    let (_tmp, cache) = cache_with(&[1]);
    let tmp_dir = cache.dir().join("v1/tmp");
    fs::write(tmp_dir.join("dead.1.1.1.tmp"), b"old").unwrap();
    set_mtime(&tmp_dir.join("dead.1.1.1.tmp"), ago(2 * 60 * 60));
    fs::write(tmp_dir.join("live.1.2.1.tmp"), b"new").unwrap();
    let report = cache.prune(&PrunePolicy::default()).unwrap();
    assert_eq!(report.removed_tmp_files, 1);
    assert_eq!(report.removed_entries, 0);
    assert!(!tmp_dir.join("dead.1.1.1.tmp").exists());
    assert!(tmp_dir.join("live.1.2.1.tmp").exists());
    assert!(present(&cache, 1));
}

#[test]
fn verify_removes_damaged_and_unsafe_entries() {
    let (tmp, cache) = cache_with(&[1, 2, 3]);
    let path = entry_file(&cache, &key(2));
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2 + 24;
    bytes[middle] ^= 0x40;
    fs::write(&path, bytes).unwrap();
    // An entry whose hash is fine but which restore would refuse.
    let tar = tar_with(|b| {
        let link = raw_header("outputs/link", tar::EntryType::Symlink, 0, Some("../x"));
        b.append(&link, &[][..]).unwrap();
    });
    cache
        .write_raw(&key(4), &entry_bytes(&key(4), &tar))
        .unwrap();
    // Strangers are not entries.
    symlink(tmp.path(), cache.dir().join("v1/entries/ab")).unwrap();

    let report = cache.verify().unwrap();
    assert_eq!(report.checked, 4);
    let mut removed: Vec<_> = report
        .removed
        .iter()
        .map(|c| (c.key.clone(), std::mem::discriminant(&c.reason)))
        .collect();
    removed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (key(2), std::mem::discriminant(&Corruption::HashMismatch)),
        (
            key(4),
            std::mem::discriminant(&Corruption::Unsafe(String::new())),
        ),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(removed, expected);
    assert!(present(&cache, 1) && present(&cache, 3));
    assert!(!present(&cache, 2) && !present(&cache, 4));
    assert_eq!(cache.verify().unwrap().removed, vec![]);
}
