//! The combination of remote-cache settings, checked once every layer is
//! applied (a URL and a backend this build has, a token and a team for the
//! Turborepo API, a key when signing is on, two different namespaces), and
//! the errors for bad values.

use super::sources::Builder;
use super::{BackendKind, DEFAULT_TURBO_API, Mode, RemoteSettings, Setting, Source};
use crate::error::RemoteError;
use crate::secret::mask_url_credentials;

impl Builder {
    pub(super) fn finish(mut self) -> Result<Option<RemoteSettings>, RemoteError> {
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
        let kind = self.backend_of(&url)?;
        let masked = mask_url_credentials(&url.value);
        if kind == BackendKind::Turbo {
            self.check_turbo(&masked)?;
        }
        let signature = self.signature(&masked)?;
        self.check_namespaces()?;
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

    /// The backend `url` names, if it is a URL we take and this build has it.
    fn backend_of(&self, url: &Setting<String>) -> Result<BackendKind, RemoteError> {
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
        if https_without_tls(&url.value, cfg!(feature = "tls")) {
            return Err(RemoteError::Incomplete {
                url: masked,
                problem: "this build of xtask has no TLS, so it cannot reach an https:// cache"
                    .to_owned(),
                hint: "build xtask with the `tls` feature: `cargo xtask` does when the manifest, \
                       XTASK_REMOTE_CACHE_URL, TURBO_API, TURBO_TOKEN or --remote-cache names an \
                       https remote; an installed one with `cargo install --locked --path \
                       xtask/cli --features tls`"
                    .to_owned(),
            });
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
        Ok(kind)
    }

    /// The Turborepo API needs a token and a team.
    fn check_turbo(&self, masked: &str) -> Result<(), RemoteError> {
        if self.token.value.is_none() {
            return Err(RemoteError::Incomplete {
                url: masked.to_owned(),
                problem: "the Turborepo cache API needs a token".to_owned(),
                hint: "set TURBO_TOKEN (or XTASK_REMOTE_CACHE_TOKEN); a pull request from a \
                       fork gets no secrets, so it runs with the local cache only"
                    .to_owned(),
            });
        }
        if self.team_id.value.is_none() && self.team_slug.value.is_none() {
            return Err(RemoteError::Incomplete {
                url: masked.to_owned(),
                problem: "the Turborepo cache API needs a team".to_owned(),
                hint: "set TURBO_TEAM (the team's slug) or TURBO_TEAMID, or `team` in \
                       [workspace.metadata.xtask.remote-cache]"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// Signing is on when asked for, or by default whenever a key is set;
    /// on without a key is an error.
    fn signature(&self, masked: &str) -> Result<Setting<bool>, RemoteError> {
        let signature = self.signature.clone().unwrap_or_else(|| Setting {
            value: self.signature_key.value.is_some(),
            source: self.signature_key.source.clone(),
        });
        if signature.value && self.signature_key.value.is_none() {
            return Err(RemoteError::Incomplete {
                url: masked.to_owned(),
                problem: format!("signing is on ({}) but there is no key", signature.source),
                hint: "set XTASK_REMOTE_CACHE_SIGNATURE_KEY (or TURBO_REMOTE_CACHE_SIGNATURE_KEY)"
                    .to_owned(),
            });
        }
        Ok(signature)
    }

    /// Untrusted builds must not write where trusted ones read.
    fn check_namespaces(&self) -> Result<(), RemoteError> {
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
        Ok(())
    }
}

pub(super) fn bad(origin: &str, value: &toml::Value, expected: &str) -> RemoteError {
    bad_text(origin, &value.to_string(), expected)
}

/// A bad value, blamed on the configuration; `Builder::set_text` re-blames values
/// that came from a variable.
pub(super) fn bad_text(origin: &str, value: &str, expected: &str) -> RemoteError {
    RemoteError::BadValue {
        origin: origin.to_owned(),
        problem: format!("`{value}` is not valid"),
        hint: format!("expected {expected}"),
        from_environment: false,
    }
}

/// `error`, with a bad value marked as coming from the environment or not.
pub(super) fn blamed(error: RemoteError, from_environment: bool) -> RemoteError {
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
pub(super) fn check_namespace(text: &str) -> Result<(), &'static str> {
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

pub(super) fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether `url` is an https one that a build without TLS (`tls`) cannot reach.
fn https_without_tls(url: &str, tls: bool) -> bool {
    !tls && url
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    //! Which URLs a build without TLS refuses.

    use super::https_without_tls;

    #[test]
    fn only_https_needs_tls() {
        for (url, refused) in [
            ("https://cache.example", true),
            ("HTTPS://cache.example", true),
            ("http://127.0.0.1:3000", false),
            ("file:///mnt/cache", false),
            ("s3://bucket/prefix", false),
            ("https-ish", false),
        ] {
            assert_eq!(https_without_tls(url, false), refused, "{url}");
            assert!(!https_without_tls(url, true), "{url} with TLS");
        }
    }
}
