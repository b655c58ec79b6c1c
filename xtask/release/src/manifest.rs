//! Cargo.toml edits that keep the file as written (comments, order, layout):
//! a package's version, `workspace.package.version`, and the version
//! requirements on released workspace packages. Text in, text out.

use semver::{Version, VersionReq};
use toml_edit::{DocumentMut, Item, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{file} is not valid TOML: {message}")]
    Parse { file: String, message: String },
    #[error("{file} has no {key} to set\nhint: {hint}")]
    Missing {
        file: String,
        key: String,
        hint: String,
    },
}

/// What a release needs to know about a package manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFacts {
    /// `version.workspace = true`.
    pub version_from_workspace: bool,
    /// False for `publish = false` (or `publish = []`), also when inherited.
    pub publish: bool,
}

fn parse(text: &str, file: &str) -> Result<DocumentMut, ManifestError> {
    text.parse::<DocumentMut>()
        .map_err(|e| ManifestError::Parse {
            file: file.to_string(),
            message: e.to_string().trim().to_string(),
        })
}

/// Reads `[package]`'s `version` and `publish`, following `workspace = true`
/// into `root` (the root manifest's text).
pub fn facts(text: &str, file: &str, root: &str) -> Result<ManifestFacts, ManifestError> {
    let doc = parse(text, file)?;
    let package = doc.get("package");
    let inherits = |key: &str| {
        package
            .and_then(|p| p.get(key))
            .and_then(|v| v.get("workspace"))
            .and_then(Item::as_bool)
            .unwrap_or(false)
    };
    let publish_item = if inherits("publish") {
        let root = parse(root, "Cargo.toml")?;
        root.get("workspace")
            .and_then(|w| w.get("package"))
            .and_then(|p| p.get("publish"))
            .cloned()
    } else {
        package.and_then(|p| p.get("publish")).cloned()
    };
    let publish = match publish_item {
        None => true,
        Some(item) => match item.as_value() {
            Some(Value::Boolean(b)) => *b.value(),
            Some(Value::Array(a)) => !a.is_empty(),
            _ => true,
        },
    };
    Ok(ManifestFacts {
        version_from_workspace: inherits("version"),
        publish,
    })
}

/// Sets `[package] version` (a package that does not inherit it).
pub fn set_package_version(
    text: &str,
    file: &str,
    version: &Version,
) -> Result<String, ManifestError> {
    set_version(text, file, "package", version)
}

/// Sets `[workspace.package] version` in the root manifest.
pub fn set_workspace_version(
    text: &str,
    file: &str,
    version: &Version,
) -> Result<String, ManifestError> {
    set_version(text, file, "workspace.package", version)
}

fn set_version(
    text: &str,
    file: &str,
    table: &str,
    version: &Version,
) -> Result<String, ManifestError> {
    let mut doc = parse(text, file)?;
    let mut item = doc.as_item_mut();
    for key in table.split('.') {
        item = match item.get_mut(key) {
            Some(next) => next,
            None => return Err(missing(file, table)),
        };
    }
    let slot = item
        .get_mut("version")
        .filter(|v| v.is_str())
        .ok_or_else(|| missing(file, table))?;
    set_string(slot, &version.to_string());
    Ok(doc.to_string())
}

fn missing(file: &str, table: &str) -> ManifestError {
    ManifestError::Missing {
        file: file.to_string(),
        key: format!("[{table}] version"),
        hint: "add `version = \"x.y.z\"` there (or `version.workspace = true` in a member)".into(),
    }
}

/// Replaces a string value, keeping its surrounding whitespace and comments.
fn set_string(slot: &mut Item, value: &str) {
    let decor = slot.as_value().map(|v| v.decor().clone());
    let mut new = Value::from(value);
    if let Some(decor) = decor {
        *new.decor_mut() = decor;
    }
    *slot = Item::Value(new);
}

/// Moves every path dependency on `package` to require `version` — in all
/// dependency tables, target-specific ones and `[workspace.dependencies]`.
/// A requirement keeps its operator (`=`, `~`, `^`, `>=`); one that is a range
/// (`>=1, <3`) is left alone while it still accepts `version`. Returns the
/// new text and whether anything changed.
pub fn set_requirements(
    text: &str,
    file: &str,
    package: &str,
    version: &Version,
) -> Result<(String, bool), ManifestError> {
    let mut doc = parse(text, file)?;
    let mut changed = false;
    let root = doc.as_table_mut();
    for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(table) = root.get_mut(kind).and_then(Item::as_table_like_mut) {
            changed |= update_table(table, package, version);
        }
    }
    if let Some(targets) = root.get_mut("target").and_then(Item::as_table_like_mut) {
        for (_, target) in targets.iter_mut() {
            for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(table) = target.get_mut(kind).and_then(Item::as_table_like_mut) {
                    changed |= update_table(table, package, version);
                }
            }
        }
    }
    if let Some(table) = root
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(Item::as_table_like_mut)
    {
        changed |= update_table(table, package, version);
    }
    Ok((doc.to_string(), changed))
}

fn update_table(table: &mut dyn toml_edit::TableLike, package: &str, version: &Version) -> bool {
    let mut changed = false;
    for (key, item) in table.iter_mut() {
        let Some(dep) = item.as_table_like_mut() else {
            continue; // `name = "1.0"`: a registry dependency, not the member
        };
        let real = dep
            .get("package")
            .and_then(Item::as_str)
            .unwrap_or(key.get());
        if real != package || dep.get("path").is_none() {
            continue;
        }
        let Some(slot) = dep.get_mut("version") else {
            continue;
        };
        let Some(old) = slot.as_str() else {
            continue;
        };
        if let Some(new) = new_requirement(old, version)
            && new != old
        {
            set_string(slot, &new);
            changed = true;
        }
    }
    changed
}

/// The requirement that takes `version`, written like `old`.
fn new_requirement(old: &str, version: &Version) -> Option<String> {
    let old = old.trim();
    if old.contains(',') || old == "*" {
        let accepts = VersionReq::parse(old).is_ok_and(|r| r.matches(version));
        return (!accepts).then(|| version.to_string());
    }
    let operator: String = old.chars().take_while(|c| "=^~<>".contains(*c)).collect();
    if operator.starts_with('<') {
        return Some(version.to_string());
    }
    Some(format!("{operator}{version}"))
}

/// Workspace packages named in `[dev-dependencies]` (target ones too) with
/// a version requirement: cargo publish keeps those, so they must be on the
/// registry first.
pub fn versioned_dev_dependencies(text: &str, file: &str) -> Result<Vec<String>, ManifestError> {
    let doc = parse(text, file)?;
    let mut tables: Vec<&Item> = doc.get("dev-dependencies").into_iter().collect();
    if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
        tables.extend(
            targets
                .iter()
                .filter_map(|(_, t)| t.get("dev-dependencies")),
        );
    }
    let mut names = Vec::new();
    for table in tables.into_iter().filter_map(Item::as_table_like) {
        for (key, dep) in table.iter() {
            let Some(dep) = dep.as_table_like() else {
                continue;
            };
            if dep.get("path").is_some() && dep.get("version").is_some() {
                names.push(
                    dep.get("package")
                        .and_then(Item::as_str)
                        .unwrap_or(key)
                        .to_string(),
                );
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_set_keeping_layout() {
        let text = "[package]\nname = \"a\"  # the name\nversion = \"1.2.0\" # bumped by release\n\n[dependencies]\n";
        let out = set_package_version(text, "a/Cargo.toml", &Version::new(2, 0, 0)).unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"a\"  # the name\nversion = \"2.0.0\" # bumped by release\n\n[dependencies]\n"
        );
        let err = set_package_version(
            "[package]\nversion.workspace = true\n",
            "b/Cargo.toml",
            &Version::new(1, 0, 0),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("b/Cargo.toml has no [package] version to set"),
            "{err}"
        );
        let root = "[workspace]\nmembers = []\n\n[workspace.package]\nversion = \"0.3.1\"\n";
        assert!(
            set_workspace_version(root, "Cargo.toml", &Version::new(0, 4, 0))
                .unwrap()
                .contains("version = \"0.4.0\"")
        );
    }

    #[test]
    fn requirements_follow_path_dependencies_only() {
        let text = r#"[dependencies]
a = { path = "../a", version = "1.2" }
renamed = { package = "a", path = "../a", version = "=1.2.0", features = ["x"] }
registry-a = { package = "a", version = "0.9" }
other = { path = "../other", version = "1" }

[dev-dependencies.a]
path = "../a"
version = ">=1.0, <3"

[target.'cfg(unix)'.build-dependencies]
a = { path = "../a", version = "~1.2.0" } # comment stays

[workspace.dependencies]
a = { path = "a", version = "1.2.0" }
"#;
        let (out, changed) =
            set_requirements(text, "Cargo.toml", "a", &Version::new(2, 0, 0)).unwrap();
        assert!(changed);
        assert_eq!(
            out,
            r#"[dependencies]
a = { path = "../a", version = "2.0.0" }
renamed = { package = "a", path = "../a", version = "=2.0.0", features = ["x"] }
registry-a = { package = "a", version = "0.9" }
other = { path = "../other", version = "1" }

[dev-dependencies.a]
path = "../a"
version = ">=1.0, <3"

[target.'cfg(unix)'.build-dependencies]
a = { path = "../a", version = "~2.0.0" } # comment stays

[workspace.dependencies]
a = { path = "a", version = "2.0.0" }
"#
        );
        let (_, changed) = set_requirements(
            "[dependencies]\na = { path = \"../a\" }\n",
            "x",
            "a",
            &Version::new(2, 0, 0),
        )
        .unwrap();
        assert!(!changed, "no version requirement: nothing to move");
    }

    #[test]
    fn versioned_dev_dependencies_are_found() {
        let text = "[dev-dependencies]\nkit = { path = \"../kit\", version = \"0.1\" }\nlocal = { path = \"../local\" }\n[target.'cfg(unix)'.dev-dependencies]\nu = { package = \"unix-kit\", path = \"../u\", version = \"1\" }\n";
        assert_eq!(
            versioned_dev_dependencies(text, "a").unwrap(),
            ["kit", "unix-kit"]
        );
    }

    #[test]
    fn facts_follow_inheritance() {
        let root = "[workspace.package]\nversion = \"1.0.0\"\npublish = false\n";
        let f = facts(
            "[package]\nname = \"a\"\nversion.workspace = true\npublish.workspace = true\n",
            "a",
            root,
        )
        .unwrap();
        assert_eq!(
            f,
            ManifestFacts {
                version_from_workspace: true,
                publish: false
            }
        );
        let f = facts(
            "[package]\nname = \"a\"\nversion = \"1.0.0\"\npublish = [\"mine\"]\n",
            "a",
            root,
        )
        .unwrap();
        assert_eq!(
            f,
            ManifestFacts {
                version_from_workspace: false,
                publish: true
            }
        );
        assert!(
            facts("[package\n", "a/Cargo.toml", root)
                .unwrap_err()
                .to_string()
                .starts_with("a/Cargo.toml is not valid TOML")
        );
    }
}
