//! The heads (`meta.json` and `log`) of the entries a workspace's last runs
//! hit, each with the identity its entry file had when it was verified in
//! full. A warm hit whose entry file still has that identity (size, mtime,
//! ctime, inode, device) is answered with one `stat`, instead of opening the
//! entry, hashing all of it and decompressing its head: one file read per
//! run instead of one archive per task.
//!
//! Nothing is trusted that the full path would not trust: ctime cannot be
//! set by user programs, so a file rewritten in place shows; a replaced one
//! has a new inode; a record taken within the racy margin of the file's
//! last change is not kept (the racy-timestamp rule of the stat cache). The
//! index is a file another run wrote: it is read whole, bounded and checked
//! against its blake3 trailer before any record is used, and a bad one is
//! an empty index (every lookup takes the full path, and the index is
//! written again).
//!
//! Layout: `XHI1`, a u32 record count, the records, then 32 bytes of blake3
//! over everything before them. A record: the 64-hex key, size, mtime ns,
//! ctime ns, inode, device, last use (seconds since the epoch), then the
//! meta and the log, each as a u32 length and its bytes. Integers are
//! little-endian.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use xtask_toolbox::bytes::ByteReader;
use xtask_toolbox::timestamps;

const MAGIC: &[u8; 4] = b"XHI1";
const KEY_LEN: usize = 64;
const TRAILER_LEN: usize = 32;
/// Key, six integers, two lengths.
const MIN_RECORD_LEN: usize = KEY_LEN + 6 * 8 + 2 * 4;

/// The largest index read or written: loading it is a cost every run pays.
const MAX_INDEX_BYTES: usize = 16 << 20;
/// Heads larger than this take the full path (they are rare: a task with
/// thousands of outputs, or a long log).
const MAX_RECORD_META: usize = 256 << 10;
const MAX_RECORD_LOG: usize = 256 << 10;

/// Least-recently-used eviction reads entry mtimes. A lookup refreshes an
/// mtime older than this; a younger one is left alone, so a warm run writes
/// no metadata and keeps its records valid.
pub(crate) const MTIME_REFRESH_SECS: u64 = 60 * 60;
/// Records not used for this long are dropped when the index is written.
const KEEP_SECS: u64 = 7 * 24 * 60 * 60;

/// What an entry file's `stat` says, compared whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    inode: u64,
    device: u64,
}

impl Identity {
    fn of(meta: &fs::Metadata) -> Identity {
        Identity {
            size: meta.len(),
            mtime_ns: timestamps::mtime_ns(meta),
            ctime_ns: timestamps::ctime_ns(meta),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }
}

#[derive(Debug, Clone)]
struct Record {
    identity: Identity,
    used_secs: u64,
    meta: Vec<u8>,
    log: Vec<u8>,
}

/// What the index knows of one key, for [`HeadIndex::probe`].
pub(crate) enum Probe<'a> {
    /// The entry file is as it was verified: its head is this.
    Known { meta: &'a [u8], log: &'a [u8] },
    /// The entry file is gone: a miss.
    Absent,
    /// No record, or the file changed: take the full path.
    Unknown,
}

/// One workspace's index of entry heads: loaded once per run, consulted by
/// [`crate::LocalCache::lookup_indexed`], written back by [`HeadIndex::save`]
/// when the run learned something.
#[derive(Debug)]
pub struct HeadIndex {
    path: PathBuf,
    loaded: HashMap<String, Record>,
    /// Recorded or refreshed this run; saved over `loaded`.
    fresh: Mutex<HashMap<String, Record>>,
    /// The racy margin (`timestamps::RACY_MARGIN_NS`); tests record files
    /// they just wrote.
    racy_margin_ns: i64,
}

impl HeadIndex {
    /// The index at `path`. A missing, oversized, damaged or foreign file is
    /// an empty index: nothing is wrong, every lookup takes the full path.
    pub fn load(path: &Path) -> HeadIndex {
        HeadIndex {
            path: path.to_path_buf(),
            loaded: read_bounded(path)
                .and_then(|bytes| decode(&bytes))
                .unwrap_or_default(),
            fresh: Mutex::new(HashMap::new()),
            racy_margin_ns: timestamps::RACY_MARGIN_NS,
        }
    }

    /// What the index says of `key`, whose entry file is `path`: one `stat`.
    pub(crate) fn probe(&self, key: &str, path: &Path) -> Probe<'_> {
        let Some(record) = self.loaded.get(key) else {
            return Probe::Unknown;
        };
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if xtask_toolbox::layout::is_absent(&err) => return Probe::Absent,
            Err(_) => return Probe::Unknown,
        };
        // An mtime due for its refresh takes the full path, which refreshes it.
        if !meta.is_file()
            || Identity::of(&meta) != record.identity
            || meta.modified().is_ok_and(mtime_refresh_due)
        {
            return Probe::Unknown;
        }
        let now = now_secs();
        if record.used_secs + MTIME_REFRESH_SECS < now {
            let refreshed = Record {
                used_secs: now,
                ..record.clone()
            };
            self.fresh_records().insert(key.to_owned(), refreshed);
        }
        Probe::Known {
            meta: &record.meta,
            log: &record.log,
        }
    }

    /// Records the head of `key`'s entry, just verified in full from `file`
    /// (after any mtime refresh). Racy or oversized heads are not kept.
    pub(crate) fn record(&self, key: &str, file: &File, meta: &[u8], log: &[u8]) {
        if meta.len() > MAX_RECORD_META || log.len() > MAX_RECORD_LOG {
            return;
        }
        let Ok(stat) = file.metadata() else { return };
        let identity = Identity::of(&stat);
        let racy_after = timestamps::ns_since_epoch(SystemTime::now()) - self.racy_margin_ns;
        if identity.mtime_ns >= racy_after || identity.ctime_ns >= racy_after {
            return;
        }
        let record = Record {
            identity,
            used_secs: now_secs(),
            meta: meta.to_vec(),
            log: log.to_vec(),
        };
        self.fresh_records().insert(key.to_owned(), record);
    }

    /// Writes the index atomically when this run recorded anything: this
    /// run's records, then earlier ones used within [`KEEP_SECS`], most
    /// recently used first, up to the size bound. A warm run writes nothing.
    pub fn save(&self) -> io::Result<()> {
        let fresh = std::mem::take(&mut *self.fresh_records());
        if fresh.is_empty() {
            return Ok(());
        }
        let oldest_kept = now_secs().saturating_sub(KEEP_SECS);
        let mut records: Vec<(&String, &Record)> = fresh.iter().collect();
        records.extend(
            self.loaded.iter().filter(|(key, record)| {
                record.used_secs >= oldest_kept && !fresh.contains_key(*key)
            }),
        );
        records.sort_by(|a, b| b.1.used_secs.cmp(&a.1.used_secs).then(a.0.cmp(b.0)));
        xtask_toolbox::atomic::write(&self.path, &encode(&records))
    }

    fn fresh_records(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.fresh.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether an entry last used at `modified` is due for an mtime refresh:
/// one rule for the lookup that refreshes and the probe that steps aside.
pub(crate) fn mtime_refresh_due(modified: SystemTime) -> bool {
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|age| age.as_secs() >= MTIME_REFRESH_SECS)
}

/// The file's bytes, if it exists and is within the bound; the bound is
/// checked on what is read, not on what `stat` said.
fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    let file = File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_INDEX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() <= MAX_INDEX_BYTES).then_some(bytes)
}

/// Encodes records in the given order, stopping before the one that would
/// pass the size bound.
fn encode(records: &[(&String, &Record)]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut count: u32 = 0;
    for (key, record) in records {
        let len = MIN_RECORD_LEN + record.meta.len() + record.log.len();
        if 8 + body.len() + len + TRAILER_LEN > MAX_INDEX_BYTES || count == u32::MAX {
            break;
        }
        body.extend_from_slice(key.as_bytes());
        let id = &record.identity;
        for n in [
            id.size,
            id.mtime_ns as u64,
            id.ctime_ns as u64,
            id.inode,
            id.device,
        ] {
            body.extend_from_slice(&n.to_le_bytes());
        }
        body.extend_from_slice(&record.used_secs.to_le_bytes());
        for part in [&record.meta, &record.log] {
            body.extend_from_slice(&(part.len() as u32).to_le_bytes());
            body.extend_from_slice(part);
        }
        count += 1;
    }
    let mut out = Vec::with_capacity(8 + body.len() + TRAILER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&body);
    let hash = blake3::hash(&out);
    out.extend_from_slice(hash.as_bytes());
    out
}

/// The records of a whole, checked index; `None` for anything else.
fn decode(bytes: &[u8]) -> Option<HashMap<String, Record>> {
    let (content, trailer) = bytes.split_at_checked(bytes.len().checked_sub(TRAILER_LEN)?)?;
    if blake3::hash(content) != blake3::Hash::from_bytes(trailer.try_into().ok()?) {
        return None;
    }
    let mut reader = ByteReader::new(content);
    if reader.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let count = reader.u32()? as usize;
    // The count is the file's claim: never size an allocation beyond what
    // the rest of the file can hold.
    let mut records = HashMap::with_capacity(count.min(reader.remaining() / MIN_RECORD_LEN));
    for _ in 0..count {
        let key = std::str::from_utf8(reader.take(KEY_LEN)?).ok()?;
        if !xtask_toolbox::Key::is_valid(key) {
            return None;
        }
        let identity = Identity {
            size: reader.u64()?,
            mtime_ns: reader.u64()? as i64,
            ctime_ns: reader.u64()? as i64,
            inode: reader.u64()?,
            device: reader.u64()?,
        };
        let used_secs = reader.u64()?;
        let meta = part(&mut reader, MAX_RECORD_META)?;
        let log = part(&mut reader, MAX_RECORD_LOG)?;
        let record = Record {
            identity,
            used_secs,
            meta,
            log,
        };
        if records.insert(key.to_owned(), record).is_some() {
            return None;
        }
    }
    (reader.remaining() == 0).then_some(records)
}

/// A length-prefixed part of at most `max` bytes.
fn part(reader: &mut ByteReader<'_>, max: usize) -> Option<Vec<u8>> {
    let len = reader.u32()? as usize;
    (len <= max).then(|| reader.take(len).map(<[u8]>::to_vec))?
}

#[cfg(test)]
mod tests;
