//! Remembered content hashes, keyed by what `stat` says about a file.
//!
//! A file whose size, mtime, ctime, inode and mode are unchanged since it was
//! hashed is not read again. ctime cannot be set by user programs, so a
//! same-size edit whose mtime was put back (`touch -d`) still shows.
//!
//! The racy-timestamp rule (as in git's index): a file modified within
//! [`RACY_MARGIN`] of the moment we looked at it could be modified again
//! within the same timestamp tick without its stat changing, so such an entry
//! is not remembered and the file is hashed again next time.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xtask_toolbox::bytes::ByteReader;

const MAGIC: &[u8; 4] = b"XSC1";

/// Bytes of one saved entry with an empty name: name length (4), size, mtime,
/// ctime, inode (8 each), mode (4), blake3 (32).
const MIN_RECORD_LEN: usize = 4 + 4 * 8 + 4 + 32;

/// Coarser than any filesystem timestamp granularity we expect.
pub const RACY_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub inode: u64,
    pub mode: u32,
}

impl FileStat {
    pub fn from_metadata(meta: &std::fs::Metadata) -> FileStat {
        FileStat {
            size: meta.len(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            inode: meta.ino(),
            mode: meta.mode(),
        }
    }

    /// The stat of a symlink (`self`, from `lstat`) combined with its
    /// target's, when the target is a file: its content is part of the
    /// link's hash, so an edit of the target must look like a change, and so
    /// must re-pointing the link (a new link has a new ctime).
    pub fn through_link(self, link: &Path) -> FileStat {
        match std::fs::metadata(link) {
            Ok(target) if target.is_file() => {
                let target = FileStat::from_metadata(&target);
                FileStat {
                    size: target.size,
                    mtime_ns: self.mtime_ns.max(target.mtime_ns),
                    ctime_ns: self.ctime_ns.max(target.ctime_ns),
                    inode: target.inode,
                    mode: self.mode,
                }
            }
            _ => self,
        }
    }
}

#[derive(Debug, Default)]
pub struct StatCache {
    entries: HashMap<String, (FileStat, blake3::Hash)>,
    /// Entries changed at or after this instant (ns since the epoch) are racy.
    racy_after_ns: i64,
}

impl StatCache {
    /// An empty cache for a scan that starts at `scan_started`.
    pub(crate) fn new_generation(scan_started: SystemTime) -> StatCache {
        let started = scan_started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(RACY_MARGIN);
        StatCache {
            entries: HashMap::new(),
            racy_after_ns: i64::try_from(started.as_nanos()).unwrap_or(i64::MAX),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get(&self, path: &str, stat: &FileStat) -> Option<blake3::Hash> {
        match self.entries.get(path) {
            Some((known, hash)) if known == stat => Some(*hash),
            _ => None,
        }
    }

    pub(crate) fn insert(&mut self, path: &str, stat: FileStat, hash: blake3::Hash) {
        if stat.mtime_ns >= self.racy_after_ns || stat.ctime_ns >= self.racy_after_ns {
            return;
        }
        self.entries.insert(path.to_string(), (stat, hash));
    }

    /// Reads a saved cache; a missing or unreadable file is an empty cache
    /// (everything is hashed again, nothing is wrong).
    pub fn load(path: &Path) -> StatCache {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default()
    }

    /// Writes the cache atomically (temp file, then rename), so a killed run
    /// or a concurrent one never leaves a torn file.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(16 + self.entries.len() * 96);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for (name, (stat, hash)) in &self.entries {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&stat.size.to_le_bytes());
            out.extend_from_slice(&stat.mtime_ns.to_le_bytes());
            out.extend_from_slice(&stat.ctime_ns.to_le_bytes());
            out.extend_from_slice(&stat.inode.to_le_bytes());
            out.extend_from_slice(&stat.mode.to_le_bytes());
            out.extend_from_slice(hash.as_bytes());
        }
        xtask_toolbox::atomic::write(path, &out)
    }
}

fn decode(bytes: &[u8]) -> Option<StatCache> {
    let mut reader = ByteReader::new(bytes);
    if reader.take(4)? != MAGIC {
        return None;
    }
    let count = reader.u64()?;
    // The count is the file's own claim: never size an allocation beyond what
    // the rest of the file can hold (a 12-byte file may claim 2^64 entries).
    let fits = reader.remaining() / MIN_RECORD_LEN;
    let mut entries =
        HashMap::with_capacity(usize::try_from(count).unwrap_or(usize::MAX).min(fits));
    for _ in 0..count {
        let len = reader.u32()? as usize;
        let name = std::str::from_utf8(reader.take(len)?).ok()?.to_string();
        let stat = FileStat {
            size: reader.u64()?,
            mtime_ns: reader.u64()? as i64,
            ctime_ns: reader.u64()? as i64,
            inode: reader.u64()?,
            mode: reader.u32()?,
        };
        let hash = blake3::Hash::from_bytes(reader.take(32)?.try_into().ok()?);
        entries.insert(name, (stat, hash));
    }
    Some(StatCache {
        entries,
        racy_after_ns: i64::MAX,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(cache: &StatCache) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat-cache.bin");
        cache.save(&path).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn round_trips() {
        let mut cache = StatCache::new_generation(SystemTime::now() + Duration::from_secs(3600));
        let stat = FileStat {
            size: 3,
            mtime_ns: 1,
            ctime_ns: 2,
            inode: 4,
            mode: 0o644,
        };
        cache.insert("src/lib.rs", stat, blake3::hash(b"abc"));
        let bytes = encoded(&cache);
        assert_eq!(bytes.len(), 12 + MIN_RECORD_LEN + "src/lib.rs".len());
        let back = decode(&bytes).unwrap();
        assert_eq!(back.get("src/lib.rs", &stat), Some(blake3::hash(b"abc")));
    }

    #[test]
    fn a_count_the_file_cannot_hold_sizes_nothing() {
        // 12 bytes claiming 2^64 - 1 entries: refused, and the map is sized by
        // what the file can hold (nothing), not by the claim.
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(&bytes).is_none());
        // One real entry, a claim of a billion: the first decodes, the second
        // is missing, the file is refused; the reservation was for one.
        let mut cache = StatCache::new_generation(SystemTime::now() + Duration::from_secs(3600));
        let stat = FileStat {
            size: 1,
            mtime_ns: 1,
            ctime_ns: 1,
            inode: 1,
            mode: 0o644,
        };
        cache.insert("a", stat, blake3::hash(b"a"));
        let mut bytes = encoded(&cache);
        bytes[4..12].copy_from_slice(&1_000_000_000u64.to_le_bytes());
        assert!(decode(&bytes).is_none());
        assert_eq!((bytes.len() - 12) / MIN_RECORD_LEN, 1);
    }
}
