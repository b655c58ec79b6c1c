//! Where the remote cache is and how to use it: `[workspace.metadata.xtask.remote-cache]`,
//! then environment variables, then CLI flags, each overriding the one before.
//! Every value remembers where it came from, for `cargo xtask cache status`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::RemoteError;
use crate::secret::{Secret, is_secret_name, mask_url_credentials};

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

/// The remote-cache flags of the command line, as given (validated by `resolve`).
#[derive(Debug, Clone, Default)]
pub struct CliRemote {
    /// `--remote-cache=URL`
    pub url: Option<String>,
    /// `--remote-cache-mode=read-write|read|write|off`
    pub mode: Option<String>,
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

/// A key of the manifest table: its name, and whether it is a secret that must
/// come from the environment instead (with that variable's name).
const MANIFEST_KEYS: &[(&str, Option<&str>)] = &[
    ("url", None),
    ("mode", None),
    ("namespace", None),
    ("untrusted-namespace", None),
    ("trusted", None),
    ("team", None),
    ("team-id", None),
    ("signature", None),
    ("timeout", None),
    ("connect-timeout", None),
    ("upload-concurrency", None),
    ("flush-time-limit", None),
    ("max-artifact-size", None),
    ("region", None),
    ("endpoint", None),
    ("allow-http", None),
    ("token", Some("TURBO_TOKEN or XTASK_REMOTE_CACHE_TOKEN")),
    (
        "signature-key",
        Some("XTASK_REMOTE_CACHE_SIGNATURE_KEY or TURBO_REMOTE_CACHE_SIGNATURE_KEY"),
    ),
];

/// Cloud credentials and options read from the environment and handed to
/// object_store (which knows them by these names, lowercased). The usual AWS,
/// Azure and Google variables, so CI secrets set for other tools work here too.
const CLOUD_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT",
    "AWS_ENDPOINT_URL",
    "AWS_ALLOW_HTTP",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_USE_EMULATOR",
    "AZURE_STORAGE_ENDPOINT",
    "AZURE_ALLOW_HTTP",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
];

/// Where the token comes from (the later name wins).
const TOKEN_ENV: [&str; 2] = ["TURBO_TOKEN", "XTASK_REMOTE_CACHE_TOKEN"];

/// Where the signing key comes from (the later name wins).
const SIGNATURE_KEY_ENV: [&str; 2] = [
    "TURBO_REMOTE_CACHE_SIGNATURE_KEY",
    "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
];

/// The variables holding the remote cache's own secrets: its token and its
/// signing key. Nothing but the remote cache needs them, so tasks never get them.
pub fn own_secret_env() -> impl Iterator<Item = &'static str> {
    TOKEN_ENV.into_iter().chain(SIGNATURE_KEY_ENV)
}

/// The cloud credentials among the variables the remote reads. Other tools
/// read them too (a deploy task may need them), so they are kept from tasks
/// only unless a task names them.
pub fn cloud_credential_env() -> impl Iterator<Item = &'static str> {
    CLOUD_ENV
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
        b.apply_env(env)?;
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

fn at<T>(value: T, source: &Source) -> Setting<T> {
    Setting {
        value,
        source: source.clone(),
    }
}

fn display_duration(s: &Setting<Duration>) -> Setting<String> {
    Setting {
        value: format!("{}ms", s.value.as_millis()),
        source: s.source.clone(),
    }
}

/// Accumulates settings layer by layer; `finish` checks the combination.
struct Builder {
    manifest: PathBuf,
    url: Option<Setting<String>>,
    mode: Setting<Mode>,
    namespace: Setting<String>,
    untrusted_namespace: Setting<Option<String>>,
    trusted: Setting<bool>,
    team_id: Setting<Option<String>>,
    team_slug: Setting<Option<String>>,
    token: Setting<Option<Secret>>,
    signature: Option<Setting<bool>>,
    signature_key: Setting<Option<Secret>>,
    timeout: Setting<Duration>,
    connect_timeout: Setting<Duration>,
    upload_concurrency: Setting<usize>,
    flush_time_limit: Setting<Duration>,
    max_artifact_size: Setting<u64>,
    cloud_options: Vec<(String, Setting<Secret>)>,
    /// Bad values from environment variables, with the setting each was for:
    /// reported by `finish` unless a command-line flag replaced the setting or
    /// the remote is off anyway.
    environment_problems: Vec<(&'static str, RemoteError)>,
}

impl Builder {
    fn new(manifest: &Path) -> Builder {
        Builder {
            manifest: manifest.to_path_buf(),
            url: None,
            mode: Setting::default(Mode::ReadWrite),
            namespace: Setting::default("main".to_owned()),
            untrusted_namespace: Setting::default(None),
            trusted: Setting::default(true),
            team_id: Setting::default(None),
            team_slug: Setting::default(None),
            token: Setting::default(None),
            signature: None,
            signature_key: Setting::default(None),
            // Generous enough for a large artifact on a decent link, short enough
            // that a hung server costs one timeout before the breaker trips.
            timeout: Setting::default(Duration::from_secs(30)),
            connect_timeout: Setting::default(Duration::from_secs(3)),
            upload_concurrency: Setting::default(4),
            flush_time_limit: Setting::default(Duration::from_secs(30)),
            max_artifact_size: Setting::default(1 << 30),
            cloud_options: Vec::new(),
            environment_problems: Vec::new(),
        }
    }

    fn manifest_origin(&self, key: &str) -> String {
        format!("`{key}` in {}", self.manifest.display())
    }

    fn apply_table(&mut self, table: &toml::Table) -> Result<(), RemoteError> {
        let source = Source::Manifest(self.manifest.clone());
        for (key, value) in table {
            let Some((_, secret_env)) = MANIFEST_KEYS.iter().find(|(name, _)| name == key) else {
                return Err(RemoteError::UnknownKey {
                    manifest: self.manifest.clone(),
                    key: key.clone(),
                    known: MANIFEST_KEYS
                        .iter()
                        .filter(|(_, secret)| secret.is_none())
                        .map(|(name, _)| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            if let Some(env) = secret_env {
                return Err(RemoteError::SecretInManifest {
                    manifest: self.manifest.clone(),
                    key: key.clone(),
                    env,
                });
            }
            let origin = self.manifest_origin(key);
            let set = |value: String| Setting {
                value,
                source: source.clone(),
            };
            match key.as_str() {
                "trusted" | "signature" | "allow-http" => {
                    let flag = value
                        .as_bool()
                        .ok_or_else(|| bad(&origin, value, "true or false"))?;
                    let setting = Setting {
                        value: flag,
                        source: source.clone(),
                    };
                    match key.as_str() {
                        "trusted" => self.trusted = setting,
                        "signature" => self.signature = Some(setting),
                        _ => self.cloud_option("allow_http", flag.to_string(), source.clone()),
                    }
                }
                "upload-concurrency" => {
                    let n = value
                        .as_integer()
                        .filter(|n| (1..=64).contains(n))
                        .ok_or_else(|| bad(&origin, value, "a number from 1 to 64"))?;
                    self.upload_concurrency = Setting {
                        value: n as usize,
                        source: source.clone(),
                    };
                }
                _ => {
                    let text = match value {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(n) => n.to_string(),
                        _ => return Err(bad(&origin, value, "a string")),
                    };
                    self.set_text(key, text, &origin, set)?;
                }
            }
        }
        Ok(())
    }

    /// Sets a textual setting from any layer; a bad value is blamed on the
    /// environment when it came from a variable.
    fn set_text(
        &mut self,
        key: &str,
        text: String,
        origin: &str,
        set: impl Fn(String) -> Setting<String>,
    ) -> Result<(), RemoteError> {
        let from_environment = matches!(set(String::new()).source, Source::Env(_));
        self.parse_text(key, text, origin, set)
            .map_err(|error| blamed(error, from_environment))
    }

    fn parse_text(
        &mut self,
        key: &str,
        text: String,
        origin: &str,
        set: impl Fn(String) -> Setting<String>,
    ) -> Result<(), RemoteError> {
        let source = set(String::new()).source;
        match key {
            "url" => self.url = Some(set(text)),
            "mode" => {
                let mode = Mode::parse(&text)
                    .ok_or_else(|| bad_text(origin, &text, "read-write, read, write or off"))?;
                self.mode = at(mode, &source);
            }
            "namespace" | "untrusted-namespace" => {
                check_namespace(&text).map_err(|problem| BadValueParts {
                    origin,
                    value: &text,
                    expected: problem,
                })?;
                if key == "namespace" {
                    self.namespace = set(text);
                } else {
                    self.untrusted_namespace = at(Some(text), &source);
                }
            }
            "trusted" => {
                let flag =
                    parse_bool(&text).ok_or_else(|| bad_text(origin, &text, "true or false"))?;
                self.trusted = at(flag, &source);
            }
            "signature" => {
                let flag =
                    parse_bool(&text).ok_or_else(|| bad_text(origin, &text, "true or false"))?;
                self.signature = Some(at(flag, &source));
            }
            "team" => self.team_slug = at(Some(text), &source),
            "team-id" => self.team_id = at(Some(text), &source),
            "timeout" | "connect-timeout" | "flush-time-limit" => {
                let duration = parse_duration(&text)
                    .ok_or_else(|| bad_text(origin, &text, xtask_toolbox::units::DURATION_HINT))?;
                match key {
                    "timeout" => self.timeout = at(duration, &source),
                    "connect-timeout" => self.connect_timeout = at(duration, &source),
                    _ => self.flush_time_limit = at(duration, &source),
                }
            }
            "max-artifact-size" => {
                let size = parse_size(&text)
                    .ok_or_else(|| bad_text(origin, &text, xtask_toolbox::units::SIZE_HINT))?;
                self.max_artifact_size = at(size, &source);
            }
            "region" => self.cloud_option("region", text, source.clone()),
            "endpoint" => self.cloud_option("endpoint", text, source.clone()),
            _ => unreachable!("every manifest key is handled: {key}"),
        }
        Ok(())
    }

    fn cloud_option(&mut self, name: &str, value: String, source: Source) {
        self.cloud_options.retain(|(n, _)| n != name);
        self.cloud_options.push((
            name.to_owned(),
            Setting {
                value: Secret::new(value),
                source,
            },
        ));
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), RemoteError> {
        // Turborepo's names first, ours second: ours win when both are set.
        const TEXT_VARS: &[(&str, &str)] = &[
            ("TURBO_API", "url"),
            ("XTASK_REMOTE_CACHE_URL", "url"),
            ("XTASK_REMOTE_CACHE_MODE", "mode"),
            ("XTASK_REMOTE_CACHE_NAMESPACE", "namespace"),
            (
                "XTASK_REMOTE_CACHE_UNTRUSTED_NAMESPACE",
                "untrusted-namespace",
            ),
            ("XTASK_REMOTE_CACHE_TRUSTED", "trusted"),
            ("TURBO_TEAM", "team"),
            ("XTASK_REMOTE_CACHE_TEAM", "team"),
            ("TURBO_TEAMID", "team-id"),
            ("XTASK_REMOTE_CACHE_TEAM_ID", "team-id"),
            ("XTASK_REMOTE_CACHE_SIGNATURE", "signature"),
            ("XTASK_REMOTE_CACHE_TIMEOUT", "timeout"),
            ("XTASK_REMOTE_CACHE_FLUSH_TIME_LIMIT", "flush-time-limit"),
            ("XTASK_REMOTE_CACHE_MAX_ARTIFACT_SIZE", "max-artifact-size"),
        ];
        let get = |name: &str| env(name).filter(|value| !value.is_empty());
        if get("TURBO_REMOTE_CACHE_READ_ONLY").is_some_and(|v| parse_bool(&v) == Some(true)) {
            self.mode = Setting {
                value: Mode::Read,
                source: Source::Env("TURBO_REMOTE_CACHE_READ_ONLY"),
            };
        }
        for &(name, key) in TEXT_VARS {
            if let Some(value) = get(name) {
                let set = |value| Setting {
                    value,
                    source: Source::Env(name),
                };
                if let Err(problem) = self.set_text(key, value, name, set) {
                    self.environment_problems.push((key, problem));
                }
            }
        }
        for name in TOKEN_ENV {
            if let Some(value) = get(name) {
                self.token = Setting {
                    value: Some(Secret::new(value)),
                    source: Source::Env(name),
                };
            }
        }
        for name in SIGNATURE_KEY_ENV {
            if let Some(value) = get(name) {
                self.signature_key = Setting {
                    value: Some(Secret::new(value)),
                    source: Source::Env(name),
                };
            }
        }
        for &name in CLOUD_ENV {
            if let Some(value) = get(name) {
                let option = name.to_ascii_lowercase();
                self.cloud_option(&option, value, Source::Env(name));
            }
        }
        Ok(())
    }

    fn apply_cli(&mut self, cli: &CliRemote) -> Result<(), RemoteError> {
        if let Some(url) = &cli.url {
            let set = |value| Setting {
                value,
                source: Source::Cli("--remote-cache"),
            };
            self.set_text("url", url.clone(), "--remote-cache", set)?;
            self.environment_problems.retain(|(key, _)| *key != "url");
        }
        if let Some(mode) = &cli.mode {
            let set = |value| Setting {
                value,
                source: Source::Cli("--remote-cache-mode"),
            };
            self.set_text("mode", mode.clone(), "--remote-cache-mode", set)?;
            self.environment_problems.retain(|(key, _)| *key != "mode");
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Option<RemoteSettings>, RemoteError> {
        if self.mode.value == Mode::Off {
            return Ok(None);
        }
        if !self.environment_problems.is_empty() {
            return Err(self.environment_problems.swap_remove(0).1);
        }
        let url = match self.url.clone() {
            Some(url) => url,
            // Turborepo's own default: token and team alone mean the hosted cache.
            None if self.token.value.is_some() && self.team_slug.value.is_some() => Setting {
                value: DEFAULT_TURBO_API.to_owned(),
                source: Source::Default,
            },
            None => return Ok(None),
        };
        let origin = match &url.source {
            Source::Manifest(_) => self.manifest_origin("url"),
            other => other.to_string(),
        };
        let masked = mask_url_credentials(&url.value);
        let from_environment = !matches!(url.source, Source::Manifest(_) | Source::Cli(_));
        let bad_url =
            |expected: &str| blamed(bad_text(&origin, &masked, expected), from_environment);
        let kind = BackendKind::of_url(&url.value).ok_or_else(|| {
            bad_url(
                "a URL starting with file://, http(s):// (Turborepo API), s3://, gs:// or az://",
            )
        })?;
        if kind == BackendKind::File && !url.value["file://".len()..].starts_with('/') {
            return Err(bad_url("file:// and an absolute path: file:///mnt/cache"));
        }
        if !kind.compiled_in() {
            let feature = kind.feature().unwrap_or_default();
            return Err(RemoteError::Incomplete {
                url: masked,
                problem: format!("this build of xtask has no `{feature}` support"),
                hint: format!(
                    "build xtask with the `{feature}` (or `cloud`) feature of xtask-remote"
                ),
            });
        }
        if kind == BackendKind::Turbo {
            if self.token.value.is_none() {
                return Err(RemoteError::Incomplete {
                    url: masked,
                    problem: "the Turborepo cache API needs a token".to_owned(),
                    hint: "set TURBO_TOKEN (or XTASK_REMOTE_CACHE_TOKEN); a pull request from a \
                           fork gets no secrets, so it runs with the local cache only"
                        .to_owned(),
                });
            }
            if self.team_id.value.is_none() && self.team_slug.value.is_none() {
                return Err(RemoteError::Incomplete {
                    url: masked,
                    problem: "the Turborepo cache API needs a team".to_owned(),
                    hint: "set TURBO_TEAM (the team's slug) or TURBO_TEAMID, or `team` in \
                           [workspace.metadata.xtask.remote-cache]"
                        .to_owned(),
                });
            }
        }
        // Signing is on when asked for, or by default whenever a key is set.
        let signature = self.signature.unwrap_or_else(|| Setting {
            value: self.signature_key.value.is_some(),
            source: self.signature_key.source.clone(),
        });
        if signature.value && self.signature_key.value.is_none() {
            return Err(RemoteError::Incomplete {
                url: masked,
                problem: format!("signing is on ({}) but there is no key", signature.source),
                hint: "set XTASK_REMOTE_CACHE_SIGNATURE_KEY (or TURBO_REMOTE_CACHE_SIGNATURE_KEY)"
                    .to_owned(),
            });
        }
        if self.untrusted_namespace.value.as_deref() == Some(self.namespace.value.as_str()) {
            return Err(RemoteError::BadValue {
                origin: "`untrusted-namespace`".to_owned(),
                problem: "it is the same as `namespace`".to_owned(),
                hint: "untrusted builds need a namespace of their own, such as \"untrusted\""
                    .to_owned(),
                from_environment: [&self.namespace.source, &self.untrusted_namespace.source]
                    .iter()
                    .any(|source| matches!(source, Source::Env(_))),
            });
        }
        Ok(Some(RemoteSettings {
            url,
            kind,
            mode: self.mode,
            namespace: self.namespace,
            untrusted_namespace: self.untrusted_namespace,
            trusted: self.trusted,
            team_id: self.team_id,
            team_slug: self.team_slug,
            token: self.token,
            signature,
            signature_key: self.signature_key,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            upload_concurrency: self.upload_concurrency,
            flush_time_limit: self.flush_time_limit,
            max_artifact_size: self.max_artifact_size,
            cloud_options: self.cloud_options,
        }))
    }
}

struct BadValueParts<'a> {
    origin: &'a str,
    value: &'a str,
    expected: &'static str,
}

impl From<BadValueParts<'_>> for RemoteError {
    fn from(parts: BadValueParts<'_>) -> RemoteError {
        bad_text(parts.origin, parts.value, parts.expected)
    }
}

fn bad(origin: &str, value: &toml::Value, expected: &str) -> RemoteError {
    bad_text(origin, &value.to_string(), expected)
}

/// A bad value, blamed on the configuration; `set_text` re-blames values
/// that came from the environment.
fn bad_text(origin: &str, value: &str, expected: &str) -> RemoteError {
    RemoteError::BadValue {
        origin: origin.to_owned(),
        problem: format!("`{value}` is not valid"),
        hint: format!("expected {expected}"),
        from_environment: false,
    }
}

/// `error`, with a bad value marked as coming from the environment or not.
fn blamed(error: RemoteError, from_environment: bool) -> RemoteError {
    match error {
        RemoteError::BadValue {
            origin,
            problem,
            hint,
            ..
        } => RemoteError::BadValue {
            origin,
            problem,
            hint,
            from_environment,
        },
        other => other,
    }
}

/// Namespaces become path segments of object names: keep them plain.
fn check_namespace(text: &str) -> Result<(), &'static str> {
    let plain = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && text != "."
        && text != "..";
    if plain {
        Ok(())
    } else {
        Err("1 to 64 letters, digits, '-', '_' or '.'")
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The toolbox's duration grammar ("30s", "500ms", "2m", "1.5h"; a bare number
/// is seconds).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    xtask_toolbox::units::parse_duration(text)
}

/// The toolbox's size grammar ("512MiB", "1.5GiB", "4096"); zero is no size.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    xtask_toolbox::units::parse_size(text).filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        toml: &str,
        env: &[(&str, &str)],
        cli: CliRemote,
    ) -> Result<Option<RemoteSettings>, RemoteError> {
        let table: toml::Table = toml.parse().unwrap();
        let env = |name: &str| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        RemoteSettings::resolve(Some(&table), Path::new("/ws/Cargo.toml"), &env, &cli)
    }

    #[test]
    fn precedence_is_manifest_then_env_then_cli() {
        let s = resolve(
            "url = \"file:///a\"\nmode = \"read\"",
            &[("XTASK_REMOTE_CACHE_URL", "file:///b")],
            CliRemote::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.url.value, "file:///b");
        assert_eq!(s.mode(), Mode::Read);
        let cli = CliRemote {
            url: Some("file:///c".into()),
            mode: Some("write".into()),
        };
        let s = resolve(
            "url = \"file:///a\"",
            &[("XTASK_REMOTE_CACHE_URL", "file:///b")],
            cli,
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.url.value, "file:///c");
        assert_eq!(s.url.source, Source::Cli("--remote-cache"));
        assert_eq!(s.mode(), Mode::Write);
        // Ours win over Turborepo's.
        let s = resolve(
            "",
            &[
                ("TURBO_API", "http://t"),
                ("XTASK_REMOTE_CACHE_URL", "file:///x"),
                ("TURBO_TOKEN", "tok1"),
            ],
            CliRemote::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.url.value, "file:///x");
    }

    #[test]
    fn nothing_configured_or_off_is_none() {
        assert!(resolve("", &[], CliRemote::default()).unwrap().is_none());
        let cli = CliRemote {
            url: None,
            mode: Some("off".into()),
        };
        assert!(resolve("url = \"file:///a\"", &[], cli).unwrap().is_none());
    }

    #[test]
    fn turbo_token_and_team_alone_mean_the_hosted_cache() {
        let s = resolve(
            "",
            &[("TURBO_TOKEN", "tok-123"), ("TURBO_TEAM", "acme")],
            CliRemote::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.backend(), BackendKind::Turbo);
        assert_eq!(s.url.value, DEFAULT_TURBO_API);
    }

    #[test]
    fn mistakes_name_the_key_and_the_fix() {
        /// Manifest table, env, what the message must say, what it must not.
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            (
                "urll = \"x\"",
                &[],
                &["unknown key `urll`", "/ws/Cargo.toml", "`url`"],
                &[],
            ),
            (
                "token = \"abc-secret\"",
                &[],
                &["`token`", "TURBO_TOKEN"],
                &["abc-secret"],
            ),
            (
                "url = \"file:///a\"\nmode = \"rwx\"",
                &[],
                &["`mode` in /ws/Cargo.toml", "read-write, read, write or off"],
                &[],
            ),
            (
                "url = \"file:///a\"\ntimeout = \"soon\"",
                &[],
                &["`timeout`", "30s"],
                &[],
            ),
            (
                "",
                &[("XTASK_REMOTE_CACHE_URL", "ftp://x")],
                &["XTASK_REMOTE_CACHE_URL", "s3://"],
                &[],
            ),
            (
                "url = \"http://127.0.0.1:1\"",
                &[("TURBO_TOKEN", "tok-123")],
                &["needs a team", "TURBO_TEAM"],
                &[],
            ),
            (
                "url = \"http://127.0.0.1:1\"",
                &[("TURBO_TEAM", "t")],
                &["needs a token"],
                &[],
            ),
            (
                "url = \"file:///a\"\nsignature = true",
                &[],
                &["SIGNATURE_KEY"],
                &[],
            ),
            (
                "url = \"file:///a\"\nnamespace = \"../x\"",
                &[],
                &["`namespace`"],
                &[],
            ),
        ];
        for (table, env, says, hides) in cases {
            let err = resolve(table, env, CliRemote::default())
                .unwrap_err()
                .to_string();
            for piece in *says {
                assert!(
                    err.contains(piece),
                    "{table:?}: expected `{piece}` in {err}"
                );
            }
            for secret in *hides {
                assert!(
                    !err.contains(secret),
                    "{table:?}: `{secret}` leaked in {err}"
                );
            }
        }
    }

    #[test]
    fn only_mistakes_in_the_manifest_or_on_the_command_line_are_blamed_on_the_configuration() {
        use crate::Blame::{self, Configuration, Environment};
        let cli = |url: Option<&str>, mode: Option<&str>| CliRemote {
            url: url.map(Into::into),
            mode: mode.map(Into::into),
        };
        let none = || cli(None, None);
        /// Manifest table, env, flags, whose problem it is.
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], CliRemote, Blame);
        let fork = [("TURBO_API", "https://c.example"), ("TURBO_TEAM", "t")];
        let fork_empty_token = [
            ("TURBO_API", "https://c.example"),
            ("TURBO_TEAM", "t"),
            ("TURBO_TOKEN", ""),
        ];
        let file = "url = \"file:///a\"";
        let cases: Vec<Case> = vec![
            // A fork's pull request: the URL is configured, the token is a
            // secret it never receives.
            ("", &fork, none(), Environment),
            ("", &fork_empty_token, none(), Environment),
            (
                "url = \"https://c.example\"\nteam = \"acme\"",
                &[],
                none(),
                Environment,
            ),
            (
                "url = \"https://c.example\"",
                &[("TURBO_TOKEN", "tok")],
                none(),
                Environment,
            ),
            (
                "url = \"file:///a\"\nsignature = true",
                &[],
                none(),
                Environment,
            ),
            (
                "",
                &[("XTASK_REMOTE_CACHE_URL", "ftp://x")],
                none(),
                Environment,
            ),
            (
                "",
                &[("XTASK_REMOTE_CACHE_URL", "file://rel")],
                none(),
                Environment,
            ),
            (
                file,
                &[("XTASK_REMOTE_CACHE_MODE", "sideways")],
                none(),
                Environment,
            ),
            (
                file,
                &[("XTASK_REMOTE_CACHE_TIMEOUT", "soon")],
                none(),
                Environment,
            ),
            (
                file,
                &[("XTASK_REMOTE_CACHE_UNTRUSTED_NAMESPACE", "main")],
                none(),
                Environment,
            ),
            ("url = \"ftp://x\"", &[], none(), Configuration),
            ("url = \"file://rel\"", &[], none(), Configuration),
            (
                "url = \"file:///a\"\nmode = \"sideways\"",
                &[],
                none(),
                Configuration,
            ),
            (
                "url = \"file:///a\"\nuntrusted-namespace = \"main\"",
                &[],
                none(),
                Configuration,
            ),
            ("urll = \"x\"", &[], none(), Configuration),
            ("token = \"t\"", &[], none(), Configuration),
            ("", &[], cli(Some("ftp://x"), None), Configuration),
            ("", &[], cli(Some("file://rel"), None), Configuration),
            // A command-line mistake is an error even when the environment is
            // broken too.
            (
                file,
                &[("XTASK_REMOTE_CACHE_TIMEOUT", "soon")],
                cli(None, Some("sideways")),
                Configuration,
            ),
        ];
        for (table, env, flags, blame) in cases {
            let err = match resolve(table, env, flags.clone()) {
                Ok(found) => panic!("{table:?} {env:?} {flags:?}: resolved to {found:?}"),
                Err(err) => err,
            };
            assert_eq!(err.blame(), blame, "{table:?} {env:?} {flags:?}: {err}");
        }
        // What a flag replaces, or turns off, is no longer a problem.
        let env = [("XTASK_REMOTE_CACHE_MODE", "sideways")];
        let s = resolve(file, &env, cli(None, Some("read"))).unwrap();
        assert_eq!(s.unwrap().mode(), Mode::Read);
        assert!(
            resolve("", &fork, cli(None, Some("off")))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn describe_masks_secrets() {
        let s = resolve(
            "url = \"http://user:pw-secret@127.0.0.1:1\"\nteam = \"acme\"",
            &[
                ("TURBO_TOKEN", "tok-very-secret"),
                ("XTASK_REMOTE_CACHE_SIGNATURE_KEY", "sig-very-secret"),
                ("AWS_SECRET_ACCESS_KEY", "aws-very-secret"),
                ("AWS_REGION", "eu-west-1"),
            ],
            CliRemote::default(),
        )
        .unwrap()
        .unwrap();
        let text = format!("{:?}\n{:?}", s.describe(), s);
        for secret in [
            "tok-very-secret",
            "sig-very-secret",
            "aws-very-secret",
            "pw-secret",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(
            text.contains("eu-west-1") && text.contains("env TURBO_TOKEN"),
            "{text}"
        );
        assert!(s.signature.value, "a key turns signing on");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("1 furlong"), None);
    }
}
