//! The rules of one ignore file (`.gitignore`, `info/exclude`, the global
//! excludes), read and matched as the ignore crate reads and matches them:
//! the last rule that matches decides, `!` re-includes, a trailing `/`
//! matches directories only, a rule with a `/` before its end is anchored at
//! the file's directory and one without matches at any depth.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Glob, Options, path_text};

/// Whether a path is ignored by a set of rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// No rule matched.
    None,
    Ignore,
    /// A `!` rule matched last: explicitly not ignored.
    Whitelist,
}

impl Match {
    /// This match, or `other` if no rule matched here.
    pub fn or(self, other: Match) -> Match {
        if self == Match::None { other } else { self }
    }

    pub fn is_none(self) -> bool {
        self == Match::None
    }

    pub fn is_ignore(self) -> bool {
        self == Match::Ignore
    }
}

#[derive(Debug, Clone)]
struct Rule {
    glob: Glob,
    whitelist: bool,
    only_dir: bool,
}

/// The rules of one file, matched relative to `root`.
#[derive(Debug, Clone, Default)]
pub struct Gitignore {
    root: PathBuf,
    /// `root == "."`, known once: comparing paths walks their components,
    /// and `strip` asks for every name of the workspace walk.
    root_is_dot: bool,
    rules: Vec<Rule>,
}

impl Gitignore {
    pub fn empty() -> Gitignore {
        Gitignore::default()
    }

    /// The rules in `file`, matched relative to `root`. As git does, a file
    /// that cannot be read and lines that are not valid globs add nothing;
    /// reading stops at the first line that is not UTF-8 (as the crate's
    /// line reader did).
    pub fn from_file(root: &Path, file: &Path) -> Gitignore {
        let text = fs::read(file).unwrap_or_default();
        let mut rules = Gitignore::rooted(root);
        for (index, line) in text.split(|&byte| byte == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Ok(line) = std::str::from_utf8(line) else {
                break;
            };
            let line = if index == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            rules.add_line(line);
        }
        rules
    }

    /// Rules given as the text of an ignore file.
    pub fn from_lines(root: &Path, text: &str) -> Gitignore {
        let mut rules = Gitignore::rooted(root);
        for line in text.lines() {
            rules.add_line(line);
        }
        rules
    }

    fn rooted(root: &Path) -> Gitignore {
        let root = strip_prefix(Path::new("./"), root).unwrap_or(root);
        Gitignore {
            root: root.to_path_buf(),
            root_is_dot: root == Path::new("."),
            rules: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// One line of an ignore file; comments, blanks and invalid globs add
    /// nothing.
    fn add_line(&mut self, mut line: &str) {
        if line.starts_with('#') {
            return;
        }
        if !line.ends_with("\\ ") {
            line = line.trim_end();
        }
        if line.is_empty() {
            return;
        }
        let (mut whitelist, mut anchored) = (false, false);
        if line.starts_with("\\!") || line.starts_with("\\#") {
            line = &line[1..];
            anchored = line.starts_with('/');
        } else {
            if let Some(rest) = line.strip_prefix('!') {
                whitelist = true;
                line = rest;
            }
            if let Some(rest) = line.strip_prefix('/') {
                line = rest;
                anchored = true;
            }
        }
        let mut only_dir = false;
        if let Some(rest) = line.strip_suffix('/') {
            only_dir = true;
            line = rest.strip_suffix('\\').unwrap_or(rest);
        }
        let mut actual = line.to_string();
        // Without a `/` a rule matches at any depth.
        let has_any_depth = actual.starts_with("**/") || actual == "**";
        if !(anchored || line.contains('/') || has_any_depth) {
            actual = format!("**/{actual}");
        }
        let options = Options {
            literal_separator: true,
            case_insensitive: false,
            allow_unclosed_class: true,
        };
        if let Ok(glob) = Glob::with_options(&actual, options) {
            self.rules.push(Rule {
                glob,
                whitelist,
                only_dir,
            });
        }
    }

    /// How the last rule that matches `path` (relative to the root, or under
    /// it) decides it.
    pub fn matched(&self, path: impl AsRef<Path>, is_dir: bool) -> Match {
        if self.rules.is_empty() {
            return Match::None;
        }
        let text = path_text(self.strip(path.as_ref()));
        for rule in self.rules.iter().rev() {
            if (!rule.only_dir || is_dir) && rule.glob.program.is_match(&text) {
                return if rule.whitelist {
                    Match::Whitelist
                } else {
                    Match::Ignore
                };
            }
        }
        Match::None
    }

    /// `path` relative to the root: a leading `./` and the root's own bytes
    /// cut off (not from a bare file name, which is taken as relative).
    fn strip<'p>(&self, path: &'p Path) -> &'p Path {
        let mut path = strip_prefix(Path::new("./"), path).unwrap_or(path);
        if !self.root_is_dot
            && !is_file_name(path)
            && let Some(below) = strip_prefix(&self.root, path)
        {
            path = strip_prefix(Path::new("/"), below).unwrap_or(below);
        }
        path
    }
}

/// `path` without the bytes of `prefix`, if it starts with them (bytes, not
/// components: the crate's reading).
fn strip_prefix<'p>(prefix: &Path, path: &'p Path) -> Option<&'p Path> {
    use std::os::unix::ffi::OsStrExt;
    let rest = path
        .as_os_str()
        .as_bytes()
        .strip_prefix(prefix.as_os_str().as_bytes())?;
    Some(Path::new(std::ffi::OsStr::from_bytes(rest)))
}

fn is_file_name(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    !path.as_os_str().as_bytes().contains(&b'/')
}
