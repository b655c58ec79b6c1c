//! Loading the manifests and checking every value before anything runs.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use xtask_graph::PackageGraph;

use crate::error::{ConfigError, Located, suggest};
use crate::layer::{self, TaskLayer};
use crate::raw::{ManifestDoc, RawTask};
use crate::{
    CacheSettings, EnvMode, InputPattern, PathGlob, Pipeline, ROOT_PREFIX, TaskDependency, units,
};

/// A manifest's text, kept to turn byte spans into line numbers.
struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    fn read(path: &Path) -> Result<Source, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Source {
            path: path.to_path_buf(),
            text,
        })
    }

    fn parse(&self) -> Result<ManifestDoc, ConfigError> {
        toml::from_str(&self.text).map_err(|e| ConfigError::Toml {
            path: self.path.clone(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    fn error(&self, span: Range<usize>, key: String, message: String, hint: String) -> ConfigError {
        let line = self.text[..span.start.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1;
        ConfigError::Invalid(Located {
            path: self.path.clone(),
            line,
            key,
            message,
            hint,
        })
    }
}

// Long: reads the sources in the order their errors must be reported (root
// manifest, then each member), each step one short block; split, the order
// would live in the caller anyway.
pub(crate) fn load(graph: &PackageGraph) -> Result<Pipeline, ConfigError> {
    let root_source = Source::read(&crate::root_manifest(&graph.root))?;
    let root_doc = root_source.parse()?;
    let config = root_doc
        .workspace
        .and_then(|w| w.metadata)
        .and_then(|m| m.xtask)
        .unwrap_or_default();

    // A single-package workspace keeps its configuration in the package table.
    let mut package_sources = Vec::new();
    for package in graph.packages.iter().filter(|p| p.has_xtask_metadata) {
        let source = Source::read(&graph.root.join(&package.manifest))?;
        let doc = source.parse()?;
        let tasks = doc
            .package
            .and_then(|p| p.metadata)
            .and_then(|m| m.xtask)
            .map(|x| x.tasks)
            .unwrap_or_default();
        package_sources.push((package.name.clone(), source, tasks));
    }

    let mut names: BTreeSet<String> = crate::BUILTIN_TASKS.iter().map(|s| s.to_string()).collect();
    names.extend(config.tasks.keys().cloned());
    for (_, _, tasks) in &package_sources {
        names.extend(tasks.keys().cloned());
    }
    let checker = Checker {
        graph,
        task_names: &names,
    };

    let ws_key = "workspace.metadata.xtask";
    let global_inputs = config
        .global_inputs
        .iter()
        .map(|glob| checker.glob(&root_source, glob, &format!("{ws_key}.global-inputs")))
        .collect::<Result<Vec<_>, _>>()?;
    let global_env = config
        .global_env
        .iter()
        .map(|name| checker.env_name(&root_source, name, &format!("{ws_key}.global-env")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut workspace_layers = BTreeMap::new();
    for (task, def) in &config.tasks {
        let layer = checker.task(&root_source, &format!("{ws_key}.tasks.{task}"), task, def)?;
        workspace_layers.insert(task.clone(), layer);
    }
    let mut package_layers: BTreeMap<String, BTreeMap<String, TaskLayer>> = BTreeMap::new();
    for (package, source, tasks) in &package_sources {
        let layers = package_layers.entry(package.clone()).or_default();
        for (task, def) in tasks {
            let key = format!("package.metadata.xtask.tasks.{task}");
            layers.insert(task.clone(), checker.task(source, &key, task, def)?);
        }
    }

    let env_mode = match config.env_mode.as_ref().map(|m| m.get_ref().as_str()) {
        None | Some("strict") => EnvMode::Strict,
        Some("loose") => EnvMode::Loose,
        Some(other) => {
            let span = config.env_mode.as_ref().map_or(0..0, |m| m.span());
            return Err(root_source.error(
                span,
                format!("{ws_key}.env-mode"),
                format!("unknown mode `{other}`"),
                "use \"strict\" (only declared variables reach tasks) or \"loose\" (all of them)"
                    .into(),
            ));
        }
    };

    let cache = match &config.cache {
        None => CacheSettings::default(),
        Some(raw) => CacheSettings {
            max_bytes: match &raw.max_size {
                None => None,
                Some(s) => Some(units::parse_size(s.get_ref()).ok_or_else(|| {
                    root_source.error(
                        s.span(),
                        format!("{ws_key}.cache.max-size"),
                        format!("`{}` is not a size", s.get_ref()),
                        format!("write {}", units::SIZE_HINT),
                    )
                })?),
            },
            max_age: match &raw.max_age {
                None => None,
                Some(s) => Some(units::parse_age(s.get_ref()).ok_or_else(|| {
                    root_source.error(
                        s.span(),
                        format!("{ws_key}.cache.max-age"),
                        format!("`{}` is not an age", s.get_ref()),
                        format!("write {}", units::DURATION_HINT),
                    )
                })?),
            },
        },
    };

    let (workspace_tasks, package_tasks) = layer::merge_all(&workspace_layers, &package_layers);
    Ok(Pipeline {
        root_manifest: root_source.path.clone(),
        global_inputs,
        global_env,
        env_mode,
        cache,
        remote_cache: config.remote_cache,
        release: config.release,
        workspace_tasks,
        package_tasks,
    })
}

struct Checker<'a> {
    graph: &'a PackageGraph,
    task_names: &'a BTreeSet<String>,
}

impl Checker<'_> {
    /// Checks one task table and returns it typed.
    fn task(
        &self,
        source: &Source,
        key: &str,
        name: &str,
        spanned: &Spanned<RawTask>,
    ) -> Result<TaskLayer, ConfigError> {
        if name.is_empty() || name.contains(['#', '^', ' ']) {
            return Err(source.error(
                spanned.span(),
                key.to_string(),
                format!("`{name}` is not a valid task name"),
                "task names may not be empty or contain `#`, `^` or spaces".into(),
            ));
        }
        let def = spanned.get_ref();
        if let Some(command) = &def.command
            && command.get_ref().trim().is_empty()
        {
            return Err(source.error(
                command.span(),
                format!("{key}.command"),
                "the command is empty".into(),
                "write the shell command to run, or remove the key".into(),
            ));
        }
        let cargo_only = def.args.is_some() || def.profile.is_some() || def.features.is_some();
        if cargo_only && (def.command.is_some() || crate::CargoKind::from_task_name(name).is_none())
        {
            return Err(source.error(
                spanned.span(),
                key.to_string(),
                "`args`, `profile` and `features` apply to the built-in cargo tasks only".into(),
                "use them on build, check, lint or test without a `command`; put flags of a shell task in its command".into(),
            ));
        }
        Ok(TaskLayer {
            command: def.command.as_ref().map(|c| c.get_ref().clone()),
            depends_on: each(&def.depends_on, |dep| {
                self.dependency(source, &format!("{key}.depends-on"), dep)
            })?,
            inputs: each(&def.inputs, |glob| {
                self.input(source, glob, &format!("{key}.inputs"))
            })?,
            outputs: each(&def.outputs, |glob| {
                self.glob(source, glob, &format!("{key}.outputs"))
            })?,
            env: each(&def.env, |var| {
                self.env_name(source, var, &format!("{key}.env"))
            })?,
            pass_env: each(&def.pass_env, |var| {
                self.env_name(source, var, &format!("{key}.pass-env"))
            })?,
            cache: def.cache,
            persistent: def.persistent,
            args: def.args.clone(),
            profile: def.profile.clone(),
            features: def.features.clone(),
        })
    }

    fn dependency(
        &self,
        source: &Source,
        key: &str,
        dep: &Spanned<String>,
    ) -> Result<TaskDependency, ConfigError> {
        let text = dep.get_ref();
        let parsed = TaskDependency::parse(text);
        let task = parsed.task();
        if task.is_empty() {
            return Err(source.error(
                dep.span(),
                key.into(),
                format!("`{text}` names no task"),
                "write `^task` (the task in dependencies), `task` (same package) or `package#task`"
                    .into(),
            ));
        }
        if !self.task_names.contains(task) {
            let known = self.task_names.iter().map(String::as_str);
            let near = suggest(task, known);
            let hint = if near.is_empty() {
                format!(
                    "define [workspace.metadata.xtask.tasks.{task}] or remove `{text}`; known tasks: {}",
                    self.task_names
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("did you mean {}?", quote_list(&near))
            };
            return Err(source.error(
                dep.span(),
                key.into(),
                format!("unknown task `{task}` in `{text}`"),
                hint,
            ));
        }
        if let TaskDependency::Named { package, .. } = &parsed
            && self.graph.find(package).is_none()
        {
            let near = suggest(package, self.graph.packages.iter().map(|p| p.name.as_str()));
            let hint = if near.is_empty() {
                "name a member of this workspace (`cargo xtask graph` lists them)".to_string()
            } else {
                format!("did you mean {}?", quote_list(&near))
            };
            return Err(source.error(
                dep.span(),
                key.into(),
                format!("unknown package `{package}` in `{text}`"),
                hint,
            ));
        }
        Ok(parsed)
    }

    /// An `inputs` entry: a glob, or the default input set.
    fn input(
        &self,
        source: &Source,
        glob: &Spanned<String>,
        key: &str,
    ) -> Result<InputPattern, ConfigError> {
        InputPattern::parse(glob.get_ref()).map_err(|problem| bad_glob(source, glob, key, &problem))
    }

    fn glob(
        &self,
        source: &Source,
        glob: &Spanned<String>,
        key: &str,
    ) -> Result<PathGlob, ConfigError> {
        PathGlob::parse(glob.get_ref()).map_err(|problem| bad_glob(source, glob, key, &problem))
    }

    fn env_name(
        &self,
        source: &Source,
        name: &Spanned<String>,
        key: &str,
    ) -> Result<String, ConfigError> {
        let text = name.get_ref();
        let valid = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*')
            && !text.starts_with(|c: char| c.is_ascii_digit());
        if valid {
            return Ok(text.clone());
        }
        Err(source.error(
            name.span(),
            key.into(),
            format!("`{text}` is not an environment variable name"),
            "write the variable's name only (letters, digits, `_`; `*` as a wildcard), without `$` or a value".into(),
        ))
    }
}

/// Each of `values` checked (and typed) by `check`; `None` when the key is absent.
fn each<T>(
    values: &Option<Vec<Spanned<String>>>,
    check: impl Fn(&Spanned<String>) -> Result<T, ConfigError>,
) -> Result<Option<Vec<T>>, ConfigError> {
    values
        .as_ref()
        .map(|values| values.iter().map(check).collect())
        .transpose()
}

fn bad_glob(source: &Source, glob: &Spanned<String>, key: &str, problem: &str) -> ConfigError {
    source.error(
        glob.span(),
        key.into(),
        format!("bad glob `{}`: {problem}", glob.get_ref()),
        format!(
            "write a pattern relative to the package directory (or start it with `{ROOT_PREFIX}` for the workspace root), for example \"src/**/*.rs\""
        ),
    )
}

fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}
