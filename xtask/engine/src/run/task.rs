//! One task on its own (a shell task, or a persistent cargo one): restored
//! from the cache, or run with `sh -c` in its package directory, then
//! stored. Also what every task does when it ends, however it ran.

use std::ffi::OsString;
use std::time::Instant;

use xtask_config::TaskDef;

use super::Runner;
use crate::events::{Event, TaskStatus};
use crate::exec;
use crate::log_capture::LogCapture;
use crate::plan::PlannedTask;
use crate::settle;
use crate::task_graph::NodeIndex;

impl Runner<'_> {
    pub(super) fn process(&self, node: NodeIndex) -> TaskStatus {
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
    pub(super) fn not_started(&self, node: NodeIndex, reason: &str) -> TaskStatus {
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

    fn child_env(&self, def: &TaskDef, planned: &PlannedTask) -> Vec<(OsString, OsString)> {
        let mut env =
            self.env
                .for_command(def, self.ws.pipeline.env_mode, &self.ws.pipeline.global_env);
        // Like TURBO_HASH: lets a task label what it produced.
        env.push(("XTASK_HASH".into(), planned.key.clone().into()));
        env
    }

    /// The task is done: its final key is known to its dependents, and the
    /// reporter hears how it ended.
    pub(super) fn finished(
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

    /// A result may be stored only if what the task read is what its key
    /// says: its input files must be as they were when hashed, and the
    /// discovered inputs as they were looked up. An edit made while the task
    /// ran (even one reverted since) means the result belongs to no key.
    pub(super) fn unchanged_while_running(
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
}
