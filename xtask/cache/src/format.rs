//! The entry file's header: a zstd skippable frame that carries the blake3 hash of
//! everything after it.
//!
//! Layout (48 bytes): magic `0x184D2A50` (u32 LE), payload length 40 (u32 LE), then
//! the payload: ASCII `XTC1`, 4 reserved zero bytes, 32-byte blake3. Because it is a
//! skippable frame, the whole file stays a valid `.tar.zst` for `zstd -d | tar x`.

use std::io::{self, Read, Write};

use crate::error::Corruption;

/// Length of the header frame in bytes.
pub(crate) const HEADER_LEN: usize = 48;

const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
const PAYLOAD_LEN: u32 = 40;
const TAG: &[u8; 4] = b"XTC1";

/// Encodes the header for a body whose blake3 is `hash`.
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
    let well_formed = header[0..4] == SKIPPABLE_MAGIC.to_le_bytes()
        && header[4..8] == PAYLOAD_LEN.to_le_bytes()
        && &header[8..12] == TAG
        && header[12..16] == [0; 4];
    if !well_formed {
        return Err(Corruption::BadHeader);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&header[16..48]);
    Ok(blake3::Hash::from_bytes(hash))
}

/// Checks a whole entry held in memory.
pub(crate) fn verify_bytes(bytes: &[u8]) -> Result<(), Corruption> {
    let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(Corruption::Truncated);
    };
    let expected = parse_header(header)?;
    // `Hash`'s equality is constant-time; not that it matters here.
    if blake3::hash(body) == expected {
        Ok(())
    } else {
        Err(Corruption::HashMismatch)
    }
}

/// Checks an entry by streaming it, so a large entry is never held in memory.
/// The outer error is an I/O failure (not the entry's fault); the inner one says
/// the entry itself is bad.
pub(crate) fn verify_stream(mut reader: impl Read) -> io::Result<Result<(), Corruption>> {
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
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
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
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: blake3::Hasher::new(),
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

    fn entry(body: &[u8]) -> Vec<u8> {
        let mut bytes = encode_header(&blake3::hash(body)).to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn header_is_a_zstd_skippable_frame() {
        let bytes = entry(b"body");
        assert_eq!(&bytes[..4], &[0x50, 0x2A, 0x4D, 0x18]);
        assert_eq!(&bytes[4..8], &[40, 0, 0, 0]);
        assert_eq!(&bytes[8..12], b"XTC1");
        assert_eq!(bytes.len(), HEADER_LEN + 4);
    }

    #[test]
    fn verify_accepts_good_and_names_each_defect() {
        let good = entry(b"some body bytes");
        assert_eq!(verify_bytes(&good), Ok(()));
        assert_eq!(verify_stream(&good[..]).ok(), Some(Ok(())));

        let cases: [(&[u8], Corruption); 4] = [
            (&[], Corruption::Truncated),
            (&good[..20], Corruption::Truncated),
            (&good[..good.len() - 1], Corruption::HashMismatch),
            (
                b"not a header, just some text that is long enough....",
                Corruption::BadHeader,
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(verify_bytes(bytes), Err(expected.clone()));
            assert_eq!(verify_stream(bytes).ok(), Some(Err(expected)));
        }

        let mut reserved = good.clone();
        reserved[13] = 1;
        assert_eq!(verify_bytes(&reserved), Err(Corruption::BadHeader));
    }

    #[test]
    fn hashing_writer_hashes_what_it_writes() {
        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        let (inner, hash, written) = writer.finish();
        assert_eq!(inner, b"hello world");
        assert_eq!(hash, blake3::hash(b"hello world"));
        assert_eq!(written, 11);
    }
}
