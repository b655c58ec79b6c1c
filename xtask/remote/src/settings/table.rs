//! The one list of remote-cache settings: each one's key in
//! `[workspace.metadata.xtask.remote-cache]`, the environment variables and
//! the command-line flag that set it, and how its value is parsed and kept.
//! The layers (`sources`) only walk this table, so a setting cannot be
//! readable from one layer and forgotten in another.

use std::time::Duration;

use super::sources::Builder;
use super::validate::check_namespace;
use super::{CliRemote, Mode, Setting};
use crate::secret::Secret;

/// One setting.
pub(super) struct Spec {
    /// Its key in the manifest table.
    pub(super) key: &'static str,
    /// The variables that set it, in the order they are read: a later one
    /// wins, so Turborepo's names come first and ours last.
    pub(super) env: &'static [Var],
    /// The command-line flag that sets it (over every other layer), and
    /// where `CliRemote` holds its value.
    pub(super) flag: Option<Flag>,
    pub(super) value: Value,
}

/// An environment variable of a setting.
pub(super) enum Var {
    /// Its text is the setting's value.
    Value(&'static str),
    /// Turborepo's way: when the variable is true, the setting has this value
    /// (TURBO_REMOTE_CACHE_READ_ONLY=1 is mode `read`); otherwise it is ignored.
    WhenTrue(&'static str, &'static str),
}

impl Var {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Var::Value(name) | Var::WhenTrue(name, _) => name,
        }
    }
}

pub(super) struct Flag {
    pub(super) name: &'static str,
    /// The flag's value as text (a parsed one shown as it is written), for
    /// the same parser as every other layer.
    pub(super) given: fn(&CliRemote) -> Option<String>,
}

/// How a setting's value is parsed and where it is kept.
pub(super) enum Value {
    /// Text in every layer (a manifest integer is taken as its digits). The
    /// error is what was expected instead.
    Text(fn(&mut Builder, Setting<String>) -> Result<(), &'static str>),
    /// `true` or `false` in the manifest; from the environment also
    /// 1/0, yes/no, on/off.
    Flag(fn(&mut Builder, Setting<bool>)),
    /// A whole number from `min` to `max` (a TOML integer in the manifest).
    Count {
        min: i64,
        max: i64,
        set: fn(&mut Builder, Setting<usize>),
    },
    /// A secret: never in the manifest (the refusal tells to set `hint`
    /// instead), only from its variables.
    Secret {
        hint: &'static str,
        set: fn(&mut Builder, Setting<Secret>),
    },
}

/// Every setting, in the order the manifest's "known keys" hint lists them
/// and the environment is read (which decides which of several bad
/// variables is reported).
pub(super) const SETTINGS: &[Spec] = &[
    Spec {
        key: "url",
        env: &[
            Var::Value("TURBO_API"),
            Var::Value("XTASK_REMOTE_CACHE_URL"),
        ],
        flag: Some(Flag {
            name: "--remote-cache",
            given: |cli| cli.url.clone(),
        }),
        value: Value::Text(|b, s| {
            b.url = Some(s);
            Ok(())
        }),
    },
    Spec {
        key: "mode",
        env: &[
            Var::WhenTrue("TURBO_REMOTE_CACHE_READ_ONLY", "read"),
            Var::Value("XTASK_REMOTE_CACHE_MODE"),
        ],
        flag: Some(Flag {
            name: "--remote-cache-mode",
            given: |cli| cli.mode.map(|mode| mode.to_string()),
        }),
        value: Value::Text(|b, s| {
            let mode = Mode::parse(&s.value).ok_or("read-write, read, write or off")?;
            b.mode = s.with(mode);
            Ok(())
        }),
    },
    Spec {
        key: "namespace",
        env: &[Var::Value("XTASK_REMOTE_CACHE_NAMESPACE")],
        flag: None,
        value: Value::Text(|b, s| {
            check_namespace(&s.value)?;
            b.namespace = s;
            Ok(())
        }),
    },
    Spec {
        key: "untrusted-namespace",
        env: &[Var::Value("XTASK_REMOTE_CACHE_UNTRUSTED_NAMESPACE")],
        flag: None,
        value: Value::Text(|b, s| {
            check_namespace(&s.value)?;
            b.untrusted_namespace = s.with(Some(s.value.clone()));
            Ok(())
        }),
    },
    Spec {
        key: "trusted",
        env: &[Var::Value("XTASK_REMOTE_CACHE_TRUSTED")],
        flag: None,
        value: Value::Flag(|b, s| b.trusted = s),
    },
    Spec {
        key: "team",
        env: &[
            Var::Value("TURBO_TEAM"),
            Var::Value("XTASK_REMOTE_CACHE_TEAM"),
        ],
        flag: None,
        value: Value::Text(|b, s| {
            b.team_slug = s.with(Some(s.value.clone()));
            Ok(())
        }),
    },
    Spec {
        key: "team-id",
        env: &[
            Var::Value("TURBO_TEAMID"),
            Var::Value("XTASK_REMOTE_CACHE_TEAM_ID"),
        ],
        flag: None,
        value: Value::Text(|b, s| {
            b.team_id = s.with(Some(s.value.clone()));
            Ok(())
        }),
    },
    Spec {
        key: "signature",
        env: &[Var::Value("XTASK_REMOTE_CACHE_SIGNATURE")],
        flag: None,
        value: Value::Flag(|b, s| b.signature = Some(s)),
    },
    Spec {
        key: "timeout",
        env: &[Var::Value("XTASK_REMOTE_CACHE_TIMEOUT")],
        flag: None,
        value: Value::Text(|b, s| {
            b.timeout = duration(&s)?;
            Ok(())
        }),
    },
    Spec {
        key: "connect-timeout",
        env: &[],
        flag: None,
        value: Value::Text(|b, s| {
            b.connect_timeout = duration(&s)?;
            Ok(())
        }),
    },
    Spec {
        key: "upload-concurrency",
        env: &[],
        flag: None,
        value: Value::Count {
            min: 1,
            max: 64,
            set: |b, s| b.upload_concurrency = s,
        },
    },
    Spec {
        key: "flush-time-limit",
        env: &[Var::Value("XTASK_REMOTE_CACHE_FLUSH_TIME_LIMIT")],
        flag: None,
        value: Value::Text(|b, s| {
            b.flush_time_limit = duration(&s)?;
            Ok(())
        }),
    },
    Spec {
        key: "max-artifact-size",
        env: &[Var::Value("XTASK_REMOTE_CACHE_MAX_ARTIFACT_SIZE")],
        flag: None,
        value: Value::Text(|b, s| {
            let size = parse_size(&s.value).ok_or(xtask_toolbox::units::SIZE_HINT)?;
            b.max_artifact_size = s.with(size);
            Ok(())
        }),
    },
    // object_store options under their object_store names.
    Spec {
        key: "region",
        env: &[],
        flag: None,
        value: Value::Text(|b, s| {
            b.cloud_option("region", s);
            Ok(())
        }),
    },
    Spec {
        key: "endpoint",
        env: &[],
        flag: None,
        value: Value::Text(|b, s| {
            b.cloud_option("endpoint", s);
            Ok(())
        }),
    },
    Spec {
        key: "allow-http",
        env: &[],
        flag: None,
        value: Value::Flag(|b, s| b.cloud_option("allow_http", s.with(s.value.to_string()))),
    },
    Spec {
        key: "token",
        env: &[
            Var::Value("TURBO_TOKEN"),
            Var::Value("XTASK_REMOTE_CACHE_TOKEN"),
        ],
        flag: None,
        value: Value::Secret {
            hint: "TURBO_TOKEN or XTASK_REMOTE_CACHE_TOKEN",
            set: |b, s| b.token = s.with(Some(s.value.clone())),
        },
    },
    Spec {
        key: "signature-key",
        env: &[
            Var::Value("TURBO_REMOTE_CACHE_SIGNATURE_KEY"),
            Var::Value("XTASK_REMOTE_CACHE_SIGNATURE_KEY"),
        ],
        flag: None,
        value: Value::Secret {
            hint: "XTASK_REMOTE_CACHE_SIGNATURE_KEY or TURBO_REMOTE_CACHE_SIGNATURE_KEY",
            set: |b, s| b.signature_key = s.with(Some(s.value.clone())),
        },
    },
];

/// Cloud credentials and options read from the environment and handed to
/// object_store (which knows them by these names, lowercased). The usual AWS,
/// Azure and Google variables, so CI secrets set for other tools work here too.
pub(super) const CLOUD_ENV: &[&str] = &[
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

/// The setting the manifest knows as `key`.
pub(super) fn by_key(key: &str) -> Option<&'static Spec> {
    SETTINGS.iter().find(|spec| spec.key == key)
}

/// The manifest keys that may be written there (every one but the secrets).
pub(super) fn manifest_keys() -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .filter(|spec| !matches!(spec.value, Value::Secret { .. }))
        .map(|spec| spec.key)
}

/// The variables of the secret settings (the token, the signing key).
pub(super) fn secret_env() -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .filter(|spec| matches!(spec.value, Value::Secret { .. }))
        .flat_map(|spec| spec.env.iter().map(Var::name))
}

fn duration(s: &Setting<String>) -> Result<Setting<Duration>, &'static str> {
    let duration = parse_duration(&s.value).ok_or(xtask_toolbox::units::DURATION_HINT)?;
    Ok(s.with(duration))
}

/// The toolbox's duration grammar ("30s", "500ms", "2m", "1.5h"; a bare number
/// is seconds).
pub(super) fn parse_duration(text: &str) -> Option<Duration> {
    xtask_toolbox::units::parse_duration(text)
}

/// The toolbox's size grammar ("512MiB", "1.5GiB", "4096"); zero is no size.
pub(super) fn parse_size(text: &str) -> Option<u64> {
    xtask_toolbox::units::parse_size(text).filter(|&n| n > 0)
}
