//! `cargo xtask explain pkg#task`: why the task will (or will not) hit.

use std::process::ExitCode;

use anyhow::bail;
use xtask_cache::Lookup;
use xtask_engine::{Environment, History, Workspace, explain};

use crate::args::ExplainArgs;
use crate::stdout::outln;

pub fn explain(mut ws: Workspace, args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let Some((package, task)) = args.task.split_once('#') else {
        bail!(
            "`{}` is not a task id\nhint: write it as `package#task`, for example `api#build`",
            args.task
        );
    };
    let Some(index) = ws.graph.find(package) else {
        bail!(
            "unknown package `{package}`\nhint: `cargo xtask graph` lists the workspace's packages"
        );
    };
    let env = Environment::capture();
    let plan = xtask_engine::plan_current(&mut ws, &[task.to_string()], &[index], &env)?;
    let ws = &ws;
    let Some(node) = plan.graph.find(&args.task) else {
        bail!("package `{package}` has no task `{task}`");
    };
    let now = &plan.tasks[node];
    outln!("{}: key {}", args.task, now.key);
    if let Some(discovered) = &now.inputs.discovered {
        outln!("discovered inputs (what cargo reported its last run read beyond its own files):");
        for name in discovered.files.keys() {
            outln!("  file  {name}");
        }
        for name in discovered.env.keys() {
            outln!("  env   {name}");
        }
    }
    let in_cache = matches!(ws.cache.lookup(&now.key), Ok(Lookup::Hit(_)));
    let last = History::last(&ws.state_dir, &args.task).unwrap_or_else(|error| {
        eprintln!("warning: {}", error.warning());
        None
    });
    let Some(before) = last else {
        outln!(
            "no earlier successful run of {} is recorded here, so there is nothing to compare with",
            args.task
        );
        outln!(
            "cache: {}",
            if in_cache {
                "HIT (an entry exists, from another run or machine)"
            } else {
                "MISS"
            }
        );
        return Ok(ExitCode::SUCCESS);
    };
    let changes = explain::diff(&before.inputs, &now.shown_inputs(&plan.env_salt));
    if changes.is_empty() {
        if in_cache {
            outln!("nothing changed since the last successful run: it will be a cache hit");
        } else {
            outln!(
                "nothing changed since the last successful run, but its entry is no longer in the cache (pruned or cleaned): it will run"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The stored inputs carry salted env hashes, so the key comes from the index.
    outln!(
        "{} change(s) since the last successful run (key {}):",
        changes.len(),
        before.key,
    );
    for change in &changes {
        // File names come from the workspace, which a pull request controls.
        let name = xtask_report::clean_line(&change.name, false);
        outln!("  {:<16} {name}  {}", change.kind, change.what);
    }
    Ok(ExitCode::SUCCESS)
}
