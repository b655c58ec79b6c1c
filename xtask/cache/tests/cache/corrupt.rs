//! Damaged entry files read as Corrupt, are removed, and the next lookup misses.

use std::fs;

use xtask_cache::{Corruption, LocalCache, Lookup};

use crate::common::*;

/// Stores an entry, damages its file with `damage`, and checks what lookup says.
fn check(damage: impl Fn(Vec<u8>) -> Vec<u8>, expected: Corruption) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(&tmp.path().join("cache")).unwrap();
    let key = key(10);
    // Enough incompressible-ish data that the body is well past the header.
    let contents: Vec<u8> = (0..20_000u32)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    store_simple(&cache, &tmp.path().join("pkg"), &key, &contents);
    let path = entry_file(&cache, &key);
    fs::write(&path, damage(fs::read(&path).unwrap())).unwrap();

    match cache.lookup(&key).unwrap() {
        Lookup::Corrupt { key: k, reason } => {
            assert_eq!(k, key);
            // Same kind of defect; `Archive` carries the decoder's own words.
            assert_eq!(
                std::mem::discriminant(&reason),
                std::mem::discriminant(&expected),
                "{reason:?}"
            );
        }
        other => panic!("expected Corrupt({expected:?}), got {other:?}"),
    }
    assert!(!path.exists(), "the corrupt file is removed");
    assert!(matches!(cache.lookup(&key).unwrap(), Lookup::Miss));
}

#[test]
fn truncated_to_half() {
    check(
        |mut b| {
            b.truncate(b.len() / 2);
            b
        },
        Corruption::HashMismatch,
    );
}

#[test]
fn shorter_than_the_header() {
    check(
        |mut b| {
            b.truncate(30);
            b
        },
        Corruption::Truncated,
    );
}

#[test]
fn empty_file() {
    check(|_| Vec::new(), Corruption::Truncated);
}

#[test]
fn one_flipped_byte_in_the_body() {
    check(
        |mut b| {
            let middle = b.len() / 2;
            b[middle] ^= 0x01;
            b
        },
        Corruption::HashMismatch,
    );
}

#[test]
fn one_flipped_byte_in_the_stored_hash() {
    check(
        |mut b| {
            b[20] ^= 0x80;
            b
        },
        Corruption::HashMismatch,
    );
}

#[test]
fn bad_magic() {
    check(
        |mut b| {
            b[..4].copy_from_slice(b"\x28\xb5\x2f\xfd");
            b
        },
        Corruption::BadHeader,
    );
}

#[test]
fn valid_hash_over_an_unreadable_archive() {
    // Self-consistent header, but the body is not zstd: the hash cannot catch it.
    check(
        |_| {
            let body = b"definitely not a zstd frame".to_vec();
            let mut bytes = entry_bytes(&key(10), b"");
            bytes.truncate(16);
            let mut hasher = blake3::Hasher::new_derive_key(xtask_cache::FRAME_CONTEXT);
            hasher.update(key(10).as_bytes());
            hasher.update(&body);
            bytes.extend_from_slice(hasher.finalize().as_bytes());
            bytes.extend_from_slice(&body);
            bytes
        },
        Corruption::Archive(String::new()),
    )
}
