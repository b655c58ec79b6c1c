//! The environment: which variables go into a key (as hashes of their values,
//! never the values: they may be secrets), and which reach a command.

use std::collections::BTreeMap;
use std::ffi::OsString;

use globset::{Glob, GlobSet, GlobSetBuilder};
use xtask_config::{Action, EnvMode, TaskDef};

/// Variables every command gets even in strict mode: what a shell and the
/// Rust toolchain need to work at all. Their values do not go into keys.
const BASE_PASSTHROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TMPDIR",
    "TMP",
    "TEMP",
    "CI",
    "GITHUB_*",
    "RUNNER_*",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "SSH_AUTH_SOCK",
    "DISPLAY",
    "XDG_*",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];

/// What cargo compiles with: hashed into the keys of cargo tasks and passed to them.
const CARGO_HASHED: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_*",
    "RUSTC*",
    "RUSTDOC*",
    "CC",
    "CXX",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
];

/// Set by `cargo run` for the xtask binary itself; they describe us, not the
/// user's tasks, so they are neither hashed nor passed on.
const OWN_CARGO_VARS: &[&str] = &[
    "CARGO",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_*",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_HOME",
    "CARGO_TERM_*",
    "CARGO_MAKEFLAGS",
    "RUSTUP_TOOLCHAIN",
];

/// A snapshot of the process environment taken once per run, so that every
/// task of the run sees the same values.
pub struct Environment {
    vars: BTreeMap<String, OsString>,
    /// Compiled once: matching runs for every task of a run.
    own_cargo: GlobSet,
    base: GlobSet,
    cargo: GlobSet,
}

impl Environment {
    pub fn capture() -> Environment {
        Environment::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
                .collect(),
        )
    }

    fn from_vars(vars: BTreeMap<String, OsString>) -> Environment {
        Environment {
            vars,
            own_cargo: glob_set(OWN_CARGO_VARS),
            base: glob_set(BASE_PASSTHROUGH),
            cargo: glob_set(CARGO_HASHED),
        }
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        )
    }

    /// Variables named by `patterns` (exact names, or globs with `*`) or
    /// matched by one of `sets`.
    fn matching<'a>(
        &'a self,
        patterns: &[String],
        sets: &[&GlobSet],
    ) -> BTreeMap<&'a String, &'a OsString> {
        let mut found = BTreeMap::new();
        let mut wildcards = Vec::new();
        for pattern in patterns {
            if pattern.contains('*') {
                wildcards.push(pattern.as_str());
            } else if let Some((name, value)) = self.vars.get_key_value(pattern) {
                found.insert(name, value);
            }
        }
        let wildcards = glob_set(&wildcards);
        if !wildcards.is_empty() || !sets.is_empty() {
            for (name, value) in &self.vars {
                if wildcards.is_match(name) || sets.iter().any(|s| s.is_match(name)) {
                    found.insert(name, value);
                }
            }
        }
        found
    }

    /// Names and value hashes of the variables that go into the key of `def`:
    /// its `env`, the workspace's `global-env`, and for cargo tasks what cargo
    /// compiles with. A declared variable that is unset is recorded as such.
    pub fn hashed(&self, def: &TaskDef, global_env: &[String]) -> BTreeMap<String, String> {
        let patterns: Vec<String> = def.env.iter().chain(global_env).cloned().collect();
        let sets: Vec<&GlobSet> = match def.action {
            Action::Cargo(_) => vec![&self.cargo],
            _ => vec![],
        };
        let mut hashed: BTreeMap<String, String> = patterns
            .iter()
            .filter(|p| !p.contains('*'))
            .map(|p| (p.to_string(), "<unset>".to_string()))
            .collect();
        for (name, value) in self.matching(&patterns, &sets) {
            if self.own_cargo.is_match(name) {
                continue;
            }
            let digest = blake3::hash(value.as_encoded_bytes());
            hashed.insert(name.clone(), digest.to_hex()[..32].to_string());
        }
        hashed
    }

    /// The variables a command of `def` runs with.
    pub fn for_command(
        &self,
        def: &TaskDef,
        mode: EnvMode,
        global_env: &[String],
    ) -> Vec<(OsString, OsString)> {
        let keep = |(name, value): (&String, &OsString)| {
            (!self.own_cargo.is_match(name) || OWN_BUT_PASSED.contains(&name.as_str()))
                .then(|| (OsString::from(name), value.clone()))
        };
        match mode {
            EnvMode::Loose => self.vars.iter().filter_map(keep).collect(),
            EnvMode::Strict => {
                let patterns: Vec<String> = def
                    .env
                    .iter()
                    .chain(&def.pass_env)
                    .chain(global_env)
                    .cloned()
                    .collect();
                let mut sets = vec![&self.base];
                if matches!(def.action, Action::Cargo(_)) {
                    sets.push(&self.cargo);
                }
                self.matching(&patterns, &sets)
                    .into_iter()
                    .filter_map(keep)
                    .collect()
            }
        }
    }
}

fn glob_set<S: AsRef<str>>(patterns: &[S]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        if let Ok(glob) = Glob::new(pattern.as_ref()) {
            builder.add(glob);
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// Of the variables `cargo run` sets for us, these are also the user's own
/// settings and must reach commands (a custom cargo home, a pinned toolchain).
const OWN_BUT_PASSED: &[&str] = &["CARGO_HOME", "RUSTUP_TOOLCHAIN", "CARGO_TERM_COLOR"];

#[cfg(test)]
mod tests {
    use super::*;

    fn shell_task(env: &[&str], pass_env: &[&str]) -> TaskDef {
        TaskDef {
            action: Action::Shell("true".into()),
            depends_on: vec![],
            inputs: None,
            outputs: vec![],
            env: env.iter().map(|s| s.to_string()).collect(),
            pass_env: pass_env.iter().map(|s| s.to_string()).collect(),
            cache: true,
            persistent: false,
            args: vec![],
            profile: None,
            features: vec![],
        }
    }

    #[test]
    fn declared_env_is_hashed_never_stored_in_clear() {
        let env =
            Environment::from_pairs(&[("API_TOKEN", "hunter2"), ("OTHER", "x"), ("MODE_A", "1")]);
        let hashed = env.hashed(&shell_task(&["API_TOKEN", "MODE_*", "MISSING"], &[]), &[]);
        assert_eq!(
            hashed.keys().collect::<Vec<_>>(),
            ["API_TOKEN", "MISSING", "MODE_A"]
        );
        assert_ne!(hashed["API_TOKEN"], "hunter2");
        assert_eq!(hashed["MISSING"], "<unset>");
    }

    #[test]
    fn strict_mode_passes_only_base_and_declared() {
        let env = Environment::from_pairs(&[
            ("PATH", "/bin"),
            ("SECRET", "s"),
            ("PASSED", "p"),
            ("HASHED", "h"),
            ("CARGO_PKG_NAME", "xtask"),
        ]);
        let def = shell_task(&["HASHED"], &["PASSED"]);
        let names = |vars: Vec<(OsString, OsString)>| -> Vec<String> {
            vars.into_iter()
                .map(|(k, _)| k.into_string().unwrap())
                .collect()
        };
        assert_eq!(
            names(env.for_command(&def, EnvMode::Strict, &[])),
            ["HASHED", "PASSED", "PATH"]
        );
        assert_eq!(
            names(env.for_command(&def, EnvMode::Loose, &[])),
            ["HASHED", "PASSED", "PATH", "SECRET"]
        );
    }
}
