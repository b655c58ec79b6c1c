//! The machine-readable account of a run (`--summarize`) and of a plan
//! (`--dry-run=json`).

use serde::Serialize;

use crate::events::TaskStatus;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RunSummary {
    pub format: u32,
    pub tasks_requested: Vec<String>,
    /// Milliseconds since the Unix epoch.
    pub started_at: u128,
    pub duration_ms: u128,
    pub exit_code: i32,
    pub totals: Totals,
    pub tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct Totals {
    pub tasks: usize,
    pub cached: usize,
    pub executed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Totals {
    pub fn count(statuses: &[TaskStatus]) -> Totals {
        let mut totals = Totals {
            tasks: statuses.len(),
            ..Totals::default()
        };
        for status in statuses {
            match status {
                TaskStatus::Cached => totals.cached += 1,
                TaskStatus::Executed => totals.executed += 1,
                TaskStatus::Failed { .. } => totals.failed += 1,
                TaskStatus::Skipped { .. } | TaskStatus::Cancelled => totals.skipped += 1,
                TaskStatus::Empty => {}
            }
        }
        totals
    }

    /// Nothing had to run: every task that does something came from the cache.
    pub fn all_cached(&self) -> bool {
        self.executed == 0 && self.failed == 0 && self.skipped == 0 && self.cached > 0
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TaskSummary {
    pub task_id: String,
    pub package: String,
    pub task: String,
    pub key: String,
    #[serde(flatten)]
    pub status: TaskStatus,
    pub duration_ms: u128,
    pub command: Option<String>,
    pub directory: String,
    pub dependencies: Vec<String>,
    pub outputs: Vec<String>,
}
