//! `run --dry-run[=json]`: the plan, with keys and cache status, nothing run.
//! The status says where a hit is: the local cache, or (asked only for local
//! misses) the remote one.

use serde::Serialize;
use xtask_engine::{CacheHit, Environment, Plan, PlannedTask, TieredCache, Workspace};

/// What the cache has for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheStatus {
    Hit(CacheHit),
    Miss,
    /// The task is not cached (`cache = false`, persistent, nothing to run).
    Disabled,
}

impl CacheStatus {
    /// The JSON's `cache` (format 1): `HIT`, `MISS` or `DISABLED`.
    fn code(self) -> &'static str {
        match self {
            CacheStatus::Hit(_) => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Disabled => "DISABLED",
        }
    }

    /// What the text says.
    fn describe(self) -> &'static str {
        match self {
            CacheStatus::Hit(CacheHit::Local) => "HIT (local)",
            CacheStatus::Hit(CacheHit::Remote) => "HIT (remote)",
            CacheStatus::Miss => "MISS",
            CacheStatus::Disabled => "DISABLED",
        }
    }

    fn hit(self) -> Option<CacheHit> {
        match self {
            CacheStatus::Hit(hit) => Some(hit),
            _ => None,
        }
    }
}

use crate::args::DryRunFormat;
use crate::stdout::outln;

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct DryRun<'a> {
    format: u32,
    tasks: Vec<DryRunTask<'a>>,
    files_hashed: usize,
    files_total: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct DryRunTask<'a> {
    task_id: &'a str,
    package: &'a str,
    task: &'a str,
    key: &'a str,
    /// `HIT` or `MISS`; `DISABLED` when the task is not cached.
    cache: &'static str,
    /// Where a hit is: `local`, or `remote` (absent for a miss).
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_location: Option<CacheHit>,
    #[serde(skip)]
    status: CacheStatus,
    command: Option<&'a str>,
    /// Runs as one cargo invocation with the other cache-missed tasks of its
    /// kind that are ready at the same time (`command` is its part alone).
    batched: bool,
    directory: &'a str,
    dependencies: Vec<&'a str>,
    dependents: Vec<&'a str>,
    outputs: &'a [xtask_config::PathGlob],
    /// Input files and the hashes of their contents.
    inputs: &'a std::collections::BTreeMap<String, String>,
    /// Declared variables, with the workspace's salted hashes of their values
    /// (never the values, nor their bare hashes: those are guessable).
    env: std::collections::BTreeMap<String, String>,
    /// What cargo reported the last run read beyond `inputs` (files outside
    /// the package, `env!` reads), with their values now.
    #[serde(skip_serializing_if = "Option::is_none")]
    discovered: Option<xtask_engine::key::DiscoveredInputs>,
}

pub fn print(
    ws: &Workspace,
    plan: &Plan,
    env: &Environment,
    cache: &TieredCache<'_>,
    format: DryRunFormat,
) -> anyhow::Result<()> {
    // As a run would look them up: with the manifests only the remote has.
    let warn = |message: String| eprintln!("warning: {message}");
    let settled = xtask_engine::settled_for_dry_run(ws, plan, env, cache, &warn);
    let tasks = dry_run_tasks(ws, plan, &settled, cache);
    if format == DryRunFormat::Json {
        let dry_run = DryRun {
            format: 1,
            tasks,
            files_hashed: plan.hashed_files,
            files_total: plan.total_files,
        };
        outln!("{}", serde_json::to_string_pretty(&dry_run)?);
        return Ok(());
    }
    print_text(&tasks)
}

/// Every task in plan order, with where the cache has it.
fn dry_run_tasks<'a>(
    ws: &'a Workspace,
    plan: &'a Plan,
    settled: &'a [std::borrow::Cow<'a, PlannedTask>],
    cache: &TieredCache<'_>,
) -> Vec<DryRunTask<'a>> {
    plan.graph
        .order
        .iter()
        .map(|&node| {
            let task = &plan.graph.nodes[node];
            let planned: &PlannedTask = &settled[node];
            let shown = planned.shown_inputs(&plan.env_salt);
            let package = &ws.graph.packages[task.package];
            let status = if !task.def.cache || task.def.persistent || planned.command.is_none() {
                CacheStatus::Disabled
            } else {
                cache
                    .exists(&planned.key)
                    .map_or(CacheStatus::Miss, CacheStatus::Hit)
            };
            DryRunTask {
                task_id: plan.graph.label(node),
                package: &package.name,
                task: &task.task,
                key: &planned.key,
                cache: status.code(),
                cache_location: status.hit(),
                status,
                command: planned.command.as_deref(),
                batched: matches!(task.def.action, xtask_config::Action::Cargo(_))
                    && !task.def.persistent,
                directory: &package.dir,
                dependencies: task.deps.iter().map(|&d| plan.graph.label(d)).collect(),
                dependents: task
                    .dependents
                    .iter()
                    .map(|&d| plan.graph.label(d))
                    .collect(),
                outputs: &planned.outputs,
                inputs: &planned.inputs.files,
                env: shown.env,
                discovered: shown.discovered,
            }
        })
        .collect()
}

fn print_text(tasks: &[DryRunTask<'_>]) -> anyhow::Result<()> {
    let hits = |location: CacheHit| {
        tasks
            .iter()
            .filter(|t| t.status == CacheStatus::Hit(location))
            .count()
    };
    let (local, remote) = (hits(CacheHit::Local), hits(CacheHit::Remote));
    outln!(
        "Tasks to run ({} total, {} cached):",
        tasks.len(),
        local + remote
    );
    if remote > 0 {
        outln!("  ({remote} of them on the remote cache only)");
    }
    for task in tasks {
        outln!();
        outln!("{}", task.task_id);
        outln!("  key           = {}", task.key);
        outln!("  cache         = {}", task.status.describe());
        outln!(
            "  command       = {}",
            task.command.unwrap_or("<nothing to run>")
        );
        if task.batched {
            outln!(
                "  batched       = yes: one cargo invocation (-p per package) with the other ready `{}` tasks of the same settings",
                task.task
            );
        }
        outln!(
            "  directory     = {}",
            if task.directory.is_empty() {
                "."
            } else {
                task.directory
            }
        );
        outln!("  inputs        = {} files", task.inputs.len());
        if let Some(discovered) = &task.discovered {
            let names: Vec<&str> = discovered
                .files
                .keys()
                .chain(discovered.env.keys())
                .map(String::as_str)
                .collect();
            outln!("  discovered    = {}", names.join(", "));
        }
        outln!(
            "  outputs       = {}",
            xtask_config::glob::join(task.outputs)
        );
        outln!("  dependencies  = {}", task.dependencies.join(", "));
        outln!("  dependents    = {}", task.dependents.join(", "));
        outln!(
            "  env           = {}",
            task.env.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
