//! Warnings, at most one per kind of trouble per run, each with what happened,
//! where, and what to do, with secrets scrubbed.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::error::{Failure, FailureKind};
use crate::secret::Scrubber;

/// What a warning is about; each is said once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    Fetch(FailureKind),
    Upload(FailureKind),
    BreakerOpen,
    QueueFull,
    GaveUpUploads,
}

pub(crate) struct Warnings {
    sink: Box<dyn Fn(String) + Send + Sync>,
    said: Mutex<HashSet<Topic>>,
    scrubber: Scrubber,
    /// The remote's URL, credentials masked, for every message.
    url: String,
}

impl Warnings {
    pub(crate) fn new(
        sink: Box<dyn Fn(String) + Send + Sync>,
        scrubber: Scrubber,
        url: String,
    ) -> Warnings {
        Warnings {
            sink,
            said: Mutex::new(HashSet::new()),
            scrubber,
            url,
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Says `message` unless something on `topic` was already said.
    pub(crate) fn once(&self, topic: Topic, message: impl FnOnce() -> String) {
        let first = self
            .said
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(topic);
        if first {
            let text = format!("remote cache {}: {}", self.url, message());
            (self.sink)(self.scrubber.scrub(&text));
        }
    }

    pub(crate) fn failure(&self, topic: Topic, verb: &str, key: &str, failure: &Failure) {
        self.once(topic, || {
            format!(
                "failed to {verb} {key}: {failure}\nhint: {}; the build goes on without it \
                 (further warnings like this one are not shown)",
                failure.hint()
            )
        });
    }
}
