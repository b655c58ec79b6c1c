//! `--affected` and what a diff changed: the packages owning the files changed
//! since a branch point (the caller's rule first for files such as
//! `Cargo.lock`), their dependents, and the default base. A failed git call is
//! explained (a missing ref, a shallow clone) before it reaches the user.
//! `[ref]` filters use the same mapping from files to packages.

use std::collections::BTreeSet;

use xtask_git::{Git, GitError};
use xtask_graph::{PackageGraph, PackageIndex};

use super::edges::Edges;
use super::{Diff, ScopeError, SpecialFiles};

/// `--affected`: the packages owning a file changed on `head` since it
/// branched from `base` (plus the working tree when `head` is `HEAD`), and
/// everything that depends on them along edges of every kind.
///
/// `special` claims changed files whose effect the caller knows better than
/// directory ownership: `Cargo.lock` (only the packages whose resolved closure
/// changed between the diff's two states), `rust-toolchain(.toml)`,
/// `.cargo/config(.toml)`, the root `Cargo.toml`. It is asked first, for every
/// file: with a root package every file has an owner, yet `Cargo.lock` must
/// still be attributed precisely. A file it does not claim affects its owning
/// package; a file outside every package affects nothing (it is no package's
/// input). `[ref]` filters use the same rule.
pub fn affected(
    graph: &PackageGraph,
    base: &str,
    head: &str,
    git: &dyn Git,
    special: &SpecialFiles<'_>,
) -> Result<Vec<PackageIndex>, ScopeError> {
    let diff = since_branch_point(git, base, head, head == "HEAD")?;
    let changed = changed_packages(graph, git, &diff, special)?;
    let edges = Edges::new(graph);
    let mut out = changed.clone();
    for &package in &changed {
        out.extend(edges.dependents(package));
    }
    Ok(out.into_iter().collect())
}

/// `--affected`'s two ends as the command line gave them: the changes on
/// `head` since it branched from `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedRange {
    pub base: Base,
    /// A revision; `HEAD` also counts the working tree.
    pub head: String,
}

/// Where `--affected` starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// A revision the user named (`--base`, or the environment the cli reads:
    /// `XTASK_BASE`, GitHub Actions' `GITHUB_BASE_REF`).
    Given(String),
    /// None named: where `HEAD` branched from the default branch
    /// ([`default_base`]), which only git can say.
    DefaultBranch,
}

/// What `--affected` found, and the commit it compared from (for output
/// that tells CI what was compared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub base: String,
    /// Sorted package indices without duplicates.
    pub packages: Vec<PackageIndex>,
}

impl AffectedRange {
    /// The packages changed in this range and their dependents ([`affected`]),
    /// the default base asked of git first when none was given.
    pub fn resolve(
        &self,
        graph: &PackageGraph,
        git: &dyn Git,
        special: &SpecialFiles<'_>,
    ) -> Result<Affected, ScopeError> {
        let base = match &self.base {
            Base::Given(base) => base.clone(),
            Base::DefaultBranch => default_base(git)?,
        };
        let packages = affected(graph, &base, &self.head, git, special)?;
        Ok(Affected { base, packages })
    }
}

/// The base `--affected` compares with when none is named: the merge-base of
/// `HEAD` with the default branch (`origin/HEAD`'s target, else `main`,
/// `origin/main`, `master`, `origin/master`, the first that exists).
pub fn default_base(git: &dyn Git) -> Result<String, ScopeError> {
    let recorded = match git.default_branch() {
        Ok(branch) => branch,
        // No repository (or no git) is what the user must hear, not that
        // no default branch exists.
        Err(e @ (GitError::NotARepository { .. } | GitError::Spawn { .. })) => {
            return Err(e.into());
        }
        // Any other failure: the usual names remain to be tried.
        Err(_) => None,
    };
    let candidates: Vec<String> = recorded
        .into_iter()
        .chain(
            ["main", "origin/main", "master", "origin/master"]
                .into_iter()
                .map(str::to_string),
        )
        .collect();
    let Some(branch) = candidates.iter().find(|c| names_commit(git, c)) else {
        let tried = candidates
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        // A single-branch shallow clone (actions/checkout's default) has no
        // other branch at all: say so rather than "no default branch".
        return Err(if is_shallow(git) {
            ScopeError::ShallowClone {
                reference: format!("the default branch (tried {tried})"),
            }
        } else {
            ScopeError::NoDefaultBranch { tried }
        });
    };
    git.merge_base("HEAD", branch)
        .map_err(|e| explained(git, &["HEAD", branch], e))
}

/// The diff from the point where `head` branched from `base` to `head` (or,
/// with `working_tree`, to the working tree), with git's failures turned into
/// errors that say why: a missing ref, or a shallow clone whose history does
/// not reach the branch point.
pub(super) fn since_branch_point(
    git: &dyn Git,
    base: &str,
    head: &str,
    working_tree: bool,
) -> Result<Diff, ScopeError> {
    let merge_base = git
        .merge_base(base, head)
        .map_err(|e| explained(git, &[base, head], e))?;
    Ok(Diff {
        from: merge_base,
        to: (!working_tree).then(|| head.to_string()),
    })
}

/// The files `diff` changed; for a ref against the working tree, a missing
/// ref (or a shallow clone without it) is explained.
fn changed_files(git: &dyn Git, diff: &Diff) -> Result<Vec<String>, ScopeError> {
    git.changed_files(&diff.from, diff.to.as_deref())
        .map_err(|e| explained(git, &[&diff.from], e))
}

/// The packages the files of `diff` change: the caller's rule first
/// (`special`), else the owning package; a file outside every package changes
/// nothing.
pub(super) fn changed_packages(
    graph: &PackageGraph,
    git: &dyn Git,
    diff: &Diff,
    special: &SpecialFiles<'_>,
) -> Result<BTreeSet<PackageIndex>, ScopeError> {
    let mut changed = BTreeSet::new();
    for file in changed_files(git, diff)? {
        match special(&file, diff) {
            Some(packages) => changed.extend(packages),
            None => changed.extend(graph.owner_of(&file)),
        }
    }
    Ok(changed)
}

/// A failed git call about `refs` as the user should see it: git that cannot
/// run, or no repository, as it is; otherwise a missing ref or a truncated
/// history is named (only on failure do we spend git calls on finding out why).
fn explained(git: &dyn Git, refs: &[&str], error: GitError) -> ScopeError {
    match error {
        GitError::NotARepository { .. } | GitError::Spawn { .. } => error.into(),
        error => explain_missing(git, refs).unwrap_or(error.into()),
    }
}

/// Why a merge-base could not be found, when the reason is a missing ref or a
/// truncated history: in a shallow clone both look the same to git.
fn explain_missing(git: &dyn Git, refs: &[&str]) -> Option<ScopeError> {
    let shallow = is_shallow(git);
    if let Some(missing) = refs.iter().find(|r| !names_commit(git, r)) {
        return Some(if shallow {
            ScopeError::ShallowClone {
                reference: format!("`{missing}`"),
            }
        } else {
            ScopeError::UnknownRef {
                reference: missing.to_string(),
            }
        });
    }
    // Both commits exist but their common ancestor was cut off by --depth.
    match refs {
        [a, b] => shallow.then(|| ScopeError::ShallowClone {
            reference: format!("the common ancestor of `{a}` and `{b}`"),
        }),
        _ => None,
    }
}

/// Whether `r` names a commit; a question git cannot answer counts as no,
/// since it only chooses how a failure is explained.
fn names_commit(git: &dyn Git, r: &str) -> bool {
    git.resolve(r).is_ok_and(|commit| commit.is_some())
}

/// Whether the history is truncated; unknown counts as no, as above.
fn is_shallow(git: &dyn Git) -> bool {
    git.is_shallow().unwrap_or(false)
}

#[cfg(test)]
mod tests;
