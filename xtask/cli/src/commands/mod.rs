//! One module per subcommand.

mod affected;
mod cache;
mod dry_run;
mod explain;
mod graph;
pub mod release;
mod run;
mod scope_args;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use xtask_engine::Workspace;
use xtask_remote::{Blame, CliRemote, RemoteError, RemoteSettings};

use crate::args::{Cli, Command, ScopeArgs};

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let dir = cli.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let workspace = || -> anyhow::Result<Workspace> {
        let ws = Workspace::open(&dir, cli.cache_dir.as_deref())
            .with_context(|| format!("failed to load the workspace at {}", dir.display()))?;
        for warning in &ws.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(ws)
    };
    let remote_flags = CliRemote {
        url: cli.remote_cache.clone(),
        mode: cli.remote_cache_mode.map(Into::into),
    };
    match cli.command {
        Command::Run(args) => run::run(workspace()?, args, &remote_flags),
        Command::Graph(args) => graph::graph(&workspace()?, &args),
        Command::Explain(args) => explain::explain(workspace()?, &args),
        Command::Affected(args) => affected::affected(&workspace()?, &args),
        Command::Cache(command) => cache::cache(&workspace()?, command, &remote_flags),
        Command::Release(args) => release::release(&workspace()?, args),
    }
}

/// The remote cache settings: `[workspace.metadata.xtask.remote-cache]`, then
/// the environment, then the flags. `None` when no remote is configured.
pub fn remote_settings(
    ws: &Workspace,
    flags: &CliRemote,
) -> Result<Option<RemoteSettings>, RemoteError> {
    let env = |name: &str| std::env::var(name).ok();
    RemoteSettings::resolve(
        ws.pipeline.remote_cache.as_ref(),
        &ws.pipeline.root_manifest,
        &env,
        flags,
    )
}

/// A remote this environment cannot use, as the one warning a run prints
/// before going on with the local cache: `None` for a mistake in the manifest
/// or on the command line, which stays an error.
pub fn unusable_remote_warning(error: &RemoteError) -> Option<String> {
    (error.blame() == Blame::Environment)
        .then(|| format!("remote cache off for this run, the local cache still works: {error}"))
}

/// Every package of the workspace.
pub fn all_packages(ws: &Workspace) -> Vec<usize> {
    (0..ws.graph.packages.len()).collect()
}

/// The packages selected by `--filter` and `--affected` (both: the
/// intersection), or all of them: the flags parsed once, then selected by the
/// engine. A filter that selects nothing is a warning on stderr.
pub fn scope(ws: &Workspace, args: &ScopeArgs) -> anyhow::Result<Vec<usize>> {
    let scope = scope_args::parse(args, &scope_args::process_env)?;
    Ok(scope_args::selected_packages(ws, &scope)?)
}
