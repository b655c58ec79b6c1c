//! Several writers and a reader on the same key, as two `cargo xtask` runs would be.

use std::sync::atomic::{AtomicBool, Ordering};

use xtask_cache::{Artifact, LocalCache, Lookup, RestoreLimits};

use crate::common::*;

#[test]
fn concurrent_stores_and_lookups_never_see_a_corrupt_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let base = tmp.path().join("pkg");
    // Big enough that a store takes more than an instant.
    let contents: Vec<u8> = (0..200_000u32)
        .flat_map(|i| (i.wrapping_mul(2_654_435_761)).to_le_bytes())
        .collect();
    write(&base.join("big.bin"), &contents);
    let outputs = paths(&["big.bin"]);
    let key = key(40);
    let done = AtomicBool::new(false);

    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    // Each thread opens the cache itself, like a separate process.
                    let cache = LocalCache::open(&dir).unwrap();
                    for _ in 0..5 {
                        cache
                            .store(
                                &key,
                                &Artifact {
                                    meta: b"{}",
                                    log: b"log",
                                    base_dir: &base,
                                    outputs: &outputs,
                                },
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        let reader = scope.spawn(|| {
            let cache = LocalCache::open(&dir).unwrap();
            let mut hits = 0;
            while !done.load(Ordering::Relaxed) {
                match cache.lookup(&key).unwrap() {
                    Lookup::Hit(entry) => {
                        assert_eq!(entry.log(), b"log");
                        hits += 1;
                    }
                    Lookup::Miss => {}
                    corrupt @ Lookup::Corrupt { .. } => panic!("{corrupt:?}"),
                }
            }
            hits
        });
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
    });

    let cache = LocalCache::open(&dir).unwrap();
    let entry = expect_hit(cache.lookup(&key).unwrap());
    let restored = tmp.path().join("restored");
    entry
        .restore_outputs(&restored, &RestoreLimits::default(), &everything)
        .unwrap();
    assert_eq!(std::fs::read(restored.join("big.bin")).unwrap(), contents);
    let status = cache.status().unwrap();
    assert_eq!((status.entries, status.tmp_files), (1, 0));
}

#[test]
fn an_entry_survives_prune_between_lookup_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    let key = key(41);
    store_simple(&cache, &tmp.path().join("pkg"), &key, b"still here");
    let entry = expect_hit(cache.lookup(&key).unwrap());
    cache.clean().unwrap();
    let restored = tmp.path().join("restored");
    entry
        .restore_outputs(&restored, &RestoreLimits::default(), &everything)
        .unwrap();
    assert_eq!(
        std::fs::read(restored.join("out.txt")).unwrap(),
        b"still here"
    );
}
