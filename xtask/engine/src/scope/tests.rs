//! Selection rules against a hand-built graph and a fake git.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use xtask_graph::{DepKind, Dependency, Package, PackageGraph, PackageIndex};

use super::*;
use xtask_toolbox::suggest::edit_distance;

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

type Spec<'a> = (&'a str, &'a str, &'a [(&'a str, DepKind)]);

/// Builds the struct literally, sorted by name as `PackageGraph::find` needs.
fn graph_of(specs: &[Spec<'_>]) -> PackageGraph {
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
struct FakeGit {
    refs: HashSet<String>,
    unrelated: HashSet<(String, String)>,
    changes: HashMap<(String, Option<String>), Vec<String>>,
    shallow: bool,
    origin_head: Option<String>,
    calls: RefCell<Vec<String>>,
}

impl FakeGit {
    fn new() -> FakeGit {
        FakeGit::default().with_refs(&["HEAD"])
    }

    fn with_refs(mut self, refs: &[&str]) -> FakeGit {
        self.refs.extend(refs.iter().map(|r| r.to_string()));
        self
    }

    /// Files changed on commit `head` since it branched from `base`.
    fn with_changes(mut self, base: &str, head: &str, files: &[&str]) -> FakeGit {
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
    fn with_working_tree_changes(mut self, from: &str, files: &[&str]) -> FakeGit {
        if !from.starts_with("mb(") {
            self.refs.insert(from.to_string());
        }
        self.changes.insert(
            (from.to_string(), None),
            files.iter().map(|f| f.to_string()).collect(),
        );
        self
    }

    fn calls(&self) -> Vec<String> {
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

fn filter_with(git: &FakeGit, filters: &[&str]) -> Result<Vec<String>, ScopeError> {
    selection_with(git, filters).map(|(found, _)| found)
}

/// The names selected, and the warnings as text.
fn selection_with(
    git: &FakeGit,
    filters: &[&str],
) -> Result<(Vec<String>, Vec<String>), ScopeError> {
    let graph = graph();
    let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    apply_filters(&graph, &filters, git, &no_special).map(|found| {
        (
            names(&graph, &found.packages),
            found.warnings.iter().map(ToString::to_string).collect(),
        )
    })
}

/// Filters that need no git and select nothing: the warnings they give.
fn filter_warnings(filters: &[&str]) -> Vec<String> {
    let (found, warnings) =
        selection_with(&FakeGit::new(), filters).unwrap_or_else(|e| panic!("{filters:?}: {e}"));
    assert_eq!(found, Vec::<String>::new(), "{filters:?}");
    warnings
}

/// Filters that need no git.
fn filter(filters: &[&str]) -> Vec<String> {
    let git = FakeGit::new();
    let found = filter_with(&git, filters).unwrap_or_else(|e| panic!("{filters:?}: {e}"));
    assert!(git.calls().is_empty(), "no git for {filters:?}");
    found
}

fn filter_err(filters: &[&str]) -> String {
    match filter_with(&FakeGit::new(), filters) {
        Ok(found) => panic!("{filters:?} should fail, selected {found:?}"),
        Err(e) => e.to_string(),
    }
}

/// A branch that edited `files` since `origin/main`, which has not moved
/// since: the same files from the branch point (`--affected`) and from
/// `origin/main` itself (`[origin/main]`), working tree included.
fn branch_changing(files: &[&str]) -> FakeGit {
    FakeGit::new()
        .with_refs(&["origin/main"])
        .with_working_tree_changes("mb(origin/main,HEAD)", files)
        .with_working_tree_changes("origin/main", files)
}

const ALL: [&str; 8] = [
    "api",
    "codegen",
    "core",
    "testkit",
    "util",
    "web",
    "xtask-engine",
    "xtask-graph",
];

// ---------------------------------------------------------------------------
// Parsing

#[test]
fn every_form_parses_like_turborepo() {
    let range = |base: &str, head: Option<&str>| {
        Some(GitRange {
            base: base.to_string(),
            head: head.map(str::to_string),
        })
    };
    let name = |n: &str| Some(n.to_string());
    let dir = |d: &str| Some(d.to_string());
    let cases = [
        (
            "api",
            Selector {
                name: name("api"),
                ..Default::default()
            },
        ),
        (
            "xtask-*",
            Selector {
                name: name("xtask-*"),
                ..Default::default()
            },
        ),
        (
            "api...",
            Selector {
                name: name("api"),
                with_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "...core",
            Selector {
                name: name("core"),
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "...util...",
            Selector {
                name: name("util"),
                with_dependencies: true,
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "api^...",
            Selector {
                name: name("api"),
                with_dependencies: true,
                exclude_self: true,
                ..Default::default()
            },
        ),
        (
            "...^core",
            Selector {
                name: name("core"),
                with_dependents: true,
                exclude_self: true,
                ..Default::default()
            },
        ),
        (
            "./apps/*",
            Selector {
                dir: dir("apps/*"),
                ..Default::default()
            },
        ),
        (
            "{./apps/*}",
            Selector {
                dir: dir("apps/*"),
                ..Default::default()
            },
        ),
        (
            "{apps/*}",
            Selector {
                dir: dir("apps/*"),
                ..Default::default()
            },
        ),
        (
            ".",
            Selector {
                dir: dir(""),
                ..Default::default()
            },
        ),
        (
            "...{./packages/core}",
            Selector {
                dir: dir("packages/core"),
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "[origin/main]",
            Selector {
                range: range("origin/main", None),
                ..Default::default()
            },
        ),
        (
            "[HEAD^1]",
            Selector {
                range: range("HEAD^1", None),
                ..Default::default()
            },
        ),
        (
            "[main...feature]",
            Selector {
                range: range("main", Some("feature")),
                ..Default::default()
            },
        ),
        (
            "...[origin/main]",
            Selector {
                range: range("origin/main", None),
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "[origin/main]...",
            Selector {
                range: range("origin/main", None),
                with_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "...[a...b]...",
            Selector {
                range: range("a", Some("b")),
                with_dependents: true,
                with_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "api{./apps/*}[main]",
            Selector {
                name: name("api"),
                dir: dir("apps/*"),
                range: range("main", None),
                ..Default::default()
            },
        ),
        (
            "api...[main]",
            Selector {
                name: name("api"),
                range: range("main", None),
                match_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "{./apps/*}...[main]",
            Selector {
                dir: dir("apps/*"),
                range: range("main", None),
                match_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "!web",
            Selector {
                name: name("web"),
                exclude: true,
                ..Default::default()
            },
        ),
        (
            "!./apps/*",
            Selector {
                dir: dir("apps/*"),
                exclude: true,
                ..Default::default()
            },
        ),
        (
            "!...core",
            Selector {
                name: name("core"),
                exclude: true,
                with_dependents: true,
                ..Default::default()
            },
        ),
    ];
    for (raw, want) in cases {
        let want = Selector {
            raw: raw.to_string(),
            ..want
        };
        assert_eq!(Selector::parse(raw).unwrap(), want, "{raw}");
    }
}

#[test]
fn malformed_filters_say_what_forms_exist() {
    for raw in [
        "",
        "!",
        "...",
        "{}",
        "api[",
        "[]",
        "[main...]",
        "......[main]",
        "...[main]...x",
        "../elsewhere",
        "{./../x}",
        "./apps/../../x",
        "./apps/*/../web",
        "api web",
        "api}",
        "[--output=/tmp/x]",
        "^api",
    ] {
        let err = filter_err(&[raw]);
        assert!(
            err.starts_with(&format!("`--filter {raw}`: ")),
            "{raw}: {err}"
        );
        assert!(
            err.contains("\nhint: a filter is one of `name`"),
            "{raw}: {err}"
        );
    }
    assert!(filter_err(&["../elsewhere"]).contains("leaves the workspace"));
    assert!(filter_err(&["./apps/*/../web"]).contains("`..` after a wildcard"));
}

#[test]
fn dot_dot_inside_the_workspace_is_resolved() {
    assert_eq!(filter(&["./packages/../apps/*"]), ["api", "web"]);
    assert_eq!(filter(&["./apps/web/../api"]), ["api"]);
    assert_eq!(filter(&["./xtask/./engine/"]), ["xtask-engine"]);
    assert_eq!(
        filter(&["{./tools/../packages/*}..."]),
        ["codegen", "core", "testkit", "util"]
    );
}

#[test]
fn a_bad_filter_anywhere_fails_before_any_git_call() {
    let git = branch_changing(&["apps/web/lib.rs"]);
    let filters = ["[origin/main]".to_string(), "a b".to_string()];
    assert!(matches!(
        apply_filters(&graph(), &filters, &git, &no_special),
        Err(ScopeError::BadFilter { .. })
    ));
    assert!(git.calls().is_empty());
}

// ---------------------------------------------------------------------------
// Names, globs, dependencies and dependents

#[test]
fn no_filters_select_everything() {
    assert_eq!(filter(&[]), ALL);
}

#[test]
fn by_name_and_by_glob() {
    assert_eq!(filter(&["web"]), ["web"]);
    assert_eq!(filter(&["xtask-*"]), ["xtask-engine", "xtask-graph"]);
    assert_eq!(filter(&["*"]), ALL);
    assert_eq!(filter(&["?ore"]), ["core"]);
    assert_eq!(filter(&["*-graph"]), ["xtask-graph"]);
}

#[test]
fn with_dependencies_follows_every_edge_kind() {
    // util and core by normal edges, codegen by core's build edge, testkit by
    // api's dev edge.
    assert_eq!(
        filter(&["api..."]),
        ["api", "codegen", "core", "testkit", "util"]
    );
    assert_eq!(filter(&["api^..."]), ["codegen", "core", "testkit", "util"]);
    assert_eq!(filter(&["codegen..."]), ["codegen"]);
    assert_eq!(filter(&["codegen^..."]), Vec::<String>::new());
}

#[test]
fn with_dependents_follows_every_edge_kind() {
    assert_eq!(
        filter(&["...core"]),
        ["api", "core", "testkit", "util", "web"]
    );
    assert_eq!(filter(&["...^core"]), ["api", "testkit", "util", "web"]);
    // Only a dev edge leads from testkit to api.
    assert_eq!(filter(&["...testkit"]), ["api", "testkit"]);
    // A build edge leads from codegen to core.
    assert_eq!(
        filter(&["...codegen"]),
        ["api", "codegen", "core", "testkit", "util", "web"]
    );
    assert_eq!(filter(&["...web"]), ["web"]);
}

#[test]
fn dependents_and_dependencies_include_what_the_dependents_need() {
    // util's dependents (api, web), its dependencies (core, codegen), and what
    // api needs besides (testkit).
    assert_eq!(
        filter(&["...util..."]),
        ["api", "codegen", "core", "testkit", "util", "web"]
    );
    assert_eq!(
        filter(&["...xtask-graph..."]),
        ["xtask-engine", "xtask-graph"]
    );
}

#[test]
fn caret_leaves_out_only_the_matched_package() {
    // With a glob, one matched package can still come in as another's dependency.
    assert_eq!(filter(&["xtask-*^..."]), ["xtask-graph"]);
    assert_eq!(filter(&["...^xtask-*"]), ["xtask-engine"]);
}

#[test]
fn a_dev_dependency_cycle_terminates_and_caret_still_excludes_self() {
    // Cargo allows `a` to dev-depend on `b` while `b` depends on `a`.
    let graph = graph_of(&[
        ("a", "a", &[("b", DepKind::Dev)]),
        ("b", "b", &[("a", DepKind::Normal)]),
    ]);
    let run = |f: &str| {
        names(
            &graph,
            &apply_filters(&graph, &[f.to_string()], &FakeGit::new(), &no_special)
                .unwrap()
                .packages,
        )
    };
    assert_eq!(run("a..."), ["a", "b"]);
    assert_eq!(run("a^..."), ["b"]);
    assert_eq!(run("...^a"), ["b"]);
    assert_eq!(run("...a..."), ["a", "b"]);
}

// ---------------------------------------------------------------------------
// Directories

#[test]
fn by_directory_glob_from_the_workspace_root() {
    assert_eq!(filter(&["./apps/*"]), ["api", "web"]);
    assert_eq!(filter(&["{./apps/*}"]), ["api", "web"]);
    assert_eq!(filter(&["{apps/*}"]), ["api", "web"]);
    assert_eq!(filter(&["./packages/core"]), ["core"]);
    assert_eq!(filter(&["./packages/core/"]), ["core"]);
    assert_eq!(filter(&["./*/c*"]), ["codegen", "core"]);
    // `*` stays within one directory level; `**` crosses them.
    assert_eq!(filter(&["./**/core"]), ["core"]);
    assert_eq!(filter(&["...{./packages/util}"]), ["api", "util", "web"]);
    assert_eq!(filter(&["./xtask/*..."]), ["xtask-engine", "xtask-graph"]);
}

#[test]
fn a_directory_selects_whole_package_directories_only() {
    // `apps` itself is no package's directory (Turborepo: write `./apps/*`):
    // nothing, with a warning that says how.
    let warnings = filter_warnings(&["./apps"]);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with(
            "`--filter ./apps`: no package lives in a directory matching `./apps`, so it selects nothing\nhint: "
        ),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("`./apps/*`"), "{warnings:?}");
}

#[test]
fn a_misspelled_directory_suggests_the_closest() {
    let warnings = filter_warnings(&["./packages/utl"]);
    assert!(
        warnings[0].ends_with("; did you mean `./packages/util`?"),
        "{warnings:?}"
    );
}

#[test]
fn a_filter_selecting_nothing_leaves_the_others_alone_and_warns_once() {
    let (found, warnings) = selection_with(
        &FakeGit::new(),
        &["web", "./nowhere/*", "./nowhere/*", "zz-*"],
    )
    .unwrap();
    assert_eq!(found, ["web"]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("`./nowhere/*`"), "{warnings:?}");
    assert!(
        warnings[1].contains("no package name matches `zz-*`"),
        "{warnings:?}"
    );
}

#[test]
fn dot_is_the_root_package() {
    let graph = graph_of(&[
        ("root", "", &[("lib", DepKind::Normal)]),
        ("lib", "crates/lib", &[]),
    ]);
    let select = |f: &str| {
        let found = apply_filters(&graph, &[f.to_string()], &FakeGit::new(), &no_special);
        names(&graph, &found.unwrap().packages)
    };
    assert_eq!(select("."), ["root"]);
    // `...` is stripped before the path is read, as in Turborepo.
    for f in ["./...", "{.}..."] {
        assert_eq!(select(f), ["lib", "root"], "{f}");
    }
    // Without a root package, `.` matches nothing: nothing, not a full run.
    assert!(filter_warnings(&["."])[0].contains("no package lives in a directory matching `.`"));
}

#[test]
fn name_and_directory_must_both_match() {
    assert_eq!(filter(&["api{./apps/*}"]), ["api"]);
    assert_eq!(filter(&["*{./apps/*}"]), ["api", "web"]);
    assert_eq!(filter(&["core{./apps/*}"]), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// Git ranges

#[test]
fn changed_since_a_ref_selects_the_owning_packages() {
    let git = branch_changing(&[
        "apps/web/src/main.rs",
        "packages/core/Cargo.toml",
        "README.md", // outside every package: selects nothing
    ]);
    assert_eq!(
        filter_with(&git, &["[origin/main]"]).unwrap(),
        ["core", "web"]
    );
    // The ref itself against the working tree, as in Turborepo: no merge-base.
    assert_eq!(git.calls(), ["diff origin/main <working tree>"]);
}

#[test]
fn a_ref_counts_what_changed_on_its_side_since_the_fork_but_affected_does_not() {
    // The branch edited web; main, since the fork, edited core.
    let git = FakeGit::new()
        .with_refs(&["main"])
        .with_working_tree_changes("mb(main,HEAD)", &["apps/web/src/lib.rs"])
        .with_working_tree_changes("main", &["apps/web/src/lib.rs", "packages/core/src/lib.rs"]);
    assert_eq!(filter_with(&git, &["[main]"]).unwrap(), ["core", "web"]);
    let graph = graph();
    let found = affected(&graph, "main", "HEAD", &git, &no_special).unwrap();
    assert_eq!(names(&graph, &found), ["web"]);
}

#[test]
fn changed_with_dependents_or_dependencies() {
    let git = branch_changing(&["packages/util/src/lib.rs"]);
    assert_eq!(
        filter_with(&git, &["...[origin/main]"]).unwrap(),
        ["api", "util", "web"]
    );
    assert_eq!(
        filter_with(&git, &["[origin/main]..."]).unwrap(),
        ["codegen", "core", "util"]
    );
    assert_eq!(
        filter_with(&git, &["...^[origin/main]"]).unwrap(),
        ["api", "web"]
    );
    assert_eq!(
        filter_with(&git, &["...[origin/main]..."]).unwrap(),
        ["api", "codegen", "core", "testkit", "util", "web"]
    );
}

#[test]
fn an_explicit_range_compares_its_two_refs() {
    let git = FakeGit::new().with_changes("v1", "v2", &["tools/codegen/src/lib.rs"]);
    assert_eq!(filter_with(&git, &["[v1...v2]"]).unwrap(), ["codegen"]);
    assert_eq!(git.calls(), ["merge-base v1 v2", "diff mb(v1,v2) v2"]);
}

#[test]
fn an_explicit_head_never_adds_the_working_tree() {
    let git = FakeGit::new()
        .with_changes("main", "HEAD", &["apps/api/src/lib.rs"])
        .with_working_tree_changes(
            "mb(main,HEAD)",
            &["apps/api/src/lib.rs", "apps/web/src/lib.rs"],
        );
    assert_eq!(filter_with(&git, &["[main...HEAD]"]).unwrap(), ["api"]);
    assert_eq!(
        git.calls(),
        ["merge-base main HEAD", "diff mb(main,HEAD) HEAD"]
    );
}

#[test]
fn a_root_manifest_change_is_seen_alike_by_a_ref_filter_and_affected() {
    let graph = graph();
    let everything =
        |file: &str, _: &Diff| (file == "Cargo.toml").then(|| (0..graph.packages.len()).collect());
    let git = branch_changing(&["Cargo.toml"]);
    let filters = ["[origin/main]".to_string()];
    let found = apply_filters(&graph, &filters, &git, &everything).unwrap();
    assert_eq!(names(&graph, &found.packages), ALL);
    let found = affected(&graph, "origin/main", "HEAD", &git, &everything).unwrap();
    assert_eq!(names(&graph, &found), ALL);
    // And the rule hears which two states are compared.
    let seen = RefCell::new(Vec::new());
    let record = |file: &str, diff: &Diff| {
        seen.borrow_mut().push((file.to_string(), diff.clone()));
        None
    };
    let git = branch_changing(&["Cargo.toml"]).with_changes("v1", "v2", &["Cargo.lock"]);
    let filters = ["[origin/main]".to_string(), "[v1...v2]".to_string()];
    apply_filters(&graph, &filters, &git, &record).unwrap();
    assert_eq!(
        seen.into_inner(),
        [
            (
                "Cargo.toml".to_string(),
                Diff {
                    from: "origin/main".into(),
                    to: None
                }
            ),
            (
                "Cargo.lock".to_string(),
                Diff {
                    from: "mb(v1,v2)".into(),
                    to: Some("v2".into())
                }
            ),
        ]
    );
}

#[test]
fn nothing_changed_selects_nothing() {
    let git = branch_changing(&[]);
    assert_eq!(
        filter_with(&git, &["...[origin/main]"]).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn name_with_changed_dependencies() {
    // `api...[ref]`: api when api or anything it depends on changed.
    let core_changed = branch_changing(&["packages/core/src/lib.rs"]);
    assert_eq!(
        filter_with(&core_changed, &["api...[origin/main]"]).unwrap(),
        ["api"]
    );
    assert_eq!(
        filter_with(&core_changed, &["*...[origin/main]"]).unwrap(),
        ["api", "core", "testkit", "util", "web"]
    );
    let web_changed = branch_changing(&["apps/web/src/lib.rs"]);
    assert_eq!(
        filter_with(&web_changed, &["api...[origin/main]"]).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        filter_with(&web_changed, &["{./apps/*}...[origin/main]"]).unwrap(),
        ["web"]
    );
    // A dev-dependency counts (api's tests compile testkit).
    let testkit_changed = branch_changing(&["packages/testkit/src/lib.rs"]);
    assert_eq!(
        filter_with(&testkit_changed, &["api...[origin/main]"]).unwrap(),
        ["api"]
    );
}

#[test]
fn name_directory_and_range_combine_as_an_intersection() {
    let git = branch_changing(&["apps/web/src/lib.rs", "packages/core/src/lib.rs"]);
    assert_eq!(
        filter_with(&git, &["{./apps/*}[origin/main]"]).unwrap(),
        ["web"]
    );
    assert_eq!(
        filter_with(&git, &["api{./apps/*}[origin/main]"]).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(filter_with(&git, &["c*[origin/main]"]).unwrap(), ["core"]);
}

#[test]
fn git_is_asked_once_per_range() {
    let git = branch_changing(&["apps/web/src/lib.rs"]);
    let found = filter_with(
        &git,
        &["[origin/main]", "...[origin/main]", "!api[origin/main]"],
    )
    .unwrap();
    assert_eq!(found, ["web"]);
    assert_eq!(git.calls().len(), 1, "{:?}", git.calls());
}

// ---------------------------------------------------------------------------
// Unions and exclusions

#[test]
fn several_filters_are_a_union() {
    assert_eq!(filter(&["web", "xtask-graph"]), ["web", "xtask-graph"]);
    assert_eq!(
        filter(&["web...", "./xtask/*"]),
        [
            "codegen",
            "core",
            "util",
            "web",
            "xtask-engine",
            "xtask-graph"
        ]
    );
    assert_eq!(filter(&["web", "web"]), ["web"]);
}

#[test]
fn exclusions_subtract_from_the_union() {
    assert_eq!(filter(&["./apps/*", "!web"]), ["api"]);
    // Order does not matter: exclusions apply after every inclusion.
    assert_eq!(filter(&["!web", "./apps/*"]), ["api"]);
    assert_eq!(filter(&["api...", "!./packages/*"]), ["api", "codegen"]);
    assert_eq!(filter(&["...core", "!...util"]), ["core", "testkit"]);
}

#[test]
fn only_exclusions_subtract_from_everything() {
    assert_eq!(
        filter(&["!xtask-*"]),
        ["api", "codegen", "core", "testkit", "util", "web"]
    );
    assert_eq!(filter(&["!...codegen", "!./xtask/*"]), Vec::<String>::new());
}

#[test]
fn excluding_changed_packages() {
    let git = branch_changing(&["apps/web/src/lib.rs"]);
    assert_eq!(
        filter_with(&git, &["./apps/*", "![origin/main]"]).unwrap(),
        ["api"]
    );
}

// ---------------------------------------------------------------------------
// Unknown names

#[test]
fn an_unknown_name_is_an_error_with_suggestions() {
    assert_eq!(
        filter_err(&["...utl"]),
        "`--filter ...utl`: no package is named `utl`\nhint: did you mean `util`? (`cargo xtask graph` lists the workspace's packages)"
    );
    // A transposition is one edit.
    assert!(filter_err(&["xtask-egnine"]).contains("did you mean `xtask-engine`?"));
    assert!(filter_err(&["xtask_graph"]).contains("did you mean `xtask-graph`?"));
    // Several close names, closest first.
    assert!(filter_err(&["xtask-grap"]).contains("did you mean `xtask-graph`?"));
    assert!(filter_err(&["cor"]).contains("did you mean `core`?"));
    assert_eq!(
        filter_err(&["deploy"]),
        "`--filter deploy`: no package is named `deploy`\nhint: `cargo xtask graph` lists the workspace's packages"
    );
    // Also in exclusions: `!tset` silently excluding nothing would hide a typo.
    assert!(filter_err(&["!testkti"]).contains("did you mean `testkit`?"));
}

#[test]
fn an_unknown_name_is_reported_before_git_is_asked() {
    let git = FakeGit {
        shallow: true,
        ..FakeGit::new()
    };
    let filters = ["utl...[origin/main]".to_string()];
    let err = apply_filters(&graph(), &filters, &git, &no_special).unwrap_err();
    assert!(matches!(err, ScopeError::UnknownPackage { .. }), "{err}");
    assert!(git.calls().is_empty());
}

#[test]
fn a_glob_matching_nothing_selects_nothing_with_a_warning() {
    let warnings = filter_warnings(&["web-*"]);
    assert!(
        warnings[0].starts_with(
            "`--filter web-*`: no package name matches `web-*`, so it selects nothing\nhint: "
        ),
        "{warnings:?}"
    );
}

#[test]
fn suggestions_rank_by_edit_distance_with_transpositions() {
    assert_eq!(edit_distance("core", "core"), 0);
    assert_eq!(edit_distance("croe", "core"), 1);
    assert_eq!(edit_distance("utl", "util"), 1);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(suggest("aip", ["api", "web", "apx"]), ["api"]);
    assert_eq!(
        suggest("utils", ["web", "utiles", "util"]),
        ["util", "utiles"]
    );
    assert_eq!(suggest("zzzz", ["api", "web"]), Vec::<String>::new());
    assert_eq!(
        did_you_mean(&["a".into(), "b".into(), "c".into()])
            .split(" (")
            .next(),
        Some("did you mean `a`, `b` or `c`?")
    );
}

// ---------------------------------------------------------------------------
// --affected

fn affected_by(git: &FakeGit, special: &SpecialFiles<'_>) -> Vec<String> {
    let graph = graph();
    let found = affected(&graph, "origin/main", "HEAD", git, special).unwrap();
    names(&graph, &found)
}

pub(super) fn no_special(_: &str, _: &Diff) -> Option<Vec<PackageIndex>> {
    None
}

#[test]
fn affected_leaf_edit_is_the_leaf_alone() {
    assert_eq!(
        affected_by(&branch_changing(&["apps/web/src/main.rs"]), &no_special),
        ["web"]
    );
}

#[test]
fn affected_hub_edit_reaches_every_dependent() {
    assert_eq!(
        affected_by(&branch_changing(&["packages/core/src/lib.rs"]), &no_special),
        ["api", "core", "testkit", "util", "web"]
    );
}

#[test]
fn affected_follows_dev_and_build_edges() {
    assert_eq!(
        affected_by(
            &branch_changing(&["packages/testkit/src/lib.rs"]),
            &no_special
        ),
        ["api", "testkit"]
    );
    assert_eq!(
        affected_by(&branch_changing(&["tools/codegen/build.rs"]), &no_special),
        ["api", "codegen", "core", "testkit", "util", "web"]
    );
}

#[test]
fn affected_by_a_file_outside_every_package_is_nothing() {
    assert_eq!(
        affected_by(
            &branch_changing(&["README.md", "docs/guide.md"]),
            &no_special
        ),
        Vec::<String>::new()
    );
}

#[test]
fn affected_by_special_files_is_what_the_caller_says() {
    let graph = graph();
    let util = graph.find("util").unwrap();
    let special = |file: &str, _: &Diff| -> Option<Vec<PackageIndex>> {
        match file {
            // The caller found that only util's resolved closure changed.
            "Cargo.lock" => Some(vec![util]),
            "Cargo.toml" | "rust-toolchain.toml" => Some((0..graph.packages.len()).collect()),
            // Claimed as affecting nothing, though it lies in a package.
            "apps/web/CHANGELOG.md" => Some(vec![]),
            _ => None,
        }
    };
    assert_eq!(
        affected_by(&branch_changing(&["Cargo.lock"]), &special),
        ["api", "util", "web"]
    );
    assert_eq!(
        affected_by(&branch_changing(&["rust-toolchain.toml"]), &special),
        ALL
    );
    assert_eq!(
        affected_by(&branch_changing(&["Cargo.toml", "README.md"]), &special),
        ALL
    );
    assert_eq!(
        affected_by(&branch_changing(&["apps/web/CHANGELOG.md"]), &special),
        Vec::<String>::new()
    );
}

#[test]
fn a_root_package_owns_root_files_but_special_files_come_first() {
    let graph = graph_of(&[
        ("root", "", &[("lib", DepKind::Normal)]),
        ("lib", "crates/lib", &[]),
        ("other", "crates/other", &[]),
    ]);
    let lib = graph.find("lib").unwrap();
    let special = |file: &str, _: &Diff| (file == "Cargo.lock").then(|| vec![lib]);
    let run = |files: &[&str]| {
        let found = affected(
            &graph,
            "origin/main",
            "HEAD",
            &branch_changing(files),
            &special,
        )
        .unwrap();
        names(&graph, &found)
    };
    assert_eq!(run(&["README.md"]), ["root"]);
    assert_eq!(run(&["crates/other/src/lib.rs"]), ["other"]);
    assert_eq!(run(&["crates/lib/src/lib.rs"]), ["lib", "root"]);
    assert_eq!(run(&["Cargo.lock"]), ["lib", "root"]);
}

#[test]
fn affected_uses_the_merge_base_and_passes_head_through() {
    let git = FakeGit::new().with_changes("main", "feature", &["apps/api/src/lib.rs"]);
    let graph = graph();
    let found = affected(&graph, "main", "feature", &git, &no_special).unwrap();
    assert_eq!(names(&graph, &found), ["api"]);
    assert_eq!(
        git.calls(),
        ["merge-base main feature", "diff mb(main,feature) feature"]
    );
}

// ---------------------------------------------------------------------------
// Missing history

fn affected_err(git: &FakeGit) -> ScopeError {
    affected(&graph(), "origin/main", "HEAD", git, &no_special).unwrap_err()
}

#[test]
fn a_shallow_clone_without_the_base_is_an_error_with_the_fix() {
    let git = FakeGit {
        shallow: true,
        ..FakeGit::new()
    };
    let err = affected_err(&git).to_string();
    assert_eq!(
        err,
        "this is a shallow clone and `origin/main` is not in its history, so the changed files cannot be computed (refusing to guess: that would run everything or nothing)\nhint: fetch the full history: `fetch-depth: 0` in actions/checkout, or `git fetch --unshallow` (and `git fetch origin <base-branch>` if the base branch was not cloned)"
    );
    // The same through a filter.
    let err = filter_with(&git, &["...[origin/main]"]).unwrap_err();
    assert!(matches!(err, ScopeError::ShallowClone { .. }), "{err}");
}

#[test]
fn a_shallow_clone_cut_before_the_branch_point_is_an_error() {
    let mut git = FakeGit {
        shallow: true,
        ..FakeGit::new().with_refs(&["origin/main"])
    };
    git.unrelated.insert(("origin/main".into(), "HEAD".into()));
    let err = affected_err(&git).to_string();
    assert!(
        err.starts_with("this is a shallow clone and the common ancestor of `origin/main` and `HEAD` is not in its history"),
        "{err}"
    );
    assert!(err.contains("`fetch-depth: 0`"), "{err}");
}

#[test]
fn a_missing_ref_in_a_full_clone_is_named() {
    let err = affected_err(&FakeGit::new()).to_string();
    assert!(
        err.starts_with("git ref `origin/main` does not exist\nhint: "),
        "{err}"
    );
    let err = filter_with(&FakeGit::new(), &["[v9]"])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("git ref `v9` does not exist"), "{err}");
}

#[test]
fn unrelated_histories_in_a_full_clone_say_so() {
    let mut git = FakeGit::new().with_refs(&["origin/main"]);
    git.unrelated.insert(("origin/main".into(), "HEAD".into()));
    assert!(matches!(
        affected_err(&git),
        ScopeError::Git(GitError::NoMergeBase { .. })
    ));
}

// ---------------------------------------------------------------------------
// Default base

fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn default_base_prefers_xtask_base_then_github_base_ref() {
    let git = FakeGit::new();
    let env = env_of(&[("XTASK_BASE", "v1.2"), ("GITHUB_BASE_REF", "main")]);
    assert_eq!(default_base(&git, &env).unwrap(), "v1.2");
    let env = env_of(&[("GITHUB_BASE_REF", "release/2")]);
    assert_eq!(default_base(&git, &env).unwrap(), "origin/release/2");
    // GitHub sets GITHUB_BASE_REF to "" outside pull requests.
    let git = git.with_refs(&["main"]);
    let env = env_of(&[("XTASK_BASE", ""), ("GITHUB_BASE_REF", "")]);
    assert_eq!(default_base(&git, &env).unwrap(), "mb(HEAD,main)");
    assert!(git.calls().iter().all(|c| !c.starts_with("diff")));
}

#[test]
fn default_base_is_the_merge_base_with_the_default_branch() {
    let none = env_of(&[]);
    let git = FakeGit {
        origin_head: Some("origin/trunk".into()),
        ..FakeGit::new().with_refs(&["origin/trunk", "main"])
    };
    assert_eq!(default_base(&git, &none).unwrap(), "mb(HEAD,origin/trunk)");
    let git = FakeGit::new().with_refs(&["origin/main", "master"]);
    assert_eq!(default_base(&git, &none).unwrap(), "mb(HEAD,origin/main)");
    let git = FakeGit::new().with_refs(&["master"]);
    assert_eq!(default_base(&git, &none).unwrap(), "mb(HEAD,master)");
}

#[test]
fn default_base_without_a_default_branch_is_an_error() {
    let none = env_of(&[]);
    let err = default_base(&FakeGit::new(), &none)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot find the default branch to compare with: none of `main`, `origin/main`, `master`, `origin/master` exists\nhint: pass `--base <ref>`"),
        "{err}"
    );
    let shallow = FakeGit {
        shallow: true,
        ..FakeGit::new()
    };
    let err = default_base(&shallow, &none).unwrap_err().to_string();
    assert!(
        err.starts_with("this is a shallow clone and the default branch (tried `main`"),
        "{err}"
    );
    assert!(err.contains("`fetch-depth: 0`"), "{err}");
}

#[test]
fn default_base_in_a_shallow_clone_cut_before_the_branch_point_is_an_error() {
    let mut git = FakeGit {
        shallow: true,
        ..FakeGit::new().with_refs(&["main"])
    };
    git.unrelated.insert(("HEAD".into(), "main".into()));
    let err = default_base(&git, &env_of(&[])).unwrap_err();
    assert!(matches!(err, ScopeError::ShallowClone { .. }), "{err}");
}
