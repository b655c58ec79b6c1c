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

/// What the environment says about where output goes, the input of
/// [`Style::from_facts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    pub stdout_terminal: bool,
    pub stderr_terminal: bool,
    /// `CI` or `GITHUB_ACTIONS` is set.
    pub is_ci: bool,
    pub github_actions: bool,
    /// `NO_COLOR` is set (and not empty).
    pub no_color: bool,
    /// `FORCE_COLOR` is set (and not empty).
    pub force_color: bool,
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
        Style::from_facts(Facts {
            stdout_terminal: std::io::stdout().is_terminal(),
            stderr_terminal: std::io::stderr().is_terminal(),
            is_ci: var("CI") || var("GITHUB_ACTIONS"),
            github_actions: var("GITHUB_ACTIONS"),
            no_color: var("NO_COLOR"),
            force_color: var("FORCE_COLOR"),
        })
    }

    pub fn from_facts(facts: Facts) -> Style {
        Style {
            color: !facts.no_color
                && (facts.force_color || facts.stdout_terminal || facts.github_actions),
            progress: draw_progress(facts.stderr_terminal, facts.is_ci),
            github_groups: facts.github_actions,
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
        let everything = Facts {
            stdout_terminal: true,
            stderr_terminal: true,
            is_ci: false,
            github_actions: true,
            no_color: true,
            force_color: true,
        };
        assert!(!Style::from_facts(everything).color);
        let in_ci = Facts {
            is_ci: true,
            ..Facts::default()
        };
        let forced = Facts {
            force_color: true,
            ..in_ci
        };
        assert!(Style::from_facts(forced).color);
        assert!(!Style::from_facts(in_ci).color);
        let actions = Facts {
            github_actions: true,
            ..in_ci
        };
        assert!(Style::from_facts(actions).github_groups);
        assert_eq!(Style::plain().task_prefix(3, "a#b"), "a#b: ");
    }

    #[test]
    fn progress_follows_stderr_and_ci() {
        let watched = Facts {
            stderr_terminal: true,
            ..Facts::default()
        };
        assert!(Style::from_facts(watched).progress);
        assert!(
            !Style::from_facts(Facts {
                is_ci: true,
                ..watched
            })
            .progress
        );
        // Colour follows stdout, the bar stderr.
        assert!(!Style::from_facts(watched).color);
    }
}
