//! The three layers of remote-cache settings, applied in order through the
//! one table: the manifest table, then the environment, then the command
//! line, each overriding the one before.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::table::{self, SETTINGS, Spec, Value, Var};
use super::validate::{bad, bad_text, blamed, parse_bool};
use super::{CliRemote, Mode, Setting, Source};
use crate::error::RemoteError;
use crate::secret::Secret;

/// Accumulates settings layer by layer; `finish` (in `validate`) checks the
/// combination.
pub(super) struct Builder {
    pub(super) manifest: PathBuf,
    pub(super) url: Option<Setting<String>>,
    pub(super) mode: Setting<Mode>,
    pub(super) namespace: Setting<String>,
    pub(super) untrusted_namespace: Setting<Option<String>>,
    pub(super) trusted: Setting<bool>,
    pub(super) team_id: Setting<Option<String>>,
    pub(super) team_slug: Setting<Option<String>>,
    pub(super) token: Setting<Option<Secret>>,
    pub(super) signature: Option<Setting<bool>>,
    pub(super) signature_key: Setting<Option<Secret>>,
    pub(super) timeout: Setting<Duration>,
    pub(super) connect_timeout: Setting<Duration>,
    pub(super) upload_concurrency: Setting<usize>,
    pub(super) flush_time_limit: Setting<Duration>,
    pub(super) max_artifact_size: Setting<u64>,
    pub(super) cloud_options: Vec<(String, Setting<Secret>)>,
    /// Bad values from environment variables, with the setting each was for:
    /// reported by `finish` unless a command-line flag replaced the setting or
    /// the remote is off anyway.
    pub(super) environment_problems: Vec<(&'static str, RemoteError)>,
}

impl Builder {
    pub(super) fn new(manifest: &Path) -> Builder {
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

    pub(super) fn manifest_origin(&self, key: &str) -> String {
        format!("`{key}` in {}", self.manifest.display())
    }

    pub(super) fn apply_table(&mut self, manifest_table: &toml::Table) -> Result<(), RemoteError> {
        let source = Source::Manifest(self.manifest.clone());
        for (key, value) in manifest_table {
            let Some(spec) = table::by_key(key) else {
                return Err(RemoteError::UnknownKey {
                    manifest: self.manifest.clone(),
                    key: key.clone(),
                    known: table::manifest_keys()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            let origin = self.manifest_origin(key);
            fn at<T>(value: T, source: &Source) -> Setting<T> {
                Setting {
                    value,
                    source: source.clone(),
                }
            }
            match &spec.value {
                Value::Secret { hint, .. } => {
                    return Err(RemoteError::SecretInManifest {
                        manifest: self.manifest.clone(),
                        key: key.clone(),
                        env: hint,
                    });
                }
                Value::Flag(set) => {
                    let flag = value
                        .as_bool()
                        .ok_or_else(|| bad(&origin, value, "true or false"))?;
                    set(self, at(flag, &source));
                }
                Value::Count { min, max, set } => {
                    let n = value
                        .as_integer()
                        .filter(|n| (*min..=*max).contains(n))
                        .ok_or_else(|| {
                            bad(&origin, value, &format!("a number from {min} to {max}"))
                        })?;
                    set(self, at(n as usize, &source));
                }
                Value::Text(_) => {
                    let text = match value {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(n) => n.to_string(),
                        _ => return Err(bad(&origin, value, "a string")),
                    };
                    self.set_text(spec, at(text, &source), &origin)?;
                }
            }
        }
        Ok(())
    }

    /// Sets `spec` from text (a variable or a flag; a manifest string); a bad
    /// value is blamed on the environment when it came from a variable.
    fn set_text(
        &mut self,
        spec: &Spec,
        text: Setting<String>,
        origin: &str,
    ) -> Result<(), RemoteError> {
        let from_environment = matches!(text.source, Source::Env(_));
        let shown = text.value.clone();
        let expected = match &spec.value {
            Value::Text(set) => set(self, text).err().map(str::to_owned),
            Value::Flag(set) => match parse_bool(&text.value) {
                Some(flag) => {
                    set(self, text.with(flag));
                    None
                }
                None => Some("true or false".to_owned()),
            },
            Value::Count { min, max, set } => {
                let n = text.value.parse::<i64>().ok();
                match n.filter(|n| (*min..=*max).contains(n)) {
                    Some(n) => {
                        set(self, text.with(n as usize));
                        None
                    }
                    None => Some(format!("a number from {min} to {max}")),
                }
            }
            Value::Secret { set, .. } => {
                set(self, text.with(Secret::new(text.value.clone())));
                None
            }
        };
        match expected {
            Some(expected) => Err(blamed(
                bad_text(origin, &shown, &expected),
                from_environment,
            )),
            None => Ok(()),
        }
    }

    pub(super) fn cloud_option(&mut self, name: &str, value: Setting<String>) {
        self.cloud_options.retain(|(n, _)| n != name);
        self.cloud_options.push((
            name.to_owned(),
            value.with(Secret::new(value.value.clone())),
        ));
    }

    pub(super) fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        let get = |name: &str| env(name).filter(|value| !value.is_empty());
        for spec in SETTINGS {
            for var in spec.env {
                let name = var.name();
                let Some(value) = get(name) else {
                    continue;
                };
                let text = match var {
                    Var::Value(_) => value,
                    Var::WhenTrue(_, meaning) if parse_bool(&value) == Some(true) => {
                        (*meaning).to_owned()
                    }
                    Var::WhenTrue(..) => continue,
                };
                let text = Setting {
                    value: text,
                    source: Source::Env(name),
                };
                if let Err(problem) = self.set_text(spec, text, name) {
                    self.environment_problems.push((spec.key, problem));
                }
            }
        }
        for &name in table::CLOUD_ENV {
            if let Some(value) = get(name) {
                let option = name.to_ascii_lowercase();
                let value = Setting {
                    value,
                    source: Source::Env(name),
                };
                self.cloud_option(&option, value);
            }
        }
    }

    pub(super) fn apply_cli(&mut self, cli: &CliRemote) -> Result<(), RemoteError> {
        for spec in SETTINGS {
            let Some(flag) = &spec.flag else {
                continue;
            };
            if let Some(value) = (flag.given)(cli) {
                let text = Setting {
                    value,
                    source: Source::Cli(flag.name),
                };
                self.set_text(spec, text, flag.name)?;
                // What a flag replaces is no longer a problem.
                self.environment_problems
                    .retain(|(key, _)| *key != spec.key);
            }
        }
        Ok(())
    }
}
