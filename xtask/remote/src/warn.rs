//! Warnings, at most one per kind of trouble per run, each with what happened,
//! where, and what to do, with secrets scrubbed.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::error::{Failure, FailureKind};
use crate::secret::Scrubber;

/// What a warning is about; each is said once. A fetch and an upload
/// failing for the same reason (a refused connection, say) are one topic: the
/// user needs to hear about the remote once, not about each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    Fetch(FailureKind),
    Upload(FailureKind),
    /// Said only when no failure was reported yet: the first failure's
    /// warning already says the build goes on without the remote.
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
        let first = {
            let mut said = self
                .said
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let key = match topic {
                Topic::Fetch(kind) | Topic::Upload(kind) => Topic::Fetch(kind),
                other => other,
            };
            let after_failure = key == Topic::BreakerOpen
                && said
                    .iter()
                    .any(|t| matches!(t, Topic::Fetch(_) | Topic::Upload(_)));
            said.insert(key) && !after_failure
        };
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
