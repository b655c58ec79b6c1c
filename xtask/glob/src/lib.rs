//! Globs and gitignore rules, matched without a regular-expression engine.
//!
//! The syntax and meaning are the globset crate's (and, for ignore files,
//! the ignore crate's), which the tool used before: the same text matches the
//! same paths, so task keys and configurations carry over. The tests compare
//! both on generated globs, paths and ignore files. What they cost differs:
//! those crates compile globs to regular expressions through regex-automata,
//! regex-syntax and aho-corasick, a fifth of the tool's first build; here a
//! glob is a small automaton run over the path (`program`).
//!
//! One difference: matching is by character where globset matched bytes, so
//! `?` and classes take a whole non-ASCII character (globset took one byte
//! of it). Names are matched as UTF-8; a name that is not is matched with
//! its invalid bytes replaced.

mod gitignore;
mod parse;
mod program;

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::Path;

pub use gitignore::{Gitignore, Match};

/// How a glob reads and matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Options {
    /// `*` and `?` do not match `/` (only `**` crosses directories).
    pub literal_separator: bool,
    /// ASCII letters match either case.
    pub case_insensitive: bool,
    /// A `[` without `]` is a literal `[` instead of an error.
    pub allow_unclosed_class: bool,
}

/// One parsed and compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    options: Options,
    program: program::Program,
}

impl Glob {
    /// `text` with the default options (globset's defaults: `*` crosses
    /// `/`, case matters, `\` escapes).
    pub fn new(text: &str) -> Result<Glob, Error> {
        Glob::with_options(text, Options::default())
    }

    pub fn with_options(text: &str, options: Options) -> Result<Glob, Error> {
        let tokens = parse::tokens(text, &options).map_err(|kind| Error {
            glob: text.to_string(),
            kind,
        })?;
        Ok(Glob {
            text: text.to_string(),
            options,
            program: program::Program::new(&tokens, &options),
        })
    }

    /// The glob as written.
    pub fn glob(&self) -> &str {
        &self.text
    }

    pub fn is_match(&self, path: impl AsRef<Path>) -> bool {
        self.program.is_match(&path_text(path.as_ref()))
    }

    pub fn is_match_str(&self, text: &str) -> bool {
        self.program.is_match(text)
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.text == other.text && self.options == other.options
    }
}

impl Eq for Glob {}

impl Hash for Glob {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
        self.options.hash(state);
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Globs matched together: a path matches the set if any glob matches it.
#[derive(Debug, Clone, Default)]
pub struct GlobSet {
    globs: Vec<Glob>,
}

impl GlobSet {
    pub fn new(globs: impl IntoIterator<Item = Glob>) -> GlobSet {
        GlobSet {
            globs: globs.into_iter().collect(),
        }
    }

    pub fn empty() -> GlobSet {
        GlobSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.globs.len()
    }

    pub fn is_match(&self, path: impl AsRef<Path>) -> bool {
        if self.globs.is_empty() {
            return false;
        }
        let text = path_text(path.as_ref());
        self.globs.iter().any(|glob| glob.program.is_match(&text))
    }
}

/// A glob that cannot be parsed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    glob: String,
    kind: ErrorKind,
}

impl Error {
    pub fn glob(&self) -> &str {
        &self.glob
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error parsing glob '{}': {}", self.glob, self.kind)
    }
}

impl std::error::Error for Error {}

/// What is wrong with a glob; the messages are globset's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    UnclosedClass,
    InvalidRange(char, char),
    UnopenedAlternates,
    UnclosedAlternates,
    DanglingEscape,
    /// More than 64 `{` groups inside each other.
    NestedTooDeep,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnclosedClass => f.write_str("unclosed character class; missing ']'"),
            ErrorKind::InvalidRange(start, end) => {
                write!(f, "invalid range; '{start}' > '{end}'")
            }
            ErrorKind::UnopenedAlternates => {
                f.write_str("unopened alternate group; missing '{' (maybe escape '}' with '[}]'?)")
            }
            ErrorKind::UnclosedAlternates => {
                f.write_str("unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)")
            }
            ErrorKind::DanglingEscape => f.write_str("dangling '\\'"),
            ErrorKind::NestedTooDeep => {
                f.write_str("alternate groups nested more than 64 deep; flatten the glob")
            }
        }
    }
}

/// A path as the text globs match: its UTF-8, or lossily so. Valid UTF-8,
/// the usual case, is only checked: `to_string_lossy` walks it in chunks at
/// several times the cost, on every name of the workspace walk.
fn path_text(path: &Path) -> Cow<'_, str> {
    let bytes = path.as_os_str().as_encoded_bytes();
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
