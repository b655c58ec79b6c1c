//! What the scope tests share: a hand-built package graph, a fake git that
//! records its calls, and helpers that run filters or `--affected` over them.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use xtask_graph::{DepKind, Dependency, Package, PackageGraph, PackageIndex};

use xtask_git::{Git, GitError};

use super::{Diff, Filter, ScopeError, SpecialFiles, affected, apply_filters};

/// ```text
/// api (apps/api)      → util; dev → testkit
/// web (apps/web)      → util
/// util (packages/util) → core
/// testkit (packages/testkit) → core
/// core (packages/core) → build: codegen
/// codegen (tools/codegen)
/// xtask-engine (xtask/engine) → xtask-graph (xtask/graph)
/// ```
pub(super) fn graph() -> PackageGraph {
    graph_of(&[
        (
            "api",
            "apps/api",
            &[("util", DepKind::Normal), ("testkit", DepKind::Dev)],
        ),
        ("web", "apps/web", &[("util", DepKind::Normal)]),
        ("util", "packages/util", &[("core", DepKind::Normal)]),
        ("testkit", "packages/testkit", &[("core", DepKind::Normal)]),
        ("core", "packages/core", &[("codegen", DepKind::Build)]),
        ("codegen", "tools/codegen", &[]),
        (
            "xtask-engine",
            "xtask/engine",
            &[("xtask-graph", DepKind::Normal)],
        ),
        ("xtask-graph", "xtask/graph", &[]),
    ])
}

pub(super) type Spec<'a> = (&'a str, &'a str, &'a [(&'a str, DepKind)]);

/// Builds the struct literally, sorted by name as `PackageGraph::find` needs.
pub(super) fn graph_of(specs: &[Spec<'_>]) -> PackageGraph {
    let mut specs = specs.to_vec();
    specs.sort_by_key(|s| s.0);
    let index = |name: &str| specs.iter().position(|s| s.0 == name).expect(name);
    let packages = specs
        .iter()
        .map(|(name, dir, deps)| {
            let mut dependencies: Vec<Dependency> = deps
                .iter()
                .map(|(dep, kind)| Dependency {
                    package: index(dep),
                    kind: *kind,
                })
                .collect();
            dependencies.sort_by_key(|d| (d.package, d.kind));
            Package {
                name: name.to_string(),
                version: "0.1.0".to_string(),
                dir: dir.to_string(),
                manifest: if dir.is_empty() {
                    "Cargo.toml".to_string()
                } else {
                    format!("{dir}/Cargo.toml")
                },
                dependencies,
                binaries: vec![],
                has_library: true,
                has_xtask_metadata: false,
                features: Default::default(),
                declared_dependencies: vec![],
            }
        })
        .collect();
    PackageGraph {
        root: PathBuf::from("/ws"),
        target_dir: PathBuf::from("/ws/target"),
        packages,
    }
}

/// Refs exist when listed; the merge-base of `a` and `b` is `mb(a,b)` unless
/// the pair is marked unrelated; changes are keyed by (from, to), `to` `None`
/// for the working tree.
#[derive(Default)]
pub(super) struct FakeGit {
    pub(super) refs: HashSet<String>,
    pub(super) unrelated: HashSet<(String, String)>,
    pub(super) changes: HashMap<(String, Option<String>), Vec<String>>,
    pub(super) shallow: bool,
    pub(super) origin_head: Option<String>,
    pub(super) calls: RefCell<Vec<String>>,
}

impl FakeGit {
    pub(super) fn new() -> FakeGit {
        FakeGit::default().with_refs(&["HEAD"])
    }

    pub(super) fn with_refs(mut self, refs: &[&str]) -> FakeGit {
        self.refs.extend(refs.iter().map(|r| r.to_string()));
        self
    }

    /// Files changed on commit `head` since it branched from `base`.
    pub(super) fn with_changes(mut self, base: &str, head: &str, files: &[&str]) -> FakeGit {
        self.refs.insert(base.to_string());
        self.refs.insert(head.to_string());
        self.changes.insert(
            (format!("mb({base},{head})"), Some(head.to_string())),
            files.iter().map(|f| f.to_string()).collect(),
        );
        self
    }

    /// Files that differ between `from` (a ref or a merge-base) and the
    /// working tree.
    pub(super) fn with_working_tree_changes(mut self, from: &str, files: &[&str]) -> FakeGit {
        if !from.starts_with("mb(") {
            self.refs.insert(from.to_string());
        }
        self.changes.insert(
            (from.to_string(), None),
            files.iter().map(|f| f.to_string()).collect(),
        );
        self
    }

    pub(super) fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl Git for FakeGit {
    fn changed_files(&self, from: &str, to: Option<&str>) -> Result<Vec<String>, GitError> {
        let shown_to = to.unwrap_or("<working tree>");
        self.calls
            .borrow_mut()
            .push(format!("diff {from} {shown_to}"));
        if !from.starts_with("mb(") && !self.refs.contains(from) {
            return Err(GitError::Failed {
                command: format!("git diff {from}"),
                stderr: "fatal: bad revision".to_string(),
            });
        }
        Ok(self
            .changes
            .get(&(from.to_string(), to.map(str::to_string)))
            .cloned()
            .unwrap_or_default())
    }

    fn merge_base(&self, a: &str, b: &str) -> Result<String, GitError> {
        self.calls.borrow_mut().push(format!("merge-base {a} {b}"));
        if !self.refs.contains(a) || !self.refs.contains(b) {
            return Err(GitError::Failed {
                command: format!("git merge-base {a} {b}"),
                stderr: "fatal: Not a valid object name".to_string(),
            });
        }
        if self.unrelated.contains(&(a.to_string(), b.to_string())) {
            return Err(GitError::NoMergeBase {
                base: a.to_string(),
                head: b.to_string(),
            });
        }
        Ok(format!("mb({a},{b})"))
    }

    fn resolve(&self, revision: &str) -> Result<Option<String>, GitError> {
        Ok(self.refs.contains(revision).then(|| revision.to_string()))
    }

    fn is_shallow(&self) -> Result<bool, GitError> {
        Ok(self.shallow)
    }

    fn default_branch(&self) -> Result<Option<String>, GitError> {
        Ok(self.origin_head.clone())
    }
}

pub(super) fn names(graph: &PackageGraph, indices: &[PackageIndex]) -> Vec<String> {
    indices
        .iter()
        .map(|&i| graph.packages[i].name.clone())
        .collect()
}

pub(super) fn filter_with(git: &FakeGit, filters: &[&str]) -> Result<Vec<String>, ScopeError> {
    selection_with(git, filters).map(|(found, _)| found)
}

/// The names selected, and the warnings as text.
pub(super) fn selection_with(
    git: &FakeGit,
    filters: &[&str],
) -> Result<(Vec<String>, Vec<String>), ScopeError> {
    let graph = graph();
    let filters = parse_all(filters)?;
    apply_filters(&graph, &filters, git, &no_special).map(|found| {
        (
            names(&graph, &found.packages),
            found.warnings.iter().map(ToString::to_string).collect(),
        )
    })
}

/// `filters` parsed, or the first one's syntax error.
pub(super) fn parse_all(filters: &[&str]) -> Result<Vec<Filter>, ScopeError> {
    filters.iter().map(|f| Filter::parse(f)).collect()
}

/// Filters that need no git and select nothing: the warnings they give.
pub(super) fn filter_warnings(filters: &[&str]) -> Vec<String> {
    let (found, warnings) =
        selection_with(&FakeGit::new(), filters).unwrap_or_else(|e| panic!("{filters:?}: {e}"));
    assert_eq!(found, Vec::<String>::new(), "{filters:?}");
    warnings
}

/// Filters that need no git.
pub(super) fn filter(filters: &[&str]) -> Vec<String> {
    let git = FakeGit::new();
    let found = filter_with(&git, filters).unwrap_or_else(|e| panic!("{filters:?}: {e}"));
    assert!(git.calls().is_empty(), "no git for {filters:?}");
    found
}

pub(super) fn filter_err(filters: &[&str]) -> String {
    match filter_with(&FakeGit::new(), filters) {
        Ok(found) => panic!("{filters:?} should fail, selected {found:?}"),
        Err(e) => e.to_string(),
    }
}

/// A branch that edited `files` since `origin/main`, which has not moved
/// since: the same files from the branch point (`--affected`) and from
/// `origin/main` itself (`[origin/main]`), working tree included.
pub(super) fn branch_changing(files: &[&str]) -> FakeGit {
    FakeGit::new()
        .with_refs(&["origin/main"])
        .with_working_tree_changes("mb(origin/main,HEAD)", files)
        .with_working_tree_changes("origin/main", files)
}

pub(super) const ALL: [&str; 8] = [
    "api",
    "codegen",
    "core",
    "testkit",
    "util",
    "web",
    "xtask-engine",
    "xtask-graph",
];

pub(super) fn affected_by(git: &FakeGit, special: &SpecialFiles<'_>) -> Vec<String> {
    let graph = graph();
    let found = affected(&graph, "origin/main", "HEAD", git, special).unwrap();
    names(&graph, &found)
}

pub(super) fn no_special(_: &str, _: &Diff) -> Option<Vec<PackageIndex>> {
    None
}

pub(super) fn affected_err(git: &FakeGit) -> ScopeError {
    affected(&graph(), "origin/main", "HEAD", git, &no_special).unwrap_err()
}
