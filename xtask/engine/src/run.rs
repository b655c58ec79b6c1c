//! Executing a plan: a pool of worker threads over the task graph. Each task
//! is restored from the cache or run; results flow to the reporter as events.
//!
//! `schedule.rs` says what may start (dependencies, priorities, which ready
//! tasks share one cargo invocation); `task.rs` runs one task, `batched.rs`
//! one batch of cargo tasks; `entry.rs` restores and stores cache entries;
//! `keys.rs` settles the key a task is looked up and stored under; the
//! caches, local then remote, are one `TieredCache`;
//! `summarize.rs` turns the statuses into the run's summary.

mod batched;
mod entry;
pub(crate) mod keys;
mod schedule;
mod summarize;
mod task;

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Condvar, Mutex};
use std::time::{Instant, SystemTime};

use xtask_cache::HeadIndex;
use xtask_toolbox::layout::StateBucket;

pub(crate) use crate::error_chain::error_chain;

use crate::env::Environment;
use crate::events::{Event, EventSink, TaskStatus};
use crate::exec::Children;
use crate::history::History;
use crate::output_state::{OutputState, Seen};
use crate::plan::Plan;
use crate::rustup_targets::TargetCheck;
use crate::settle::FinalKeys;
use crate::summary::RunSummary;
use crate::task_graph::NodeIndex;
use crate::tiered_cache::TieredCache;
use crate::workspace::Workspace;

use self::schedule::Schedule;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The tasks asked for, as typed (for the summary).
    pub tasks_requested: Vec<String>,
    pub concurrency: usize,
    /// What a failed task does to the rest of the run.
    pub on_failure: OnFailure,
    /// Do not read the cache (still write it).
    pub force: bool,
    /// Do not write the cache.
    pub no_cache_write: bool,
}

/// What a failed (or cancelled) task does to the tasks not started yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Start nothing more; tasks already running finish.
    Stop,
    /// Keep going (`--continue`); tasks that depend on it are still skipped.
    Continue,
}

/// Runs every task of `plan`. Returns when all have finished or been skipped.
/// With a `remote` cache, a local miss reads through to it and every stored
/// entry is queued for upload (the caller flushes it with `finish`).
pub fn execute(
    ws: &Workspace,
    plan: &Plan,
    options: &RunOptions,
    env: &Environment,
    remote: Option<&xtask_remote::Remote>,
    sink: &dyn EventSink,
    children: &Children,
) -> RunSummary {
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let count = plan.graph.nodes.len();
    sink.event(Event::RunStarted {
        tasks: count,
        concurrency: options.concurrency,
    });
    let warn = |message: String| sink.event(Event::Warning { message });
    plan.notices.iter().cloned().for_each(warn);

    let (history, history_warning) = History::load(&ws.state_dir);
    history_warning.into_iter().for_each(warn);
    let history = Mutex::new(history);
    let mut output_state = OutputState::load(&ws.state_dir);
    let output_updates = Mutex::new(Vec::new());
    let final_keys = FinalKeys::new(count);
    let heads = HeadIndex::load(&ws.state_dir.path(StateBucket::EntryHeads));
    let cache = TieredCache::new(&ws.cache, remote, &warn).with_heads(&heads);
    let runner = Runner {
        final_keys: &final_keys,
        ws,
        plan,
        options,
        env,
        sink,
        children,
        history: &history,
        output_state: &output_state,
        output_updates: &output_updates,
        cache: &cache,
        targets: TargetCheck::new(&ws.root),
        next_batch: AtomicUsize::new(0),
        batched_commands: Mutex::new(HashMap::new()),
    };
    let schedule = run_workers(&runner, options.concurrency.clamp(1, count.max(1)));
    let batched_commands = into_inner(runner.batched_commands);
    // Off the tasks' path: one segment and the index, whatever the count. The
    // history lives in the cache directory: when the cache could not be
    // written this run, it has said so once, and the history would fail too.
    if !cache.writes_off() {
        into_inner(history).save().into_iter().for_each(warn);
        // Losing the index only costs the next run one full lookup per task.
        let _ = heads.save();
    }
    output_state.apply(into_inner(output_updates));
    output_state.save();

    let summary = summarize::summarize(
        ws,
        plan,
        options,
        summarize::Finished {
            schedule,
            batched_commands,
            started_at,
            duration: clock.elapsed(),
            cancelled: children.is_cancelled(),
        },
    );
    sink.event(Event::RunFinished { summary: &summary });
    summary
}

/// Runs `workers` workers over the plan until every task has finished or
/// been skipped; returns the schedule as it ended. This thread is one of the
/// workers: a warm run of a few tasks would spend more on starting a thread
/// than on its share of the hits.
fn run_workers(runner: &Runner<'_>, workers: usize) -> Schedule {
    let plan = runner.plan;
    let priorities = schedule::critical_path_lengths(plan);
    let state = Mutex::new(Schedule::new(plan, &priorities, runner.options.on_failure));
    let wake = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(|| runner.work(&state, &wake, &priorities));
        }
        runner.work(&state, &wake, &priorities);
    });
    into_inner(state)
}

/// A worker that panicked while holding a lock left nothing half-done that
/// the rest of the run reads: keep its value.
fn into_inner<T>(mutex: Mutex<T>) -> T {
    mutex.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// What every worker shares for one run.
struct Runner<'a> {
    ws: &'a Workspace,
    plan: &'a Plan,
    options: &'a RunOptions,
    env: &'a Environment,
    sink: &'a dyn EventSink,
    children: &'a Children,
    history: &'a Mutex<History>,
    /// Read-only during the run; changes are collected and applied after.
    output_state: &'a OutputState,
    output_updates: &'a Mutex<Vec<(String, Seen)>>,
    /// Local, then remote.
    cache: &'a TieredCache<'a>,
    /// The key each finished task's result is stored or found under.
    final_keys: &'a FinalKeys,
    /// Asked before the first task that runs (not for cache hits).
    targets: TargetCheck,
    next_batch: AtomicUsize,
    /// What each batch member really ran (the batch's invocation), for the summary.
    batched_commands: Mutex<HashMap<NodeIndex, String>>,
}

impl Runner<'_> {
    /// One worker: takes the next ready task (with the ready tasks that can
    /// share its cargo invocation), processes it, reports, until nothing is
    /// left to start and nothing runs.
    fn work(&self, state: &Mutex<Schedule>, wake: &Condvar, priorities: &[usize]) {
        loop {
            let nodes = {
                let mut schedule = state.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if self.children.is_cancelled() {
                        schedule.stop_starting();
                    }
                    if let Some(nodes) = schedule.start_next(self.plan) {
                        break nodes;
                    }
                    if schedule.idle() {
                        wake.notify_all();
                        return;
                    }
                    schedule.waiting += 1;
                    schedule = wake.wait(schedule).unwrap_or_else(|e| e.into_inner());
                    schedule.waiting -= 1;
                }
            };
            let started = Instant::now();
            let statuses: Vec<TaskStatus> = if schedule::is_batchable(self.plan, nodes[0]) {
                self.process_batch(&nodes)
            } else {
                vec![self.process(nodes[0])]
            };
            let mut schedule = state.lock().unwrap_or_else(|e| e.into_inner());
            for (&node, status) in nodes.iter().zip(statuses) {
                schedule.finish(self.plan, node, status, started.elapsed(), priorities);
            }
            if schedule.waiting > 0 {
                wake.notify_all();
            }
        }
    }
}
