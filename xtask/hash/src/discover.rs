//! Finding the input files: the gitignore-aware walk (`walker`), plus the
//! tracked files an ignore rule would hide (from git's index).

use std::path::Path;

use crate::HashError;
use crate::global_excludes::global_excludes_file;
use crate::stat_cache::FileStat;

pub(crate) struct Found {
    pub path: String,
    pub stat: FileStat,
    pub is_symlink: bool,
}

/// Below this many files (as the last run found them) one walker thread is
/// faster than several: at 255 files a second thread's start costs more than
/// it saves, while at 6,300 files two threads win.
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
        _ => std::thread::available_parallelism().map_or(2, |n| n.get().min(12)),
    };
    let excludes = global_excludes_file().filter(|path| path.is_file());
    let mut found =
        crate::walker::list(root, skip, excludes.as_deref(), threads).map_err(|error| {
            HashError::Walk {
                path: error.dir,
                source: error.source,
            }
        })?;
    let skip: Vec<std::path::PathBuf> = skip.iter().map(|s| root.join(s)).collect();
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
    // Both sorted (git's index already is, byte-wise, and the walk lists in
    // path order; what says otherwise is sorted here): one merge pass finds
    // the tracked paths the walk did not report, without hashing every path.
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
}
