//! Errors: `RemoteError` for configuration mistakes (the only errors this crate
//! returns), `Failure` for what went wrong talking to a remote (never returned to
//! the caller: it becomes at most one warning per kind).

use std::fmt;
use std::path::PathBuf;

/// Whose problem a [`RemoteError`] is, which decides what a run does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// A value written in the manifest or given on the command line is wrong:
    /// an error, so the mistake is fixed rather than silently ignored.
    Configuration,
    /// The remote cannot be used on this machine: a secret it did not get (a
    /// pull request from a fork receives none), a backend this build lacks, a
    /// bad value in an environment variable. The cache never fails a build: a
    /// run warns once and goes on with the local cache only.
    Environment,
}

/// A problem with the remote-cache settings, found by `RemoteSettings::resolve`.
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
        /// The value came from an environment variable.
        from_environment: bool,
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
    /// Something the remote needs is missing or unavailable here (a token, a
    /// team, a signing key, a backend feature, a client): always
    /// [`Blame::Environment`].
    #[error("failed to configure the remote cache at {url}: {problem}\nhint: {hint}")]
    Incomplete {
        /// The URL with any credentials masked.
        url: String,
        problem: String,
        hint: String,
    },
}

/// An unusable environment is a warning wherever the settings are read (a
/// run, `cache status`), so what reaches the command line is in practice a
/// mistake in the manifest or the flags.
impl xtask_toolbox::fault::Classify for RemoteError {
    fn fault(&self) -> xtask_toolbox::fault::Fault {
        match self.blame() {
            Blame::Configuration => xtask_toolbox::fault::Fault::User,
            Blame::Environment => xtask_toolbox::fault::Fault::System,
        }
    }
}

impl RemoteError {
    /// Whether this is a mistake to fix (an error) or a remote that cannot be
    /// used here (a warning and a run without it).
    pub fn blame(&self) -> Blame {
        match self {
            RemoteError::UnknownKey { .. } | RemoteError::SecretInManifest { .. } => {
                Blame::Configuration
            }
            RemoteError::BadValue {
                from_environment, ..
            } => {
                if *from_environment {
                    Blame::Environment
                } else {
                    Blame::Configuration
                }
            }
            RemoteError::Incomplete { .. } => Blame::Environment,
        }
    }
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
