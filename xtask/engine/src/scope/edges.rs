//! The package graph's edges of every kind (normal, build, dev), both ways,
//! and their transitive closures: what `name...`, `...name` and `--affected`
//! follow.

use std::collections::BTreeSet;

use xtask_graph::{PackageGraph, PackageIndex};

/// Forward and reverse edges of the package graph, all kinds.
pub(super) struct Edges {
    dependencies: Vec<Vec<PackageIndex>>,
    dependents: Vec<Vec<PackageIndex>>,
}

impl Edges {
    pub(super) fn new(graph: &PackageGraph) -> Edges {
        let n = graph.packages.len();
        let mut dependents = vec![Vec::new(); n];
        let mut dependencies = vec![Vec::new(); n];
        for (from, package) in graph.packages.iter().enumerate() {
            for dep in &package.dependencies {
                dependencies[from].push(dep.package);
                dependents[dep.package].push(from);
            }
        }
        Edges {
            dependencies,
            dependents,
        }
    }

    /// Transitive dependencies of `start`, without `start` itself (even when a
    /// dev-dependency cycle leads back to it).
    pub(super) fn dependencies(&self, start: PackageIndex) -> BTreeSet<PackageIndex> {
        closure(&self.dependencies, start)
    }

    /// Transitive dependents of `start`, without `start` itself.
    pub(super) fn dependents(&self, start: PackageIndex) -> BTreeSet<PackageIndex> {
        closure(&self.dependents, start)
    }
}

fn closure(adjacency: &[Vec<PackageIndex>], start: PackageIndex) -> BTreeSet<PackageIndex> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        for &next in &adjacency[node] {
            if next != start && seen.insert(next) {
                stack.push(next);
            }
        }
    }
    seen
}
