//! Finding the input files: a parallel, gitignore-aware walk, plus the
//! tracked files an ignore rule would hide (from git's index).

use std::path::Path;
use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use crate::HashError;
use crate::global_excludes::global_excludes_file;
use crate::stat_cache::FileStat;

pub(crate) struct Found {
    pub path: String,
    pub stat: FileStat,
    pub is_symlink: bool,
}

/// Below this many files (as the last run found them) one walker thread is
/// faster than several: at 255 files the parallel walk's thread starts and
/// idle workers' 1 ms sleeps cost more than they save (warm hit 6.7 → 6.0 ms),
/// while at 6,300 files two threads win (49 ms against 67 ms).
const ONE_THREAD_BELOW_FILES: usize = 512;

/// Lists the files git would consider: everything not excluded by
/// `.gitignore`, `.git/info/exclude` or the global excludes file, including
/// dotfiles, without following symlinks. `.git` and `skip` are not entered.
/// `files_last_time` (0: unknown) picks the number of walker threads.
pub(crate) fn walk(
    root: &Path,
    skip: &[String],
    files_last_time: usize,
) -> Result<Vec<Found>, HashError> {
    let threads = match files_last_time {
        1..ONE_THREAD_BELOW_FILES => 1,
        _ => 0, // the walker's default: one per core
    };
    let skip: Vec<std::path::PathBuf> = skip.iter().map(|s| root.join(s)).collect();
    let skip_walk = skip.clone();
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .ignore(false)
        .parents(true)
        .git_ignore(true)
        .git_exclude(true)
        // The global excludes file is added below as an explicit ignore
        // file: the same rules at the same (lowest) precedence, rooted at the
        // same directory, without the crate's regex for reading git config.
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && (entry.file_name() == ".git" || skip_walk.iter().any(|s| s == entry.path())))
        });
    if let Some(excludes) = global_excludes_file().filter(|path| path.is_file()) {
        // A partly unreadable file keeps the rules it could read, as the
        // crate's own global matcher does.
        let _ = builder.add_ignore(excludes);
    }
    let walker = builder.build_parallel();

    let collector = Collector {
        found: Mutex::new(Vec::new()),
        error: Mutex::new(None),
        root,
    };
    walker.visit(&mut VisitorBuilder {
        collector: &collector,
    });

    if let Some(source) = collector
        .error
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
    {
        return Err(HashError::Walk {
            path: root.to_path_buf(),
            source,
        });
    }
    let mut found = collector
        .found
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    add_tracked_but_ignored(root, &skip, &mut found);
    Ok(found)
}

/// Git never ignores a file it tracks: a nested `.gitignore` or
/// `.git/info/exclude` naming one does not take it out of the inputs.
fn add_tracked_but_ignored(root: &Path, skip: &[std::path::PathBuf], found: &mut Vec<Found>) {
    crate::git_index::with_tracked_paths(root, |tracked| {
        add_missing_tracked(root, skip, tracked, found);
    });
}

fn add_missing_tracked(
    root: &Path,
    skip: &[std::path::PathBuf],
    tracked: &[&str],
    found: &mut Vec<Found>,
) {
    if tracked.is_empty() {
        return;
    }
    // Both sorted (git's index already is, byte-wise; a file that says
    // otherwise is sorted here): one merge pass finds the tracked paths the
    // walk did not report, without hashing every path.
    let mut tracked = std::borrow::Cow::Borrowed(tracked);
    if !tracked.is_sorted() {
        tracked.to_mut().sort_unstable();
    }
    found.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let mut missing = Vec::new();
    let mut walked = found.iter().map(|f| f.path.as_str()).peekable();
    for &path in tracked.iter() {
        while walked.next_if(|w| *w < path).is_some() {}
        if walked.peek() == Some(&path) || path.split('/').any(|c| c == ".git" || c.is_empty()) {
            continue;
        }
        let abs = root.join(path);
        if skip.iter().any(|dir| abs.starts_with(dir)) {
            continue;
        }
        // Tracked but deleted from the work tree: not an input.
        let Ok(meta) = std::fs::symlink_metadata(&abs) else {
            continue;
        };
        let is_symlink = meta.file_type().is_symlink();
        if !meta.is_file() && !is_symlink {
            continue;
        }
        let mut stat = FileStat::from_metadata(&meta);
        if is_symlink {
            stat = stat.through_link(&abs);
        }
        missing.push(Found {
            path: path.to_owned(),
            stat,
            is_symlink,
        });
    }
    found.extend(missing);
}

/// `path`'s name relative to `root`, `/`-separated. The walker builds every
/// path as `root` joined with names, so the root is a byte prefix of it:
/// comparing bytes instead of `Path::strip_prefix`'s components took 7% of a
/// warm hit's instructions off at 300 crates. A path the byte check cannot
/// place (a root spelled with `.` or `//`) goes the component way.
fn relative_name(root: &Path, path: &Path) -> Option<String> {
    let root_bytes = root.as_os_str().as_encoded_bytes();
    let below = path
        .as_os_str()
        .as_encoded_bytes()
        .strip_prefix(root_bytes)
        .and_then(|rest| match root_bytes.last() {
            Some(b'/') => Some(rest),
            _ => rest.strip_prefix(b"/"),
        })
        .filter(|rest| !rest.is_empty() && !rest.starts_with(b"/") && !rest.starts_with(b"./"));
    let name = match below {
        // Encoded bytes are the path's own bytes on Unix: the same lossy
        // name `to_string_lossy` gives.
        Some(rest) => String::from_utf8_lossy(rest),
        None => {
            std::borrow::Cow::Owned(path.strip_prefix(root).ok()?.to_string_lossy().into_owned())
        }
    };
    Some(if name.contains('\\') {
        name.replace('\\', "/")
    } else {
        name.into_owned()
    })
}

/// Hands each walker thread its own buffer; buffers are merged when a thread
/// finishes, so the hot path takes no lock.
struct Collector<'r> {
    found: Mutex<Vec<Found>>,
    error: Mutex<Option<ignore::Error>>,
    root: &'r Path,
}

struct VisitorBuilder<'s, 'r> {
    collector: &'s Collector<'r>,
}

impl<'s, 'r> ParallelVisitorBuilder<'s> for VisitorBuilder<'s, 'r> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(ThreadVisitor {
            collector: self.collector,
            local: Vec::new(),
        })
    }
}

struct ThreadVisitor<'s, 'r> {
    collector: &'s Collector<'r>,
    local: Vec<Found>,
}

impl ParallelVisitor for ThreadVisitor<'_, '_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let mut slot = self
                    .collector
                    .error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(error);
                return WalkState::Quit;
            }
        };
        let Some(file_type) = entry.file_type() else {
            return WalkState::Continue;
        };
        let is_symlink = file_type.is_symlink();
        if !file_type.is_file() && !is_symlink {
            return WalkState::Continue; // directories, sockets, fifos: not inputs
        }
        let Some(rel) = relative_name(self.collector.root, entry.path()) else {
            return WalkState::Continue;
        };
        // Deleted between listing and stat: it is simply not an input.
        let Ok(meta) = entry.metadata() else {
            return WalkState::Continue;
        };
        let mut stat = FileStat::from_metadata(&meta);
        if is_symlink {
            stat = stat.through_link(entry.path());
        }
        self.local.push(Found {
            path: rel,
            stat,
            is_symlink,
        });
        WalkState::Continue
    }
}

impl Drop for ThreadVisitor<'_, '_> {
    fn drop(&mut self) {
        let mut found = self
            .collector
            .found
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        found.append(&mut self.local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_files_the_walk_missed_are_added_whatever_the_index_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in ["a.rs", "b/hidden.rs", "c.rs", "target/t.rs"] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let walked = |names: &[&str]| -> Vec<Found> {
            names
                .iter()
                .map(|name| Found {
                    path: (*name).to_owned(),
                    stat: FileStat::from_metadata(&std::fs::metadata(root.join(name)).unwrap()),
                    is_symlink: false,
                })
                .collect()
        };
        let skip = [root.join("target")];
        // Sorted as git writes it, and shuffled as a damaged or hostile index
        // might be; deleted, skipped and `.git` paths stay out.
        for tracked in [
            [
                "a.rs",
                "b/hidden.rs",
                "c.rs",
                "gone.rs",
                "target/t.rs",
                ".git/x",
            ],
            [
                "target/t.rs",
                "c.rs",
                ".git/x",
                "gone.rs",
                "b/hidden.rs",
                "a.rs",
            ],
        ] {
            let mut found = walked(&["c.rs", "a.rs"]);
            add_missing_tracked(root, &skip, &tracked, &mut found);
            let mut names: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
            names.sort();
            assert_eq!(names, ["a.rs", "b/hidden.rs", "c.rs"], "{tracked:?}");
        }
    }

    fn paths(root: &Path, files_last_time: usize) -> Vec<String> {
        let mut found: Vec<String> = walk(root, &["target".to_owned()], files_last_time)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        found.sort();
        found
    }

    #[test]
    fn one_walker_thread_finds_what_several_find() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            (".gitignore", "*.log\n/out/\n"),
            ("src/lib.rs", ""),
            ("src/deep/a/b/c.rs", ""),
            ("src/deep/.gitignore", "c.rs\n"),
            ("src/deep/a/keep.rs", ""),
            ("build.log", ""),
            ("out/x.rs", ""),
            ("target/debug/y", ""),
            (".hidden/z.rs", ""),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let expected = [
            ".gitignore",
            ".hidden/z.rs",
            "src/deep/.gitignore",
            "src/deep/a/keep.rs",
            "src/lib.rs",
        ];
        assert_eq!(
            paths(root, 0),
            expected,
            "unknown size: one thread per core"
        );
        assert_eq!(paths(root, 1), expected, "small: one thread");
        assert_eq!(paths(root, ONE_THREAD_BELOW_FILES), expected, "large");
    }

    #[test]
    fn relative_name_agrees_with_strip_prefix_however_the_root_is_spelled() {
        for (root, path, expected) in [
            ("/ws", "/ws/src/lib.rs", Some("src/lib.rs")),
            ("/ws/", "/ws/src/lib.rs", Some("src/lib.rs")),
            ("/ws/", "/ws//src/lib.rs", Some("src/lib.rs")),
            ("/ws", "/ws/./src/lib.rs", Some("src/lib.rs")),
            ("/ws/.", "/ws/src/lib.rs", Some("src/lib.rs")),
            ("ws", "ws/a", Some("a")),
            (".", "./a/b", Some("a/b")),
            // A sibling sharing the root's name as a prefix is not below it.
            ("/ws", "/ws2/src/lib.rs", None),
            ("/ws", "/ws", Some("")),
            ("/ws", "/other/lib.rs", None),
        ] {
            let (root, path) = (Path::new(root), Path::new(path));
            assert_eq!(
                relative_name(root, path).as_deref(),
                expected,
                "{root:?} / {path:?}"
            );
            assert_eq!(
                path.strip_prefix(root)
                    .ok()
                    .map(|rel| rel.to_string_lossy().into_owned())
                    .as_deref(),
                expected,
                "the component way agrees: {root:?} / {path:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn relative_name_of_a_non_utf8_name_is_the_lossy_name() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"/ws/a\xffb.rs"));
        assert_eq!(
            relative_name(Path::new("/ws"), path).unwrap(),
            path.strip_prefix("/ws").unwrap().to_string_lossy()
        );
    }
}
