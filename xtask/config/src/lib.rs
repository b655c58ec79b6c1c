//! The pipeline: which tasks exist, what each runs, what it depends on and what
//! goes into its cache key.
//!
//! Read from `[workspace.metadata.xtask]` in the root Cargo.toml and
//! `[package.metadata.xtask]` in member manifests, merged over built-in
//! defaults so that a workspace with no configuration at all still has `build`,
//! `test`, `lint` and `check`. Everything is validated here, up front: a
//! mistake is reported with the file, the line, the key and a hint, before any
//! task runs.

mod error;
pub mod glob;
mod layer;
mod raw;
pub mod units;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use xtask_graph::PackageGraph;

pub use error::{ConfigError, Located, edit_distance};
pub use glob::{Anchor, DEFAULT_INPUTS, InputPattern, PathGlob, ROOT_PREFIX};

/// What a task does when it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A shell command (`sh -c`), run in the package directory.
    Shell(String),
    /// A built-in cargo subcommand for the package.
    Cargo(CargoKind),
    /// Nothing to run: a task that only groups its dependencies.
    Nothing,
}

/// The built-in cargo task kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CargoKind {
    Build,
    Check,
    Lint,
    Test,
}

impl CargoKind {
    pub fn from_task_name(name: &str) -> Option<CargoKind> {
        match name {
            "build" => Some(CargoKind::Build),
            "check" => Some(CargoKind::Check),
            "lint" => Some(CargoKind::Lint),
            "test" => Some(CargoKind::Test),
            _ => None,
        }
    }
}

/// One entry of `depends-on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum TaskDependency {
    /// `^task`: the task in every workspace dependency of the package.
    Upstream(String),
    /// `task`: another task of the same package.
    SamePackage(String),
    /// `pkg#task`: one named task.
    Named { package: String, task: String },
}

impl TaskDependency {
    pub fn parse(text: &str) -> TaskDependency {
        if let Some(task) = text.strip_prefix('^') {
            TaskDependency::Upstream(task.to_string())
        } else if let Some((package, task)) = text.split_once('#') {
            TaskDependency::Named {
                package: package.to_string(),
                task: task.to_string(),
            }
        } else {
            TaskDependency::SamePackage(text.to_string())
        }
    }

    pub fn task(&self) -> &str {
        match self {
            TaskDependency::Upstream(t) | TaskDependency::SamePackage(t) => t,
            TaskDependency::Named { task, .. } => task,
        }
    }
}

/// The definition of a task as it applies to one package: built-in defaults,
/// then the workspace table, then the package's own table. Its serialized form
/// is what the cache key covers, so it holds exactly what can change a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TaskDef {
    pub action: Action,
    pub depends_on: Vec<TaskDependency>,
    /// `None`: the default inputs (the package's files git does not ignore).
    pub inputs: Option<Vec<InputPattern>>,
    pub outputs: Vec<PathGlob>,
    pub env: Vec<String>,
    /// Passed to the command, not hashed; so not part of the key.
    #[serde(skip)]
    pub pass_env: Vec<String>,
    pub cache: bool,
    pub persistent: bool,
    /// Built-in cargo tasks: extra arguments for cargo (after the subcommand).
    pub args: Vec<String>,
    /// Built-in cargo tasks: the cargo profile (`build` defaults to release).
    pub profile: Option<String>,
    /// Built-in cargo tasks: features to enable.
    pub features: Vec<String>,
}

/// Which environment variables a command sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvMode {
    /// Only a small base set (PATH, HOME, cargo and rustup variables, …) plus
    /// the declared `env`, `pass-env` and `global-env`: an undeclared variable
    /// cannot change a result behind the cache's back.
    Strict,
    /// Everything the run was started with.
    Loose,
}

/// Local cache settings from `[workspace.metadata.xtask.cache]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSettings {
    pub max_bytes: Option<u64>,
    pub max_age: Option<std::time::Duration>,
}

/// The validated pipeline of a workspace.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub root_manifest: PathBuf,
    pub global_inputs: Vec<PathGlob>,
    pub global_env: Vec<String>,
    pub env_mode: EnvMode,
    pub cache: CacheSettings,
    /// `[workspace.metadata.xtask.remote-cache]` as written; xtask-remote
    /// validates it (it knows its keys).
    pub remote_cache: Option<toml::Table>,
    /// `[workspace.metadata.xtask.release]` as written; xtask-release
    /// validates it.
    pub release: Option<toml::Table>,
    /// Built-in defaults under the workspace's tables, merged at load: what a
    /// package without a table of its own for the task gets.
    pub(crate) workspace_tasks: BTreeMap<String, TaskDef>,
    /// Package name → its own tables merged over the workspace's.
    pub(crate) package_tasks: BTreeMap<String, BTreeMap<String, TaskDef>>,
}

/// Task names every workspace has, even with no configuration.
pub const BUILTIN_TASKS: [&str; 4] = ["build", "check", "lint", "test"];

impl Pipeline {
    /// Reads and validates the configuration of the workspace.
    pub fn load(graph: &PackageGraph) -> Result<Pipeline, ConfigError> {
        validate::load(graph)
    }

    /// Every task name known anywhere: built-ins, workspace and packages.
    pub fn task_names(&self) -> BTreeSet<&str> {
        let mut names: BTreeSet<&str> = BUILTIN_TASKS.into_iter().collect();
        names.extend(self.workspace_tasks.keys().map(String::as_str));
        for tasks in self.package_tasks.values() {
            names.extend(tasks.keys().map(String::as_str));
        }
        names
    }

    /// The definition of `task` for `package`, or `None` when the task does
    /// not apply to it (defined only by other packages).
    pub fn task_for(&self, package: &str, task: &str) -> Option<&TaskDef> {
        self.package_tasks
            .get(package)
            .and_then(|tasks| tasks.get(task))
            .or_else(|| self.workspace_tasks.get(task))
    }
}

/// Manifest path of the root of a workspace.
pub fn root_manifest(root: &Path) -> PathBuf {
    root.join("Cargo.toml")
}
