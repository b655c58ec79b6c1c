//! Releases from Conventional Commits: which packages to release at which
//! version and why ([`plan`], pure: commits and the package graph in, a plan
//! out), the changelog text, the manifest edits, and making the release
//! (commit, tags holding release records, `cargo publish`). Never prints:
//! callers show the plan and the events.
//!
//! Reading the repository goes through `xtask-git` ([`gather`]); writing it
//! through [`apply`].

pub mod apply;
pub mod changelog;
pub mod config;
pub mod conventional;
pub mod date;
pub mod gather;
pub mod links;
pub mod manifest;
pub mod plan;
pub mod publish;
pub mod record;
pub mod semver_checks;
pub mod version;

pub use config::ReleaseConfig;
pub use plan::{Plan, PlanInput, plan};

/// Why a release cannot be planned or made. Every variant but `Git`, `Io`
/// and `CargoUpdate` is a user's mistake (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Git(#[from] xtask_git::GitError),
    /// Boxed: the plan's errors carry versions and names, and every other
    /// result would pay for their size.
    #[error(transparent)]
    Plan(Box<plan::PlanError>),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error(transparent)]
    Changelog(#[from] changelog::DuplicateSection),
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error(transparent)]
    Publish(#[from] publish::PublishError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("failed to access {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the working tree has changes: {files}\nhint: commit or stash them (`git stash -u`); a release commits only the files it writes"
    )]
    DirtyTree { files: String },
    #[error(
        "HEAD is detached, so there is no branch to put the release commit on\nhint: check out the release branch first: `git switch {branch}` (or a release/x.y branch for a hotfix)"
    )]
    DetachedHead { branch: String },
    #[error(
        "releases are made from {expected} or a release/x.y hotfix branch, and this is {branch}\nhint: `git switch {expected}`, or set [workspace.metadata.xtask.release] branch = \"{branch}\""
    )]
    WrongBranch { branch: String, expected: String },
    #[error(
        "this clone's history is shallow, so the last release tags and the commits since cannot be read\nhint: `git fetch --unshallow --tags` (in GitHub Actions: actions/checkout with `fetch-depth: 0`)"
    )]
    ShallowHistory,
    #[error(
        "{package}: version {version:?} in its Cargo.toml is not a semantic version: {problem}"
    )]
    BadVersion {
        package: String,
        version: String,
        problem: String,
    },
    #[error(
        "`cargo update --workspace --offline` failed after the manifests were edited (they were put back):\n{output}"
    )]
    CargoUpdate { output: String },
    #[error(
        "there is no annotated tag {tag}\nhint: list release tags with `git tag -l '*v*'`; fetch them with `git fetch --tags`"
    )]
    NoSuchTag { tag: String },
}

impl From<plan::PlanError> for ReleaseError {
    fn from(error: plan::PlanError) -> Self {
        ReleaseError::Plan(Box::new(error))
    }
}

impl ReleaseError {
    /// True for trouble with the machine rather than the request.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            ReleaseError::Io { .. } | ReleaseError::CargoUpdate { .. }
        ) || matches!(self, ReleaseError::Git(e) if e.is_internal())
    }
}
