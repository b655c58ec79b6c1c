//! Batched cargo runs: the cache-missed packages of one built-in task kind run
//! as ONE cargo invocation (`-p a -p b …`) instead of one process per package
//! queueing on the target-directory lock. Output is attributed back per
//! package — compiler and clippy diagnostics by manifest, rustfmt diffs by
//! file, test results by test binary — so one package's failure does not
//! poison the cache entries of the others.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use xtask_config::{CargoKind, TaskDef};
use xtask_graph::{PackageGraph, PackageIndex};

use crate::discovered::CargoReads;
use crate::events::TaskStatus;
use crate::exec::{self, Children};
use crate::log_capture::LogCapture;
use crate::task_graph::{NodeIndex, UPSTREAM_EDGES};

/// One package of a batch.
pub struct Member {
    pub node: NodeIndex,
    pub package: PackageIndex,
}

/// What a batch produced for one member.
pub struct MemberResult {
    pub node: NodeIndex,
    pub status: TaskStatus,
    pub log: Vec<u8>,
}

/// Where lines go while a batch runs: to a member's log (and live output) or,
/// when they belong to no member (cargo's progress lines), only live.
pub trait BatchOutput {
    fn line(&self, node: NodeIndex, line: &[u8]);
}

pub struct Batch<'a> {
    pub graph: &'a PackageGraph,
    pub kind: CargoKind,
    pub def: &'a TaskDef,
    pub members: Vec<Member>,
    pub env: Vec<(OsString, OsString)>,
    pub nextest: bool,
}

/// Why a member failed. Only a compile failure stops its dependents from
/// building; a formatting diff or a failed test does not.
#[derive(Clone)]
struct Failure {
    why: String,
    compile: bool,
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

/// What a batch produced: each member's result, and what cargo reported
/// reading (shared: attributed to members by their dependency closures).
pub struct BatchRun {
    pub results: Vec<MemberResult>,
    pub reads: CargoReads,
}

impl Attribution<'_> {
    fn push(&mut self, member: usize, line: &[u8]) {
        self.logs[member].push(line);
        if !line.ends_with(b"\n") {
            self.logs[member].push(b"\n");
        }
        self.out.line(self.nodes[member], line);
    }

    fn fail(&mut self, member: usize, why: &str, compile: bool) {
        let failure = self.failed[member].get_or_insert_with(|| Failure {
            why: why.to_string(),
            compile,
        });
        failure.compile |= compile;
    }
}

/// The cargo invocations of a batch of `kind` over `selected`, in order, as
/// shell commands (tests also run their binaries afterwards: see
/// [`Batch::run`]).
pub fn cargo_commands(
    graph: &PackageGraph,
    kind: CargoKind,
    def: &TaskDef,
    selected: &[PackageIndex],
) -> Vec<String> {
    let packages: String = selected
        .iter()
        .map(|&p| format!(" -p {}", graph.packages[p].name))
        .collect();
    let mut common = String::new();
    match (&def.profile, kind) {
        (Some(profile), _) => common.push_str(&format!(" --profile {profile}")),
        (None, CargoKind::Build) => common.push_str(" --release"),
        (None, _) => {}
    }
    if !def.features.is_empty() {
        common.push_str(&format!(" --features {}", def.features.join(",")));
    }
    for arg in &def.args {
        common.push(' ');
        common.push_str(&shell_quote(arg));
    }
    let json = " --message-format=json";
    // `cargo test` spells --keep-going as --no-fail-fast.
    let keep_going = if kind == CargoKind::Test {
        " --no-fail-fast"
    } else {
        " --keep-going"
    };
    match kind {
        // `check` means what `cargo check` means (library and binaries):
        // benches and tests are an `args = ["--all-targets"]` away.
        CargoKind::Check => vec![format!("cargo check{keep_going}{json}{packages}{common}")],
        CargoKind::Build => vec![format!("cargo build{keep_going}{json}{packages}{common}")],
        CargoKind::Lint => vec![
            format!("cargo fmt --check{packages} -- --color never"),
            format!(
                "cargo clippy --all-targets{keep_going}{json}{packages}{common} -- -D warnings"
            ),
        ],
        CargoKind::Test => vec![format!(
            "cargo test --no-run{keep_going}{json}{packages}{common}"
        )],
    }
}

impl Batch<'_> {
    /// Runs the batch and attributes the results.
    pub fn run(&self, root: &Path, children: &Children, out: &dyn BatchOutput) -> BatchRun {
        let mut attribution = Attribution {
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
        };
        let all: Vec<PackageIndex> = self.members.iter().map(|m| m.package).collect();
        let mut cancelled = false;
        for command in cargo_commands(self.graph, self.kind, self.def, &all) {
            let header = format!("$ {command}  (batched: {} packages)\n", all.len());
            for member in 0..self.members.len() {
                attribution.push(member, header.as_bytes());
            }
            let is_fmt = command.starts_with("cargo fmt");
            let exit = self.run_one(&command, root, children, &mut attribution, is_fmt);
            cancelled |= children.is_cancelled();
            if !exit && attribution.failed.iter().all(Option::is_none) {
                // Cargo failed before attributing anything (a manifest or
                // lockfile problem): every member failed, and every log says why.
                for member in 0..self.members.len() {
                    attribution.fail(member, "cargo failed before building it", true);
                }
            }
        }
        // Before the tests: a member whose dependency did not compile has no
        // test binary to run.
        self.blame_dependents(&mut attribution);
        if self.kind == CargoKind::Test && !cancelled {
            self.run_tests(root, children, &mut attribution);
        }

        // Say why, in the member's own log: in a batch the exit code is
        // everyone's, the reason is not.
        for member in 0..self.members.len() {
            if let Some(failure) = attribution.failed[member].clone() {
                let line = format!("xtask: failed: {}\n", failure.why.trim_end());
                attribution.push(member, line.as_bytes());
            }
        }
        let Attribution {
            logs,
            failed,
            reads,
            ..
        } = attribution;
        let results = self
            .members
            .iter()
            .zip(logs.into_iter().zip(failed))
            .map(|(member, (log, failed))| MemberResult {
                node: member.node,
                status: match failed {
                    _ if cancelled => TaskStatus::Cancelled,
                    None => TaskStatus::Executed,
                    Some(_) => TaskStatus::Failed { exit_code: 101 },
                },
                log: log.finish(),
            })
            .collect();
        BatchRun { results, reads }
    }

    /// Runs one command, attributing its lines. Returns whether it succeeded.
    fn run_one(
        &self,
        command: &str,
        root: &Path,
        children: &Children,
        att: &mut Attribution<'_>,
        is_fmt: bool,
    ) -> bool {
        let mut fmt_member: Option<usize> = None;
        let result = exec::run_shell(command, root, self.env.clone(), children, |line| {
            if is_fmt {
                if let Some(rest) = std::str::from_utf8(line)
                    .ok()
                    .and_then(|l| l.strip_prefix("Diff in "))
                {
                    let file = rest.rsplitn(3, ':').last().unwrap_or(rest);
                    fmt_member = self.member_owning(root, Path::new(file), att);
                    if let Some(member) = fmt_member {
                        att.fail(member, "cargo fmt --check found unformatted code", false);
                    }
                }
                match fmt_member {
                    Some(member) => att.push(member, line),
                    None => att.out.line(att.nodes[0], line),
                }
                return;
            }
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(message) => {
                    att.reads.observe(&message);
                    self.attribute_message(&message, att);
                }
                // Cargo's own progress lines ("Compiling …") belong to nobody.
                Err(_) => att.out.line(att.nodes[0], line),
            }
        });
        matches!(result, Ok(exit) if exit.success())
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
        let Some(manifest) = message["manifest_path"].as_str() else {
            return;
        };
        let Some(&member) = att.by_manifest.get(Path::new(manifest)) else {
            return; // a dependency outside the batch: cargo reports its errors too, on its own lines
        };
        if message["reason"] == "compiler-artifact" {
            if let Some(file) = message["executable"]
                .as_str()
                .and_then(|e| Path::new(e).file_name())
            {
                att.executables
                    .insert(file.to_string_lossy().into_owned(), member);
            }
            return;
        }
        if message["reason"] != "compiler-message" {
            return;
        }
        let level = message["message"]["level"].as_str().unwrap_or("");
        if let Some(rendered) = message["message"]["rendered"].as_str() {
            att.push(member, rendered.as_bytes());
        }
        if level == "error" {
            att.fail(
                member,
                "it does not compile (or clippy denied a lint)",
                true,
            );
        }
    }

    /// Runs the test binaries of the members that compiled, then doc tests.
    fn run_tests(&self, root: &Path, children: &Children, att: &mut Attribution<'_>) {
        let built: Vec<usize> = (0..self.members.len())
            .filter(|&m| att.failed[m].is_none())
            .collect();
        if built.is_empty() {
            return;
        }
        let names: String = built
            .iter()
            .map(|&m| format!(" -p {}", self.graph.packages[self.members[m].package].name))
            .collect();
        let by_name: HashMap<String, usize> = built
            .iter()
            .map(|&m| (self.graph.packages[self.members[m].package].name.clone(), m))
            .collect();
        let by_crate: HashMap<String, usize> = by_name
            .iter()
            .map(|(n, &m)| (n.replace('-', "_"), m))
            .collect();
        let args: String = self
            .def
            .args
            .iter()
            .map(|a| format!(" {}", shell_quote(a)))
            .collect();
        let profile = self
            .def
            .profile
            .as_ref()
            .map(|p| format!(" --cargo-profile {p}"))
            .unwrap_or_default();
        if self.nextest {
            let command = format!(
                "cargo nextest run --no-fail-fast --no-tests=pass --hide-progress-bar --status-level=all --final-status-level=none{names}{profile}{args}"
            );
            self.run_segmented(&command, root, children, att, |line, current| {
                // The run's closing summary covers every member: nobody's own.
                let trimmed = line.trim_start();
                if trimmed.starts_with("Summary [") || trimmed.starts_with("────") {
                    return None;
                }
                nextest_owner(line, &by_name).or(current)
            });
            let libraries: String = built
                .iter()
                .filter(|&&m| self.graph.packages[self.members[m].package].has_library)
                .map(|&m| format!(" -p {}", self.graph.packages[self.members[m].package].name))
                .collect();
            if !libraries.is_empty() {
                let command = format!("cargo test --doc --no-fail-fast{libraries}{args}");
                self.run_segmented(&command, root, children, att, |line, current| {
                    doc_owner(line, &by_crate).or(current)
                });
            }
        } else {
            let profile = self
                .def
                .profile
                .as_ref()
                .map(|p| format!(" --profile {p}"))
                .unwrap_or_default();
            let command = format!("cargo test --no-fail-fast{names}{profile}{args}");
            let executables = att.executables.clone();
            self.run_segmented(&command, root, children, att, |line, current| {
                cargo_test_owner(line, &executables)
                    .or_else(|| doc_owner(line, &by_crate))
                    .or(current)
            });
        }
    }

    /// Runs a test command whose output comes in sections per test binary:
    /// `owner` says which member a line starts (or keeps) a section of. A
    /// section that reports a failure fails its member.
    fn run_segmented(
        &self,
        command: &str,
        root: &Path,
        children: &Children,
        att: &mut Attribution<'_>,
        owner: impl Fn(&str, Option<usize>) -> Option<usize>,
    ) {
        let header = format!("$ {command}\n");
        for member in 0..self.members.len() {
            att.push(member, header.as_bytes());
        }
        let mut current: Option<usize> = None;
        let result = exec::run_shell(command, root, self.env.clone(), children, |line| {
            let text = String::from_utf8_lossy(line);
            current = owner(&text, current);
            let failure = text.contains("test result: FAILED")
                || text.trim_start().starts_with("FAIL [")
                || text.trim_start().starts_with("SIGSEGV")
                || text.trim_start().starts_with("SIGABRT")
                || text.trim_start().starts_with("TIMEOUT")
                || text.contains("error: test failed");
            match current {
                Some(member) => {
                    if failure {
                        att.fail(member, "a test failed", false);
                    }
                    att.push(member, line);
                }
                None => att.out.line(att.nodes[0], line),
            }
        });
        if !matches!(result, Ok(exit) if exit.success()) && att.failed.iter().all(Option::is_none) {
            for member in 0..self.members.len() {
                att.fail(member, "the test run failed", false);
            }
        }
    }

    /// A member whose workspace dependency (also in the batch) failed to
    /// build could not be built either: it failed too, and says why.
    fn blame_dependents(&self, att: &mut Attribution<'_>) {
        let failed: BTreeSet<PackageIndex> = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, _)| att.failed[*i].as_ref().is_some_and(|f| f.compile))
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
                    att.fail(i, &why, true);
                    break;
                }
                stack.extend(self.graph.dependencies_of(dep, &UPSTREAM_EDGES));
            }
        }
    }
}

/// nextest status lines: `PASS [ 0.01s] pkg::bin test` or `FAIL [ … ] pkg test`;
/// output sections: `--- STDOUT: pkg::bin test ---`.
fn nextest_owner(line: &str, by_name: &HashMap<String, usize>) -> Option<usize> {
    let trimmed = line.trim_start();
    let binary_id = if let Some(rest) = trimmed
        .strip_prefix("--- STDOUT:")
        .or_else(|| trimmed.strip_prefix("--- STDERR:"))
    {
        rest.split_whitespace().next()?
    } else {
        let status = trimmed.split_whitespace().next()?;
        if !status.chars().all(|c| c.is_ascii_uppercase()) || !trimmed.contains('[') {
            return None;
        }
        trimmed.split(']').nth(1)?.split_whitespace().next()?
    };
    let package = binary_id.split("::").next()?;
    by_name.get(package).copied()
}

/// `Running unittests src/lib.rs (target/debug/deps/my_crate-0123abcd)`:
/// the executable's file name, as cargo reported it when building.
fn cargo_test_owner(line: &str, executables: &HashMap<String, usize>) -> Option<usize> {
    let rest = line.trim_start().strip_prefix("Running ")?;
    let path = rest.rsplit('(').next()?.trim_end().trim_end_matches(')');
    let file = Path::new(path).file_name()?.to_str()?;
    executables.get(file).copied()
}

/// `Doc-tests my_crate`
fn doc_owner(line: &str, by_crate: &HashMap<String, usize>) -> Option<usize> {
    let name = line.trim_start().strip_prefix("Doc-tests ")?.trim();
    by_crate.get(name).copied()
}

fn shell_quote(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=/.,:+@".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_output_owners() {
        let by_name = HashMap::from([("my-lib".to_string(), 0), ("app".to_string(), 1)]);
        let by_crate = HashMap::from([("my_lib".to_string(), 0), ("app".to_string(), 1)]);
        assert_eq!(
            nextest_owner("        PASS [   0.003s] my-lib tests::adds", &by_name),
            Some(0)
        );
        assert_eq!(
            nextest_owner(
                "        FAIL [   0.003s] app::integration it_works",
                &by_name
            ),
            Some(1)
        );
        assert_eq!(
            nextest_owner(
                "--- STDOUT:              app::integration it_works ---",
                &by_name
            ),
            Some(1)
        );
        assert_eq!(
            nextest_owner("    Starting 3 tests across 2 binaries", &by_name),
            None
        );
        let executables =
            HashMap::from([("my_lib-0123abcd".to_string(), 0), ("it-99".to_string(), 1)]);
        assert_eq!(
            cargo_test_owner(
                "     Running unittests src/lib.rs (target/debug/deps/my_lib-0123abcd)",
                &executables
            ),
            Some(0)
        );
        assert_eq!(
            cargo_test_owner(
                "     Running tests/it.rs (target/debug/deps/it-99)",
                &executables
            ),
            Some(1)
        );
        assert_eq!(
            cargo_test_owner(
                "     Running tests/x.rs (target/debug/deps/x-1)",
                &executables
            ),
            None
        );
        assert_eq!(doc_owner("   Doc-tests my_lib", &by_crate), Some(0));
        assert_eq!(shell_quote("--locked"), "--locked");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
