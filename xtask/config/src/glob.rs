//! The path patterns of `inputs`, `outputs` and `global-inputs`, parsed once
//! when the configuration is loaded: whether the pattern is negated (`!`),
//! where it is anchored (the package directory, or the workspace root with
//! `$TURBO_ROOT$/`), and the glob itself, compiled. Users match on these
//! fields instead of taking the text apart again.
//!
//! A pattern shows and serializes as it was written, so task keys (which
//! cover the serialized definition) are the same as when patterns were
//! strings.

use std::fmt;

use serde::{Serialize, Serializer};

/// The prefix that anchors an `inputs`/`outputs` glob at the workspace root,
/// spelled as in Turborepo so that its users recognise it. Input manifests
/// name files outside the package the same way.
pub const ROOT_PREFIX: &str = "$TURBO_ROOT$/";

/// The token in `inputs` that stands for the default input set.
pub const DEFAULT_INPUTS: &str = "$TURBO_DEFAULT$";

/// What a pattern is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// The package directory (the default).
    Package,
    /// The workspace root (`$TURBO_ROOT$/…`).
    Root,
}

/// One checked path pattern, e.g. `!$TURBO_ROOT$/target/**`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathGlob {
    negated: bool,
    anchor: Anchor,
    /// Compiled from the pattern after the `!` and the root prefix.
    glob: xtask_glob::Glob,
}

impl PathGlob {
    /// Parses `text`: an optional `!`, an optional `$TURBO_ROOT$/`, then a
    /// relative glob without `..`. The error is the problem, for a message
    /// that the caller places (file, line, key).
    pub fn parse(text: &str) -> Result<PathGlob, String> {
        let (negated, rest) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (anchor, pattern) = match rest.strip_prefix(ROOT_PREFIX) {
            Some(pattern) => (Anchor::Root, pattern),
            None => (Anchor::Package, rest),
        };
        if pattern.is_empty() {
            return Err("the pattern is empty".into());
        }
        if pattern.starts_with('/') {
            return Err("absolute paths are not allowed".into());
        }
        if pattern.split('/').any(|c| c == "..") {
            return Err("`..` is not allowed".into());
        }
        let glob = xtask_glob::Glob::new(pattern).map_err(|e| e.kind().to_string())?;
        Ok(PathGlob {
            negated,
            anchor,
            glob,
        })
    }

    /// `!pattern`: excludes what it matches.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    pub fn anchor(&self) -> Anchor {
        self.anchor
    }

    /// The pattern without `!` and root prefix.
    pub fn pattern(&self) -> &str {
        self.glob.glob()
    }

    /// The pattern compiled, relative to its anchor.
    pub fn glob(&self) -> &xtask_glob::Glob {
        &self.glob
    }
}

impl fmt::Display for PathGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        if self.anchor == Anchor::Root {
            f.write_str(ROOT_PREFIX)?;
        }
        f.write_str(self.pattern())
    }
}

impl Serialize for PathGlob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One entry of a task's `inputs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InputPattern {
    /// `$TURBO_DEFAULT$`: the package's files git does not ignore.
    Defaults,
    Glob(PathGlob),
}

impl InputPattern {
    pub fn parse(text: &str) -> Result<InputPattern, String> {
        if text == DEFAULT_INPUTS {
            return Ok(InputPattern::Defaults);
        }
        PathGlob::parse(text).map(InputPattern::Glob)
    }
}

impl fmt::Display for InputPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputPattern::Defaults => f.write_str(DEFAULT_INPUTS),
            InputPattern::Glob(glob) => glob.fmt(f),
        }
    }
}

impl Serialize for InputPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The patterns as written, joined with `", "` (for messages and `--dry-run`).
pub fn join(globs: &[PathGlob]) -> String {
    globs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_read_once_and_shown_as_written() {
        for (text, negated, anchor, pattern) in [
            ("dist/**", false, Anchor::Package, "dist/**"),
            ("!dist/*.map", true, Anchor::Package, "dist/*.map"),
            (
                "$TURBO_ROOT$/shared/*.rs",
                false,
                Anchor::Root,
                "shared/*.rs",
            ),
            ("!$TURBO_ROOT$/target/**", true, Anchor::Root, "target/**"),
            // Only the leading `!` negates; the prefix only anchors first.
            ("$TURBO_ROOT$/!x", false, Anchor::Root, "!x"),
        ] {
            let glob = PathGlob::parse(text).unwrap();
            assert_eq!(glob.is_negated(), negated, "{text}");
            assert_eq!(glob.anchor(), anchor, "{text}");
            assert_eq!(glob.pattern(), pattern, "{text}");
            assert_eq!(glob.to_string(), text);
            assert_eq!(serde_json::to_value(&glob).unwrap(), text);
        }
    }

    #[test]
    fn bad_patterns_say_why() {
        for (text, problem) in [
            ("", "the pattern is empty"),
            ("!", "the pattern is empty"),
            ("$TURBO_ROOT$/", "the pattern is empty"),
            ("/etc/*", "absolute paths are not allowed"),
            ("!$TURBO_ROOT$//x", "absolute paths are not allowed"),
            ("src/../../x", "`..` is not allowed"),
        ] {
            assert_eq!(PathGlob::parse(text).unwrap_err(), problem, "{text}");
        }
        assert!(PathGlob::parse("out/[a").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn the_default_token_is_an_input_only() {
        assert_eq!(
            InputPattern::parse(DEFAULT_INPUTS).unwrap(),
            InputPattern::Defaults
        );
        assert_eq!(
            serde_json::to_value(InputPattern::Defaults).unwrap(),
            DEFAULT_INPUTS
        );
        // Negated, it is a pattern like any other (as before it was typed).
        let negated = InputPattern::parse("!$TURBO_DEFAULT$").unwrap();
        assert!(matches!(negated, InputPattern::Glob(g) if g.is_negated()));
    }
}
