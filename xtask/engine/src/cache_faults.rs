//! The local cache never fails a run, and says so once: the first time the
//! cache itself cannot be read or written (permissions, a full disk, a cache
//! opened read-only), one warning; after a write fault no more writes are
//! tried this run. A problem with one task's outputs or one entry is not the
//! cache's fault and stays that task's own warning.

use std::sync::atomic::{AtomicBool, Ordering};

use xtask_cache::{CacheError, LocalCache};

use crate::error_chain::error_chain;

pub(crate) struct CacheFaults {
    writes_off: AtomicBool,
    read_warned: AtomicBool,
}

impl CacheFaults {
    /// A cache opened read-only was already warned about when the
    /// workspace was opened: no writes, and no warning per task.
    pub(crate) fn new(cache: &LocalCache) -> CacheFaults {
        CacheFaults {
            writes_off: AtomicBool::new(!cache.is_writable()),
            read_warned: AtomicBool::new(false),
        }
    }

    pub(crate) fn writes_off(&self) -> bool {
        self.writes_off.load(Ordering::Relaxed)
    }

    /// A store (or the install of a remote hit) failed: the warning to give,
    /// if any.
    pub(crate) fn write_failed(&self, label: &str, error: &CacheError) -> Option<String> {
        if !error.is_cache_fault() {
            return Some(format!(
                "{label}: could not write the cache entry: {}",
                error_chain(error)
            ));
        }
        let first = !self.writes_off.swap(true, Ordering::Relaxed);
        first.then(|| {
            format!(
                "{label}: could not write the local cache: {}; not writing it for the rest of \
                 this run\nhint: free some space, or point --cache-dir / XTASK_CACHE_DIR at a \
                 writable directory",
                error_chain(error)
            )
        })
    }

    /// A lookup failed (not a miss, not a damaged entry: the cache could not
    /// be read): the warning to give, once per run.
    pub(crate) fn read_failed(&self, label: &str, error: &CacheError) -> Option<String> {
        let first = !self.read_warned.swap(true, Ordering::Relaxed);
        first.then(|| {
            format!(
                "{label}: could not read the local cache: {}; running the task (further read \
                 failures are not shown)",
                error_chain(error)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn full_disk() -> CacheError {
        CacheError::Write {
            path: PathBuf::from("turbo-cache/v1/tmp/x.tmp"),
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        }
    }

    #[test]
    fn one_warning_per_kind_of_cache_fault() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path()).unwrap();
        let faults = CacheFaults::new(&cache);
        assert!(!faults.writes_off());

        // A task's own output problem: its warning each time, writes go on.
        let missing = CacheError::MissingOutput {
            path: PathBuf::from("pkg/dist/app"),
        };
        for _ in 0..2 {
            let warning = faults.write_failed("a#build", &missing).unwrap();
            assert!(warning.contains("pkg/dist/app"), "{warning}");
        }
        assert!(!faults.writes_off());

        // The disk is full: one warning, then writing stops.
        let warning = faults.write_failed("a#build", &full_disk()).unwrap();
        assert!(
            warning.contains("not writing it for the rest of this run"),
            "{warning}"
        );
        assert!(faults.writes_off());
        assert_eq!(faults.write_failed("b#build", &full_disk()), None);

        let unreadable = CacheError::Read {
            path: PathBuf::from("turbo-cache/v1/entries/ab"),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert!(faults.read_failed("a#build", &unreadable).is_some());
        assert_eq!(faults.read_failed("b#build", &unreadable), None);
    }

    #[test]
    fn a_read_only_cache_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cache");
        std::fs::write(&file, b"a file").unwrap();
        let (cache, problem) = LocalCache::open_or_read_only(&file);
        assert!(problem.is_some());
        assert!(CacheFaults::new(&cache).writes_off());
    }
}
