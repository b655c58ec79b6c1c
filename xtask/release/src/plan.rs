//! The release plan, computed purely: the package graph, each package's last
//! release and the commits since it in; per package the next version and why
//! out. No I/O, no clock, no printing: the same input always gives the same
//! plan, so `--dry-run`, `plan` and a release agree.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use semver::Version;
use serde::Serialize;
use xtask_git::Commit;
use xtask_graph::DepKind;

use crate::config::ReleaseConfig;
use crate::conventional::{self, Change, Impact};
use crate::version::{self, Bump};

/// Where the release is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ReleaseBranch {
    /// The configured release branch: any bump.
    Main { name: String },
    /// `release/<major>.<minor>`: patch releases only.
    Hotfix {
        name: String,
        major: u64,
        minor: u64,
    },
}

impl ReleaseBranch {
    /// Classifies `branch` against the configured release branch; `None` when
    /// releases are not made from it.
    pub fn classify(branch: &str, config: &ReleaseConfig) -> Option<ReleaseBranch> {
        if branch == config.branch {
            return Some(ReleaseBranch::Main {
                name: branch.into(),
            });
        }
        let (major, minor) = branch.strip_prefix("release/")?.split_once('.')?;
        Some(ReleaseBranch::Hotfix {
            name: branch.into(),
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    pub fn name(&self) -> &str {
        match self {
            ReleaseBranch::Main { name } | ReleaseBranch::Hotfix { name, .. } => name,
        }
    }
}

/// A workspace dependency of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageDependency {
    pub package: usize,
    pub kind: DepKind,
}

/// What the plan needs to know about one package.
#[derive(Debug, Clone)]
pub struct PackageInput {
    pub name: String,
    /// The version in its manifest now.
    pub version: Version,
    /// Directory relative to the workspace root (`""` for the root package).
    pub dir: String,
    pub dependencies: Vec<PackageDependency>,
    /// False for `publish = false`.
    pub publish: bool,
    /// `version.workspace = true`: the version lives in the root manifest.
    pub shares_workspace_version: bool,
    /// Its newest release tag reachable from HEAD.
    pub last_release: Option<LastRelease>,
    /// Ids of the commits since that tag (every commit, whatever it touched).
    pub history: Vec<String>,
    /// The newest version its CHANGELOG.md lists, if it has one.
    pub changelog_latest: Option<Version>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastRelease {
    pub tag: String,
    pub version: Version,
}

/// Everything the plan is computed from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    /// Index-aligned with the package graph.
    pub packages: Vec<PackageInput>,
    /// Every commit some package's history names.
    pub commits: Vec<Commit>,
    pub config: ReleaseConfig,
    pub branch: ReleaseBranch,
    /// Every tag in the repository, reachable or not.
    pub existing_tags: BTreeSet<String>,
    /// What `cargo-semver-checks` found the public API needs, per package.
    pub api_checks: BTreeMap<usize, Bump>,
}

/// The plan: one entry per package, in graph order.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub branch: ReleaseBranch,
    pub packages: Vec<PackagePlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackagePlan {
    pub name: String,
    pub dir: String,
    pub current_version: Version,
    pub last_tag: Option<String>,
    /// `None`: nothing to release.
    pub next_version: Option<Version>,
    pub bump: Option<Bump>,
    /// The tag the release gets.
    pub tag: Option<String>,
    pub publish: bool,
    pub shares_workspace_version: bool,
    pub reasons: Vec<Reason>,
    /// Its own commits since the last release, oldest first.
    pub commits: Vec<PlannedCommit>,
    /// Workspace dependencies whose version this release moves to.
    pub dependency_updates: Vec<DependencyUpdate>,
}

impl PackagePlan {
    pub fn is_released(&self) -> bool {
        self.next_version.is_some()
    }
}

/// Why a package is released at the version it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// No release tag yet: the manifest's version is released as it is.
    FirstRelease,
    /// Its own commits: the strongest impact among them and how many count.
    Commits { impact: Impact, counted: usize },
    /// A normal or build dependency is released with a new version.
    Dependency {
        name: String,
        from: Version,
        to: Version,
        breaking: bool,
    },
    /// `workspace.package.version` is shared: released with the others.
    SharedVersion { with: Vec<String> },
    /// The manifest already has a higher version than the last tag.
    ManifestAhead { version: Version },
    /// cargo-semver-checks needs a bigger bump than the commits declare.
    ApiCheck {
        needed: Bump,
        declared: Option<Bump>,
    },
    /// On a hotfix branch a feature is released as a patch.
    HotfixCap { wanted: Bump },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCommit {
    pub id: String,
    pub change: Change,
    pub impact: Impact,
    /// Reverted by a later commit of the same release (or the revert of
    /// one): listed, not counted, not in the changelog.
    pub reverted: bool,
    pub author: String,
    pub co_authors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyUpdate {
    pub name: String,
    pub version: Version,
    pub kind: DepKind,
}

/// A release that must not be made, with what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "{package}: Cargo.toml has version {manifest}, older than its last release tag {tag}\nhint: set version = \"{tag_version}\" (or higher) in its Cargo.toml; versions never go backwards"
    )]
    ManifestBehindTag {
        package: String,
        manifest: String,
        tag: String,
        tag_version: String,
    },
    #[error(
        "{package}: the release would be {next}, but tag {tag} exists already\nhint: that version was released elsewhere (another branch?); fetch it (`git fetch --tags`) and release from its history, or set a higher version in Cargo.toml"
    )]
    TagExists {
        package: String,
        next: Version,
        tag: String,
    },
    #[error(
        "{package}: CHANGELOG.md lists version {version}, but no release tag of it is in this repository's history\nhint: fetch the tags (`git fetch --tags`; a CI checkout needs `fetch-depth: 0`), or tag that release's commit {tag_hint}"
    )]
    MissingTagHistory {
        package: String,
        version: Version,
        tag_hint: String,
    },
    #[error(
        "{package}: commit {commit} is a breaking change, and {branch} takes patch releases only\nhint: release it from the main release branch, or revert it on {branch}"
    )]
    BreakingOnHotfix {
        package: String,
        commit: String,
        branch: String,
    },
    #[error(
        "{package} is at {version}, but branch {branch} releases {major}.{minor}.x only\nhint: release {package} from a release/{}.{} branch, or from the main release branch", version.major, version.minor
    )]
    HotfixBranchMismatch {
        package: String,
        version: Version,
        branch: String,
        major: u64,
        minor: u64,
    },
    #[error(
        "{package}: version {version} is a pre-release, which release plans do not handle\nhint: set a release version (x.y.z) in its Cargo.toml"
    )]
    PreRelease { package: String, version: Version },
}

/// The tag of `package`'s release `version`: `<package>-v<version>`, or
/// `v<version>` in a workspace of one package.
pub fn tag_name(package: &str, version: &Version, single_package: bool) -> String {
    if single_package {
        format!("v{version}")
    } else {
        format!("{package}-v{version}")
    }
}

/// The glob matching `package`'s release tags, and how to read a version
/// back from a tag name.
pub fn tag_pattern(package: &str, single_package: bool) -> String {
    if single_package {
        "v*".into()
    } else {
        format!("{package}-v*")
    }
}

/// The version in a release tag of `package`, if `tag` is one.
pub fn version_of_tag(tag: &str, package: &str, single_package: bool) -> Option<Version> {
    let rest = if single_package {
        tag.strip_prefix('v')?
    } else {
        tag.strip_prefix(package)?.strip_prefix("-v")?
    };
    Version::parse(rest)
        .ok()
        .filter(|v| v.pre.is_empty() && v.build.is_empty())
}

/// The component that differs first between `base` and `next`.
fn bump_between(base: &Version, next: &Version) -> Option<Bump> {
    if next.major != base.major {
        Some(Bump::Major)
    } else if next.minor != base.minor {
        Some(Bump::Minor)
    } else if next.patch != base.patch {
        Some(Bump::Patch)
    } else {
        None
    }
}

/// Computes the plan.
pub fn plan(input: &PlanInput) -> Result<Plan, PlanError> {
    let single = input.packages.len() == 1;
    let by_id: HashMap<&str, &Commit> = input.commits.iter().map(|c| (c.id.as_str(), c)).collect();
    let owners = Owners::new(&input.packages);
    let mut states = Vec::with_capacity(input.packages.len());
    for (index, package) in input.packages.iter().enumerate() {
        states.push(own_state(input, index, package, &by_id, &owners)?);
    }
    propagate(input, &mut states);
    let mut packages = Vec::new();
    for (package, state) in input.packages.iter().zip(states) {
        packages.push(finish(input, package, state, single)?);
    }
    // Every dependency whose version moves, dev-dependencies included: their
    // requirements are rewritten even where they do not cause a release.
    let moved: Vec<Option<Version>> = packages
        .iter()
        .map(|p| p.next_version.clone().filter(|v| *v != p.current_version))
        .collect();
    for (package, plan) in input.packages.iter().zip(packages.iter_mut()) {
        plan.dependency_updates = package
            .dependencies
            .iter()
            .filter_map(|dep| {
                Some(DependencyUpdate {
                    name: input.packages[dep.package].name.clone(),
                    version: moved[dep.package].clone()?,
                    kind: dep.kind,
                })
            })
            .collect();
    }
    Ok(Plan {
        branch: input.branch.clone(),
        packages,
    })
}

/// Which package owns a path: the one with the deepest directory holding it.
struct Owners {
    dirs: Vec<String>,
}

impl Owners {
    fn new(packages: &[PackageInput]) -> Owners {
        Owners {
            dirs: packages.iter().map(|p| p.dir.clone()).collect(),
        }
    }

    fn owner(&self, path: &str) -> Option<usize> {
        self.dirs
            .iter()
            .enumerate()
            .filter(|(_, dir)| xtask_graph::is_within(path, dir))
            .max_by_key(|(_, dir)| dir.len())
            .map(|(i, _)| i)
    }
}

/// A package's release as its own commits make it, before dependencies and
/// shared versions are taken into account.
struct State {
    base: Version,
    first_release: bool,
    own_bump: Option<Bump>,
    bump: Option<Bump>,
    next: Option<Version>,
    reasons: Vec<Reason>,
    commits: Vec<PlannedCommit>,
}

fn own_state(
    input: &PlanInput,
    index: usize,
    package: &PackageInput,
    by_id: &HashMap<&str, &Commit>,
    owners: &Owners,
) -> Result<State, PlanError> {
    if !package.version.pre.is_empty() {
        return Err(PlanError::PreRelease {
            package: package.name.clone(),
            version: package.version.clone(),
        });
    }
    let commits = own_commits(input, index, package, by_id, owners);

    let mut reasons = Vec::new();
    let counted: Vec<&PlannedCommit> = commits.iter().filter(|c| !c.reverted).collect();
    let mut impact = counted
        .iter()
        .map(|c| c.impact)
        .max()
        .unwrap_or(Impact::None);
    if let ReleaseBranch::Hotfix { name, .. } = &input.branch
        && let Some(c) = counted.iter().find(|c| c.impact == Impact::Breaking)
    {
        return Err(PlanError::BreakingOnHotfix {
            package: package.name.clone(),
            commit: format!("{} ({})", &c.id[..c.id.len().min(7)], c.change.description),
            branch: name.clone(),
        });
    }
    let (base, first_release) = match &package.last_release {
        Some(last) => (last.version.clone(), false),
        None => (package.version.clone(), true),
    };
    if impact > Impact::None {
        reasons.push(Reason::Commits {
            impact,
            counted: counted.iter().filter(|c| c.impact > Impact::None).count(),
        });
    }
    if matches!(input.branch, ReleaseBranch::Hotfix { .. }) && impact == Impact::Feature {
        if let Some(wanted) = version::bump_for(&base, impact).filter(|b| *b > Bump::Patch) {
            reasons.push(Reason::HotfixCap { wanted });
        }
        impact = Impact::Fix;
    }
    let mut own_bump = version::bump_for(&base, impact);
    if let Some(&needed) = input.api_checks.get(&index)
        && own_bump.is_none_or(|b| b < needed)
    {
        reasons.push(Reason::ApiCheck {
            needed,
            declared: own_bump,
        });
        own_bump = Some(needed);
    }
    Ok(State {
        base,
        first_release,
        own_bump,
        bump: own_bump,
        next: None,
        reasons,
        commits,
    })
}

/// The package's own commits since its last release, oldest first, parsed.
/// A commit counts for the package whose files it touched; merges touch
/// nothing themselves (what they merge is listed through their parents).
fn own_commits(
    input: &PlanInput,
    index: usize,
    package: &PackageInput,
    by_id: &HashMap<&str, &Commit>,
    owners: &Owners,
) -> Vec<PlannedCommit> {
    let mut own: Vec<&Commit> = package
        .history
        .iter()
        .filter_map(|id| by_id.get(id.as_str()).copied())
        .filter(|c| !c.is_merge() && c.files.iter().any(|f| owners.owner(f) == Some(index)))
        .collect();
    own.reverse();
    let mut commits: Vec<PlannedCommit> = own
        .iter()
        .map(|c| {
            let change = conventional::parse(&c.message);
            PlannedCommit {
                id: c.id.clone(),
                impact: change.impact(input.config.non_conventional),
                change,
                reverted: false,
                author: c.author.name.clone(),
                co_authors: conventional::co_authors(&c.message),
            }
        })
        .collect();
    mark_reverted_pairs(&mut commits);
    commits
}

/// A revert and the commit it reverts, both in this release, cancel out.
fn mark_reverted_pairs(commits: &mut [PlannedCommit]) {
    let pairs: Vec<(usize, usize)> = commits
        .iter()
        .enumerate()
        .filter_map(|(r, c)| {
            let target = c.change.reverts.as_deref()?;
            let t = commits
                .iter()
                .position(|o| o.id.starts_with(target) && !o.reverted)?;
            Some((r, t))
        })
        .collect();
    for (r, t) in pairs {
        commits[r].reverted = true;
        commits[t].reverted = true;
    }
}

/// Dependencies' releases and shared workspace versions, to a fixed point:
/// versions only grow, so this ends.
fn propagate(input: &PlanInput, states: &mut [State]) {
    let order = topological(&input.packages);
    for _ in 0..=input.packages.len() + 1 {
        let before: Vec<Option<Version>> = states.iter().map(|s| s.next.clone()).collect();
        for &i in &order {
            let package = &input.packages[i];
            let mut bump = states[i].own_bump;
            let mut dependency_reasons = Vec::new();
            for dep in package
                .dependencies
                .iter()
                .filter(|d| d.kind != DepKind::Dev)
            {
                let from = &input.packages[dep.package].version;
                let Some(to) = states[dep.package].next.clone().filter(|to| to != from) else {
                    continue;
                };
                let breaking = !version::compatible(from, &to);
                let impact = if breaking {
                    input.config.dependency_breaking
                } else {
                    Impact::Fix
                };
                let mut dep_bump = version::bump_for(&states[i].base, impact);
                if matches!(input.branch, ReleaseBranch::Hotfix { .. }) {
                    dep_bump = dep_bump.map(|_| Bump::Patch);
                }
                bump = bump.max(dep_bump);
                dependency_reasons.push(Reason::Dependency {
                    name: input.packages[dep.package].name.clone(),
                    from: from.clone(),
                    to,
                    breaking,
                });
            }
            let state = &mut states[i];
            state
                .reasons
                .retain(|r| !matches!(r, Reason::Dependency { .. }));
            state.reasons.extend(dependency_reasons);
            state.bump = bump;
            let computed = if state.first_release {
                Some(package.version.clone())
            } else {
                bump.map(|b| version::apply(&state.base, b))
            };
            // A version set by hand above the last tag is kept.
            let ahead = (!state.first_release && package.version > state.base)
                .then(|| package.version.clone());
            let shared = state
                .next
                .clone()
                .filter(|_| package.shares_workspace_version);
            state.next = [computed, ahead, shared].into_iter().flatten().max();
        }
        share_workspace_version(input, states);
        if states.iter().map(|s| s.next.clone()).eq(before) {
            break;
        }
    }
    for (package, state) in input.packages.iter().zip(states.iter_mut()) {
        if let Some(next) = &state.next
            && !state.first_release
            && package.version > state.base
            && *next == package.version
        {
            state.reasons.push(Reason::ManifestAhead {
                version: next.clone(),
            });
        }
    }
}

/// Members of `workspace.package.version` share one version: when one is
/// released, all are, at the highest version any of them needs.
fn share_workspace_version(input: &PlanInput, states: &mut [State]) {
    let members: Vec<usize> = (0..input.packages.len())
        .filter(|&i| input.packages[i].shares_workspace_version)
        .collect();
    let Some(top) = members.iter().filter_map(|&i| states[i].next.clone()).max() else {
        return;
    };
    for &i in &members {
        if states[i].next.as_ref() != Some(&top) {
            let with = members
                .iter()
                .filter(|&&j| j != i && states[j].next.as_ref() == Some(&top))
                .map(|&j| input.packages[j].name.clone())
                .collect();
            states[i]
                .reasons
                .retain(|r| !matches!(r, Reason::SharedVersion { .. }));
            states[i].reasons.push(Reason::SharedVersion { with });
            states[i].next = Some(top.clone());
        }
    }
}

/// Packages with their normal and build dependencies first.
fn topological(packages: &[PackageInput]) -> Vec<usize> {
    fn visit(i: usize, packages: &[PackageInput], seen: &mut [bool], order: &mut Vec<usize>) {
        if std::mem::replace(&mut seen[i], true) {
            return;
        }
        for dep in packages[i]
            .dependencies
            .iter()
            .filter(|d| d.kind != DepKind::Dev)
        {
            visit(dep.package, packages, seen, order);
        }
        order.push(i);
    }
    let mut seen = vec![false; packages.len()];
    let mut order = Vec::new();
    for i in 0..packages.len() {
        visit(i, packages, &mut seen, &mut order);
    }
    order
}

fn finish(
    input: &PlanInput,
    package: &PackageInput,
    mut state: State,
    single: bool,
) -> Result<PackagePlan, PlanError> {
    let name = package.name.clone();
    if let Some(last) = &package.last_release {
        if package.version < last.version {
            return Err(PlanError::ManifestBehindTag {
                package: name,
                manifest: package.version.to_string(),
                tag: last.tag.clone(),
                tag_version: last.version.to_string(),
            });
        }
    } else if let Some(listed) = &package.changelog_latest {
        return Err(PlanError::MissingTagHistory {
            tag_hint: tag_name(&name, listed, single),
            package: name,
            version: listed.clone(),
        });
    }
    if state.first_release && state.next.is_some() {
        state.reasons.insert(0, Reason::FirstRelease);
    }
    let tag = state.next.as_ref().map(|v| tag_name(&name, v, single));
    if let (Some(tag), Some(next)) = (&tag, &state.next) {
        if input.existing_tags.contains(tag) {
            return Err(PlanError::TagExists {
                package: name,
                next: next.clone(),
                tag: tag.clone(),
            });
        }
        if let ReleaseBranch::Hotfix {
            name: branch,
            major,
            minor,
        } = &input.branch
            && (next.major != *major || next.minor != *minor)
        {
            return Err(PlanError::HotfixBranchMismatch {
                package: name,
                version: state.base.clone(),
                branch: branch.clone(),
                major: *major,
                minor: *minor,
            });
        }
    }
    Ok(PackagePlan {
        name,
        dir: package.dir.clone(),
        current_version: package.version.clone(),
        last_tag: package.last_release.as_ref().map(|l| l.tag.clone()),
        bump: state
            .next
            .as_ref()
            .and_then(|next| bump_between(&state.base, next)),
        next_version: state.next,
        tag,
        publish: package.publish,
        shares_workspace_version: package.shares_workspace_version,
        reasons: state.reasons,
        commits: state.commits,
        dependency_updates: Vec::new(),
    })
}
