//! GitHub Actions reads workflow commands from a job's output: a line that
//! starts with `::` (after leading whitespace) or that holds `##[` anywhere
//! (the legacy form). Task output and messages quoting hostile names must
//! not issue any (`::add-mask::`, `::error::`, `::set-output::`, …). Text
//! that could hold one is wrapped in `::stop-commands::<token>` … `::<token>::`,
//! which makes the runner ignore every command in between; the token is
//! random per run, so no log written before the run can end the pause.

/// Whether the runner could read a command in `text`. Conservative: any
/// `::` counts, not only at a line's start.
fn could_hold_a_command(text: &str) -> bool {
    text.contains("::") || text.contains("##[")
}

/// `text` (whole lines, each ending in `\n`) as it may reach a GitHub
/// Actions log: unchanged when it cannot hold a command, else between a
/// stop and a resume with `token`. A `token` that occurs in `text` could end
/// the pause early; tokens are random, so that only happens to text that
/// already knows this run's token, and then it is replaced by a fresh one.
pub fn guard(text: &str, token: &str) -> String {
    if !could_hold_a_command(text) {
        return text.to_string();
    }
    let mut token = token.to_string();
    while text.contains(&token) {
        token = xtask_engine::random_token();
    }
    let mut out = String::with_capacity(text.len() + 2 * token.len() + 24);
    out.push_str("::stop-commands::");
    out.push_str(&token);
    out.push('\n');
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("::");
    out.push_str(&token);
    out.push_str("::\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn text_that_could_hold_a_command_is_wrapped() {
        let cases: &[(&str, bool)] = &[
            ("a#check: ok\n", false),
            ("a#check: ::error::pwned\n", true),
            ("::error file=x::y\n", true),
            ("a#check: ##[error]legacy\n", true),
            ("warning: std::io failed\n", true),
            ("a#check: 10:30\n", false),
        ];
        for (text, wrapped) in cases {
            let out = guard(text, TOKEN);
            if *wrapped {
                assert_eq!(
                    out,
                    format!("::stop-commands::{TOKEN}\n{text}::{TOKEN}::\n"),
                    "{text:?}"
                );
            } else {
                assert_eq!(out, *text);
            }
        }
    }

    #[test]
    fn a_log_that_knows_the_token_cannot_end_the_pause() {
        let text = format!("a#x: ::{TOKEN}::\na#x: ::error::now\n");
        let out = guard(&text, TOKEN);
        let first = out.lines().next().unwrap();
        let token = first.strip_prefix("::stop-commands::").unwrap();
        assert_ne!(token, TOKEN);
        assert!(!text.contains(token));
        assert!(out.ends_with(&format!("::{token}::\n")));
    }
}
