//! Shared by the integration tests: external services are named by
//! environment variables that `.ci/services.sh` sets. Without one, a test
//! fails in CI (CI set) and is skipped with a notice elsewhere, never silently
//! passed.

#![allow(dead_code)]

use std::path::PathBuf;

/// The variable's value, or `None` (after printing why) when a developer runs
/// the tests without the service. Panics when CI is set.
pub fn require_env(name: &str, what: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => panic!(
            "{name} is not set but CI is: this test needs {what}; \
             `source .ci/services.sh` starts it and sets {name}"
        ),
        _ => {
            eprintln!(
                "SKIPPED: {name} is not set, so this test cannot reach {what}; \
                 run `source .ci/services.sh` first to run it"
            );
            None
        }
    }
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}
