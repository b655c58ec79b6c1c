//! `cargo xtask graph`: the package graph, or a task graph, as DOT, Mermaid
//! or JSON.

use std::process::ExitCode;

use serde::Serialize;
use xtask_engine::{TaskGraph, Workspace};
use xtask_graph::DepKind;

use crate::args::{GraphArgs, GraphFormat};
use crate::stdout::out;

#[derive(Serialize)]
struct Graph {
    nodes: Vec<String>,
    edges: Vec<Edge>,
}

#[derive(Serialize)]
struct Edge {
    from: String,
    to: String,
    kind: &'static str,
}

pub fn graph(ws: &Workspace, args: &GraphArgs) -> anyhow::Result<ExitCode> {
    let graph = if args.tasks.is_empty() {
        package_graph(ws)
    } else {
        let scope = super::all_packages(ws);
        let tasks = TaskGraph::build(&ws.graph, &ws.pipeline, &args.tasks, &scope)?;
        task_graph(&tasks)
    };
    out!("{}", render(&graph, args.format)?);
    Ok(ExitCode::SUCCESS)
}

fn package_graph(ws: &Workspace) -> Graph {
    let packages = &ws.graph.packages;
    Graph {
        nodes: packages.iter().map(|p| p.name.clone()).collect(),
        edges: packages
            .iter()
            .flat_map(|p| {
                p.dependencies.iter().map(|d| Edge {
                    from: p.name.clone(),
                    to: packages[d.package].name.clone(),
                    kind: match d.kind {
                        DepKind::Normal => "normal",
                        DepKind::Build => "build",
                        DepKind::Dev => "dev",
                    },
                })
            })
            .collect(),
    }
}

fn task_graph(tasks: &TaskGraph) -> Graph {
    let mut nodes: Vec<String> = (0..tasks.nodes.len())
        .map(|n| tasks.label(n).to_string())
        .collect();
    nodes.sort();
    let mut edges: Vec<Edge> = (0..tasks.nodes.len())
        .flat_map(|n| {
            tasks.nodes[n].deps.iter().map(move |&d| Edge {
                from: tasks.label(n).to_string(),
                to: tasks.label(d).to_string(),
                kind: "depends-on",
            })
        })
        .collect();
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    Graph { nodes, edges }
}

fn render(graph: &Graph, format: GraphFormat) -> anyhow::Result<String> {
    let mut out = String::new();
    match format {
        GraphFormat::Json => {
            out = serde_json::to_string_pretty(graph)?;
            out.push('\n');
        }
        GraphFormat::Dot => {
            out.push_str("digraph {\n  rankdir=\"LR\"\n");
            for node in &graph.nodes {
                out.push_str(&format!("  {node:?}\n"));
            }
            for edge in &graph.edges {
                let style = if edge.kind == "dev" {
                    " [style=dashed]"
                } else {
                    ""
                };
                out.push_str(&format!("  {:?} -> {:?}{style}\n", edge.from, edge.to));
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("graph LR\n");
            let id = |name: &str| graph.nodes.iter().position(|n| n == name).unwrap_or(0);
            for (i, node) in graph.nodes.iter().enumerate() {
                out.push_str(&format!("  n{i}[\"{node}\"]\n"));
            }
            for edge in &graph.edges {
                let arrow = if edge.kind == "dev" { "-.->" } else { "-->" };
                out.push_str(&format!(
                    "  n{} {arrow} n{}\n",
                    id(&edge.from),
                    id(&edge.to)
                ));
            }
        }
    }
    Ok(out)
}
