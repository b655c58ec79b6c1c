//! The optional API check: when `cargo-semver-checks` is installed, what bump
//! the public API change since the last release needs, so a plan can say when
//! the commits under-declare it.

use std::path::Path;
use std::process::Command;

use crate::version::Bump;

/// True when `cargo semver-checks` runs here.
pub fn installed() -> bool {
    cargo()
        .args(["semver-checks", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The bump `cargo semver-checks check-release` says `package` needs against
/// `baseline_tag`; `None` when none is needed or the check could not run
/// (it is advice: its trouble never stops a release).
pub fn required_bump(root: &Path, package: &str, baseline_tag: &str) -> Option<Bump> {
    let output = cargo()
        .current_dir(root)
        .args([
            "semver-checks",
            "check-release",
            "--package",
            package,
            "--baseline-rev",
            baseline_tag,
        ])
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    parse_summary(&text)
}

/// Reads `Summary semver requires new major version: …`.
pub fn parse_summary(text: &str) -> Option<Bump> {
    let rest = text.split("semver requires new ").nth(1)?;
    match rest.split_whitespace().next()? {
        "major" => Some(Bump::Major),
        "minor" => Some(Bump::Minor),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(
            parse_summary(
                "     Summary semver requires new major version: 1 major and 0 minor checks failed"
            ),
            Some(Bump::Major)
        );
        assert_eq!(
            parse_summary(
                "     Summary semver requires new minor version: 0 major and 1 minor checks failed"
            ),
            Some(Bump::Minor)
        );
        assert_eq!(
            parse_summary("     Summary no semver update required"),
            None
        );
    }
}
