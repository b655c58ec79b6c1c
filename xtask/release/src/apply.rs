//! Making a planned release: manifests and changelogs edited, Cargo.lock
//! updated, one commit, one annotated tag per package (holding its release
//! record). If a step fails before the commit, every file is put back.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use xtask_git::Repo;
use xtask_graph::PackageGraph;

use crate::changelog::{self, Context};
use crate::gather::changelog_path;
use crate::manifest;
use crate::plan::Plan;
use crate::record::{self, ReleaseRecord};
use crate::{ReleaseError, links::RepoLinks};

/// What the release does besides the plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions<'a> {
    /// `YYYY-MM-DD` for the changelog headings and records.
    pub date: &'a str,
    pub links: Option<&'a RepoLinks>,
    pub changelog: bool,
}

/// The files a release rewrites, with their new text: manifests, changelogs.
pub fn edits(
    graph: &PackageGraph,
    plan: &Plan,
    options: &ApplyOptions<'_>,
) -> Result<BTreeMap<String, String>, ReleaseError> {
    let root = graph.root.as_path();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let text_of =
        |files: &mut BTreeMap<String, String>, path: &str| -> Result<String, ReleaseError> {
            if let Some(text) = files.get(path) {
                return Ok(text.clone());
            }
            read(root, path)
        };
    for (package, planned) in graph.packages.iter().zip(&plan.packages) {
        let Some(next) = planned
            .next_version
            .as_ref()
            .filter(|v| **v != planned.current_version)
        else {
            continue;
        };
        let (path, text) = if planned.shares_workspace_version {
            let text = text_of(&mut files, "Cargo.toml")?;
            (
                "Cargo.toml".to_string(),
                manifest::set_workspace_version(&text, "Cargo.toml", next)?,
            )
        } else {
            let text = text_of(&mut files, &package.manifest)?;
            (
                package.manifest.clone(),
                manifest::set_package_version(&text, &package.manifest, next)?,
            )
        };
        files.insert(path, text);
        // Every manifest that may name it: the members' and the root's.
        let mut manifests: Vec<String> =
            graph.packages.iter().map(|p| p.manifest.clone()).collect();
        manifests.push("Cargo.toml".into());
        manifests.sort();
        manifests.dedup();
        for path in manifests {
            let text = text_of(&mut files, &path)?;
            let (new, changed) = manifest::set_requirements(&text, &path, &planned.name, next)?;
            if changed {
                files.insert(path, new);
            }
        }
    }
    if options.changelog {
        changelog_edits(graph, plan, options, &mut files)?;
    }
    Ok(files)
}

/// Each released package's CHANGELOG.md, and the workspace's (when no package
/// lives at the root, whose changelog would be the same file).
fn changelog_edits(
    graph: &PackageGraph,
    plan: &Plan,
    options: &ApplyOptions<'_>,
    files: &mut BTreeMap<String, String>,
) -> Result<(), ReleaseError> {
    let root = graph.root.as_path();
    let ctx = Context {
        links: options.links,
        date: options.date,
    };
    for planned in plan.packages.iter().filter(|p| p.is_released()) {
        let path = changelog_path(&planned.dir);
        let section = changelog::package_section(planned, ctx).expect("released");
        let old = read_optional(root, &path)?;
        let version = planned.next_version.as_ref().expect("released");
        changelog::check_new(old.as_deref().unwrap_or(""), version, &path)?;
        files.insert(path, changelog::insert(old.as_deref(), &section));
    }
    let root_package = graph.packages.iter().any(|p| p.dir.is_empty());
    if graph.packages.len() > 1
        && !root_package
        && let Some(section) = changelog::workspace_section(&plan.packages, ctx)
    {
        let old = read_optional(root, "CHANGELOG.md")?;
        files.insert(
            "CHANGELOG.md".into(),
            changelog::insert(old.as_deref(), &section),
        );
    }
    Ok(())
}

/// Writes the edits, updates Cargo.lock, commits and tags. Returns one record
/// per released package.
pub fn apply(
    graph: &PackageGraph,
    plan: &Plan,
    repo: &Repo,
    options: &ApplyOptions<'_>,
) -> Result<Vec<ReleaseRecord>, ReleaseError> {
    let root = graph.root.as_path();
    let files = edits(graph, plan, options)?;
    let mut originals: BTreeMap<String, Option<String>> = BTreeMap::new();
    for path in files
        .keys()
        .chain(std::iter::once(&"Cargo.lock".to_string()))
    {
        originals.insert(path.clone(), read_optional(root, path)?);
    }
    let written = write_and_lock(root, &files).and_then(|()| {
        let mut paths: Vec<String> = files.keys().cloned().collect();
        if root.join("Cargo.lock").exists() {
            paths.push("Cargo.lock".into());
        }
        repo.add(&paths)?;
        Ok(repo.commit(&commit_message(plan))?)
    });
    let commit = match written {
        Ok(commit) => commit,
        Err(error) => {
            for (path, text) in &originals {
                let _ = match text {
                    Some(text) => write_atomic(root, path, text),
                    None => {
                        std::fs::remove_file(root.join(path)).map_err(|source| ReleaseError::Io {
                            path: path.clone(),
                            source,
                        })
                    }
                };
            }
            let _ = repo.add(
                &originals
                    .keys()
                    .filter(|p| root.join(p).exists())
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            return Err(error);
        }
    };
    let mut records = Vec::new();
    let ctx = Context {
        links: options.links,
        date: options.date,
    };
    for planned in plan.packages.iter().filter(|p| p.is_released()) {
        let version = planned.next_version.clone().expect("released");
        let tag = planned.tag.clone().expect("released");
        let record = ReleaseRecord {
            schema: record::SCHEMA.into(),
            package: planned.name.clone(),
            version: version.clone(),
            tag: tag.clone(),
            commit: commit.clone(),
            previous_tag: planned.last_tag.clone(),
            date: options.date.to_string(),
        };
        let section = changelog::package_section(planned, ctx).expect("released");
        let notes = changelog::section_body(&section, &version).unwrap_or(section);
        repo.create_tag(&tag, &commit, &record::tag_message(&record, &notes))?;
        records.push(record);
    }
    Ok(records)
}

/// `chore(release): a 1.2.0, b 0.3.1` — a chore, so the next plan does not
/// count the release commit itself.
pub fn commit_message(plan: &Plan) -> String {
    let released: Vec<String> = plan
        .packages
        .iter()
        .filter_map(|p| Some(format!("{} {}", p.name, p.next_version.as_ref()?)))
        .collect();
    format!("chore(release): {}", released.join(", "))
}

fn write_and_lock(root: &Path, files: &BTreeMap<String, String>) -> Result<(), ReleaseError> {
    for (path, text) in files {
        write_atomic(root, path, text)?;
    }
    // -w: only the workspace's own entries move; --offline: a release never
    // resolves anything new from the network.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["update", "--workspace", "--offline"])
        .output()
        .map_err(|source| ReleaseError::Io {
            path: "cargo update".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(ReleaseError::CargoUpdate {
            output: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Temp file then rename: a killed release never leaves half a manifest.
fn write_atomic(root: &Path, path: &str, text: &str) -> Result<(), ReleaseError> {
    xtask_toolbox::atomic::write(&root.join(path), text.as_bytes()).map_err(|source| {
        ReleaseError::Io {
            path: path.to_string(),
            source,
        }
    })
}

fn read(root: &Path, path: &str) -> Result<String, ReleaseError> {
    std::fs::read_to_string(root.join(path)).map_err(|source| ReleaseError::Io {
        path: path.to_string(),
        source,
    })
}

fn read_optional(root: &Path, path: &str) -> Result<Option<String>, ReleaseError> {
    match std::fs::read_to_string(root.join(path)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReleaseError::Io {
            path: path.to_string(),
            source,
        }),
    }
}

/// The tree must be clean: a release commits only what it wrote. Untracked
/// files under `own_dirs` (the target directory, this tool's cache) are
/// output, not changes.
pub fn require_clean(repo: &Repo, own_dirs: &[String]) -> Result<(), ReleaseError> {
    let mut status = repo.status()?;
    status.retain(|e| {
        !(e.code == "??" && own_dirs.iter().any(|d| xtask_graph::is_within(&e.path, d)))
    });
    if status.is_empty() {
        return Ok(());
    }
    let mut files: Vec<String> = status
        .iter()
        .take(5)
        .map(|e| format!("{} {}", e.code.trim(), e.path))
        .collect();
    if status.len() > 5 {
        files.push(format!("… and {} more", status.len() - 5));
    }
    Err(ReleaseError::DirtyTree {
        files: files.join(", "),
    })
}

/// The GitHub release body of `tag`: the notes in its annotation.
pub fn notes(repo: &Repo, tag: &str) -> Result<String, ReleaseError> {
    let message = repo
        .tag_message(tag)?
        .ok_or_else(|| ReleaseError::NoSuchTag {
            tag: tag.to_string(),
        })?;
    let (_, notes) = record::parse_tag_message(tag, &message)?;
    Ok(notes)
}

/// The release record of `tag`.
pub fn read_record(repo: &Repo, tag: &str) -> Result<ReleaseRecord, ReleaseError> {
    let message = repo
        .tag_message(tag)?
        .ok_or_else(|| ReleaseError::NoSuchTag {
            tag: tag.to_string(),
        })?;
    Ok(record::parse_tag_message(tag, &message)?.0)
}
