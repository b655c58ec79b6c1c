//! The README's main job on a fresh machine: a target that
//! `rust-toolchain.toml` (or a task's `--target`) needs but the toolchain
//! lacks is installed through rustup before anything runs, or, without rustup,
//! nothing runs and the error gives the command. A fake `rustup` first on PATH
//! records how it was called.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use support::{CHAIN, Fixture, text};

const TOOLCHAIN: &str =
    "[toolchain]\nchannel = \"stable\"\ntargets = [\"wasm32-unknown-unknown\"]\n";

/// A bin directory with a fake `rustup`: `target list --installed` prints
/// the targets in `installed` (one per line), `target add T` appends T there
/// (or fails, when a file `offline` exists); every call is logged in `calls`.
struct FakeRustup {
    dir: tempfile::TempDir,
}

impl FakeRustup {
    fn new(installed: &[&str]) -> FakeRustup {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().display().to_string();
        std::fs::write(dir.path().join("installed"), lines(installed)).unwrap();
        std::fs::write(dir.path().join("calls"), "").unwrap();
        write_script(
            &dir.path().join("rustup"),
            &format!(
                r#"#!/bin/sh
echo "$*" >> "{state}/calls"
case "$1 $2" in
  "target list") cat "{state}/installed" ;;
  "target add")
    if [ -e "{state}/offline" ]; then
      echo "error: could not download file from 'https://static.rust-lang.org/dist/channel-rust-stable.toml.sha256'" >&2
      exit 1
    fi
    echo "info: downloading component 'rust-std' for '$3'" >&2
    echo "$3" >> "{state}/installed" ;;
  *) echo "unexpected rustup call: $*" >&2; exit 3 ;;
esac
"#
            ),
        );
        FakeRustup { dir }
    }

    fn calls(&self) -> Vec<String> {
        let calls = std::fs::read_to_string(self.dir.path().join("calls")).unwrap();
        std::fs::write(self.dir.path().join("calls"), "").unwrap();
        calls.lines().map(str::to_string).collect()
    }

    /// PATH with the fake first, then everything else.
    fn path(&self) -> std::ffi::OsString {
        prepend(self.dir.path())
    }
}

fn lines(items: &[&str]) -> String {
    items.iter().map(|i| format!("{i}\n")).collect()
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn prepend(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
        .unwrap()
}

fn run(fx: &Fixture, path: &std::ffi::OsStr, args: &[&str]) -> Output {
    let mut full = vec!["run"];
    full.extend_from_slice(args);
    fx.command(&full).env("PATH", path).output().unwrap()
}

fn notices(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("xtask: installing"))
        .collect()
}

#[test]
fn a_missing_toolchain_target_is_installed_once_before_the_first_task_runs() {
    let fx = Fixture::new(&format!("{CHAIN}--- rust-toolchain.toml\n{TOOLCHAIN}"));
    let rustup = FakeRustup::new(&["x86_64-unknown-linux-gnu"]);

    let output = run(&fx, &rustup.path(), &["check"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("4 successful"), "{out}");
    assert_eq!(
        notices(&out),
        [
            "xtask: installing the missing target wasm32-unknown-unknown (rust-toolchain.toml): rustup target add wasm32-unknown-unknown"
        ],
        "one line, once for the whole run:\n{out}"
    );
    assert!(
        !out.contains("downloading component"),
        "rustup's own chatter stays out:\n{out}"
    );
    assert_eq!(
        rustup.calls(),
        [
            "target list --installed",
            "target add wasm32-unknown-unknown"
        ]
    );

    // All cached: rustup is not asked at all.
    let out = text(&run(&fx, &rustup.path(), &["check"]));
    assert!(out.contains("all 4 tasks cached"), "{out}");
    assert_eq!(rustup.calls(), Vec::<String>::new());

    // A task runs again: asked, already installed, nothing to say.
    fx.write("crates/d/src/lib.rs", "pub fn d() { }\n");
    let out = text(&run(&fx, &rustup.path(), &["check"]));
    assert!(out.contains("4 successful"), "{out}");
    assert_eq!(notices(&out), Vec::<&str>::new(), "{out}");
    assert_eq!(rustup.calls(), ["target list --installed"]);
}

#[test]
fn a_target_a_task_names_is_installed_too_and_an_install_failure_is_one_warning() {
    let fx = Fixture::new(&CHAIN.replace(
        "[workspace.metadata.xtask.tasks.other]\ncommand = \"echo other\"",
        "[workspace.metadata.xtask.tasks.other]\ncommand = \"echo cargo build --target thumbv7em-none-eabihf\"",
    ));
    let rustup = FakeRustup::new(&["x86_64-unknown-linux-gnu"]);
    // `check` names no target and there is no toolchain file: nothing to ask.
    let out = text(&run(&fx, &rustup.path(), &["check"]));
    assert!(out.contains("4 successful"), "{out}");
    assert_eq!(rustup.calls(), Vec::<String>::new());

    std::fs::write(rustup.dir.path().join("offline"), "").unwrap();
    let output = run(&fx, &rustup.path(), &["other"]);
    let out = text(&output);
    assert!(
        output.status.success(),
        "the tasks run; cargo would report for itself:\n{out}"
    );
    assert_eq!(
        notices(&out),
        [
            "xtask: installing the missing target thumbv7em-none-eabihf (--target): rustup target add thumbv7em-none-eabihf"
        ]
    );
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(
        warnings[0].contains(
            "`rustup target add thumbv7em-none-eabihf` failed: error: could not download"
        ),
        "{out}"
    );
    assert_eq!(
        rustup.calls(),
        [
            "target list --installed",
            "target add thumbv7em-none-eabihf"
        ],
        "asked once for the four tasks"
    );
}

/// A toolchain without rustup: a fake `rustc` whose sysroot has the host's
/// standard library only (and `extra`'s, when given).
fn toolchain_without_rustup(extra: Option<&str>) -> (tempfile::TempDir, std::ffi::OsString) {
    let dir = tempfile::tempdir().unwrap();
    let sysroot = dir.path().join("sysroot");
    for target in ["x86_64-unknown-linux-gnu"].into_iter().chain(extra) {
        std::fs::create_dir_all(sysroot.join("lib/rustlib").join(target).join("lib")).unwrap();
    }
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_script(
        &bin.join("rustc"),
        &format!(
            "#!/bin/sh\ncase \"$*\" in\n  \"--print sysroot\") echo {} ;;\n  *) echo \"rustc 1.95.0 (fake)\" ;;\nesac\n",
            sysroot.display()
        ),
    );
    // Only system directories besides: no rustup, no rustup proxies.
    let path: PathBuf = bin.clone();
    let path = std::env::join_paths([path, "/usr/bin".into(), "/bin".into()]).unwrap();
    (dir, path)
}

#[test]
fn without_rustup_a_missing_target_fails_before_anything_runs_with_the_command_to_run() {
    let fx = Fixture::new(&format!("{CHAIN}--- rust-toolchain.toml\n{TOOLCHAIN}"));
    // Load the graph once with cargo on PATH (later runs read it from the
    // graph cache and never spawn cargo).
    fx.ok(&["run", "check", "--dry-run"]);
    let (_toolchain, path) = toolchain_without_rustup(None);
    let output = run(&fx, &path, &["check", "--continue"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("the compilation target wasm32-unknown-unknown (rust-toolchain.toml) is not installed for this Rust toolchain, and rustup is not on PATH to install it"),
        "{out}"
    );
    assert!(
        out.contains("`rustup target add wasm32-unknown-unknown`"),
        "{out}"
    );
    for package in ["a", "b", "c", "d"] {
        assert!(
            !fx.path(&format!("crates/{package}/.check.out")).exists(),
            "{package}#check must not run:\n{out}"
        );
    }
    assert!(!out.contains("checked "), "no command ran:\n{out}");

    // With the target's standard library in the sysroot, the same run works.
    let (_toolchain, path) = toolchain_without_rustup(Some("wasm32-unknown-unknown"));
    let output = run(&fx, &path, &["check"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("4 successful"), "{}", text(&output));
}
