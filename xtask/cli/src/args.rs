//! The command-line interface, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    version,
    about = "A fast, cached task runner for Cargo workspaces",
    propagate_version = true,
    after_help = crate::exit::HELP
)]
pub struct Cli {
    /// Run as if started in DIR (any directory of the workspace).
    #[arg(short = 'C', long = "cwd", global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Local cache directory [env: XTASK_CACHE_DIR] [default: <workspace>/turbo-cache]
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Remote cache URL: file://DIR, http(s):// (Turborepo API), s3://, gs://, az://
    /// [env: XTASK_REMOTE_CACHE_URL, TURBO_API]
    #[arg(long, global = true, value_name = "URL", require_equals = true)]
    pub remote_cache: Option<String>,

    /// read-write, read, write or off [env: XTASK_REMOTE_CACHE_MODE]
    #[arg(
        long,
        global = true,
        value_name = "MODE",
        require_equals = true,
        value_enum,
        hide_possible_values = true
    )]
    pub remote_cache_mode: Option<RemoteCacheMode>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run tasks over the workspace, restoring cached results
    Run(RunArgs),
    /// Print the package graph, or the task graph of TASKS
    Graph(GraphArgs),
    /// Explain why a task will miss the cache: what changed since its last success
    Explain(ExplainArgs),
    /// Print the packages changed since a base revision, and their dependents
    Affected(AffectedArgs),
    /// Inspect and maintain the local cache
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Version, changelog, tag (and publish) the packages changed since their last release
    Release(crate::commands::release::ReleaseArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Tasks to run, e.g. `lint test build`
    ///
    /// Built-in tasks, which every package has without configuration:
    ///   build  cargo build --release (binaries restored into target/release/)
    ///   check  cargo check (add `args = ["--all-targets"]` for tests and benches)
    ///   lint   cargo fmt --check, then cargo clippy --all-targets -- -D warnings
    ///   test   cargo nextest run when installed, else cargo test
    /// Other tasks come from [workspace.metadata.xtask.tasks.<name>].
    #[arg(required = true, verbatim_doc_comment)]
    pub tasks: Vec<String>,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// How many tasks run at once [default: number of cores]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Keep running other tasks after one fails
    #[arg(long = "continue")]
    pub continue_on_error: bool,

    /// Ignore cache hits and run every task (results are still cached)
    #[arg(long)]
    pub force: bool,

    /// Do not write results to the cache
    #[arg(long)]
    pub no_cache: bool,

    /// Which task logs to print
    #[arg(long, value_name = "MODE", value_enum, default_value_t = OutputLogsArg::Full)]
    pub output_logs: OutputLogsArg,

    /// Show what would run, with keys and cache status, without running anything
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "text",
          require_equals = true, value_enum)]
    pub dry_run: Option<DryRunFormat>,

    /// Write a JSON summary of the run [default path: <cache-dir>/runs/<time>.json]
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "",
          require_equals = true)]
    pub summarize: Option<String>,
}

/// `--output-logs`, as Turborepo spells its values.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputLogsArg {
    /// Live output of executed tasks, replayed logs of cached ones
    Full,
    /// A line with the key per task
    HashOnly,
    /// Output of executed tasks; a line with the key for cached ones
    NewOnly,
    /// The logs of failed tasks only
    ErrorsOnly,
    /// No task logs
    None,
}

impl From<OutputLogsArg> for xtask_report::OutputLogs {
    fn from(arg: OutputLogsArg) -> Self {
        use xtask_report::OutputLogs;
        match arg {
            OutputLogsArg::Full => OutputLogs::Full,
            OutputLogsArg::HashOnly => OutputLogs::HashOnly,
            OutputLogsArg::NewOnly => OutputLogs::NewOnly,
            OutputLogsArg::ErrorsOnly => OutputLogs::ErrorsOnly,
            OutputLogsArg::None => OutputLogs::None,
        }
    }
}

/// `--dry-run[=text|json]`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DryRunFormat {
    /// For people
    Text,
    /// For tools
    Json,
}

/// `--remote-cache-mode`: which way entries travel. The short spellings are
/// the ones the manifest and XTASK_REMOTE_CACHE_MODE accept too.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteCacheMode {
    #[value(alias = "rw")]
    ReadWrite,
    #[value(aliases = ["read-only", "r"])]
    Read,
    #[value(aliases = ["write-only", "w"])]
    Write,
    #[value(alias = "none")]
    Off,
}

impl From<RemoteCacheMode> for xtask_remote::Mode {
    fn from(mode: RemoteCacheMode) -> Self {
        match mode {
            RemoteCacheMode::ReadWrite => xtask_remote::Mode::ReadWrite,
            RemoteCacheMode::Read => xtask_remote::Mode::Read,
            RemoteCacheMode::Write => xtask_remote::Mode::Write,
            RemoteCacheMode::Off => xtask_remote::Mode::Off,
        }
    }
}

/// Which packages a run covers (default: all).
#[derive(Args, Debug, Default)]
pub struct ScopeArgs {
    /// Turborepo filter syntax: `name`, `name...`, `...name`, `./apps/*`,
    /// `[origin/main]`, `!name`; repeat for a union
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Only packages changed since --base (and the working tree), and their dependents
    #[arg(long)]
    pub affected: bool,

    /// Base revision for --affected [default: $XTASK_BASE, $GITHUB_BASE_REF, or the
    /// merge-base with the default branch]
    #[arg(long, value_name = "REV", requires = "affected")]
    pub base: Option<String>,

    /// Head revision for --affected [default: HEAD, working tree included]
    #[arg(long, value_name = "REV", requires = "affected")]
    pub head: Option<String>,
}

#[derive(Args, Debug)]
pub struct AffectedArgs {
    /// Base revision [default: $XTASK_BASE, $GITHUB_BASE_REF, or the merge-base
    /// with the default branch]
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Head revision [default: HEAD, working tree included]
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,

    #[arg(long, value_enum, default_value_t = AffectedFormat::List)]
    pub format: AffectedFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AffectedFormat {
    /// One package name per line
    List,
    /// `{"base", "head", "packages": [{"name", "directory"}]}` for CI matrices
    Json,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// Tasks whose graph to print; without any, the package graph
    pub tasks: Vec<String>,

    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The task, as `package#task`
    pub task: String,
}

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Where the cache is, how big, how old
    Status,
    /// Check every entry's integrity; remove damaged ones
    Verify,
    /// Evict entries by size (least recently used first) and age
    Prune(PruneArgs),
    /// Remove every entry
    Clean,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Keep at most this much, e.g. 5GiB [default: cache.max-size or 10GiB]
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,
    /// Remove entries unused for longer than this, e.g. 14d [default: cache.max-age or 30d]
    #[arg(long, value_name = "AGE")]
    pub max_age: Option<String>,
}
