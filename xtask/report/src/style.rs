//! How output looks here: colours, progress bar, CI log groups. Decided once,
//! from the environment, by pure functions that tests can call.

use std::io::IsTerminal;

const PALETTE: [&str; 6] = ["36", "35", "33", "32", "34", "96"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub progress: bool,
    pub github_groups: bool,
}

/// A progress bar only makes sense on a terminal a person watches; CI logs
/// get plain lines even when they emulate a terminal.
pub fn draw_progress(is_terminal: bool, is_ci: bool) -> bool {
    is_terminal && !is_ci
}

impl Style {
    /// From the process environment: `NO_COLOR`, `FORCE_COLOR`, `CI`,
    /// `GITHUB_ACTIONS`, and whether stdout/stderr are terminals.
    pub fn detect() -> Style {
        let var = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let is_ci = var("CI") || var("GITHUB_ACTIONS");
        Style::from_facts(
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
            is_ci,
            var("GITHUB_ACTIONS"),
            var("NO_COLOR"),
            var("FORCE_COLOR"),
        )
    }

    pub fn from_facts(
        stdout_terminal: bool,
        stderr_terminal: bool,
        is_ci: bool,
        github_actions: bool,
        no_color: bool,
        force_color: bool,
    ) -> Style {
        Style {
            color: !no_color && (force_color || stdout_terminal || github_actions),
            progress: draw_progress(stderr_terminal, is_ci),
            github_groups: github_actions,
        }
    }

    pub fn plain() -> Style {
        Style {
            color: false,
            progress: false,
            github_groups: false,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// `pkg#task: ` in a colour of its own, so interleaved lines stay readable.
    pub fn task_prefix(&self, node: usize, label: &str) -> String {
        let prefix = format!("{label}: ");
        self.paint(PALETTE[node % PALETTE.len()], &prefix)
    }

    /// `build ×12: `, the prefix of a batch's own lines: bold, in no task's
    /// colour, so it never reads as one of its members.
    pub fn batch_prefix(&self, label: &str) -> String {
        self.paint("1", &format!("{label}: "))
    }

    pub fn highlight(&self, text: &str) -> String {
        self.paint("1;32", text)
    }

    pub fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn warning(&self, text: &str) -> String {
        self.paint("1;33", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_on_a_terminal_outside_ci() {
        assert!(draw_progress(true, false));
        assert!(!draw_progress(true, true));
        assert!(!draw_progress(false, false));
    }

    #[test]
    fn no_color_wins_over_everything() {
        assert!(!Style::from_facts(true, true, false, true, true, true).color);
        assert!(Style::from_facts(false, false, true, false, false, true).color);
        assert!(!Style::from_facts(false, false, true, false, false, false).color);
        assert!(Style::from_facts(false, false, true, true, false, false).github_groups);
        assert_eq!(Style::plain().task_prefix(3, "a#b"), "a#b: ");
    }
}
