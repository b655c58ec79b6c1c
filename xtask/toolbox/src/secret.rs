//! Secrets (tokens, keys) and URLs made safe to print.
//!
//! A `Secret` cannot be printed by accident: its `Debug` and `Display` show a mask.
//! Text that leaves a crate (warnings, errors, settings shown to people) also
//! passes through `Scrubber`, which replaces any secret value that a server or a
//! library echoed back (an error body, a presigned URL) with the same mask.

use std::fmt;

/// What a secret looks like wherever it would have been printed.
pub const MASK: &str = "****";

/// A token or key. Only `expose` gives the value, and only to code that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Replaces every known secret value in a text with the mask.
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub fn add(&mut self, secret: &str) {
        // Very short values would mask innocent text and are no real secret anyway.
        if secret.len() >= 4 {
            self.secrets.push(secret.to_owned());
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut text = mask_url_credentials(text);
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), MASK);
            }
        }
        text
    }
}

/// Masks `user:password@` in URLs and the values of query parameters that carry
/// credentials (Azure SAS `sig=`, presigned S3 `X-Amz-Signature=`, `token=`).
pub fn mask_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')' || c == '>')
            .unwrap_or(tail.len());
        let (url, after) = tail.split_at(end);
        out.push_str(&mask_one_url(url));
        rest = after;
    }
    out.push_str(rest);
    out
}

fn mask_one_url(url: &str) -> String {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, path) = url.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{MASK}@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let Some(q) = path.find('?') else {
        return authority + path;
    };
    let (path, query) = path.split_at(q + 1);
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{authority}{path}{}", query.join("&"))
}

/// Whether a setting or parameter name suggests a credential.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "key",
        "sig",
        "password",
        "credential",
        "sas",
    ]
    .iter()
    .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2-token");
        assert_eq!(format!("{secret:?} {secret}"), "**** ****");
    }

    #[test]
    fn scrubber_masks_values_and_url_credentials() {
        let mut scrubber = Scrubber::default();
        scrubber.add("hunter2-token");
        assert_eq!(
            scrubber.scrub("bad token hunter2-token at https://u:p@host/x?sig=abc&a=1 ok"),
            "bad token **** at https://****@host/x?sig=****&a=1 ok"
        );
        assert_eq!(scrubber.scrub("no url here"), "no url here");
    }
}
