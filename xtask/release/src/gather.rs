//! What a plan is computed from, read from the repository: each package's
//! manifest facts, last release tag, commits since it and changelog; the
//! branch; every tag. All reads, no writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use semver::Version;
use xtask_git::{Branch, Commit, Range, Repo};
use xtask_graph::PackageGraph;

use crate::config::ReleaseConfig;
use crate::plan::{self, LastRelease, PackageDependency, PackageInput, PlanInput, ReleaseBranch};
use crate::{ReleaseError, changelog, manifest, semver_checks};

/// How strict the reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `release plan`: any branch, detached HEAD too (a preview).
    Preview,
    /// `release` and its `--dry-run`: the release branch or a hotfix branch.
    Release,
}

/// Reads the repository into a [`PlanInput`].
pub fn gather(
    graph: &PackageGraph,
    config: &ReleaseConfig,
    repo: &Repo,
    purpose: Purpose,
) -> Result<PlanInput, ReleaseError> {
    if repo.is_shallow()? {
        return Err(ReleaseError::ShallowHistory);
    }
    let branch = release_branch(repo, config, purpose)?;
    let root = graph.root.as_path();
    let root_manifest = read(root, "Cargo.toml")?;
    let single = graph.packages.len() == 1;
    let mut commits: HashMap<String, Commit> = HashMap::new();
    let mut logs: HashMap<Range, Vec<String>> = HashMap::new();
    let mut packages = Vec::new();
    for package in &graph.packages {
        let text = read(root, &package.manifest)?;
        let facts = manifest::facts(&text, &package.manifest, &root_manifest)?;
        let version = Version::parse(&package.version).map_err(|e| ReleaseError::BadVersion {
            package: package.name.clone(),
            version: package.version.clone(),
            problem: e.to_string(),
        })?;
        let last = last_release(repo, &package.name, single)?;
        let range = Range::since(last.as_ref().map(|(_, commit)| commit.as_str()), "HEAD");
        if !logs.contains_key(&range) {
            let log = repo.log(&range)?;
            let ids = log.iter().map(|c| c.id.clone()).collect();
            for c in log {
                commits.entry(c.id.clone()).or_insert(c);
            }
            logs.insert(range.clone(), ids);
        }
        let changelog_path = changelog_path(&package.dir);
        let changelog_latest = match std::fs::read_to_string(root.join(&changelog_path)) {
            Ok(text) => changelog::versions(&text).into_iter().max(),
            Err(_) => None,
        };
        packages.push(PackageInput {
            name: package.name.clone(),
            version,
            dir: package.dir.clone(),
            dependencies: package
                .dependencies
                .iter()
                .map(|d| PackageDependency {
                    package: d.package,
                    kind: d.kind,
                })
                .collect(),
            publish: facts.publish,
            shares_workspace_version: facts.version_from_workspace,
            last_release: last.map(|(release, _)| release),
            history: logs[&range].clone(),
            changelog_latest,
        });
    }
    let existing_tags: BTreeSet<String> =
        repo.tags("*", None)?.into_iter().map(|t| t.name).collect();
    let api_checks = api_checks(root, &packages);
    let mut commits: Vec<Commit> = commits.into_values().collect();
    commits.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(PlanInput {
        packages,
        commits,
        config: config.clone(),
        branch,
        existing_tags,
        api_checks,
    })
}

/// What cargo-semver-checks, when installed, says each published package's
/// API change since its last release needs.
fn api_checks(root: &Path, packages: &[PackageInput]) -> BTreeMap<usize, crate::version::Bump> {
    let mut api_checks = BTreeMap::new();
    if !semver_checks::installed() {
        return api_checks;
    }
    for (i, p) in packages.iter().enumerate() {
        if let Some(last) = p.last_release.as_ref().filter(|_| p.publish)
            && let Some(needed) = semver_checks::required_bump(root, &p.name, &last.tag)
        {
            api_checks.insert(i, needed);
        }
    }
    api_checks
}

/// Where a package's changelog lives.
pub fn changelog_path(dir: &str) -> String {
    if dir.is_empty() {
        "CHANGELOG.md".into()
    } else {
        format!("{dir}/CHANGELOG.md")
    }
}

fn read(root: &Path, path: &str) -> Result<String, ReleaseError> {
    std::fs::read_to_string(root.join(path)).map_err(|source| ReleaseError::Io {
        path: path.to_string(),
        source,
    })
}

fn release_branch(
    repo: &Repo,
    config: &ReleaseConfig,
    purpose: Purpose,
) -> Result<ReleaseBranch, ReleaseError> {
    let name = match repo.current_branch()? {
        Branch::Named(name) => name,
        Branch::Detached if purpose == Purpose::Preview => "HEAD".into(),
        Branch::Detached => {
            return Err(ReleaseError::DetachedHead {
                branch: config.branch.clone(),
            });
        }
    };
    match ReleaseBranch::classify(&name, config) {
        Some(branch) => Ok(branch),
        None if purpose == Purpose::Preview => Ok(ReleaseBranch::Main { name }),
        None => Err(ReleaseError::WrongBranch {
            branch: name,
            expected: config.branch.clone(),
        }),
    }
}

/// The newest release tag of `package` that HEAD contains, and its commit.
fn last_release(
    repo: &Repo,
    package: &str,
    single: bool,
) -> Result<Option<(LastRelease, String)>, ReleaseError> {
    let tags = repo.tags(&plan::tag_pattern(package, single), Some("HEAD"))?;
    Ok(tags
        .into_iter()
        .filter_map(|t| {
            let version = plan::version_of_tag(&t.name, package, single)?;
            Some((
                LastRelease {
                    tag: t.name,
                    version,
                },
                t.commit,
            ))
        })
        .max_by(|a, b| a.0.version.cmp(&b.0.version)))
}
