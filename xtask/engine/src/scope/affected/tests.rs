//! `--affected`, missing history and the default base against the
//! fixtures' graph and fake git.

use xtask_git::GitError;
use xtask_graph::{DepKind, PackageIndex};

use super::*;
use crate::scope::fixtures::*;

// ---------------------------------------------------------------------------
// --affected

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

#[test]
fn a_given_base_is_compared_with_as_it_is() {
    // The environment's defaults (XTASK_BASE, GITHUB_BASE_REF) are the cli's:
    // they arrive here as a given base (see xtask/cli's scope_args.rs).
    let git = FakeGit::new().with_refs(&["v1.2"]);
    let range = AffectedRange {
        base: Base::Given("v1.2".into()),
        head: "HEAD".into(),
    };
    let found = range.resolve(&graph(), &git, &no_special).unwrap();
    assert_eq!(found.base, "v1.2");
    assert_eq!(git.calls()[0], "merge-base v1.2 HEAD");
}

#[test]
fn no_base_is_the_branch_point_of_the_default_branch() {
    // The fake names merge-bases `mb(a,b)`; a real merge-base of the
    // branch point and HEAD is the branch point itself.
    let git = FakeGit::new()
        .with_refs(&["main", "mb(HEAD,main)"])
        .with_working_tree_changes("mb(mb(HEAD,main),HEAD)", &["apps/web/src/lib.rs"]);
    assert_eq!(default_base(&git).unwrap(), "mb(HEAD,main)");
    assert!(git.calls().iter().all(|c| !c.starts_with("diff")));
    let range = AffectedRange {
        base: Base::DefaultBranch,
        head: "HEAD".into(),
    };
    let found = range.resolve(&graph(), &git, &no_special).unwrap();
    assert_eq!(found.base, "mb(HEAD,main)");
    assert_eq!(names(&graph(), &found.packages), ["web"]);
}

#[test]
fn a_scope_is_the_filters_selection_among_the_affected_packages() {
    let git = branch_changing(&["packages/core/src/lib.rs"]);
    let graph = graph();
    let affected = Some(AffectedRange {
        base: Base::Given("origin/main".into()),
        head: "HEAD".into(),
    });
    let scope = |filters: &[&str]| {
        let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
        crate::scope::Scope::parse(&filters, affected.clone()).unwrap()
    };
    let select = |filters: &[&str]| {
        let found = crate::scope::select(&graph, &scope(filters), &git, &no_special).unwrap();
        (names(&graph, &found.packages), found.warnings.len())
    };
    assert_eq!(select(&[]).0, ["api", "core", "testkit", "util", "web"]);
    assert_eq!(select(&["./apps/*"]), (vec!["api".into(), "web".into()], 0));
    // The filters' warnings survive the intersection.
    assert_eq!(select(&["./apps/*", "./nowhere/*"]).1, 1);
    assert_eq!(
        select(&["xtask-*"]).0,
        Vec::<String>::new(),
        "unchanged packages stay out"
    );
}

#[test]
fn default_base_is_the_merge_base_with_the_default_branch() {
    let git = FakeGit {
        origin_head: Some("origin/trunk".into()),
        ..FakeGit::new().with_refs(&["origin/trunk", "main"])
    };
    assert_eq!(default_base(&git).unwrap(), "mb(HEAD,origin/trunk)");
    let git = FakeGit::new().with_refs(&["origin/main", "master"]);
    assert_eq!(default_base(&git).unwrap(), "mb(HEAD,origin/main)");
    let git = FakeGit::new().with_refs(&["master"]);
    assert_eq!(default_base(&git).unwrap(), "mb(HEAD,master)");
}

#[test]
fn default_base_without_a_default_branch_is_an_error() {
    let err = default_base(&FakeGit::new()).unwrap_err().to_string();
    assert!(
        err.starts_with("cannot find the default branch to compare with: none of `main`, `origin/main`, `master`, `origin/master` exists\nhint: pass `--base <ref>`"),
        "{err}"
    );
    let shallow = FakeGit {
        shallow: true,
        ..FakeGit::new()
    };
    let err = default_base(&shallow).unwrap_err().to_string();
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
    let err = default_base(&git).unwrap_err();
    assert!(matches!(err, ScopeError::ShallowClone { .. }), "{err}");
}
