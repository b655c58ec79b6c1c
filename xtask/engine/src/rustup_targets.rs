//! The compilation targets a run needs installed: the `targets` of
//! `rust-toolchain.toml` (needed by every task that runs a command: any of
//! them may run cargo) and whatever a task names with `--target`.
//!
//! rustup adds a toolchain file's `targets` only when it installs the
//! toolchain itself, never to a toolchain already there, so on most machines
//! the first build for such a target fails deep inside cargo ("can't find
//! crate for `core`"). The engine asks before the first task that actually
//! runs — a run whose tasks all come from the cache never asks — once per run
//! and target: with rustup on PATH it installs what is missing (`rustup target
//! add`, one line saying so); without rustup, a missing target fails the
//! tasks before anything builds, with the command to run.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use xtask_config::{Action, TaskDef};

use crate::events::{Event, EventSink};

/// Where a required target comes from, for messages.
const TOOLCHAIN_FILES: [&str; 2] = ["rust-toolchain.toml", "rust-toolchain"];

/// The once-per-run answers. Shared by the workers: the first task that runs
/// asks, the others wait for its answer (nothing builds in the meantime).
pub(crate) struct TargetCheck {
    root: PathBuf,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// `rust-toolchain.toml`'s targets and the file they came from, read on
    /// first use.
    toolchain: Option<(Vec<String>, &'static str)>,
    /// What the toolchain has, asked once: `None` when it cannot be told.
    installed: Option<Option<BTreeSet<String>>>,
    /// Each target's verdict: `Err` holds the reason tasks cannot run.
    verdicts: HashMap<String, Result<(), String>>,
}

/// How to see and change the toolchain: rustup, or (without rustup) the
/// toolchain's own sysroot.
enum Installer {
    Rustup(PathBuf),
    Sysroot,
}

impl TargetCheck {
    pub(crate) fn new(root: &Path) -> TargetCheck {
        TargetCheck {
            root: root.to_path_buf(),
            state: Mutex::new(State::default()),
        }
    }

    /// Makes sure the targets `def` needs are installed, installing missing
    /// ones through rustup. `Err`: the task must not run (the message says
    /// what to do). Trouble asking rustup is a warning, never a failure: cargo
    /// then reports for itself.
    pub(crate) fn ensure(&self, def: &TaskDef, sink: &dyn EventSink) -> Result<(), String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (toolchain, file) = state
            .toolchain
            .get_or_insert_with(|| toolchain_targets(&self.root, sink))
            .clone();
        let mut needed: Vec<(String, String)> = toolchain
            .into_iter()
            .map(|target| (target, file.to_string()))
            .collect();
        needed.extend(
            task_targets(def)
                .into_iter()
                .map(|t| (t, "--target".into())),
        );
        let unknown: Vec<(String, String)> = needed
            .iter()
            .filter(|(target, _)| !state.verdicts.contains_key(target))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let installer = match find_on_path("rustup") {
                Some(rustup) => Installer::Rustup(rustup),
                None => Installer::Sysroot,
            };
            let installed = state
                .installed
                .get_or_insert_with(|| installed_targets(&self.root, &installer, sink))
                .clone();
            for (target, why) in unknown {
                let verdict = match &installed {
                    // Unknown: let cargo speak for itself.
                    None => Ok(()),
                    Some(have) if have.contains(&target) => Ok(()),
                    Some(_) => self.install(&installer, &target, &why, sink),
                };
                state.verdicts.insert(target, verdict);
            }
        }
        needed
            .iter()
            .filter_map(|(target, _)| state.verdicts[target].clone().err())
            .next()
            .map_or(Ok(()), Err)
    }

    fn install(
        &self,
        installer: &Installer,
        target: &str,
        why: &str,
        sink: &dyn EventSink,
    ) -> Result<(), String> {
        let command = format!("rustup target add {target}");
        let Installer::Rustup(rustup) = installer else {
            return Err(format!(
                "xtask: the compilation target {target} ({why}) is not installed for this Rust toolchain, and rustup is not on PATH to install it\nhint: install rustup (https://rustup.rs), then run `{command}`; or install the {target} standard library for this toolchain another way\n"
            ));
        };
        sink.event(Event::Notice {
            message: format!("installing the missing target {target} ({why}): {command}"),
        });
        let output = Command::new(rustup)
            .args(["target", "add", target])
            .current_dir(&self.root)
            .output();
        let problem = match output {
            Ok(output) if output.status.success() => return Ok(()),
            Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_string(),
            Err(error) => error.to_string(),
        };
        // rustup is there but could not install (offline, say): the tasks that
        // need the target fail in cargo, the others can still run.
        sink.event(Event::Warning {
            message: format!(
                "`{command}` failed: {problem}\nhint: run `{command}` yourself (it downloads from static.rust-lang.org); tasks that build for {target} fail until then"
            ),
        });
        Ok(())
    }
}

/// `[toolchain] targets` of the toolchain file, with the file's name. A file
/// that does not parse is rustup's to report (it refuses it too); we warn and
/// check nothing.
fn toolchain_targets(root: &Path, sink: &dyn EventSink) -> (Vec<String>, &'static str) {
    for name in TOOLCHAIN_FILES {
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            continue;
        };
        // The legacy `rust-toolchain` may be a bare channel name: no targets.
        if name == "rust-toolchain" && !text.contains('[') {
            return (Vec::new(), name);
        }
        let targets = text
            .parse::<toml::Table>()
            .map_err(|e| e.to_string())
            .and_then(
                |table| match table.get("toolchain").and_then(|t| t.get("targets")) {
                    None => Ok(Vec::new()),
                    Some(toml::Value::Array(items)) => items
                        .iter()
                        .map(|item| item.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| "`toolchain.targets` must be a list of target names".into()),
                    Some(_) => Err("`toolchain.targets` must be a list of target names".into()),
                },
            );
        return match targets {
            Ok(targets) => (targets, name),
            Err(problem) => {
                sink.event(Event::Warning {
                    message: format!(
                        "{}: {problem}; not checking that its targets are installed",
                        root.join(name).display()
                    ),
                });
                (Vec::new(), name)
            }
        };
    }
    (Vec::new(), TOOLCHAIN_FILES[0])
}

/// Targets a task names itself: `--target T` or `--target=T` in a built-in
/// task's `args` or a shell command's words. A JSON target spec is not
/// something rustup installs.
fn task_targets(def: &TaskDef) -> Vec<String> {
    let words: Vec<&str> = match &def.action {
        Action::Shell(command) => command.split_whitespace().collect(),
        Action::Cargo(_) => def.args.iter().map(String::as_str).collect(),
        Action::Nothing => Vec::new(),
    };
    let mut targets = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let value = match word.strip_prefix("--target") {
            Some("") => words.next(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(value) = value.map(|v| v.trim_matches(['"', '\''])) {
            let plain = !value.is_empty()
                && !value.ends_with(".json")
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if plain && !targets.iter().any(|t| t == value) {
                targets.push(value.to_string());
            }
        }
    }
    targets
}

/// The targets the workspace's toolchain has: rustup's list (run in the
/// root, so the toolchain file picks the toolchain), or without rustup the
/// target directories of rustc's sysroot. `None` (with a warning when rustup
/// fails) when it cannot be told.
fn installed_targets(
    root: &Path,
    installer: &Installer,
    sink: &dyn EventSink,
) -> Option<BTreeSet<String>> {
    match installer {
        Installer::Rustup(rustup) => {
            let output = Command::new(rustup)
                .args(["target", "list", "--installed"])
                .current_dir(root)
                .output();
            match output {
                Ok(output) if output.status.success() => Some(
                    String::from_utf8_lossy(&output.stdout)
                        .lines()
                        .map(str::trim)
                        .filter(|line| !line.is_empty())
                        .map(str::to_string)
                        .collect(),
                ),
                other => {
                    let problem = match other {
                        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_string(),
                        Err(error) => error.to_string(),
                    };
                    sink.event(Event::Warning {
                        message: format!(
                            "could not ask rustup which targets are installed (`rustup target list --installed`: {problem}); not checking them"
                        ),
                    });
                    None
                }
            }
        }
        Installer::Sysroot => {
            let output = Command::new("rustc")
                .args(["--print", "sysroot"])
                .current_dir(root)
                .output()
                .ok()
                .filter(|o| o.status.success())?;
            let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            let rustlib = std::fs::read_dir(sysroot.join("lib/rustlib")).ok()?;
            Some(
                rustlib
                    .filter_map(Result::ok)
                    .filter(|entry| entry.path().join("lib").is_dir())
                    .filter_map(|entry| entry.file_name().into_string().ok())
                    .collect(),
            )
        }
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(command: &str) -> TaskDef {
        def(Action::Shell(command.into()), &[])
    }

    fn def(action: Action, args: &[&str]) -> TaskDef {
        TaskDef {
            action,
            depends_on: Vec::new(),
            inputs: None,
            outputs: Vec::new(),
            env: Vec::new(),
            pass_env: Vec::new(),
            cache: true,
            persistent: false,
            args: args.iter().map(|a| a.to_string()).collect(),
            profile: None,
            features: Vec::new(),
        }
    }

    #[test]
    fn a_task_names_its_targets_with_target_flags_only() {
        let cargo = |args: &[&str]| def(Action::Cargo(xtask_config::CargoKind::Build), args);
        assert_eq!(
            task_targets(&cargo(&["--target", "wasm32-unknown-unknown"])),
            ["wasm32-unknown-unknown"]
        );
        assert_eq!(
            task_targets(&cargo(&[
                "--target=aarch64-apple-darwin",
                "--target",
                "x86_64-pc-windows-msvc"
            ])),
            ["aarch64-apple-darwin", "x86_64-pc-windows-msvc"]
        );
        assert_eq!(
            task_targets(&shell(
                "cargo build --release --target thumbv7em-none-eabihf && cargo build --target 'thumbv7em-none-eabihf'"
            )),
            ["thumbv7em-none-eabihf"]
        );
        // Not targets: another flag, a JSON spec, a variable, nothing after it.
        for command in [
            "cargo build --target-dir /tmp/t",
            "cargo build --target my-board.json",
            "cargo build --target $TARGET",
            "cargo build --target",
            "echo target wasm32-unknown-unknown",
        ] {
            assert_eq!(
                task_targets(&shell(command)),
                Vec::<String>::new(),
                "{command}"
            );
        }
        assert_eq!(
            task_targets(&def(Action::Nothing, &["--target", "x"])),
            Vec::<String>::new()
        );
    }

    struct Warnings(Mutex<Vec<String>>);

    impl EventSink for Warnings {
        fn event(&self, event: Event<'_>) {
            if let Event::Warning { message } = event {
                self.0.lock().unwrap().push(message);
            }
        }
    }

    #[test]
    fn the_toolchain_file_names_the_targets_and_a_bad_one_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Warnings(Mutex::new(Vec::new()));
        assert_eq!(toolchain_targets(dir.path(), &sink).0, Vec::<String>::new());
        let file = dir.path().join("rust-toolchain.toml");
        std::fs::write(&file, "[toolchain]\nchannel = \"1.95\"\ntargets = [\"wasm32-unknown-unknown\", \"wasm32-wasip2\"]\n").unwrap();
        assert_eq!(
            toolchain_targets(dir.path(), &sink),
            (
                vec![
                    "wasm32-unknown-unknown".to_string(),
                    "wasm32-wasip2".to_string()
                ],
                "rust-toolchain.toml"
            )
        );
        std::fs::write(&file, "[toolchain]\ntargets = \"wasm32-unknown-unknown\"\n").unwrap();
        assert_eq!(toolchain_targets(dir.path(), &sink).0, Vec::<String>::new());
        std::fs::write(&file, "[toolchain\n").unwrap();
        assert_eq!(toolchain_targets(dir.path(), &sink).0, Vec::<String>::new());
        let warnings = sink.0.lock().unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("rust-toolchain.toml: `toolchain.targets` must be a list"),
            "{}",
            warnings[0]
        );
        assert!(warnings[1].contains("line 1"), "{}", warnings[1]);

        std::fs::remove_file(&file).unwrap();
        std::fs::write(dir.path().join("rust-toolchain"), "stable\n").unwrap();
        assert_eq!(toolchain_targets(dir.path(), &sink).0, Vec::<String>::new());
    }
}
