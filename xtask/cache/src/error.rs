//! Error types of the cache. Every variant names the key, path or archive member it
//! concerns; the underlying `io::Error` is the `source`, not part of the message, so
//! the binary can print the chain.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while using the local cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("failed to use cache key {key:?}: expected 64 lowercase hexadecimal characters")]
    InvalidKey { key: String },

    #[error("failed to create cache directory {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("failed to read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("failed to write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("failed to write the cache in {}: it could not be opened for writing", dir.display())]
    ReadOnly { dir: PathBuf },

    #[error("failed to remove {}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "failed to store output {}: the path must be relative, non-empty and free of `..`",
        path.display()
    )]
    InvalidOutputPath { path: PathBuf },

    #[error("failed to store output {}: it does not exist", path.display())]
    MissingOutput { path: PathBuf },

    #[error("failed to store output {}: {reason}", path.display())]
    UnsupportedOutput { path: PathBuf, reason: String },

    #[error("failed to store cache entry {key}: {what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        key: String,
        what: &'static str,
        size: u64,
        limit: u64,
    },

    #[error("failed to read cache entry {key}: {reason}")]
    Corrupt { key: String, reason: Corruption },

    #[error("failed to restore {} from cache entry {key}: {reason}", shown(member))]
    UnsafeMember {
        key: String,
        member: PathBuf,
        reason: Refusal,
    },

    #[error(
        "failed to restore cache entry {key}: unpacked size exceeds the limit of {limit} bytes at {}",
        shown(member)
    )]
    RestoreTooLarge {
        key: String,
        member: PathBuf,
        limit: u64,
    },

    #[error("failed to restore cache entry {key}: it holds more than {limit} {what}")]
    RestoreTooMany {
        key: String,
        what: &'static str,
        limit: u64,
    },

    #[error("failed to restore {} from cache entry {key}", shown(path))]
    Restore {
        key: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl CacheError {
    /// Whether the cache itself is at fault (its directory cannot be written:
    /// permissions, a full disk, a read-only cache), rather than the task's
    /// outputs or one entry: more writes this run would fail the same way.
    pub fn is_cache_fault(&self) -> bool {
        matches!(
            self,
            CacheError::CreateDir { .. }
                | CacheError::Write { .. }
                | CacheError::Remove { .. }
                | CacheError::ReadOnly { .. }
        )
    }
}

/// Why an entry file was judged corrupt (and removed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    #[error("the file is shorter than its header")]
    Truncated,
    #[error("the file does not start with an xtask cache header")]
    BadHeader,
    #[error("the entry was written in another version's format")]
    OtherVersion,
    #[error("the content does not match the blake3 hash in its header")]
    HashMismatch,
    #[error("the archive is unreadable: {0}")]
    Archive(String),
    #[error("the archive holds a member that restore refuses: {0}")]
    Unsafe(String),
    #[error("the entry file was replaced after it was looked up")]
    Changed,
}

/// Why restore refused an archive member. Restore is a security boundary: the same
/// code extracts artifacts that came from a remote cache.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("absolute paths are not allowed")]
    AbsolutePath,
    #[error("`..` components are not allowed")]
    ParentDir,
    #[error("members must be `meta.json`, `log`, then paths under `outputs/`")]
    UnexpectedMember,
    #[error("hard links are not allowed")]
    HardLink,
    #[error("device files are not allowed")]
    Device,
    #[error("fifos are not allowed")]
    Fifo,
    #[error("tar entry type {0:#04x} is not supported")]
    UnsupportedType(u8),
    #[error("symlink target {} {problem}", shown(target))]
    Symlink {
        target: PathBuf,
        problem: LinkProblem,
    },
    #[error("symlink has no target")]
    MissingLinkTarget,
    #[error(
        "parent directory {} is a symlink that leads outside the base directory (or into `.git`)",
        shown(path)
    )]
    ParentEscapes { path: PathBuf },
    #[error("a non-empty directory is in the way")]
    DirectoryInTheWay,
    #[error("nothing is ever restored into a `.git` directory")]
    GitDir,
    #[error("it does not match the task's declared outputs")]
    NotAnOutput,
    #[error(
        "a symlinked directory on its way makes it land at {}, which is not one of the task's outputs",
        shown(real)
    )]
    LandsElsewhere { real: PathBuf },
    #[error(
        "its parent {} is a file or symlink of the same archive",
        shown(parent)
    )]
    InsideNonDirectory { parent: PathBuf },
    #[error("the archive holds this path twice")]
    Duplicate,
    #[error(
        "{} is a file that is not one of the task's outputs, in the way of a directory",
        shown(path)
    )]
    FileInTheWay { path: PathBuf },
}

/// What is wrong with a symlink's target; shared by store (never store what restore
/// would refuse) and restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkProblem {
    #[error("is empty")]
    Empty,
    #[error("is absolute")]
    Absolute,
    #[error("has `..` after a directory name")]
    DotDotAfterName,
    #[error("leads outside the base directory")]
    Escapes,
    #[error("leads into a `.git` directory")]
    IntoGit,
}

/// A path from an archive (or the disk) as it may appear in a message.
pub(crate) fn shown(path: &std::path::Path) -> String {
    quote_name(path.as_os_str().as_encoded_bytes())
}

pub(crate) use xtask_toolbox::quote::quote_name;

/// An error message from a parser that may quote archive bytes, made safe the
/// same way (at most a few hundred characters, no control characters).
pub(crate) fn quote_message(message: &str) -> String {
    quote_name(message.as_bytes())
}

/// The cache never fails a build, so what reaches the command line (`cache
/// status`, `prune`, `verify`, `clean`) is the disk or a damaged entry:
/// always the machine's problem.
impl xtask_toolbox::fault::Classify for CacheError {
    fn fault(&self) -> xtask_toolbox::fault::Fault {
        xtask_toolbox::fault::Fault::System
    }
}
