//! The pure plan on hand-made inputs: the cases a scripted repository makes
//! awkward (nested and root packages, API checks, hand-set versions).

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;
use xtask_git::{Commit, Person};
use xtask_graph::DepKind;
use xtask_release::config::ReleaseConfig;
use xtask_release::plan::{
    LastRelease, PackageDependency, PackageInput, PlanError, PlanInput, Reason, ReleaseBranch, plan,
};
use xtask_release::version::Bump;

fn package(name: &str, dir: &str, version: &str, tagged: Option<&str>) -> PackageInput {
    PackageInput {
        name: name.into(),
        version: Version::parse(version).unwrap(),
        dir: dir.into(),
        dependencies: Vec::new(),
        publish: true,
        shares_workspace_version: false,
        last_release: tagged.map(|v| LastRelease {
            tag: format!("{name}-v{v}"),
            version: Version::parse(v).unwrap(),
        }),
        history: Vec::new(),
        changelog_latest: None,
    }
}

fn commit(n: u8, message: &str, files: &[&str]) -> Commit {
    Commit {
        id: format!("{n:02x}").repeat(20),
        parents: vec!["00".repeat(20)],
        author: Person {
            name: "Ann".into(),
            email: "ann@x".into(),
        },
        time: 0,
        message: message.into(),
        files: files.iter().map(|f| f.to_string()).collect(),
    }
}

/// Every package sees every commit (one range).
fn input(mut packages: Vec<PackageInput>, commits: Vec<Commit>) -> PlanInput {
    for p in &mut packages {
        p.history = commits.iter().rev().map(|c| c.id.clone()).collect();
    }
    PlanInput {
        packages,
        commits,
        config: ReleaseConfig::default(),
        branch: ReleaseBranch::Main {
            name: "main".into(),
        },
        existing_tags: BTreeSet::new(),
        api_checks: BTreeMap::new(),
    }
}

fn next_versions(input: &PlanInput) -> Vec<String> {
    plan(input)
        .unwrap()
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p.name,
                p.next_version
                    .as_ref()
                    .map_or("-".into(), |v| v.to_string())
            )
        })
        .collect()
}

#[test]
fn files_belong_to_the_deepest_package_and_root_files_to_a_root_package() {
    let packages = vec![
        package("root", "", "1.0.0", Some("1.0.0")),
        package("outer", "crates/outer", "1.0.0", Some("1.0.0")),
        package("inner", "crates/outer/inner", "1.0.0", Some("1.0.0")),
    ];
    let only_inner = input(
        packages.clone(),
        vec![commit(1, "fix: inner", &["crates/outer/inner/src/lib.rs"])],
    );
    assert_eq!(
        next_versions(&only_inner),
        ["root -", "outer -", "inner 1.0.1"]
    );
    let readme = input(packages, vec![commit(1, "feat: readme", &["README.md"])]);
    assert_eq!(next_versions(&readme), ["root 1.1.0", "outer -", "inner -"]);
}

#[test]
fn a_dev_dependency_release_does_not_release_the_dependent() {
    let mut app = package("app", "app", "1.0.0", Some("1.0.0"));
    app.dependencies.push(PackageDependency {
        package: 1,
        kind: DepKind::Dev,
    });
    let kit = package("kit", "kit", "1.0.0", Some("1.0.0"));
    let case = input(
        vec![app, kit],
        vec![commit(1, "feat!: new kit", &["kit/src/lib.rs"])],
    );
    let planned = plan(&case).unwrap();
    assert_eq!(next_versions(&case), ["app -", "kit 2.0.0"]);
    // Its requirement still moves.
    assert_eq!(
        planned.packages[0].dependency_updates[0].version,
        Version::new(2, 0, 0)
    );
}

#[test]
fn a_version_set_by_hand_above_the_tag_is_kept() {
    let case = input(
        vec![package("a", "a", "1.5.0", Some("1.2.0"))],
        vec![commit(1, "fix: x", &["a/x"])],
    );
    let planned = plan(&case).unwrap();
    assert_eq!(
        planned.packages[0].next_version,
        Some(Version::new(1, 5, 0))
    );
    assert!(
        planned.packages[0]
            .reasons
            .contains(&Reason::ManifestAhead {
                version: Version::new(1, 5, 0)
            })
    );
}

#[test]
fn an_api_check_raises_an_under_declared_bump_and_says_so() {
    let mut case = input(
        vec![package("a", "a", "1.2.0", Some("1.2.0"))],
        vec![commit(1, "fix: x", &["a/x"])],
    );
    case.api_checks.insert(0, Bump::Major);
    let planned = plan(&case).unwrap();
    assert_eq!(
        planned.packages[0].next_version,
        Some(Version::new(2, 0, 0))
    );
    assert!(planned.packages[0].reasons.contains(&Reason::ApiCheck {
        needed: Bump::Major,
        declared: Some(Bump::Patch)
    }));
    // Enough declared: no note.
    case.api_checks.insert(0, Bump::Patch);
    assert!(
        !plan(&case).unwrap().packages[0]
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::ApiCheck { .. }))
    );
}

#[test]
fn refusals() {
    let pre = input(vec![package("a", "a", "1.0.0-rc.1", None)], vec![]);
    assert!(matches!(plan(&pre), Err(PlanError::PreRelease { .. })));

    let mut hotfix = input(
        vec![package("a", "a", "1.2.3", Some("1.2.3"))],
        vec![commit(1, "fix: x", &["a/x"])],
    );
    hotfix.branch = ReleaseBranch::Hotfix {
        name: "release/1.0".into(),
        major: 1,
        minor: 0,
    };
    let err = plan(&hotfix).unwrap_err().to_string();
    assert_eq!(
        err,
        "a is at 1.2.3, but branch release/1.0 releases 1.0.x only\nhint: release a from a release/1.2 branch, or from the main release branch"
    );

    let mut listed = input(vec![package("a", "a", "1.0.0", None)], vec![]);
    listed.packages[0].changelog_latest = Some(Version::new(1, 0, 0));
    assert!(matches!(
        plan(&listed),
        Err(PlanError::MissingTagHistory { .. })
    ));
}

#[test]
fn merges_count_through_their_parents_only() {
    let mut merge = commit(2, "Merge branch 'x'", &[]);
    merge.parents.push("01".repeat(20));
    let case = input(
        vec![package("a", "a", "1.0.0", Some("1.0.0"))],
        vec![commit(1, "docs: x", &["a/x"]), merge],
    );
    let planned = plan(&case).unwrap();
    assert_eq!(planned.packages[0].commits.len(), 1);
    assert_eq!(planned.packages[0].next_version, None);
}
