//! A batch of built-in cargo tasks: what the cache has is restored, the rest
//! runs as one cargo invocation (`batch.rs`), and each member's result is
//! stored under the key that includes what cargo reported it read.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::Instant;

use xtask_config::{Action, CargoKind};

use super::Runner;
use crate::batch::{Batch, BatchOutput, BatchRun, Member, batch_label};
use crate::cargo_commands::TestRunner;
use crate::events::{BatchId, Event, TaskStatus};
use crate::plan::PlannedTask;
use crate::settle;
use crate::task_graph::NodeIndex;

impl<'a> Runner<'a> {
    /// Restores what the cache has, then runs the rest as one cargo invocation.
    pub(super) fn process_batch(&self, nodes: &[NodeIndex]) -> Vec<TaskStatus> {
        let settled: Vec<Cow<'_, PlannedTask>> = nodes.iter().map(|&n| self.settled(n)).collect();
        let (mut statuses, missed) = self.restore_members(nodes, &settled);
        if !missed.is_empty() {
            self.run_missed(nodes, &missed, &settled, &mut statuses);
        }
        statuses
            .into_iter()
            .map(|s| s.unwrap_or(TaskStatus::Cancelled))
            .collect()
    }

    /// Each member's status if it is settled without running (cancelled, or
    /// a hit), and the indices (into `nodes`) of those that must run.
    fn restore_members(
        &self,
        nodes: &[NodeIndex],
        settled: &[Cow<'_, PlannedTask>],
    ) -> (Vec<Option<TaskStatus>>, Vec<usize>) {
        let mut statuses: Vec<Option<TaskStatus>> = vec![None; nodes.len()];
        let mut missed = Vec::new();
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
        (statuses, missed)
    }

    /// Runs the `missed` members (indices into `nodes`) as one batch and
    /// stores what succeeded; their statuses go into `statuses`.
    fn run_missed(
        &self,
        nodes: &[NodeIndex],
        missed: &[usize],
        settled: &[Cow<'_, PlannedTask>],
        statuses: &mut [Option<TaskStatus>],
    ) {
        let first = &self.plan.graph.nodes[nodes[missed[0]]];
        let Action::Cargo(kind) = first.def.action else {
            unreachable!("only cargo tasks are batched")
        };
        if let Err(reason) = self.targets.ensure(&first.def, self.sink) {
            for &i in missed {
                statuses[i] = Some(self.not_started(nodes[i], &reason));
            }
            return;
        }
        let (output, members) = self.start_batch(kind, nodes, missed, settled);
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
        self.store_members(missed, settled, run, started, statuses);
        self.sink.event(Event::BatchFinished {
            batch: output.batch,
            label: &output.label,
            duration: started.elapsed(),
        });
    }

    /// Folds what cargo reported reading into each member's key, stores the
    /// members that succeeded (and their new discovered-inputs manifests),
    /// and reports each member's end.
    fn store_members(
        &self,
        missed: &[usize],
        settled: &[Cow<'_, PlannedTask>],
        run: BatchRun,
        started: Instant,
        statuses: &mut [Option<TaskStatus>],
    ) {
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
                    self.store_manifest(
                        self.plan.graph.label(node),
                        &after.task.declared_key,
                        names,
                    );
                }
            }
            self.finished(node, &after.task, &result.status, started, &result.log);
            statuses[i] = Some(result.status);
        }
    }

    /// Tells the reporter a batch of `missed` (indices into `nodes`) starts,
    /// then each member; returns where the batch's lines go, and the members.
    fn start_batch<'r>(
        &'r self,
        kind: CargoKind,
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
