//! The remotes themselves: one small trait, one implementation per protocol. They
//! move bytes and report `Failure`s; checking, signing, counting and warning are
//! `Remote`'s job, so every backend behaves the same under faults.

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
mod cloud;
mod file;
mod turbo;

use std::time::Duration;

use crate::error::{Failure, RemoteError};
use crate::settings::{BackendKind, RemoteSettings};

/// An artifact as the remote returned it, not yet checked.
pub(crate) struct Fetched {
    pub(crate) bytes: Vec<u8>,
    /// The signature stored beside it, if any.
    pub(crate) tag: Option<String>,
}

pub(crate) trait Backend: Send + Sync {
    /// `Ok(None)` is a miss. Bodies longer than `max` fail as `TooLarge`.
    fn get(&self, namespace: &str, key: &str, max: u64) -> Result<Option<Fetched>, Failure>;
    fn exists(&self, namespace: &str, key: &str) -> Result<bool, Failure>;
    fn put(
        &self,
        namespace: &str,
        key: &str,
        bytes: &[u8],
        tag: Option<&str>,
        duration: Duration,
    ) -> Result<(), Failure>;
    /// What signatures are bound to besides the key: the team on the Turborepo
    /// API, the namespace on object stores.
    fn sign_context(&self, namespace: &str) -> String;
    /// Whether the remote can keep namespaces apart. The Turborepo API has one
    /// space per team, so untrusted builds cannot get a namespace of their own there.
    fn has_namespaces(&self) -> bool {
        true
    }
}

pub(crate) fn open(settings: &RemoteSettings) -> Result<Box<dyn Backend>, RemoteError> {
    Ok(match settings.kind {
        BackendKind::File => Box::new(file::FileBackend::new(settings)?),
        BackendKind::Turbo => Box::new(turbo::TurboBackend::new(settings)),
        #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
        BackendKind::S3 | BackendKind::Gcs | BackendKind::Azure => {
            Box::new(cloud::CloudBackend::new(settings)?)
        }
        #[cfg(not(all(feature = "s3", feature = "gcs", feature = "azure")))]
        #[allow(unreachable_patterns)]
        _ => unreachable!("resolve refuses backends that are not compiled in"),
    })
}
