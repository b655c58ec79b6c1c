//! `notes-api`: reads its configuration from the environment (see
//! `.env.example`), then serves until SIGTERM. `notes-api migrate` applies
//! pending migrations and exits (the Kubernetes migration Job runs it).

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match notes_api::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            eprintln!("hint: every variable is described in .env.example");
            return ExitCode::from(2);
        }
    };
    notes_api::init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        None | Some("serve") => runtime.block_on(notes_api::run(config)),
        Some("migrate") => runtime.block_on(notes_api::migrate(config)),
        Some(other) => {
            eprintln!("error: unknown command {other:?}\nusage: notes-api [serve|migrate]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "notes-api failed");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
