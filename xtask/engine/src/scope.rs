//! Which packages a run covers: a [`Scope`], built once by the cli from its
//! flags, is selected here ([`select`]). Turborepo's `--filter` syntax
//! ([`Filter`], [`apply_filters`]) lives in `filter.rs`; `--affected`
//! ([`AffectedRange`], [`affected`], [`default_base`]) in `affected.rs`, which
//! also maps a diff's files to packages for `[ref]` filters; `edges.rs` walks
//! the package graph for both.
//!
//! Both work on the [`PackageGraph`] alone and reach git only through
//! xtask-git's [`Git`] trait, so the selection rules are tested without
//! repositories; [`xtask_git::Repo`] is the real implementation, which
//! [`select_in`] uses for a workspace.
//!
//! What "changed" means, as in Turborepo:
//! - `--affected` (turbo's `main...HEAD`): from the merge-base of base and
//!   head, like a pull request's diff (commits that landed on the base branch
//!   after the branch point are not this branch's changes); with head `HEAD`
//!   the working tree counts too.
//! - `[ref]` (also in `...[ref]`, `[ref]...`): the ref against the working
//!   tree, directly — so changes on the ref's side since a fork count too, and
//!   it needs no history beyond the ref (a shallow clone that has it works).
//! - `[a...b]`: the commits only, from their merge-base to `b`; never the
//!   working tree, even when `b` is `HEAD`.
//! - The working tree is staged, unstaged and untracked files git does not
//!   ignore, so a local run sees uncommitted edits.
//! - A rename changes both its old and its new path.
//! - Files whose effect directory ownership cannot tell (the root manifest,
//!   the lockfile, the toolchain file, cargo's config) are asked of the
//!   caller's rule, the same for `--affected` and for `[ref]` filters: we are
//!   Cargo-aware where Turborepo is not.
//! - Edges of every kind (normal, build, dev) are followed: a dev-dependent's
//!   tests compile the dependency, so they are affected by it.
//! - Anything git cannot answer is an error with a hint; in particular a shallow
//!   clone that lacks the base never silently becomes a full (or empty) run.
//!
//! Results are sorted package indices without duplicates (index order is name
//! order, since [`PackageGraph::packages`] is sorted by name).

mod affected;
mod edges;
mod filter;

use xtask_git::{Git, GitError, Repo};
use xtask_graph::{PackageGraph, PackageIndex};

pub use affected::{Affected, AffectedRange, Base, affected, default_base};
pub use filter::{Filter, ScopeWarning, apply_filters};

use crate::workspace::Workspace;
use crate::workspace_files::affected_by_workspace_file;

/// What a run covers, as the command line said it: every filter parsed, the
/// `--affected` range with its base named or left to git.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// A union, minus the `!` filters; none select every package.
    pub filters: Vec<Filter>,
    /// When set, only what it affects among what the filters select.
    pub affected: Option<AffectedRange>,
}

impl Scope {
    /// Parses every filter first, so that a syntax error in the last costs no
    /// git call for the first.
    pub fn parse(filters: &[String], affected: Option<AffectedRange>) -> Result<Scope, ScopeError> {
        Ok(Scope {
            filters: filters
                .iter()
                .map(|f| Filter::parse(f))
                .collect::<Result<_, _>>()?,
            affected,
        })
    }
}

/// The packages `scope` selects: the filters' selection ([`apply_filters`]),
/// intersected with what `--affected` finds when it is given.
pub fn select(
    graph: &PackageGraph,
    scope: &Scope,
    git: &dyn Git,
    special: &SpecialFiles<'_>,
) -> Result<Selection, ScopeError> {
    let mut selection = apply_filters(graph, &scope.filters, git, special)?;
    if let Some(range) = &scope.affected {
        let changed = range.resolve(graph, git, special)?.packages;
        selection.packages.retain(|p| changed.contains(p));
    }
    Ok(selection)
}

/// [`select`] in a workspace: git in its root, and its rule for the files
/// directory ownership cannot attribute (`affected_by_workspace_file`).
pub fn select_in(ws: &Workspace, scope: &Scope) -> Result<Selection, ScopeError> {
    let special = affected_by_workspace_file(ws);
    select(&ws.graph, scope, &Repo::at(&ws.root), &special)
}

/// [`AffectedRange::resolve`] in a workspace, as [`select_in`] does it.
pub fn affected_in(ws: &Workspace, range: &AffectedRange) -> Result<Affected, ScopeError> {
    let special = affected_by_workspace_file(ws);
    range.resolve(&ws.graph, &Repo::at(&ws.root), &special)
}

/// What a user sees when a filter or a git question cannot be answered. Every
/// message ends with a `hint:` line saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("`--filter {filter}`: {reason}\nhint: {}", filter::FILTER_FORMS)]
    BadFilter { filter: String, reason: String },
    #[error(
        "`--filter {filter}`: no package is named `{name}`\nhint: {}",
        filter::did_you_mean(suggestions)
    )]
    UnknownPackage {
        filter: String,
        name: String,
        suggestions: Vec<String>,
    },
    /// git could not answer; its message says why and what to do.
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(
        "git ref `{reference}` does not exist\nhint: check the name (`git branch -a` lists branches); if it lives on a remote, fetch it first (`git fetch origin <branch>`)"
    )]
    UnknownRef { reference: String },
    #[error(
        "this is a shallow clone and {reference} is not in its history, so the changed files cannot be computed (refusing to guess: that would run everything or nothing)\nhint: fetch the full history: `fetch-depth: 0` in actions/checkout, or `git fetch --unshallow` (and `git fetch origin <base-branch>` if the base branch was not cloned)"
    )]
    ShallowClone { reference: String },
    #[error(
        "cannot find the default branch to compare with: none of {tried} exists\nhint: pass `--base <ref>` or set XTASK_BASE (on GitHub Actions pull requests GITHUB_BASE_REF is used)"
    )]
    NoDefaultBranch { tried: String },
}

/// What `--filter` selected, and what the user should hear about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Sorted package indices without duplicates.
    pub packages: Vec<PackageIndex>,
    pub warnings: Vec<ScopeWarning>,
}

/// The two states a change is measured between: a commit, and a later
/// commit or (`None`) the working tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diff {
    pub from: String,
    pub to: Option<String>,
}

/// The caller's rule for files whose effect directory ownership cannot tell
/// (see [`affected`]): `Some(packages)` claims the file.
pub type SpecialFiles<'a> = dyn Fn(&str, &Diff) -> Option<Vec<PackageIndex>> + 'a;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod git_tests;
