//! `cargo xtask`: the command line. Parses arguments, opens the workspace,
//! hands work to the engine and prints errors as a chain with hints.
//!
//! Exit codes: 0 success, 1 a task failed, 2 bad usage or configuration,
//! 130 cancelled (Ctrl-C).

mod args;
mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use xtask_report::Style;

fn main() -> ExitCode {
    // The reaper a run starts (see xtask-engine's reaper.rs), not a command.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == xtask_engine::REAPER_ARG)
    {
        xtask_engine::reap_task_groups(std::io::stdin().lock());
        return ExitCode::SUCCESS;
    }
    let args = args::Cli::parse();
    match commands::dispatch(args) {
        Ok(code) => code,
        Err(error) => {
            // Errors quote names from the workspace and the cache: shown safely.
            let text = xtask_report::safe_message(&render_error(&error), &Style::detect());
            let _ = std::io::stderr().write_all(text.as_bytes());
            ExitCode::from(2)
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
