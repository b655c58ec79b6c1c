//! Planning a run: the task graph, every task's inputs and key, computed up
//! front and in dependency order. Nothing runs here, so `--dry-run`,
//! `explain` and a real run all see the same keys.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use globset::GlobSet;
use xtask_config::{Action, CargoKind, ROOT_PREFIX, TaskDef};
use xtask_graph::{DepKind, PackageGraph, PackageIndex};
use xtask_hash::{Snapshot, StatCache};

use crate::EngineError;
use crate::cargo_lock::Lock;
use crate::env::Environment;
use crate::inputs::{self, PackageFiles};
use crate::key::{CargoInputs, KeyInputs};
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
}

pub struct PlannedTask {
    pub key: String,
    pub inputs: KeyInputs,
    /// What runs, as a shell command; `None` for a task with nothing to run.
    pub command: Option<String>,
    /// Output globs, relative to the package directory (or `$TURBO_ROOT$/…`).
    pub outputs: Vec<String>,
}

/// Plans `tasks` over the packages in `scope`.
pub fn plan(
    ws: &Workspace,
    tasks: &[String],
    scope: &[PackageIndex],
    env: &Environment,
) -> Result<Plan, EngineError> {
    let graph = TaskGraph::build(&ws.graph, &ws.pipeline, tasks, scope)?;
    let snapshot = take_snapshot(ws)?;
    let files = PackageFiles::new(&ws.graph, &snapshot);
    let global_files = inputs::global_inputs(&snapshot, &ws.pipeline.global_inputs);

    let mut output_globs: HashMap<PackageIndex, GlobSet> = HashMap::new();
    let mut compiled_outputs: HashMap<Vec<String>, GlobSet> = HashMap::new();
    let mut cargo_context = None;
    let mut planned: Vec<Option<PlannedTask>> = (0..graph.nodes.len()).map(|_| None).collect();
    for &node in &graph.order {
        let task = &graph.nodes[node];
        let package = &ws.graph.packages[task.package];
        let (command, outputs) = effective_action(&ws.graph, task.package, &task.def);
        let excluded = output_globs
            .entry(task.package)
            .or_insert_with(|| package_output_globs(ws, &package.name, &mut compiled_outputs));

        let mut definition = serde_json::to_value(&task.def).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut definition {
            map.insert("effective-outputs".into(), outputs.clone().into());
        }
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
        if let Action::Cargo(kind) = task.def.action {
            let context = cargo_context.get_or_insert_with(|| CargoContext::new(ws));
            key_inputs.cargo = Some(context.inputs(&ws.graph, &files, task.package, kind));
        }
        planned[node] = Some(PlannedTask {
            key: key_inputs.key(),
            inputs: key_inputs,
            command,
            outputs,
        });
    }
    Ok(Plan {
        tasks: planned
            .into_iter()
            .map(|p| p.expect("every node is planned in topological order"))
            .collect(),
        graph,
        hashed_files: snapshot.hashed,
        hashed_bytes: snapshot.hashed_bytes,
        total_files: snapshot.files.len(),
    })
}

/// Hashes the workspace's files, through the persistent stat cache.
pub fn take_snapshot(ws: &Workspace) -> Result<Snapshot, EngineError> {
    let stat_path = ws.state_dir.join("stat-cache.bin");
    let mut stat_cache = StatCache::load(&stat_path);
    let snapshot = xtask_hash::snapshot(&ws.root, &ws.skipped_dirs(), &mut stat_cache)?;
    if snapshot.hashed > 0 {
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
    compiled: &mut HashMap<Vec<String>, GlobSet>,
) -> GlobSet {
    let patterns: Vec<String> = ws
        .pipeline
        .task_names()
        .into_iter()
        .filter_map(|task| ws.pipeline.task_for(package, task))
        .flat_map(|def| def.outputs)
        .collect();
    compiled
        .entry(patterns)
        .or_insert_with_key(|patterns| inputs::output_globs(patterns.iter()))
        .clone()
}

/// The command a task runs and the outputs it declares, with the built-in
/// cargo kinds spelled out.
fn effective_action(
    graph: &PackageGraph,
    package: PackageIndex,
    def: &TaskDef,
) -> (Option<String>, Vec<String>) {
    let name = &graph.packages[package].name;
    match &def.action {
        Action::Shell(command) => (Some(command.clone()), def.outputs.clone()),
        Action::Nothing => (None, def.outputs.clone()),
        Action::Cargo(kind) => {
            let mut command =
                crate::batch::cargo_commands(graph, *kind, def, &[package]).join(" && ");
            if *kind == CargoKind::Test {
                // What runs the binaries `cargo test --no-run` built (see batch.rs).
                command.push_str(&if nextest_installed() {
                    format!(" && cargo nextest run --no-fail-fast --package {name}")
                } else {
                    format!(" && cargo test --no-fail-fast --package {name}")
                });
            }
            let mut outputs = def.outputs.clone();
            if *kind == CargoKind::Build && outputs.is_empty() {
                outputs = built_binaries(graph, package, def.profile.as_deref());
            }
            (Some(command), outputs)
        }
    }
}

/// `$TURBO_ROOT$/target/<profile dir>/<bin>` for each binary, when the
/// target directory is inside the workspace (outputs must be).
fn built_binaries(
    graph: &PackageGraph,
    package: PackageIndex,
    profile: Option<&str>,
) -> Vec<String> {
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
        .map(|bin| format!("{ROOT_PREFIX}{target}/{dir}/{bin}"))
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
                blake3::hash(&bytes).to_hex().to_string(),
            );
        }
        for name in [
            "rust-toolchain",
            "rust-toolchain.toml",
            ".cargo/config.toml",
            ".cargo/config",
        ] {
            if let Ok(bytes) = std::fs::read(ws.root.join(name)) {
                workspace_files.insert(name.to_string(), blake3::hash(&bytes).to_hex().to_string());
            }
        }
        workspace_files.insert(
            "Cargo.toml (compilation settings)".into(),
            root_manifest_digest(ws),
        );
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
        graph: &PackageGraph,
        files: &PackageFiles<'_>,
        package: PackageIndex,
        kind: CargoKind,
    ) -> CargoInputs {
        let mut closure = BTreeMap::new();
        let mut stack: Vec<PackageIndex> =
            graph.dependencies_of(package, &UPSTREAM_EDGES).collect();
        if kind != CargoKind::Build {
            // Tests, lints and checks of all targets compile dev-dependencies too.
            stack.extend(graph.dependencies_of(package, &[DepKind::Dev]));
        }
        while let Some(dep) = stack.pop() {
            let name = &graph.packages[dep].name;
            if dep == package || closure.contains_key(name) {
                continue;
            }
            closure.insert(name.clone(), files.digest(graph, dep));
            stack.extend(graph.dependencies_of(dep, &UPSTREAM_EDGES));
        }
        let package_info = &graph.packages[package];
        CargoInputs {
            closure,
            external: self
                .lock
                .as_ref()
                .map(|lock| lock.external_closure(&package_info.name, &package_info.version))
                .unwrap_or_default(),
            workspace_files: self.workspace_files.clone(),
            rustc: self.rustc.clone(),
        }
    }
}

/// The root manifest without `metadata` tables: editing a task definition
/// (or another tool's settings) does not change how anything compiles.
fn root_manifest_digest(ws: &Workspace) -> String {
    let text = std::fs::read_to_string(&ws.pipeline.root_manifest).unwrap_or_default();
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return blake3::hash(text.as_bytes()).to_hex().to_string();
    };
    for section in ["workspace", "package"] {
        if let Some(toml::Value::Table(inner)) = table.get_mut(section) {
            inner.remove("metadata");
        }
    }
    let canonical = toml::to_string(&table).unwrap_or_default();
    blake3::hash(canonical.as_bytes()).to_hex().to_string()
}
