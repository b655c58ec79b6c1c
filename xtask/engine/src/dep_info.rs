//! What cargo says a compilation read: rustc's dep-info files (Makefile rules
//! listing every source file, `include_str!`/`include_bytes!` target and
//! `#[path]` module, plus `# env-dep:` lines for `env!`/`option_env!`) and a
//! build script's `cargo:rerun-if-changed` / `rerun-if-env-changed` lines.
//! Pure parsing: the files come from a target directory another run wrote, so
//! every size is bounded and nothing here trusts the text.

/// Reads larger than this are not dep-info we understand (rustc's are a few
/// KiB; a crate with thousands of modules stays far below).
pub const MAX_DEP_INFO_BYTES: u64 = 16 << 20;

/// What one dep-info file lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DepInfo {
    /// Paths as rustc wrote them: relative to the directory rustc ran in, or
    /// absolute.
    pub files: Vec<String>,
    /// `env!`/`option_env!` reads: name and the value rustc saw (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
}

/// Parses rustc's dep-info format: `target: dep dep …` rules (spaces in
/// paths escaped as `\ `), blank lines, and `# env-dep:NAME[=value]` comments.
pub fn parse_dep_info(text: &str) -> DepInfo {
    let mut info = DepInfo::default();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# env-dep:") {
            let (name, value) = match rest.split_once('=') {
                Some((name, value)) => (name, Some(unescape_env(value))),
                None => (rest, None),
            };
            if !name.is_empty() {
                info.env.push((name.to_string(), value));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some((_, deps)) = split_rule(line) else {
            continue;
        };
        for path in split_paths(deps) {
            if seen.insert(path.clone()) {
                info.files.push(path);
            }
        }
    }
    info
}

/// A build script's `output` file: what it asked cargo to watch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BuildScriptOutput {
    /// Relative to the package directory, or absolute; files or directories.
    pub rerun_if_changed: Vec<String>,
    pub rerun_if_env_changed: Vec<String>,
}

pub fn parse_build_script_output(text: &str) -> BuildScriptOutput {
    let mut out = BuildScriptOutput::default();
    for line in text.lines() {
        // `cargo::` is the newer spelling of `cargo:`.
        let Some(rest) = line
            .strip_prefix("cargo::")
            .or_else(|| line.strip_prefix("cargo:"))
        else {
            continue;
        };
        if let Some(path) = rest.strip_prefix("rerun-if-changed=") {
            if !path.is_empty() {
                out.rerun_if_changed.push(path.to_string());
            }
        } else if let Some(name) = rest.strip_prefix("rerun-if-env-changed=")
            && !name.is_empty()
        {
            out.rerun_if_env_changed.push(name.to_string());
        }
    }
    out
}

/// Splits `target: deps` at the first unescaped `: ` (a path may hold `\:`).
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b':' if bytes.get(i + 1).is_none_or(|b| *b == b' ') => {
                return Some((&line[..i], line.get(i + 1..).unwrap_or("")));
            }
            _ => i += 1,
        }
    }
    None
}

/// Whitespace-separated paths where `\ ` is a space inside a path.
fn split_paths(deps: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(' ' | '\\' | ':' | '#')) => {
                current.push(chars.next().unwrap_or(' '));
            }
            ' ' | '\t' => {
                if !current.is_empty() {
                    paths.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        paths.push(current);
    }
    paths
}

/// rustc escapes `\n` and `\r` (and the backslash itself) in env-dep values.
fn unescape_env(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_file_once_and_env_reads() {
        let text = "/t/debug/deps/a-1.d: a/src/lib.rs a/src/../../shared/data.txt\n\
                    \n\
                    /t/debug/deps/liba-1.rmeta: a/src/lib.rs a/src/../../shared/data.txt\n\
                    \n\
                    a/src/lib.rs:\n\
                    a/src/../../shared/data.txt:\n\
                    \n\
                    # env-dep:CARGO_MANIFEST_DIR=/w/a\n\
                    # env-dep:MYVAR\n\
                    # env-dep:MULTI=one\\ntwo\n";
        let info = parse_dep_info(text);
        assert_eq!(info.files, ["a/src/lib.rs", "a/src/../../shared/data.txt"]);
        assert_eq!(
            info.env,
            [
                ("CARGO_MANIFEST_DIR".to_string(), Some("/w/a".to_string())),
                ("MYVAR".to_string(), None),
                ("MULTI".to_string(), Some("one\ntwo".to_string())),
            ]
        );
    }

    #[test]
    fn escaped_spaces_stay_in_the_path() {
        let info = parse_dep_info("out.d: my\\ dir/lib.rs other.rs\n");
        assert_eq!(info.files, ["my dir/lib.rs", "other.rs"]);
    }

    #[test]
    fn garbage_is_ignored_not_fatal() {
        let info = parse_dep_info("no rule here\n\u{1b}]52;c;AAAA\u{7}\n:\n");
        assert!(info.env.is_empty());
        assert!(info.files.is_empty());
    }

    #[test]
    fn build_script_output_both_spellings() {
        let out = parse_build_script_output(
            "cargo:rerun-if-changed=../../shared/x\n\
             cargo::rerun-if-changed=build.rs\n\
             cargo:rustc-cfg=foo\n\
             cargo:rerun-if-env-changed=MODE\n\
             cargo::rerun-if-env-changed=\n\
             cargo:warning=hello\n",
        );
        assert_eq!(out.rerun_if_changed, ["../../shared/x", "build.rs"]);
        assert_eq!(out.rerun_if_env_changed, ["MODE"]);
    }
}
