//! `[workspace.metadata.xtask.release]`: checked into typed settings; an
//! unknown key or a bad value is an error naming the key and what it takes.

use std::path::{Path, PathBuf};

use crate::conventional::Impact;

/// How a release behaves; every field has a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseConfig {
    /// The branch releases are made from (hotfixes: any `release/x.y`).
    pub branch: String,
    /// What a commit that is not a conventional commit counts as.
    pub non_conventional: Impact,
    /// What a dependency's breaking release does to its dependents: `breaking`
    /// (Cargo's semver rules for a public dependency) or `patch`.
    pub dependency_breaking: Impact,
    /// The remote `--push` pushes to and whose URL links commits.
    pub remote: String,
    /// Overrides the web URL commit and issue links use.
    pub repository_url: Option<String>,
    /// Write CHANGELOG.md files.
    pub changelog: bool,
    /// The longest a `--publish` waits for a registry's retry-after, seconds.
    pub publish_max_wait_secs: u64,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            branch: "main".into(),
            non_conventional: Impact::Fix,
            dependency_breaking: Impact::Breaking,
            remote: "origin".into(),
            repository_url: None,
            changelog: true,
            publish_max_wait_secs: 600,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{manifest}: [workspace.metadata.xtask.release] {key}: {problem}\nhint: {hint}")]
pub struct ConfigError {
    pub manifest: PathBuf,
    pub key: String,
    pub problem: String,
    pub hint: String,
}

const KEYS: [&str; 7] = [
    "branch",
    "non-conventional",
    "dependency-breaking",
    "remote",
    "repository-url",
    "changelog",
    "publish-max-wait-secs",
];

impl ReleaseConfig {
    /// Reads the table (absent: the defaults). `manifest` is named in errors.
    pub fn from_table(table: Option<&toml::Table>, manifest: &Path) -> Result<Self, ConfigError> {
        let mut config = ReleaseConfig::default();
        let Some(table) = table else {
            return Ok(config);
        };
        let error = |key: &str, problem: String, hint: &str| ConfigError {
            manifest: manifest.to_path_buf(),
            key: key.to_string(),
            problem,
            hint: hint.to_string(),
        };
        for (key, value) in table {
            let text = || {
                value.as_str().map(str::to_string).ok_or_else(|| {
                    error(
                        key,
                        format!("expected a string, found {}", value.type_str()),
                        "quote the value",
                    )
                })
            };
            match key.as_str() {
                "branch" => config.branch = text()?,
                "remote" => config.remote = text()?,
                "repository-url" => config.repository_url = Some(text()?),
                "non-conventional" => {
                    let choices = [
                        ("patch", Impact::Fix),
                        ("minor", Impact::Feature),
                        ("none", Impact::None),
                    ];
                    config.non_conventional = choose(&text()?, &choices)
                        .map_err(|(problem, hint)| error(key, problem, &hint))?;
                }
                "dependency-breaking" => {
                    let choices = [("breaking", Impact::Breaking), ("patch", Impact::Fix)];
                    config.dependency_breaking = choose(&text()?, &choices)
                        .map_err(|(problem, hint)| error(key, problem, &hint))?;
                }
                "changelog" => {
                    config.changelog = value.as_bool().ok_or_else(|| {
                        error(
                            key,
                            format!("expected true or false, found {}", value.type_str()),
                            "write changelog = false to skip CHANGELOG.md",
                        )
                    })?
                }
                "publish-max-wait-secs" => {
                    config.publish_max_wait_secs = value
                        .as_integer()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| {
                            error(
                                key,
                                format!("expected a number of seconds, found {value}"),
                                "e.g. publish-max-wait-secs = 600",
                            )
                        })?
                }
                other => {
                    return Err(error(
                        other,
                        "unknown key".into(),
                        &format!("known keys: {}", KEYS.join(", ")),
                    ));
                }
            }
        }
        Ok(config)
    }
}

/// The value `word` names among `choices`, or (problem, hint).
fn choose<T: Copy>(word: &str, choices: &[(&str, T)]) -> Result<T, (String, String)> {
    choices
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = choices
                .iter()
                .map(|(name, _)| format!("\"{name}\""))
                .collect();
            (
                format!("unknown value `{word}`"),
                format!("use {}", names.join(" or ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ReleaseConfig, String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        ReleaseConfig::from_table(Some(&table), Path::new("Cargo.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn values_and_errors() {
        let c = parse("branch = \"trunk\"\nnon-conventional = \"none\"\ndependency-breaking = \"patch\"\nchangelog = false").unwrap();
        assert_eq!(c.branch, "trunk");
        assert_eq!(c.non_conventional, Impact::None);
        assert_eq!(c.dependency_breaking, Impact::Fix);
        assert!(!c.changelog);
        assert_eq!(
            parse("non-conventional = \"major\"").unwrap_err(),
            "Cargo.toml: [workspace.metadata.xtask.release] non-conventional: unknown value `major`\nhint: use \"patch\" or \"minor\" or \"none\""
        );
        assert!(
            parse("brnach = \"x\"")
                .unwrap_err()
                .contains("brnach: unknown key")
        );
        assert!(
            parse("changelog = \"yes\"")
                .unwrap_err()
                .contains("expected true or false")
        );
    }
}
