//! Builds the front end (`apps/web`) into `apps/web/dist`: compiles it for
//! wasm32, generates the JS glue with wasm-bindgen and copies `assets/`
//! (index.html). Run it as `cargo run -p notes-web-dist -- dist [--release]`;
//! the engine's `notes-web#build` task does exactly that and caches the dist
//! directory.

use std::path::PathBuf;
use std::process::ExitCode;

use xtask_wasm::clap::{self, Parser};

#[derive(Parser)]
enum Command {
    /// Build the wasm bundle into apps/web/dist.
    Dist(xtask_wasm::Dist),
}

fn main() -> ExitCode {
    let Command::Dist(dist) = Command::parse();
    let web_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web");
    let result = dist
        .dist_dir(web_dir.join("dist"))
        .assets_dir(web_dir.join("assets"))
        .app_name("app")
        .build("notes-web");
    match result {
        Ok(dir) => {
            println!("built {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: failed to build the front end: {e:#}");
            ExitCode::FAILURE
        }
    }
}
