//! One task table after validation (a layer), and the merge of the layers a
//! task has for a package: built-in defaults, then the workspace's table,
//! then the package's own. Merged once, when the configuration is loaded.

use std::collections::BTreeMap;

use crate::{Action, CargoKind, InputPattern, PathGlob, TaskDef, TaskDependency};

/// A checked task table: only what it names is `Some`, so that a package
/// overrides only those fields.
#[derive(Debug, Default)]
pub(crate) struct TaskLayer {
    pub command: Option<String>,
    pub depends_on: Option<Vec<TaskDependency>>,
    pub inputs: Option<Vec<InputPattern>>,
    pub outputs: Option<Vec<PathGlob>>,
    pub env: Option<Vec<String>>,
    pub pass_env: Option<Vec<String>>,
    pub cache: Option<bool>,
    pub persistent: Option<bool>,
    pub args: Option<Vec<String>>,
    pub profile: Option<String>,
    pub features: Option<Vec<String>>,
}

/// The definition of `task` from `layers` (lowest first) over the built-in
/// defaults; `None` when no layer defines it and it is not built in.
pub(crate) fn merge(task: &str, layers: &[&TaskLayer]) -> Option<TaskDef> {
    let builtin = CargoKind::from_task_name(task);
    if layers.is_empty() && builtin.is_none() {
        return None;
    }
    let mut def = TaskDef {
        action: builtin.map_or(Action::Nothing, Action::Cargo),
        depends_on: Vec::new(),
        inputs: None,
        outputs: Vec::new(),
        env: Vec::new(),
        pass_env: Vec::new(),
        cache: true,
        persistent: false,
        args: Vec::new(),
        profile: None,
        features: Vec::new(),
    };
    for layer in layers {
        apply(&mut def, layer);
    }
    Some(def)
}

fn apply(def: &mut TaskDef, layer: &TaskLayer) {
    if let Some(command) = &layer.command {
        def.action = Action::Shell(command.clone());
    }
    if let Some(deps) = &layer.depends_on {
        def.depends_on = deps.clone();
    }
    if let Some(inputs) = &layer.inputs {
        def.inputs = Some(inputs.clone());
    }
    if let Some(outputs) = &layer.outputs {
        def.outputs = outputs.clone();
    }
    if let Some(env) = &layer.env {
        def.env = env.clone();
    }
    if let Some(pass_env) = &layer.pass_env {
        def.pass_env = pass_env.clone();
    }
    if let Some(cache) = layer.cache {
        def.cache = cache;
    }
    if let Some(persistent) = layer.persistent {
        def.persistent = persistent;
    }
    if let Some(args) = &layer.args {
        def.args = args.clone();
    }
    if let Some(profile) = &layer.profile {
        def.profile = Some(profile.clone());
    }
    if let Some(features) = &layer.features {
        def.features = features.clone();
    }
}

/// Every task's definition: the workspace's (built-ins included), and each
/// package's own tables merged over them.
pub(crate) type Merged = (
    BTreeMap<String, TaskDef>,
    BTreeMap<String, BTreeMap<String, TaskDef>>,
);

pub(crate) fn merge_all(
    workspace: &BTreeMap<String, TaskLayer>,
    packages: &BTreeMap<String, BTreeMap<String, TaskLayer>>,
) -> Merged {
    let mut workspace_tasks = BTreeMap::new();
    let builtin = crate::BUILTIN_TASKS.iter().map(|t| t.to_string());
    for task in builtin.chain(workspace.keys().cloned()) {
        let layers: Vec<&TaskLayer> = workspace.get(&task).into_iter().collect();
        if let Some(def) = merge(&task, &layers) {
            workspace_tasks.insert(task, def);
        }
    }
    let package_tasks = packages
        .iter()
        .map(|(package, own)| {
            let defs = own
                .iter()
                .filter_map(|(task, layer)| {
                    let layers: Vec<&TaskLayer> =
                        workspace.get(task).into_iter().chain([layer]).collect();
                    Some((task.clone(), merge(task, &layers)?))
                })
                .collect();
            (package.clone(), defs)
        })
        .collect();
    (workspace_tasks, package_tasks)
}
