//! The configuration exactly as written in a manifest, before validation.
//!
//! Every table that belongs to us denies unknown keys, so a typo is an error
//! with a line number (the toml deserializer tracks spans) instead of a
//! silently ignored setting. Values that are checked later (globs, task
//! references, env names) keep their span so those errors can name a line too.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A whole Cargo.toml; only the parts we own are described.
#[derive(Deserialize, Default)]
pub(crate) struct ManifestDoc {
    #[serde(default)]
    pub workspace: Option<WorkspaceDoc>,
    #[serde(default)]
    pub package: Option<PackageDoc>,
}

#[derive(Deserialize, Default)]
pub(crate) struct WorkspaceDoc {
    #[serde(default)]
    pub metadata: Option<WorkspaceMetadataDoc>,
}

#[derive(Deserialize, Default)]
pub(crate) struct WorkspaceMetadataDoc {
    #[serde(default)]
    pub xtask: Option<RawWorkspaceConfig>,
}

#[derive(Deserialize, Default)]
pub(crate) struct PackageDoc {
    #[serde(default)]
    pub metadata: Option<PackageMetadataDoc>,
}

#[derive(Deserialize, Default)]
pub(crate) struct PackageMetadataDoc {
    #[serde(default)]
    pub xtask: Option<RawPackageConfig>,
}

/// `[workspace.metadata.xtask]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawWorkspaceConfig {
    #[serde(default)]
    pub global_inputs: Vec<Spanned<String>>,
    #[serde(default)]
    pub global_env: Vec<Spanned<String>>,
    #[serde(default)]
    pub env_mode: Option<Spanned<String>>,
    #[serde(default)]
    pub cache: Option<RawCacheConfig>,
    /// Validated by xtask-remote, which owns its keys.
    #[serde(default)]
    pub remote_cache: Option<toml::Table>,
    /// Validated by xtask-release, which owns its keys.
    #[serde(default)]
    pub release: Option<toml::Table>,
    #[serde(default)]
    pub tasks: BTreeMap<String, Spanned<RawTask>>,
}

/// `[workspace.metadata.xtask.cache]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCacheConfig {
    #[serde(default)]
    pub max_size: Option<Spanned<String>>,
    #[serde(default)]
    pub max_age: Option<Spanned<String>>,
}

/// `[package.metadata.xtask]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPackageConfig {
    #[serde(default)]
    pub tasks: BTreeMap<String, Spanned<RawTask>>,
}

/// One task table; every field optional so that a package can override only
/// what it names.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTask {
    pub command: Option<Spanned<String>>,
    pub depends_on: Option<Vec<Spanned<String>>>,
    pub inputs: Option<Vec<Spanned<String>>>,
    pub outputs: Option<Vec<Spanned<String>>>,
    pub env: Option<Vec<Spanned<String>>>,
    pub pass_env: Option<Vec<Spanned<String>>>,
    pub cache: Option<bool>,
    pub persistent: Option<bool>,
    /// Built-in cargo tasks only: extra arguments, profile and features.
    pub args: Option<Vec<String>>,
    pub profile: Option<String>,
    pub features: Option<Vec<String>>,
}
