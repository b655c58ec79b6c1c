//! HMAC-SHA256 artifact signatures, computed as Turborepo computes its
//! `x-artifact-tag`: the MAC of (hash ‖ team) followed by the artifact bytes, base64
//! encoded. Binding the key and the team (or namespace) into the MAC means a valid
//! artifact copied under another key, or from an untrusted namespace into the
//! trusted one, fails the check.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies with one shared key.
#[derive(Clone)]
pub(crate) struct Signer {
    key: Secret,
}

impl Signer {
    pub(crate) fn new(key: Secret) -> Signer {
        Signer { key }
    }

    fn mac(&self, key: &str, context: &str, bytes: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = HmacSha256::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(key.as_bytes());
        mac.update(context.as_bytes());
        mac.update(bytes);
        mac
    }

    /// The tag for artifact `bytes` stored under `key` in `context` (the team for
    /// the Turborepo API, the namespace for object stores).
    pub(crate) fn tag(&self, key: &str, context: &str, bytes: &[u8]) -> String {
        STANDARD.encode(self.mac(key, context, bytes).finalize().into_bytes())
    }

    /// Constant-time check of a tag from the remote.
    pub(crate) fn verify(&self, key: &str, context: &str, bytes: &[u8], tag: &str) -> bool {
        let Ok(expected) = STANDARD.decode(tag.trim()) else {
            return false;
        };
        self.mac(key, context, bytes)
            .verify_slice(&expected)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_turborepo_and_refuses_changes() {
        let signer = Signer::new(Secret::new("key"));
        // Turborepo's construction, spelled out: HMAC(key, hash ‖ team ‖ body).
        let mut mac = HmacSha256::new_from_slice(b"key").unwrap();
        mac.update(b"abcteambody");
        let expected = STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(signer.tag("abc", "team", b"body"), expected);
        assert!(signer.verify("abc", "team", b"body", &expected));
        assert!(!signer.verify("abc", "team", b"bodY", &expected));
        assert!(!signer.verify("abd", "team", b"body", &expected));
        assert!(!signer.verify("abc", "other", b"body", &expected));
        assert!(!signer.verify("abc", "team", b"body", "not base64!"));
        assert!(!Signer::new(Secret::new("other")).verify("abc", "team", b"body", &expected));
    }
}
