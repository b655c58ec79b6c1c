//! A fixture workspace for the launcher's tests: this repository's alias
//! (`.cargo/config.toml`) and the launcher's own manifest and sources, copied
//! as they are, next to a tiny stand-in engine (`xtask`, in `xtask/cli`, over
//! a library crate `xtask/core`) that reports what it was started with.
//! Driven through real cargo, in its own target directory.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Fixture {
    pub root: PathBuf,
}

/// The stand-in engine: `exit N`, `cat` (stdin to stdout), `sleep` (prints
/// its pid, then waits), else one line saying which build this is.
const ENGINE_MAIN: &str = r#"
use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("exit") => std::process::exit(args[1].parse().unwrap()),
        Some("cat") => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).unwrap();
            print!("{input}");
            eprint!("engine stderr");
        }
        Some("sleep") => {
            println!("pid {}", std::process::id());
            std::io::stdout().flush().unwrap();
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
        _ => println!(
            "engine {} {} args={:?} cwd={} manifest-dir={:?} tls={}",
            env!("CARGO_PKG_VERSION"),
            engine_core::VERSION,
            args,
            std::env::current_dir().unwrap().display(),
            std::env::var("CARGO_MANIFEST_DIR").ok(),
            cfg!(feature = "tls"),
        ),
    }
}
"#;

const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        r#"[workspace]
resolver = "3"
members = ["xtask/*"]

[workspace.package]
edition = "2024"
rust-version = "1.85"
license = "MIT"
publish = false

[workspace.lints.rust]
unsafe_code = "deny"
"#,
    ),
    (
        "xtask/cli/Cargo.toml",
        r#"[package]
name = "xtask"
version = "0.1.0"
edition = "2024"
publish = false

[[bin]]
name = "xtask"
path = "src/main.rs"

[features]
tls = []

[dependencies]
engine-core = { path = "../core" }
"#,
    ),
    ("xtask/cli/src/main.rs", ENGINE_MAIN),
    // Like ring's: a build script that tracks a variable `cargo run` sets.
    (
        "xtask/cli/build.rs",
        "fn main() { println!(\"cargo:rerun-if-env-changed=CARGO_MANIFEST_DIR\"); }\n",
    ),
    (
        "xtask/core/Cargo.toml",
        "[package]\nname = \"engine-core\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n",
    ),
    (
        "xtask/core/src/lib.rs",
        "pub const VERSION: &str = \"v1\";\n",
    ),
];

impl Fixture {
    pub fn new(name: &str) -> Fixture {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("xtask-launcher-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let fixture = Fixture { root };
        for (path, text) in FILES {
            fixture.write(path, text);
        }
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR"));
        let repo_root = launcher.parent().unwrap().parent().unwrap();
        fixture.copy(&repo_root.join(".cargo/config.toml"), ".cargo/config.toml");
        fixture.copy(&repo_root.join(".cargo/xtask.toml"), ".cargo/xtask.toml");
        fixture.copy(&launcher.join("Cargo.toml"), "xtask/launcher/Cargo.toml");
        for entry in std::fs::read_dir(launcher.join("src")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            fixture.copy(&path, &format!("xtask/launcher/src/{name}"));
        }
        fixture
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn copy(&self, from: &Path, relative: &str) {
        let text =
            std::fs::read_to_string(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        self.write(relative, &text);
    }

    /// Rewrites a file with `from` replaced by `to` (which must change it).
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(relative)).unwrap();
        assert!(text.contains(from), "{relative} does not contain {from:?}");
        self.write(relative, &text.replacen(from, to, 1));
    }

    pub fn stamp(&self) -> PathBuf {
        self.path("target/debug/.xtask-launch/stamp")
    }

    pub fn launcher_exe(&self) -> PathBuf {
        self.path(&format!(
            "target/debug/xtask-launch{}",
            std::env::consts::EXE_SUFFIX
        ))
    }

    pub fn engine_exe(&self) -> PathBuf {
        self.path(&format!(
            "target/debug/xtask{}",
            std::env::consts::EXE_SUFFIX
        ))
    }

    /// `cargo <args>` in the fixture root, in the environment of a shell:
    /// what `cargo test` set for this test binary removed.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let mut command = Command::new(cargo_binary());
        command.args(args);
        self.shell_environment(&mut command);
        command
    }

    /// `cargo xtask <args>`: the alias, as a user types it.
    pub fn cargo_xtask(&self, args: &[&str]) -> Command {
        let mut all = vec!["xtask"];
        all.extend_from_slice(args);
        self.cargo(&all)
    }

    /// The launcher binary started directly, with `CARGO` as `cargo run`
    /// would set it.
    pub fn launcher(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.launcher_exe());
        command.args(args);
        self.shell_environment(&mut command);
        command.env("CARGO", cargo_binary());
        command
    }

    fn shell_environment(&self, command: &mut Command) {
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_by_cargo_test = name == "CARGO"
                || name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_EXE_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                ]
                .contains(&name.as_ref())
                || name == "CARGO_TARGET_TMPDIR"
                // A remote cache of the caller's would change the features.
                || name.starts_with("TURBO_")
                || name.starts_with("XTASK_REMOTE_CACHE_");
            if set_by_cargo_test {
                command.env_remove(name.as_ref());
            }
        }
        command
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", self.path("target"))
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("CARGO_BUILD_TARGET")
            .stdin(Stdio::null());
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The cargo that runs these tests (`cargo test` sets `CARGO`).
pub fn cargo_binary() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// A finished command's streams and status, checked to have succeeded.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

pub fn outcome(command: &mut Command) -> Run {
    let output: Output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

pub fn success(command: &mut Command) -> Run {
    let result = outcome(command);
    assert_eq!(
        result.code,
        Some(0),
        "{command:?} failed\nstdout:\n{}\nstderr:\n{}",
        result.stdout,
        result.stderr
    );
    result
}

impl Run {
    /// Whether the launcher decided to build the engine on this run.
    pub fn built(&self) -> bool {
        self.stderr.contains("xtask-launch: building the engine")
    }

    /// Whether cargo ran the standalone launcher of the fast path (cargo's
    /// `Running` line names its binary, in its own profile's directory).
    pub fn ran_standalone(&self) -> bool {
        self.stderr.contains("xtask-launch/xtask-launch")
    }

    /// Whether cargo ran the workspace member launcher (`target/debug/…`).
    pub fn ran_member(&self) -> bool {
        self.stderr.contains("debug/xtask-launch")
    }

    /// Whether cargo compiled the stand-in engine's binary crate.
    pub fn compiled_engine(&self) -> bool {
        self.stderr.contains("Compiling xtask v")
    }

    /// Whether the engine that ran was built with the `tls` feature.
    pub fn engine_tls(&self) -> bool {
        self.engine_build(); // it ran
        self.stdout.contains(" tls=true")
    }

    /// The engine's one-line report (its build: "0.1.0 v1").
    pub fn engine_build(&self) -> &str {
        let line = self
            .stdout
            .lines()
            .find(|l| l.starts_with("engine "))
            .unwrap_or_else(|| {
                panic!(
                    "the engine did not run\nstdout:\n{}\nstderr:\n{}",
                    self.stdout, self.stderr
                )
            });
        let mut words = line.splitn(4, ' ');
        words.next();
        let end = words.next().unwrap().len() + words.next().unwrap().len() + 1;
        &line["engine ".len().."engine ".len() + end]
    }
}
