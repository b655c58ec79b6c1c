//! The local, content-addressed task cache.
//!
//! An entry is one file per task key, `<dir>/v1/entries/<k[..2]>/<key>.tar.zst`:
//! a 48-byte zstd skippable frame holding a blake3 over the key and the rest
//! (`format`: an entry is bound to its key), then a zstd-compressed tar of
//! `meta.json`, `log` and `outputs/…` (`archive`). Entries are
//! written to `<dir>/v1/tmp/` and renamed into place, so a killed process or two
//! concurrent runs never leave a half-entry that reads as valid; a file that fails
//! its hash check reads as `Lookup::Corrupt` and is removed, so the next run misses.
//! Restoring outputs (`extract`) is a security boundary and trusts nothing in the
//! archive: it writes only what the caller's `OutputFilter` allows, and only after
//! checking the whole archive (`tar_guard` bounds the tar headers first).
//! `evict` holds `status`, `verify`, `prune` and `clean`.
//!
//! Invariant: nothing here talks to the network or the terminal; a remote cache
//! builds on `read_raw` / `write_raw`.

mod archive;
mod decoder;
mod error;
mod evict;
mod extract;
mod format;
mod fsutil;
mod head_index;
mod paths;
mod tar_guard;

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use error::{CacheError, Corruption, LinkProblem, Refusal};
pub use format::FRAME_CONTEXT;
pub use head_index::HeadIndex;

/// The largest log an entry may hold; `store` refuses a longer one and a hit
/// reads at most this much, so callers keep stored logs below it.
pub const MAX_LOG_BYTES: u64 = archive::LOG_MAX;

use xtask_toolbox::layout::{CacheBucket, CacheDir};

use crate::format::HEADER_LEN;
use crate::fsutil::{ReadAt, TempFile};
use crate::head_index::{Probe, mtime_refresh_due};

const ENTRY_SUFFIX: &str = ".tar.zst";
const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by xtask (cargo xtask).\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";
/// Written into the cache directory, as cargo does for `target/`: the cache
/// usually lives inside the user's repository, and `git status` must stay clean
/// without anyone editing their own ignore file.
const GITIGNORE: &str = "# Created by xtask: git ignores this whole cache directory.\n*\n";

/// The cache on disk. Cheap to share between threads: it holds only paths.
#[derive(Debug, Clone)]
pub struct LocalCache {
    /// Every path here comes from the layout: bump
    /// `CacheBucket::Entries`' version when the entry format changes, so old
    /// and new tools never read each other's entries.
    layout: CacheDir,
    entries: PathBuf,
    tmp: PathBuf,
    /// False when `open_or_read_only` could not set the cache up: what is
    /// there is read, nothing is written.
    writable: bool,
}

/// What `lookup` found.
#[derive(Debug)]
pub enum Lookup {
    Hit(Entry),
    Miss,
    /// The entry existed but was damaged; it has been removed.
    Corrupt {
        key: String,
        reason: Corruption,
    },
}

/// What to store for a task. `outputs` are relative to `base_dir`; each is stored
/// as it is on disk (a file, a symlink, or a directory entry without its contents:
/// list the files inside separately).
#[derive(Debug, Clone, Copy)]
pub struct Artifact<'a> {
    pub meta: &'a [u8],
    pub log: &'a [u8],
    pub base_dir: &'a Path,
    pub outputs: &'a [PathBuf],
}

/// A verified cache hit. It keeps the entry file open, so a concurrent `prune` or
/// `store` of the same key cannot pull the data away between lookup and restore.
/// A hit answered from a [`HeadIndex`] has no file open: its restore opens and
/// verifies the file, and refuses one whose head is not the one it answered.
pub struct Entry {
    key: String,
    path: PathBuf,
    file: Option<File>,
    meta: Vec<u8>,
    log: Vec<u8>,
}

/// What `store` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Bounds on what one restore may unpack. The first pass checks them over the
/// whole archive before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreLimits {
    /// Total size of the restored files' contents.
    pub max_bytes: u64,
    /// Number of output members (files, links, directories).
    pub max_members: u64,
    /// Total length of the members' names: what the restore keeps in memory.
    pub max_name_bytes: u64,
}

impl Default for RestoreLimits {
    fn default() -> Self {
        RestoreLimits {
            max_bytes: 4 << 30,
            max_members: 500_000,
            max_name_bytes: 64 << 20,
        }
    }
}

/// Which paths a restore may write, relative to the base directory: the task's
/// declared outputs, resolved as they were when the entry was stored. The cache
/// knows nothing of configuration; the caller says what belongs to the task.
/// Paths with a `.git` component are refused whatever the filter says.
pub trait OutputFilter: Sync {
    fn allows(&self, rel: &Path) -> bool;
}

impl<F: Fn(&Path) -> bool + Sync> OutputFilter for F {
    fn allows(&self, rel: &Path) -> bool {
        self(rel)
    }
}

/// What a restore wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub files: u64,
    pub symlinks: u64,
    pub directories: u64,
    /// Bytes of file contents written.
    pub bytes: u64,
}

/// The cache's contents at a glance (`cargo xtask cache status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheStatus {
    pub entries: u64,
    pub total_bytes: u64,
    /// Modification times: the last store or hit of the least and most recently
    /// used entries.
    pub oldest: Option<SystemTime>,
    pub newest: Option<SystemTime>,
    /// Leftovers of interrupted stores (and stores in progress).
    pub tmp_files: u64,
    pub tmp_bytes: u64,
}

/// An entry `verify` found damaged and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptEntry {
    pub key: String,
    pub reason: Corruption,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked, good or bad.
    pub checked: u64,
    pub removed: Vec<CorruptEntry>,
}

/// Bounds for `prune`. Entries are used-least-recently-first: a hit refreshes the
/// entry's mtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrunePolicy {
    /// Remove the least recently used entries until the total is at most this.
    pub max_bytes: Option<u64>,
    /// Remove entries not used for longer than this.
    pub max_age: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub removed_entries: u64,
    pub removed_bytes: u64,
    pub removed_tmp_files: u64,
    pub remaining_entries: u64,
    pub remaining_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanReport {
    pub removed_entries: u64,
    pub removed_bytes: u64,
    pub removed_tmp_files: u64,
}

impl LocalCache {
    /// Opens (creating if needed) the cache in `dir`, and removes temp files
    /// that dead stores left there over an hour ago.
    pub fn open(dir: &Path) -> Result<LocalCache, CacheError> {
        let cache = LocalCache::at(dir, true);
        for path in [&cache.entries, &cache.tmp] {
            fs::create_dir_all(path).map_err(|source| CacheError::CreateDir {
                path: path.clone(),
                source,
            })?;
        }
        cache.write_marker(CacheBucket::CacheDirTag, CACHEDIR_TAG)?;
        cache.write_marker(CacheBucket::GitIgnore, GITIGNORE)?;
        // Housekeeping only: a failure here is the next run's to retry.
        let _ = cache.remove_stale_tmp();
        Ok(cache)
    }

    /// Opens the cache for a run, which the cache must never fail: if `open`
    /// fails (a read-only or full filesystem, `v1/tmp` being a file), the
    /// cache is read-only: lookups read what is there, writes are refused
    /// with `CacheError::ReadOnly`. The error says why, for one warning.
    pub fn open_or_read_only(dir: &Path) -> (LocalCache, Option<CacheError>) {
        match LocalCache::open(dir) {
            Ok(cache) => (cache, None),
            Err(error) => (LocalCache::at(dir, false), Some(error)),
        }
    }

    fn at(dir: &Path, writable: bool) -> LocalCache {
        let layout = CacheDir::new(dir);
        LocalCache {
            entries: layout.path(CacheBucket::Entries),
            tmp: layout.path(CacheBucket::Tmp),
            layout,
            writable,
        }
    }

    /// The directory given to `open`.
    pub fn dir(&self) -> &Path {
        self.layout.root()
    }

    /// The layout of the directory given to `open`: where the rest of what
    /// the cache directory holds (run summaries, workspace state) goes.
    pub fn layout(&self) -> &CacheDir {
        &self.layout
    }

    /// False for a cache `open_or_read_only` could not set up.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    fn check_writable(&self) -> Result<(), CacheError> {
        if self.writable {
            Ok(())
        } else {
            Err(CacheError::ReadOnly {
                dir: self.dir().to_path_buf(),
            })
        }
    }

    /// Writes a file that tells other tools what this directory is, unless it
    /// exists: `CACHEDIR.TAG` (backup tools and `tar --exclude-caches` skip
    /// us) and `.gitignore` (git does). A cache created before a marker existed
    /// gets it on its next open.
    fn write_marker(&self, marker: CacheBucket, content: &str) -> Result<(), CacheError> {
        let path = self.layout.path(marker);
        if path.exists() {
            return Ok(());
        }
        // Temp + rename: a concurrent `open` never sees a half-written file.
        let write = || -> io::Result<()> {
            let (temp, mut file) = TempFile::create(&self.tmp, marker.name())?;
            file.write_all(content.as_bytes())?;
            drop(file);
            temp.persist(&path)
        };
        write().map_err(|source| CacheError::Write {
            path: path.clone(),
            source,
        })
    }

    fn entry_path(&self, key: &str) -> Result<PathBuf, CacheError> {
        check_key(key)?;
        Ok(self
            .entries
            .join(&key[..2])
            .join(format!("{key}{ENTRY_SUFFIX}")))
    }

    /// Whether an entry for `key` exists, without reading or verifying it:
    /// for plans (`--dry-run`), where a damaged entry found later is still
    /// only a miss.
    pub fn contains(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.entry_path(key)?.is_file())
    }

    /// Finds and verifies the entry for `key`. A damaged entry is removed and
    /// reported as `Corrupt`; a hit counts as a use for eviction.
    pub fn lookup(&self, key: &str) -> Result<Lookup, CacheError> {
        let path = self.entry_path(key)?;
        self.lookup_at(key, path)
    }

    /// [`LocalCache::lookup`], answered from `heads` with one `stat` when the
    /// entry file is as it was when its head was recorded; the head of an
    /// entry verified in full here is recorded for the next run.
    pub fn lookup_indexed(&self, key: &str, heads: &HeadIndex) -> Result<Lookup, CacheError> {
        let path = self.entry_path(key)?;
        match heads.probe(key, &path) {
            Probe::Known { meta, log } => {
                return Ok(Lookup::Hit(Entry {
                    key: key.to_owned(),
                    path,
                    file: None,
                    meta: meta.to_vec(),
                    log: log.to_vec(),
                }));
            }
            Probe::Absent => return Ok(Lookup::Miss),
            Probe::Unknown => {}
        }
        let lookup = self.lookup_at(key, path)?;
        if let Lookup::Hit(entry) = &lookup
            && let Some(file) = &entry.file
        {
            heads.record(key, file, &entry.meta, &entry.log);
        }
        Ok(lookup)
    }

    fn lookup_at(&self, key: &str, path: PathBuf) -> Result<Lookup, CacheError> {
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if xtask_toolbox::layout::is_absent(&err) => return Ok(Lookup::Miss),
            Err(source) => return Err(CacheError::Read { path, source }),
        };
        let (meta, log) = match verified_head(key, &file) {
            Ok(head) => head,
            Err(HeadError::Io(source)) => return Err(CacheError::Read { path, source }),
            Err(HeadError::Bad(Corruption::OtherVersion)) => {
                // Useless to this version, and nothing is wrong: a quiet miss.
                fsutil::remove_if_same(&path, &file)?;
                return Ok(Lookup::Miss);
            }
            Err(HeadError::Bad(reason)) => {
                fsutil::remove_if_same(&path, &file)?;
                return Ok(Lookup::Corrupt {
                    key: key.to_owned(),
                    reason,
                });
            }
        };
        refresh_mtime(&file);
        Ok(Lookup::Hit(Entry {
            key: key.to_owned(),
            path,
            file: Some(file),
            meta,
            log,
        }))
    }

    /// Stores `artifact` under `key`, replacing any entry there.
    pub fn store(&self, key: &str, artifact: &Artifact<'_>) -> Result<StoreInfo, CacheError> {
        let dest = self.entry_path(key)?;
        self.check_writable()?;
        for (what, size, limit) in [
            ("meta.json", artifact.meta.len(), archive::META_MAX),
            ("log", artifact.log.len(), archive::LOG_MAX),
        ] {
            if size as u64 > limit {
                return Err(CacheError::TooLarge {
                    key: key.to_owned(),
                    what,
                    size: size as u64,
                    limit,
                });
            }
        }
        // Check the whole output list before creating anything.
        let outputs = archive::plan_outputs(artifact.base_dir, artifact.outputs)?;

        let (temp, mut file) =
            TempFile::create(&self.tmp, key).map_err(|source| CacheError::Write {
                path: self.tmp.clone(),
                source,
            })?;
        let write_err = |source: io::Error| CacheError::Write {
            path: temp.path().to_path_buf(),
            source,
        };
        // A placeholder header now, the real one once the body's hash is known: one
        // pass over the outputs, no reading back.
        file.write_all(&[0; HEADER_LEN]).map_err(write_err)?;
        let hashing = format::HashingWriter::new(key, &mut file);
        let hashing = archive::write_body(hashing, temp.path(), artifact, &outputs)?;
        let (_, hash, body_len) = hashing.finish();
        file.seek(SeekFrom::Start(0)).map_err(write_err)?;
        file.write_all(&format::encode_header(&hash))
            .map_err(write_err)?;
        drop(file);

        if let Some(shard) = dest.parent() {
            fs::create_dir_all(shard).map_err(|source| CacheError::CreateDir {
                path: shard.to_path_buf(),
                source,
            })?;
        }
        temp.persist(&dest).map_err(|source| CacheError::Write {
            path: dest.clone(),
            source,
        })?;
        Ok(StoreInfo {
            path: dest,
            bytes: HEADER_LEN as u64 + body_len,
        })
    }

    /// The entry file's bytes, verified, for uploading to a remote cache. `None` if
    /// there is no entry; a damaged one is removed and reported as `Corrupt`.
    pub fn read_raw(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let path = self.entry_path(key)?;
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if xtask_toolbox::layout::is_absent(&err) => return Ok(None),
            Err(source) => return Err(CacheError::Read { path, source }),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|source| CacheError::Read {
                path: path.clone(),
                source,
            })?;
        if let Err(reason) = check_raw(key, &bytes) {
            fsutil::remove_if_same(&path, &file)?;
            return Err(CacheError::Corrupt {
                key: key.to_owned(),
                reason,
            });
        }
        Ok(Some(bytes))
    }

    /// Installs entry bytes obtained elsewhere (a remote cache) after verifying
    /// them; bytes that fail the check are refused and nothing is installed.
    pub fn write_raw(&self, key: &str, bytes: &[u8]) -> Result<(), CacheError> {
        let dest = self.entry_path(key)?;
        self.check_writable()?;
        check_raw(key, bytes).map_err(|reason| CacheError::Corrupt {
            key: key.to_owned(),
            reason,
        })?;
        let (temp, mut file) =
            TempFile::create(&self.tmp, key).map_err(|source| CacheError::Write {
                path: self.tmp.clone(),
                source,
            })?;
        file.write_all(bytes).map_err(|source| CacheError::Write {
            path: temp.path().to_path_buf(),
            source,
        })?;
        drop(file);
        if let Some(shard) = dest.parent() {
            fs::create_dir_all(shard).map_err(|source| CacheError::CreateDir {
                path: shard.to_path_buf(),
                source,
            })?;
        }
        temp.persist(&dest).map_err(|source| CacheError::Write {
            path: dest.clone(),
            source,
        })
    }
}

/// The checks `lookup` makes, on bytes in memory.
/// The metadata of entry bytes obtained elsewhere, verified whole first: for
/// judging what a remote sent before installing it.
pub fn raw_meta(key: &str, bytes: &[u8]) -> Result<Vec<u8>, Corruption> {
    format::verify_bytes(key, bytes)?;
    Ok(archive::read_head(&bytes[HEADER_LEN..])?.0)
}

fn check_raw(key: &str, bytes: &[u8]) -> Result<(), Corruption> {
    format::verify_bytes(key, bytes)?;
    archive::read_head(&bytes[HEADER_LEN..])?;
    Ok(())
}

// By hand: the derived form would print the whole log.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("path", &self.path)
            .field("meta_bytes", &self.meta.len())
            .field("log_bytes", &self.log.len())
            .finish()
    }
}

impl Entry {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The entry file (it may have been replaced or pruned since the lookup; this
    /// `Entry` still reads the version it verified).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta(&self) -> &[u8] {
        &self.meta
    }

    pub fn log(&self) -> &[u8] {
        &self.log
    }

    /// Writes the entry's outputs under `base_dir`: only paths `filter` allows,
    /// never into `.git`, never outside `base_dir`. The whole archive is checked
    /// before the first byte is written, so a refused entry writes nothing
    /// (see `extract`).
    pub fn restore_outputs(
        &self,
        base_dir: &Path,
        limits: &RestoreLimits,
        filter: &dyn OutputFilter,
    ) -> Result<RestoreReport, CacheError> {
        let reopened;
        let file = match &self.file {
            Some(file) => file,
            None => {
                reopened = self.reopen()?;
                &reopened
            }
        };
        extract::restore(
            &self.key,
            || ReadAt::new(file, HEADER_LEN as u64),
            base_dir,
            limits,
            filter,
        )
    }

    /// The file of a hit answered from the index, verified in full now and
    /// checked to hold the head the hit gave: the caller chose what to
    /// restore from that head.
    fn reopen(&self) -> Result<File, CacheError> {
        let file = File::open(&self.path).map_err(|source| CacheError::Read {
            path: self.path.clone(),
            source,
        })?;
        let corrupt = |reason| CacheError::Corrupt {
            key: self.key.clone(),
            reason,
        };
        match verified_head(&self.key, &file) {
            Ok((meta, log)) if meta == self.meta && log == self.log => Ok(file),
            Ok(_) => Err(corrupt(Corruption::Changed)),
            Err(HeadError::Io(source)) => Err(CacheError::Read {
                path: self.path.clone(),
                source,
            }),
            Err(HeadError::Bad(reason)) => Err(corrupt(reason)),
        }
    }
}

/// Why an entry file's head could not be read.
enum HeadError {
    /// Reading failed: not the entry's fault.
    Io(io::Error),
    /// The entry is bad.
    Bad(Corruption),
}

/// The head (meta, log) of the entry of `key` in `file`, after the whole
/// file was checked against its hash: nothing is decoded from a file whose
/// hash does not match.
fn verified_head(key: &str, file: &File) -> Result<(Vec<u8>, Vec<u8>), HeadError> {
    format::verify_stream(key, ReadAt::new(file, 0))
        .map_err(HeadError::Io)?
        .map_err(HeadError::Bad)?;
    archive::read_head(ReadAt::new(file, HEADER_LEN as u64)).map_err(HeadError::Bad)
}

/// Least-recently-used eviction reads entry mtimes: a hit refreshes one older
/// than [`head_index::MTIME_REFRESH_SECS`]. A younger one is left alone, so a
/// warm run writes no metadata (and the head index's records stay valid).
/// Failing to refresh (a read-only cache) only makes eviction less accurate.
fn refresh_mtime(file: &File) {
    let due = file
        .metadata()
        .and_then(|meta| meta.modified())
        .map_or(true, mtime_refresh_due);
    if due {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// A key is 64 lowercase hex characters; anything else could be a path.
fn check_key(key: &str) -> Result<(), CacheError> {
    if xtask_toolbox::Key::is_valid(key) {
        Ok(())
    } else {
        Err(CacheError::InvalidKey {
            key: key.to_owned(),
        })
    }
}

/// The key of an entry file name, if it is one of ours.
fn key_of_file_name(name: &str) -> Option<&str> {
    let key = name.strip_suffix(ENTRY_SUFFIX)?;
    check_key(key).ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let good = "0123456789abcdef".repeat(4);
        assert!(check_key(&good).is_ok());
        for bad in [
            "../x",
            "",
            "abc",
            &good.to_uppercase(),
            &good[..63],
            &format!("{good}0"),
            &format!("../{}", &good[3..]),
            &format!("{}/", &good[..63]),
        ] {
            assert!(
                matches!(check_key(bad), Err(CacheError::InvalidKey { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(key_of_file_name(&format!("{good}.tar.zst")), Some(&*good));
        assert_eq!(key_of_file_name(&format!("{good}.tar")), None);
        assert_eq!(key_of_file_name("notes.txt"), None);
    }
}
