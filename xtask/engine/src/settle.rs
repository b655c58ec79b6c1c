//! Settling a task's key while the run goes: a key planned up front can
//! still change before the task starts (a dependency's result was stored
//! under a key that includes what it was found to read; the remote has the
//! discovered-inputs manifest the local cache lacked), and after a cargo
//! task ran, what cargo reported it read becomes part of the key it is
//! stored under. Dependents always see their dependencies' final keys.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Mutex;

use xtask_config::{Action, CargoKind};

use crate::discovered::{self, CargoReads, DiscoveredNames, Filter, Resolver};
use crate::key::DiscoveredInputs;
use crate::plan::{Plan, PlannedTask};
use crate::task_graph::NodeIndex;
use crate::workspace::Workspace;

/// The key each finished task's result is known by.
pub(crate) struct FinalKeys(Mutex<Vec<Option<String>>>);

impl FinalKeys {
    pub fn new(count: usize) -> FinalKeys {
        FinalKeys(Mutex::new(vec![None; count]))
    }

    pub fn set(&self, node: NodeIndex, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner())[node] = Some(key.to_string());
    }

    fn get(&self, node: NodeIndex) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())[node].clone()
    }
}

/// `node` as it must be looked up now: its planned inputs with the final
/// keys of its dependencies and, for a cargo task whose manifest the plan did
/// not find, the one `manifest` finds now (`manifest` takes a declared key
/// and looks locally, then remotely).
pub(crate) fn settle<'p>(
    plan: &'p Plan,
    node: NodeIndex,
    final_keys: &FinalKeys,
    manifest: impl FnOnce(&str) -> Option<DiscoveredNames>,
    resolve: impl FnOnce(&DiscoveredNames) -> crate::key::DiscoveredInputs,
) -> Cow<'p, PlannedTask> {
    let planned = &plan.tasks[node];
    let mut settled: Option<PlannedTask> = None;
    for &dep in &plan.graph.nodes[node].deps {
        let Some(key) = final_keys.get(dep) else {
            continue;
        };
        if key != plan.tasks[dep].key {
            let task = settled.get_or_insert_with(|| planned.clone());
            task.inputs
                .dependencies
                .insert(plan.graph.label(dep).to_string(), key);
        }
    }
    if let Some(task) = &mut settled {
        // Another declared key: the plan's manifest was the old key's.
        task.inputs.discovered = None;
        task.discovered = None;
        task.declared_key = task.inputs.key();
    }
    let is_cargo = matches!(plan.graph.nodes[node].def.action, Action::Cargo(_));
    let current = settled.as_ref().unwrap_or(planned);
    if is_cargo
        && current.discovered.is_none()
        && let Some(names) = manifest(&current.declared_key)
        && !names.is_empty()
    {
        let task = settled.get_or_insert_with(|| planned.clone());
        task.inputs.discovered = Some(resolve(&names));
        task.discovered = Some(names);
    }
    match settled {
        Some(mut task) => {
            task.key = task.inputs.key();
            Cow::Owned(task)
        }
        None => Cow::Borrowed(planned),
    }
}

/// The tasks of `plan` as a run would look them up, nothing run: for
/// `--dry-run`. A cargo task whose manifest only the remote holds is settled
/// with it (installed locally, as a run would); a dependency's key is its
/// settled key. Warnings (a refused manifest) go to `warn`.
pub fn settled_for_dry_run<'p>(
    ws: &Workspace,
    plan: &'p Plan,
    env: &crate::env::Environment,
    cache: &crate::tiered_cache::TieredCache<'_>,
    warn: &dyn Fn(String),
) -> Vec<Cow<'p, PlannedTask>> {
    let sources = crate::run::keys::ManifestSources {
        ws,
        plan,
        env,
        cache,
    };
    let final_keys = FinalKeys::new(plan.tasks.len());
    let mut settled: Vec<Option<Cow<'p, PlannedTask>>> = vec![None; plan.tasks.len()];
    for &node in &plan.graph.order {
        let label = plan.graph.label(node);
        let task = settle(
            plan,
            node,
            &final_keys,
            |declared| sources.manifest(label, declared, warn),
            |names| sources.resolve(node, names),
        );
        final_keys.set(node, &task.key);
        settled[node] = Some(task);
    }
    settled
        .into_iter()
        .enumerate()
        .map(|(node, task)| task.unwrap_or(Cow::Borrowed(&plan.tasks[node])))
        .collect()
}

/// What a finished cargo task is stored as.
pub(crate) struct Settled {
    pub task: PlannedTask,
    /// The manifest to write for `task.declared_key`, when it differs from
    /// the one the lookup used.
    pub new_manifest: Option<DiscoveredNames>,
    /// Names whose value changed while the task ran: what it read is not
    /// what the key says, so nothing may be stored.
    pub changed_while_running: Vec<String>,
}

/// Folds what cargo reported `task` read into its key.
pub(crate) fn after_cargo_run(
    ws: &Workspace,
    plan: &Plan,
    node: NodeIndex,
    task: &PlannedTask,
    reads: &CargoReads,
    resolver: &Resolver<'_>,
    lock_after_run: Option<&crate::cargo_lock::Lock>,
) -> Settled {
    let graph_node = &plan.graph.nodes[node];
    let package = &ws.graph.packages[graph_node.package];
    let kind = match graph_node.def.action {
        Action::Cargo(kind) => kind,
        _ => CargoKind::Check,
    };
    let mut settled = task.clone();
    if let Some(lock) = lock_after_run {
        rekey_for_lock(ws, package, &mut settled, lock);
    }
    let cargo = settled.inputs.cargo.as_ref();
    let mut closure: BTreeSet<String> = cargo
        .map(|c| c.closure.keys().cloned().collect())
        .unwrap_or_default();
    closure.insert(package.name.clone());
    let external: BTreeSet<String> = cargo
        .map(|c| {
            c.external
                .keys()
                .map(|entry| entry.split(' ').next().unwrap_or(entry).to_string())
                .collect()
        })
        .unwrap_or_default();
    let wanted = |name: &str| closure.contains(name) || external.contains(name);
    let covered = |rel: &str| covered_by_key(ws, plan, task, &closure, rel);
    let filter = Filter {
        root: &ws.root,
        excluded: discovered::excluded_dirs(&ws.graph.target_dir),
        covered: &covered,
        location_matters: matches!(kind, CargoKind::Build | CargoKind::Test),
    };
    let names = reads.names(&wanted, &filter);

    // Values now, after the run; a name the lookup already valued must still
    // have that value, or the task read something the key does not say.
    let now = resolver.resolve(&names);
    let changed_while_running = task
        .inputs
        .discovered
        .as_ref()
        .map(|before| changed_values(before, &now))
        .unwrap_or_default();
    settled.inputs.discovered = (!names.is_empty()).then_some(now);
    settled.key = settled.inputs.key();
    let new_manifest = (settled.declared_key != task.declared_key
        || task.discovered.as_ref() != Some(&names))
    .then(|| names.clone())
    .filter(|names| !names.is_empty() || task.discovered.is_some());
    settled.discovered = (!names.is_empty()).then_some(names);
    Settled {
        task: settled,
        new_manifest,
        changed_while_running,
    }
}

/// Cargo may have written Cargo.lock while it ran (a new dependency, no
/// lockfile yet): the result belongs to the lockfile as cargo left it.
fn rekey_for_lock(
    ws: &Workspace,
    package: &xtask_graph::Package,
    settled: &mut PlannedTask,
    lock: &crate::cargo_lock::Lock,
) {
    let Some(cargo) = &mut settled.inputs.cargo else {
        return;
    };
    let mut external = lock.external_closure(&package.name, &package.version);
    external.retain(|entry, source| {
        let name = entry.split(' ').next().unwrap_or(entry);
        source != "path" || ws.graph.find(name).is_none()
    });
    if external != cargo.external {
        cargo.external = external;
        cargo.workspace_files.remove("Cargo.lock");
        let mut declared = settled.inputs.clone();
        declared.discovered = None;
        settled.declared_key = declared.key();
    }
}

/// The names `before` valued whose value is different `now`.
fn changed_values(before: &DiscoveredInputs, now: &DiscoveredInputs) -> Vec<String> {
    let files = now
        .files
        .iter()
        .filter(|(name, value)| before.files.get(*name).is_some_and(|b| b != *value));
    let env = now
        .env
        .iter()
        .filter(|(name, value)| before.env.get(*name).is_some_and(|b| b != *value));
    files.chain(env).map(|(name, _)| name.clone()).collect()
}

/// True when a workspace file's content is already in the task's key: one
/// of the package's own inputs, or any file of a workspace crate in its
/// closure (their whole content is hashed).
fn covered_by_key(
    ws: &Workspace,
    plan: &Plan,
    task: &PlannedTask,
    closure: &BTreeSet<String>,
    rel: &str,
) -> bool {
    let in_snapshot = plan
        .snapshot
        .files
        .binary_search_by(|f| f.path.as_str().cmp(rel))
        .is_ok();
    if !in_snapshot {
        return false; // ignored by git, or not a file we hash
    }
    // The root manifest and the lockfile are in every cargo key already (the
    // parts that configure compilation; see `plan.rs`).
    if rel == "Cargo.toml" || rel == "Cargo.lock" {
        return true;
    }
    let Some(owner) = ws.graph.owner_of(rel) else {
        return false;
    };
    let owner_package = &ws.graph.packages[owner];
    if owner_package.name == task.inputs.package {
        let own = crate::inputs::relative_to(rel, &owner_package.dir);
        return task.inputs.files.contains_key(own);
    }
    closure.contains(&owner_package.name)
}

/// Input files of the task whose `stat` is no longer what it was when the
/// plan hashed them (workspace-relative paths). Stat, not content: an edit
/// reverted while the task ran leaves the content as planned, but what the
/// task read was the edit.
pub(crate) fn inputs_changed_since_plan(
    ws: &Workspace,
    plan: &Plan,
    node: NodeIndex,
    task: &PlannedTask,
) -> Vec<String> {
    let package = &ws.graph.packages[plan.graph.nodes[node].package];
    let files = &plan.snapshot.files;
    let mut paths: Vec<&str> = Vec::new();
    let mut owned = Vec::new();
    for name in task.inputs.files.keys() {
        match name.strip_prefix(xtask_config::ROOT_PREFIX) {
            Some(rel) => paths.push(rel),
            None if package.dir.is_empty() => paths.push(name),
            None => owned.push(format!("{}/{name}", package.dir)),
        }
    }
    paths.extend(owned.iter().map(String::as_str));
    paths.extend(task.inputs.global_files.keys().map(String::as_str));
    let mut changed = Vec::new();
    let mut check = |entry: &xtask_hash::FileEntry| {
        let abs = ws.root.join(&entry.path);
        let now = std::fs::symlink_metadata(&abs).map(|meta| {
            let stat = xtask_hash::FileStat::from_metadata(&meta);
            if meta.file_type().is_symlink() {
                stat.through_link(&abs)
            } else {
                stat
            }
        });
        if now.ok() != Some(entry.stat) {
            changed.push(entry.path.clone());
        }
    };
    for path in paths {
        if let Ok(i) = files.binary_search_by(|f| f.path.as_str().cmp(path)) {
            check(&files[i]);
        }
    }
    // A cargo task compiles its workspace dependencies' files too.
    for name in task.inputs.cargo.iter().flat_map(|c| c.closure.keys()) {
        let Some(dep) = ws.graph.find(name) else {
            continue;
        };
        let dir = &ws.graph.packages[dep].dir;
        if dir.is_empty() {
            continue; // a root package's files are everyone's: checked as its own inputs
        }
        let prefix = format!("{dir}/");
        let start = files.partition_point(|f| f.path.as_str() < prefix.as_str());
        for entry in files[start..]
            .iter()
            .take_while(|f| f.path.starts_with(&prefix))
        {
            check(entry);
        }
    }
    changed
}
