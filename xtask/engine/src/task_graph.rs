//! The task graph: one node per (package, task) that the run needs, with edges
//! from `depends-on`.

use std::collections::HashMap;

use xtask_config::{Pipeline, TaskDef, TaskDependency};
use xtask_graph::{DepKind, PackageGraph, PackageIndex};

use crate::EngineError;

pub type NodeIndex = usize;

/// `^task` follows normal and build edges. Dev-dependency edges are left out
/// on purpose: Cargo allows dev-dependency cycles (a crate's tests using a
/// crate that depends on it), which would make the task graph cyclic.
pub const UPSTREAM_EDGES: [DepKind; 2] = [DepKind::Normal, DepKind::Build];

#[derive(Debug, Clone)]
pub struct TaskNode {
    pub package: PackageIndex,
    pub task: String,
    pub def: TaskDef,
    /// Sorted by label, so hashing and output are stable.
    pub deps: Vec<NodeIndex>,
    pub dependents: Vec<NodeIndex>,
}

#[derive(Debug, Clone)]
pub struct TaskGraph {
    pub nodes: Vec<TaskNode>,
    /// Every node after all of its dependencies.
    pub order: Vec<NodeIndex>,
    labels: Vec<String>,
}

impl TaskGraph {
    /// `package#task`, the name users see and type.
    pub fn label(&self, node: NodeIndex) -> &str {
        &self.labels[node]
    }

    pub fn find(&self, label: &str) -> Option<NodeIndex> {
        self.labels.iter().position(|l| l == label)
    }

    /// Builds the graph for `tasks` in `packages` plus everything they depend on.
    pub fn build(
        graph: &PackageGraph,
        pipeline: &Pipeline,
        tasks: &[String],
        packages: &[PackageIndex],
    ) -> Result<TaskGraph, EngineError> {
        let known = pipeline.task_names();
        for task in tasks {
            if !known.contains(task.as_str()) {
                return Err(EngineError::UnknownTask {
                    task: task.clone(),
                    known: known.iter().map(|s| s.to_string()).collect(),
                });
            }
        }

        let mut builder = Builder {
            graph,
            pipeline,
            nodes: Vec::new(),
            index: HashMap::new(),
        };
        for task in tasks {
            for &package in packages {
                if let Some(def) = pipeline.task_for(&graph.packages[package].name, task) {
                    builder.add(package, task, def)?;
                }
            }
        }
        let Builder { mut nodes, .. } = builder;

        let labels: Vec<String> = nodes
            .iter()
            .map(|n| format!("{}#{}", graph.packages[n.package].name, n.task))
            .collect();
        for i in 0..nodes.len() {
            let mut deps = std::mem::take(&mut nodes[i].deps);
            deps.sort_by(|a, b| labels[*a].cmp(&labels[*b]));
            deps.dedup();
            for &dep in &deps {
                nodes[dep].dependents.push(i);
            }
            nodes[i].deps = deps;
        }
        for node in 0..nodes.len() {
            for &dep in &nodes[node].deps {
                if nodes[dep].def.persistent {
                    return Err(EngineError::DependsOnPersistent {
                        task: labels[node].clone(),
                        persistent: labels[dep].clone(),
                    });
                }
            }
        }
        let order = topological_order(&nodes).map_err(|cycle| EngineError::Cycle {
            cycle: cycle.iter().map(|&n| labels[n].clone()).collect(),
            manifest: pipeline.root_manifest.clone(),
        })?;
        Ok(TaskGraph {
            nodes,
            order,
            labels,
        })
    }
}

struct Builder<'a> {
    graph: &'a PackageGraph,
    pipeline: &'a Pipeline,
    nodes: Vec<TaskNode>,
    index: HashMap<(PackageIndex, String), NodeIndex>,
}

impl Builder<'_> {
    fn add(
        &mut self,
        package: PackageIndex,
        task: &str,
        def: &TaskDef,
    ) -> Result<NodeIndex, EngineError> {
        if let Some(&existing) = self.index.get(&(package, task.to_string())) {
            return Ok(existing);
        }
        let node = self.nodes.len();
        self.index.insert((package, task.to_string()), node);
        let depends_on = def.depends_on.clone();
        self.nodes.push(TaskNode {
            package,
            task: task.to_string(),
            def: def.clone(),
            deps: Vec::new(),
            dependents: Vec::new(),
        });

        let package_name = self.graph.packages[package].name.clone();
        for dependency in depends_on {
            let targets: Vec<(PackageIndex, String)> = match &dependency {
                TaskDependency::Upstream(t) => self
                    .graph
                    .dependencies_of(package, &UPSTREAM_EDGES)
                    .map(|q| (q, t.clone()))
                    .collect(),
                TaskDependency::SamePackage(t) => vec![(package, t.clone())],
                TaskDependency::Named {
                    package: p,
                    task: t,
                } => {
                    let q = self
                        .graph
                        .find(p)
                        .ok_or_else(|| EngineError::UnknownPackage {
                            package: p.clone(),
                            referenced_by: format!("{package_name}#{task}"),
                        })?;
                    vec![(q, t.clone())]
                }
            };
            let upstream = matches!(dependency, TaskDependency::Upstream(_));
            for (q, t) in targets {
                let q_name = &self.graph.packages[q].name;
                match self.pipeline.task_for(q_name, &t) {
                    Some(def) => {
                        let dep = self.add(q, &t, def)?;
                        self.nodes[node].deps.push(dep);
                    }
                    // `^task` where a dependency does not define the task: nothing to wait for.
                    None if upstream => {}
                    None => {
                        return Err(EngineError::TaskNotInPackage {
                            task: t,
                            package: q_name.clone(),
                            referenced_by: format!("{package_name}#{task}"),
                        });
                    }
                }
            }
        }
        Ok(node)
    }
}

/// Kahn's algorithm; on a cycle, returns one cycle, each node depending on
/// the next and the first repeated at the end.
fn topological_order(nodes: &[TaskNode]) -> Result<Vec<NodeIndex>, Vec<NodeIndex>> {
    let mut waiting: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
    let mut ready: Vec<NodeIndex> = (0..nodes.len()).filter(|&i| waiting[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(node) = ready.pop() {
        order.push(node);
        for &dependent in &nodes[node].dependents {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(dependent);
            }
        }
    }
    if order.len() == nodes.len() {
        return Ok(order);
    }
    Err(find_cycle(nodes, &waiting))
}

/// Walks dependency edges among the nodes left over by Kahn's algorithm
/// (every one of them is on or behind a cycle) until a node repeats.
fn find_cycle(nodes: &[TaskNode], waiting: &[usize]) -> Vec<NodeIndex> {
    let start = (0..nodes.len()).find(|&i| waiting[i] > 0).unwrap_or(0);
    let mut path = vec![start];
    let mut seen = HashMap::from([(start, 0usize)]);
    let mut current = start;
    loop {
        let Some(&next) = nodes[current].deps.iter().find(|&&d| waiting[d] > 0) else {
            return path;
        };
        if let Some(&at) = seen.get(&next) {
            let mut cycle = path[at..].to_vec();
            cycle.push(next);
            return cycle;
        }
        seen.insert(next, path.len());
        path.push(next);
        current = next;
    }
}
