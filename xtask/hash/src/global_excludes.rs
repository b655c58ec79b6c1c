//! Where git's global excludes file (`core.excludesFile`) is, found the way
//! the `ignore` crate finds it, without the regex it compiles to read git
//! config: that compile was 15% of a 12-crate warm hit's instructions.
//!
//! Search order (the `ignore` crate's, git's order for this key):
//! `$GIT_CONFIG_GLOBAL`, `~/.gitconfig`, `$XDG_CONFIG_HOME/git/config` (or
//! `~/.config/git/config`), `$GIT_CONFIG_SYSTEM` (or `/etc/gitconfig`), and
//! when none sets it, `$XDG_CONFIG_HOME/git/ignore` (or
//! `~/.config/git/ignore`). Like the `ignore` crate, a config line
//! `excludesFile = <path>` counts in any section, the first one wins, and
//! `~` becomes `$HOME`. The discover tests check both agree.

use std::ffi::OsString;
use std::path::PathBuf;

/// The global excludes file's path, whether or not it exists.
pub fn global_excludes_file() -> Option<PathBuf> {
    let config = |path: PathBuf| {
        std::fs::read(path)
            .ok()
            .and_then(|data| excludes_file_in(&data))
    };
    env_path("GIT_CONFIG_GLOBAL")
        .and_then(config)
        .or_else(|| home().and_then(|home| config(home.join(".gitconfig"))))
        .or_else(|| xdg_config().and_then(|dir| config(dir.join("git/config"))))
        .or_else(|| {
            config(env_path("GIT_CONFIG_SYSTEM").unwrap_or_else(|| "/etc/gitconfig".into()))
        })
        .or_else(|| xdg_config().map(|dir| dir.join("git/ignore")))
}

/// A non-empty environment variable as a path.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

#[allow(deprecated)] // As the `ignore` crate: its corner cases are Windows'.
fn home() -> Option<PathBuf> {
    std::env::home_dir()
}

fn xdg_config() -> Option<PathBuf> {
    env_path("XDG_CONFIG_HOME").or_else(|| home().map(|home| home.join(".config")))
}

/// The value of the first `excludesFile = <path>` line of a git config
/// (the key in any case), as the `ignore` crate's pattern
/// `(?im-u)^\s*excludesfile\s*=\s*"?\s*(\S+?)\s*"?\s*$` reads it on one line.
pub(crate) fn excludes_file_in(config: &[u8]) -> Option<PathBuf> {
    config.split(|&b| b == b'\n').find_map(|line| {
        let rest = trim_start(line);
        let key = rest.get(..KEY.len())?;
        if !key.eq_ignore_ascii_case(KEY) {
            return None;
        }
        let rest = trim_start(&rest[KEY.len()..]);
        let rest = trim_start(rest.strip_prefix(b"=")?);
        let rest = trim_start(rest.strip_prefix(b"\"").unwrap_or(rest));
        // The value runs to the first space; after it only spaces and at
        // most one closing quote may follow.
        let end = rest.iter().position(|b| is_space(*b)).unwrap_or(rest.len());
        let (token, tail) = rest.split_at(end);
        let tail = trim_start(tail);
        let value = match token.strip_suffix(b"\"") {
            // `\S+?` is lazy: a closing quote is left out of the value.
            Some(unquoted) if !unquoted.is_empty() && tail.is_empty() => unquoted,
            _ if trim_start(tail.strip_prefix(b"\"").unwrap_or(tail)).is_empty() => token,
            _ => return None,
        };
        if value.is_empty() {
            return None;
        }
        let value = std::str::from_utf8(value).ok()?;
        Some(PathBuf::from(expand_tilde(value)))
    })
}

const KEY: &[u8] = b"excludesfile";

/// ASCII whitespace, as `\s` without Unicode.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !is_space(*b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Every `~` becomes `$HOME`, as in the `ignore` crate.
fn expand_tilde(path: &str) -> OsString {
    match home() {
        Some(home) => path.replace('~', &home.to_string_lossy()).into(),
        None => path.into(),
    }
}
