//! What the engine tells the reporter. The engine never writes to the
//! terminal itself; only the reporter knows about terminals, CI and colours.

use std::time::Duration;

use serde::Serialize;

use crate::summary::RunSummary;
use crate::task_graph::NodeIndex;

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum TaskStatus {
    /// Restored from the cache; nothing ran.
    Cached,
    /// Ran and succeeded.
    Executed,
    /// Ran and failed.
    Failed { exit_code: i32 },
    /// Did not run: a dependency failed, or the run stopped first.
    Skipped { reason: String },
    /// Killed by a cancel (Ctrl-C).
    Cancelled,
    /// Nothing to run (a task that only groups its dependencies).
    Empty,
}

impl TaskStatus {
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            TaskStatus::Cached | TaskStatus::Executed | TaskStatus::Empty
        )
    }
}

/// Which batch an event is about: unique within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchId(pub usize);

/// One notification from a run.
#[derive(Debug)]
pub enum Event<'a> {
    RunStarted {
        tasks: usize,
        concurrency: usize,
    },
    /// A task missed the cache (or does not use it) and starts executing.
    TaskStarted {
        node: NodeIndex,
        label: &'a str,
        key: &'a str,
    },
    /// One line of an executing task's output, newline included.
    TaskOutput {
        node: NodeIndex,
        label: &'a str,
        line: &'a [u8],
    },
    /// Cache-missed built-in cargo tasks start as one cargo invocation.
    /// Comes before its members' `TaskStarted`; their `TaskFinished` come
    /// before its `BatchFinished`.
    BatchStarted {
        batch: BatchId,
        /// `build ×12`: the task and how many members.
        label: &'a str,
        /// The members, with their labels, in the order they were given to cargo.
        members: &'a [(NodeIndex, &'a str)],
    },
    /// One line of a batch's output that belongs to no member: a command it
    /// runs, cargo's progress ("Compiling …"), a test run's summary.
    BatchOutput {
        batch: BatchId,
        label: &'a str,
        line: &'a [u8],
    },
    /// Every member of the batch has finished.
    BatchFinished {
        batch: BatchId,
        label: &'a str,
        duration: Duration,
    },
    TaskFinished {
        node: NodeIndex,
        label: &'a str,
        key: &'a str,
        status: &'a TaskStatus,
        duration: Duration,
        /// The task's whole log: replayed from the cache on a hit, or what
        /// was just captured when it executed.
        log: &'a [u8],
    },
    /// Something the user should know that does not fail the run (a
    /// corrupt cache entry, an output that matched no file).
    Warning {
        message: String,
    },
    /// Something the run did on the user's behalf, in one line (installing
    /// a missing rustup target).
    Notice {
        message: String,
    },
    RunFinished {
        summary: &'a RunSummary,
    },
}

/// Receives the events of a run, from several worker threads at once.
pub trait EventSink: Send + Sync {
    fn event(&self, event: Event<'_>);
}
