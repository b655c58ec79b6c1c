//! The Turborepo remote cache API (`/v8/artifacts/{hash}`), as Turborepo itself and
//! self-hosted servers such as turborepo-remote-cache speak it, over ureq: a small
//! blocking client, so the default build needs no async runtime.

use std::io::Read;
use std::time::Duration;

use crate::backend::{Backend, Fetched};
use crate::error::{Failure, FailureKind};
use crate::secret::{Secret, mask_url_credentials};
use crate::settings::RemoteSettings;

pub(crate) struct TurboBackend {
    agent: ureq::Agent,
    /// `<api>/v8/artifacts`, no trailing slash.
    base: String,
    /// `teamId=…&slug=…`, already encoded.
    query: String,
    token: Secret,
    /// What signatures are bound to, as Turborepo does: the team id, else the slug.
    team: String,
}

impl TurboBackend {
    pub(crate) fn new(settings: &RemoteSettings) -> TurboBackend {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(settings.timeout.value))
            .timeout_connect(Some(settings.connect_timeout.value))
            // Statuses are answers we interpret, not transport errors.
            .http_status_as_error(false)
            .user_agent(concat!("xtask-remote/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut query = Vec::new();
        if let Some(id) = &settings.team_id.value {
            query.push(format!("teamId={}", encode(id)));
        }
        if let Some(slug) = &settings.team_slug.value {
            query.push(format!("slug={}", encode(slug)));
        }
        let team = settings
            .team_id
            .value
            .clone()
            .or_else(|| settings.team_slug.value.clone())
            .unwrap_or_default();
        TurboBackend {
            agent: config.into(),
            base: format!("{}/v8/artifacts", settings.url.value.trim_end_matches('/')),
            query: query.join("&"),
            token: settings
                .token
                .value
                .clone()
                .unwrap_or_else(|| Secret::new("")),
            team,
        }
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{key}?{}", self.base, self.query)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token.expose())
    }
}

/// Maps a transport error to a failure kind; the message never holds the token
/// (it is only ever in a header) and URLs are masked.
fn transport_failure(verb: &str, key: &str, err: &ureq::Error) -> Failure {
    let kind = match err {
        ureq::Error::Timeout(_) => FailureKind::Timeout,
        ureq::Error::BodyExceedsLimit(_) => FailureKind::TooLarge,
        _ => FailureKind::Unreachable,
    };
    Failure::new(
        kind,
        format!("{verb} {key}: {}", mask_url_credentials(&err.to_string())),
    )
}

fn status_failure(verb: &str, key: &str, status: u16) -> Failure {
    let kind = match status {
        401 | 403 => FailureKind::Auth,
        400 | 405 | 413 | 415 => FailureKind::Rejected,
        _ => FailureKind::Server,
    };
    let what = match kind {
        FailureKind::Auth => " (credentials refused)",
        FailureKind::Rejected => " (request refused)",
        _ => "",
    };
    Failure::new(kind, format!("{verb} {key}: HTTP {status}{what}"))
}

/// Percent-encodes a query value (team names are plain, but be exact anyway).
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Backend for TurboBackend {
    fn get(&self, _namespace: &str, key: &str, max: u64) -> Result<Option<Fetched>, Failure> {
        let mut response = self
            .agent
            .get(&self.url(key))
            .header("Authorization", self.bearer())
            .call()
            .map_err(|err| transport_failure("GET", key, &err))?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            status => return Err(status_failure("GET", key, status)),
        }
        let tag = response
            .headers()
            .get("x-artifact-tag")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        // Read one byte past the limit to tell "at the limit" from "over it"; a
        // body cut short shows up as an error here or as a failed hash later.
        response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .reader()
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| {
                Failure::new(
                    FailureKind::Unreachable,
                    format!("GET {key}: reading the body: {err}"),
                )
            })?;
        if bytes.len() as u64 > max {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!("GET {key}: larger than {max} bytes"),
            ));
        }
        Ok(Some(Fetched { bytes, tag }))
    }

    fn exists(&self, _namespace: &str, key: &str) -> Result<bool, Failure> {
        let response = self
            .agent
            .head(&self.url(key))
            .header("Authorization", self.bearer())
            .call()
            .map_err(|err| transport_failure("HEAD", key, &err))?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            status => Err(status_failure("HEAD", key, status)),
        }
    }

    fn put(
        &self,
        _namespace: &str,
        key: &str,
        bytes: &[u8],
        tag: Option<&str>,
        duration: Duration,
    ) -> Result<(), Failure> {
        let mut request = self
            .agent
            .put(&self.url(key))
            .header("Authorization", self.bearer())
            .header("Content-Type", "application/octet-stream")
            .header("x-artifact-duration", duration.as_millis().to_string());
        if let Some(tag) = tag {
            request = request.header("x-artifact-tag", tag);
        }
        let response = request
            .send(bytes)
            .map_err(|err| transport_failure("PUT", key, &err))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            status => Err(status_failure("PUT", key, status)),
        }
    }

    fn sign_context(&self, _namespace: &str) -> String {
        self.team.clone()
    }

    fn has_namespaces(&self) -> bool {
        false
    }
}
