//! `cargo xtask affected`: the packages changed since a base revision and
//! their dependents, for CI matrices and other tools.

use std::process::ExitCode;

use serde::Serialize;
use xtask_engine::scope;
use xtask_engine::{Workspace, affected_by_workspace_file};
use xtask_git::{Git, Repo};

use crate::args::{AffectedArgs, AffectedFormat};

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
    let git = Repo::at(&ws.root);
    let (base, head) = revisions(&git, args.base.as_deref(), args.head.as_deref())?;
    let packages = packages(ws, &git, &base, &head)?;
    match args.format {
        AffectedFormat::List => {
            for &p in &packages {
                println!("{}", ws.graph.packages[p].name);
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
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The base and head revisions: given, or the defaults.
pub fn revisions(
    git: &dyn Git,
    base: Option<&str>,
    head: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let base = match base {
        Some(base) => base.to_string(),
        None => scope::default_base(git, &|name| std::env::var(name).ok())?,
    };
    Ok((base, head.unwrap_or("HEAD").to_string()))
}

/// Changed packages and their dependents.
pub fn packages(
    ws: &Workspace,
    git: &dyn Git,
    base: &str,
    head: &str,
) -> anyhow::Result<Vec<usize>> {
    let special = affected_by_workspace_file(ws);
    Ok(scope::affected(&ws.graph, base, head, git, &special)?)
}
