//! The `xtask` binary, the engine: this repository's `cargo xtask` alias runs
//! it through the launcher (`xtask/launcher`), which keeps it built. The
//! command line as given.

use std::process::ExitCode;

fn main() -> ExitCode {
    xtask_cli::main(std::env::args_os())
}
