//! The cargo commands of the built-in task kinds, built in one place. What a
//! batch runs (`batch.rs`) and what `--dry-run` and a cached task's summary
//! show (`plan.rs`) come from the same functions, so the command a user reads
//! is the command that runs.
//!
//! A kind runs in two phases: the compile steps (`cargo check`, `build`,
//! `fmt` + `clippy`, `test --no-run`) over every member, then, for tests
//! only, the steps that run the test binaries of the members that compiled.

use xtask_config::{CargoKind, TaskDef};
use xtask_graph::{PackageGraph, PackageIndex};

/// What runs test binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestRunner {
    /// `cargo nextest run`, then `cargo test --doc` (nextest runs no doc tests).
    Nextest,
    /// `cargo test` (doc tests included).
    CargoTest,
}

impl TestRunner {
    /// nextest when `cargo-nextest` is on PATH.
    pub fn detect() -> TestRunner {
        if crate::plan::nextest_installed() {
            TestRunner::Nextest
        } else {
            TestRunner::CargoTest
        }
    }
}

/// How a step's output is traced back to the packages it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutput {
    /// `cargo fmt --check`: each diff names its file.
    FmtDiffs,
    /// `--message-format=json`: each message names its manifest.
    CargoJson,
    /// nextest's status lines name the test binary's package.
    NextestRun,
    /// `cargo test`: `Running … (target/…/deps/<exe>)` starts a binary's section.
    CargoTestRun,
    /// `cargo test --doc`: `Doc-tests <crate>` starts a crate's section.
    DocTests,
}

/// One cargo invocation, as a shell command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub command: String,
    pub output: StepOutput,
    /// How many packages it names.
    pub packages: usize,
}

/// The commands of one task definition of a built-in `kind`.
pub struct CargoCommands<'a> {
    pub graph: &'a PackageGraph,
    pub kind: CargoKind,
    pub def: &'a TaskDef,
    pub test_runner: TestRunner,
}

impl CargoCommands<'_> {
    /// The compile steps over `packages`, in order.
    pub fn compile_steps(&self, members: &[PackageIndex]) -> Vec<Step> {
        let packages = self.package_flags(members);
        let mut common = String::new();
        match (&self.def.profile, self.kind) {
            (Some(profile), _) => common.push_str(&format!(" --profile {}", shell_quote(profile))),
            (None, CargoKind::Build) => common.push_str(" --release"),
            (None, _) => {}
        }
        common.push_str(&self.features_and_args());
        let json = " --message-format=json";
        // `cargo test` spells --keep-going as --no-fail-fast.
        let keep_going = if self.kind == CargoKind::Test {
            " --no-fail-fast"
        } else {
            " --keep-going"
        };
        let step = |command: String| Step {
            command,
            output: StepOutput::CargoJson,
            packages: members.len(),
        };
        match self.kind {
            // `check` means what `cargo check` means (library and binaries):
            // benches and tests are an `args = ["--all-targets"]` away.
            CargoKind::Check => vec![step(format!(
                "cargo check{keep_going}{json}{packages}{common}"
            ))],
            CargoKind::Build => vec![step(format!(
                "cargo build{keep_going}{json}{packages}{common}"
            ))],
            CargoKind::Lint => vec![
                Step {
                    command: format!("cargo fmt --check{packages} -- --color never"),
                    output: StepOutput::FmtDiffs,
                    packages: members.len(),
                },
                step(format!(
                    "cargo clippy --all-targets{keep_going}{json}{packages}{common} -- -D warnings"
                )),
            ],
            CargoKind::Test => vec![step(format!(
                "cargo test --no-run{keep_going}{json}{packages}{common}"
            ))],
        }
    }

    /// The steps that run the test binaries of `built` (the members that
    /// compiled); none for kinds other than tests. The profile, features and
    /// args are the compile step's, so the binaries that run are the ones it
    /// built.
    pub fn test_steps(&self, built: &[PackageIndex]) -> Vec<Step> {
        if self.kind != CargoKind::Test || built.is_empty() {
            return Vec::new();
        }
        let packages = self.package_flags(built);
        let rest = self.features_and_args();
        let profile = |flag: &str| {
            self.def
                .profile
                .as_ref()
                .map(|p| format!(" {flag} {}", shell_quote(p)))
                .unwrap_or_default()
        };
        match self.test_runner {
            TestRunner::Nextest => {
                let mut steps = vec![Step {
                    command: format!(
                        "cargo nextest run --no-fail-fast --no-tests=pass --hide-progress-bar \
                         --status-level=all --final-status-level=none{packages}{}{rest}",
                        profile("--cargo-profile")
                    ),
                    output: StepOutput::NextestRun,
                    packages: built.len(),
                }];
                let libraries: Vec<PackageIndex> = built
                    .iter()
                    .copied()
                    .filter(|&p| self.graph.packages[p].has_library)
                    .collect();
                if !libraries.is_empty() {
                    steps.push(Step {
                        command: format!(
                            "cargo test --doc --no-fail-fast{}{}{rest}",
                            self.package_flags(&libraries),
                            profile("--profile")
                        ),
                        output: StepOutput::DocTests,
                        packages: libraries.len(),
                    });
                }
                steps
            }
            TestRunner::CargoTest => vec![Step {
                command: format!(
                    "cargo test --no-fail-fast{packages}{}{rest}",
                    profile("--profile")
                ),
                output: StepOutput::CargoTestRun,
                packages: built.len(),
            }],
        }
    }

    /// Every command `packages` run when all of them compile, joined as one
    /// shell line: what a dry run shows for a task, and a batch of exactly
    /// these packages runs.
    pub fn command_line(&self, packages: &[PackageIndex]) -> String {
        let steps = self.compile_steps(packages);
        let tests = self.test_steps(packages);
        join(steps.iter().chain(&tests).map(|s| s.command.as_str()))
    }

    fn package_flags(&self, packages: &[PackageIndex]) -> String {
        packages
            .iter()
            .map(|&p| format!(" -p {}", shell_quote(&self.graph.packages[p].name)))
            .collect()
    }

    fn features_and_args(&self) -> String {
        let mut text = String::new();
        if !self.def.features.is_empty() {
            text.push_str(" --features ");
            text.push_str(&shell_quote(&self.def.features.join(",")));
        }
        for arg in &self.def.args {
            text.push(' ');
            text.push_str(&shell_quote(arg));
        }
        text
    }
}

/// Commands as one shell line that stops at the first failure.
pub fn join<'s>(commands: impl IntoIterator<Item = &'s str>) -> String {
    commands.into_iter().collect::<Vec<_>>().join(" && ")
}

pub(crate) fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
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

    fn package(name: &str, has_library: bool) -> xtask_graph::Package {
        xtask_graph::Package {
            name: name.into(),
            version: "0.1.0".into(),
            dir: format!("crates/{name}"),
            manifest: format!("crates/{name}/Cargo.toml"),
            dependencies: Vec::new(),
            binaries: Vec::new(),
            has_library,
            has_xtask_metadata: false,
            features: Default::default(),
            declared_dependencies: Vec::new(),
        }
    }

    fn graph() -> PackageGraph {
        PackageGraph {
            root: "/ws".into(),
            target_dir: "/ws/target".into(),
            packages: vec![package("app", false), package("lib", true)],
        }
    }

    fn def(kind: CargoKind) -> TaskDef {
        TaskDef {
            action: xtask_config::Action::Cargo(kind),
            depends_on: Vec::new(),
            inputs: None,
            outputs: Vec::new(),
            env: Vec::new(),
            pass_env: Vec::new(),
            cache: true,
            persistent: false,
            args: vec!["--locked".into(), "x y".into()],
            profile: None,
            features: vec!["a".into(), "b/c".into()],
        }
    }

    /// Every command of `kind` over both packages, one per line.
    fn commands(kind: CargoKind, profile: Option<&str>, runner: TestRunner) -> String {
        let graph = graph();
        let mut def = def(kind);
        def.profile = profile.map(String::from);
        let commands = CargoCommands {
            graph: &graph,
            kind,
            def: &def,
            test_runner: runner,
        };
        let steps = commands.compile_steps(&[0, 1]);
        let tests = commands.test_steps(&[0, 1]);
        let lines: Vec<String> = steps
            .iter()
            .chain(&tests)
            .map(|s| s.command.clone())
            .collect();
        assert_eq!(commands.command_line(&[0, 1]), lines.join(" && "));
        lines.join("\n")
    }

    #[test]
    fn the_commands_of_each_kind() {
        let cases: &[(CargoKind, Option<&str>, TestRunner, &str)] = &[
            (
                CargoKind::Check,
                None,
                TestRunner::Nextest,
                "cargo check --keep-going --message-format=json -p app -p lib --features a,b/c --locked 'x y'",
            ),
            (
                CargoKind::Build,
                None,
                TestRunner::Nextest,
                "cargo build --keep-going --message-format=json -p app -p lib --release --features a,b/c --locked 'x y'",
            ),
            (
                CargoKind::Build,
                Some("dist"),
                TestRunner::Nextest,
                "cargo build --keep-going --message-format=json -p app -p lib --profile dist --features a,b/c --locked 'x y'",
            ),
            (
                CargoKind::Lint,
                None,
                TestRunner::Nextest,
                "cargo fmt --check -p app -p lib -- --color never\n\
                 cargo clippy --all-targets --keep-going --message-format=json -p app -p lib --features a,b/c --locked 'x y' -- -D warnings",
            ),
            // The binaries that run are built with the compile step's
            // profile, features and args; doc tests only for libraries.
            (
                CargoKind::Test,
                Some("ci"),
                TestRunner::Nextest,
                "cargo test --no-run --no-fail-fast --message-format=json -p app -p lib --profile ci --features a,b/c --locked 'x y'\n\
                 cargo nextest run --no-fail-fast --no-tests=pass --hide-progress-bar --status-level=all --final-status-level=none -p app -p lib --cargo-profile ci --features a,b/c --locked 'x y'\n\
                 cargo test --doc --no-fail-fast -p lib --profile ci --features a,b/c --locked 'x y'",
            ),
            (
                CargoKind::Test,
                None,
                TestRunner::CargoTest,
                "cargo test --no-run --no-fail-fast --message-format=json -p app -p lib --features a,b/c --locked 'x y'\n\
                 cargo test --no-fail-fast -p app -p lib --features a,b/c --locked 'x y'",
            ),
        ];
        for &(kind, profile, runner, expected) in cases {
            assert_eq!(
                commands(kind, profile, runner),
                expected,
                "{kind:?} {profile:?} {runner:?}"
            );
        }
    }

    #[test]
    fn only_tests_run_binaries_and_only_those_that_built() {
        let graph = graph();
        let test = def(CargoKind::Test);
        let commands = CargoCommands {
            graph: &graph,
            kind: CargoKind::Test,
            def: &test,
            test_runner: TestRunner::Nextest,
        };
        assert!(commands.test_steps(&[]).is_empty());
        // `app` has no library: no doc-test step at all.
        let steps = commands.test_steps(&[0]);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].output, StepOutput::NextestRun);
        let steps = commands.test_steps(&[0, 1]);
        let counts: Vec<usize> = steps.iter().map(|s| s.packages).collect();
        assert_eq!(
            counts,
            [2, 1],
            "nextest runs both, doc tests only the library"
        );
        let check = def(CargoKind::Check);
        let commands = CargoCommands {
            graph: &graph,
            kind: CargoKind::Check,
            def: &check,
            test_runner: TestRunner::Nextest,
        };
        assert!(commands.test_steps(&[0, 1]).is_empty());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("--locked"), "--locked");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
