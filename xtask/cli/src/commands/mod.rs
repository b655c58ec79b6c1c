//! One module per subcommand.

mod cache;
mod dry_run;
mod explain;
mod graph;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use xtask_engine::Workspace;

use crate::args::{Cli, Command};

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let dir = cli.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let workspace = || -> anyhow::Result<Workspace> {
        Workspace::open(&dir, cli.cache_dir.as_deref())
            .with_context(|| format!("failed to load the workspace at {}", dir.display()))
    };
    match cli.command {
        Command::Run(args) => run::run(workspace()?, args),
        Command::Graph(args) => graph::graph(&workspace()?, &args),
        Command::Explain(args) => explain::explain(&workspace()?, &args),
        Command::Cache(command) => cache::cache(&workspace()?, command),
    }
}

/// Every package of the workspace: the scope of a run until filters exist.
pub fn all_packages(ws: &Workspace) -> Vec<usize> {
    (0..ws.graph.packages.len()).collect()
}
