//! Where the remote cache is and how to use it: `[workspace.metadata.xtask.remote-cache]`,
//! then environment variables, then CLI flags, each overriding the one before.
//! Every value remembers where it came from, for `cargo xtask cache status`.
//!
//! `table` is the one list of settings (manifest key, environment variables,
//! flag, parser); `sources` applies the three layers through it; `validate`
//! checks the combination and builds [`RemoteSettings`].

mod sources;
mod table;
#[cfg(test)]
mod tests;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::RemoteError;
use crate::secret::{Secret, is_secret_name, mask_url_credentials};

use self::sources::Builder;

/// The hosted Turborepo cache: Turborepo uses it when only TURBO_TOKEN and
/// TURBO_TEAM are set, and so do we, so such CI setups work unchanged.
const DEFAULT_TURBO_API: &str = "https://vercel.com/api";

/// What the remote may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadWrite,
    /// Fetch only: pull-request builds, laptops.
    Read,
    /// Upload only: a build that must not trust the remote, but fills it.
    Write,
    Off,
}

impl Mode {
    fn parse(value: &str) -> Option<Mode> {
        Some(match value {
            "read-write" | "rw" => Mode::ReadWrite,
            "read" | "read-only" | "r" => Mode::Read,
            "write" | "write-only" | "w" => Mode::Write,
            "off" | "none" => Mode::Off,
            _ => return None,
        })
    }

    pub fn can_read(self) -> bool {
        matches!(self, Mode::ReadWrite | Mode::Read)
    }

    pub fn can_write(self) -> bool {
        matches!(self, Mode::ReadWrite | Mode::Write)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::ReadWrite => "read-write",
            Mode::Read => "read",
            Mode::Write => "write",
            Mode::Off => "off",
        })
    }
}

/// The remote-cache flags of the command line: the URL as given (validated
/// by `resolve`), the mode already parsed by the command line.
#[derive(Debug, Clone, Default)]
pub struct CliRemote {
    /// `--remote-cache=URL`
    pub url: Option<String>,
    /// `--remote-cache-mode=read-write|read|write|off`
    pub mode: Option<Mode>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    Manifest(PathBuf),
    Env(&'static str),
    Cli(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Manifest(path) => write!(f, "{}", path.display()),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Cli(flag) => write!(f, "{flag}"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Setting<T> {
    pub(crate) value: T,
    pub(crate) source: Source,
}

impl<T> Setting<T> {
    fn default(value: T) -> Setting<T> {
        Setting {
            value,
            source: Source::Default,
        }
    }

    /// The same source, another value (a parsed one).
    fn with<U>(&self, value: U) -> Setting<U> {
        Setting {
            value,
            source: self.source.clone(),
        }
    }
}

/// Which kind of remote a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// `file:///path`: a directory (a shared mount, or tests).
    File,
    /// `http(s)://…`: the Turborepo remote cache API.
    Turbo,
    /// `s3://bucket/prefix` (feature `s3`).
    S3,
    /// `gs://bucket/prefix` (feature `gcs`).
    Gcs,
    /// `az://container/prefix` (feature `azure`).
    Azure,
}

impl BackendKind {
    fn of_url(url: &str) -> Option<BackendKind> {
        let scheme = url.split_once("://")?.0.to_ascii_lowercase();
        Some(match scheme.as_str() {
            "file" => BackendKind::File,
            "http" | "https" => BackendKind::Turbo,
            "s3" | "s3a" => BackendKind::S3,
            "gs" => BackendKind::Gcs,
            "az" | "azure" | "abfs" | "abfss" => BackendKind::Azure,
            _ => return None,
        })
    }

    fn feature(self) -> Option<&'static str> {
        match self {
            BackendKind::File | BackendKind::Turbo => None,
            BackendKind::S3 => Some("s3"),
            BackendKind::Gcs => Some("gcs"),
            BackendKind::Azure => Some("azure"),
        }
    }

    fn compiled_in(self) -> bool {
        match self {
            BackendKind::File | BackendKind::Turbo => true,
            BackendKind::S3 => cfg!(feature = "s3"),
            BackendKind::Gcs => cfg!(feature = "gcs"),
            BackendKind::Azure => cfg!(feature = "azure"),
        }
    }
}

/// Everything needed to talk to one remote cache. Built by `resolve`; secrets are
/// held as `Secret` and the URL is masked, so `{:?}` is safe to print.
#[derive(Clone)]
pub struct RemoteSettings {
    pub(crate) url: Setting<String>,
    pub(crate) kind: BackendKind,
    pub(crate) mode: Setting<Mode>,
    pub(crate) namespace: Setting<String>,
    pub(crate) untrusted_namespace: Setting<Option<String>>,
    pub(crate) trusted: Setting<bool>,
    pub(crate) team_id: Setting<Option<String>>,
    pub(crate) team_slug: Setting<Option<String>>,
    pub(crate) token: Setting<Option<Secret>>,
    pub(crate) signature: Setting<bool>,
    pub(crate) signature_key: Setting<Option<Secret>>,
    pub(crate) timeout: Setting<Duration>,
    pub(crate) connect_timeout: Setting<Duration>,
    pub(crate) upload_concurrency: Setting<usize>,
    pub(crate) flush_time_limit: Setting<Duration>,
    pub(crate) max_artifact_size: Setting<u64>,
    /// object_store options (`aws_region`, `azure_storage_account_key`, …) with
    /// their sources; secret ones are wrapped.
    pub(crate) cloud_options: Vec<(String, Setting<Secret>)>,
}

/// The variables holding the remote cache's own secrets: its token and its
/// signing key. Nothing but the remote cache needs them, so tasks never get them.
pub fn own_secret_env() -> impl Iterator<Item = &'static str> {
    table::secret_env()
}

/// The cloud credentials among the variables the remote reads. Other tools
/// read them too (a deploy task may need them), so they are kept from tasks
/// only unless a task names them.
pub fn cloud_credential_env() -> impl Iterator<Item = &'static str> {
    table::CLOUD_ENV
        .iter()
        .copied()
        .filter(|name| is_secret_name(name))
}

impl RemoteSettings {
    /// From `[workspace.metadata.xtask.remote-cache]` (`table`, read from
    /// `manifest`), then the environment (`env`: TURBO_API, TURBO_TOKEN,
    /// TURBO_TEAM, TURBO_TEAMID, TURBO_REMOTE_CACHE_SIGNATURE_KEY,
    /// TURBO_REMOTE_CACHE_READ_ONLY and our XTASK_REMOTE_CACHE_* names, which win
    /// over Turborepo's), then the CLI flags. `Ok(None)`: no remote configured, or
    /// mode `off`. Errors name the key or variable and the fix; their
    /// [`RemoteError::blame`] separates mistakes in the manifest or on the
    /// command line from a remote this environment cannot use (a missing
    /// token, a backend not compiled in, a bad variable).
    pub fn resolve(
        table: Option<&toml::Table>,
        manifest: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        cli: &CliRemote,
    ) -> Result<Option<RemoteSettings>, RemoteError> {
        let mut b = Builder::new(manifest);
        if let Some(table) = table {
            b.apply_table(table)?;
        }
        b.apply_env(env);
        b.apply_cli(cli)?;
        b.finish()
    }

    /// Every setting with its value and source, secrets masked, for
    /// `cargo xtask cache status`.
    pub fn describe(&self) -> Vec<(String, String)> {
        fn line<T: fmt::Display>(name: &str, s: &Setting<T>) -> (String, String) {
            (name.to_owned(), format!("{} ({})", s.value, s.source))
        }
        fn opt<T: fmt::Display>(name: &str, s: &Setting<Option<T>>) -> (String, String) {
            let value = s
                .value
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string);
            (name.to_owned(), format!("{value} ({})", s.source))
        }
        let url = Setting {
            value: mask_url_credentials(&self.url.value),
            source: self.url.source.clone(),
        };
        let mut lines = vec![
            line("url", &url),
            ("backend".to_owned(), format!("{:?}", self.kind)),
            line("mode", &self.mode),
            line("namespace", &self.namespace),
            opt("untrusted-namespace", &self.untrusted_namespace),
            line("trusted", &self.trusted),
            opt("team-id", &self.team_id),
            opt("team", &self.team_slug),
            opt("token", &self.token),
            line("signature", &self.signature),
            opt("signature-key", &self.signature_key),
            line("timeout", &display_duration(&self.timeout)),
            line("connect-timeout", &display_duration(&self.connect_timeout)),
            line("upload-concurrency", &self.upload_concurrency),
            line(
                "flush-time-limit",
                &display_duration(&self.flush_time_limit),
            ),
            line("max-artifact-size", &self.max_artifact_size),
        ];
        for (name, value) in &self.cloud_options {
            let shown = if is_secret_name(name) {
                value.value.to_string()
            } else {
                value.value.expose().to_owned()
            };
            lines.push((name.clone(), format!("{shown} ({})", value.source)));
        }
        lines
    }

    pub fn mode(&self) -> Mode {
        self.mode.value
    }

    pub fn backend(&self) -> BackendKind {
        self.kind
    }

    /// The URL with any credentials masked.
    pub fn display_url(&self) -> String {
        mask_url_credentials(&self.url.value)
    }

    /// How long the caller should let `Remote::finish` wait for uploads.
    pub fn flush_time_limit(&self) -> Duration {
        self.flush_time_limit.value
    }
}

// By hand: the URL may carry `user:password@`, so print what `describe` prints.
impl fmt::Debug for RemoteSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.describe() {
            map.entry(&name, &value);
        }
        map.finish()
    }
}

fn display_duration(s: &Setting<Duration>) -> Setting<String> {
    Setting {
        value: format!("{}ms", s.value.as_millis()),
        source: s.source.clone(),
    }
}
