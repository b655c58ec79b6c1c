//! `cargo xtask`: the command line. Parses arguments, opens the workspace,
//! hands work to the engine and prints errors as a chain with hints. Two
//! binaries share it: `xtask` (what this repository's alias runs, through
//! the launcher) and `cargo-xtask` (the installed cargo subcommand).
//!
//! Exit codes: see `exit.rs` (and README.md#exit-codes).

mod args;
mod commands;
mod exit;
mod stdout;

use std::ffi::OsString;
use std::process::ExitCode;

use std::io::Write;

use clap::Parser;
use xtask_report::Style;

/// Runs the command line `args` (the program name first, as in
/// `std::env::args_os`).
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // The reaper a run starts (see xtask-engine's reaper.rs), not a command.
    if args.get(1).is_some_and(|a| a == xtask_engine::REAPER_ARG) {
        xtask_engine::reap_task_groups(std::io::stdin().lock());
        return ExitCode::SUCCESS;
    }
    let args = args::Cli::parse_from(args);
    match commands::dispatch(args) {
        Ok(code) => code,
        // The reader has gone (`| head`): it wanted nothing more, say nothing.
        Err(error) if stdout::is_closed(&error) => ExitCode::from(stdout::CLOSED_EXIT_CODE),
        Err(error) => {
            // Errors quote names from the workspace and the cache: shown safely.
            let text = xtask_report::safe_message(&render_error(&error), &Style::detect());
            let _ = std::io::stderr().write_all(text.as_bytes());
            ExitCode::from(exit::code(&error))
        }
    }
}

/// `error: <message>` then each cause; `hint:` lines stay as written.
fn render_error(error: &anyhow::Error) -> String {
    let mut text = format!("error: {error}");
    for cause in error.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    text
}
