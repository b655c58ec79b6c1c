//! The entry file's header: a zstd skippable frame that carries a blake3 hash
//! binding the entry to its key.
//!
//! Layout (48 bytes): magic `0x184D2A50` (u32 LE), payload length 40 (u32 LE), then
//! the payload: ASCII `XTC2`, 4 reserved zero bytes, and 32 bytes of
//! `blake3::derive_key`-mode hash with context [`FRAME_CONTEXT`] over the 64-hex
//! key followed by everything after the header. Binding the key means an entry
//! copied or served under another key fails its check like a damaged one. Because
//! it is a skippable frame, the whole file stays a valid `.tar.zst` for
//! `zstd -d | tar x`.
//!
//! Entries of the first format (`XTC1`: the hash of the body alone) read as
//! `Corruption::OtherVersion`.

use std::io::{self, Read, Write};

use crate::error::Corruption;

/// Length of the header frame in bytes.
pub(crate) const HEADER_LEN: usize = 48;

/// The blake3 key-derivation context of the frame hash. Part of the format:
/// xtask-remote's integrity check uses the same.
pub const FRAME_CONTEXT: &str = "xtask cache entry 2026-12 v2: key then body";

const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
const PAYLOAD_LEN: u32 = 40;
const TAG: &[u8; 4] = b"XTC2";
/// The first format's tag: same frame, hash of the body only.
const OLD_TAG: &[u8; 4] = b"XTC1";

/// A hasher for the entry of `key`, ready for the body.
pub(crate) fn hasher_for(key: &str) -> blake3::Hasher {
    let mut hasher = blake3::Hasher::new_derive_key(FRAME_CONTEXT);
    hasher.update(key.as_bytes());
    hasher
}

/// Encodes the header for a body whose keyed hash is `hash`.
pub(crate) fn encode_header(hash: &blake3::Hash) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&SKIPPABLE_MAGIC.to_le_bytes());
    header[4..8].copy_from_slice(&PAYLOAD_LEN.to_le_bytes());
    header[8..12].copy_from_slice(TAG);
    // 12..16 stay zero: reserved.
    header[16..48].copy_from_slice(hash.as_bytes());
    header
}

/// Parses a header and returns the hash it promises.
pub(crate) fn parse_header(header: &[u8; HEADER_LEN]) -> Result<blake3::Hash, Corruption> {
    let framed = header[0..4] == SKIPPABLE_MAGIC.to_le_bytes()
        && header[4..8] == PAYLOAD_LEN.to_le_bytes()
        && header[12..16] == [0; 4];
    if framed && &header[8..12] == OLD_TAG {
        return Err(Corruption::OtherVersion);
    }
    if !framed || &header[8..12] != TAG {
        return Err(Corruption::BadHeader);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&header[16..48]);
    Ok(blake3::Hash::from_bytes(hash))
}

/// Checks a whole entry of `key` held in memory.
pub(crate) fn verify_bytes(key: &str, bytes: &[u8]) -> Result<(), Corruption> {
    let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(Corruption::Truncated);
    };
    let expected = parse_header(header)?;
    // `Hash`'s equality is constant-time; not that it matters here.
    if hasher_for(key).update(body).finalize() == expected {
        Ok(())
    } else {
        Err(Corruption::HashMismatch)
    }
}

/// Checks an entry of `key` by streaming it, so a large entry is never held in
/// memory. The outer error is an I/O failure (not the entry's fault); the inner
/// one says the entry itself is bad.
pub(crate) fn verify_stream(
    key: &str,
    mut reader: impl Read,
) -> io::Result<Result<(), Corruption>> {
    let mut header = [0u8; HEADER_LEN];
    match reader.read_exact(&mut header) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
            return Ok(Err(Corruption::Truncated));
        }
        Err(err) => return Err(err),
    }
    let expected = match parse_header(&header) {
        Ok(hash) => hash,
        Err(corruption) => return Ok(Err(corruption)),
    };
    let mut hasher = hasher_for(key);
    // One buffer per thread, reused: a warm run verifies every entry it
    // replays, and zeroing a fresh 256 KiB per entry was most of its time.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 256 * 1024]);
    }
    BUF.with_borrow_mut(|buf| -> io::Result<()> {
        loop {
            match reader.read(buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    })?;
    Ok(if hasher.finalize() == expected {
        Ok(())
    } else {
        Err(Corruption::HashMismatch)
    })
}

/// A writer that hashes what passes through it, so `store` computes the header's
/// hash while compressing instead of reading the file back.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Hashes for the entry of `key`.
    pub(crate) fn new(key: &str, inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: hasher_for(key),
            written: 0,
        }
    }

    /// Returns the inner writer, the hash and the number of bytes written.
    pub(crate) fn finish(self) -> (W, blake3::Hash, u64) {
        (self.inner, self.hasher.finalize(), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const OTHER_KEY: &str = "f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn entry(key: &str, body: &[u8]) -> Vec<u8> {
        let mut bytes = encode_header(&hasher_for(key).update(body).finalize()).to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn header_is_a_zstd_skippable_frame() {
        let bytes = entry(KEY, b"body");
        assert_eq!(&bytes[..4], &[0x50, 0x2A, 0x4D, 0x18]);
        assert_eq!(&bytes[4..8], &[40, 0, 0, 0]);
        assert_eq!(&bytes[8..12], b"XTC2");
        assert_eq!(bytes.len(), HEADER_LEN + 4);
    }

    #[test]
    fn verify_accepts_good_and_names_each_defect() {
        let good = entry(KEY, b"some body bytes");
        assert_eq!(verify_bytes(KEY, &good), Ok(()));
        assert_eq!(verify_stream(KEY, &good[..]).ok(), Some(Ok(())));

        // The first format: the plain blake3 of the body, no key.
        let mut old = good.clone();
        old[8..12].copy_from_slice(b"XTC1");
        old[16..48].copy_from_slice(blake3::hash(b"some body bytes").as_bytes());

        let cases: [(&[u8], &str, Corruption); 6] = [
            (&[], KEY, Corruption::Truncated),
            (&good[..20], KEY, Corruption::Truncated),
            (&good[..good.len() - 1], KEY, Corruption::HashMismatch),
            // The same bytes served under another key.
            (&good, OTHER_KEY, Corruption::HashMismatch),
            (&old, KEY, Corruption::OtherVersion),
            (
                b"not a header, just some text that is long enough....",
                KEY,
                Corruption::BadHeader,
            ),
        ];
        for (bytes, key, expected) in cases {
            assert_eq!(verify_bytes(key, bytes), Err(expected.clone()));
            assert_eq!(verify_stream(key, bytes).ok(), Some(Err(expected)));
        }

        let mut reserved = good.clone();
        reserved[13] = 1;
        assert_eq!(verify_bytes(KEY, &reserved), Err(Corruption::BadHeader));
    }

    #[test]
    fn hashing_writer_hashes_what_it_writes() {
        let mut writer = HashingWriter::new(KEY, Vec::new());
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        let (inner, hash, written) = writer.finish();
        assert_eq!(inner, b"hello world");
        assert_eq!(hash, hasher_for(KEY).update(b"hello world").finalize());
        assert_ne!(hash, blake3::hash(b"hello world"));
        assert_eq!(written, 11);
    }
}
