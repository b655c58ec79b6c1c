//! Finding the files a task produced, from its `outputs` globs, and telling
//! a restore which paths it may write (`OutputGlobs`).
//!
//! Outputs are usually ignored by git, so this walk ignores no file; it starts
//! at each glob's literal prefix (`dist/**` walks `dist/` only) so that an
//! output pattern never makes us walk `target/`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use xtask_config::{Anchor, PathGlob};
use xtask_glob::GlobSet;

use crate::glob_sets;

/// A task's `outputs` globs, relative to its package directory (or to the
/// root with `$TURBO_ROOT$/`) and compiled: what `collect` stores and what a
/// restore may write. Both sides use this one matcher, so an entry can only
/// bring back what the task could have stored.
pub struct OutputGlobs {
    /// Where package-relative globs start: a path below it is matched
    /// without this prefix, so every package with the same `outputs` shares
    /// one compiled set (and a `[` in a directory name stays a literal).
    package_dir: String,
    package: Sides,
    root: Sides,
    /// The literal directory prefix of each positive glob: where to walk.
    bases: Vec<String>,
}

/// The positive and the negated globs of one anchor.
struct Sides {
    include: Patterns,
    exclude: Patterns,
}

/// Globs as a glob set, except those without a wildcard, which are kept as
/// the one path each matches: most outputs are plain paths.
#[derive(Clone)]
pub(crate) struct Patterns {
    literal: Vec<String>,
    globs: Arc<GlobSet>,
}

impl Patterns {
    pub(crate) fn nothing() -> Patterns {
        Patterns {
            literal: Vec::new(),
            globs: Arc::new(GlobSet::empty()),
        }
    }

    /// The package-relative outputs among `outputs` (not negated ones), for
    /// leaving a package's outputs out of its default inputs.
    pub(crate) fn package_outputs<'a>(outputs: impl IntoIterator<Item = &'a PathGlob>) -> Patterns {
        let mut builder = PatternsBuilder::default();
        for output in outputs {
            if output.anchor() == Anchor::Package && !output.is_negated() {
                builder.add(output.pattern());
            }
        }
        // Each compiled once already (as a `PathGlob`): cannot fail.
        builder.build().unwrap_or_else(|_| Patterns::nothing())
    }

    pub(crate) fn is_match(&self, rel: &Path) -> bool {
        let bytes = rel.as_os_str().as_encoded_bytes();
        // An empty set still builds its match candidate (allocations).
        self.literal.iter().any(|path| path.as_bytes() == bytes)
            || (!self.globs.is_empty() && self.globs.is_match(rel))
    }
}

/// Whether a glob matches only itself: globset gives these characters a
/// meaning (`\` escapes the next one), every other byte matches itself.
fn is_literal(glob: &str) -> bool {
    !glob.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

/// Collects one side of the outputs (positive or negated).
#[derive(Default)]
struct PatternsBuilder {
    literal: Vec<String>,
    globs: Vec<String>,
}

impl PatternsBuilder {
    fn add(&mut self, glob: &str) {
        if is_literal(glob) {
            self.literal.push(glob.to_string());
        } else {
            self.globs.push(glob.to_string());
        }
    }

    fn build(self) -> Result<Patterns, xtask_glob::Error> {
        Ok(Patterns {
            literal: self.literal,
            globs: glob_sets::compiled(self.globs)?,
        })
    }
}

impl Sides {
    fn build(include: PatternsBuilder, exclude: PatternsBuilder) -> Option<Sides> {
        Some(Sides {
            include: include.build().ok()?,
            exclude: exclude.build().ok()?,
        })
    }

    fn nothing() -> Sides {
        Sides {
            include: Patterns::nothing(),
            exclude: Patterns::nothing(),
        }
    }
}

impl OutputGlobs {
    pub fn new(package_dir: &str, outputs: &[PathGlob]) -> OutputGlobs {
        let mut package = (PatternsBuilder::default(), PatternsBuilder::default());
        let mut root = (PatternsBuilder::default(), PatternsBuilder::default());
        let mut bases = Vec::new();
        for output in outputs {
            let glob = output.pattern();
            let (side, anchored) = match (output.anchor(), package_dir.is_empty()) {
                (Anchor::Root, _) => (&mut root, glob.to_string()),
                (Anchor::Package, true) => (&mut package, glob.to_string()),
                (Anchor::Package, false) => (&mut package, format!("{package_dir}/{glob}")),
            };
            if output.is_negated() {
                side.1.add(glob);
            } else {
                side.0.add(glob);
                bases.push(literal_prefix(&anchored));
            }
        }
        match (
            Sides::build(package.0, package.1),
            Sides::build(root.0, root.1),
        ) {
            (Some(package), Some(root)) => OutputGlobs {
                package_dir: package_dir.to_string(),
                package,
                root,
                bases,
            },
            // Matches nothing: nothing stored, nothing restored.
            _ => OutputGlobs {
                package_dir: String::new(),
                package: Sides::nothing(),
                root: Sides::nothing(),
                bases: Vec::new(),
            },
        }
    }

    /// Whether the workspace-relative `rel` is one of the outputs.
    pub fn matches(&self, rel: &Path) -> bool {
        let below = if self.package_dir.is_empty() {
            Some(rel)
        } else {
            // The package directory itself is no output (`**` matches "").
            rel.strip_prefix(&self.package_dir)
                .ok()
                .filter(|below| !below.as_os_str().is_empty())
        };
        let side = |sides: fn(&Sides) -> &Patterns| {
            sides(&self.root).is_match(rel)
                || below.is_some_and(|p| sides(&self.package).is_match(p))
        };
        side(|s| &s.include) && !side(|s| &s.exclude)
    }

    /// Whether a path an entry's meta lists (text from the cache, so hostile)
    /// is plainly one of the outputs: relative, no `..`, no `.git`, matching.
    /// (`**` matches `..` too, so the shape is checked first.)
    pub fn allows_listed(&self, listed: &str) -> bool {
        let path = Path::new(listed);
        let plain = path.components().all(|c| match c {
            Component::Normal(name) => !name.as_encoded_bytes().eq_ignore_ascii_case(b".git"),
            _ => false,
        });
        plain && self.matches(path)
    }
}

impl xtask_cache::OutputFilter for OutputGlobs {
    fn allows(&self, rel: &Path) -> bool {
        self.matches(rel)
    }
}

/// Workspace-relative paths of the files and symlinks matching `outputs`
/// (relative to `package_dir`, or to the root with `$TURBO_ROOT$/`), sorted.
pub fn collect(root: &Path, package_dir: &str, outputs: &[PathGlob]) -> Vec<PathBuf> {
    let globs = OutputGlobs::new(package_dir, outputs);
    let mut bases = globs.bases.clone();
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
            if globs.matches(Path::new(base)) {
                found.push(PathBuf::from(base));
            }
            continue;
        }
        for file in files_below(start) {
            let Ok(rel) = file.strip_prefix(root) else {
                continue;
            };
            if globs.matches(rel) {
                found.push(rel.to_path_buf());
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Every entry below `dir` that is not a directory (symlinks are not
/// followed, so a link to a directory is an entry). Unreadable directories
/// are skipped: what cannot be read cannot be stored.
fn files_below(dir: PathBuf) -> Vec<PathBuf> {
    let (mut files, mut pending) = (Vec::new(), vec![dir]);
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry.path()),
                Ok(_) => files.push(entry.path()),
                Err(_) => {}
            }
        }
    }
    files
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

    fn globs(texts: &[&str]) -> Vec<PathGlob> {
        texts.iter().map(|t| PathGlob::parse(t).unwrap()).collect()
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("pkg/dist/**"), "pkg/dist");
        assert_eq!(literal_prefix("pkg/.check.out"), "pkg/.check.out");
        assert_eq!(literal_prefix("**/*.o"), "");
        assert_eq!(literal_prefix("a/b*/c"), "a");
    }

    #[test]
    fn restores_match_what_collect_stores() {
        let outputs = globs(&[
            "dist/**",
            "!dist/**/*.map",
            ".check.out",
            "$TURBO_ROOT$/shared/gen.rs",
        ]);
        let globs = OutputGlobs::new("pkg", &outputs);
        for (path, expected) in [
            ("pkg/dist/a.js", true),
            ("pkg/dist/sub/b.js", true),
            ("pkg/dist/sub/b.map", false),
            ("pkg/.check.out", true),
            ("shared/gen.rs", true),
            ("pkg/src/lib.rs", false),
            ("other/dist/a.js", false),
            (".git/hooks/pre-commit", false),
        ] {
            assert_eq!(globs.matches(Path::new(path)), expected, "{path}");
            assert_eq!(globs.allows_listed(path), expected, "{path}");
        }
        // `**` matches these; a listed path must also be plain.
        for listed in [
            "pkg/dist/../../etc/passwd",
            "pkg/dist/.git/config",
            "/pkg/dist/a",
        ] {
            assert!(!globs.allows_listed(listed), "{listed}");
        }
        assert!(globs.matches(Path::new("pkg/dist/../../etc/passwd")));
    }

    #[test]
    fn packages_with_the_same_outputs_share_one_compiled_set() {
        let outputs = globs(&["dist/**", "!dist/**/*.map", "$TURBO_ROOT$/gen/*.rs"]);
        let a = OutputGlobs::new("crates/a", &outputs);
        let b = OutputGlobs::new("crates/b", &outputs);
        assert!(Arc::ptr_eq(
            &a.package.include.globs,
            &b.package.include.globs
        ));
        assert!(Arc::ptr_eq(&a.root.include.globs, &b.root.include.globs));
        assert!(a.matches(Path::new("crates/a/dist/x.js")));
        assert!(!a.matches(Path::new("crates/b/dist/x.js")));
        assert!(b.matches(Path::new("crates/b/dist/x.js")));
        assert!(!b.matches(Path::new("crates/b/dist/x.js.map")));
        assert!(a.matches(Path::new("gen/lib.rs")) && b.matches(Path::new("gen/lib.rs")));
        // `crates/ab` is not below `crates/a`.
        assert!(!a.matches(Path::new("crates/ab/dist/x.js")));
    }

    #[test]
    fn a_package_directory_is_a_literal_prefix_never_an_output() {
        let outputs = globs(&["**", "!keep/**"]);
        // Anchored by text, `[ab]` was a character class: `pkg-a/out` matched.
        let odd = OutputGlobs::new("pkg-[ab]", &outputs);
        assert!(odd.matches(Path::new("pkg-[ab]/out")));
        assert!(!odd.matches(Path::new("pkg-a/out")));
        assert!(!odd.matches(Path::new("pkg-[ab]/keep/x")));
        assert!(!odd.allows_listed("pkg-[ab]"));
        assert!(!odd.allows_listed("pkg-[ab]/"));
        // A negated package glob also excludes what a root glob includes.
        let crossed = OutputGlobs::new("pkg", &globs(&["$TURBO_ROOT$/pkg/**", "!tmp/**"]));
        assert!(crossed.matches(Path::new("pkg/a")));
        assert!(!crossed.matches(Path::new("pkg/tmp/a")));
    }

    #[test]
    fn a_plain_path_matches_what_its_compiled_glob_matches() {
        let patterns = [
            "pkg/.check.out",
            "pkg/out",
            ".check.out",
            "pkg/a b/c.txt",
            "pkg/ünï.txt",
            "pkg/dir/",
            "pkg/a.b",
        ];
        let candidates = [
            "pkg/.check.out",
            "pkg/.check.outx",
            "pkg/./.check.out",
            "pkg//.check.out",
            "./pkg/.check.out",
            "pkg/.check.out/",
            "PKG/.check.out",
            "pkg/out",
            "pkg/out/file",
            "other/pkg/out",
            ".check.out",
            "pkg/a b/c.txt",
            "pkg/ünï.txt",
            "pkg/dir",
            "pkg/dir/",
            "pkg/a.b",
            "pkg/axb",
        ];
        for pattern in patterns {
            assert!(is_literal(pattern), "{pattern}");
            let mut fast = PatternsBuilder::default();
            fast.add(pattern);
            let fast = fast.build().unwrap();
            let compiled = globset::GlobSetBuilder::new()
                .add(globset::Glob::new(pattern).unwrap())
                .build()
                .unwrap();
            for candidate in candidates {
                let path = Path::new(candidate);
                assert_eq!(
                    fast.is_match(path),
                    compiled.is_match(path),
                    "{pattern} against {candidate}"
                );
            }
        }
        for glob in ["a/*", "a?", "[ab]", "{a,b}", "a\\*", "**"] {
            assert!(!is_literal(glob), "{glob}");
        }
    }

    #[test]
    fn package_outputs_match_what_the_glob_set_of_them_matched() {
        let outputs = globs(&[
            ".check.out",
            "dist/**",
            "!dist/keep",
            "$TURBO_ROOT$/root.txt",
            "a b.txt",
        ]);
        // The matcher this replaces: every package-relative, positive output.
        let mut before = globset::GlobSetBuilder::new();
        for output in &outputs {
            if output.anchor() == Anchor::Package && !output.is_negated() {
                before.add(globset::Glob::new(output.pattern()).unwrap());
            }
        }
        let before = before.build().unwrap();
        let now = Patterns::package_outputs(&outputs);
        for candidate in [
            ".check.out",
            "src/.check.out",
            ".check.outx",
            "./.check.out",
            "dist/a.js",
            "dist/keep",
            "root.txt",
            "a b.txt",
            "src/lib.rs",
        ] {
            let path = Path::new(candidate);
            assert_eq!(now.is_match(path), before.is_match(path), "{candidate}");
        }
        assert!(!Patterns::package_outputs(&[]).is_match(Path::new(".check.out")));
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
        let outputs = globs(&["dist/**", "!dist/**/*.map", ".check.out"]);
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
