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
        _ if [
            "403",
            "401",
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
