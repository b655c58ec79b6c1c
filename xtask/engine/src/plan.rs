//! Planning a run: the task graph, every task's inputs and key, computed up
//! front and in dependency order. Nothing runs here, so `--dry-run`,
//! `explain` and a real run all see the same keys.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use xtask_config::{Action, CargoKind, PathGlob, ROOT_PREFIX, TaskDef};
use xtask_graph::{DepKind, PackageGraph, PackageIndex, cargo_config};
use xtask_hash::{Snapshot, StatCache};
use xtask_toolbox::hex;

use crate::EngineError;
use crate::cargo_commands::{CargoCommands, TestRunner};
use crate::cargo_lock::Lock;
use crate::discovered::{self, DiscoveredNames, Resolver};
use crate::env::Environment;
use crate::env_salt::EnvSalt;
use crate::inputs::{self, PackageFiles};
use crate::key::{CargoInputs, KeyDefinition, KeyInputs};
use crate::outputs::Patterns;
use crate::task_graph::{TaskGraph, UPSTREAM_EDGES};
use crate::workspace::Workspace;

/// Everything known about a run before it starts.
pub struct Plan {
    pub graph: TaskGraph,
    pub tasks: Vec<PlannedTask>,
    /// Files hashed for this plan (not answered by the stat cache), and bytes.
    pub hashed_files: usize,
    pub hashed_bytes: u64,
    pub total_files: usize,
    /// The workspace's files as hashed for this plan: discovered inputs
    /// inside the workspace are valued from it, and a task's inputs are
    /// checked against it again after the task ran.
    pub snapshot: Snapshot,
    /// What the run should say before it starts (tasks planned uncached,
    /// and why).
    pub notices: Vec<String>,
    /// For each cargo task, the features its dependencies compile with when
    /// its package is built alone: batches only join tasks that agree.
    pub feature_resolutions: Vec<Option<crate::features::Resolution>>,
    /// Keys cover the bare hashes of env values (machines sharing a remote
    /// must agree on them); whatever shows or stores inputs uses
    /// [`PlannedTask::shown_inputs`], salted per workspace (env_salt.rs).
    pub env_salt: EnvSalt,
}

#[derive(Clone)]
pub struct PlannedTask {
    /// The key a hit must match: `inputs.key()`.
    pub key: String,
    /// The key of what is known before running (`inputs` without
    /// `discovered`): it names the discovered-inputs manifest.
    pub declared_key: String,
    /// What the last run of `declared_key` read beyond its inputs, from its
    /// manifest; `None` when no run reported anything (yet).
    pub discovered: Option<DiscoveredNames>,
    pub inputs: KeyInputs,
    /// What runs, as a shell command; `None` for a task with nothing to run.
    pub command: Option<String>,
    /// Output globs, relative to the package directory (or `$TURBO_ROOT$/…`).
    pub outputs: Vec<PathGlob>,
}

/// Plans `tasks` over the packages in `scope`, loading the package graph
/// from cargo again first if the cached one missed a new auto-discovered
/// target (see `target_layout.rs`).
pub fn plan_current(
    ws: &mut Workspace,
    tasks: &[String],
    scope: &[PackageIndex],
    env: &Environment,
) -> Result<Plan, EngineError> {
    match plan(ws, tasks, scope, env) {
        Err(EngineError::StaleGraph) => {
            ws.reload_graph()?;
            plan(ws, tasks, scope, env)
        }
        other => other,
    }
}

/// Plans `tasks` over the packages in `scope`. `Err(StaleGraph)` when the
/// cached graph must be reloaded first ([`plan_current`] does that).
// Long: one pass in topological order that fills every part of each key;
// the parts are computed by helpers (inputs, env, cargo context), what is
// left is the order in which they depend on each other.
pub fn plan(
    ws: &Workspace,
    tasks: &[String],
    scope: &[PackageIndex],
    env: &Environment,
) -> Result<Plan, EngineError> {
    let mut graph = TaskGraph::build(&ws.graph, &ws.pipeline, tasks, scope)?;
    let mut uncacheable = Vec::new();
    let snapshot = take_snapshot(ws)?;
    let files = PackageFiles::new(&ws.graph, &snapshot);
    let layout = crate::target_layout::digest(&ws.graph, &files);
    let fresh = ws.graph_source == xtask_graph::GraphSource::CargoMetadata;
    if !crate::target_layout::still_current(&ws.state_dir, &layout, fresh) {
        return Err(EngineError::StaleGraph);
    }
    let global_files = inputs::global_inputs(&snapshot, &ws.pipeline.global_inputs);

    let mut output_globs: HashMap<PackageIndex, Patterns> = HashMap::new();
    let mut compiled_outputs: HashMap<Vec<PathGlob>, Patterns> = HashMap::new();
    let mut cargo_context = None;
    let env_salt = EnvSalt::load_or_create(&ws.state_dir);
    let mut planned: Vec<Option<PlannedTask>> = (0..graph.nodes.len()).map(|_| None).collect();
    let mut feature_resolutions = vec![None; graph.nodes.len()];
    for &node in &graph.order {
        let task = &graph.nodes[node];
        let package = &ws.graph.packages[task.package];
        let (command, outputs) = effective_action(&ws.graph, task.package, &task.def);
        if task.def.cache && builds_outside_the_workspace(&ws.graph, &task.def) {
            uncacheable.push(node);
        }
        let excluded = output_globs
            .entry(task.package)
            .or_insert_with(|| package_output_globs(ws, &package.name, &mut compiled_outputs));

        let shown_outputs = outputs.iter().map(ToString::to_string).collect();
        let definition = KeyDefinition::of(&task.def, shown_outputs);
        let mut key_inputs = KeyInputs::new(&package.name, &package.dir, &task.task, definition);
        key_inputs.files =
            inputs::task_inputs(&ws.graph, &files, task.package, &task.def, excluded);
        key_inputs.global_files = global_files.clone();
        key_inputs.env = env.hashed(&task.def, &ws.pipeline.global_env);
        for &dep in &task.deps {
            let dep_key = planned[dep]
                .as_ref()
                .map(|p| p.key.clone())
                .unwrap_or_default();
            key_inputs
                .dependencies
                .insert(graph.label(dep).to_string(), dep_key);
        }
        let mut names = None;
        if let Action::Cargo(kind) = task.def.action {
            let context = cargo_context.get_or_insert_with(|| CargoContext::new(ws));
            key_inputs.cargo = Some(context.inputs(ws, &files, task.package, &task.task, kind));
        }
        if let Action::Cargo(kind) = task.def.action {
            feature_resolutions[node] = Some(crate::features::resolve(
                &ws.graph,
                task.package,
                kind,
                &task.def.features,
            ));
        }
        let declared_key = key_inputs.key();
        if matches!(task.def.action, Action::Cargo(_)) {
            names = local_manifest(ws, &declared_key);
            if let Some(names) = &names {
                let command_env =
                    env.for_command(&task.def, ws.pipeline.env_mode, &ws.pipeline.global_env);
                let resolver = Resolver {
                    root: &ws.root,
                    snapshot: &snapshot,
                    env: &command_env,
                };
                key_inputs.discovered = Some(resolver.resolve(names));
            }
        }
        // Without discovered inputs the key is the declared one: encode once.
        let key = if key_inputs.discovered.is_some() {
            key_inputs.key()
        } else {
            declared_key.clone()
        };
        planned[node] = Some(PlannedTask {
            key,
            declared_key,
            discovered: names,
            inputs: key_inputs,
            command,
            outputs,
        });
    }
    let mut notices = Vec::new();
    for node in uncacheable {
        graph.nodes[node].def.cache = false;
        notices.push(format!(
            "{}: its binaries go to {}, outside the workspace, where a cache hit cannot restore them; not caching it (set CARGO_TARGET_DIR inside the workspace, or declare `outputs`)",
            graph.label(node),
            ws.graph.target_dir.display()
        ));
    }
    Ok(Plan {
        notices,
        tasks: planned
            .into_iter()
            .map(|p| p.expect("every node is planned in topological order"))
            .collect(),
        graph,
        hashed_files: snapshot.hashed,
        hashed_bytes: snapshot.hashed_bytes,
        total_files: snapshot.files.len(),
        snapshot,
        feature_resolutions,
        env_salt,
    })
}

impl PlannedTask {
    /// The inputs as they may be shown or stored: every env value hash
    /// (declared and discovered) salted with the workspace's salt, so a
    /// guessable value cannot be looked up from what we print.
    pub fn shown_inputs(&self, salt: &EnvSalt) -> KeyInputs {
        let mut inputs = self.inputs.clone();
        inputs.env = salt.redact(&inputs.env);
        if let Some(discovered) = &mut inputs.discovered {
            discovered.env = salt.redact(&discovered.env);
        }
        inputs
    }
}

/// The discovered-inputs manifest of `declared_key` in the local cache. A
/// damaged or empty one is no manifest.
pub(crate) fn local_manifest(ws: &Workspace, declared_key: &str) -> Option<DiscoveredNames> {
    match ws.cache.lookup(&discovered::manifest_key(declared_key)) {
        Ok(xtask_cache::Lookup::Hit(entry)) => {
            DiscoveredNames::parse(entry.meta()).filter(|names| !names.is_empty())
        }
        _ => None,
    }
}

/// Hashes the workspace's files, through the persistent stat cache.
pub fn take_snapshot(ws: &Workspace) -> Result<Snapshot, EngineError> {
    let stat_path = ws
        .state_dir
        .path(xtask_toolbox::layout::StateBucket::StatCache);
    let mut stat_cache = StatCache::load(&stat_path);
    let snapshot = xtask_hash::snapshot(&ws.root, &ws.skipped_dirs(), &mut stat_cache)?;
    if snapshot.hashed > 0 || stat_cache.wants_save() {
        // Losing the stat cache only costs re-hashing next time.
        let _ = stat_cache.save(&stat_path);
    }
    Ok(snapshot)
}

/// The outputs of every task the pipeline defines for a package: excluded
/// from its default inputs whichever task is being hashed. Most packages
/// share the same patterns, so each distinct list is compiled once.
fn package_output_globs(
    ws: &Workspace,
    package: &str,
    compiled: &mut HashMap<Vec<PathGlob>, Patterns>,
) -> Patterns {
    let patterns: Vec<PathGlob> = ws
        .pipeline
        .task_names()
        .into_iter()
        .filter_map(|task| ws.pipeline.task_for(package, task))
        .flat_map(|def| def.outputs.iter().cloned())
        .collect();
    compiled
        .entry(patterns)
        .or_insert_with_key(|patterns| Patterns::package_outputs(patterns.iter()))
        .clone()
}

/// The command a task runs and the outputs it declares, with the built-in
/// cargo kinds spelled out.
fn effective_action(
    graph: &PackageGraph,
    package: PackageIndex,
    def: &TaskDef,
) -> (Option<String>, Vec<PathGlob>) {
    match &def.action {
        Action::Shell(command) => (Some(command.clone()), def.outputs.clone()),
        Action::Nothing => (None, def.outputs.clone()),
        Action::Cargo(kind) => {
            // What a batch of this package alone runs (see batch.rs).
            let command = CargoCommands {
                graph,
                kind: *kind,
                def,
                test_runner: TestRunner::detect(),
            }
            .command_line(&[package]);
            let mut outputs = def.outputs.clone();
            if *kind == CargoKind::Build && outputs.is_empty() {
                outputs = built_binaries(graph, package, def.profile.as_deref());
            }
            (Some(command), outputs)
        }
    }
}

/// A built-in build whose binaries (its default outputs) land in a target
/// directory outside the workspace: outputs must be inside it to be stored
/// and restored, so a hit would restore nothing.
fn builds_outside_the_workspace(graph: &PackageGraph, def: &TaskDef) -> bool {
    def.action == Action::Cargo(CargoKind::Build)
        && def.outputs.is_empty()
        && !graph.target_dir.starts_with(&graph.root)
}

/// `$TURBO_ROOT$/target/<profile dir>/<bin>` for each binary, when the
/// target directory is inside the workspace (outputs must be).
fn built_binaries(
    graph: &PackageGraph,
    package: PackageIndex,
    profile: Option<&str>,
) -> Vec<PathGlob> {
    let Ok(target) = graph.target_dir.strip_prefix(&graph.root) else {
        return Vec::new();
    };
    let target = target.to_string_lossy();
    // Cargo's directory names for its built-in profiles.
    let dir = match profile {
        None | Some("release") | Some("bench") => "release",
        Some("dev") | Some("test") => "debug",
        Some(custom) => custom,
    };
    graph.packages[package]
        .binaries
        .iter()
        // A target directory whose name is not a valid glob matches nothing.
        .filter_map(|bin| PathGlob::parse(&format!("{ROOT_PREFIX}{target}/{dir}/{bin}")).ok())
        .collect()
}

pub(crate) fn nextest_installed() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).any(|dir| dir.join("cargo-nextest").is_file()))
            .unwrap_or(false)
    })
}

/// Workspace-wide inputs of cargo tasks, computed once per plan.
struct CargoContext {
    workspace_files: BTreeMap<String, String>,
    lock: Option<Lock>,
    rustc: String,
}

impl CargoContext {
    fn new(ws: &Workspace) -> CargoContext {
        let mut workspace_files = BTreeMap::new();
        let lock = std::fs::read_to_string(ws.root.join("Cargo.lock"))
            .ok()
            .and_then(|text| Lock::parse(&text));
        // With a readable lockfile each task hashes only its own closure of
        // it; otherwise the whole file counts.
        if lock.is_none()
            && let Ok(bytes) = std::fs::read(ws.root.join("Cargo.lock"))
        {
            workspace_files.insert(
                "Cargo.lock".to_string(),
                hex::encode(blake3::hash(&bytes).as_bytes()),
            );
        }
        for name in ["rust-toolchain", "rust-toolchain.toml"] {
            if let Ok(bytes) = std::fs::read(ws.root.join(name)) {
                workspace_files.insert(
                    name.to_string(),
                    hex::encode(blake3::hash(&bytes).as_bytes()),
                );
            }
        }
        // The workspace's cargo config and what it includes, named as paths
        // in the workspace so that the key is the same in every checkout.
        for config in cargo_config::files_in(&ws.root.join(".cargo")) {
            if let Some(digest) = config.digest {
                let name = config.path.strip_prefix(&ws.root).unwrap_or(&config.path);
                workspace_files.insert(name.to_string_lossy().into_owned(), digest);
            }
        }
        workspace_files.insert(
            "Cargo.toml (compilation settings)".into(),
            root_manifest_digest(ws),
        );
        workspace_files.extend(outer_cargo_config(&ws.root));
        let rustc = duct::cmd("rustc", ["-vV"])
            .dir(&ws.root)
            .stderr_null()
            .unchecked()
            .read()
            .unwrap_or_else(|_| "rustc not found".into());
        CargoContext {
            workspace_files,
            lock,
            rustc,
        }
    }

    fn inputs(
        &self,
        ws: &Workspace,
        files: &PackageFiles<'_>,
        package: PackageIndex,
        task: &str,
        kind: CargoKind,
    ) -> CargoInputs {
        let graph = &ws.graph;
        let mut closure = BTreeMap::new();
        let mut stack: Vec<PackageIndex> =
            graph.dependencies_of(package, &UPSTREAM_EDGES).collect();
        if matches!(kind, CargoKind::Test | CargoKind::Lint) {
            // Tests and lints (clippy --all-targets) compile dev-dependencies
            // too; `check` is plain `cargo check`, which does not.
            stack.extend(graph.dependencies_of(package, &[DepKind::Dev]));
        }
        while let Some(dep) = stack.pop() {
            let name = &graph.packages[dep].name;
            if dep == package || closure.contains_key(name) {
                continue;
            }
            closure.insert(name.clone(), dependency_digest(ws, files, dep, task));
            stack.extend(graph.dependencies_of(dep, &UPSTREAM_EDGES));
        }
        let package_info = &graph.packages[package];
        let mut workspace_files = self.workspace_files.clone();
        if kind == CargoKind::Lint {
            workspace_files.extend(lint_config_files(&graph.package_dir(package)));
        }
        CargoInputs {
            closure,
            external: self
                .lock
                .as_ref()
                .map(|lock| {
                    let mut external =
                        lock.external_closure(&package_info.name, &package_info.version);
                    external.retain(|entry, source| {
                        let name = entry.split(' ').next().unwrap_or(entry);
                        source != "path" || graph.find(name).is_none()
                    });
                    external
                })
                .unwrap_or_default(),
            workspace_files,
            rustc: self.rustc.clone(),
        }
    }
}

/// A dependency's files, plus what its own definition of the same task
/// declares as extra inputs: a dependent compiles the dependency, so what the
/// dependency's key includes, the dependent's does too.
fn dependency_digest(
    ws: &Workspace,
    files: &PackageFiles<'_>,
    dep: PackageIndex,
    task: &str,
) -> String {
    let digest = files.digest(&ws.graph, dep);
    let name = &ws.graph.packages[dep].name;
    let Some(def) = ws.pipeline.task_for(name, task) else {
        return digest;
    };
    if def.inputs.is_none() {
        return digest;
    }
    let declared = inputs::task_inputs(&ws.graph, files, dep, def, &Patterns::nothing());
    let mut hasher = blake3::Hasher::new();
    hasher.update(digest.as_bytes());
    for (path, value) in &declared {
        hasher.update(path.as_bytes());
        hasher.update(b"\0");
        hasher.update(value.as_bytes());
        hasher.update(b"\0");
    }
    hex::encode(hasher.finalize().as_bytes())
}

/// Files that configure compilation from outside the workspace: cargo's
/// config in every parent directory of the workspace and in `$CARGO_HOME`
/// (and the location of `$CARGO_HOME` itself, which holds the registry).
fn outer_cargo_config(root: &std::path::Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut dirs: Vec<std::path::PathBuf> =
        root.ancestors().skip(1).map(|d| d.join(".cargo")).collect();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo")));
    if let Some(home) = &cargo_home {
        found.insert(
            "$CARGO_HOME".to_string(),
            hex::encode(&blake3::hash(home.as_os_str().as_encoded_bytes()).as_bytes()[..16]),
        );
        dirs.push(home.clone());
    }
    for dir in &dirs {
        for config in cargo_config::files_in(dir) {
            if let Some(digest) = config.digest {
                found.insert(config.path.to_string_lossy().into_owned(), digest);
            }
        }
    }
    found
}

/// rustfmt's and clippy's configuration as they find it: the nearest
/// `rustfmt.toml`/`.rustfmt.toml` and `clippy.toml`/`.clippy.toml` searching
/// upward from the package (every one found counts: which one wins is the
/// tools' business), rustfmt's user config, and `CLIPPY_CONF_DIR`.
fn lint_config_files(package_dir: &std::path::Path) -> BTreeMap<String, String> {
    const NAMES: [&str; 4] = [
        "rustfmt.toml",
        ".rustfmt.toml",
        "clippy.toml",
        ".clippy.toml",
    ];
    let mut dirs: Vec<std::path::PathBuf> =
        package_dir.ancestors().map(|d| d.to_path_buf()).collect();
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")));
    if let Some(config) = config_home {
        dirs.push(config.join("rustfmt"));
    }
    let mut found = BTreeMap::new();
    if let Some(dir) = std::env::var_os("CLIPPY_CONF_DIR") {
        found.insert(
            "$CLIPPY_CONF_DIR".to_string(),
            hex::encode(&blake3::hash(dir.as_encoded_bytes()).as_bytes()[..16]),
        );
        dirs.push(dir.into());
    }
    hash_existing(&dirs, &NAMES, &mut found);
    found
}

/// Adds `path → blake3 of its content` for each `dir/name` that exists.
fn hash_existing(
    dirs: &[std::path::PathBuf],
    names: &[&str],
    found: &mut BTreeMap<String, String>,
) {
    for dir in dirs {
        for name in names {
            let path = dir.join(name);
            if let Ok(bytes) = std::fs::read(&path) {
                found.insert(
                    path.to_string_lossy().into_owned(),
                    hex::encode(blake3::hash(&bytes).as_bytes()),
                );
            }
        }
    }
}

/// The root manifest without `metadata` tables: editing a task definition
/// (or another tool's settings) does not change how anything compiles.
fn root_manifest_digest(ws: &Workspace) -> String {
    let text = std::fs::read_to_string(&ws.pipeline.root_manifest).unwrap_or_default();
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return hex::encode(blake3::hash(text.as_bytes()).as_bytes());
    };
    for section in ["workspace", "package"] {
        if let Some(toml::Value::Table(inner)) = table.get_mut(section) {
            inner.remove("metadata");
        }
    }
    let canonical = toml::to_string(&table).unwrap_or_default();
    hex::encode(blake3::hash(canonical.as_bytes()).as_bytes())
}
