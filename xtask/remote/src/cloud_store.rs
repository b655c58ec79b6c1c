//! Opening an object store (S3, GCS, Azure Blob; features `s3`, `gcs`,
//! `azure`) from validated settings: the one place that turns a URL and the
//! cloud options into an object_store client, so the remote cache and the
//! delivery commands (backup) reach the same stores with the same
//! credentials, timeouts and retry policy.

use object_store::{ClientOptions, ObjectStore, RetryConfig};

use crate::error::RemoteError;
use crate::secret::mask_url_credentials;
use crate::settings::{BackendKind, RemoteSettings};

/// An object store client and where in it our objects go.
pub struct CloudStore {
    store: Box<dyn ObjectStore>,
    prefix: String,
}

impl CloudStore {
    /// Opens the store `settings` name (an `s3://`, `gs://` or `az://` URL).
    /// Builds a client only: nothing is sent until the store is used. Errors
    /// are `RemoteError::Incomplete`, credentials masked.
    // Long: one arm per backend, each behind its own feature and sharing the
    // client and retry settings built above it.
    pub fn open(settings: &RemoteSettings) -> Result<CloudStore, RemoteError> {
        let url = &settings.url.value;
        let masked = mask_url_credentials(url);
        let build_error = |err: object_store::Error| RemoteError::Incomplete {
            url: masked.clone(),
            problem: format!(
                "failed to set up the client: {}",
                mask_url_credentials(&err.to_string())
            ),
            hint: "check the URL and the cloud credentials in the environment".to_owned(),
        };
        let endpoint_is_http = settings.cloud_options.iter().any(|(name, value)| {
            name.contains("endpoint") && value.value.expose().starts_with("http://")
        });
        let allow_http = endpoint_is_http
            || settings.cloud_options.iter().any(|(name, value)| {
                name.ends_with("allow_http") && value.value.expose() == "true"
            });
        let client = ClientOptions::new()
            .with_timeout(settings.timeout.value)
            .with_connect_timeout(settings.connect_timeout.value)
            .with_allow_http(allow_http);
        // One retry for a blip; anything longer is the breaker's business.
        let retry = RetryConfig {
            max_retries: 1,
            retry_timeout: settings.timeout.value,
            ..RetryConfig::default()
        };
        let options = settings
            .cloud_options
            .iter()
            .map(|(name, value)| (name.as_str(), value.value.expose()));
        // The three builders share no trait, only method names: one macro
        // applies the options, the client and the retry policy to each.
        macro_rules! build {
            ($builder:expr, $key:ty) => {{
                let mut builder = $builder;
                for (name, value) in options {
                    if let Ok(key) = name.parse::<$key>() {
                        builder = builder.with_config(key, value);
                    }
                }
                builder
            }};
            (finish $builder:expr) => {
                Box::new(
                    $builder
                        .with_client_options(client)
                        .with_retry(retry)
                        .build()
                        .map_err(build_error)?,
                )
            };
        }
        let store: Box<dyn ObjectStore> = match settings.kind {
            #[cfg(feature = "s3")]
            BackendKind::S3 => {
                use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
                let mut builder = build!(
                    AmazonS3Builder::new().with_url(url.clone()),
                    AmazonS3ConfigKey
                );
                // A custom endpoint (MinIO, s3s, R2…) usually wants path-style.
                if endpoint_is_http {
                    builder = builder.with_virtual_hosted_style_request(false);
                }
                build!(finish builder)
            }
            #[cfg(feature = "gcs")]
            BackendKind::Gcs => {
                use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
                build!(finish build!(GoogleCloudStorageBuilder::new().with_url(url.clone()), GoogleConfigKey))
            }
            #[cfg(feature = "azure")]
            BackendKind::Azure => {
                use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
                build!(finish build!(MicrosoftAzureBuilder::new().with_url(url.clone()), AzureConfigKey))
            }
            // A caller may hand us any settings: a URL that is not an object
            // store this build has is an error, never a panic.
            other => {
                return Err(RemoteError::Incomplete {
                    url: masked,
                    problem: format!("{other:?} is not an object store this build of xtask has"),
                    hint: "use an s3://, gs:// or az:// URL (features `s3`, `gcs`, `azure` \
                           of xtask-remote)"
                        .to_owned(),
                });
            }
        };
        Ok(CloudStore {
            store,
            prefix: prefix_of(url),
        })
    }

    pub fn store(&self) -> &dyn ObjectStore {
        self.store.as_ref()
    }

    pub fn into_store(self) -> Box<dyn ObjectStore> {
        self.store
    }

    /// The path inside the bucket or container, from the URL, without
    /// leading or trailing `/` (empty for none).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// `s3://bucket/ci/cache/` → `ci/cache`.
fn prefix_of(url: &str) -> String {
    let (_, rest) = url.split_once("://").unwrap_or(("", url));
    rest.split_once('/')
        .map_or("", |(_, path)| path)
        .trim_matches('/')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::CliRemote;

    fn settings(url: &str, env: &[(&str, &str)]) -> RemoteSettings {
        let table: toml::Table = format!("url = {url:?}").parse().unwrap();
        let env = |name: &str| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        RemoteSettings::resolve(
            Some(&table),
            Path::new("/ws/Cargo.toml"),
            &env,
            &CliRemote::default(),
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn prefixes_come_from_the_url_path() {
        for (url, prefix) in [
            ("s3://bucket", ""),
            ("s3://bucket/", ""),
            ("s3://bucket/ci/cache/", "ci/cache"),
            ("az://container/x", "x"),
            ("gs://bucket//a/b//", "a/b"),
        ] {
            assert_eq!(prefix_of(url), prefix, "{url}");
        }
    }

    #[test]
    fn opens_each_cloud_url_without_sending_anything() {
        let env = [
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_REGION", "us-east-1"),
            ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
            ("AZURE_STORAGE_USE_EMULATOR", "true"),
            (
                "GOOGLE_SERVICE_ACCOUNT_KEY",
                r#"{"disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}"#,
            ),
        ];
        for (url, prefix) in [
            ("s3://bucket/ci", "ci"),
            ("az://container/a/b", "a/b"),
            ("gs://bucket", ""),
        ] {
            let store =
                CloudStore::open(&settings(url, &env)).unwrap_or_else(|err| panic!("{url}: {err}"));
            assert_eq!(store.prefix(), prefix, "{url}");
        }
    }

    #[test]
    fn a_url_that_is_no_object_store_is_an_error_with_credentials_masked() {
        let env = [("TURBO_TOKEN", "tok"), ("TURBO_TEAM", "t")];
        for url in ["file:///tmp/cache", "https://user:pw-secret@cache.example"] {
            let err = match CloudStore::open(&settings(url, &env)) {
                Ok(_) => panic!("{url}: opened"),
                Err(err) => err.to_string(),
            };
            assert!(err.contains("not an object store"), "{url}: {err}");
            assert!(!err.contains("pw-secret"), "{url}: {err}");
        }
    }
}
