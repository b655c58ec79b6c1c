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

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use xtask_toolbox::bytes::ByteReader;
use xtask_toolbox::timestamps;

const MAGIC: &[u8; 4] = b"XSC1";

/// Bytes of one saved entry with an empty name: name length (4), size, mtime,
/// ctime, inode (8 each), mode (4), blake3 (32).
const MIN_RECORD_LEN: usize = 4 + 4 * 8 + 4 + 32;

pub use xtask_toolbox::timestamps::RACY_MARGIN;

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
            mtime_ns: timestamps::mtime_ns(meta),
            ctime_ns: timestamps::ctime_ns(meta),
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

/// One remembered file: its name (a range of the cache's name bytes), the
/// stat it had and its hash.
#[derive(Debug, Clone, Copy)]
struct Record {
    name_at: usize,
    name_len: usize,
    stat: FileStat,
    hash: blake3::Hash,
}

/// Remembered hashes, sorted by name. Names live in one byte buffer (for a
/// loaded cache, the file's own bytes), so loading allocates nothing per
/// file, and a walk that asks in name order finds each one by comparing
/// with the next record alone.
#[derive(Debug, Default)]
pub struct StatCache {
    names: Vec<u8>,
    /// Sorted by name, each name once.
    records: Vec<Record>,
    /// Entries changed at or after this instant (ns since the epoch) are racy.
    racy_after_ns: i64,
    /// Loaded from a file out of name order: saving it again spares the next
    /// loads the sort.
    resorted: bool,
}

impl StatCache {
    /// An empty cache for a scan that starts at `scan_started`.
    pub(crate) fn new_generation(scan_started: SystemTime) -> StatCache {
        let started = scan_started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(RACY_MARGIN);
        StatCache {
            names: Vec::new(),
            records: Vec::new(),
            racy_after_ns: i64::try_from(started.as_nanos()).unwrap_or(i64::MAX),
            resorted: false,
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Whether the file it was loaded from was out of name order (written
    /// by an older version): worth saving even when nothing changed.
    pub fn wants_save(&self) -> bool {
        self.resorted
    }

    fn name(&self, record: &Record) -> &[u8] {
        &self.names[record.name_at..record.name_at + record.name_len]
    }

    /// Where `path` is, or would go.
    fn search(&self, path: &[u8]) -> Result<usize, usize> {
        self.records
            .binary_search_by(|record| self.name(record).cmp(path))
    }

    /// A cursor for lookups in name order (see [`Lookups::get`]).
    pub(crate) fn lookups(&self) -> Lookups<'_> {
        Lookups {
            cache: self,
            next: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn get(&self, path: &str, stat: &FileStat) -> Option<blake3::Hash> {
        self.lookups().get(path, stat)
    }

    pub(crate) fn insert(&mut self, path: &str, stat: FileStat, hash: blake3::Hash) {
        if stat.mtime_ns >= self.racy_after_ns || stat.ctime_ns >= self.racy_after_ns {
            return;
        }
        let record = Record {
            name_at: self.names.len(),
            name_len: path.len(),
            stat,
            hash,
        };
        // In name order (as a walk inserts) this appends; otherwise it
        // finds its place, and a name inserted again replaces its record.
        let appends = self
            .records
            .last()
            .is_none_or(|last| self.name(last) < path.as_bytes());
        let place = if appends {
            Err(self.records.len())
        } else {
            self.search(path.as_bytes())
        };
        self.names.extend_from_slice(path.as_bytes());
        match place {
            Ok(found) => self.records[found] = record,
            Err(at) => self.records.insert(at, record),
        }
    }

    /// Reads a saved cache; a missing or unreadable file is an empty cache
    /// (everything is hashed again, nothing is wrong).
    pub fn load(path: &Path) -> StatCache {
        std::fs::read(path)
            .ok()
            .and_then(decode)
            .unwrap_or_default()
    }

    /// Writes the cache atomically (temp file, then rename), so a killed run
    /// or a concurrent one never leaves a torn file. Records are written in
    /// name order.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(16 + self.records.len() * 96);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.records.len() as u64).to_le_bytes());
        for record in &self.records {
            let (name, stat) = (self.name(record), &record.stat);
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name);
            out.extend_from_slice(&stat.size.to_le_bytes());
            out.extend_from_slice(&stat.mtime_ns.to_le_bytes());
            out.extend_from_slice(&stat.ctime_ns.to_le_bytes());
            out.extend_from_slice(&stat.inode.to_le_bytes());
            out.extend_from_slice(&stat.mode.to_le_bytes());
            out.extend_from_slice(record.hash.as_bytes());
        }
        xtask_toolbox::atomic::write(path, &out)
    }
}

/// Lookups that remember where the last one ended: asked in name order, as
/// the snapshot asks, each is one comparison with the next record; out of
/// order, a binary search.
pub(crate) struct Lookups<'c> {
    cache: &'c StatCache,
    next: usize,
}

impl Lookups<'_> {
    pub(crate) fn get(&mut self, path: &str, stat: &FileStat) -> Option<blake3::Hash> {
        let cache = self.cache;
        let path = path.as_bytes();
        let at = match cache.records.get(self.next) {
            Some(record) if cache.name(record) == path => Ok(self.next),
            _ => cache.search(path),
        };
        match at {
            Ok(i) => {
                self.next = i + 1;
                let record = &cache.records[i];
                (record.stat == *stat).then_some(record.hash)
            }
            Err(i) => {
                self.next = i;
                None
            }
        }
    }
}

/// The records of a saved cache. Names stay in the file's bytes; a file
/// written out of order (by an older version) is sorted once, and of a name
/// saved twice the later record counts, as a map's insert would have it.
fn decode(bytes: Vec<u8>) -> Option<StatCache> {
    let mut reader = ByteReader::new(&bytes);
    if reader.take(4)? != MAGIC {
        return None;
    }
    let count = reader.u64()?;
    // The count is the file's own claim: never size an allocation beyond what
    // the rest of the file can hold (a 12-byte file may claim 2^64 entries).
    let fits = reader.remaining() / MIN_RECORD_LEN;
    let mut records = Vec::with_capacity(usize::try_from(count).unwrap_or(usize::MAX).min(fits));
    for _ in 0..count {
        let name_len = reader.u32()? as usize;
        let name_at = bytes.len() - reader.remaining();
        reader.take(name_len)?;
        let stat = FileStat {
            size: reader.u64()?,
            mtime_ns: reader.u64()? as i64,
            ctime_ns: reader.u64()? as i64,
            inode: reader.u64()?,
            mode: reader.u32()?,
        };
        let hash = blake3::Hash::from_bytes(reader.take(32)?.try_into().ok()?);
        records.push(Record {
            name_at,
            name_len,
            stat,
            hash,
        });
    }
    let name = |r: &Record| &bytes[r.name_at..r.name_at + r.name_len];
    let resorted = !records.is_sorted_by(|a, b| name(a) < name(b));
    if resorted {
        // Stable: of equal names the later stays last, and is the one kept.
        records.sort_by(|a, b| name(a).cmp(name(b)));
        let mut deduped: Vec<Record> = Vec::with_capacity(records.len());
        for record in records {
            match deduped.last_mut() {
                Some(last) if name(last) == name(&record) => *last = record,
                _ => deduped.push(record),
            }
        }
        records = deduped;
    }
    Some(StatCache {
        names: bytes,
        records,
        racy_after_ns: i64::MAX,
        resorted,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
        let back = decode(bytes).unwrap();
        assert_eq!(back.get("src/lib.rs", &stat), Some(blake3::hash(b"abc")));
    }

    #[test]
    fn a_count_the_file_cannot_hold_sizes_nothing() {
        // 12 bytes claiming 2^64 - 1 entries: refused, and the map is sized by
        // what the file can hold (nothing), not by the claim.
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(bytes.clone()).is_none());
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
        assert!(decode(bytes.clone()).is_none());
        assert_eq!((bytes.len() - 12) / MIN_RECORD_LEN, 1);
    }

    fn stat(n: u64) -> FileStat {
        FileStat {
            size: n,
            mtime_ns: 1,
            ctime_ns: 1,
            inode: n,
            mode: 0o644,
        }
    }

    #[test]
    fn lookups_in_any_order_answer_what_a_map_would() {
        let names: Vec<String> = (0..200u64)
            .map(|n| format!("crates/c{}/src/m{}.rs", (n * 37) % 23, (n * 11) % 17))
            .collect();
        let mut cache = StatCache::new_generation(SystemTime::now() + Duration::from_secs(3600));
        let mut expected = std::collections::HashMap::new();
        // Inserted out of order, some names twice: the later insert counts.
        for (n, name) in names.iter().enumerate() {
            let hash = blake3::hash(&n.to_le_bytes());
            cache.insert(name, stat(n as u64 % 5), hash);
            expected.insert(name.clone(), (stat(n as u64 % 5), hash));
        }
        let back = decode(encoded(&cache)).unwrap();
        assert_eq!(back.len(), expected.len());
        let mut sorted: Vec<&String> = expected.keys().collect();
        sorted.sort();
        let mut reversed = sorted.clone();
        reversed.reverse();
        let shuffled: Vec<&String> = names.iter().rev().step_by(3).chain(&names).collect();
        for order in [&sorted, &reversed, &shuffled] {
            let mut lookups = back.lookups();
            for name in order {
                let (stat, hash) = expected[*name];
                assert_eq!(lookups.get(name, &stat), Some(hash), "{name}");
                let other = FileStat {
                    size: stat.size + 9,
                    ..stat
                };
                assert_eq!(lookups.get(name, &other), None, "a changed stat: {name}");
            }
            for missing in ["", "crates", "crates/c0/src/m0.rs.bak", "zzz"] {
                assert_eq!(lookups.get(missing, &stat(0)), None);
            }
        }
    }

    #[test]
    fn a_file_out_of_name_order_is_sorted_and_its_later_duplicate_counts() {
        // As an older version wrote it: map order, and here a name twice.
        let record = |name: &str, n: u64| {
            let mut out = (name.len() as u32).to_le_bytes().to_vec();
            out.extend_from_slice(name.as_bytes());
            let s = stat(n);
            for v in [s.size, s.mtime_ns as u64, s.ctime_ns as u64, s.inode] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&s.mode.to_le_bytes());
            out.extend_from_slice(blake3::hash(&n.to_le_bytes()).as_bytes());
            out
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&4u64.to_le_bytes());
        for (name, n) in [("b", 1), ("a", 2), ("c", 3), ("a", 4)] {
            bytes.extend(record(name, n));
        }
        let cache = decode(bytes).unwrap();
        assert!(cache.wants_save());
        assert!(
            !decode(encoded(&cache)).unwrap().wants_save(),
            "saved in order"
        );
        assert_eq!(cache.len(), 3);
        assert_eq!(
            cache.get("a", &stat(4)),
            Some(blake3::hash(&4u64.to_le_bytes()))
        );
        assert_eq!(cache.get("a", &stat(2)), None);
        assert_eq!(
            cache.get("b", &stat(1)),
            Some(blake3::hash(&1u64.to_le_bytes()))
        );
        assert_eq!(
            cache.get("c", &stat(3)),
            Some(blake3::hash(&3u64.to_le_bytes()))
        );
    }
}
