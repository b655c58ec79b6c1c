//! Executing a plan: a pool of worker threads over the task graph. Each task
//! is restored from the cache or run; results flow to the reporter as events.

use std::borrow::Cow;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use xtask_cache::{Artifact, Lookup, RestoreLimits};
use xtask_config::{Action, TaskDef};

use crate::batch::{Batch, BatchOutput, Member, batch_label};
use crate::cache_faults::CacheFaults;
use crate::cargo_commands::TestRunner;
use crate::discovered::{self, DiscoveredNames, Resolver};
use crate::env::Environment;
use crate::events::{BatchId, Event, EventSink, TaskStatus};
use crate::exec::{self, Children};
use crate::history::History;
use crate::log_capture::LogCapture;
use crate::output_state::{self, OutputState, Seen};
use crate::outputs::{self, OutputGlobs};
use crate::plan::{Plan, PlannedTask};
use crate::rustup_targets::TargetCheck;
use crate::settle::{self, FinalKeys};
use crate::summary::{RunSummary, TaskSummary, Totals};
use crate::task_graph::NodeIndex;
use crate::workspace::Workspace;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The tasks asked for, as typed (for the summary).
    pub tasks_requested: Vec<String>,
    pub concurrency: usize,
    /// Keep going after a failure (tasks that depend on it are still skipped).
    pub continue_on_error: bool,
    /// Do not read the cache (still write it).
    pub force: bool,
    /// Do not write the cache.
    pub no_cache_write: bool,
}

/// What the cache entry's `meta.json` holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryMeta {
    task: String,
    key: String,
    duration_ms: u128,
    /// Output path → blake3 of its content: lets a hit see that its outputs
    /// are already in place.
    outputs: BTreeMap<String, String>,
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
    for notice in &plan.notices {
        sink.event(Event::Warning {
            message: notice.clone(),
        });
    }

    let history = Mutex::new(History::load(&ws.state_dir));
    let mut output_state = OutputState::load(&ws.state_dir);
    let output_updates = Mutex::new(Vec::new());
    let final_keys = FinalKeys::new(count);
    let cache_faults = CacheFaults::new(&ws.cache);
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
        remote,
        targets: TargetCheck::new(&ws.root),
        cache_faults: &cache_faults,
        next_batch: AtomicUsize::new(0),
        batched_commands: Mutex::new(HashMap::new()),
    };
    let priorities = critical_path_lengths(plan);
    let state = Mutex::new(Schedule::new(plan, &priorities));
    let wake = Condvar::new();
    let workers = options.concurrency.clamp(1, count.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| runner.work(&state, &wake, &priorities));
        }
    });
    let batched_commands = runner
        .batched_commands
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    history
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .save();
    output_state.apply(
        output_updates
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
    );
    output_state.save();

    let schedule = state.into_inner().unwrap_or_else(|e| e.into_inner());
    let statuses: Vec<TaskStatus> = schedule
        .status
        .into_iter()
        .map(|s| {
            s.unwrap_or(TaskStatus::Skipped {
                reason: "the run stopped before it started".into(),
            })
        })
        .collect();
    let totals = Totals::count(&statuses);
    let exit_code = if children.is_cancelled() {
        130
    } else if totals.failed > 0 || statuses.iter().any(|s| matches!(s, TaskStatus::Cancelled)) {
        1
    } else {
        0
    };
    let summary = RunSummary {
        format: 1,
        tasks_requested: options.tasks_requested.clone(),
        started_at: started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
        duration_ms: clock.elapsed().as_millis(),
        exit_code,
        totals,
        tasks: plan
            .graph
            .order
            .iter()
            .map(|&node| {
                let mut task =
                    task_summary(ws, plan, node, &statuses[node], schedule.durations[node]);
                // A batch member ran the batch's invocation, not its own form.
                if let Some(command) = batched_commands.get(&node) {
                    task.command = Some(command.clone());
                }
                task
            })
            .collect(),
    };
    sink.event(Event::RunFinished { summary: &summary });
    summary
}

fn task_summary(
    ws: &Workspace,
    plan: &Plan,
    node: NodeIndex,
    status: &TaskStatus,
    duration: Duration,
) -> TaskSummary {
    let task = &plan.graph.nodes[node];
    let planned = &plan.tasks[node];
    TaskSummary {
        task_id: plan.graph.label(node).to_string(),
        package: ws.graph.packages[task.package].name.clone(),
        task: task.task.clone(),
        key: planned.key.clone(),
        status: status.clone(),
        duration_ms: duration.as_millis(),
        command: planned.command.clone(),
        directory: ws.graph.packages[task.package].dir.clone(),
        dependencies: task
            .deps
            .iter()
            .map(|&d| plan.graph.label(d).to_string())
            .collect(),
        outputs: planned.outputs.iter().map(ToString::to_string).collect(),
    }
}

/// Longest chain of dependents below each node: starting long chains first
/// keeps both cores busy to the end.
fn critical_path_lengths(plan: &Plan) -> Vec<usize> {
    let mut length = vec![0usize; plan.graph.nodes.len()];
    for &node in plan.graph.order.iter().rev() {
        length[node] = 1 + plan.graph.nodes[node]
            .dependents
            .iter()
            .map(|&d| length[d])
            .max()
            .unwrap_or(0);
    }
    length
}

struct Schedule {
    waiting_on: Vec<usize>,
    ready: BinaryHeap<(usize, std::cmp::Reverse<NodeIndex>)>,
    status: Vec<Option<TaskStatus>>,
    durations: Vec<Duration>,
    running: usize,
    stop: bool,
}

impl Schedule {
    fn new(plan: &Plan, priorities: &[usize]) -> Schedule {
        let nodes = &plan.graph.nodes;
        let waiting_on: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
        let ready = (0..nodes.len())
            .filter(|&n| waiting_on[n] == 0)
            .map(|n| (priorities[n], std::cmp::Reverse(n)))
            .collect();
        Schedule {
            waiting_on,
            ready,
            status: vec![None; nodes.len()],
            durations: vec![Duration::ZERO; nodes.len()],
            running: 0,
            stop: false,
        }
    }

    fn finish(
        &mut self,
        plan: &Plan,
        node: NodeIndex,
        status: TaskStatus,
        priorities: &[usize],
        continue_on_error: bool,
    ) {
        let success = status.is_success();
        if matches!(status, TaskStatus::Failed { .. } | TaskStatus::Cancelled) && !continue_on_error
        {
            self.stop = true;
        }
        self.status[node] = Some(status);
        if success {
            for &dependent in &plan.graph.nodes[node].dependents {
                self.waiting_on[dependent] -= 1;
                if self.waiting_on[dependent] == 0 {
                    self.ready
                        .push((priorities[dependent], std::cmp::Reverse(dependent)));
                }
            }
        } else {
            self.skip_dependents(plan, node);
        }
        if self.stop {
            self.ready.clear();
        }
    }

    fn skip_dependents(&mut self, plan: &Plan, failed: NodeIndex) {
        let mut stack = plan.graph.nodes[failed].dependents.clone();
        while let Some(node) = stack.pop() {
            if self.status[node].is_none() {
                self.status[node] = Some(TaskStatus::Skipped {
                    reason: format!(
                        "its dependency {} did not succeed",
                        plan.graph.label(failed)
                    ),
                });
                stack.extend(plan.graph.nodes[node].dependents.iter().copied());
            }
        }
    }
}

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
    remote: Option<&'a xtask_remote::Remote>,
    /// The key each finished task's result is stored or found under.
    final_keys: &'a FinalKeys,
    /// Asked before the first task that runs (not for cache hits).
    targets: TargetCheck,
    cache_faults: &'a CacheFaults,
    next_batch: AtomicUsize,
    /// What each batch member really ran (the batch's invocation), for the summary.
    batched_commands: Mutex<HashMap<NodeIndex, String>>,
}

impl<'a> Runner<'a> {
    fn work(&self, state: &Mutex<Schedule>, wake: &Condvar, priorities: &[usize]) {
        loop {
            let nodes = {
                let mut schedule = state.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if self.children.is_cancelled() {
                        schedule.ready.clear();
                    }
                    if let Some((_, std::cmp::Reverse(node))) = schedule.ready.pop() {
                        let nodes = self.batch_with(node, &mut schedule);
                        schedule.running += nodes.len();
                        break nodes;
                    }
                    if schedule.running == 0 {
                        wake.notify_all();
                        return;
                    }
                    schedule = wake.wait(schedule).unwrap_or_else(|e| e.into_inner());
                }
            };
            let started = Instant::now();
            let statuses = if self.is_batchable(nodes[0]) {
                self.process_batch(&nodes)
            } else {
                vec![self.process(nodes[0])]
            };
            let mut schedule = state.lock().unwrap_or_else(|e| e.into_inner());
            for (&node, status) in nodes.iter().zip(statuses) {
                schedule.durations[node] = started.elapsed();
                schedule.running -= 1;
                schedule.finish(
                    self.plan,
                    node,
                    status,
                    priorities,
                    self.options.continue_on_error,
                );
            }
            wake.notify_all();
        }
    }

    /// Built-in cargo tasks that use the cache go through batches.
    fn is_batchable(&self, node: NodeIndex) -> bool {
        let def = &self.plan.graph.nodes[node].def;
        matches!(def.action, Action::Cargo(_)) && !def.persistent
    }

    /// `node` plus every ready node that can share its cargo invocation: the
    /// same built-in kind with the same args, profile and features.
    fn batch_with(&self, node: NodeIndex, schedule: &mut Schedule) -> Vec<NodeIndex> {
        let mut nodes = vec![node];
        if !self.is_batchable(node) {
            return nodes;
        }
        let def = &self.plan.graph.nodes[node].def;
        // One cargo process runs with one environment: members must agree on
        // what reaches it (`env`, `pass-env`) as well as on the command.
        let same = |other: NodeIndex| {
            let o = &self.plan.graph.nodes[other].def;
            self.is_batchable(other)
                && o.action == def.action
                && o.args == def.args
                && o.profile == def.profile
                && o.features == def.features
                && o.env == def.env
                && o.pass_env == def.pass_env
        };
        // Cargo unifies features across one invocation: a member joins only
        // if it compiles every shared dependency with the same features as
        // each member already in (see `features.rs`).
        let resolution = |n: NodeIndex| self.plan.feature_resolutions[n].as_ref();
        let agrees = |members: &[NodeIndex], other: NodeIndex| {
            members
                .iter()
                .all(|&m| match (resolution(m), resolution(other)) {
                    (Some(a), Some(b)) => crate::features::agree(a, b),
                    _ => true,
                })
        };
        let mut ready = std::mem::take(&mut schedule.ready).into_vec();
        ready.sort_by(|a, b| b.cmp(a)); // highest priority first, as popped
        let mut rest = Vec::new();
        for item in ready {
            let (_, std::cmp::Reverse(n)) = item;
            if same(n) && agrees(&nodes, n) {
                nodes.push(n);
            } else {
                rest.push(item);
            }
        }
        schedule.ready = rest.into_iter().collect();
        nodes
    }

    /// Restores what the cache has, then runs the rest as one cargo invocation.
    fn process_batch(&self, nodes: &[NodeIndex]) -> Vec<TaskStatus> {
        let mut statuses: Vec<Option<TaskStatus>> = vec![None; nodes.len()];
        let mut missed = Vec::new();
        let settled: Vec<Cow<'_, PlannedTask>> = nodes.iter().map(|&n| self.settled(n)).collect();
        for (i, &node) in nodes.iter().enumerate() {
            let task = &self.plan.graph.nodes[node];
            if self.children.is_cancelled() {
                statuses[i] = Some(TaskStatus::Cancelled);
            } else if task.def.cache
                && !self.options.force
                && let Some(status) = self.try_restore(node, &settled[i])
            {
                statuses[i] = Some(status);
            } else {
                missed.push(i);
            }
        }
        if missed.is_empty() {
            return statuses
                .into_iter()
                .map(|s| s.unwrap_or(TaskStatus::Cancelled))
                .collect();
        }
        let first = &self.plan.graph.nodes[nodes[missed[0]]];
        let Action::Cargo(kind) = first.def.action else {
            unreachable!("only cargo tasks are batched")
        };
        if let Err(reason) = self.targets.ensure(&first.def, self.sink) {
            for &i in &missed {
                statuses[i] = Some(self.not_started(nodes[i], &reason));
            }
            return statuses
                .into_iter()
                .map(|s| s.unwrap_or(TaskStatus::Cancelled))
                .collect();
        }
        let (output, members) = self.start_batch(kind, nodes, &missed, &settled);
        let batch = Batch {
            graph: &self.ws.graph,
            kind,
            def: &first.def,
            members: missed
                .iter()
                .map(|&i| Member {
                    node: nodes[i],
                    package: self.plan.graph.nodes[nodes[i]].package,
                })
                .collect(),
            env: self.env.for_command(
                &first.def,
                self.ws.pipeline.env_mode,
                &self.ws.pipeline.global_env,
            ),
            test_runner: TestRunner::detect(),
        };
        let started = Instant::now();
        let run = batch.run(&self.ws.root, self.children, &output);
        {
            let mut commands = self
                .batched_commands
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for &node in &members {
                commands.insert(node, run.command.clone());
            }
        }
        let lock_after_run = std::fs::read_to_string(self.ws.root.join("Cargo.lock"))
            .ok()
            .and_then(|text| crate::cargo_lock::Lock::parse(&text));
        for (&i, result) in missed.iter().zip(run.results) {
            let node = result.node;
            let task = &self.plan.graph.nodes[node];
            let command_env = self.command_env(node);
            let resolver = self.resolver(&command_env);
            // What cargo reported reading is part of the key the result is
            // stored (and found) under.
            let after = settle::after_cargo_run(
                self.ws,
                self.plan,
                node,
                &settled[i],
                &run.reads,
                &resolver,
                lock_after_run.as_ref(),
            );
            if result.status == TaskStatus::Executed
                && task.def.cache
                && !self.options.no_cache_write
                && self.unchanged_while_running(node, &after.task, &after.changed_while_running)
            {
                self.store(node, &after.task, &result.log, started.elapsed());
                if let Some(names) = &after.new_manifest {
                    self.store_manifest(&after.task.declared_key, names);
                }
            }
            self.finished(node, &after.task, &result.status, started, &result.log);
            statuses[i] = Some(result.status);
        }
        self.sink.event(Event::BatchFinished {
            batch: output.batch,
            label: &output.label,
            duration: started.elapsed(),
        });
        statuses
            .into_iter()
            .map(|s| s.unwrap_or(TaskStatus::Cancelled))
            .collect()
    }

    /// Tells the reporter a batch of `missed` (indices into `nodes`) starts,
    /// then each member; returns where the batch's lines go, and the members.
    fn start_batch<'r>(
        &'r self,
        kind: xtask_config::CargoKind,
        nodes: &[NodeIndex],
        missed: &[usize],
        settled: &[Cow<'_, PlannedTask>],
    ) -> (LiveOutput<'r, 'a>, Vec<NodeIndex>) {
        let members: Vec<(NodeIndex, &str)> = missed
            .iter()
            .map(|&i| (nodes[i], self.plan.graph.label(nodes[i])))
            .collect();
        let tasks: Vec<&str> = missed
            .iter()
            .map(|&i| self.plan.graph.nodes[nodes[i]].task.as_str())
            .collect();
        let output = LiveOutput {
            runner: self,
            batch: BatchId(self.next_batch.fetch_add(1, Ordering::Relaxed)),
            label: batch_label(&tasks, kind),
        };
        self.sink.event(Event::BatchStarted {
            batch: output.batch,
            label: &output.label,
            members: &members,
        });
        for &i in missed {
            let node = nodes[i];
            self.sink.event(Event::TaskStarted {
                node,
                label: self.plan.graph.label(node),
                key: &settled[i].key,
            });
        }
        let members = members.into_iter().map(|(node, _)| node).collect();
        (output, members)
    }

    fn process(&self, node: NodeIndex) -> TaskStatus {
        let task = &self.plan.graph.nodes[node];
        let settled = self.settled(node);
        let planned: &PlannedTask = &settled;
        let label = self.plan.graph.label(node);
        let started = Instant::now();
        if self.children.is_cancelled() {
            return TaskStatus::Cancelled;
        }
        let Some(command) = &planned.command else {
            self.finished(node, planned, &TaskStatus::Empty, started, b"");
            return TaskStatus::Empty;
        };
        let cacheable = task.def.cache && !task.def.persistent;
        if cacheable
            && !self.options.force
            && let Some(status) = self.try_restore(node, planned)
        {
            return status;
        }
        if let Err(reason) = self.targets.ensure(&task.def, self.sink) {
            return self.not_started(node, &reason);
        }

        self.sink.event(Event::TaskStarted {
            node,
            label,
            key: &planned.key,
        });
        let dir = self.ws.graph.package_dir(task.package);
        let env = self.child_env(&task.def, planned);
        let mut log = LogCapture::default();
        let result = exec::run_shell(command, &dir, env, self.children, |line| {
            log.push(line);
            self.sink.event(Event::TaskOutput { node, label, line });
        });
        let status = match result {
            Ok(exit) if exit.success() => TaskStatus::Executed,
            Ok(_) if self.children.is_cancelled() => TaskStatus::Cancelled,
            Ok(exit) => TaskStatus::Failed {
                exit_code: exit.code(),
            },
            Err(error) => {
                let message = format!(
                    "xtask: failed to start `sh -c {command}` in {}: {error}\n",
                    dir.display()
                );
                log.push(message.as_bytes());
                self.sink.event(Event::TaskOutput {
                    node,
                    label,
                    line: message.as_bytes(),
                });
                TaskStatus::Failed { exit_code: 127 }
            }
        };
        let log = log.finish();
        if status == TaskStatus::Executed
            && cacheable
            && !self.options.no_cache_write
            && self.unchanged_while_running(node, planned, &[])
        {
            self.store(node, planned, &log, started.elapsed());
        }
        self.finished(node, planned, &status, started, &log);
        status
    }

    /// A task that must not run (a missing target nothing can install): it
    /// fails with `reason` as its log, before anything is built.
    fn not_started(&self, node: NodeIndex, reason: &str) -> TaskStatus {
        let planned = &self.plan.tasks[node];
        let label = self.plan.graph.label(node);
        let started = Instant::now();
        self.sink.event(Event::TaskStarted {
            node,
            label,
            key: &planned.key,
        });
        self.sink.event(Event::TaskOutput {
            node,
            label,
            line: reason.as_bytes(),
        });
        let status = TaskStatus::Failed { exit_code: 1 };
        self.finished(node, planned, &status, started, reason.as_bytes());
        status
    }

    fn child_env(
        &self,
        def: &TaskDef,
        planned: &PlannedTask,
    ) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        let mut env =
            self.env
                .for_command(def, self.ws.pipeline.env_mode, &self.ws.pipeline.global_env);
        // Like TURBO_HASH: lets a task label what it produced.
        env.push(("XTASK_HASH".into(), planned.key.clone().into()));
        env
    }

    fn finished(
        &self,
        node: NodeIndex,
        planned: &PlannedTask,
        status: &TaskStatus,
        started: Instant,
        log: &[u8],
    ) {
        self.final_keys.set(node, &planned.key);
        self.sink.event(Event::TaskFinished {
            node,
            label: self.plan.graph.label(node),
            key: &planned.key,
            status,
            duration: started.elapsed(),
            log,
        });
    }

    /// A hit restores the outputs and replays the log. A corrupt entry or a
    /// failed restore is a miss (with a warning), never a failed task.
    fn try_restore(&self, node: NodeIndex, planned: &PlannedTask) -> Option<TaskStatus> {
        let label = self.plan.graph.label(node);
        let started = Instant::now();
        let entry = match self.lookup(label, &planned.key) {
            Ok(Lookup::Hit(entry)) => entry,
            Ok(Lookup::Miss) => return None,
            Ok(Lookup::Corrupt { reason, .. }) => {
                self.sink.event(Event::Warning {
                    message: format!("{label}: the cache entry {} was corrupt ({reason}); removed it and running the task", planned.key),
                });
                return None;
            }
            Err(error) => {
                if let Some(message) = self.cache_faults.read_failed(label, &error) {
                    self.sink.event(Event::Warning { message });
                }
                return None;
            }
        };
        // Only the task's own outputs, resolved as when they were stored.
        let task = &self.plan.graph.nodes[node];
        let globs = OutputGlobs::new(&self.ws.graph.packages[task.package].dir, &planned.outputs);
        // Entries whose meta does not parse (written before outputs carried
        // hashes), or that list a path that is not an output, are always
        // restored (and the restore refuses what is not an output).
        let outputs = serde_json::from_slice::<EntryMeta>(entry.meta())
            .map(|m| m.outputs)
            .ok()
            .filter(|outputs| outputs.keys().all(|path| globs.allows_listed(path)));
        let (intact, observed) = match &outputs {
            Some(outputs) => self.output_state.intact(&self.ws.root, outputs),
            None => (false, Vec::new()),
        };
        if intact {
            self.record_outputs(observed);
        } else {
            if let Err(error) =
                entry.restore_outputs(&self.ws.root, &RestoreLimits::default(), &globs)
            {
                self.sink.event(Event::Warning {
                    message: format!(
                        "{label}: could not restore outputs from the cache: {}; running the task",
                        error_chain(&error)
                    ),
                });
                return None;
            }
            if let Some(outputs) = &outputs {
                self.record_outputs(output_state::restored_files(&self.ws.root, outputs));
            }
        }
        self.remember(label, planned);
        self.finished(node, planned, &TaskStatus::Cached, started, entry.log());
        Some(TaskStatus::Cached)
    }

    fn store(&self, node: NodeIndex, planned: &PlannedTask, log: &[u8], duration: Duration) {
        if self.cache_faults.writes_off() {
            return;
        }
        let task = &self.plan.graph.nodes[node];
        let label = self.plan.graph.label(node);
        let package_dir = &self.ws.graph.packages[task.package].dir;
        let found = outputs::collect(&self.ws.root, package_dir, &planned.outputs);
        if found.is_empty() && !planned.outputs.is_empty() {
            self.sink.event(Event::Warning {
                message: format!(
                    "{label}: no file matched its outputs ({}); check the `outputs` globs",
                    xtask_config::glob::join(&planned.outputs)
                ),
            });
        }
        let observed = output_state::observe_files(&self.ws.root, &found);
        let meta = EntryMeta {
            task: label.to_string(),
            key: planned.key.clone(),
            duration_ms: duration.as_millis(),
            outputs: observed
                .iter()
                .map(|(path, seen)| (path.clone(), seen.hash().to_string()))
                .collect(),
        };
        let meta = serde_json::to_vec(&meta).unwrap_or_default();
        let artifact = Artifact {
            meta: &meta,
            log,
            base_dir: &self.ws.root,
            outputs: &found,
        };
        match self.ws.cache.store(&planned.key, &artifact) {
            Ok(_) => {
                self.remember(label, planned);
                self.record_outputs(observed);
                if let Some(remote) = self.remote
                    && let Ok(Some(bytes)) = self.ws.cache.read_raw(&planned.key)
                {
                    remote.upload(&planned.key, bytes, duration);
                }
            }
            Err(error) => {
                if let Some(message) = self.cache_faults.write_failed(label, &error) {
                    self.sink.event(Event::Warning { message });
                }
            }
        }
    }

    /// The task as it must be looked up now (see `settle.rs`).
    fn settled(&self, node: NodeIndex) -> Cow<'a, PlannedTask> {
        // The task's environment is computed only if a manifest must be
        // valued: most tasks of a warm run never need it.
        settle::settle(
            self.plan,
            node,
            self.final_keys,
            |declared| self.manifest(declared),
            |names| {
                let command_env = self.command_env(node);
                self.resolver(&command_env).resolve(names)
            },
        )
    }

    fn command_env(&self, node: NodeIndex) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        self.env.for_command(
            &self.plan.graph.nodes[node].def,
            self.ws.pipeline.env_mode,
            &self.ws.pipeline.global_env,
        )
    }

    fn resolver<'e>(
        &'e self,
        command_env: &'e [(std::ffi::OsString, std::ffi::OsString)],
    ) -> Resolver<'e> {
        Resolver {
            root: &self.ws.root,
            snapshot: &self.plan.snapshot,
            env: command_env,
        }
    }

    /// The discovered-inputs manifest of a declared key: local, then remote.
    fn manifest(&self, declared_key: &str) -> Option<DiscoveredNames> {
        if let Some(names) = crate::plan::local_manifest(self.ws, declared_key) {
            return Some(names);
        }
        let remote = self.remote?;
        let key = discovered::manifest_key(declared_key);
        let bytes = remote.fetch(&key)?;
        if !remote.verifies_signatures() {
            let meta = xtask_cache::raw_meta(&key, &bytes).ok()?;
            let names = DiscoveredNames::parse(&meta)?;
            if let Some(name) = self.refused_from_unsigned_remote(&names) {
                self.sink.event(Event::Warning {
                    message: format!(
                        "a discovered-inputs manifest from the remote cache names {}, which an unsigned remote may not name (its key would reveal that value to whoever watches the remote); not using it, the task runs\nhint: set XTASK_REMOTE_CACHE_SIGNATURE_KEY on every machine sharing the remote to trust what it serves",
                        shown_name(name)
                    ),
                });
                return None;
            }
        }
        self.ws.cache.write_raw(&key, &bytes).ok()?;
        crate::plan::local_manifest(self.ws, declared_key)
    }

    fn refused_from_unsigned_remote<'n>(&self, names: &'n DiscoveredNames) -> Option<&'n str> {
        let outside_dirs = self.ws.graph.outside_path_dirs();
        let is_secret_name = |name: &str| self.env.is_secret_name(name);
        discovered::UnsignedRemoteNames {
            root: &self.ws.root,
            snapshot: &self.plan.snapshot,
            outside_dirs: &outside_dirs,
            is_secret_name: &is_secret_name,
        }
        .refused(names)
    }

    fn store_manifest(&self, declared_key: &str, names: &DiscoveredNames) {
        let key = discovered::manifest_key(declared_key);
        let meta = names.to_json();
        let artifact = Artifact {
            meta: &meta,
            log: b"",
            base_dir: &self.ws.root,
            outputs: &[],
        };
        // Losing a manifest costs the next run a miss, never a wrong hit.
        if self.ws.cache.store(&key, &artifact).is_ok()
            && let Some(remote) = self.remote
            && let Ok(Some(bytes)) = self.ws.cache.read_raw(&key)
        {
            remote.upload(&key, bytes, Duration::ZERO);
        }
    }

    /// A result may be stored only if what the task read is what its key
    /// says: its input files must be as they were when hashed, and the
    /// discovered inputs as they were looked up. An edit made while the task
    /// ran (even one reverted since) means the result belongs to no key.
    fn unchanged_while_running(
        &self,
        node: NodeIndex,
        planned: &PlannedTask,
        discovered_changed: &[String],
    ) -> bool {
        let mut changed: Vec<String> = discovered_changed.to_vec();
        changed.extend(settle::inputs_changed_since_plan(
            self.ws, self.plan, node, planned,
        ));
        if changed.is_empty() {
            return true;
        }
        changed.truncate(5);
        self.sink.event(Event::Warning {
            message: format!(
                "{}: its inputs changed while it ran ({}); not caching this result",
                self.plan.graph.label(node),
                changed.join(", ")
            ),
        });
        false
    }

    /// Local first; on a local miss, the remote (whose verified bytes are
    /// installed locally, then read back like any local entry).
    fn lookup(&self, label: &str, key: &str) -> Result<Lookup, xtask_cache::CacheError> {
        let local = self.ws.cache.lookup(key)?;
        let (Lookup::Miss, Some(remote)) = (&local, self.remote) else {
            return Ok(local);
        };
        if self.cache_faults.writes_off() {
            // A remote hit is restored from a local entry, which cannot be
            // written now.
            return Ok(local);
        }
        match remote.fetch(key) {
            Some(bytes) => match self.ws.cache.write_raw(key, &bytes) {
                Ok(()) => self.ws.cache.lookup(key),
                Err(error) if error.is_cache_fault() => {
                    if let Some(message) = self.cache_faults.write_failed(label, &error) {
                        self.sink.event(Event::Warning { message });
                    }
                    Ok(local)
                }
                Err(error) => Err(error),
            },
            None => Ok(local),
        }
    }

    fn record_outputs(&self, observed: Vec<(String, Seen)>) {
        let mut updates = self
            .output_updates
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        updates.extend(observed);
    }

    fn remember(&self, label: &str, planned: &PlannedTask) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.record(
            label,
            &planned.key,
            &planned.shown_inputs(&self.plan.env_salt),
        );
    }
}

/// Streams a batch's lines: a member's as its live output, the rest as the
/// batch's own.
struct LiveOutput<'r, 'a> {
    runner: &'r Runner<'a>,
    batch: BatchId,
    label: String,
}

impl BatchOutput for LiveOutput<'_, '_> {
    fn member_line(&self, node: NodeIndex, line: &[u8]) {
        let label = self.runner.plan.graph.label(node);
        self.runner
            .sink
            .event(Event::TaskOutput { node, label, line });
    }

    fn batch_line(&self, line: &[u8]) {
        self.runner.sink.event(Event::BatchOutput {
            batch: self.batch,
            label: &self.label,
            line,
        });
    }
}

/// An error and its causes on one line.
/// A name from a hostile source, quoted, escaped and bounded for a message.
fn shown_name(name: &str) -> String {
    let escaped: String = name.escape_debug().take(200).collect();
    format!("`{escaped}`")
}

pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
