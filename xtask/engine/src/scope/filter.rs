//! `--filter`, Turborepo's syntax: each filter parsed into a [`Filter`]
//! (name glob, directory glob, git range, `...`/`^`/`!` wrappers), then
//! resolved against the package graph, asking git once per range. A typo in
//! a name is an error with suggestions; a glob that matches nothing, a
//! warning.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use xtask_git::Git;
use xtask_glob::{Glob, Options};
use xtask_graph::{PackageGraph, PackageIndex};
use xtask_toolbox::suggest::{suggest, suggest_within};

use super::affected::{changed_packages, since_branch_point};
use super::edges::Edges;
use super::{Diff, ScopeError, Selection, SpecialFiles};

/// A filter that is valid but selects nothing: the run goes on (as in
/// Turborepo, where such a filter selects nothing silently), and the user is
/// told, since it is more likely a typo than intended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeWarning {
    #[error(
        "`--filter {filter}`: no package name matches `{pattern}`, so it selects nothing\nhint: `*` matches any run of characters, `?` one; `cargo xtask graph` lists the workspace's packages"
    )]
    NoPackageMatches { filter: String, pattern: String },
    #[error(
        "`--filter {filter}`: no package lives in a directory matching `{dir}`, so it selects nothing\nhint: {}",
        in_directories(suggestions)
    )]
    NoPackageInDirectory {
        filter: String,
        dir: String,
        suggestions: Vec<String>,
    },
}

/// The forms a filter may take, for every syntax error's hint.
pub(super) const FILTER_FORMS: &str = "a filter is one of `name` (globs like `xtask-*` allowed), `name...` (with its dependencies), `...name` (with its dependents), `name^...` / `...^name` (the same without name itself), `./dir/*` or `{./dir/*}` (by directory, from the workspace root), `[ref]` or `[from...to]` (changed in git), combinations such as `...[origin/main]`, `name{./dir}[ref]` or `name...[ref]` (name when it or a dependency changed), and `!` in front of any of them to exclude";

pub(super) fn did_you_mean(suggestions: &[String]) -> String {
    let listing = "`cargo xtask graph` lists the workspace's packages";
    match suggestions {
        [] => listing.to_string(),
        [one] => format!("did you mean `{one}`? ({listing})"),
        [init @ .., last] => format!(
            "did you mean {} or `{last}`? ({listing})",
            init.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn in_directories(suggestions: &[String]) -> String {
    let rule = "directories are matched against whole package directories relative to the workspace root (`./apps/*`, `./apps/**`, `.` for a root package)";
    if suggestions.is_empty() {
        rule.to_string()
    } else {
        format!("{rule}; did you mean `./{}`?", suggestions.join("` or `./"))
    }
}

/// Turborepo's `--filter` syntax. Several filters are a union; `!` filters are
/// then subtracted (with only `!` filters, from every package). No filters
/// select every package.
///
/// Forms (`FILTER_FORMS` is the one-line summary that error hints show):
/// - `api` — by name; `xtask-*` — by name glob (`*`, `?`).
/// - `api...` — with its dependencies; `api^...` — its dependencies only.
/// - `...core` — with its dependents; `...^core` — its dependents only.
/// - `...core...` — with dependents, dependencies, and the dependents'
///   dependencies (everything needed to build what uses it).
/// - `./apps/*` or `{./apps/*}` — packages whose directory matches the glob,
///   relative to the workspace root (`.` is a package at the root; `..`
///   inside it is resolved: `./libs/../apps/*` is `./apps/*`).
/// - `[origin/main]` — packages with files that differ between that ref and
///   the working tree; `[a...b]` — changed by the commits from the merge-base
///   of a and b to b (working tree not included). See the module docs.
/// - Combinations: `...[origin/main]` (changed and their dependents),
///   `[HEAD^1]...`, `api{./apps/*}[main]` (all parts must match),
///   `api...[main]` (api when it or one of its dependencies changed).
/// - `!` before any form excludes what it selects.
///
/// A name without wildcards that matches no package is an error with
/// suggestions: a typo must not silently select nothing. A name glob or a
/// directory that matches none selects nothing, with a warning (Turborepo
/// selects nothing silently). A git range that changed nothing selects nothing.
///
/// `special` is [`affected`]'s rule for files such as the root manifest, so
/// that `[ref]` and `--affected` agree on what a change to them touches.
pub fn apply_filters(
    graph: &PackageGraph,
    filters: &[Filter],
    git: &dyn Git,
    special: &SpecialFiles<'_>,
) -> Result<Selection, ScopeError> {
    let resolver = Resolver {
        graph,
        git,
        special,
        edges: Edges::new(graph),
        changes: RefCell::new(HashMap::new()),
        warnings: RefCell::new(Vec::new()),
    };
    let (excludes, includes): (Vec<_>, Vec<_>) = filters.iter().partition(|s| s.exclude);
    let mut selected = BTreeSet::new();
    if includes.is_empty() {
        selected.extend(0..graph.packages.len());
    }
    for selector in includes {
        selected.extend(resolver.select(selector)?);
    }
    for selector in excludes {
        for package in resolver.select(selector)? {
            selected.remove(&package);
        }
    }
    Ok(Selection {
        packages: selected.into_iter().collect(),
        warnings: resolver.warnings.into_inner(),
    })
}

/// One `--filter`, parsed ([`Filter::parse`]) before anything asks git, so
/// that a syntax error in the last filter costs no git call for the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    raw: String,
    /// `!…`: subtract instead of add.
    exclude: bool,
    /// `…...`: add the matched packages' dependencies.
    with_dependencies: bool,
    /// `...…`: add the matched packages' dependents.
    with_dependents: bool,
    /// `^` next to `...`: leave the matched packages themselves out.
    exclude_self: bool,
    /// A package name, possibly with `*` / `?`.
    name: Option<String>,
    /// A directory glob, normalised: relative, `/`-separated, `""` = root.
    dir: Option<String>,
    /// `[base]` or `[base...head]`.
    range: Option<GitRange>,
    /// `name...[ref]`: name matches when it or a dependency changed.
    match_dependencies: bool,
}

/// `[base]` (`head` `None`: against the working tree) or `[base...head]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GitRange {
    base: String,
    head: Option<String>,
}

impl Filter {
    /// Parses the way Turborepo does: `!`, then the `...`/`^` wrappers, then
    /// either a path (`./…`) or `name{dir}...[range]` with every part optional.
    pub fn parse(raw: &str) -> Result<Filter, ScopeError> {
        let bad = |reason: &str| ScopeError::BadFilter {
            filter: raw.to_string(),
            reason: reason.to_string(),
        };
        let mut s = Filter {
            raw: raw.to_string(),
            ..Filter::default()
        };
        let mut rest = raw.trim();
        if let Some(r) = rest.strip_prefix('!') {
            s.exclude = true;
            rest = r;
        }
        if let Some(r) = rest.strip_suffix("...") {
            s.with_dependencies = true;
            rest = r;
            if let Some(r) = rest.strip_suffix('^') {
                s.exclude_self = true;
                rest = r;
            }
        }
        if let Some(r) = rest.strip_prefix("...") {
            s.with_dependents = true;
            rest = r;
            if let Some(r) = rest.strip_prefix('^') {
                s.exclude_self = true;
                rest = r;
            }
        }
        if rest.is_empty() {
            return Err(bad("it names no package, directory or git range"));
        }
        // A path is the whole selector: `./apps/*[main]` would be ambiguous,
        // so combinations use braces (`{./apps/*}[main]`), as in Turborepo.
        if rest == "." || rest == ".." || rest.starts_with("./") || rest.starts_with("../") {
            s.dir = Some(normalize_dir(rest).map_err(|reason| bad(&reason))?);
            return Ok(s);
        }
        if let Some(inner) = rest.strip_suffix(']') {
            let open = inner
                .rfind('[')
                .ok_or_else(|| bad("`]` without a matching `[`"))?;
            s.range = Some(parse_range(&inner[open + 1..]).map_err(|reason| bad(&reason))?);
            rest = &inner[..open];
            if let Some(r) = rest.strip_suffix("...") {
                s.match_dependencies = true;
                rest = r;
            }
        }
        if let Some(inner) = rest.strip_suffix('}') {
            let open = inner
                .rfind('{')
                .ok_or_else(|| bad("`}` without a matching `{`"))?;
            let dir = &inner[open + 1..];
            if dir.trim().is_empty() {
                return Err(bad("`{}` names no directory"));
            }
            s.dir = Some(normalize_dir(dir).map_err(|reason| bad(&reason))?);
            rest = &inner[..open];
        }
        if !rest.is_empty() {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "-_*?".contains(c);
            if !rest.chars().all(allowed) {
                return Err(bad(&format!(
                    "`{rest}` is not a package name (names use letters, digits, `-` and `_`, plus the wildcards `*` and `?`)"
                )));
            }
            s.name = Some(rest.to_string());
        }
        if s.match_dependencies && s.name.is_none() && s.dir.is_none() {
            return Err(bad(
                "`...[ref]` needs a name or `{dir}` before it (for changed packages and their dependents write `...` first: `...[ref]`)",
            ));
        }
        if s.name.is_none() && s.dir.is_none() && s.range.is_none() {
            return Err(bad("it names no package, directory or git range"));
        }
        Ok(s)
    }
}

/// `./apps/*` → `apps/*`; `./libs/../apps/*` → `apps/*`; `.` → `` (the
/// root). Filters are relative to the workspace root, so a `..` that climbs
/// above it points outside the workspace.
fn normalize_dir(dir: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.trim().split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                None => {
                    return Err(format!(
                        "`{dir}` leaves the workspace (directories are relative to the workspace root)"
                    ));
                }
                // `*/..` could be any directory's parent: not a directory we can name.
                Some(last) if last.contains(['*', '?', '[', '{']) => {
                    return Err(format!(
                        "`{dir}` has `..` after a wildcard, which names no one directory; write the directory without it"
                    ));
                }
                Some(_) => {
                    parts.pop();
                }
            },
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

fn parse_range(range: &str) -> Result<GitRange, String> {
    let (base, head) = match range.split_once("...") {
        Some((base, head)) => (base.trim(), Some(head.trim())),
        None => (range.trim(), None),
    };
    if base.is_empty() || head.is_some_and(str::is_empty) {
        return Err("a git range is `[ref]` or `[from...to]`, with non-empty refs".to_string());
    }
    if base.starts_with('-') || head.is_some_and(|h| h.starts_with('-')) {
        return Err("a git ref cannot start with `-`".to_string());
    }
    Ok(GitRange {
        base: base.to_string(),
        head: head.map(str::to_string),
    })
}

/// Resolves selectors against one graph, asking git at most once per range.
struct Resolver<'a> {
    graph: &'a PackageGraph,
    git: &'a dyn Git,
    special: &'a SpecialFiles<'a>,
    edges: Edges,
    changes: RefCell<HashMap<GitRange, BTreeSet<PackageIndex>>>,
    warnings: RefCell<Vec<ScopeWarning>>,
}

impl Resolver<'_> {
    /// The packages one selector adds (or, for `!`, removes).
    fn select(&self, s: &Filter) -> Result<BTreeSet<PackageIndex>, ScopeError> {
        let matched = self.matched(s)?;
        if !s.with_dependencies && !s.with_dependents {
            return Ok(matched);
        }
        let mut out = BTreeSet::new();
        for &package in &matched {
            if !s.exclude_self {
                out.insert(package);
            }
            if s.with_dependencies {
                out.extend(self.edges.dependencies(package));
            }
            if s.with_dependents {
                for dependent in self.edges.dependents(package) {
                    out.insert(dependent);
                    // `...x...`: what x's dependents need to build, too.
                    if s.with_dependencies {
                        out.extend(self.edges.dependencies(dependent));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The packages the selector's core (name, directory, range) matches,
    /// before `...` expansion. Every given part must match.
    fn matched(&self, s: &Filter) -> Result<BTreeSet<PackageIndex>, ScopeError> {
        let mut matched: BTreeSet<PackageIndex> = (0..self.graph.packages.len()).collect();
        // Name and directory first: a typo is reported without touching git.
        if let Some(name) = &s.name {
            let by_name = self.by_name(s, name)?;
            matched.retain(|p| by_name.contains(p));
        }
        if let Some(dir) = &s.dir {
            let by_dir = self.by_dir(s, dir)?;
            matched.retain(|p| by_dir.contains(p));
        }
        if let Some(range) = &s.range {
            let changed = self.changed(range)?;
            if s.match_dependencies {
                matched.retain(|&p| {
                    (!s.exclude_self && changed.contains(&p))
                        || self
                            .edges
                            .dependencies(p)
                            .iter()
                            .any(|d| changed.contains(d))
                });
            } else {
                matched.retain(|p| changed.contains(p));
            }
        }
        Ok(matched)
    }

    fn by_name(&self, s: &Filter, name: &str) -> Result<BTreeSet<PackageIndex>, ScopeError> {
        let names = self.graph.packages.iter().map(|p| p.name.as_str());
        if !name.contains(['*', '?']) {
            return match self.graph.find(name) {
                Some(index) => Ok(BTreeSet::from([index])),
                None => Err(ScopeError::UnknownPackage {
                    filter: s.raw.clone(),
                    name: name.to_string(),
                    suggestions: owned(suggest(name, names)),
                }),
            };
        }
        let matcher = glob(name).map_err(|reason| ScopeError::BadFilter {
            filter: s.raw.clone(),
            reason,
        })?;
        let found: BTreeSet<PackageIndex> = names
            .enumerate()
            .filter(|(_, n)| matcher.is_match(n))
            .map(|(i, _)| i)
            .collect();
        if found.is_empty() {
            self.warn(ScopeWarning::NoPackageMatches {
                filter: s.raw.clone(),
                pattern: name.to_string(),
            });
        }
        Ok(found)
    }

    fn by_dir(&self, s: &Filter, dir: &str) -> Result<BTreeSet<PackageIndex>, ScopeError> {
        let dirs = self.graph.packages.iter().map(|p| p.dir.as_str());
        let found: BTreeSet<PackageIndex> = if dir.is_empty() {
            // `.`: a package at the workspace root (globs cannot say "empty").
            dirs.enumerate()
                .filter(|(_, d)| d.is_empty())
                .map(|(i, _)| i)
                .collect()
        } else {
            let matcher = glob(dir).map_err(|reason| ScopeError::BadFilter {
                filter: s.raw.clone(),
                reason,
            })?;
            dirs.enumerate()
                .filter(|(_, d)| matcher.is_match(d))
                .map(|(i, _)| i)
                .collect()
        };
        if found.is_empty() {
            let candidates = self.graph.packages.iter().map(|p| p.dir.as_str());
            self.warn(ScopeWarning::NoPackageInDirectory {
                filter: s.raw.clone(),
                dir: if dir.is_empty() {
                    ".".to_string()
                } else {
                    format!("./{dir}")
                },
                suggestions: owned(suggest_dir(dir, candidates.filter(|d| !d.is_empty()))),
            });
        }
        Ok(found)
    }

    /// Once per distinct warning: `a`, `!a` and `...a` say the same thing.
    fn warn(&self, warning: ScopeWarning) {
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }

    /// Packages changed in `range`, computed once per range.
    fn changed(&self, range: &GitRange) -> Result<BTreeSet<PackageIndex>, ScopeError> {
        if let Some(known) = self.changes.borrow().get(range) {
            return Ok(known.clone());
        }
        let diff = match &range.head {
            // `[ref]`: the ref itself against the working tree, no merge-base.
            None => Diff {
                from: range.base.clone(),
                to: None,
            },
            Some(head) => since_branch_point(self.git, &range.base, head, false)?,
        };
        let changed = changed_packages(self.graph, self.git, &diff, self.special)?;
        self.changes
            .borrow_mut()
            .insert(range.clone(), changed.clone());
        Ok(changed)
    }
}

/// A glob where `*` stays within one path component (`apps/*` is not
/// `apps/x/y`; `**` crosses components). Package names have no `/`.
fn glob(pattern: &str) -> Result<Glob, String> {
    let options = Options {
        literal_separator: true,
        ..Options::default()
    };
    Glob::with_options(pattern, options)
        .map_err(|e| format!("`{pattern}` is not a valid glob: {e}"))
}

/// Directories are long and share prefixes (`packages/`), so the usual third
/// of the length would suggest unrelated siblings: allow two edits at most.
fn suggest_dir<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    suggest_within(wrong, candidates, |len| (len / 3).clamp(1, 2))
}

fn owned(names: Vec<&str>) -> Vec<String> {
    names.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests;
