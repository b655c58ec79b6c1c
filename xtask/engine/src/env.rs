//! The environment: which variables go into a key (as hashes of their values,
//! never the values: they may be secrets), and which reach a command.

use std::collections::BTreeMap;
use std::ffi::OsString;

use globset::GlobBuilder;
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
}

impl Environment {
    pub fn capture() -> Environment {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
                .collect(),
        }
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Environment {
        Environment {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        }
    }

    fn matching<'a>(
        &'a self,
        patterns: &'a [&'a str],
    ) -> impl Iterator<Item = (&'a String, &'a OsString)> + 'a {
        let matchers: Vec<globset::GlobMatcher> = patterns
            .iter()
            .filter_map(|p| GlobBuilder::new(p).case_insensitive(false).build().ok())
            .map(|g| g.compile_matcher())
            .collect();
        self.vars
            .iter()
            .filter(move |(k, _)| matchers.iter().any(|m| m.is_match(k.as_str())))
    }

    /// Names and value hashes of the variables that go into the key of `def`:
    /// its `env`, the workspace's `global-env`, and for cargo tasks what cargo
    /// compiles with. A declared variable that is unset is recorded as such.
    pub fn hashed(&self, def: &TaskDef, global_env: &[String]) -> BTreeMap<String, String> {
        let mut patterns: Vec<&str> = def
            .env
            .iter()
            .chain(global_env)
            .map(String::as_str)
            .collect();
        if matches!(def.action, Action::Cargo(_)) {
            patterns.extend_from_slice(CARGO_HASHED);
        }
        let mut hashed: BTreeMap<String, String> = patterns
            .iter()
            .filter(|p| !p.contains('*'))
            .map(|p| (p.to_string(), "<unset>".to_string()))
            .collect();
        let own = self.own_cargo_matcher();
        for (name, value) in self.matching(&patterns) {
            if own.is_match(name) {
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
        let own = self.own_cargo_matcher();
        let keep = |(name, value): (&String, &OsString)| {
            (!own.is_match(name) || BASE_PASSTHROUGH_EXCEPTIONS.contains(&name.as_str()))
                .then(|| (OsString::from(name), value.clone()))
        };
        match mode {
            EnvMode::Loose => self.vars.iter().filter_map(keep).collect(),
            EnvMode::Strict => {
                let mut patterns: Vec<&str> = BASE_PASSTHROUGH.to_vec();
                patterns.extend(
                    def.env
                        .iter()
                        .chain(&def.pass_env)
                        .chain(global_env)
                        .map(String::as_str),
                );
                if matches!(def.action, Action::Cargo(_)) {
                    patterns.extend_from_slice(CARGO_HASHED);
                }
                self.matching(&patterns).filter_map(keep).collect()
            }
        }
    }

    fn own_cargo_matcher(&self) -> globset::GlobSet {
        let mut builder = globset::GlobSetBuilder::new();
        for pattern in OWN_CARGO_VARS {
            if let Ok(glob) = globset::Glob::new(pattern) {
                builder.add(glob);
            }
        }
        builder
            .build()
            .unwrap_or_else(|_| globset::GlobSet::empty())
    }
}

/// Of the variables `cargo run` sets for us, these are also the user's own
/// settings and must reach commands (a custom cargo home, a pinned toolchain).
const BASE_PASSTHROUGH_EXCEPTIONS: &[&str] =
    &["CARGO_HOME", "RUSTUP_TOOLCHAIN", "CARGO_TERM_COLOR"];

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
