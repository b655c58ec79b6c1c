//! Finding the files a task produced, from its `outputs` globs.
//!
//! Outputs are usually ignored by git, so this walk ignores no file; it starts
//! at each glob's literal prefix (`dist/**` walks `dist/` only) so that an
//! output pattern never makes us walk `target/`.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};
use xtask_config::split_root_prefix;

/// Workspace-relative paths of the files and symlinks matching `outputs`
/// (relative to `package_dir`, or to the root with `$TURBO_ROOT$/`), sorted.
pub fn collect(root: &Path, package_dir: &str, outputs: &[String]) -> Vec<PathBuf> {
    let mut include = GlobSetBuilder::new();
    let mut exclude = GlobSetBuilder::new();
    let mut bases = Vec::new();
    for output in outputs {
        let (negated, pattern) = match output.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, output.as_str()),
        };
        let (at_root, glob) = split_root_prefix(pattern);
        let anchored = match (at_root, package_dir.is_empty()) {
            (true, _) | (false, true) => glob.to_string(),
            (false, false) => format!("{package_dir}/{glob}"),
        };
        let Ok(compiled) = Glob::new(&anchored) else {
            continue;
        };
        if negated {
            exclude.add(compiled);
        } else {
            include.add(compiled);
            bases.push(literal_prefix(&anchored));
        }
    }
    let (Ok(include), Ok(exclude)) = (include.build(), exclude.build()) else {
        return Vec::new();
    };
    bases.sort();
    bases.dedup();
    // A base inside another base would be walked twice.
    let bases: Vec<&String> = bases
        .iter()
        .filter(|b| {
            !bases
                .iter()
                .any(|o| o != *b && xtask_graph::is_within(b, o))
        })
        .collect();

    let mut found = Vec::new();
    for base in bases {
        let start = if base.is_empty() {
            root.to_path_buf()
        } else {
            root.join(base)
        };
        let Ok(meta) = std::fs::symlink_metadata(&start) else {
            continue;
        };
        if !meta.is_dir() {
            if include.is_match(base) && !exclude.is_match(base) {
                found.push(PathBuf::from(base));
            }
            continue;
        }
        let walker = ignore::WalkBuilder::new(&start)
            .standard_filters(false)
            .follow_links(false)
            .build();
        for entry in walker.flatten() {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(root) else {
                continue;
            };
            let text = rel.to_string_lossy();
            if include.is_match(text.as_ref()) && !exclude.is_match(text.as_ref()) {
                found.push(rel.to_path_buf());
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The directory part of a glob before its first wildcard component.
fn literal_prefix(glob: &str) -> String {
    let literal: Vec<&str> = glob
        .split('/')
        .take_while(|component| !component.contains(['*', '?', '[', '{']))
        .collect();
    literal.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("pkg/dist/**"), "pkg/dist");
        assert_eq!(literal_prefix("pkg/.check.out"), "pkg/.check.out");
        assert_eq!(literal_prefix("**/*.o"), "");
        assert_eq!(literal_prefix("a/b*/c"), "a");
    }

    #[test]
    fn collects_matching_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("pkg/dist/sub")).unwrap();
        std::fs::write(root.join("pkg/dist/a.js"), "a").unwrap();
        std::fs::write(root.join("pkg/dist/sub/b.map"), "b").unwrap();
        std::fs::write(root.join("pkg/.check.out"), "ok").unwrap();
        std::fs::write(root.join("pkg/src.rs"), "x").unwrap();
        let outputs = vec![
            "dist/**".to_string(),
            "!dist/**/*.map".to_string(),
            ".check.out".to_string(),
        ];
        let found = collect(root, "pkg", &outputs);
        assert_eq!(
            found,
            vec![
                PathBuf::from("pkg/.check.out"),
                PathBuf::from("pkg/dist/a.js")
            ]
        );
    }
}
