//! Pure path rules shared by store and restore: what a relative output path may look
//! like and where a symlink may point. No I/O here, so the rules are tested as data.

use std::path::{Component, Path, PathBuf};

use crate::error::LinkProblem;

/// Returns `path` as plain names (`.` dropped) if it is relative, non-empty and has
/// no `..`; `None` otherwise.
pub(crate) fn plain_relative(path: &Path) -> Option<PathBuf> {
    let mut plain = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => plain.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if plain.as_os_str().is_empty() {
        None
    } else {
        Some(plain)
    }
}

/// Whether any component of `path` is `.git` (in any case: case-insensitive
/// filesystems treat `.GIT` as the same directory). Nothing from a cache ever
/// goes there, whatever a task's outputs say: hooks and config in `.git` run code.
pub(crate) fn has_git_component(path: &Path) -> bool {
    path.components().any(|component| match component {
        Component::Normal(name) => name.as_encoded_bytes().eq_ignore_ascii_case(b".git"),
        _ => false,
    })
}

/// Checks where the symlink at `link` (relative to the base directory, plain names
/// only) may point, and returns how many leading `..` its target has.
///
/// The rule is stricter than lexical resolution on purpose: a target is some `..`s
/// followed by names only. With `..` after a name, resolution depends on whether that
/// name is itself a symlink (`d/s -> ..` makes `d/s/..` the base's parent), which a
/// lexical check cannot see. With the `..`s first they climb real directories, so
/// counting them against the link's depth is exact.
pub(crate) fn check_link_target(link: &Path, target: &Path) -> Result<usize, LinkProblem> {
    let mut ups = 0usize;
    let mut seen_name = false;
    for component in target.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => return Err(LinkProblem::Absolute),
            Component::CurDir => {}
            Component::ParentDir if seen_name => return Err(LinkProblem::DotDotAfterName),
            Component::ParentDir => ups += 1,
            Component::Normal(_) => seen_name = true,
        }
    }
    if ups == 0 && !seen_name {
        // `""` or `.`: a link to its own directory is useless and `""` is invalid.
        return Err(LinkProblem::Empty);
    }
    // The link's directory is `link` minus its file name.
    let depth = link.components().count().saturating_sub(1);
    if ups > depth {
        return Err(LinkProblem::Escapes);
    }
    Ok(ups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths() {
        let cases = [
            ("dist/app", Some("dist/app")),
            ("./dist/./app", Some("dist/app")),
            ("a", Some("a")),
            ("", None),
            (".", None),
            ("../x", None),
            ("dist/../x", None),
            ("/etc/passwd", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                plain_relative(Path::new(input)),
                expected.map(PathBuf::from),
                "{input:?}"
            );
        }
    }

    #[test]
    fn git_components() {
        for (path, expected) in [
            (".git/hooks/pre-commit", true),
            ("pkg/.GIT/config", true),
            ("a/b/.Git", true),
            (".gitignore", false),
            ("pkg/dist/git", false),
            ("x.git/y", false),
        ] {
            assert_eq!(has_git_component(Path::new(path)), expected, "{path}");
        }
    }

    #[test]
    fn link_targets() {
        use LinkProblem::*;
        let cases = [
            ("link", "file", Ok(0)),
            ("link", "./dir/file", Ok(0)),
            ("dir/link", "../file", Ok(1)),
            ("a/b/link", "../../c/d", Ok(2)),
            ("link", "../outside", Err(Escapes)),
            ("link", "../../outside", Err(Escapes)),
            ("dir/link", "../../outside", Err(Escapes)),
            ("link", "/etc/passwd", Err(Absolute)),
            ("link", "d/s/..", Err(DotDotAfterName)),
            ("dir/link", "x/../../y", Err(DotDotAfterName)),
            ("link", "", Err(Empty)),
            ("link", ".", Err(Empty)),
        ];
        for (link, target, expected) in cases {
            assert_eq!(
                check_link_target(Path::new(link), Path::new(target)),
                expected,
                "{link} -> {target}"
            );
        }
    }
}
