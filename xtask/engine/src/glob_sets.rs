//! Glob sets compiled once per distinct list of patterns and shared by every
//! task and package that uses the same list: with `inputs` and `outputs`
//! globs declared once for 300 packages, building them again for each task
//! was three quarters of a warm hit's instructions (when globs were regular
//! expressions; parsing them is cheaper now, but still not free).
//!
//! Sets are keyed by pattern text, so a pattern must mean the same wherever
//! it is used: callers match package-relative paths against package-relative
//! patterns instead of writing the package directory into the glob.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use xtask_glob::{Glob, GlobSet};

/// Every set built by this process. It holds one entry per distinct list in
/// the configuration, so it needs no bound.
static COMPILED: LazyLock<Mutex<HashMap<Vec<String>, Arc<GlobSet>>>> =
    LazyLock::new(Default::default);

/// The set of `patterns` (globset syntax), built on first use.
pub(crate) fn compiled(patterns: Vec<String>) -> Result<Arc<GlobSet>, xtask_glob::Error> {
    if let Some(set) = lock().get(&patterns) {
        return Ok(Arc::clone(set));
    }
    // Built outside the lock: two threads may both build a new list once.
    let globs = patterns.iter().map(|pattern| Glob::new(pattern));
    let set = Arc::new(GlobSet::new(globs.collect::<Result<Vec<_>, _>>()?));
    lock().insert(patterns, Arc::clone(&set));
    Ok(set)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<Vec<String>, Arc<GlobSet>>> {
    // A panic elsewhere while holding the lock leaves the map whole.
    COMPILED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(patterns: &[&str]) -> Vec<String> {
        patterns.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn the_same_list_is_built_once_and_matches_as_globset_does() {
        let first = compiled(texts(&["src/**/*.rs", "*.toml"])).unwrap();
        let again = compiled(texts(&["src/**/*.rs", "*.toml"])).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other = compiled(texts(&["*.toml", "src/**/*.rs"])).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        for (path, expected) in [
            ("src/a/b.rs", true),
            ("Cargo.toml", true),
            ("tests/a.rs", false),
        ] {
            assert_eq!(first.is_match(path), expected, "{path}");
            assert_eq!(other.is_match(path), expected, "{path}");
        }
    }

    #[test]
    fn a_bad_pattern_is_an_error_and_is_not_remembered() {
        assert!(compiled(texts(&["a[", "b"])).is_err());
        assert!(compiled(texts(&["a[", "b"])).is_err());
        assert!(compiled(Vec::new()).unwrap().is_empty());
    }
}
