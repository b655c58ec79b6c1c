//! The fast path: `cargo xtask` without cargo resolving the whole workspace
//! first. `cargo run --package xtask-launcher` makes cargo load every
//! manifest and resolve Cargo.lock against the registry index (~430
//! packages here: about 100 ms) before the launcher starts. A package that
//! is a workspace of its own costs cargo what a hello-world does.
//!
//! So the launcher writes, beside the repository's cargo config,
//! `.cargo/xtask-launch/`:
//! - `Cargo.toml`: a one-package workspace whose binary is the launcher's
//!   own `src/main.rs` (cargo still rebuilds it when a launcher source
//!   changes), built in a profile of its own so its binary does not replace
//!   the member's;
//! - `alias.toml`: `cargo xtask` = `cargo run --manifest-path <that> …`,
//!   with absolute paths (cargo resolves `--manifest-path` against the
//!   working directory, and the alias must work from every subdirectory);
//! - `.gitignore`, so none of it is committed: the paths are this
//!   checkout's.
//!
//! The repository's `.cargo/config.toml` includes `alias.toml` as an
//! optional file after the tracked alias, so the tracked one (the slow,
//! always-working path) applies until the first launch has written it.
//! Only the member launcher (the slow path) writes these files, under the
//! build lock, while it rebuilds the engine; the standalone one hands any
//! rebuild back to it (see `main.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::layout::Layout;

/// The directory, relative to the workspace root.
pub const DIR: &str = ".cargo/xtask-launch";
/// The profile the standalone launcher is built in (its output directory).
pub const PROFILE: &str = "xtask-launch";
/// What the repository's `.cargo/config.toml` names to use the fast path.
const INCLUDED_AS: &str = "xtask-launch/alias.toml";
/// The edition the launcher's sources are written for: the workspace's
/// (a test checks the two agree).
pub const EDITION: &str = "2024";

/// The three files of the fast path for one checkout and target directory.
#[derive(Debug)]
pub struct FastPath {
    dir: PathBuf,
    manifest: String,
    alias: String,
    target_dir: PathBuf,
}

impl FastPath {
    /// The fast path this layout calls for; `None` when the workspace's cargo
    /// config does not include it, when cargo's target directory cannot be
    /// told from where the launcher runs, or when a path cannot be written
    /// into TOML (not UTF-8).
    pub fn planned(layout: &Layout) -> Option<FastPath> {
        let config =
            std::fs::read_to_string(layout.workspace_root.join(".cargo/config.toml")).ok()?;
        if !config.contains(INCLUDED_AS) {
            return None;
        }
        let target_dir = layout.target_root.clone()?;
        let dir = layout.workspace_root.join(DIR);
        let manifest_path = dir.join("Cargo.toml");
        // An alias given as a string is split at whitespace (given as an
        // array it would be appended to the tracked one, not replace it):
        // a path with whitespace cannot be written, and there is no fast path.
        let words = |path: &Path| {
            path.to_str()
                .filter(|p| !p.contains(char::is_whitespace))
                .map(str::to_owned)
        };
        let alias = format!(
            "# Written by the launcher (xtask/launcher/src/fast_path.rs) for this checkout:\n\
             # `cargo xtask` without cargo loading the whole workspace first. Delete this\n\
             # directory to go back to the tracked alias; the next launch writes it again.\n\
             [alias]\n\
             xtask = {}\n",
            toml_string(&format!(
                "run --manifest-path {} --target-dir {} --profile {PROFILE} --",
                words(&manifest_path)?,
                words(&target_dir)?,
            )),
        );
        let manifest = format!(
            "# Written by the launcher (xtask/launcher/src/fast_path.rs): the launcher as a\n\
             # workspace of its own, so that `cargo run` of it resolves nothing else.\n\
             [package]\n\
             name = \"{}\"\n\
             version = \"{}\"\n\
             edition = \"{EDITION}\"\n\
             publish = false\n\
             autobins = false\n\
             autoexamples = false\n\
             autotests = false\n\
             autobenches = false\n\
             \n\
             [[bin]]\n\
             name = \"{}\"\n\
             path = \"../../xtask/launcher/src/main.rs\"\n\
             test = false\n\
             bench = false\n\
             \n\
             [profile.{PROFILE}]\n\
             inherits = \"dev\"\n\
             \n\
             [workspace]\n",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_BIN_NAME"),
        );
        Some(FastPath {
            dir,
            manifest,
            alias,
            target_dir,
        })
    }

    /// Whether the files on disk are exactly these.
    pub fn is_current(&self) -> bool {
        let same = |name: &str, text: &str| {
            std::fs::read_to_string(self.dir.join(name)).is_ok_and(|found| found == text)
        };
        same("Cargo.toml", &self.manifest) && same("alias.toml", &self.alias)
    }

    /// Whether installing exactly this fast path failed before (a read-only
    /// checkout, say): then only the next build of the engine tries again,
    /// instead of every launch paying a no-op build and a warning.
    pub fn failed_before(&self, layout: &Layout) -> bool {
        std::fs::read_to_string(layout.fast_path_failure_path())
            .is_ok_and(|text| text == self.alias)
    }

    /// Writes the files and builds the standalone launcher with `cargo`; the
    /// alias last, so that cargo never follows it to a launcher not built.
    /// A failure is remembered beside the stamp (see [`FastPath::failed_before`]).
    pub fn install(&self, cargo: &Path, layout: &Layout) -> Result<(), String> {
        let result = self.write_and_build(cargo);
        let marker = layout.fast_path_failure_path();
        match &result {
            Ok(()) => {
                let _ = std::fs::remove_file(&marker);
            }
            Err(_) => {
                let _ = crate::atomic::write(&marker, &self.alias);
            }
        }
        result
    }

    fn write_and_build(&self, cargo: &Path) -> Result<(), String> {
        let failed = |what: &str, e: std::io::Error| format!("cannot write {what}: {e}");
        std::fs::create_dir_all(&self.dir).map_err(|e| failed(DIR, e))?;
        let alias = self.dir.join("alias.toml");
        // A half-written setup must not be followed: the alias goes first.
        match std::fs::remove_file(&alias) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(failed("alias.toml", e));
            }
            _ => {}
        }
        crate::atomic::write(&self.dir.join(".gitignore"), "*\n")
            .map_err(|e| failed(".gitignore", e))?;
        crate::atomic::write(&self.dir.join("Cargo.toml"), &self.manifest)
            .map_err(|e| failed("Cargo.toml", e))?;
        let mut build = Command::new(cargo);
        crate::environment::without_cargo_run_vars(&mut build)
            .arg("build")
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&self.target_dir)
            .args(["--profile", PROFILE, "--quiet"])
            .stdout(std::io::stderr());
        let status = build
            .status()
            .map_err(|e| format!("cannot run `{} build`: {e}", cargo.display()))?;
        if !status.success() {
            return Err(format!(
                "`cargo build` of {DIR}/Cargo.toml failed ({status})"
            ));
        }
        crate::atomic::write(&alias, &self.alias).map_err(|e| failed("alias.toml", e))
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_toml_strings_whatever_they_hold() {
        assert_eq!(toml_string("/a b/c"), "\"/a b/c\"");
        assert_eq!(toml_string("C:\\x\"y"), "\"C:\\\\x\\\"y\"");
        assert_eq!(toml_string("a\tb\u{7f}"), "\"a\\u0009b\\u007F\"");
    }

    #[test]
    fn the_standalone_manifest_has_the_workspaces_edition() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(
            manifest
                .lines()
                .any(|line| line.replace(' ', "") == format!("edition=\"{EDITION}\"")),
            "the workspace's edition is not {EDITION}: change EDITION in fast_path.rs"
        );
    }
}
