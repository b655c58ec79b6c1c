//! Building the graph from `cargo metadata --no-deps`.
//!
//! `--no-deps` skips dependency resolution, so it never touches the network
//! and is several times faster; workspace edges are still known from the
//! declared `path` dependencies. The resolved external closure is read from
//! Cargo.lock by the cargo-aware tasks, not here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, MetadataCommand, TargetKind};

use crate::{DeclaredDependency, DepKind, Dependency, GraphError, Package, PackageGraph};

pub(crate) fn from_cargo(root: &Path) -> Result<PackageGraph, GraphError> {
    let metadata = MetadataCommand::new()
        .current_dir(root)
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .exec()
        .map_err(|e| match e {
            cargo_metadata::Error::CargoMetadata { stderr } => GraphError::CargoMetadata {
                root: root.to_path_buf(),
                stderr: stderr.trim_end().to_string(),
            },
            cargo_metadata::Error::Io(source) => GraphError::CargoSpawn {
                root: root.to_path_buf(),
                source,
            },
            other => GraphError::MetadataFormat(other.to_string()),
        })?;

    let ws_root: PathBuf = metadata.workspace_root.clone().into();
    let members: Vec<&cargo_metadata::Package> = metadata.workspace_packages();

    let mut packages: Vec<(Package, PathBuf)> = members
        .iter()
        .map(|p| member_package(p, &ws_root))
        .collect();
    packages.sort_by(|a, b| a.0.name.cmp(&b.0.name));

    link_dependencies(&members, &mut packages, &ws_root);

    Ok(PackageGraph {
        root: ws_root,
        target_dir: metadata.target_directory.into(),
        packages: packages.into_iter().map(|(p, _)| p).collect(),
    })
}

/// A member as the graph holds it (dependencies are linked afterwards), and
/// its directory.
fn member_package(p: &cargo_metadata::Package, ws_root: &Path) -> (Package, PathBuf) {
    let manifest: PathBuf = p.manifest_path.clone().into();
    let dir = manifest.parent().unwrap_or(ws_root).to_path_buf();
    let package = Package {
        name: p.name.to_string(),
        version: p.version.to_string(),
        dir: relative(ws_root, &dir),
        manifest: relative(ws_root, &manifest),
        dependencies: Vec::new(),
        binaries: p
            .targets
            .iter()
            .filter(|t| t.kind.contains(&TargetKind::Bin))
            .map(|t| t.name.clone())
            .collect(),
        has_library: p.targets.iter().any(|t| {
            t.kind.iter().any(|k| {
                matches!(
                    k,
                    TargetKind::Lib | TargetKind::RLib | TargetKind::ProcMacro
                )
            })
        }),
        has_xtask_metadata: p.metadata.get("xtask").is_some(),
        features: p
            .features
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        declared_dependencies: Vec::new(),
    };
    (package, dir)
}

/// Fills in each member's workspace edges and declared dependencies.
fn link_dependencies(
    members: &[&cargo_metadata::Package],
    packages: &mut [(Package, PathBuf)],
    ws_root: &Path,
) {
    let index_by_dir: HashMap<PathBuf, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, (_, dir))| (dir.clone(), i))
        .collect();
    let index_by_name: HashMap<String, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (p.name.clone(), i))
        .collect();

    for member in members {
        let Some(&from) = index_by_name.get(member.name.as_str()) else {
            continue;
        };
        let mut deps: Vec<Dependency> = member
            .dependencies
            .iter()
            .filter_map(|d| {
                let path: PathBuf = d.path.clone()?.into();
                let to = *index_by_dir.get(&path)?;
                Some(Dependency {
                    package: to,
                    kind: dep_kind(d.kind),
                })
            })
            .filter(|d| d.package != from)
            .collect();
        deps.sort_by_key(|d| (d.package, d.kind));
        deps.dedup();
        packages[from].0.dependencies = deps;
        packages[from].0.declared_dependencies = member
            .dependencies
            .iter()
            .map(|d| {
                let member = d
                    .path
                    .clone()
                    .and_then(|path| index_by_dir.get(&PathBuf::from(path)).copied());
                let mut declared =
                    DeclaredDependency::new(d.name.clone(), d.rename.clone(), dep_kind(d.kind));
                declared.features = d.features.clone();
                declared.default_features = d.uses_default_features;
                declared.optional = d.optional;
                declared.member = member;
                declared.outside_path = d
                    .path
                    .as_ref()
                    .map(|path| PathBuf::from(path.as_std_path()))
                    .filter(|path| !path.starts_with(ws_root));
                declared
            })
            .collect();
    }
}

fn dep_kind(kind: DependencyKind) -> DepKind {
    match kind {
        DependencyKind::Build => DepKind::Build,
        DependencyKind::Development => DepKind::Dev,
        _ => DepKind::Normal,
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
