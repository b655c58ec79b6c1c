//! Finding the workspace root from a directory inside it.

use std::path::{Path, PathBuf};

use crate::GraphError;

/// Walks up from `start` like Cargo does: the nearest `Cargo.toml` with a
/// `[workspace]` table is the root; without one, the nearest `Cargo.toml` is a
/// single-package workspace.
pub fn find_workspace_root(start: &Path) -> Result<PathBuf, GraphError> {
    let mut nearest = None;
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        let text = match std::fs::read_to_string(&manifest) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(GraphError::Io {
                    path: manifest,
                    source,
                });
            }
        };
        if declares_workspace(&text) {
            return Ok(dir.to_path_buf());
        }
        nearest.get_or_insert_with(|| dir.to_path_buf());
    }
    nearest.ok_or_else(|| GraphError::NoWorkspace {
        dir: start.to_path_buf(),
    })
}

/// A cheap textual check: parsing every ancestor manifest as TOML is not needed
/// to find the `[workspace]` header, and a broken manifest is reported later by
/// cargo with a better message.
fn declares_workspace(manifest: &str) -> bool {
    manifest.lines().any(|line| {
        let line = line.trim();
        line == "[workspace]" || line.starts_with("[workspace.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_header_is_recognised() {
        assert!(declares_workspace("[package]\nname='a'\n[workspace]\n"));
        assert!(declares_workspace("[workspace.dependencies]\n"));
        assert!(!declares_workspace("[package]\nname = 'workspace'\n"));
    }
}
