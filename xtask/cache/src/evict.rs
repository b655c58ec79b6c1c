//! Housekeeping over the entry files: `status`, `verify`, `prune` and `clean`.
//!
//! Each walks `entries/*/` and `tmp/`, ignoring names that are not ours. Another
//! process may store, look up or prune at the same time: a file that vanishes
//! under us is skipped, and removing an already-removed file is not an error.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{CacheError, Corruption};
use crate::format::{self, HEADER_LEN};
use crate::fsutil::{self, ReadAt, TMP_SUFFIX};
use crate::{
    CacheStatus, CleanReport, CorruptEntry, LocalCache, PrunePolicy, PruneReport, RestoreLimits,
    VerifyReport, extract,
};

/// Temp files older than this belong to a store that died (a live store writes to
/// its temp file continuously and renames it within seconds).
const STALE_TMP_AGE: Duration = Duration::from_secs(60 * 60);

/// An entry file found on disk.
struct EntryFile {
    key: String,
    path: PathBuf,
    len: u64,
    modified: SystemTime,
}

/// A temp file found in `tmp/`.
struct TmpFile {
    path: PathBuf,
    len: u64,
    modified: SystemTime,
}

impl LocalCache {
    pub fn status(&self) -> Result<CacheStatus, CacheError> {
        let entries = list_entries(&self.entries)?;
        let tmp = list_tmp(&self.tmp)?;
        Ok(CacheStatus {
            entries: entries.len() as u64,
            total_bytes: entries.iter().map(|e| e.len).sum(),
            oldest: entries.iter().map(|e| e.modified).min(),
            newest: entries.iter().map(|e| e.modified).max(),
            tmp_files: tmp.len() as u64,
            tmp_bytes: tmp.iter().map(|t| t.len).sum(),
        })
    }

    /// Checks every entry fully (hash, then every archive member as restore would
    /// see it) and removes the damaged ones.
    pub fn verify(&self) -> Result<VerifyReport, CacheError> {
        let mut report = VerifyReport::default();
        for entry in list_entries(&self.entries)? {
            let file = match File::open(&entry.path) {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(CacheError::Read {
                        path: entry.path,
                        source,
                    });
                }
            };
            report.checked += 1;
            if let Err(reason) = check_entry(&entry, &file)? {
                fsutil::remove_if_same(&entry.path, &file)?;
                report.removed.push(CorruptEntry {
                    key: entry.key,
                    reason,
                });
            }
        }
        Ok(report)
    }

    /// Removes entries older than `max_age`, then the least recently used ones
    /// until the total fits `max_bytes`, and temp files left by dead stores.
    pub fn prune(&self, policy: &PrunePolicy) -> Result<PruneReport, CacheError> {
        let now = SystemTime::now();
        let mut report = PruneReport {
            removed_tmp_files: self.remove_stale_tmp()?,
            ..PruneReport::default()
        };

        let mut entries = list_entries(&self.entries)?;
        // Oldest first; the key breaks ties so the order is stable.
        entries.sort_by(|a, b| a.modified.cmp(&b.modified).then_with(|| a.key.cmp(&b.key)));
        let mut total: u64 = entries.iter().map(|e| e.len).sum();
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            let too_old = policy
                .max_age
                .is_some_and(|max| age(now, entry.modified) > max);
            let too_big = policy.max_bytes.is_some_and(|max| total > max);
            if too_old || too_big {
                total -= entry.len;
                if fsutil::remove_if_exists(&entry.path)? {
                    report.removed_entries += 1;
                    report.removed_bytes += entry.len;
                }
            } else {
                kept.push(entry);
            }
        }
        report.remaining_entries = kept.len() as u64;
        report.remaining_bytes = total;
        Ok(report)
    }

    /// Removes temp files left by stores that died (a kill, a full disk) more
    /// than an hour ago; returns how many. `open` calls it, so leftovers never
    /// outlive the next run by much.
    pub(crate) fn remove_stale_tmp(&self) -> Result<u64, CacheError> {
        let now = SystemTime::now();
        let mut removed = 0;
        for tmp in list_tmp(&self.tmp)? {
            if age(now, tmp.modified) > STALE_TMP_AGE && fsutil::remove_if_exists(&tmp.path)? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes every entry and temp file. A store running concurrently in another
    /// process may fail (its temp file is gone); that costs it one cache write.
    pub fn clean(&self) -> Result<CleanReport, CacheError> {
        let mut report = CleanReport::default();
        for entry in list_entries(&self.entries)? {
            if fsutil::remove_if_exists(&entry.path)? {
                report.removed_entries += 1;
                report.removed_bytes += entry.len;
            }
        }
        for tmp in list_tmp(&self.tmp)? {
            if fsutil::remove_if_exists(&tmp.path)? {
                report.removed_tmp_files += 1;
            }
        }
        Ok(report)
    }
}

/// The outer error is an I/O failure reading the file (the entry is left alone);
/// the inner one says the entry itself is damaged.
fn check_entry(entry: &EntryFile, file: &File) -> Result<Result<(), Corruption>, CacheError> {
    let read_err = |source| CacheError::Read {
        path: entry.path.clone(),
        source,
    };
    if let Err(corruption) =
        format::verify_stream(&entry.key, ReadAt::new(file, 0)).map_err(read_err)?
    {
        return Ok(Err(corruption));
    }
    let body = ReadAt::new(file, HEADER_LEN as u64);
    Ok(
        match extract::check_body(&entry.key, body, &RestoreLimits::default()) {
            Ok(()) => Ok(()),
            Err(CacheError::Corrupt { reason, .. }) => Err(reason),
            Err(other) => Err(Corruption::Unsafe(other.to_string())),
        },
    )
}

fn age(now: SystemTime, modified: SystemTime) -> Duration {
    // A time in the future (clock skew) counts as brand new.
    now.duration_since(modified).unwrap_or(Duration::ZERO)
}

/// Lists `entries/<xx>/<key>.tar.zst` files whose key starts with `xx`.
fn list_entries(entries_dir: &Path) -> Result<Vec<EntryFile>, CacheError> {
    let mut found = Vec::new();
    for shard in read_dir_or_empty(entries_dir)? {
        let Some(shard_name) = shard.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let is_shard = shard_name.len() == 2
            && shard_name
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !is_shard {
            continue;
        }
        for file in read_dir_or_empty(&shard.path())? {
            let name = file.file_name();
            let Some(key) = name.to_str().and_then(crate::key_of_file_name) else {
                continue;
            };
            if !key.starts_with(&shard_name) {
                continue;
            }
            let path = file.path();
            let Some(metadata) = metadata_if_exists(&path)? else {
                continue;
            };
            if !metadata.is_file() {
                continue;
            }
            found.push(EntryFile {
                key: key.to_owned(),
                len: metadata.len(),
                modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                path,
            });
        }
    }
    Ok(found)
}

fn list_tmp(tmp_dir: &Path) -> Result<Vec<TmpFile>, CacheError> {
    let mut found = Vec::new();
    for file in read_dir_or_empty(tmp_dir)? {
        let is_ours = file
            .file_name()
            .to_str()
            .is_some_and(|name| name.ends_with(TMP_SUFFIX));
        if !is_ours {
            continue;
        }
        let path = file.path();
        let Some(metadata) = metadata_if_exists(&path)? else {
            continue;
        };
        if metadata.is_file() {
            found.push(TmpFile {
                path,
                len: metadata.len(),
                modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
    }
    Ok(found)
}

/// Directory entries of `dir`; none if `dir` does not exist (a shard removed by
/// hand, say) or is not a directory (an unknown file next to the shards).
fn read_dir_or_empty(dir: &Path) -> Result<Vec<fs::DirEntry>, CacheError> {
    let read_err = |source| CacheError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let iter = match fs::read_dir(dir) {
        Ok(iter) => iter,
        Err(err) if xtask_toolbox::layout::is_absent(&err) => return Ok(Vec::new()),
        Err(source) => return Err(read_err(source)),
    };
    let mut entries = Vec::new();
    for entry in iter {
        entries.push(entry.map_err(read_err)?);
    }
    Ok(entries)
}

fn metadata_if_exists(path: &Path) -> Result<Option<fs::Metadata>, CacheError> {
    // symlink_metadata: a symlink planted in the cache is not followed.
    match fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CacheError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}
