//! What may start: each task waits for its dependencies; ready tasks start
//! longest chain first; a failure skips its dependents (and, unless the run
//! continues on failure, stops starting anything). Ready built-in cargo tasks
//! that can share one cargo invocation start together as a batch.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use xtask_config::Action;

use super::OnFailure;
use crate::events::TaskStatus;
use crate::plan::Plan;
use crate::task_graph::NodeIndex;

/// Longest chain of dependents below each node: starting long chains first
/// keeps both cores busy to the end.
pub(super) fn critical_path_lengths(plan: &Plan) -> Vec<usize> {
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

/// Built-in cargo tasks that use the cache go through batches.
pub(super) fn is_batchable(plan: &Plan, node: NodeIndex) -> bool {
    let def = &plan.graph.nodes[node].def;
    matches!(def.action, Action::Cargo(_)) && !def.persistent
}

pub(super) struct Schedule {
    waiting_on: Vec<usize>,
    /// (priority, node): the highest priority pops first, then the lowest node.
    ready: BinaryHeap<(usize, Reverse<NodeIndex>)>,
    pub(super) status: Vec<Option<TaskStatus>>,
    pub(super) durations: Vec<Duration>,
    running: usize,
    /// Workers waiting for a task to become ready: a finished task wakes
    /// them only if there are any (a wake-up is a system call).
    pub(super) waiting: usize,
    on_failure: OnFailure,
    stop: bool,
}

impl Schedule {
    pub(super) fn new(plan: &Plan, priorities: &[usize], on_failure: OnFailure) -> Schedule {
        let nodes = &plan.graph.nodes;
        let waiting_on: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
        let ready = (0..nodes.len())
            .filter(|&n| waiting_on[n] == 0)
            .map(|n| (priorities[n], Reverse(n)))
            .collect();
        Schedule {
            waiting_on,
            ready,
            status: vec![None; nodes.len()],
            durations: vec![Duration::ZERO; nodes.len()],
            running: 0,
            waiting: 0,
            on_failure,
            stop: false,
        }
    }

    /// Nothing ready starts any more (the run was cancelled).
    pub(super) fn stop_starting(&mut self) {
        self.ready.clear();
    }

    /// Nothing runs: with nothing ready either, the run is over.
    pub(super) fn idle(&self) -> bool {
        self.running == 0
    }

    /// The next ready task, with the ready tasks that share its cargo
    /// invocation; they count as running.
    pub(super) fn start_next(&mut self, plan: &Plan) -> Option<Vec<NodeIndex>> {
        let (_, Reverse(node)) = self.ready.pop()?;
        let nodes = self.batch_with(plan, node);
        self.running += nodes.len();
        Some(nodes)
    }

    /// `node` is done after `duration`: its dependents may become ready, or
    /// are skipped if it did not succeed.
    pub(super) fn finish(
        &mut self,
        plan: &Plan,
        node: NodeIndex,
        status: TaskStatus,
        duration: Duration,
        priorities: &[usize],
    ) {
        self.durations[node] = duration;
        self.running -= 1;
        let success = status.is_success();
        if matches!(status, TaskStatus::Failed { .. } | TaskStatus::Cancelled)
            && self.on_failure == OnFailure::Stop
        {
            self.stop = true;
        }
        self.status[node] = Some(status);
        if success {
            for &dependent in &plan.graph.nodes[node].dependents {
                self.waiting_on[dependent] -= 1;
                if self.waiting_on[dependent] == 0 {
                    self.ready.push((priorities[dependent], Reverse(dependent)));
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

    /// `node` plus every ready node that can share its cargo invocation: the
    /// same built-in kind with the same args, profile and features.
    fn batch_with(&mut self, plan: &Plan, node: NodeIndex) -> Vec<NodeIndex> {
        let mut nodes = vec![node];
        if !is_batchable(plan, node) {
            return nodes;
        }
        let def = &plan.graph.nodes[node].def;
        // One cargo process runs with one environment: members must agree on
        // what reaches it (`env`, `pass-env`) as well as on the command.
        let same = |other: NodeIndex| {
            let o = &plan.graph.nodes[other].def;
            is_batchable(plan, other)
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
        let resolution = |n: NodeIndex| plan.feature_resolutions[n].as_ref();
        let agrees = |members: &[NodeIndex], other: NodeIndex| {
            members
                .iter()
                .all(|&m| match (resolution(m), resolution(other)) {
                    (Some(a), Some(b)) => crate::features::agree(a, b),
                    _ => true,
                })
        };
        let mut ready = std::mem::take(&mut self.ready).into_vec();
        ready.sort_by(|a, b| b.cmp(a)); // highest priority first, as popped
        let mut rest = Vec::new();
        for item in ready {
            let (_, Reverse(n)) = item;
            if same(n) && agrees(&nodes, n) {
                nodes.push(n);
            } else {
                rest.push(item);
            }
        }
        self.ready = rest.into_iter().collect();
        nodes
    }
}
