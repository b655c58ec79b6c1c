//! The engine: from a workspace and the tasks asked for, to tasks restored or
//! run. Planning ([`plan`]) computes the task graph and every key without
//! running anything; [`execute`] runs a plan over a pool of workers and
//! reports through an [`EventSink`]. Terminals are the reporter's business.

mod batch;
mod cache_faults;
mod cargo_commands;
mod cargo_lock;
mod cargo_output;
mod dep_info;
mod discovered;
mod env;
mod env_salt;
mod error_chain;
pub mod events;
mod exec;
pub mod explain;
mod fault;
mod features;
mod glob_sets;
mod history;
mod inputs;
pub mod key;
mod log_capture;
mod output_state;
mod outputs;
mod plan;
mod random;
mod reaper;
mod run;
mod rustup_targets;
pub mod scope;
mod settle;
pub mod summary;
mod target_layout;
pub mod task_graph;
mod tiered_cache;
mod workspace;
mod workspace_files;

use std::path::PathBuf;

pub use env::Environment;
pub use env_salt::EnvSalt;
pub use error_chain::error_chain;
pub use events::{BatchId, Event, EventSink, TaskStatus};
pub use exec::Children;
pub use history::{History, HistoryError, LastSuccess};
pub use log_capture::LogCapture;
pub use plan::{Plan, PlannedTask, plan, plan_current, take_snapshot};
pub use random::random_token;
pub use reaper::{REAPER_ARG, reap_task_groups};
pub use run::{OnFailure, RunOptions, execute};
pub use settle::settled_for_dry_run;
pub use task_graph::{NodeIndex, TaskGraph};
pub use tiered_cache::{CacheHit, TieredCache};
pub use workspace::{CACHE_DIR_ENV, DEFAULT_CACHE_DIR, Workspace};
pub use workspace_files::affected_by_workspace_file;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Graph(#[from] xtask_graph::GraphError),
    #[error(transparent)]
    Config(#[from] xtask_config::ConfigError),
    #[error(transparent)]
    Hash(#[from] xtask_hash::HashError),
    #[error(transparent)]
    Cache(#[from] xtask_cache::CacheError),
    /// The cached package graph missed a new auto-discovered target:
    /// `plan_current` reloads it and plans again.
    #[error("the cached package graph is out of date")]
    StaleGraph,
    #[error("failed to read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown task `{task}`\nhint: known tasks are {}; define new ones in [workspace.metadata.xtask.tasks.<name>]", known.join(", "))]
    UnknownTask { task: String, known: Vec<String> },
    #[error(
        "unknown package `{package}` (named by {referenced_by})\nhint: `cargo xtask graph` lists the workspace's packages"
    )]
    UnknownPackage {
        package: String,
        referenced_by: String,
    },
    #[error(
        "{referenced_by} depends on `{task}`, which package `{package}` does not define\nhint: define it in [package.metadata.xtask.tasks.{task}] of {package}, or in [workspace.metadata.xtask.tasks.{task}]"
    )]
    TaskNotInPackage {
        task: String,
        package: String,
        referenced_by: String,
    },
    #[error("task dependency cycle: {}\nhint: each task depends on the next; remove one of these `depends-on` entries from [workspace.metadata.xtask.tasks.<task>] in {} (or from a package's [package.metadata.xtask.tasks.<task>])", cycle.join(" -> "), manifest.display())]
    Cycle {
        cycle: Vec<String>,
        manifest: PathBuf,
    },
    #[error(
        "{task} depends on {persistent}, a persistent task, which never finishes\nhint: remove it from `depends-on`, or set `persistent = false`"
    )]
    DependsOnPersistent { task: String, persistent: String },
}
