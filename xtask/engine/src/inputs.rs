//! Which files are the inputs of a task: the package's files by default,
//! narrowed or extended by `inputs` globs, minus what the package's tasks
//! declare as outputs (products are not sources; hashing them would make the
//! next run miss because the last one wrote them).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use xtask_config::{Anchor, InputPattern, PathGlob, ROOT_PREFIX, TaskDef};
use xtask_graph::{PackageGraph, PackageIndex};
use xtask_hash::{FileEntry, Snapshot};
use xtask_toolbox::hex;

use crate::glob_sets;
use crate::outputs::Patterns;

/// The snapshot's files grouped by the package that owns them: the most
/// deeply nested package directory containing the file, so a nested package's
/// files never count for its parent.
pub struct PackageFiles<'s> {
    pub snapshot: &'s Snapshot,
    by_package: Vec<Vec<usize>>,
    /// The snapshot files each list of root-anchored `inputs` globs matched:
    /// every package with the same list asks again, and matching it against
    /// all the workspace's files per package grew as packages × files.
    root_matches: Mutex<HashMap<Vec<String>, Arc<[usize]>>>,
}

impl<'s> PackageFiles<'s> {
    pub fn new(graph: &PackageGraph, snapshot: &'s Snapshot) -> PackageFiles<'s> {
        let dirs: HashMap<&str, PackageIndex> = graph
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.dir.as_str(), i))
            .collect();
        let mut by_package = vec![Vec::new(); graph.packages.len()];
        // Files of one directory are neighbours in path order and share an
        // owner: look it up once per directory, not per file.
        let mut last: Option<(&str, Option<PackageIndex>)> = None;
        for (i, file) in snapshot.files.iter().enumerate() {
            let parent = file.path.rsplit_once('/').map_or("", |(parent, _)| parent);
            if let Some((last_parent, owner)) = last
                && last_parent == parent
            {
                if let Some(owner) = owner {
                    by_package[owner].push(i);
                }
                continue;
            }
            let mut dir = file.path.as_str();
            let owner = loop {
                match dir.rfind('/') {
                    Some(slash) => dir = &dir[..slash],
                    None if !dir.is_empty() => dir = "",
                    None => break dirs.get("").copied(),
                }
                if let Some(&owner) = dirs.get(dir) {
                    break Some(owner);
                }
            };
            last = Some((parent, owner));
            if let Some(owner) = owner {
                by_package[owner].push(i);
            }
        }
        PackageFiles {
            snapshot,
            by_package,
            root_matches: Mutex::default(),
        }
    }

    /// The package's files, workspace-relative paths, sorted.
    pub fn of(&self, package: PackageIndex) -> impl Iterator<Item = &'s FileEntry> + '_ {
        self.by_package[package]
            .iter()
            .map(|&i| &self.snapshot.files[i])
    }

    /// The snapshot's files matching the root-anchored globs `patterns`
    /// (none if they do not compile), matched once per distinct list.
    fn matching_root(&self, patterns: Vec<String>) -> impl Iterator<Item = &'s FileEntry> + '_ {
        let mut memo = self.root_matches.lock().unwrap_or_else(|e| e.into_inner());
        let matched =
            memo.entry(patterns).or_insert_with_key(|patterns| {
                match glob_sets::compiled(patterns.clone()) {
                    Ok(set) => (self.snapshot.files.iter().enumerate())
                        .filter(|(_, file)| set.is_match(&file.path))
                        .map(|(i, _)| i)
                        .collect(),
                    Err(_) => Arc::from([]),
                }
            });
        let matched = Arc::clone(matched);
        drop(memo);
        (0..matched.len()).map(move |n| &self.snapshot.files[matched[n]])
    }

    /// Content digest of all of a package's files (for cargo tasks, which
    /// compile their dependencies' sources).
    pub fn digest(&self, graph: &PackageGraph, package: PackageIndex) -> String {
        let dir = &graph.packages[package].dir;
        let mut hasher = blake3::Hasher::new();
        for file in self.of(package) {
            hasher.update(relative_to(&file.path, dir).as_bytes());
            hasher.update(file.hash.as_bytes());
            hasher.update(&[u8::from(file.executable)]);
        }
        hex::encode(hasher.finalize().as_bytes())
    }
}

/// A file as it appears in a task's input manifest: the path relative to the
/// package directory (or `$TURBO_ROOT$/…` for files elsewhere), the content
/// hash, and `+x` for executables.
pub fn manifest_value(file: &FileEntry) -> String {
    let mut value = hex::encode(file.hash.as_bytes());
    if file.executable {
        value.push_str("+x");
    }
    value
}

/// The input files of one task.
pub fn task_inputs(
    graph: &PackageGraph,
    files: &PackageFiles<'_>,
    package: PackageIndex,
    def: &TaskDef,
    package_outputs: &Patterns,
) -> BTreeMap<String, String> {
    let dir = graph.packages[package].dir.as_str();
    // The package's files in path order, so the usual case (no `inputs`)
    // builds its map in one bulk pass instead of a search per insert.
    let defaults = || {
        files.of(package).filter_map(|file| {
            let rel = relative_to(&file.path, dir);
            (!package_outputs.is_match(Path::new(rel)))
                .then(|| (rel.to_string(), manifest_value(file)))
        })
    };
    let Some(patterns) = &def.inputs else {
        return defaults().collect();
    };
    let mut selected = BTreeMap::new();

    // Pattern texts, compiled once per distinct list for every package
    // (they are package-relative, or root-anchored, never per package).
    let mut include_package = Vec::new();
    let mut include_root = Vec::new();
    let mut exclude = Vec::new();
    for pattern in patterns {
        let glob = match pattern {
            InputPattern::Defaults => {
                selected.extend(defaults());
                continue;
            }
            InputPattern::Glob(glob) => glob,
        };
        match (glob.is_negated(), glob.anchor()) {
            (true, anchor) => {
                // Exclusions are matched against the manifest path, so anchor
                // a root one the same way.
                exclude.push(match anchor {
                    Anchor::Root => format!("{ROOT_PREFIX}{}", glob.pattern()),
                    Anchor::Package => glob.pattern().to_string(),
                });
            }
            (false, Anchor::Package) => include_package.push(glob.pattern().to_string()),
            (false, Anchor::Root) => include_root.push(glob.pattern().to_string()),
        }
    }
    if !include_package.is_empty()
        && let Ok(set) = glob_sets::compiled(include_package)
    {
        for file in files.of(package) {
            let rel = relative_to(&file.path, dir);
            if set.is_match(rel) {
                selected.insert(rel.to_string(), manifest_value(file));
            }
        }
    }
    if !include_root.is_empty() {
        for file in files.matching_root(include_root) {
            selected.insert(format!("{ROOT_PREFIX}{}", file.path), manifest_value(file));
        }
    }
    if !exclude.is_empty()
        && let Ok(exclude) = glob_sets::compiled(exclude)
    {
        selected.retain(|path, _| !exclude.is_match(path));
    }
    selected
}

/// Files matching the workspace's `global-inputs`, keyed by workspace path
/// (every global input is relative to the root, anchored or not).
pub fn global_inputs(snapshot: &Snapshot, patterns: &[PathGlob]) -> BTreeMap<String, String> {
    let (exclude, include): (Vec<&PathGlob>, Vec<&PathGlob>) =
        patterns.iter().partition(|pattern| pattern.is_negated());
    let texts = |globs: Vec<&PathGlob>| globs.iter().map(|g| g.pattern().to_string()).collect();
    let (Ok(include), Ok(exclude)) = (
        glob_sets::compiled(texts(include)),
        glob_sets::compiled(texts(exclude)),
    ) else {
        return BTreeMap::new();
    };
    snapshot
        .files
        .iter()
        .filter(|f| include.is_match(&f.path) && !exclude.is_match(&f.path))
        .map(|f| (f.path.clone(), manifest_value(f)))
        .collect()
}

/// `path` relative to `dir` (both workspace-relative).
pub fn relative_to<'p>(path: &'p str, dir: &str) -> &'p str {
    if dir.is_empty() {
        path
    } else {
        path.strip_prefix(dir)
            .and_then(|p| p.strip_prefix('/'))
            .unwrap_or(path)
    }
}
