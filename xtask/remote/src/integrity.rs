//! The blake3 check of a downloaded artifact, before anyone uses it.
//!
//! An artifact is a local cache entry's bytes: a 48-byte zstd skippable frame
//! (magic `0x184D2A50`, length 40, `XTC1`, 4 zero bytes, blake3 of the rest), then
//! the tar.zst. xtask-cache's `write_raw` checks again before installing; checking
//! here too means a corrupt download is a warning about the remote, and never
//! bytes handed to the caller. A test keeps this in step with xtask-cache.

use crate::error::{Failure, FailureKind};

const HEADER_LEN: usize = 48;
const SKIPPABLE_MAGIC: [u8; 4] = 0x184D_2A50u32.to_le_bytes();
const PAYLOAD_LEN: [u8; 4] = 40u32.to_le_bytes();

/// Checks the frame and the hash of everything after it.
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
    let well_formed = header[0..4] == SKIPPABLE_MAGIC
        && header[4..8] == PAYLOAD_LEN
        && &header[8..12] == b"XTC1"
        && header[12..16] == [0; 4];
    if !well_formed {
        return Err(corrupt("not a cache entry"));
    }
    let mut expected = [0u8; 32];
    expected.copy_from_slice(&header[16..48]);
    if blake3::hash(body) == blake3::Hash::from_bytes(expected) {
        Ok(())
    } else {
        Err(corrupt("hash mismatch"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_frame_and_refuses_damage() {
        let body = b"body bytes";
        let mut bytes = SKIPPABLE_MAGIC.to_vec();
        bytes.extend_from_slice(&PAYLOAD_LEN);
        bytes.extend_from_slice(b"XTC1\0\0\0\0");
        bytes.extend_from_slice(blake3::hash(body).as_bytes());
        bytes.extend_from_slice(body);
        assert!(check("k", &bytes).is_ok());
        assert!(check("k", &bytes[..bytes.len() - 1]).is_err());
        assert!(check("k", &bytes[..20]).is_err());
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(check("k", &flipped).is_err());
    }
}
