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

    #[error("failed to restore {} from cache entry {key}: {reason}", member.display())]
    UnsafeMember {
        key: String,
        member: PathBuf,
        reason: Refusal,
    },

    #[error(
        "failed to restore cache entry {key}: unpacked size exceeds the limit of {limit} bytes at {}",
        member.display()
    )]
    RestoreTooLarge {
        key: String,
        member: PathBuf,
        limit: u64,
    },

    #[error("failed to restore {} from cache entry {key}", path.display())]
    Restore {
        key: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Why an entry file was judged corrupt (and removed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    #[error("the file is shorter than its header")]
    Truncated,
    #[error("the file does not start with an xtask cache header")]
    BadHeader,
    #[error("the content does not match the blake3 hash in its header")]
    HashMismatch,
    #[error("the archive is unreadable: {0}")]
    Archive(String),
    #[error("the archive holds a member that restore refuses: {0}")]
    Unsafe(String),
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
    #[error("symlink target {} {problem}", target.display())]
    Symlink {
        target: PathBuf,
        problem: LinkProblem,
    },
    #[error("symlink has no target")]
    MissingLinkTarget,
    #[error("parent directory {} is a symlink that leads outside the base directory", path.display())]
    ParentEscapes { path: PathBuf },
    #[error("a non-empty directory is in the way")]
    DirectoryInTheWay,
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
}
