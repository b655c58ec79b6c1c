//! The run's summary from the schedule's final statuses: totals, the exit
//! code, and one entry per task in plan order.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::RunOptions;
use super::schedule::Schedule;
use crate::events::TaskStatus;
use crate::plan::Plan;
use crate::summary::{RunSummary, TaskSummary, Totals};
use crate::task_graph::NodeIndex;
use crate::workspace::Workspace;

/// What the workers left when the run ended.
pub(super) struct Finished {
    pub schedule: Schedule,
    /// What each batch member really ran (the batch's invocation).
    pub batched_commands: HashMap<NodeIndex, String>,
    pub started_at: SystemTime,
    pub duration: Duration,
    /// The run was interrupted (Ctrl-C, SIGTERM).
    pub cancelled: bool,
}

pub(super) fn summarize(
    ws: &Workspace,
    plan: &Plan,
    options: &RunOptions,
    finished: Finished,
) -> RunSummary {
    let Finished {
        schedule,
        batched_commands,
        started_at,
        duration,
        cancelled,
    } = finished;
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
    let exit_code = if cancelled {
        130
    } else if totals.failed > 0 || statuses.iter().any(|s| matches!(s, TaskStatus::Cancelled)) {
        1
    } else {
        0
    };
    RunSummary {
        format: 1,
        tasks_requested: options.tasks_requested.clone(),
        started_at: started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
        duration_ms: duration.as_millis(),
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
    }
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
