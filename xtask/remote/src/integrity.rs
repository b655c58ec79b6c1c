//! The blake3 check of a downloaded artifact, before anyone uses it.
//!
//! An artifact is a local cache entry's bytes: a 48-byte zstd skippable frame
//! (magic `0x184D2A50`, length 40, `XTC2`, 4 zero bytes, then a blake3 in
//! derive-key mode over the artifact's key followed by the rest), then the
//! tar.zst. The key is in the hash, so an artifact served under another key
//! fails here like a damaged one; artifacts of the first format (`XTC1`, no key)
//! fail too. xtask-cache's `write_raw` checks again before installing; checking
//! here too means a corrupt download is a warning about the remote, and never
//! bytes handed to the caller. A test keeps this in step with xtask-cache.

use crate::error::{Failure, FailureKind};

const HEADER_LEN: usize = 48;
const SKIPPABLE_MAGIC: [u8; 4] = 0x184D_2A50u32.to_le_bytes();
const PAYLOAD_LEN: [u8; 4] = 40u32.to_le_bytes();
const TAG: &[u8; 4] = b"XTC2";
/// xtask-cache's `FRAME_CONTEXT` (this crate does not depend on that one).
const FRAME_CONTEXT: &str = "xtask cache entry 2026-12 v2: key then body";

/// Checks the frame and the keyed hash of everything after it.
pub(crate) fn check(key: &str, bytes: &[u8]) -> Result<(), Failure> {
    let corrupt = |what: &str| {
        Failure::new(
            FailureKind::Corrupt,
            format!("artifact {key} failed its integrity check ({what})"),
        )
    };
    let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(corrupt("truncated"));
    };
    let framed =
        header[0..4] == SKIPPABLE_MAGIC && header[4..8] == PAYLOAD_LEN && header[12..16] == [0; 4];
    if framed && &header[8..12] == b"XTC1" {
        return Err(corrupt("written by an older xtask"));
    }
    if !framed || &header[8..12] != TAG {
        return Err(corrupt("not a cache entry"));
    }
    let mut expected = [0u8; 32];
    expected.copy_from_slice(&header[16..48]);
    let mut hasher = blake3::Hasher::new_derive_key(FRAME_CONTEXT);
    hasher.update(key.as_bytes());
    hasher.update(body);
    if hasher.finalize() == blake3::Hash::from_bytes(expected) {
        Ok(())
    } else {
        Err(corrupt("hash mismatch, or an artifact of another key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(key: &str, body: &[u8]) -> Vec<u8> {
        let mut bytes = SKIPPABLE_MAGIC.to_vec();
        bytes.extend_from_slice(&PAYLOAD_LEN);
        bytes.extend_from_slice(b"XTC2\0\0\0\0");
        let mut hasher = blake3::Hasher::new_derive_key(FRAME_CONTEXT);
        hasher.update(key.as_bytes());
        hasher.update(body);
        bytes.extend_from_slice(hasher.finalize().as_bytes());
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn accepts_a_frame_and_refuses_damage() {
        let bytes = framed("k", b"body bytes");
        assert!(check("k", &bytes).is_ok());
        assert!(check("other", &bytes).is_err(), "bound to its key");
        assert!(check("k", &bytes[..bytes.len() - 1]).is_err());
        assert!(check("k", &bytes[..20]).is_err());
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(check("k", &flipped).is_err());
        // The first format: plain blake3 of the body.
        let mut old = bytes.clone();
        old[8..12].copy_from_slice(b"XTC1");
        old[16..48].copy_from_slice(blake3::hash(b"body bytes").as_bytes());
        assert!(check("k", &old).is_err());
    }

    #[test]
    fn in_step_with_xtask_cache() {
        assert_eq!(FRAME_CONTEXT, xtask_cache::FRAME_CONTEXT);
        let tmp = tempfile::tempdir().unwrap();
        let cache = xtask_cache::LocalCache::open(&tmp.path().join("cache")).unwrap();
        std::fs::write(tmp.path().join("out"), b"output").unwrap();
        let key = "ab".repeat(32);
        let outputs = [std::path::PathBuf::from("out")];
        let artifact = xtask_cache::Artifact {
            meta: b"{}",
            log: b"",
            base_dir: tmp.path(),
            outputs: &outputs,
        };
        cache.store(&key, &artifact).unwrap();
        let bytes = cache.read_raw(&key).unwrap().unwrap();
        assert!(check(&key, &bytes).is_ok());
        assert!(check(&"cd".repeat(32), &bytes).is_err());
    }
}
