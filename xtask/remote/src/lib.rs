//! The remote cache: artifacts shared between machines through a directory
//! (`file://`), the Turborepo remote cache API (`http(s)://`), or, with cargo
//! features, S3 (`s3`), Google Cloud Storage (`gcs`) and Azure Blob (`azure`;
//! `cloud` turns on all three).
//!
//! An artifact is exactly a local cache entry's bytes (`LocalCache::read_raw` /
//! `write_raw` in xtask-cache), stored under its 64-hex task key. Object stores
//! keep it at `<prefix>/<namespace>/<key>`; the Turborepo API at
//! `/v8/artifacts/<key>?teamId=…|slug=…`.
//!
//! # Use
//!
//! ```no_run
//! # use std::{path::Path, time::Duration};
//! # use xtask_remote::{CliRemote, Remote, RemoteSettings};
//! # let table: Option<toml::Table> = None;
//! # let (key, bytes) = ("0".repeat(64), Vec::new());
//! let env = |name: &str| std::env::var(name).ok();
//! let cli = CliRemote { url: None, mode: None };
//! if let Some(settings) = RemoteSettings::resolve(table.as_ref(), Path::new("Cargo.toml"), &env, &cli)? {
//!     let limit = settings.flush_time_limit();
//!     let remote = Remote::open(settings, Box::new(|warning| eprintln!("warning: {warning}")))?;
//!     // On a local miss: verified bytes, ready for `LocalCache::write_raw`.
//!     if let Some(entry) = remote.fetch(&key) { /* write_raw, then lookup + restore */ }
//!     // After storing a task's result locally (bytes from `read_raw`):
//!     remote.upload(&key, bytes, Duration::from_millis(1200));
//!     // Before exit:
//!     let report = remote.finish(limit);
//! }
//! # Ok::<(), xtask_remote::RemoteError>(())
//! ```
//!
//! # Settings
//!
//! `[workspace.metadata.xtask.remote-cache]` in the root manifest, then the
//! environment, then `--remote-cache=URL` / `--remote-cache-mode=MODE`:
//!
//! | key | env | default |
//! |---|---|---|
//! | `url` | `XTASK_REMOTE_CACHE_URL`, `TURBO_API` | none (remote off); `https://vercel.com/api` when only `TURBO_TOKEN` and `TURBO_TEAM` are set |
//! | `mode` | `XTASK_REMOTE_CACHE_MODE`, `TURBO_REMOTE_CACHE_READ_ONLY=1` | `read-write` (`read`, `write`, `off`) |
//! | `namespace` | `XTASK_REMOTE_CACHE_NAMESPACE` | `main` |
//! | `untrusted-namespace` | `XTASK_REMOTE_CACHE_UNTRUSTED_NAMESPACE` | none |
//! | `trusted` | `XTASK_REMOTE_CACHE_TRUSTED` | `true` |
//! | `team` / `team-id` | `TURBO_TEAM` / `TURBO_TEAMID` (or `XTASK_REMOTE_CACHE_TEAM[_ID]`) | none |
//! | — (secret) | `TURBO_TOKEN`, `XTASK_REMOTE_CACHE_TOKEN` | none |
//! | `signature` | `XTASK_REMOTE_CACHE_SIGNATURE` | on when a key is set |
//! | — (secret) | `XTASK_REMOTE_CACHE_SIGNATURE_KEY`, `TURBO_REMOTE_CACHE_SIGNATURE_KEY` | none |
//! | `timeout`, `connect-timeout` | `XTASK_REMOTE_CACHE_TIMEOUT` | `30s`, `3s` |
//! | `upload-concurrency` | — | 4 |
//! | `flush-time-limit` | `XTASK_REMOTE_CACHE_FLUSH_TIME_LIMIT` | `30s` |
//! | `max-artifact-size` | `XTASK_REMOTE_CACHE_MAX_ARTIFACT_SIZE` | `1GiB` |
//! | `region`, `endpoint`, `allow-http` | the usual `AWS_*`, `AZURE_STORAGE_*`, `GOOGLE_*` variables | object_store's |
//!
//! Secrets are refused in the manifest (it is committed) and never appear in an
//! error, a warning, `Debug` output or `describe()`.
//!
//! # Trust: the recommended CI setup
//!
//! Main-branch builds (trusted): `mode = "read-write"`, and a signature key from
//! the CI secret store. Pull requests from forks (untrusted, no secrets):
//! `XTASK_REMOTE_CACHE_TRUSTED=false`. An untrusted build reads the trusted
//! namespace (reading is safe: artifacts are checked, and signed when signing is
//! on) but never writes it; with an `untrusted-namespace` it writes there instead
//! and reads it too, so fork builds share a cache that main never reads. On the
//! Turborepo API there are no namespaces, so untrusted builds are read-only there.
//! Or simply `--remote-cache-mode=read` for pull requests.
//!
//! # Failure
//!
//! Settings: `resolve` errors carry a [`Blame`]. A mistake in the manifest or
//! on the command line is the caller's error to report; a remote this
//! environment cannot use (no token, as in a fork's pull request; a backend
//! not compiled in; a bad variable) is meant to be one warning and a run
//! without the remote.
//!
//! Nothing here fails a build. `fetch` returns `None` on a miss and on any fault
//! (refused connection, timeout, 5xx, 401/403, a truncated or altered body, a bad
//! signature); each kind of fault is warned about once per run. Reads and writes
//! each have a breaker: after three failures in a row or six in the run, reads
//! (or writes) stop for the rest of the run; one refusal of the credentials stops
//! both. So a remote whose downloads stall costs at most `6 + concurrency - 1`
//! timeouts of reading in a run (`3 + concurrency - 1` when every read fails),
//! however many tasks there are and however well its uploads work. Bytes are
//! returned only after their blake3 frame (and signature, when signing is on)
//! checks out; safe extraction is xtask-cache's job when the caller restores them.

mod backend;
mod breaker;
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
mod cloud_store;
mod error;
mod integrity;
mod secret;
mod settings;
mod sign;
mod uploads;
mod warn;

use std::sync::Arc;
use std::time::Duration;

/// The object store a `RemoteSettings` names, opened the way the remote cache
/// opens it: for other commands that keep objects in the same stores (backup).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
pub use cloud_store::CloudStore;
pub use error::{Blame, RemoteError};
pub use secret::Secret;
pub use settings::{
    BackendKind, CliRemote, Mode, RemoteSettings, Source, cloud_credential_env, own_secret_env,
};
pub use uploads::UploadReport;

use crate::backend::Backend;
use crate::breaker::{Breaker, Direction, Opened};
use crate::error::{Failure, FailureKind};
use crate::secret::Scrubber;
use crate::sign::Signer;
use crate::uploads::{Job, Uploads};
use crate::warn::{Topic, Warnings};

/// A connection to one remote cache for one run. `Send + Sync`: share it between
/// the engine's worker threads by reference or in an `Arc`.
pub struct Remote {
    inner: Arc<Inner>,
    uploads: Uploads,
}

struct Inner {
    backend: Box<dyn Backend>,
    mode: Mode,
    namespace: String,
    untrusted_namespace: Option<String>,
    trusted: bool,
    signer: Option<Signer>,
    max_artifact_size: u64,
    breaker: Breaker,
    warnings: Warnings,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.inner.warnings_url())
            .field("mode", &self.inner.mode)
            .field("namespace", &self.inner.namespace)
            .field("trusted", &self.inner.trusted)
            .field("signing", &self.inner.signer.is_some())
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Connects lazily: nothing goes over the network until the first fetch or
    /// upload. Errors only for settings the backend cannot use (a cloud URL it
    /// cannot parse); `resolve` has already checked the rest.
    pub fn open(
        settings: RemoteSettings,
        warnings: Box<dyn Fn(String) + Send + Sync>,
    ) -> Result<Remote, RemoteError> {
        let backend = backend::open(&settings)?;
        let mut scrubber = Scrubber::default();
        for secret in [&settings.token.value, &settings.signature_key.value]
            .into_iter()
            .flatten()
        {
            scrubber.add(secret.expose());
        }
        for (name, value) in &settings.cloud_options {
            if secret::is_secret_name(name) {
                scrubber.add(value.value.expose());
            }
        }
        let signer = match (&settings.signature.value, &settings.signature_key.value) {
            (true, Some(key)) => Some(Signer::new(key.clone())),
            _ => None,
        };
        let inner = Inner {
            backend,
            mode: settings.mode.value,
            namespace: settings.namespace.value.clone(),
            untrusted_namespace: settings.untrusted_namespace.value.clone(),
            trusted: settings.trusted.value,
            signer,
            max_artifact_size: settings.max_artifact_size.value,
            breaker: Breaker::default(),
            warnings: Warnings::new(warnings, scrubber, settings.display_url()),
        };
        Ok(Remote {
            inner: Arc::new(inner),
            uploads: Uploads::new(settings.upload_concurrency.value),
        })
    }

    /// Whether what this remote serves must carry our signature: then only
    /// holders of the key can have written it.
    pub fn verifies_signatures(&self) -> bool {
        self.inner.signer.is_some()
    }

    /// A one-time hint for a run that may write this remote while nothing it
    /// writes is signed: whoever can write the remote can then plant the
    /// contents of any task's outputs (see the README's remote-cache section).
    pub fn signing_hint(&self) -> Option<&'static str> {
        let unsigned_writes = self.inner.write_namespace().is_some() && self.inner.signer.is_none();
        unsigned_writes.then_some(
            "hint: the remote cache is written without a signing key, so anyone who can write \
             it can plant task outputs; set XTASK_REMOTE_CACHE_SIGNATURE_KEY (e.g. from \
             `openssl rand -base64 32`) on every machine that shares it",
        )
    }

    /// The artifact for `key`, verified (blake3 frame, and signature when signing
    /// is on), or `None`: a miss, a fault, an open breaker, a bad signature. Never
    /// an error, never a panic; at most one warning per kind of failure per run.
    pub fn fetch(&self, key: &str) -> Option<Vec<u8>> {
        let inner = &self.inner;
        if !inner.mode.can_read() || !valid_key(key) || inner.breaker.is_open(Direction::Read) {
            return None;
        }
        for namespace in inner.read_namespaces() {
            match inner.backend.get(namespace, key, inner.max_artifact_size) {
                Ok(None) => inner.breaker.success(Direction::Read),
                Ok(Some(fetched)) => {
                    // Success only once the bytes check out: a path that mangles
                    // every artifact must trip the breaker too.
                    return match inner.check(namespace, key, &fetched) {
                        Ok(()) => {
                            inner.breaker.success(Direction::Read);
                            Some(fetched.bytes)
                        }
                        Err(failure) => {
                            inner.record(Direction::Read, "fetch", key, &failure);
                            None
                        }
                    };
                }
                Err(failure) => {
                    inner.record(Direction::Read, "fetch", key, &failure);
                    return None;
                }
            }
        }
        None
    }

    /// Whether the remote has `key` (HEAD), for dry runs. `None` when it cannot
    /// be asked (mode, breaker, fault). Does not check the artifact.
    pub fn contains(&self, key: &str) -> Option<bool> {
        let inner = &self.inner;
        if !inner.mode.can_read() || !valid_key(key) || inner.breaker.is_open(Direction::Read) {
            return None;
        }
        let mut found = false;
        for namespace in inner.read_namespaces() {
            match inner.backend.exists(namespace, key) {
                Ok(exists) => {
                    inner.breaker.success(Direction::Read);
                    found |= exists;
                }
                Err(failure) => {
                    inner.record(Direction::Read, "look up", key, &failure);
                    return None;
                }
            }
        }
        Some(found)
    }

    /// Queues an upload of entry `bytes` (from `LocalCache::read_raw`) under `key`
    /// and returns at once; `duration` is how long the task ran (Turborepo shows
    /// it as time saved). Skipped in read-only mode, for an untrusted build with
    /// no namespace of its own, when the breaker is open, and for artifacts over
    /// `max-artifact-size`.
    pub fn upload(&self, key: &str, bytes: Vec<u8>, duration: Duration) {
        let inner = &self.inner;
        let Some(namespace) = inner.write_namespace() else {
            self.uploads.skipped();
            return;
        };
        if !valid_key(key) || inner.breaker.is_open(Direction::Write) {
            self.uploads.skipped();
            return;
        }
        if bytes.len() as u64 > inner.max_artifact_size {
            let failure = Failure::new(
                FailureKind::TooLarge,
                format!(
                    "{} bytes is larger than {}",
                    bytes.len(),
                    inner.max_artifact_size
                ),
            );
            inner.warnings.failure(
                Topic::Upload(FailureKind::TooLarge),
                "upload",
                key,
                &failure,
            );
            self.uploads.skipped();
            return;
        }
        let tag = inner
            .signer
            .as_ref()
            .map(|signer| signer.tag(key, &inner.backend.sign_context(namespace), &bytes));
        let job = Job {
            key: key.to_owned(),
            namespace: namespace.to_owned(),
            bytes,
            tag,
            duration,
        };
        let worker_inner = Arc::clone(&self.inner);
        let work = Arc::new(move |job: &Job| worker_inner.put(job));
        if !self.uploads.push(job, work) {
            inner.warnings.once(Topic::QueueFull, || {
                format!(
                    "failed to queue the upload of {key}: more than {} MiB are waiting to be \
                     uploaded\nhint: the remote is slower than the build; later artifacts are \
                     not uploaded this run",
                    uploads::QUEUE_MAX_BYTES >> 20
                )
            });
        }
    }

    /// Waits for queued uploads up to `limit`, then gives up on the rest (one
    /// warning). Later uploads are skipped if it gave up.
    pub fn finish(&self, limit: Duration) -> UploadReport {
        let (report, left) = self.uploads.finish(limit);
        if left > 0 {
            self.inner.warnings.once(Topic::GaveUpUploads, || {
                format!(
                    "failed to finish {left} upload(s) within {limit:?}; they were abandoned\n\
                     hint: raise `flush-time-limit` if the remote is slow but working"
                )
            });
        }
        report
    }
}

impl Inner {
    fn warnings_url(&self) -> &str {
        self.warnings.url()
    }

    /// Trusted builds read only the trusted namespace; untrusted ones read it and
    /// their own.
    fn read_namespaces(&self) -> impl Iterator<Item = &str> {
        let own = (!self.trusted && self.backend.has_namespaces())
            .then_some(self.untrusted_namespace.as_deref())
            .flatten();
        std::iter::once(self.namespace.as_str()).chain(own)
    }

    /// Where uploads go, if anywhere.
    fn write_namespace(&self) -> Option<&str> {
        if !self.mode.can_write() {
            return None;
        }
        if self.trusted {
            Some(&self.namespace)
        } else if self.backend.has_namespaces() {
            // Never the trusted namespace: that is the whole point.
            self.untrusted_namespace.as_deref()
        } else {
            None
        }
    }

    fn check(&self, namespace: &str, key: &str, fetched: &backend::Fetched) -> Result<(), Failure> {
        integrity::check(key, &fetched.bytes)?;
        if let Some(signer) = &self.signer {
            let context = self.backend.sign_context(namespace);
            let good = fetched
                .tag
                .as_deref()
                .is_some_and(|tag| signer.verify(key, &context, &fetched.bytes, tag));
            if !good {
                let what = if fetched.tag.is_some() {
                    "a wrong"
                } else {
                    "no"
                };
                return Err(Failure::new(
                    FailureKind::BadSignature,
                    format!("artifact {key} has {what} signature"),
                ));
            }
        }
        Ok(())
    }

    fn put(&self, job: &Job) -> bool {
        if self.breaker.is_open(Direction::Write) {
            return false;
        }
        let result = self.backend.put(
            &job.namespace,
            &job.key,
            &job.bytes,
            job.tag.as_deref(),
            job.duration,
        );
        match result {
            Ok(()) => {
                self.breaker.success(Direction::Write);
                true
            }
            Err(failure) => {
                self.record(Direction::Write, "upload", &job.key, &failure);
                false
            }
        }
    }

    /// Warns (once per topic) and feeds the breaker of `direction`.
    fn record(&self, direction: Direction, verb: &str, key: &str, failure: &Failure) {
        let topic = match direction {
            Direction::Read => Topic::Fetch(failure.kind),
            Direction::Write => Topic::Upload(failure.kind),
        };
        self.warnings.failure(topic, verb, key, failure);
        if let Some(why) = self.breaker.failure(direction, failure.kind) {
            self.warnings.once(Topic::BreakerOpen, || {
                let what = match (why, direction) {
                    (Opened::Refused, _) => "using",
                    (_, Direction::Read) => "reading from",
                    (_, Direction::Write) => "writing to",
                };
                let reason = match why {
                    Opened::Refused => "the server refused the request".to_owned(),
                    Opened::InARow => format!("{} failures in a row", breaker::THRESHOLD),
                    Opened::InTheRun => format!("{} failures in this run", breaker::RUN_LIMIT),
                };
                format!("failed too often ({reason}); not {what} the remote cache for the rest of this run")
            });
        }
    }
}

/// Keys become object names and URL path segments: only 64 lowercase hex.
fn valid_key(key: &str) -> bool {
    xtask_toolbox::Key::is_valid(key)
}

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn remote_is_send_and_sync() {
        assert_send_sync::<super::Remote>();
    }
}
