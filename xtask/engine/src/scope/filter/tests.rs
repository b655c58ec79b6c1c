//! `--filter`'s parser and rules against the fixtures' graph and fake git.

use xtask_graph::DepKind;

use super::*;
use crate::scope::affected;
use crate::scope::fixtures::*;
use xtask_toolbox::suggest::edit_distance;

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
            Filter {
                name: name("api"),
                ..Default::default()
            },
        ),
        (
            "xtask-*",
            Filter {
                name: name("xtask-*"),
                ..Default::default()
            },
        ),
        (
            "api...",
            Filter {
                name: name("api"),
                with_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "...core",
            Filter {
                name: name("core"),
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "...util...",
            Filter {
                name: name("util"),
                with_dependencies: true,
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "api^...",
            Filter {
                name: name("api"),
                with_dependencies: true,
                exclude_self: true,
                ..Default::default()
            },
        ),
        (
            "...^core",
            Filter {
                name: name("core"),
                with_dependents: true,
                exclude_self: true,
                ..Default::default()
            },
        ),
        (
            "./apps/*",
            Filter {
                dir: dir("apps/*"),
                ..Default::default()
            },
        ),
        (
            "{./apps/*}",
            Filter {
                dir: dir("apps/*"),
                ..Default::default()
            },
        ),
        (
            "{apps/*}",
            Filter {
                dir: dir("apps/*"),
                ..Default::default()
            },
        ),
        (
            ".",
            Filter {
                dir: dir(""),
                ..Default::default()
            },
        ),
        (
            "...{./packages/core}",
            Filter {
                dir: dir("packages/core"),
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "[origin/main]",
            Filter {
                range: range("origin/main", None),
                ..Default::default()
            },
        ),
        (
            "[HEAD^1]",
            Filter {
                range: range("HEAD^1", None),
                ..Default::default()
            },
        ),
        (
            "[main...feature]",
            Filter {
                range: range("main", Some("feature")),
                ..Default::default()
            },
        ),
        (
            "...[origin/main]",
            Filter {
                range: range("origin/main", None),
                with_dependents: true,
                ..Default::default()
            },
        ),
        (
            "[origin/main]...",
            Filter {
                range: range("origin/main", None),
                with_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "...[a...b]...",
            Filter {
                range: range("a", Some("b")),
                with_dependents: true,
                with_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "api{./apps/*}[main]",
            Filter {
                name: name("api"),
                dir: dir("apps/*"),
                range: range("main", None),
                ..Default::default()
            },
        ),
        (
            "api...[main]",
            Filter {
                name: name("api"),
                range: range("main", None),
                match_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "{./apps/*}...[main]",
            Filter {
                dir: dir("apps/*"),
                range: range("main", None),
                match_dependencies: true,
                ..Default::default()
            },
        ),
        (
            "!web",
            Filter {
                name: name("web"),
                exclude: true,
                ..Default::default()
            },
        ),
        (
            "!./apps/*",
            Filter {
                dir: dir("apps/*"),
                exclude: true,
                ..Default::default()
            },
        ),
        (
            "!...core",
            Filter {
                name: name("core"),
                exclude: true,
                with_dependents: true,
                ..Default::default()
            },
        ),
    ];
    for (raw, want) in cases {
        let want = Filter {
            raw: raw.to_string(),
            ..want
        };
        assert_eq!(Filter::parse(raw).unwrap(), want, "{raw}");
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
    // A scope is parsed whole before selection, and parsing has no git to ask.
    let filters = ["[origin/main]".to_string(), "a b".to_string()];
    let err = crate::scope::Scope::parse(&filters, None).unwrap_err();
    assert!(
        matches!(&err, ScopeError::BadFilter { filter, .. } if filter == "a b"),
        "{err}"
    );
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
            &apply_filters(
                &graph,
                &parse_all(&[f]).unwrap(),
                &FakeGit::new(),
                &no_special,
            )
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
        let found = apply_filters(
            &graph,
            &parse_all(&[f]).unwrap(),
            &FakeGit::new(),
            &no_special,
        );
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
    let filters = parse_all(&["[origin/main]"]).unwrap();
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
    let filters = parse_all(&["[origin/main]", "[v1...v2]"]).unwrap();
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
    let filters = parse_all(&["utl...[origin/main]"]).unwrap();
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
