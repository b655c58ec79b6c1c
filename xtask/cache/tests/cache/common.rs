//! Fixtures: keys, output trees and hand-built entry files.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xtask_cache::{Artifact, Entry, LocalCache, Lookup, StoreInfo};

/// A valid key derived from `n`.
pub fn key(n: u32) -> String {
    blake3::hash(&n.to_le_bytes()).to_hex().to_string()
}

pub fn write(path: &Path, contents: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

pub fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

pub fn ago(secs: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(secs)
}

pub fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

pub fn paths(list: &[&str]) -> Vec<PathBuf> {
    list.iter().map(PathBuf::from).collect()
}

/// Stores one small file as the output of `key`.
pub fn store_simple(cache: &LocalCache, base: &Path, key: &str, contents: &[u8]) -> StoreInfo {
    write(&base.join("out.txt"), contents);
    cache
        .store(
            key,
            &Artifact {
                meta: b"{}",
                log: b"log",
                base_dir: base,
                outputs: &paths(&["out.txt"]),
            },
        )
        .unwrap()
}

pub fn expect_hit(lookup: Lookup) -> Entry {
    match lookup {
        Lookup::Hit(entry) => entry,
        other => panic!("expected a hit, got {other:?}"),
    }
}

pub fn entry_file(cache: &LocalCache, key: &str) -> PathBuf {
    cache
        .dir()
        .join("v1/entries")
        .join(&key[..2])
        .join(format!("{key}.tar.zst"))
}

/// An output filter that allows every path (restore still refuses `.git`).
pub fn everything(_: &Path) -> bool {
    true
}

/// Wraps a tar stream in the entry format of `key`, written independently of the
/// crate: skippable frame (magic, length 40, `XTC2`, 4 zero bytes, then blake3 in
/// derive-key mode over the key and the rest), then the zstd-compressed tar.
pub fn entry_bytes(key: &str, tar: &[u8]) -> Vec<u8> {
    let body = zstd::encode_all(tar, 3).unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
    bytes.extend_from_slice(&40u32.to_le_bytes());
    bytes.extend_from_slice(b"XTC2");
    bytes.extend_from_slice(&[0; 4]);
    let mut hasher = blake3::Hasher::new_derive_key(xtask_cache::FRAME_CONTEXT);
    hasher.update(key.as_bytes());
    hasher.update(&body);
    bytes.extend_from_slice(hasher.finalize().as_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

/// A tar with the head members and then whatever `members` appends.
pub fn tar_with(members: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [("meta.json", &b"{}"[..]), ("log", &b"log"[..])] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, data).unwrap();
    }
    members(&mut builder);
    builder.into_inner().unwrap()
}

/// A header written byte by byte, so it can say things the `tar` crate's setters
/// refuse (`..`, absolute paths).
pub fn raw_header(
    path: &str,
    entry_type: tar::EntryType,
    size: u64,
    link: Option<&str>,
) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(1_600_000_000);
    let old = header.as_old_mut();
    old.name[..path.len()].copy_from_slice(path.as_bytes());
    if let Some(link) = link {
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_cksum();
    header
}

/// Every path under `dir`, relative, sorted (symlinks not followed).
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
