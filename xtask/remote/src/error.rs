//! Errors: `RemoteError` for configuration mistakes (the only errors this crate
//! returns), `Failure` for what went wrong talking to a remote (never returned to
//! the caller: it becomes at most one warning per kind).

use std::fmt;
use std::path::PathBuf;

/// A mistake in the remote-cache settings, found by `RemoteSettings::resolve`.
/// Messages name where the value came from and how to fix it, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(
        "failed to read the remote cache settings in {manifest}: unknown key `{key}` in \
         [workspace.metadata.xtask.remote-cache]\nhint: the known keys are {known}"
    )]
    UnknownKey {
        manifest: PathBuf,
        key: String,
        known: String,
    },
    #[error("failed to read the remote cache setting {origin}: {problem}\nhint: {hint}")]
    BadValue {
        /// Where the value came from: "`mode` in /path/Cargo.toml", "XTASK_REMOTE_CACHE_MODE", …
        origin: String,
        problem: String,
        hint: String,
    },
    #[error(
        "failed to read the remote cache settings in {manifest}: `{key}` holds a secret and \
         must not be committed to Cargo.toml\nhint: set {env} in the environment instead"
    )]
    SecretInManifest {
        manifest: PathBuf,
        key: String,
        env: &'static str,
    },
    #[error("failed to configure the remote cache at {url}: {problem}\nhint: {hint}")]
    Incomplete {
        /// The URL with any credentials masked.
        url: String,
        problem: String,
        hint: String,
    },
}

/// The kinds of trouble a remote can cause. Each kind is warned about at most once
/// per run, so a broken remote gives one clear line instead of one per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FailureKind {
    /// Connection refused, DNS, reset, a local I/O error for file://.
    Unreachable,
    Timeout,
    /// 401/403 and friends: wrong or missing credentials.
    Auth,
    /// The server refused the request as malformed (HTTP 400, 415): a setting is wrong.
    Rejected,
    /// 5xx or an unexpected status.
    Server,
    /// The artifact failed its blake3 check (truncated or altered on the way).
    Corrupt,
    /// Signing is on and the signature was missing or wrong.
    BadSignature,
    /// Bigger than `max-artifact-size`.
    TooLarge,
}

impl FailureKind {
    /// Failures that will not go away by retrying in this run: stop calling the
    /// remote at once.
    pub(crate) fn is_fatal(self) -> bool {
        matches!(self, FailureKind::Auth | FailureKind::Rejected)
    }

    /// Whether this kind feeds the breaker. Damaged or badly signed artifacts do:
    /// one is a bad artifact, several in a row are a broken path (a mangling
    /// proxy, a wrong key) that would cost a full download per task. An
    /// oversized artifact says nothing about the remote.
    pub(crate) fn counts_for_breaker(self) -> bool {
        self != FailureKind::TooLarge
    }

    fn hint(self) -> &'static str {
        match self {
            FailureKind::Unreachable => "is the server running and the URL right?",
            FailureKind::Timeout => "the remote is slow; raise `timeout` if this is expected",
            FailureKind::Auth => {
                "the credentials were refused; check the token (TURBO_TOKEN or \
                 XTASK_REMOTE_CACHE_TOKEN) or the cloud credentials"
            }
            FailureKind::Rejected => {
                "the server refused the request as malformed; check the URL and, for the \
                 Turborepo API, the team (TURBO_TEAM / TURBO_TEAMID)"
            }
            FailureKind::Server => "the server reported an error",
            FailureKind::Corrupt => "the artifact was damaged on the way and was not used",
            FailureKind::BadSignature => {
                "the artifact's signature does not match: it was not used; check that every \
                 machine has the same signature key"
            }
            FailureKind::TooLarge => "raise `max-artifact-size` if this is expected",
        }
    }
}

/// One failed remote operation. `detail` has had secrets scrubbed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    pub(crate) detail: String,
}

impl Failure {
    pub(crate) fn new(kind: FailureKind, detail: impl Into<String>) -> Failure {
        Failure {
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn hint(&self) -> &'static str {
        self.kind.hint()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}
