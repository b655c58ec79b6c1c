//! Discovered inputs: the files and environment variables cargo reports a
//! compilation read beyond what the task's key already covers —
//! `include_str!` of a file outside the package, a `#[path]` module
//! elsewhere, a git-ignored file, the sources of a path crate outside the
//! workspace, a build script's `rerun-if-changed` / `rerun-if-env-changed`.
//!
//! The lookup is ccache's direct mode with manifests: the declared key (what
//! we know before running) selects a small manifest naming what the last run
//! of that key read; the values of those names now are folded into the key a
//! hit must match (`KeyInputs::discovered`). After a run, what cargo reported
//! becomes the manifest for the next one. Everything read here comes from a
//! target directory or a cache entry another run wrote: sizes are bounded and
//! a file that is not a regular file is never read.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use xtask_hash::Snapshot;
use xtask_toolbox::hex;

use crate::dep_info::{self, MAX_DEP_INFO_BYTES};
use crate::key::DiscoveredInputs;

/// Pseudo-variable standing for the workspace's absolute path: recorded when
/// a compilation embeds a path cargo derives from it (`CARGO_MANIFEST_DIR`, …),
/// so a binary built in another checkout is not restored here.
pub const WORKSPACE_PATH: &str = "<workspace-path>";

/// A manifest never names more than this; beyond it the task is simply not
/// cached with discovered inputs (a lookup would cost more than it saves).
const MAX_NAMES: usize = 20_000;
/// Files listed under a `rerun-if-changed` directory, at most.
const MAX_DIR_FILES: usize = 20_000;

/// Variables cargo sets for each compilation itself: their values follow
/// from manifests and paths already in the key.
const CARGO_SET_VARS: &[&str] = &[
    // clippy-driver's own arguments (the lint levels of the task's
    // definition) and its config directory (hashed with the lint config).
    "CLIPPY_ARGS",
    "CLIPPY_CONF_DIR",
    "CARGO",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_LINKS",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];
const CARGO_SET_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_CFG_"];
/// Cargo-set variables whose value is a path under the workspace (or its
/// target directory): reading one compiles the checkout's location in.
const PATH_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_TARGET_TMPDIR",
];
const PATH_VAR_PREFIXES: &[&str] = &["CARGO_BIN_EXE_"];

/// What a manifest holds: the names whose values decide a hit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DiscoveredNames {
    pub format: u32,
    /// Workspace-relative paths, or absolute ones outside the workspace;
    /// a trailing `/` names a directory (every file under it counts).
    pub files: BTreeSet<String>,
    pub env: BTreeSet<String>,
}

pub const NAMES_FORMAT: u32 = 1;

impl DiscoveredNames {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.env.is_empty()
    }

    /// Parses a manifest from a cache entry; anything unexpected is `None`
    /// (a miss), never an error.
    pub fn parse(bytes: &[u8]) -> Option<DiscoveredNames> {
        let names: DiscoveredNames = serde_json::from_slice(bytes).ok()?;
        let sane = names.format == NAMES_FORMAT
            && names.files.len() + names.env.len() <= MAX_NAMES
            && names
                .files
                .iter()
                .all(|f| !f.is_empty() && !f.contains('\0'))
            && names
                .env
                .iter()
                .all(|e| !e.is_empty() && !e.contains(['\0', '=']));
        sane.then_some(names)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a set of strings always serializes")
    }
}

/// The key under which the manifest for `declared_key` is kept (local and
/// remote): a different key space from any task key.
pub fn manifest_key(declared_key: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"xtask discovered-inputs manifest v1\0");
    hasher.update(declared_key.as_bytes());
    hex::encode(hasher.finalize().as_bytes())
}

/// What a manifest from a remote cache nobody signs may name. Its names
/// decide which key is then requested from that remote, so a forged one
/// naming a local secret (`~/.ssh/id_ed25519`, a git-ignored `.env`, an
/// `AWS_SECRET_ACCESS_KEY`) would let whoever watches the requests test
/// guesses of its value, one lookup each. So it may name only what the
/// workspace shows anyway: files the walk hashes (directories holding
/// nothing else), files under the `path` dependencies outside the workspace
/// that members declare, and variables that do not look like credentials.
/// Manifests this machine wrote, or signed ones, are trusted whole.
pub struct UnsignedRemoteNames<'a> {
    pub root: &'a Path,
    pub snapshot: &'a Snapshot,
    pub outside_dirs: &'a [PathBuf],
    pub is_secret_name: &'a dyn Fn(&str) -> bool,
}

impl UnsignedRemoteNames<'_> {
    /// The first name such a manifest may not hold, if any.
    pub fn refused<'n>(&self, names: &'n DiscoveredNames) -> Option<&'n str> {
        let file = names.files.iter().find(|name| !self.file_allowed(name));
        let env = || {
            names
                .env
                .iter()
                .find(|name| *name != WORKSPACE_PATH && (self.is_secret_name)(name))
        };
        file.or_else(env).map(String::as_str)
    }

    fn file_allowed(&self, name: &str) -> bool {
        let (path, is_dir) = match name.strip_suffix('/') {
            Some(dir) => (dir, true),
            None => (name, false),
        };
        let plain = Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::RootDir));
        if !plain || path.is_empty() {
            return false;
        }
        if path.starts_with('/') {
            let path = Path::new(path);
            return !path.starts_with(self.root)
                && self.outside_dirs.iter().any(|dir| path.starts_with(dir));
        }
        if is_dir {
            self.only_walked_files_under(path)
        } else {
            self.walked(path)
        }
    }

    fn walked(&self, rel: &str) -> bool {
        self.snapshot
            .files
            .binary_search_by(|f| f.path.as_str().cmp(rel))
            .is_ok()
    }

    /// True when every file under the workspace directory `rel` is one the
    /// walk hashed (so its listing reveals nothing git-ignored).
    fn only_walked_files_under(&self, rel: &str) -> bool {
        let mut stack = vec![self.root.join(rel)];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                seen += 1;
                if seen > MAX_DIR_FILES {
                    return false;
                }
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(path);
                    continue;
                }
                let rel = path.strip_prefix(self.root).unwrap_or(&path);
                if !self.walked(&rel.to_string_lossy()) {
                    return false;
                }
            }
        }
        true
    }
}

/// Computes the current values of `names`, as the task would see them.
pub struct Resolver<'a> {
    pub root: &'a Path,
    pub snapshot: &'a Snapshot,
    /// The environment the task's commands run with.
    pub env: &'a [(OsString, OsString)],
}

impl Resolver<'_> {
    pub fn resolve(&self, names: &DiscoveredNames) -> DiscoveredInputs {
        let env: HashMap<&OsString, &OsString> = self.env.iter().map(|(k, v)| (k, v)).collect();
        let files = names
            .files
            .iter()
            .map(|name| (name.clone(), self.file_value(name)))
            .collect();
        let env = names
            .env
            .iter()
            .map(|name| {
                let value = if name == WORKSPACE_PATH {
                    Some(self.root.as_os_str().to_owned())
                } else {
                    env.get(&OsString::from(name)).map(|v| (*v).clone())
                };
                let value = match value {
                    Some(value) => {
                        hex::encode(&blake3::hash(value.as_encoded_bytes()).as_bytes()[..16])
                    }
                    None => "<unset>".to_string(),
                };
                (name.clone(), value)
            })
            .collect();
        DiscoveredInputs { files, env }
    }

    fn file_value(&self, name: &str) -> String {
        if let Some(dir) = name.strip_suffix('/') {
            return self.dir_value(&self.absolute(dir));
        }
        if !name.starts_with('/')
            && let Ok(i) = self
                .snapshot
                .files
                .binary_search_by(|f| f.path.as_str().cmp(name))
        {
            return crate::inputs::manifest_value(&self.snapshot.files[i]);
        }
        file_digest(&self.absolute(name))
    }

    fn absolute(&self, name: &str) -> PathBuf {
        if name.starts_with('/') {
            PathBuf::from(name)
        } else {
            self.root.join(name)
        }
    }

    /// Every file under `dir` (names and contents), as cargo's
    /// rerun-if-changed on a directory watches all of them.
    fn dir_value(&self, dir: &Path) -> String {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&current) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    stack.push(entry.path());
                } else {
                    files.push(entry.path());
                }
                if files.len() > MAX_DIR_FILES {
                    return "<too many files>".to_string();
                }
            }
        }
        if files.is_empty() && !dir.is_dir() {
            return "<absent>".to_string();
        }
        files.sort();
        let mut hasher = blake3::Hasher::new();
        for file in files {
            let rel = file.strip_prefix(dir).unwrap_or(&file);
            hasher.update(rel.as_os_str().as_encoded_bytes());
            hasher.update(b"\0");
            hasher.update(file_digest(&file).as_bytes());
        }
        hex::encode(hasher.finalize().as_bytes())
    }
}

/// Content hash of a regular file (following symlinks); a marker for
/// anything else, so a FIFO or a device named by a hostile manifest is never
/// opened.
fn file_digest(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => match xtask_hash::hash_file(path, meta.len()) {
            Ok(hash) => hex::encode(hash.as_bytes()),
            Err(_) => "<unreadable>".to_string(),
        },
        Ok(meta) if meta.is_dir() => "<directory>".to_string(),
        Ok(_) => "<not a file>".to_string(),
        Err(_) => "<absent>".to_string(),
    }
}

/// One compilation unit of a cargo run, from its JSON messages.
#[derive(Debug, Default)]
struct Unit {
    package_id: String,
    manifest_dir: PathBuf,
    dep_infos: BTreeSet<PathBuf>,
    build_output: Option<PathBuf>,
}

/// What a cargo invocation's `--message-format=json` output says it built,
/// collected as the messages stream by.
#[derive(Debug, Default)]
pub struct CargoReads {
    units: Vec<Unit>,
    dirs_by_package: HashMap<String, PathBuf>,
}

impl CargoReads {
    /// Takes note of one JSON message (others are ignored).
    pub fn observe(&mut self, message: &serde_json::Value) {
        let Some(package_id) = message["package_id"].as_str() else {
            return;
        };
        match message["reason"].as_str() {
            Some("compiler-artifact") => {
                let Some(manifest) = message["manifest_path"].as_str() else {
                    return;
                };
                let manifest_dir = Path::new(manifest)
                    .parent()
                    .unwrap_or(Path::new("/"))
                    .to_path_buf();
                self.dirs_by_package
                    .insert(package_id.to_string(), manifest_dir.clone());
                let is_build_script = message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "custom-build"));
                let mut unit = Unit {
                    package_id: package_id.to_string(),
                    manifest_dir,
                    ..Unit::default()
                };
                for file in message["filenames"].as_array().into_iter().flatten() {
                    if let Some(file) = file.as_str() {
                        unit.dep_infos
                            .extend(dep_info_paths(Path::new(file), is_build_script));
                    }
                }
                self.units.push(unit);
            }
            Some("build-script-executed") => {
                if let Some(out_dir) = message["out_dir"].as_str() {
                    let output = Path::new(out_dir).with_file_name("output");
                    self.units.push(Unit {
                        package_id: package_id.to_string(),
                        build_output: Some(output),
                        ..Unit::default()
                    });
                }
            }
            _ => {}
        }
    }

    /// The names one member's result depends on beyond its key: what the
    /// units of `wanted` packages read, minus what `filter` says the key
    /// already covers.
    pub fn names(&self, wanted: &dyn Fn(&str) -> bool, filter: &Filter<'_>) -> DiscoveredNames {
        let mut names = DiscoveredNames {
            format: NAMES_FORMAT,
            ..DiscoveredNames::default()
        };
        for unit in &self.units {
            let name = package_name(&unit.package_id);
            if !wanted(name) {
                continue;
            }
            let is_path_crate = unit.package_id.starts_with("path+");
            let manifest_dir = if unit.manifest_dir.as_os_str().is_empty() {
                self.dirs_by_package
                    .get(&unit.package_id)
                    .cloned()
                    .unwrap_or_default()
            } else {
                unit.manifest_dir.clone()
            };
            if is_path_crate && !manifest_dir.as_os_str().is_empty() {
                // A path crate's manifest (edition, features, lints) is in no
                // dep-info; inside the workspace the key covers it already.
                filter.add_file(&mut names, &manifest_dir.join("Cargo.toml"), false);
            }
            for dep_info_path in &unit.dep_infos {
                let Some(text) = read_bounded(dep_info_path) else {
                    continue;
                };
                let info = dep_info::parse_dep_info(&text);
                for file in info.files {
                    // rustc runs in the workspace root: relative paths are from there.
                    filter.add_file(&mut names, &filter.root.join(file), false);
                }
                for (var, _) in info.env {
                    filter.add_env(&mut names, &var, is_path_crate);
                }
            }
            if let Some(output) = &unit.build_output
                && let Some(text) = read_bounded(output)
            {
                let out = dep_info::parse_build_script_output(&text);
                for path in out.rerun_if_changed {
                    let path = manifest_dir.join(path);
                    let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
                    filter.add_file(&mut names, &path, is_dir);
                }
                for var in out.rerun_if_env_changed {
                    filter.add_env(&mut names, &var, false);
                }
            }
        }
        if names.files.len() + names.env.len() > MAX_NAMES {
            names.files.clear();
            names.env.clear();
        }
        names
    }
}

/// Decides which reported reads are new information.
pub struct Filter<'a> {
    pub root: &'a Path,
    /// Directories whose contents are build products or pinned by
    /// Cargo.lock: the target directory, cargo's registry and git checkouts,
    /// rustup's toolchains.
    pub excluded: Vec<PathBuf>,
    /// True for a workspace-relative path whose content the key already
    /// covers.
    pub covered: &'a dyn Fn(&str) -> bool,
    /// Whether the checkout's location matters to the result (build and
    /// test: a binary embeds `CARGO_MANIFEST_DIR`; a lint does not).
    pub location_matters: bool,
}

impl Filter<'_> {
    fn add_file(&self, names: &mut DiscoveredNames, path: &Path, is_dir: bool) {
        let path = normalize(path);
        if self.excluded.iter().any(|dir| path.starts_with(dir)) {
            return;
        }
        let name = match path.strip_prefix(self.root) {
            Ok(rel) => {
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !is_dir && (self.covered)(&rel) {
                    return;
                }
                rel
            }
            Err(_) => path.to_string_lossy().into_owned(),
        };
        if name.is_empty() {
            return;
        }
        names
            .files
            .insert(if is_dir { format!("{name}/") } else { name });
    }

    fn add_env(&self, names: &mut DiscoveredNames, var: &str, is_path_crate: bool) {
        let is_path_var =
            PATH_VARS.contains(&var) || PATH_VAR_PREFIXES.iter().any(|p| var.starts_with(p));
        if is_path_var {
            // Registry crates' locations are pinned by Cargo.lock; ours are not.
            if is_path_crate && self.location_matters {
                names.env.insert(WORKSPACE_PATH.to_string());
            }
            return;
        }
        if CARGO_SET_VARS.contains(&var) || CARGO_SET_PREFIXES.iter().any(|p| var.starts_with(p)) {
            return;
        }
        names.env.insert(var.to_string());
    }
}

/// Where the dep-info of an artifact is: `deps/libfoo-<hash>.rlib` →
/// `deps/foo-<hash>.d`; an uplifted `debug/foo` → the `deps/foo-<hash>` it
/// is a hard link of; a build script → every `.d` beside it.
fn dep_info_paths(artifact: &Path, is_build_script: bool) -> Vec<PathBuf> {
    let Some(dir) = artifact.parent() else {
        return Vec::new();
    };
    if is_build_script {
        return std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "d"))
                    .collect()
            })
            .unwrap_or_default();
    }
    let Some(file_name) = artifact.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if dir.file_name().is_some_and(|d| d == "deps") {
        let stem = match file_name.rsplit_once('.') {
            Some((stem, ext))
                if ["rlib", "rmeta", "so", "dylib", "a", "dll", "wasm"].contains(&ext) =>
            {
                stem.strip_prefix("lib").unwrap_or(stem)
            }
            Some((stem, "exe")) => stem,
            _ => file_name,
        };
        return vec![dir.join(format!("{stem}.d"))];
    }
    // Uplifted: find the deps/ file with the same inode.
    uplifted_source(artifact)
        .map(|source| {
            vec![source.with_file_name(format!(
                "{}.d",
                source.file_name().unwrap_or_default().to_string_lossy()
            ))]
        })
        .unwrap_or_default()
}

fn uplifted_source(artifact: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(artifact).ok()?.ino();
    let name = artifact.file_stem()?.to_str()?.replace('-', "_");
    let deps = artifact.parent()?.join("deps");
    std::fs::read_dir(&deps)
        .ok()?
        .flatten()
        .find(|entry| {
            entry.file_name().to_str().is_some_and(|n| {
                n.strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
                    && !n.ends_with(".d")
            }) && entry.metadata().is_ok_and(|m| m.ino() == inode)
        })
        .map(|entry| entry.path())
}

fn read_bounded(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_DEP_INFO_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The package name in a package id spec: `registry+…#serde@1.0.0` →
/// `serde`, `path+file:///w/vend#0.1.0` → `vend`.
pub fn package_name(package_id: &str) -> &str {
    let (url, fragment) = package_id.rsplit_once('#').unwrap_or((package_id, ""));
    if let Some((name, _version)) = fragment.split_once('@') {
        return name;
    }
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// Removes `.` and `..` without touching the file system (a `..` after a
/// symlink is what rustc meant too: it opened the path as written).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The directories whose files are never discovered inputs.
pub fn excluded_dirs(target_dir: &Path) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cargo")));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".rustup")));
    let mut dirs = vec![normalize(target_dir)];
    if let Some(cargo_home) = cargo_home {
        dirs.push(normalize(&cargo_home.join("registry")));
        dirs.push(normalize(&cargo_home.join("git")));
    }
    if let Some(rustup_home) = rustup_home {
        dirs.push(normalize(&rustup_home.join("toolchains")));
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_ids() {
        assert_eq!(
            package_name("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.219"),
            "serde"
        );
        assert_eq!(package_name("path+file:///w/vendored/vend#0.1.0"), "vend");
        assert_eq!(
            package_name("path+file:///w/crates/x#my-lib@0.2.0"),
            "my-lib"
        );
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(
            normalize(Path::new("/w/a/src/../../shared/data.txt")),
            Path::new("/w/shared/data.txt")
        );
    }

    #[test]
    fn manifests_from_elsewhere_are_checked() {
        let good = br#"{"format":1,"files":["shared/x"],"env":["MODE"]}"#;
        assert!(DiscoveredNames::parse(good).is_some());
        assert!(DiscoveredNames::parse(br#"{"format":2,"files":[],"env":[]}"#).is_none());
        assert!(DiscoveredNames::parse(br#"{"format":1,"files":[""],"env":[]}"#).is_none());
        assert!(DiscoveredNames::parse(br#"{"format":1,"files":[],"env":["A=B"]}"#).is_none());
        assert!(DiscoveredNames::parse(b"not json").is_none());
    }

    #[test]
    fn filter_drops_covered_products_and_cargo_vars() {
        let root = Path::new("/w");
        let covered = |rel: &str| rel == "a/src/lib.rs";
        let filter = Filter {
            root,
            excluded: vec![
                PathBuf::from("/w/target"),
                PathBuf::from("/h/.cargo/registry"),
            ],
            covered: &covered,
            location_matters: true,
        };
        let mut names = DiscoveredNames::default();
        for path in [
            "/w/a/src/lib.rs",
            "/w/a/src/../../shared/data.txt",
            "/w/target/debug/build/a-1/out/gen.rs",
            "/h/.cargo/registry/src/x/lib.rs",
            "/elsewhere/vend/src/lib.rs",
        ] {
            filter.add_file(&mut names, Path::new(path), false);
        }
        filter.add_file(&mut names, Path::new("/w/assets"), true);
        for var in ["CARGO_PKG_VERSION", "OUT_DIR", "MYVAR"] {
            filter.add_env(&mut names, var, true);
        }
        filter.add_env(&mut names, "CARGO_MANIFEST_DIR", false);
        assert_eq!(
            names.files.iter().collect::<Vec<_>>(),
            ["/elsewhere/vend/src/lib.rs", "assets/", "shared/data.txt"]
        );
        assert_eq!(names.env.iter().collect::<Vec<_>>(), ["MYVAR"]);
        filter.add_env(&mut names, "CARGO_MANIFEST_DIR", true);
        assert!(names.env.contains(WORKSPACE_PATH));
    }

    fn walked_snapshot(paths: &[&str]) -> Snapshot {
        let stat = xtask_hash::FileStat {
            size: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            inode: 0,
            mode: 0,
        };
        let mut files: Vec<xtask_hash::FileEntry> = paths
            .iter()
            .map(|path| xtask_hash::FileEntry {
                path: path.to_string(),
                hash: blake3::hash(b""),
                executable: false,
                stat,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Snapshot {
            files,
            ..Snapshot::default()
        }
    }

    #[test]
    fn an_unsigned_remote_manifest_names_only_what_the_workspace_shows() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        for file in [
            "assets/a.txt",
            "assets/sub/b.txt",
            "config/app.toml",
            "config/.env",
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), "x").unwrap();
        }
        // `.env` is git-ignored: the walk did not hash it.
        let snapshot = walked_snapshot(&[
            "assets/a.txt",
            "assets/sub/b.txt",
            "config/app.toml",
            "shared/data.txt",
        ]);
        let outside = [PathBuf::from("/vendor/dep")];
        let secret = |name: &str| name.contains("SECRET");
        let policy = UnsignedRemoteNames {
            root,
            snapshot: &snapshot,
            outside_dirs: &outside,
            is_secret_name: &secret,
        };
        let root_text = root.to_string_lossy().into_owned();
        let allowed_file = format!("{root_text}-elsewhere/x");
        for (file, allowed) in [
            ("shared/data.txt", true),
            ("assets/", true),
            ("/vendor/dep/src/lib.rs", true),
            ("/vendor/dep/Cargo.toml", true),
            ("config/.env", false),
            ("config/", false),
            ("not/walked.rs", false),
            ("../outside.txt", false),
            ("shared/../config/.env", false),
            ("./shared/data.txt", false),
            ("/vendor/dep/../../etc/passwd", false),
            ("/vendor/depot/secret", false),
            ("/etc/passwd", false),
            (allowed_file.as_str(), false),
        ] {
            let names = DiscoveredNames {
                format: NAMES_FORMAT,
                files: BTreeSet::from([file.to_string()]),
                env: BTreeSet::new(),
            };
            assert_eq!(policy.refused(&names).is_none(), allowed, "{file}");
        }
        for (var, allowed) in [
            ("MY_FLAG", true),
            (WORKSPACE_PATH, true),
            ("AWS_SECRET_ACCESS_KEY", false),
        ] {
            let names = DiscoveredNames {
                format: NAMES_FORMAT,
                files: BTreeSet::new(),
                env: BTreeSet::from([var.to_string()]),
            };
            assert_eq!(policy.refused(&names), (!allowed).then_some(var), "{var}");
        }
    }
}
