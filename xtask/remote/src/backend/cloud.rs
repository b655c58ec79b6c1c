//! S3, GCS and Azure Blob through object_store (features `s3`, `gcs`, `azure`),
//! opened by `CloudStore` (the settings → client part, shared with other
//! users of the same stores). object_store is async; a one-thread tokio runtime owned by the backend drives
//! it, and each call blocks on it with a deadline, so the rest of xtask stays
//! synchronous. Signatures ride along as object metadata (`xtasksignature`).

use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, AttributeValue, Attributes, GetOptions, ObjectStore, PutOptions, PutPayload,
};

use crate::backend::{Backend, Fetched};
use crate::cloud_store::CloudStore;
use crate::error::{Failure, FailureKind, RemoteError};
use crate::secret::mask_url_credentials;
use crate::settings::RemoteSettings;

/// The metadata name of the signature (`x-amz-meta-xtasksignature` on S3,
/// `x-ms-meta-xtasksignature` on Azure). One plain word: Azure wants metadata
/// names to be C# identifiers (no `-`), and some proxies drop headers with `_`.
const SIGNATURE_METADATA: &str = "xtasksignature";

pub(crate) struct CloudBackend {
    runtime: tokio::runtime::Runtime,
    store: Box<dyn ObjectStore>,
    /// The path inside the bucket or container, from the URL.
    prefix: String,
    /// Per call: the request timeout plus room for object_store's one retry.
    deadline: Duration,
}

impl CloudBackend {
    pub(crate) fn new(settings: &RemoteSettings) -> Result<CloudBackend, RemoteError> {
        let masked = mask_url_credentials(&settings.url.value);
        let opened = CloudStore::open(settings)?;
        let prefix = opened.prefix().to_owned();
        let store = opened.into_store();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("xtask-remote")
            .enable_all()
            .build()
            .map_err(|err| RemoteError::Incomplete {
                url: masked,
                problem: format!("failed to start the I/O runtime: {err}"),
                hint: "this is a bug or a resource limit".to_owned(),
            })?;
        Ok(CloudBackend {
            runtime,
            store,
            prefix,
            deadline: settings.timeout.value * 2 + settings.connect_timeout.value,
        })
    }

    fn path(&self, namespace: &str, key: &str) -> ObjectPath {
        ObjectPath::from(object_name(&self.prefix, namespace, key))
    }

    /// Runs `future` to completion or to the deadline.
    fn block_on<T>(
        &self,
        verb: &str,
        key: &str,
        future: impl Future<Output = Result<T, object_store::Error>>,
    ) -> Result<Result<T, object_store::Error>, Failure> {
        self.runtime
            .block_on(async { tokio::time::timeout(self.deadline, future).await })
            .map_err(|_| {
                Failure::new(
                    FailureKind::Timeout,
                    format!("{verb} {key}: no answer within {:?}", self.deadline),
                )
            })
    }
}

fn failure(verb: &str, key: &str, err: &object_store::Error) -> Failure {
    let text = mask_url_credentials(&err.to_string());
    let lower = text.to_ascii_lowercase();
    let kind = match err {
        object_store::Error::Unauthenticated { .. }
        | object_store::Error::PermissionDenied { .. } => FailureKind::Auth,
        _ if ["403", "401"].iter().any(|code| has_status(&lower, code))
            || [
                "forbidden",
                "signaturedoesnotmatch",
                "invalidaccesskeyid",
                "authorization",
            ]
            .iter()
            .any(|word| lower.contains(word)) =>
        {
            FailureKind::Auth
        }
        _ if lower.contains("400 bad request") => FailureKind::Rejected,
        _ if lower.contains("timed out") || lower.contains("timeout") => FailureKind::Timeout,
        _ if lower.contains("connect") || lower.contains("dns") => FailureKind::Unreachable,
        _ => FailureKind::Server,
    };
    Failure::new(kind, format!("{verb} {key}: {text}"))
}

/// Whether `code` appears in `text` as a number of its own: object_store's
/// messages also carry the object's hex key and the elapsed time
/// (`in 102.782403ms`), in which any three digits can turn up.
fn has_status(text: &str, code: &str) -> bool {
    let bytes = text.as_bytes();
    let part_of_a_number = |i: usize| bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.';
    text.match_indices(code).any(|(at, _)| {
        let end = at + code.len();
        (at == 0 || !part_of_a_number(at - 1)) && (end == bytes.len() || !part_of_a_number(end))
    })
}

impl Backend for CloudBackend {
    fn get(&self, namespace: &str, key: &str, max: u64) -> Result<Option<Fetched>, Failure> {
        let path = self.path(namespace, key);
        let fetched = self.block_on("GET", key, async {
            let result = self.store.get_opts(&path, GetOptions::default()).await?;
            if result.meta.size > max {
                return Ok(Err(result.meta.size));
            }
            let tag = result
                .attributes
                .get(&Attribute::Metadata(SIGNATURE_METADATA.into()))
                .map(|value| value.as_ref().to_owned());
            let bytes = result.bytes().await?;
            Ok(Ok((bytes.to_vec(), tag)))
        })?;
        match fetched {
            Ok(Ok((bytes, tag))) => Ok(Some(Fetched { bytes, tag })),
            Ok(Err(size)) => Err(Failure::new(
                FailureKind::TooLarge,
                format!("GET {key}: {size} bytes is larger than {max}"),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(failure("GET", key, &err)),
        }
    }

    fn exists(&self, namespace: &str, key: &str) -> Result<bool, Failure> {
        let path = self.path(namespace, key);
        let head = self
            .store
            .get_opts(&path, GetOptions::new().with_head(true));
        match self.block_on("HEAD", key, head)? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(failure("HEAD", key, &err)),
        }
    }

    fn put(
        &self,
        namespace: &str,
        key: &str,
        bytes: &[u8],
        tag: Option<&str>,
        _duration: Duration,
    ) -> Result<(), Failure> {
        let path = self.path(namespace, key);
        let mut attributes = Attributes::new();
        attributes.insert(
            Attribute::ContentType,
            AttributeValue::from("application/octet-stream"),
        );
        if let Some(tag) = tag {
            attributes.insert(
                Attribute::Metadata(SIGNATURE_METADATA.into()),
                AttributeValue::from(tag.to_owned()),
            );
        }
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        // One copy into `Bytes`: object_store may resend the body on retry.
        let payload = PutPayload::from(bytes.to_vec());
        match self.block_on("PUT", key, self.store.put_opts(&path, payload, options))? {
            Ok(_) => Ok(()),
            Err(err) => Err(failure("PUT", key, &err)),
        }
    }

    fn sign_context(&self, namespace: &str) -> String {
        namespace.to_owned()
    }
}

/// `<prefix>/<namespace>/<key>`, without empty segments.
fn object_name(prefix: &str, namespace: &str, key: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("{namespace}/{key}")
    } else {
        format!("{prefix}/{namespace}/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(message: &str) -> FailureKind {
        let err = object_store::Error::Generic {
            store: "S3",
            source: message.to_string().into(),
        };
        failure("PUT", "key", &err).kind
    }

    #[test]
    fn digits_in_a_key_or_an_elapsed_time_are_not_a_status() {
        // CI once saw a refused connection called "credentials refused":
        // the elapsed time read `102.782403ms`.
        let refused = "Error performing PUT http://127.0.0.1:9/bucket/prefix/main/\
                       98240142403ab in 102.782403ms, after 1 retries, max_retries: 1, \
                       retry_timeout: 30s - HTTP error: error sending request";
        assert_eq!(kind_of(refused), FailureKind::Timeout);
        assert_eq!(
            kind_of("error sending request for http://h/b/401f: connect refused"),
            FailureKind::Unreachable
        );
    }

    #[test]
    fn a_status_of_its_own_is_still_one() {
        for message in [
            "Client error with status 403 Forbidden: AccessDenied",
            "HTTP status client error (401 Unauthorized) for url (http://h/b/k)",
            "status 403",
            "403: denied",
        ] {
            assert_eq!(kind_of(message), FailureKind::Auth, "{message}");
        }
        assert!(has_status("(403)", "403"));
        assert!(!has_status("a403", "403"));
        assert!(!has_status("4031", "403"));
        assert!(!has_status("1.403", "403"));
    }
}
