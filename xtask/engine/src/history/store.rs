//! The history's files: `index.json` (label → key and where its manifest
//! is) and segments, `<32 hex>.seg`, each the manifests one run recorded,
//! written once when that run ends. A pointer carries the blake3 of its
//! record, so a damaged or replaced segment is refused, never misread.
//!
//! Every byte here was written by another run, maybe another version, maybe
//! cut short: the index is read whole, bounded in size and checked field by
//! field before anything trusts it; a record is read only through a checked
//! pointer, its length bounded before anything is allocated. Writers hold
//! `lock` (advisory, released by the kernel even on SIGKILL) from reading
//! the index to deleting what no longer is referenced, so concurrent runs
//! merge their records instead of losing them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use xtask_toolbox::Key;
use xtask_toolbox::atomic;
use xtask_toolbox::hex;
use xtask_toolbox::quote::quote_name;

/// The index inside the history bucket.
pub(crate) const INDEX: &str = "index.json";
const SEGMENT_SUFFIX: &str = ".seg";
const LOCK: &str = "lock";
/// The index's `format`; the bucket's directory has the version too
/// (`StateBucket::History`), this guards against a file copied across.
const FORMAT: u32 = 2;
/// Far above a 3,000-crate workspace's index (~2 MB): what is larger is
/// not ours.
pub(crate) const MAX_INDEX_BYTES: u64 = 64 << 20;
/// One task's manifest: its input files' names and hashes.
pub(crate) const MAX_RECORD_BYTES: u64 = 64 << 20;
/// More live segments than this and a save rewrites the live records into
/// one: the history stays a handful of files however many runs recorded.
pub(crate) const MAX_SEGMENTS: usize = 8;
/// How long a save waits for another run's save to finish.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Temp files this old are leftovers of a killed save.
const STALE_TEMP: Duration = Duration::from_secs(3600);
const RECORD_HASH_CONTEXT: &str = "xtask history record v2";

/// Why the history (or one task's record in it) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("could not read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is {bytes} bytes, more than a history index may be ({limit})", path.display())]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
    #[error("{} is not a history index of this version: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the record of `{label}` in {} does not match the index (damaged or replaced)", path.display())]
    Damaged { path: PathBuf, label: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    format: u32,
    tasks: BTreeMap<String, Pointer>,
}

/// Where a task's last manifest is, and what its key was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pointer {
    pub key: String,
    segment: String,
    offset: u64,
    len: u64,
    /// blake3 (derive-key mode) over the label and the record.
    hash: String,
}

pub(crate) type Index = BTreeMap<String, Pointer>;

/// The index as on disk; no file is an empty history.
pub(crate) fn read_index(dir: &Path) -> Result<Index, HistoryError> {
    let path = dir.join(INDEX);
    let read_error = |source| HistoryError::Read {
        path: path.clone(),
        source,
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        // A directory on the way that is a file (a cache dir that is one) also
        // means there is no index: the cache's own warning says why.
        Err(error) if xtask_toolbox::layout::is_absent(&error) => return Ok(Index::new()),
        Err(error) => return Err(read_error(error)),
    };
    let claimed = file.metadata().map_err(read_error)?.len();
    if claimed > MAX_INDEX_BYTES {
        return Err(HistoryError::TooLarge {
            path,
            bytes: claimed,
            limit: MAX_INDEX_BYTES,
        });
    }
    let mut bytes = Vec::new();
    // One byte past the limit tells a file at the limit from a larger one,
    // whatever its metadata claims.
    file.take(MAX_INDEX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(HistoryError::TooLarge {
            path,
            bytes: bytes.len() as u64,
            limit: MAX_INDEX_BYTES,
        });
    }
    let invalid = |reason: String| HistoryError::Invalid {
        path: path.clone(),
        reason,
    };
    let file: IndexFile = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    if file.format != FORMAT {
        return Err(invalid(format!(
            "format {} (this tool writes {FORMAT})",
            file.format
        )));
    }
    for (label, pointer) in &file.tasks {
        if let Some(problem) = pointer.problem() {
            return Err(invalid(format!(
                "the entry of `{}` {problem}",
                quote_name(label.as_bytes())
            )));
        }
    }
    Ok(file.tasks)
}

impl Pointer {
    /// What is wrong with a pointer read from disk, if anything.
    fn problem(&self) -> Option<&'static str> {
        if !Key::is_valid(&self.key) {
            Some("has a key that is not 64 lowercase hex digits")
        } else if !is_segment_id(&self.segment) {
            Some("names a segment that is not 32 lowercase hex digits")
        } else if self.len > MAX_RECORD_BYTES || self.offset.checked_add(self.len).is_none() {
            Some("has a record length over the limit")
        } else if !Key::is_valid(&self.hash) {
            Some("has a hash that is not 64 lowercase hex digits")
        } else {
            None
        }
    }
}

fn is_segment_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn segment_path(dir: &Path, segment: &str) -> PathBuf {
    dir.join(format!("{segment}{SEGMENT_SUFFIX}"))
}

fn record_hash(label: &str, record: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new_derive_key(RECORD_HASH_CONTEXT);
    hasher.update(label.as_bytes());
    hasher.update(&[0]);
    hasher.update(record);
    hex::encode(hasher.finalize().as_bytes())
}

/// The record `pointer` (from a checked index) names for `label`, checked
/// against its hash.
pub(crate) fn read_record(
    dir: &Path,
    label: &str,
    pointer: &Pointer,
) -> Result<Vec<u8>, HistoryError> {
    let path = segment_path(dir, &pointer.segment);
    let damaged = || HistoryError::Damaged {
        path: path.clone(),
        label: quote_name(label.as_bytes()),
    };
    let read_error = |source| HistoryError::Read {
        path: path.clone(),
        source,
    };
    let mut file = File::open(&path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    // `problem` bounded len and the sum; the file must hold the record.
    if pointer.offset + pointer.len > size {
        return Err(damaged());
    }
    file.seek(SeekFrom::Start(pointer.offset))
        .map_err(read_error)?;
    let mut record = vec![0; pointer.len as usize];
    file.read_exact(&mut record).map_err(read_error)?;
    if record_hash(label, &record) != pointer.hash {
        return Err(damaged());
    }
    Ok(record)
}

/// Writes `records` (label → key, manifest) as one new segment and returns
/// a pointer to each.
pub(crate) fn write_segment<'a>(
    dir: &Path,
    records: impl IntoIterator<Item = (&'a str, &'a str, &'a [u8])>,
    segment: &str,
) -> io::Result<Index> {
    let mut bytes = Vec::new();
    let mut index = Index::new();
    for (label, key, record) in records {
        let pointer = Pointer {
            key: key.to_string(),
            segment: segment.to_string(),
            offset: bytes.len() as u64,
            len: record.len() as u64,
            hash: record_hash(label, record),
        };
        bytes.extend_from_slice(record);
        // One record a line, for people reading the file.
        bytes.push(b'\n');
        index.insert(label.to_string(), pointer);
    }
    atomic::write(&segment_path(dir, segment), &bytes)?;
    Ok(index)
}

pub(crate) fn write_index(dir: &Path, tasks: &Index) -> io::Result<()> {
    let file = IndexFile {
        format: FORMAT,
        tasks: tasks.clone(),
    };
    atomic::write(&dir.join(INDEX), &serde_json::to_vec(&file)?)
}

/// The segments `index` points into.
pub(crate) fn live_segments(index: &Index) -> BTreeSet<&str> {
    index.values().map(|p| p.segment.as_str()).collect()
}

/// Every live record moved into one new segment `segment`; records that no
/// longer read back are dropped (their tasks are recorded again when they
/// next succeed).
pub(crate) fn compact(dir: &Path, index: &Index, segment: &str) -> io::Result<Index> {
    let records: Vec<(&str, &str, Vec<u8>)> = index
        .iter()
        .filter_map(|(label, pointer)| {
            let record = read_record(dir, label, pointer).ok()?;
            Some((label.as_str(), pointer.key.as_str(), record))
        })
        .collect();
    write_segment(
        dir,
        records.iter().map(|(l, k, r)| (*l, *k, r.as_slice())),
        segment,
    )
}

/// Removes segments `index` does not point into, and temp files a killed
/// save left. Only under the lock: another saver's new segment is not in
/// the index until it writes the index, and it does both holding the lock.
pub(crate) fn collect_garbage(dir: &Path, index: &Index) {
    let live = live_segments(index);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let dead_segment = name
            .strip_suffix(SEGMENT_SUFFIX)
            .is_some_and(|id| is_segment_id(id) && !live.contains(id));
        let stale_temp = name.starts_with(atomic::TEMP_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_TEMP));
        if dead_segment || stale_temp {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The writers' lock on the history directory.
pub(crate) enum Lock {
    /// Held until dropped.
    Held { _file: File },
    /// Another run has held it for [`LOCK_WAIT`].
    Busy,
    /// The file system does not lock: save, but delete nothing.
    Unsupported,
}

pub(crate) fn lock(dir: &Path) -> Lock {
    let file = match File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK))
    {
        Ok(file) => file,
        Err(_) => return Lock::Unsupported,
    };
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Lock::Held { _file: file },
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Lock::Busy,
            Err(std::fs::TryLockError::Error(_)) => return Lock::Unsupported,
        }
    }
}
