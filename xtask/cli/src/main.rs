//! The `xtask` binary, which this repository's `cargo xtask` alias runs
//! (`cargo run --package xtask --`): the command line as given.

use std::process::ExitCode;

fn main() -> ExitCode {
    xtask_cli::main(std::env::args_os())
}
