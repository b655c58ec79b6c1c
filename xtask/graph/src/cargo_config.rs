//! Cargo's configuration in one `.cargo` directory, as a build sees it:
//! `config.toml` (or the old `config`) and every file its `include` key
//! names, followed the way cargo follows them (relative to the including
//! file, recursively, `optional` ones only when present).
//!
//! Each file is summarised by a digest of what can change a build: its keys
//! without `alias` (an alias names commands, it compiles nothing; the
//! launcher's fast path writes one with this checkout's absolute paths, which
//! must not make keys differ between machines) and without `include` (the
//! included files count on their own). A file left with no keys has no
//! digest: it configures no build, and whether it exists must not change a
//! key either (the fast path's file exists only after a first launch). A
//! file that is not valid TOML is digested as its bytes: cargo will refuse
//! it, and any edit is a change.

use std::path::{Path, PathBuf};

/// One configuration file and the digest of its build-relevant keys
/// (`None` when it has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub digest: Option<String>,
}

/// How deep includes may nest: cargo has no limit, but a chain longer than
/// this is a cycle through differently spelled paths, not a configuration.
const MAX_DEPTH: usize = 16;

/// The configuration files of the `.cargo` directory `dir`, the top-level
/// file first, then what it includes in order; none when it has none.
pub fn files_in(dir: &Path) -> Vec<ConfigFile> {
    let mut found = Vec::new();
    for name in ["config.toml", "config"] {
        follow(&dir.join(name), 0, &mut found);
    }
    found
}

fn follow(path: &Path, depth: usize, found: &mut Vec<ConfigFile>) {
    if depth > MAX_DEPTH || found.iter().any(|file| file.path == path) {
        return;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return; // absent: nothing to follow (a missing required include is cargo's error)
    };
    let table = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok());
    let Some(mut table) = table else {
        found.push(ConfigFile {
            path: path.to_path_buf(),
            digest: Some(blake3::hash(&bytes).to_hex().to_string()),
        });
        return;
    };
    let includes = table
        .remove("include")
        .map(included_paths)
        .unwrap_or_default();
    table.remove("alias");
    // `toml::Table` keeps its keys sorted, so equal settings written in
    // another order or with other comments give the same digest.
    let digest = (!table.is_empty()).then(|| {
        let canonical = toml::to_string(&table).unwrap_or_default();
        blake3::hash(canonical.as_bytes()).to_hex().to_string()
    });
    found.push(ConfigFile {
        path: path.to_path_buf(),
        digest,
    });
    let base = path.parent().unwrap_or(Path::new("."));
    for included in includes {
        // `components` drops the `.`s, so `./a.toml` is `a.toml`.
        let path: PathBuf = base.join(included).components().collect();
        follow(&path, depth + 1, found);
    }
}

/// The paths an `include` value names: a string, or an array of strings and
/// `{ path = "…", optional = … }` tables. Anything else names nothing.
fn included_paths(value: toml::Value) -> Vec<PathBuf> {
    let entries = match value {
        toml::Value::Array(entries) => entries,
        single => vec![single],
    };
    entries
        .into_iter()
        .filter_map(|entry| match entry {
            toml::Value::String(path) => Some(PathBuf::from(path)),
            toml::Value::Table(table) => table
                .get("path")
                .and_then(toml::Value::as_str)
                .map(PathBuf::from),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir()
                .join(format!("xtask-graph-config-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join(".cargo")).unwrap();
            Dir(dir)
        }

        fn write(&self, name: &str, text: &str) {
            let path = self.0.join(".cargo").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }

        fn files(&self) -> Vec<ConfigFile> {
            files_in(&self.0.join(".cargo"))
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn included_files_count_and_aliases_do_not() {
        let dir = Dir::new("includes");
        dir.write(
            "config.toml",
            "include = [\"flags.toml\", { path = \"local/alias.toml\", optional = true }, { path = \"absent.toml\", optional = true }]\n",
        );
        dir.write("flags.toml", "[build]\nrustflags = [\"-Cdebuginfo=1\"]\n");
        dir.write(
            "local/alias.toml",
            "[alias]\nxtask = \"run --manifest-path /home/a/x\"\n",
        );
        let files = dir.files();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.strip_prefix(&dir.0).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            [
                ".cargo/config.toml",
                ".cargo/flags.toml",
                ".cargo/local/alias.toml"
            ]
            .map(PathBuf::from)
        );

        // Only includes, only aliases: nothing that compiles.
        assert_eq!(files[0].digest, None);
        assert_eq!(files[2].digest, None);
        assert!(files[1].digest.is_some());
        // Another machine's alias: the same digests.
        dir.write(
            "local/alias.toml",
            "[alias]\nxtask = \"run --manifest-path /home/b/x\"\n",
        );
        assert_eq!(dir.files(), files);
        // A flag in an included file: a change.
        dir.write("flags.toml", "[build]\nrustflags = [\"-Cdebuginfo=2\"]\n");
        let changed = dir.files();
        assert_ne!(changed[1].digest, files[1].digest);
        assert_eq!(changed[0], files[0]);
        // Comments and key order are not settings.
        dir.write(
            "flags.toml",
            "# why\n[build]\n# debug info\nrustflags = [\"-Cdebuginfo=2\"]\n",
        );
        assert_eq!(dir.files(), changed);
    }

    #[test]
    fn cycles_and_broken_files_end_the_walk_without_hanging() {
        let dir = Dir::new("cycles");
        dir.write("config.toml", "include = \"a.toml\"\n");
        dir.write(
            "a.toml",
            "include = [\"config.toml\", \"./a.toml\", 7, \"b.toml\"]\n",
        );
        dir.write("b.toml", "this is [not toml");
        let files = dir.files();
        // config, a (`./a.toml` is the same path), b; `7` names nothing.
        assert_eq!(files.len(), 3, "{files:#?}");
        let broken = files.last().unwrap();
        assert_eq!(
            broken.digest,
            Some(blake3::hash(b"this is [not toml").to_hex().to_string())
        );
    }
}
