//! `cargo xtask affected`: the packages changed since a base revision and
//! their dependents, for CI matrices and other tools.

use std::process::ExitCode;

use serde::Serialize;
use xtask_engine::Workspace;
use xtask_engine::scope;

use super::scope_args;
use crate::args::{AffectedArgs, AffectedFormat};
use crate::stdout::outln;

#[derive(Serialize)]
struct Affected<'a> {
    base: &'a str,
    head: &'a str,
    packages: Vec<AffectedPackage<'a>>,
}

#[derive(Serialize)]
struct AffectedPackage<'a> {
    name: &'a str,
    directory: &'a str,
}

pub fn affected(ws: &Workspace, args: &AffectedArgs) -> anyhow::Result<ExitCode> {
    let range = scope_args::affected_range(
        args.base.as_deref(),
        args.head.as_deref(),
        &scope_args::process_env,
    );
    let found = scope::affected_in(ws, &range)?;
    let (base, head, packages) = (found.base, range.head, found.packages);
    match args.format {
        AffectedFormat::List => {
            for &p in &packages {
                outln!("{}", ws.graph.packages[p].name);
            }
        }
        AffectedFormat::Json => {
            let out = Affected {
                base: &base,
                head: &head,
                packages: packages
                    .iter()
                    .map(|&p| AffectedPackage {
                        name: &ws.graph.packages[p].name,
                        directory: &ws.graph.packages[p].dir,
                    })
                    .collect(),
            };
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
