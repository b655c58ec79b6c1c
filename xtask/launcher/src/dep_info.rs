//! Cargo's dep-info file for the engine binary (`target/debug/xtask.d`): one
//! Makefile rule, `<binary>: <file> <file> …`, naming every source file of
//! every workspace (path) crate compiled into it, with spaces escaped as
//! `\ `. It is what another build wrote: anything unexpected is an error, and
//! the caller then records nothing (so the next launch asks cargo again).

use std::path::{Path, PathBuf};

/// The files the rule in `text` depends on; relative ones (cargo's
/// `build.dep-info-basedir`) are taken relative to `base`.
pub fn parse(text: &str, base: &Path) -> Result<Vec<PathBuf>, String> {
    let mut words = split_words(text).into_iter();
    let target = words.next().ok_or("it is empty")?;
    if !target.ends_with(':') {
        return Err(format!("its first word `{target}` is not a rule's target"));
    }
    let mut files = Vec::new();
    for word in words {
        if word.ends_with(':') {
            // A second rule: cargo writes one, so this is not its file.
            return Err(format!("it has more than one rule (`{word}`)"));
        }
        let path = PathBuf::from(word);
        files.push(if path.is_absolute() {
            path
        } else {
            base.join(path)
        });
    }
    if files.is_empty() {
        return Err("it names no source file".to_string());
    }
    Ok(files)
}

/// Words separated by unescaped whitespace; `\ ` is a space inside a word.
/// (Cargo escapes nothing else: a backslash before anything but a space is
/// itself, as in a Windows path.)
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                word.push(' ');
                chars.next();
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(text: &str) -> Result<Vec<String>, String> {
        parse(text, Path::new("/base"))
            .map(|files| files.iter().map(|f| f.display().to_string()).collect())
    }

    #[test]
    fn the_files_of_cargos_rule() {
        assert_eq!(
            files("/t/debug/xtask: /w/xtask/cli/src/main.rs /w/my\\ dir/lib.rs rel/x.rs\n"),
            Ok(vec![
                "/w/xtask/cli/src/main.rs".to_string(),
                "/w/my dir/lib.rs".to_string(),
                "/base/rel/x.rs".to_string(),
            ])
        );
    }

    #[test]
    fn anything_else_is_an_error() {
        for (text, why) in [
            ("", "empty"),
            ("   \n", "empty"),
            ("/t/debug/xtask /w/a.rs", "not a rule's target"),
            ("/t/debug/xtask:", "no source file"),
            ("/t/debug/xtask: /w/a.rs\n/w/a.rs:\n", "more than one rule"),
        ] {
            let error = files(text).unwrap_err();
            assert!(error.contains(why), "{text:?}: {error}");
        }
    }
}
