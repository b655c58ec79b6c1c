//! The resolved external dependencies of each package, from Cargo.lock.
//!
//! A cargo task's key covers the external crates its package really compiles
//! against (name, version, source, checksum), not the whole lockfile: bumping
//! a crate that a package does not use must not invalidate it. The lockfile
//! does not say which edges are dev-only, so a package's closure includes its
//! dev-dependencies' crates too (a few spurious misses, never a false hit).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

#[derive(Deserialize)]
struct LockFile {
    #[serde(default, rename = "package")]
    packages: Vec<LockedPackage>,
}

#[derive(Deserialize, Clone)]
struct LockedPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// A parsed lockfile, indexed for closure queries.
pub struct Lock {
    packages: Vec<LockedPackage>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Lock {
    /// Parses Cargo.lock text; `None` when it is not a lockfile we understand
    /// (then callers fall back to hashing the whole file).
    pub fn parse(text: &str) -> Option<Lock> {
        let file: LockFile = toml::from_str(text).ok()?;
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, package) in file.packages.iter().enumerate() {
            by_name.entry(package.name.clone()).or_default().push(i);
        }
        Some(Lock {
            packages: file.packages,
            by_name,
        })
    }

    /// A dependency entry is `name`, `name version` or `name version (source)`.
    fn resolve(&self, entry: &str) -> Option<usize> {
        let mut parts = entry.splitn(3, ' ');
        let name = parts.next()?;
        let version = parts.next();
        let source = parts
            .next()
            .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
        let candidates = self.by_name.get(name)?;
        candidates.iter().copied().find(|&i| {
            let p = &self.packages[i];
            version.is_none_or(|v| p.version == v)
                && source.is_none_or(|s| p.source.as_deref() == Some(s))
        })
    }

    /// The crates reachable from the workspace package `name`@`version`:
    /// `"name version"` → `"source checksum"`, or `"path"` for path crates.
    pub fn external_closure(&self, name: &str, version: &str) -> BTreeMap<String, String> {
        let mut closure = BTreeMap::new();
        let Some(start) = self.by_name.get(name).and_then(|c| {
            c.iter()
                .copied()
                .find(|&i| self.packages[i].version == version && self.packages[i].source.is_none())
        }) else {
            return closure;
        };
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for entry in &self.packages[i].dependencies {
                let Some(dep) = self.resolve(entry) else {
                    continue;
                };
                if !seen.insert(dep) {
                    continue;
                }
                let package = &self.packages[dep];
                // A source-less entry is a path crate: a workspace member
                // (the caller drops those: their files are hashed) or one
                // outside the workspace, whose sources the discovered inputs
                // cover — its name here lets them be attributed to us.
                let source = match &package.source {
                    Some(source) => {
                        format!("{source} {}", package.checksum.as_deref().unwrap_or("-"))
                    }
                    None => "path".to_string(),
                };
                closure.insert(format!("{} {}", package.name, package.version), source);
                stack.push(dep);
            }
        }
        closure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["lib", "serde 1.0.1"]

[[package]]
name = "lib"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "other"
version = "0.1.0"
dependencies = ["serde 2.0.0 (registry+https://github.com/rust-lang/crates.io-index)"]

[[package]]
name = "itoa"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"

[[package]]
name = "serde"
version = "1.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bb"

[[package]]
name = "serde"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cc"
"#;

    #[test]
    fn closure_follows_workspace_crates_to_external_ones() {
        let lock = Lock::parse(LOCK).unwrap();
        let app = lock.external_closure("app", "0.1.0");
        assert_eq!(
            app.keys().collect::<Vec<_>>(),
            ["itoa 1.0.0", "lib 0.1.0", "serde 1.0.1"]
        );
        assert_eq!(app["lib 0.1.0"], "path");
        assert!(app["itoa 1.0.0"].ends_with(" aa"));
        let other = lock.external_closure("other", "0.1.0");
        assert_eq!(other.keys().collect::<Vec<_>>(), ["serde 2.0.0"]);
        assert!(
            lock.external_closure("lib", "0.1.0")
                .contains_key("itoa 1.0.0")
        );
        assert!(lock.external_closure("missing", "0.1.0").is_empty());
    }

    #[test]
    fn a_bump_changes_only_the_closures_that_contain_the_crate() {
        let before = Lock::parse(LOCK).unwrap();
        let after = Lock::parse(&LOCK.replace("checksum = \"cc\"", "checksum = \"dd\"")).unwrap();
        assert_eq!(
            before.external_closure("app", "0.1.0"),
            after.external_closure("app", "0.1.0")
        );
        assert_ne!(
            before.external_closure("other", "0.1.0"),
            after.external_closure("other", "0.1.0")
        );
    }
}
