//! `cargo xtask run`: plan, then dry-run or execute, then summarize.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use xtask_engine::{
    Children, Environment, Event, EventSink, OnFailure, Plan, RunOptions, TieredCache, Workspace,
};
use xtask_remote::{CliRemote, Remote, RemoteError};
use xtask_report::{Reporter, Style};
use xtask_toolbox::layout::{CacheBucket, StateBucket};

use crate::args::RunArgs;

/// How often a run prunes the cache on its own.
const AUTO_PRUNE_INTERVAL: Duration = Duration::from_secs(24 * 3600);

pub fn run(mut ws: Workspace, args: RunArgs, remote_flags: &CliRemote) -> anyhow::Result<ExitCode> {
    let env = Environment::capture();
    let scope = super::scope(&ws, &args.scope)?;
    let plan = xtask_engine::plan_current(&mut ws, &args.tasks, &scope, &env)?;

    let withheld = withheld_secrets(&ws, &plan, &env);
    if let Some(format) = &args.dry_run {
        for message in &withheld {
            eprintln!("warning: {message}");
        }
        // A dry run asks the remote where the local cache misses: its
        // warnings go straight to stderr, like the rest of a dry run's.
        let warn: Warn = Arc::new(|message| eprintln!("warning: {message}"));
        let remote = open_remote(&ws, remote_flags, &warn)?;
        let cache = TieredCache::new(&ws.cache, remote.as_ref().map(|(r, _)| r), &*warn);
        super::dry_run::print(&ws, &plan, &env, &cache, *format)?;
        leave_to_exit(plan);
        return Ok(ExitCode::SUCCESS);
    }

    let children = Arc::new(task_children());
    install_interrupt_handler(Arc::clone(&children));
    let reporter = Arc::new(Reporter::new(Style::detect(), args.output_logs.into()));
    for message in withheld {
        reporter.event(Event::Warning { message });
    }
    let warn: Warn = {
        let reporter = Arc::clone(&reporter);
        Arc::new(move |message| reporter.event(Event::Warning { message }))
    };
    let remote = open_remote(&ws, remote_flags, &warn)?;
    if let Some(hint) = remote
        .as_ref()
        .and_then(|(remote, _)| remote.signing_hint())
    {
        eprintln!("{hint}");
    }
    let options = RunOptions {
        tasks_requested: args.tasks.clone(),
        concurrency: args.concurrency.unwrap_or_else(default_concurrency).max(1),
        on_failure: if args.continue_on_error {
            OnFailure::Continue
        } else {
            OnFailure::Stop
        },
        force: args.force,
        no_cache_write: args.no_cache,
    };
    let summary = xtask_engine::execute(
        &ws,
        &plan,
        &options,
        &env,
        remote.as_ref().map(|(remote, _)| remote),
        reporter.as_ref(),
        &children,
    );
    if let Some(error) = children.reaper_error() {
        reporter.event(Event::Warning {
            message: format!(
                "could not start the task reaper ({error}): tasks may outlive xtask if it is killed"
            ),
        });
    }
    if let Some((remote, limit)) = &remote {
        finish_uploads(remote, *limit);
    }
    if let Some(path) = &args.summarize {
        write_summary(&ws, path, &summary)?;
    }
    auto_prune(&ws);
    leave_to_exit(plan);
    Ok(ExitCode::from(summary.exit_code.clamp(0, 255) as u8))
}

/// The plan is data only (no file, lock or child process): freeing its ~20
/// allocations per input file one by one is work the process's exit does for
/// free, 3.6% of a 300-crate warm hit's instructions. Only for a command
/// that ends the process: a loop of runs (a watch mode) must drop its plans.
fn leave_to_exit(plan: xtask_engine::Plan) {
    std::mem::forget(plan);
}

/// Waits for the remote's uploads, bounded: a slow remote never holds a
/// finished build for long.
fn finish_uploads(remote: &Remote, limit: Duration) {
    let report = remote.finish(limit);
    if report.abandoned > 0 || report.failed > 0 {
        eprintln!(
            "xtask: remote cache: {} uploaded, {} failed, {} abandoned at the time limit",
            report.uploaded, report.failed, report.abandoned
        );
    }
}

/// `--summarize[=PATH]`: the run summary as JSON, by default under the
/// cache's `runs/`.
fn write_summary(
    ws: &Workspace,
    path: &str,
    summary: &xtask_engine::summary::RunSummary,
) -> anyhow::Result<()> {
    let path = if path.is_empty() {
        ws.cache
            .layout()
            .path(CacheBucket::Runs)
            .join(format!("{}.json", summary.started_at))
    } else {
        std::path::PathBuf::from(path)
    };
    let json = serde_json::to_vec_pretty(summary)?;
    // Atomic: CI steps and tools read summaries, never a torn one.
    xtask_toolbox::atomic::write(&path, &json)
        .with_context(|| format!("failed to write the run summary to {}", path.display()))?;
    eprintln!("xtask: run summary written to {}", path.display());
    Ok(())
}

/// One warning per secret of the remote cache that a task declares: it never
/// reaches the task, and the user should know why.
fn withheld_secrets(ws: &Workspace, plan: &Plan, env: &Environment) -> Vec<String> {
    let mut declared_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (node, task) in plan.graph.nodes.iter().enumerate() {
        for name in env.withheld_declarations(&task.def, &ws.pipeline.global_env) {
            declared_by
                .entry(name)
                .or_default()
                .push(plan.graph.label(node));
        }
    }
    declared_by
        .into_iter()
        .map(|(name, tasks)| {
            format!(
                "`{name}` (declared by {}) holds the remote cache's secret: tasks never get it\n\
                 hint: give a task that needs such a token a variable of its own in `pass-env`",
                tasks.join(", ")
            )
        })
        .collect()
}

/// Tasks die with us, even on `kill -9`: a reaper (this binary again)
/// ends their process groups when we are gone.
fn task_children() -> Children {
    match std::env::current_exe() {
        Ok(exe) => Children::with_reaper(move || {
            let mut command = std::process::Command::new(&exe);
            command.arg(xtask_engine::REAPER_ARG);
            command
        }),
        Err(_) => Children::default(),
    }
}

/// Where the warnings of the caches go.
type Warn = Arc<dyn Fn(String) + Send + Sync>;

/// The remote cache, if one is configured and usable, with its flush limit.
fn open_remote(
    ws: &Workspace,
    remote_flags: &CliRemote,
    warn: &Warn,
) -> Result<Option<(Remote, Duration)>, RemoteError> {
    let Some(settings) = super::remote_settings(ws, remote_flags)
        .or_else(|error| local_only_if_unusable(warn, error))?
    else {
        return Ok(None);
    };
    let limit = settings.flush_time_limit();
    let warnings = Arc::clone(warn);
    let remote = Remote::open(settings, Box::new(move |message| warnings(message)))
        .map(Some)
        .or_else(|error| local_only_if_unusable(warn, error))?;
    Ok(remote.map(|remote| (remote, limit)))
}

/// The cache never fails a build: a remote this machine cannot use (a fork's
/// pull request gets no token) is one warning and a run with the local cache
/// only. A mistake in the manifest or on the command line stays an error.
fn local_only_if_unusable<T>(warn: &Warn, error: RemoteError) -> Result<Option<T>, RemoteError> {
    match super::unusable_remote_warning(&error) {
        Some(message) => {
            warn(message);
            Ok(None)
        }
        None => Err(error),
    }
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Ctrl-C (or SIGTERM) once: stop scheduling, SIGTERM every task's process
/// group. Twice: SIGKILL. Cache entries are only ever written whole, so an
/// interrupted run leaves a valid cache.
fn install_interrupt_handler(children: Arc<Children>) {
    let result = ctrlc::set_handler(move || {
        if children.is_cancelled() {
            eprintln!("\nxtask: interrupted again, killing tasks");
        } else {
            eprintln!("\nxtask: interrupted, stopping tasks (press Ctrl-C again to kill them)");
        }
        children.cancel();
    });
    if let Err(error) = result {
        eprintln!("warning: Ctrl-C will not stop tasks cleanly: {error}");
    }
}

/// Keeps the cache bounded without anyone running `cache prune`: at most
/// once a day, with the configured limits.
fn auto_prune(ws: &Workspace) {
    if !ws.cache.is_writable() {
        // Warned about when the workspace was opened.
        return;
    }
    let marker = ws.state_dir.path(StateBucket::LastPrune);
    let recent = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < AUTO_PRUNE_INTERVAL);
    if recent {
        return;
    }
    let policy = super::cache::configured_policy(ws);
    match ws.cache.prune(&policy) {
        Ok(report) if report.removed_entries > 0 => eprintln!(
            "xtask: pruned {} cache entries ({} bytes)",
            report.removed_entries, report.removed_bytes
        ),
        Ok(_) => {}
        Err(error) => eprintln!(
            "warning: could not prune the cache: {}",
            xtask_engine::error_chain(&error)
        ),
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let _ = xtask_toolbox::atomic::write(&marker, stamp.to_string().as_bytes());
}
