//! The environment the engine and its build get: the user's, without what
//! `cargo run` added for the launcher (its manifest directory, package name
//! and version, `CARGO`). Passed on, those would make the engine's build
//! differ from a `cargo build` or `cargo test` typed in a shell: build
//! scripts that track one of them (ring's tracks `CARGO_MANIFEST_DIR`) would
//! rerun, and everything above them rebuild, each time one follows the other.
//! The engine itself then sees what it sees when started directly.

use std::ffi::OsStr;
use std::process::Command;

/// Variables `cargo run` sets for the binary it runs, by name or prefix.
const SET_BY_CARGO_RUN: &[&str] = &[
    "CARGO",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];
const SET_BY_CARGO_RUN_PREFIXES: &[&str] = &["CARGO_PKG_"];

/// Removes from `command`'s environment what `cargo run` set for us.
pub fn without_cargo_run_vars(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if set_by_cargo_run(&name) {
            command.env_remove(&name);
        }
    }
    command
}

fn set_by_cargo_run(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    SET_BY_CARGO_RUN.contains(&name)
        || SET_BY_CARGO_RUN_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::set_by_cargo_run;

    #[test]
    fn only_what_cargo_run_sets_is_removed() {
        for name in [
            "CARGO",
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_BIN_NAME",
        ] {
            assert!(set_by_cargo_run(name.as_ref()), "{name}");
        }
        for name in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "RUSTFLAGS",
            "PATH",
            "CARGOX",
        ] {
            assert!(!set_by_cargo_run(name.as_ref()), "{name}");
        }
    }
}
