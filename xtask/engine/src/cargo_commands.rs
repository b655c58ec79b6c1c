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

/// One cargo invocation: the arguments after `cargo`, unquoted. What runs
/// and what is shown are both its [`Invocation::shell_line`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
}

impl Invocation {
    fn new(args: &[&str]) -> Invocation {
        Invocation {
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn with(mut self, args: impl IntoIterator<Item = String>) -> Invocation {
        self.args.extend(args);
        self
    }

    /// `cargo <args>`, each quoted for `sh` where it needs to be.
    pub fn shell_line(&self) -> String {
        std::iter::once("cargo".to_string())
            .chain(self.args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One cargo invocation over some packages, and how to read its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub invocation: Invocation,
    /// `invocation` as one shell line: what runs, and what is shown.
    pub command: String,
    pub output: StepOutput,
    /// How many packages it names.
    pub packages: usize,
}

impl Step {
    fn new(invocation: Invocation, output: StepOutput, packages: usize) -> Step {
        Step {
            command: invocation.shell_line(),
            invocation,
            output,
            packages,
        }
    }
}

/// The commands of one task definition of a built-in `kind`.
pub struct CargoCommands<'a> {
    pub graph: &'a PackageGraph,
    pub kind: CargoKind,
    pub def: &'a TaskDef,
    pub test_runner: TestRunner,
}

impl CargoCommands<'_> {
    /// The compile steps over `members`, in order.
    pub fn compile_steps(&self, members: &[PackageIndex]) -> Vec<Step> {
        let packages = self.package_flags(members);
        let mut common: Vec<String> = match (&self.def.profile, self.kind) {
            (Some(profile), _) => vec!["--profile".into(), profile.clone()],
            (None, CargoKind::Build) => vec!["--release".into()],
            (None, _) => Vec::new(),
        };
        common.extend(self.features_and_args());
        let json = "--message-format=json";
        // `cargo test` spells --keep-going as --no-fail-fast.
        let keep_going = if self.kind == CargoKind::Test {
            "--no-fail-fast"
        } else {
            "--keep-going"
        };
        let compile = |head: &[&str], tail: &[&str]| {
            let invocation = Invocation::new(head)
                .with([keep_going.to_string(), json.to_string()])
                .with(packages.clone())
                .with(common.clone())
                .with(tail.iter().map(|a| a.to_string()));
            Step::new(invocation, StepOutput::CargoJson, members.len())
        };
        match self.kind {
            // `check` means what `cargo check` means (library and binaries):
            // benches and tests are an `args = ["--all-targets"]` away.
            CargoKind::Check => vec![compile(&["check"], &[])],
            CargoKind::Build => vec![compile(&["build"], &[])],
            CargoKind::Lint => vec![
                Step::new(
                    Invocation::new(&["fmt", "--check"])
                        .with(packages.clone())
                        .with(["--", "--color", "never"].map(String::from)),
                    StepOutput::FmtDiffs,
                    members.len(),
                ),
                compile(&["clippy", "--all-targets"], &["--", "-D", "warnings"]),
            ],
            CargoKind::Test => vec![compile(&["test", "--no-run"], &[])],
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
        let rest = self.features_and_args();
        let profile = |flag: &str| match &self.def.profile {
            Some(profile) => vec![flag.to_string(), profile.clone()],
            None => Vec::new(),
        };
        match self.test_runner {
            TestRunner::Nextest => {
                let nextest = Invocation::new(&[
                    "nextest",
                    "run",
                    "--no-fail-fast",
                    "--no-tests=pass",
                    "--hide-progress-bar",
                    "--status-level=all",
                    "--final-status-level=none",
                ])
                .with(self.package_flags(built))
                .with(profile("--cargo-profile"))
                .with(rest.clone());
                let mut steps = vec![Step::new(nextest, StepOutput::NextestRun, built.len())];
                let libraries: Vec<PackageIndex> = built
                    .iter()
                    .copied()
                    .filter(|&p| self.graph.packages[p].has_library)
                    .collect();
                if !libraries.is_empty() {
                    let doc = Invocation::new(&["test", "--doc", "--no-fail-fast"])
                        .with(self.package_flags(&libraries))
                        .with(profile("--profile"))
                        .with(rest);
                    steps.push(Step::new(doc, StepOutput::DocTests, libraries.len()));
                }
                steps
            }
            TestRunner::CargoTest => {
                let test = Invocation::new(&["test", "--no-fail-fast"])
                    .with(self.package_flags(built))
                    .with(profile("--profile"))
                    .with(rest);
                vec![Step::new(test, StepOutput::CargoTestRun, built.len())]
            }
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

    fn package_flags(&self, packages: &[PackageIndex]) -> Vec<String> {
        packages
            .iter()
            .flat_map(|&p| ["-p".to_string(), self.graph.packages[p].name.clone()])
            .collect()
    }

    fn features_and_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.def.features.is_empty() {
            args.push("--features".to_string());
            args.push(self.def.features.join(","));
        }
        args.extend(self.def.args.iter().cloned());
        args
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
    fn a_step_runs_and_shows_its_invocation() {
        let graph = graph();
        let mut test = def(CargoKind::Test);
        test.profile = Some("my profile".into());
        let commands = CargoCommands {
            graph: &graph,
            kind: CargoKind::Test,
            def: &test,
            test_runner: TestRunner::Nextest,
        };
        let steps = commands.test_steps(&[1]);
        assert_eq!(
            steps[0].invocation.args,
            [
                "nextest",
                "run",
                "--no-fail-fast",
                "--no-tests=pass",
                "--hide-progress-bar",
                "--status-level=all",
                "--final-status-level=none",
                "-p",
                "lib",
                "--cargo-profile",
                "my profile",
                "--features",
                "a,b/c",
                "--locked",
                "x y",
            ]
        );
        for step in commands.compile_steps(&[1]).iter().chain(&steps) {
            assert_eq!(step.command, step.invocation.shell_line());
        }
        assert!(steps[0].command.contains(" --cargo-profile 'my profile' "));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("--locked"), "--locked");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
