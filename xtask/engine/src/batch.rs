//! Batched cargo runs: the cache-missed packages of one built-in task kind run
//! as ONE cargo invocation (`-p a -p b …`) instead of one process per package
//! queueing on the target-directory lock. Output is attributed back per
//! package — compiler and clippy diagnostics by manifest, rustfmt diffs by
//! file, test results by test binary — so one package's failure does not
//! poison the cache entries of the others. What belongs to no member (the
//! commands, cargo's "Compiling …" lines, a test run's closing summary) is the
//! batch's own output, never a member's.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use xtask_config::{CargoKind, TaskDef};
use xtask_graph::{PackageGraph, PackageIndex};

use crate::cargo_commands::{self, CargoCommands, Step, StepOutput, TestRunner};
use crate::cargo_output::{self, Level, MessageKind};
use crate::discovered::CargoReads;
use crate::events::TaskStatus;
use crate::exec::{self, Children};
use crate::log_capture::LogCapture;
use crate::task_graph::{NodeIndex, UPSTREAM_EDGES};

/// The note a member's log starts with is cut here: a batch of thousands
/// must not make every member's log that long.
const MAX_NOTE_BYTES: usize = 16 << 10;

/// One package of a batch.
pub struct Member {
    pub node: NodeIndex,
    pub package: PackageIndex,
}

/// What a batch produced for one member.
pub struct MemberResult {
    pub node: NodeIndex,
    pub status: TaskStatus,
    /// The member's own output, after a first line saying it ran in a batch
    /// and with which command.
    pub log: Vec<u8>,
}

/// Where lines go while a batch runs.
pub trait BatchOutput {
    /// A line of one member's own output (its diagnostics, its test
    /// results); it is also kept in the member's log.
    fn member_line(&self, node: NodeIndex, line: &[u8]);
    /// A line that belongs to the batch as a whole: a command it runs,
    /// cargo's progress ("Compiling …", "Finished …"), a test run's summary.
    fn batch_line(&self, line: &[u8]);
}

pub struct Batch<'a> {
    pub graph: &'a PackageGraph,
    pub kind: CargoKind,
    pub def: &'a TaskDef,
    pub members: Vec<Member>,
    pub env: Vec<(OsString, OsString)>,
    pub test_runner: TestRunner,
}

/// Why a member failed.
#[derive(Clone)]
struct Failure {
    why: String,
    kind: FailureKind,
}

/// Only a compile failure stops a member's dependents from building; a
/// formatting diff or a failed test does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    Compile,
    Check,
}

/// Per-member state while output streams in.
struct Attribution<'a> {
    by_manifest: HashMap<PathBuf, usize>,
    by_package: HashMap<PackageIndex, usize>,
    logs: Vec<LogCapture>,
    failed: Vec<Option<Failure>>,
    out: &'a dyn BatchOutput,
    nodes: Vec<NodeIndex>,
    /// Test executables (file names) built for each member, from cargo's
    /// artifact messages: how a test binary is traced back to its package.
    executables: HashMap<String, usize>,
    /// What cargo reported compiling, for the members' discovered inputs.
    reads: CargoReads,
}

/// What a batch produced: each member's result, what cargo reported reading
/// (shared: attributed to members by their dependency closures), and the
/// commands that ran.
pub struct BatchRun {
    pub results: Vec<MemberResult>,
    pub reads: CargoReads,
    /// The invocation that really ran, as one shell line.
    pub command: String,
}

impl Attribution<'_> {
    fn push(&mut self, member: usize, line: &[u8]) {
        self.logs[member].push(line);
        if !line.ends_with(b"\n") {
            self.logs[member].push(b"\n");
        }
        self.out.member_line(self.nodes[member], line);
    }

    /// The first reason is kept; a compile failure is never downgraded.
    fn fail(&mut self, member: usize, why: &str, kind: FailureKind) {
        let failure = self.failed[member].get_or_insert_with(|| Failure {
            why: why.to_string(),
            kind,
        });
        if kind == FailureKind::Compile {
            failure.kind = FailureKind::Compile;
        }
    }
}

/// How a batch of `tasks` (their names, one per member) is labelled in
/// output: the task name and the member count, `build ×12`; the kind's name
/// when members' task names differ (two tasks may share a built-in kind).
pub fn batch_label(tasks: &[&str], kind: CargoKind) -> String {
    let name = match tasks.first() {
        Some(first) if tasks.iter().all(|t| t == first) => first,
        _ => match kind {
            CargoKind::Build => "build",
            CargoKind::Check => "check",
            CargoKind::Lint => "lint",
            CargoKind::Test => "test",
        },
    };
    format!("{name} ×{}", tasks.len())
}

impl Batch<'_> {
    fn commands(&self) -> CargoCommands<'_> {
        CargoCommands {
            graph: self.graph,
            kind: self.kind,
            def: self.def,
            test_runner: self.test_runner,
        }
    }

    /// Empty logs and no failures yet; how lines find their member.
    fn attribution<'o>(&self, root: &Path, out: &'o dyn BatchOutput) -> Attribution<'o> {
        Attribution {
            by_manifest: self
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (root.join(&self.graph.packages[m.package].manifest), i))
                .collect(),
            by_package: self
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (m.package, i))
                .collect(),
            logs: (0..self.members.len())
                .map(|_| LogCapture::default())
                .collect(),
            failed: vec![None; self.members.len()],
            out,
            nodes: self.members.iter().map(|m| m.node).collect(),
            executables: HashMap::new(),
            reads: CargoReads::default(),
        }
    }

    /// Runs the batch and attributes the results.
    pub fn run(&self, root: &Path, children: &Children, out: &dyn BatchOutput) -> BatchRun {
        let mut attribution = self.attribution(root, out);
        let all: Vec<PackageIndex> = self.members.iter().map(|m| m.package).collect();
        let mut ran: Vec<String> = Vec::new();
        let mut cancelled = false;
        for step in self.commands().compile_steps(&all) {
            let exit = self.run_step(&step, root, children, &mut attribution, &mut ran);
            cancelled |= children.is_cancelled();
            if !exit && attribution.failed.iter().all(Option::is_none) {
                // Cargo failed before attributing anything (a manifest or
                // lockfile problem): every member failed, and every log says why.
                for member in 0..self.members.len() {
                    attribution.fail(
                        member,
                        "cargo failed before building it",
                        FailureKind::Compile,
                    );
                }
            }
        }
        // Before the tests: a member whose dependency did not compile has no
        // test binary to run.
        self.blame_dependents(&mut attribution);
        if !cancelled {
            let built: Vec<PackageIndex> = (0..self.members.len())
                .filter(|&m| attribution.failed[m].is_none())
                .map(|m| self.members[m].package)
                .collect();
            for step in self.commands().test_steps(&built) {
                let exit = self.run_step(&step, root, children, &mut attribution, &mut ran);
                if !exit && attribution.failed.iter().all(Option::is_none) {
                    for member in 0..self.members.len() {
                        attribution.fail(member, "the test run failed", FailureKind::Check);
                    }
                }
            }
        }

        // Say why, in the member's own log: in a batch the exit code is
        // everyone's, the reason is not.
        for member in 0..self.members.len() {
            if let Some(failure) = attribution.failed[member].clone() {
                let line = format!("xtask: failed: {}\n", failure.why.trim_end());
                attribution.push(member, line.as_bytes());
            }
        }
        let command = cargo_commands::join(ran.iter().map(String::as_str));
        let Attribution {
            logs,
            failed,
            reads,
            ..
        } = attribution;
        let mut results = self.results(logs, failed, &command);
        if cancelled {
            for result in &mut results {
                result.status = TaskStatus::Cancelled;
            }
        }
        BatchRun {
            results,
            reads,
            command,
        }
    }

    /// Each member's status and log (after the note naming the batch's
    /// `command`).
    fn results(
        &self,
        logs: Vec<LogCapture>,
        failed: Vec<Option<Failure>>,
        command: &str,
    ) -> Vec<MemberResult> {
        let note = batch_note(self.members.len(), command);
        self.members
            .iter()
            .zip(logs.into_iter().zip(failed))
            .map(|(member, (log, failed))| MemberResult {
                node: member.node,
                status: match failed {
                    None => TaskStatus::Executed,
                    Some(_) => TaskStatus::Failed { exit_code: 101 },
                },
                log: [note.as_bytes(), &log.finish()].concat(),
            })
            .collect()
    }

    /// Runs one step, printing its command once (under the batch) and
    /// attributing its lines. Returns whether it succeeded.
    fn run_step(
        &self,
        step: &Step,
        root: &Path,
        children: &Children,
        att: &mut Attribution<'_>,
        ran: &mut Vec<String>,
    ) -> bool {
        let header = format!(
            "$ {}  (batched: {} packages)\n",
            step.command, step.packages
        );
        att.out.batch_line(header.as_bytes());
        ran.push(step.command.clone());
        match step.output {
            StepOutput::FmtDiffs => self.run_fmt(&step.command, root, children, att),
            StepOutput::CargoJson => self.run_json(&step.command, root, children, att),
            StepOutput::NextestRun => {
                let by_name = self.by_name();
                self.run_segmented(&step.command, root, children, att, |line, current| {
                    // The run's closing summary covers every member: nobody's own.
                    if cargo_output::nextest_summary(line) {
                        return None;
                    }
                    let package = cargo_output::nextest_package(line);
                    package.and_then(|p| by_name.get(p).copied()).or(current)
                })
            }
            StepOutput::DocTests => {
                let by_crate = self.by_crate();
                self.run_segmented(&step.command, root, children, att, |line, current| {
                    let name = cargo_output::doc_test_crate(line);
                    name.and_then(|n| by_crate.get(n).copied()).or(current)
                })
            }
            StepOutput::CargoTestRun => {
                let by_crate = self.by_crate();
                let executables = att.executables.clone();
                self.run_segmented(&step.command, root, children, att, |line, current| {
                    let executable = cargo_output::cargo_test_executable(line);
                    let name = cargo_output::doc_test_crate(line);
                    executable
                        .and_then(|e| executables.get(e).copied())
                        .or_else(|| name.and_then(|n| by_crate.get(n).copied()))
                        .or(current)
                })
            }
        }
    }

    /// `cargo fmt --check`: a diff's lines belong to the member owning its file.
    fn run_fmt(
        &self,
        command: &str,
        root: &Path,
        children: &Children,
        att: &mut Attribution<'_>,
    ) -> bool {
        let mut fmt_member: Option<usize> = None;
        let result = exec::run_shell(command, root, self.env.clone(), children, |line| {
            if let Some(file) = cargo_output::fmt_diff_file(line) {
                fmt_member = self.member_owning(root, Path::new(file), att);
                if let Some(member) = fmt_member {
                    att.fail(
                        member,
                        "cargo fmt --check found unformatted code",
                        FailureKind::Check,
                    );
                }
            }
            match fmt_member {
                Some(member) => att.push(member, line),
                None => att.out.batch_line(line),
            }
        });
        matches!(result, Ok(exit) if exit.success())
    }

    /// A `--message-format=json` run: messages go to the member whose
    /// manifest they name; everything else is the batch's.
    fn run_json(
        &self,
        command: &str,
        root: &Path,
        children: &Children,
        att: &mut Attribution<'_>,
    ) -> bool {
        let result = exec::run_shell(command, root, self.env.clone(), children, |line| {
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(message) => {
                    att.reads.observe(&message);
                    self.attribute_message(&message, att);
                }
                // Cargo's own progress lines ("Compiling …") belong to nobody.
                Err(_) => att.out.batch_line(line),
            }
        });
        matches!(result, Ok(exit) if exit.success())
    }

    fn by_name(&self) -> HashMap<String, usize> {
        self.members
            .iter()
            .enumerate()
            .map(|(i, m)| (self.graph.packages[m.package].name.clone(), i))
            .collect()
    }

    fn by_crate(&self) -> HashMap<String, usize> {
        self.members
            .iter()
            .enumerate()
            .map(|(i, m)| (self.graph.packages[m.package].name.replace('-', "_"), i))
            .collect()
    }

    fn member_owning(&self, root: &Path, file: &Path, att: &Attribution<'_>) -> Option<usize> {
        let rel = file
            .strip_prefix(root)
            .ok()?
            .to_string_lossy()
            .replace('\\', "/");
        let owner = self.graph.owner_of(&rel)?;
        att.by_package.get(&owner).copied()
    }

    fn attribute_message(&self, message: &serde_json::Value, att: &mut Attribution<'_>) {
        let Some(message) = cargo_output::cargo_message(message) else {
            return;
        };
        let Some(&member) = att.by_manifest.get(Path::new(message.manifest)) else {
            // A dependency outside the batch (a path crate, a member whose
            // result came from the cache): its diagnostics are the batch's.
            if let MessageKind::Diagnostic {
                rendered: Some(rendered),
                ..
            } = message.kind
            {
                att.out.batch_line(rendered.as_bytes());
            }
            return;
        };
        match message.kind {
            MessageKind::Artifact { executable } => {
                if let Some(file) = executable {
                    att.executables.insert(file.to_string(), member);
                }
            }
            MessageKind::Diagnostic { rendered, level } => {
                if let Some(rendered) = rendered {
                    att.push(member, rendered.as_bytes());
                }
                if level == Level::Error {
                    att.fail(
                        member,
                        "it does not compile (or clippy denied a lint)",
                        FailureKind::Compile,
                    );
                }
            }
            MessageKind::Other => {}
        }
    }

    /// Runs a test command whose output comes in sections per test binary:
    /// `owner` says which member a line starts (or keeps) a section of. A
    /// section that reports a failure fails its member. Returns whether the
    /// command succeeded.
    fn run_segmented(
        &self,
        command: &str,
        root: &Path,
        children: &Children,
        att: &mut Attribution<'_>,
        owner: impl Fn(&str, Option<usize>) -> Option<usize>,
    ) -> bool {
        let mut current: Option<usize> = None;
        let result = exec::run_shell(command, root, self.env.clone(), children, |line| {
            let text = String::from_utf8_lossy(line);
            current = owner(&text, current);
            match current {
                Some(member) => {
                    if cargo_output::reports_test_failure(&text) {
                        att.fail(member, "a test failed", FailureKind::Check);
                    }
                    att.push(member, line);
                }
                None => att.out.batch_line(line),
            }
        });
        matches!(result, Ok(exit) if exit.success())
    }

    /// A member whose workspace dependency (also in the batch) failed to
    /// build could not be built either: it failed too, and says why.
    fn blame_dependents(&self, att: &mut Attribution<'_>) {
        let failed: BTreeSet<PackageIndex> = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                att.failed[*i]
                    .as_ref()
                    .is_some_and(|f| f.kind == FailureKind::Compile)
            })
            .map(|(_, m)| m.package)
            .collect();
        if failed.is_empty() {
            return;
        }
        for (i, member) in self.members.iter().enumerate() {
            if att.failed[i].is_some() {
                continue;
            }
            let mut stack: Vec<PackageIndex> = self
                .graph
                .dependencies_of(member.package, &UPSTREAM_EDGES)
                .collect();
            if matches!(self.kind, CargoKind::Test | CargoKind::Lint) {
                stack.extend(
                    self.graph
                        .dependencies_of(member.package, &[xtask_graph::DepKind::Dev]),
                );
            }
            let mut seen = BTreeSet::new();
            while let Some(dep) = stack.pop() {
                if !seen.insert(dep) {
                    continue;
                }
                if failed.contains(&dep) {
                    let why = format!(
                        "its dependency {} failed to build",
                        self.graph.packages[dep].name
                    );
                    att.fail(i, &why, FailureKind::Compile);
                    break;
                }
                stack.extend(self.graph.dependencies_of(dep, &UPSTREAM_EDGES));
            }
        }
    }
}

/// The first line of a member's log: it ran in a batch, and as what.
fn batch_note(members: usize, command: &str) -> String {
    let mut note = format!("xtask: ran in a batch of {members} packages: {command}");
    if note.len() > MAX_NOTE_BYTES {
        let mut end = MAX_NOTE_BYTES;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push_str(" …");
    }
    note.push('\n');
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_notes() {
        assert_eq!(batch_label(&["build"; 12], CargoKind::Build), "build ×12");
        assert_eq!(batch_label(&["lint", "clippy"], CargoKind::Lint), "lint ×2");
        assert_eq!(
            batch_note(2, "cargo check -p a -p b"),
            "xtask: ran in a batch of 2 packages: cargo check -p a -p b\n"
        );
        let long = batch_note(5000, &"cargo check -p é".repeat(2000));
        assert!(long.len() <= MAX_NOTE_BYTES + 8, "{}", long.len());
        assert!(long.ends_with(" …\n"));
    }
}
