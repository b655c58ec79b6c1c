//! Which features each dependency is compiled with when a package is built
//! on its own — so a batch never changes a member's result.
//!
//! Cargo unifies features across the packages of one invocation: `cargo test
//! -p a -p b` compiles a shared dependency with the union of what `a` and `b`
//! ask for, and `a`'s tests may then see behaviour `cargo test -p a` never
//! shows. A cached result must be what the package gives alone, so packages
//! are batched together only when they agree on the features of every
//! dependency they share ([`agree`]).
//!
//! The resolution is computed from the manifests (`[features]` tables and
//! dependency declarations): for workspace crates it follows feature
//! forwarding (`dep:x`, `x/feature`, `x?/feature`) to a fixed point; for an
//! external crate it is the set of features the workspace crates in the
//! closure request of it. Platform-specific dependencies are all counted:
//! over-approximating a difference only splits a batch, it never merges two
//! packages that disagree.

use std::collections::{BTreeMap, BTreeSet};

use xtask_config::CargoKind;
use xtask_graph::{DepKind, PackageGraph, PackageIndex};

/// Dependency name → the features it is compiled with (`default` included
/// when requested).
pub type Resolution = BTreeMap<String, BTreeSet<String>>;

/// What building `root` alone (with `features` on the command line)
/// compiles each dependency with.
pub fn resolve(
    graph: &PackageGraph,
    root: PackageIndex,
    kind: CargoKind,
    features: &[String],
) -> Resolution {
    let mut active: BTreeMap<PackageIndex, BTreeSet<String>> = BTreeMap::new();
    let mut requested: Resolution = BTreeMap::new();
    let mut root_features: BTreeSet<String> = features.iter().cloned().collect();
    root_features.insert("default".to_string());
    let mut work = vec![(root, root_features)];
    while let Some((package, features)) = work.pop() {
        let first_visit = !active.contains_key(&package);
        let known = active.entry(package).or_default();
        let before = known.len();
        known.extend(features);
        if known.len() == before && !first_visit {
            continue;
        }
        let enabled = expand(graph, package, known);
        let info = &graph.packages[package];
        let with_dev = package == root && matches!(kind, CargoKind::Test | CargoKind::Lint);
        for dep in &info.declared_dependencies {
            if dep.kind == DepKind::Dev && !with_dev {
                continue;
            }
            if dep.optional && !enabled.optional_deps.contains(dep.key()) {
                continue;
            }
            let mut wanted: BTreeSet<String> = dep.features.iter().cloned().collect();
            if dep.default_features {
                wanted.insert("default".to_string());
            }
            if let Some(forwarded) = enabled.forwarded.get(dep.key()) {
                wanted.extend(forwarded.iter().cloned());
            }
            requested
                .entry(dep.name.clone())
                .or_default()
                .extend(wanted.iter().cloned());
            if let Some(member) = dep.member {
                work.push((member, wanted));
            }
        }
    }
    // A workspace crate's requested features expand through its own table.
    for (&package, features) in &active {
        if package == root {
            continue;
        }
        let name = &graph.packages[package].name;
        let enabled = expand(graph, package, features);
        requested.insert(name.clone(), enabled.features);
    }
    requested
}

/// True when two packages compile every dependency they share with the same
/// features (and neither is a dependency the other compiles differently).
pub fn agree(a: &Resolution, b: &Resolution) -> bool {
    a.iter()
        .all(|(name, features)| b.get(name).is_none_or(|other| other == features))
}

struct Enabled {
    /// The package's own features, expanded.
    features: BTreeSet<String>,
    /// Optional dependencies switched on (`dep:x`, or a feature named like
    /// the dependency, or `x/feature`).
    optional_deps: BTreeSet<String>,
    /// Features requested of dependencies: `x/feature`, `x?/feature`.
    forwarded: BTreeMap<String, BTreeSet<String>>,
}

/// Expands `features` of `package` through its `[features]` table.
fn expand(graph: &PackageGraph, package: PackageIndex, features: &BTreeSet<String>) -> Enabled {
    let table = &graph.packages[package].features;
    let mut enabled = Enabled {
        features: BTreeSet::new(),
        optional_deps: BTreeSet::new(),
        forwarded: BTreeMap::new(),
    };
    let mut stack: Vec<String> = features.iter().cloned().collect();
    while let Some(feature) = stack.pop() {
        if let Some(dep) = feature.strip_prefix("dep:") {
            enabled.optional_deps.insert(dep.to_string());
            continue;
        }
        if let Some((dep, dep_feature)) = feature.split_once('/') {
            let (dep, weak) = match dep.strip_suffix('?') {
                Some(dep) => (dep, true),
                None => (dep, false),
            };
            if !weak {
                enabled.optional_deps.insert(dep.to_string());
            }
            enabled
                .forwarded
                .entry(dep.to_string())
                .or_default()
                .insert(dep_feature.to_string());
            continue;
        }
        if !enabled.features.insert(feature.clone()) {
            continue;
        }
        match table.get(&feature) {
            Some(implied) => stack.extend(implied.iter().cloned()),
            // An optional dependency is also an implicit feature of its name.
            None => {
                enabled.optional_deps.insert(feature);
            }
        }
    }
    enabled
}

#[cfg(test)]
mod tests {
    use super::*;
    use xtask_graph::{DeclaredDependency, Package};

    fn package(name: &str, features: &[(&str, &[&str])], deps: Vec<DeclaredDependency>) -> Package {
        Package {
            name: name.into(),
            version: "0.1.0".into(),
            dir: format!("crates/{name}"),
            manifest: format!("crates/{name}/Cargo.toml"),
            dependencies: vec![],
            binaries: vec![],
            has_library: true,
            has_xtask_metadata: false,
            features: features
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            declared_dependencies: deps,
        }
    }

    fn dep(
        name: &str,
        member: Option<usize>,
        features: &[&str],
        optional: bool,
    ) -> DeclaredDependency {
        let mut dep = DeclaredDependency::new(name.into(), None, DepKind::Normal);
        dep.features = features.iter().map(|s| s.to_string()).collect();
        dep.optional = optional;
        dep.member = member;
        dep
    }

    /// `shared` has a feature `extra`; `a` uses it plainly, `b` with `extra`,
    /// `c` forwards `extra` only under its own feature `more`, `d` like `a`.
    fn graph() -> PackageGraph {
        PackageGraph {
            root: "/w".into(),
            target_dir: "/w/target".into(),
            packages: vec![
                package(
                    "a",
                    &[],
                    vec![
                        dep("shared", Some(4), &[], false),
                        dep("serde", None, &[], false),
                    ],
                ),
                package("b", &[], vec![dep("shared", Some(4), &["extra"], false)]),
                package(
                    "c",
                    &[("more", &["shared/extra"])],
                    vec![dep("shared", Some(4), &[], false)],
                ),
                package(
                    "d",
                    &[],
                    vec![
                        dep("shared", Some(4), &[], false),
                        dep("serde", None, &["derive"], false),
                    ],
                ),
                package("shared", &[("extra", &[]), ("default", &[])], vec![]),
            ],
        }
    }

    #[test]
    fn packages_that_enable_different_features_of_a_shared_crate_disagree() {
        let g = graph();
        let r = |p, f: &[&str]| {
            let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            resolve(&g, p, CargoKind::Test, &f)
        };
        assert_eq!(r(0, &[])["shared"], BTreeSet::from(["default".to_string()]));
        assert!(r(1, &[])["shared"].contains("extra"));
        assert!(!agree(&r(0, &[]), &r(1, &[])), "a and b disagree on shared");
        assert!(agree(&r(0, &[]), &r(2, &[])), "c without `more` is plain");
        assert!(
            !agree(&r(0, &[]), &r(2, &["more"])),
            "c with `more` forwards extra"
        );
        assert!(
            !agree(&r(0, &[]), &r(3, &[])),
            "a and d disagree on serde's features"
        );
    }
}
