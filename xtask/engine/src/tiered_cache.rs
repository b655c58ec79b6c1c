//! The local and the remote cache as one (Turborepo's cache multiplexer):
//! lookups go local first, then to the remote, whose verified bytes are
//! installed locally and read back like any local entry; a store goes to the
//! local cache, then is queued for upload. `exists` answers where a key is
//! without reading an entry: what `--dry-run` shows.
//!
//! The cache never fails a build: the local cache's faults are one warning
//! and a run without writing it (`cache_faults.rs`); the remote warns once
//! per kind of fault and stops being called when it keeps failing
//! (xtask-remote's breaker).

use std::time::Duration;

use xtask_cache::{Artifact, CacheError, HeadIndex, LocalCache, Lookup};
use xtask_remote::Remote;

use crate::cache_faults::CacheFaults;

/// Where an entry was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheHit {
    Local,
    Remote,
}

/// One run's view of the caches. `Sync`: the run's workers share it.
pub struct TieredCache<'a> {
    local: &'a LocalCache,
    /// Answers local hits whose entry file is unchanged with one `stat`.
    heads: Option<&'a HeadIndex>,
    remote: Option<&'a Remote>,
    faults: CacheFaults,
    /// Where the local cache's warnings go (the remote has its own channel).
    warn: &'a (dyn Fn(String) + Sync),
}

impl<'a> TieredCache<'a> {
    pub fn new(
        local: &'a LocalCache,
        remote: Option<&'a Remote>,
        warn: &'a (dyn Fn(String) + Sync),
    ) -> TieredCache<'a> {
        TieredCache {
            local,
            heads: None,
            remote,
            faults: CacheFaults::new(local),
            warn,
        }
    }

    /// Local lookups go through `heads`, which records what they verify.
    pub fn with_heads(self, heads: &'a HeadIndex) -> TieredCache<'a> {
        TieredCache {
            heads: Some(heads),
            ..self
        }
    }

    /// Where `key` is: the local cache first and, only on a local miss, the
    /// remote (one HEAD request; the artifact is neither read nor checked).
    /// An error on either side is a miss there.
    pub fn exists(&self, key: &str) -> Option<CacheHit> {
        if self.local.contains(key).unwrap_or(false) {
            return Some(CacheHit::Local);
        }
        let remote = self.remote?;
        (remote.contains(key) == Some(true)).then_some(CacheHit::Remote)
    }

    /// The entry for `key`: local first; on a local miss, the remote's.
    /// `label` names the task in warnings.
    pub(crate) fn lookup(&self, label: &str, key: &str) -> Result<Lookup, CacheError> {
        let local = match self.heads {
            Some(heads) => self.local.lookup_indexed(key, heads)?,
            None => self.local.lookup(key)?,
        };
        match local {
            Lookup::Miss => self.lookup_remote(label, key),
            local => Ok(local),
        }
    }

    /// The remote's entry for `key`, installed locally (over what is there)
    /// and read back. A miss without a remote, while the local cache cannot
    /// be written (a remote hit is restored from a local entry), or when
    /// installing it hit a fault of the local cache (one warning).
    pub(crate) fn lookup_remote(&self, label: &str, key: &str) -> Result<Lookup, CacheError> {
        self.lookup_remote_admitted(label, key, &|_| true)
    }

    /// [`TieredCache::lookup_remote`], but an entry from a remote nobody signs
    /// is installed only if `admit` accepts its metadata (verified first):
    /// for entries whose content steers what is asked of the remote next.
    pub(crate) fn lookup_remote_admitted(
        &self,
        label: &str,
        key: &str,
        admit: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Lookup, CacheError> {
        let Some(remote) = self.remote else {
            return Ok(Lookup::Miss);
        };
        if self.faults.writes_off() {
            return Ok(Lookup::Miss);
        }
        let Some(bytes) = remote.fetch(key) else {
            return Ok(Lookup::Miss);
        };
        if !remote.verifies_signatures() {
            let admitted = xtask_cache::raw_meta(key, &bytes).is_ok_and(|meta| admit(&meta));
            if !admitted {
                return Ok(Lookup::Miss);
            }
        }
        match self.local.write_raw(key, &bytes) {
            Ok(()) => self.local.lookup(key),
            Err(error) if error.is_cache_fault() => {
                self.write_failed(label, &error);
                Ok(Lookup::Miss)
            }
            Err(error) => Err(error),
        }
    }

    /// Stores `artifact` under `key` locally, then queues its upload
    /// (`duration` is how long the task ran). False when it was not stored:
    /// writes are off, or this store failed (warned about).
    pub(crate) fn store(
        &self,
        label: &str,
        key: &str,
        artifact: &Artifact<'_>,
        duration: Duration,
    ) -> bool {
        if self.faults.writes_off() {
            return false;
        }
        match self.local.store(key, artifact) {
            Ok(_) => {
                if let Some(remote) = self.remote
                    && let Ok(Some(bytes)) = self.local.read_raw(key)
                {
                    remote.upload(key, bytes, duration);
                }
                true
            }
            Err(error) => {
                self.write_failed(label, &error);
                false
            }
        }
    }

    /// Nothing will be written this run: a store would be wasted work.
    pub(crate) fn writes_off(&self) -> bool {
        self.faults.writes_off()
    }

    /// A lookup of `label`'s entry could not read the local cache: one
    /// warning per run.
    pub(crate) fn read_failed(&self, label: &str, error: &CacheError) {
        if let Some(message) = self.faults.read_failed(label, error) {
            (self.warn)(message);
        }
    }

    fn write_failed(&self, label: &str, error: &CacheError) {
        if let Some(message) = self.faults.write_failed(label, error) {
            (self.warn)(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use xtask_remote::{CliRemote, RemoteSettings};

    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn file_remote(dir: &Path) -> Remote {
        let cli = CliRemote {
            url: Some(format!("file://{}", dir.display())),
            mode: None,
        };
        let settings = RemoteSettings::resolve(None, Path::new("Cargo.toml"), &|_| None, &cli)
            .unwrap()
            .unwrap();
        Remote::open(settings, Box::new(|_| {})).unwrap()
    }

    /// A machine: a workspace with one output file, and its local cache.
    struct Machine {
        ws: tempfile::TempDir,
        cache: LocalCache,
        outputs: Vec<std::path::PathBuf>,
    }

    impl Machine {
        fn new() -> Machine {
            let ws = tempfile::tempdir().unwrap();
            std::fs::write(ws.path().join("out.txt"), b"built").unwrap();
            let cache = LocalCache::open(&ws.path().join("turbo-cache")).unwrap();
            Machine {
                ws,
                cache,
                outputs: vec!["out.txt".into()],
            }
        }

        fn artifact(&self) -> Artifact<'_> {
            Artifact {
                meta: b"{}",
                log: b"log line\n",
                base_dir: self.ws.path(),
                outputs: &self.outputs,
            }
        }
    }

    #[test]
    fn stores_go_to_both_and_a_remote_hit_is_installed_locally() {
        let remote_dir = tempfile::tempdir().unwrap();
        let warnings = Mutex::new(Vec::new());
        let warn = |m: String| warnings.lock().unwrap().push(m);

        let first = Machine::new();
        let remote = file_remote(remote_dir.path());
        let cache = TieredCache::new(&first.cache, Some(&remote), &warn);
        assert_eq!(cache.exists(KEY), None);
        assert!(cache.store("a#build", KEY, &first.artifact(), Duration::ZERO));
        assert_eq!(cache.exists(KEY), Some(CacheHit::Local));
        remote.finish(Duration::from_secs(10));

        // Another machine: the key is only on the remote until looked up.
        let second = Machine::new();
        let remote = file_remote(remote_dir.path());
        let cache = TieredCache::new(&second.cache, Some(&remote), &warn);
        assert_eq!(cache.exists(KEY), Some(CacheHit::Remote));
        assert!(!second.cache.contains(KEY).unwrap(), "exists reads nothing");
        match cache.lookup("a#build", KEY).unwrap() {
            Lookup::Hit(entry) => assert_eq!(entry.log(), b"log line\n"),
            other => panic!("expected a hit, got {other:?}"),
        }
        assert!(second.cache.contains(KEY).unwrap(), "installed locally");
        assert_eq!(cache.exists(KEY), Some(CacheHit::Local));

        // Without a remote, only the local cache answers.
        let third = Machine::new();
        let cache = TieredCache::new(&third.cache, None, &warn);
        assert_eq!(cache.exists(KEY), None);
        assert!(matches!(
            cache.lookup("a#build", KEY).unwrap(),
            Lookup::Miss
        ));
        assert!(warnings.lock().unwrap().is_empty());
    }

    #[test]
    fn a_read_only_local_cache_takes_no_remote_hit_and_stores_nothing() {
        let remote_dir = tempfile::tempdir().unwrap();
        let first = Machine::new();
        let remote = file_remote(remote_dir.path());
        let warn = |_: String| {};
        let cache = TieredCache::new(&first.cache, Some(&remote), &warn);
        assert!(cache.store("a#build", KEY, &first.artifact(), Duration::ZERO));
        remote.finish(Duration::from_secs(10));

        let blocked = tempfile::tempdir().unwrap();
        let file = blocked.path().join("cache");
        std::fs::write(&file, b"a file, not a directory").unwrap();
        let (read_only, problem) = LocalCache::open_or_read_only(&file);
        assert!(problem.is_some());
        let remote = file_remote(remote_dir.path());
        let cache = TieredCache::new(&read_only, Some(&remote), &warn);
        // A dry run still sees it; a run cannot restore it (no local entry).
        assert_eq!(cache.exists(KEY), Some(CacheHit::Remote));
        assert!(matches!(
            cache.lookup("a#build", KEY).unwrap(),
            Lookup::Miss
        ));
        assert!(cache.writes_off());
        assert!(!cache.store("a#build", KEY, &first.artifact(), Duration::ZERO));
    }
}
