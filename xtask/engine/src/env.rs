//! The environment: which variables go into a key (as hashes of their values,
//! never the values: they may be secrets), and which reach a command.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;

use xtask_config::{Action, EnvMode, TaskDef};
use xtask_glob::{Glob, GlobSet};

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

/// Tokens a CI system hands to a job. A task could send them anywhere, so a
/// task gets one only when it names it (exactly) in `env` or `pass-env`.
const CI_TOKENS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
];

/// Parts of a name that suggest a credential. The wildcards of the base set
/// (`GITHUB_*`, `XDG_*`, …) and of cargo's set never hash such a variable, and
/// the base set never passes it: a secret has to be declared.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "PRIVATE",
    "_KEY",
];

fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|word| upper.contains(word))
}

/// How a variable relates to the tool's and the CI's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secrecy {
    /// The remote cache's token and signing key: never reach a task.
    Own,
    /// CI tokens and cloud credentials: only when named exactly.
    OnlyWhenNamed,
    Other,
}

/// A snapshot of the process environment taken once per run, so that every
/// task of the run sees the same values.
pub struct Environment {
    vars: BTreeMap<String, OsString>,
    own_cargo: NameList,
    base: NameList,
    cargo: NameList,
    own_secrets: BTreeSet<&'static str>,
    only_when_named: BTreeSet<&'static str>,
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
            own_cargo: NameList(OWN_CARGO_VARS),
            base: NameList(BASE_PASSTHROUGH),
            cargo: NameList(CARGO_HASHED),
            own_secrets: xtask_remote::own_secret_env().collect(),
            only_when_named: CI_TOKENS
                .iter()
                .copied()
                .chain(xtask_remote::cloud_credential_env())
                .collect(),
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

    /// A credential by name: the tool's own secrets, CI tokens and cloud
    /// credentials, and anything whose name looks like one.
    pub fn is_secret_name(&self, name: &str) -> bool {
        self.secrecy(name) != Secrecy::Other || looks_secret(name)
    }

    fn secrecy(&self, name: &str) -> Secrecy {
        if self.own_secrets.contains(name) {
            Secrecy::Own
        } else if self.only_when_named.contains(name) {
            Secrecy::OnlyWhenNamed
        } else {
            Secrecy::Other
        }
    }

    /// Variables named by `patterns` (exact names, or globs with `*`), then
    /// those matched by one of `sets` (built-in lists) whose names do not
    /// look secret unless `secret_looking_sets` allows them. The tool's own
    /// secrets never; CI tokens and cloud credentials only when named exactly.
    fn matching<'a>(
        &'a self,
        patterns: &[String],
        sets: &[&NameList],
        secret_looking_sets: bool,
    ) -> BTreeMap<&'a String, &'a OsString> {
        let mut found = BTreeMap::new();
        let mut wildcards = Vec::new();
        for pattern in patterns {
            if pattern.contains('*') {
                wildcards.push(pattern.as_str());
            } else if let Some((name, value)) = self.vars.get_key_value(pattern)
                && self.secrecy(name) != Secrecy::Own
            {
                found.insert(name, value);
            }
        }
        // Compiled only when a task declares a wildcard (most declare none).
        let wildcards = (!wildcards.is_empty()).then(|| glob_set(&wildcards));
        if wildcards.is_some() || !sets.is_empty() {
            for (name, value) in &self.vars {
                if self.secrecy(name) != Secrecy::Other || found.contains_key(name) {
                    continue;
                }
                let declared = wildcards.as_ref().is_some_and(|w| w.is_match(name));
                let built_in = sets.iter().any(|s| s.is_match(name))
                    && (secret_looking_sets || !looks_secret(name));
                if declared || built_in {
                    found.insert(name, value);
                }
            }
        }
        found
    }

    /// Names and value hashes of the variables that go into the key of `def`:
    /// its `env`, the workspace's `global-env`, and for cargo tasks what cargo
    /// compiles with. A declared variable that is unset is recorded as such.
    /// The hashes are of the bare values, so that keys agree between machines;
    /// `plan` salts them before anything is shown or stored (see env_salt.rs).
    pub fn hashed(&self, def: &TaskDef, global_env: &[String]) -> BTreeMap<String, String> {
        let patterns: Vec<String> = def.env.iter().chain(global_env).cloned().collect();
        let sets: Vec<&NameList> = match def.action {
            Action::Cargo(_) => vec![&self.cargo],
            _ => vec![],
        };
        let mut hashed: BTreeMap<String, String> = patterns
            .iter()
            .filter(|p| !p.contains('*') && self.secrecy(p) != Secrecy::Own)
            .map(|p| (p.to_string(), UNSET.to_string()))
            .collect();
        // A token in cargo's variables (CARGO_REGISTRY_TOKEN) does not change
        // what cargo builds: it is passed, not hashed.
        for (name, value) in self.matching(&patterns, &sets, false) {
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
        let patterns: Vec<String> = def
            .env
            .iter()
            .chain(&def.pass_env)
            .chain(global_env)
            .cloned()
            .collect();
        match mode {
            EnvMode::Loose => {
                let named = self.matching(&patterns, &[], false);
                self.vars
                    .iter()
                    .filter(|&(name, _)| match self.secrecy(name) {
                        Secrecy::Own => false,
                        Secrecy::OnlyWhenNamed => named.contains_key(name),
                        Secrecy::Other => true,
                    })
                    .filter_map(keep)
                    .collect()
            }
            EnvMode::Strict => {
                let mut found = self.matching(&patterns, &[&self.base], false);
                if matches!(def.action, Action::Cargo(_)) {
                    // Cargo needs its registry tokens to download.
                    found.extend(self.matching(&[], &[&self.cargo], true));
                }
                found.into_iter().filter_map(keep).collect()
            }
        }
    }

    /// The tool's own secrets that `def` declares: they never reach it, and
    /// the user should hear why.
    pub fn withheld_declarations<'d>(
        &self,
        def: &'d TaskDef,
        global_env: &'d [String],
    ) -> Vec<&'d str> {
        def.env
            .iter()
            .chain(&def.pass_env)
            .chain(global_env)
            .map(String::as_str)
            .filter(|name| self.secrecy(name) == Secrecy::Own)
            .collect()
    }
}

/// A built-in list of names and `PREFIX*` patterns, matched without a glob
/// set: compiling three glob sets was a tenth of a small warm run.
struct NameList(&'static [&'static str]);

impl NameList {
    fn is_match(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
    }
}

/// What a declared variable that is not set hashes as.
pub const UNSET: &str = "<unset>";

fn glob_set<S: AsRef<str>>(patterns: &[S]) -> GlobSet {
    GlobSet::new(
        patterns
            .iter()
            .filter_map(|pattern| Glob::new(pattern.as_ref()).ok()),
    )
}

/// Of the variables `cargo run` sets for us, these are also the user's own
/// settings and must reach commands (a custom cargo home, a pinned toolchain).
const OWN_BUT_PASSED: &[&str] = &["CARGO_HOME", "RUSTUP_TOOLCHAIN", "CARGO_TERM_COLOR"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_lists_match_as_their_globs_would() {
        let names = [
            "PATH",
            "PATHX",
            "LC_ALL",
            "LC",
            "GITHUB_SHA",
            "CARGO_PKG_NAME",
            "CARGO",
            "CARGOX",
            "RUSTC_WRAPPER",
            "RUSTC",
            "XRUSTC",
            "CC",
            "CCX",
            "",
        ];
        for list in [BASE_PASSTHROUGH, CARGO_HASHED, OWN_CARGO_VARS] {
            for pattern in list {
                let stem = pattern.strip_suffix('*').unwrap_or(pattern);
                assert!(
                    !stem.contains(['*', '?', '[', '{']),
                    "{pattern}: only exact names and a trailing `*` match without a glob"
                );
            }
            let globs = glob_set(list);
            for name in names {
                assert_eq!(
                    NameList(list).is_match(name),
                    globs.is_match(name),
                    "{name}"
                );
            }
        }
    }

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
        assert_eq!(hashed["MISSING"], UNSET);
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

    fn cargo_task(pass_env: &[&str]) -> TaskDef {
        TaskDef {
            action: Action::Cargo(xtask_config::CargoKind::Build),
            ..shell_task(&[], pass_env)
        }
    }

    /// Every secret the tool or CI may hold, plus harmless neighbours.
    const SECRETS: &[(&str, &str)] = &[
        ("PATH", "/bin"),
        ("GITHUB_SHA", "abc"),
        ("GITHUB_TOKEN", "ghs_token"),
        ("GITHUB_APP_PRIVATE_KEY", "pem"),
        ("GH_TOKEN", "gh"),
        ("TURBO_TOKEN", "turbo"),
        ("XTASK_REMOTE_CACHE_TOKEN", "xtask-token"),
        ("XTASK_REMOTE_CACHE_SIGNATURE_KEY", "signing"),
        ("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "turbo-signing"),
        ("AWS_SECRET_ACCESS_KEY", "aws"),
        ("AZURE_STORAGE_ACCOUNT_KEY", "azure"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/gcp.json"),
        ("CARGO_REGISTRY_TOKEN", "crates"),
        ("MY_OWN", "mine"),
    ];

    #[test]
    fn secrets_reach_a_task_only_as_the_table_says() {
        let env = Environment::from_pairs(SECRETS);
        let names = |vars: Vec<(OsString, OsString)>| -> Vec<String> {
            vars.into_iter()
                .map(|(k, _)| k.into_string().unwrap())
                .collect()
        };
        let all_named = [
            "GITHUB_TOKEN",
            "TURBO_TOKEN",
            "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GH_TOKEN",
        ];
        let cases: &[(&str, TaskDef, EnvMode, &[&str])] = &[
            (
                "strict, nothing declared: no token, even from GITHUB_*",
                shell_task(&[], &[]),
                EnvMode::Strict,
                &["GITHUB_SHA", "PATH"],
            ),
            (
                "strict, named: CI tokens and cloud credentials pass, our own never",
                shell_task(&[], &all_named),
                EnvMode::Strict,
                &[
                    "AWS_SECRET_ACCESS_KEY",
                    "GH_TOKEN",
                    "GITHUB_SHA",
                    "GITHUB_TOKEN",
                    "PATH",
                ],
            ),
            (
                "strict, a wildcard names no secret",
                shell_task(&["AWS_*"], &["GITHUB_*", "*TOKEN*"]),
                EnvMode::Strict,
                &[
                    "CARGO_REGISTRY_TOKEN",
                    "GITHUB_APP_PRIVATE_KEY",
                    "GITHUB_SHA",
                    "PATH",
                ],
            ),
            (
                "strict cargo task: its registry token, nothing else",
                cargo_task(&[]),
                EnvMode::Strict,
                &["CARGO_REGISTRY_TOKEN", "GITHUB_SHA", "PATH"],
            ),
            (
                "loose: everything but CI tokens, cloud credentials and our own",
                shell_task(&[], &[]),
                EnvMode::Loose,
                &[
                    "CARGO_REGISTRY_TOKEN",
                    "GITHUB_APP_PRIVATE_KEY",
                    "GITHUB_SHA",
                    "MY_OWN",
                    "PATH",
                ],
            ),
            (
                "loose, named: as strict, our own never",
                shell_task(
                    &["GITHUB_TOKEN"],
                    &["TURBO_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS"],
                ),
                EnvMode::Loose,
                &[
                    "CARGO_REGISTRY_TOKEN",
                    "GITHUB_APP_PRIVATE_KEY",
                    "GITHUB_SHA",
                    "GITHUB_TOKEN",
                    "GOOGLE_APPLICATION_CREDENTIALS",
                    "MY_OWN",
                    "PATH",
                ],
            ),
        ];
        for (what, def, mode, expected) in cases {
            assert_eq!(names(env.for_command(def, *mode, &[])), *expected, "{what}");
        }
        // Declared in global-env works like declared in the task.
        assert!(
            names(env.for_command(&shell_task(&[], &[]), EnvMode::Strict, &["GH_TOKEN".into()]))
                .contains(&"GH_TOKEN".to_string())
        );
    }

    #[test]
    fn our_own_secrets_are_never_hashed_and_declaring_them_is_reported() {
        let env = Environment::from_pairs(SECRETS);
        let def = shell_task(
            &["TURBO_TOKEN", "GITHUB_TOKEN", "AWS_*"],
            &["TURBO_REMOTE_CACHE_SIGNATURE_KEY"],
        );
        let hashed = env.hashed(&def, &[]);
        assert_eq!(hashed.keys().collect::<Vec<_>>(), ["GITHUB_TOKEN"]);
        assert_eq!(
            env.withheld_declarations(&def, &[]),
            ["TURBO_TOKEN", "TURBO_REMOTE_CACHE_SIGNATURE_KEY"]
        );
        let cargo = env.hashed(&cargo_task(&[]), &[]);
        assert!(!cargo.contains_key("CARGO_REGISTRY_TOKEN"), "{cargo:?}");
    }
}
