//! Conventional Commits (<https://www.conventionalcommits.org/en/v1.0.0/>):
//! a commit message becomes a typed change, or is recognised as not
//! conventional. Git's own revert messages (`Revert "…"` + `This reverts
//! commit <id>.`) are understood too.

use serde::Serialize;

/// What a commit says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The type, lower-cased (`feat`, `fix`, …); `None` when the message is
    /// not a conventional commit.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub scope: Option<String>,
    /// `!` after the type, or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer.
    pub breaking: bool,
    /// The description after `type(scope): `, or the whole subject.
    pub description: String,
    /// The text of the `BREAKING CHANGE:` footer, if any.
    pub breaking_note: Option<String>,
    /// For a revert, the id (or prefix) of the commit it reverts.
    pub reverts: Option<String>,
    /// Issues the body or footers refer to (`Closes #12`, `Refs: #3`), as
    /// (verb, number), the description's own `#n` excluded.
    pub references: Vec<(String, String)>,
}

/// What a change does to the version, before a version's 0.x rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    /// Listed, does not bump (docs, chore, ci, …).
    None,
    /// fix, perf, revert, and by default a non-conventional commit.
    Fix,
    /// feat.
    Feature,
    /// `!` or `BREAKING CHANGE:`.
    Breaking,
}

impl Change {
    pub fn is_conventional(&self) -> bool {
        self.kind.is_some()
    }

    /// The impact its type declares; `non_conventional` for a message that is
    /// not a conventional commit.
    pub fn impact(&self, non_conventional: Impact) -> Impact {
        if self.breaking {
            return Impact::Breaking;
        }
        match self.kind.as_deref() {
            None => non_conventional,
            Some("feat") => Impact::Feature,
            Some("fix" | "perf" | "revert") => Impact::Fix,
            Some(_) => Impact::None,
        }
    }
}

/// Parses a whole commit message.
pub fn parse(message: &str) -> Change {
    let subject = message.lines().next().unwrap_or("").trim();
    let footer = breaking_footer(message);
    let reverts = reverted_id(message);
    let references = references(message);
    if let Some(inner) = git_revert_subject(subject) {
        return Change {
            kind: Some("revert".into()),
            scope: None,
            breaking: footer.is_some(),
            description: inner.to_string(),
            breaking_note: footer,
            reverts,
            references,
        };
    }
    match header(subject) {
        Some((kind, scope, bang, description)) => Change {
            kind: Some(kind.to_ascii_lowercase()),
            scope: scope.map(str::to_string),
            breaking: bang || footer.is_some(),
            description: description.to_string(),
            breaking_note: footer,
            reverts,
            references,
        },
        None => Change {
            kind: None,
            scope: None,
            breaking: false,
            description: subject.to_string(),
            breaking_note: None,
            reverts: None,
            references,
        },
    }
}

/// `Closes #12`, `fixes: #3, #4`, `Refs #9` in the lines after the subject.
fn references(message: &str) -> Vec<(String, String)> {
    const VERBS: [&str; 9] = [
        "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "refs",
    ];
    let mut found: Vec<(String, String)> = Vec::new();
    for line in message.lines().skip(1) {
        let line = line.trim();
        let Some((verb, rest)) = line.split_once([' ', ':']) else {
            continue;
        };
        let verb = verb.to_ascii_lowercase();
        if !VERBS.contains(&verb.as_str()) {
            continue;
        }
        for item in rest
            .split([',', ' '])
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            let Some(number) = item.strip_prefix('#') else {
                break;
            };
            if !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && !found.iter().any(|(_, n)| n == number)
            {
                let verb = if verb == "refs" {
                    "refs".to_string()
                } else {
                    verb.trim_end_matches(['s', 'd']).to_string() + "s"
                };
                found.push((verb, number.to_string()));
            }
        }
    }
    found
}

/// `type(scope)!: description` → its parts.
fn header(subject: &str) -> Option<(&str, Option<&str>, bool, &str)> {
    let (head, description) = subject.split_once(": ")?;
    let description = description.trim();
    if description.is_empty() {
        return None;
    }
    let (head, bang) = match head.strip_suffix('!') {
        Some(h) => (h, true),
        None => (head, false),
    };
    let (kind, scope) = match head.split_once('(') {
        Some((kind, rest)) => {
            let scope = rest.strip_suffix(')')?;
            if scope.is_empty() || scope.contains(['(', ')']) {
                return None;
            }
            (kind, Some(scope))
        }
        None => (head, None),
    };
    let word = !kind.is_empty()
        && kind.len() <= 32
        && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && kind.as_bytes()[0].is_ascii_alphabetic();
    word.then_some((kind, scope, bang, description))
}

/// The `BREAKING CHANGE:` footer's text (its first paragraph).
fn breaking_footer(message: &str) -> Option<String> {
    let mut lines = message.lines().skip(1);
    while let Some(line) = lines.next() {
        let rest = line
            .strip_prefix("BREAKING CHANGE:")
            .or_else(|| line.strip_prefix("BREAKING-CHANGE:"));
        if let Some(rest) = rest {
            let mut note = rest.trim().to_string();
            for more in lines.by_ref() {
                if more.trim().is_empty() || is_trailer(more) {
                    break;
                }
                note.push(' ');
                note.push_str(more.trim());
            }
            return Some(note);
        }
    }
    None
}

fn is_trailer(line: &str) -> bool {
    line.split_once(": ").is_some_and(|(key, _)| {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// `Revert "feat: x"` → `feat: x`.
fn git_revert_subject(subject: &str) -> Option<&str> {
    subject
        .strip_prefix("Revert \"")?
        .strip_suffix('"')
        .filter(|s| !s.is_empty())
}

/// `This reverts commit <id>.` (git's wording; conventional reverts use it too).
fn reverted_id(message: &str) -> Option<String> {
    message.lines().find_map(|line| {
        let id = line.trim().strip_prefix("This reverts commit ")?;
        let id = id.trim_end_matches('.').trim();
        (id.len() >= 7 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_string())
    })
}

/// `Co-authored-by:` trailers' names, for crediting.
pub fn co_authors(message: &str) -> Vec<String> {
    message
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("co-authored-by") {
                return None;
            }
            let name = value.split('<').next().unwrap_or("").trim();
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(message: &str) -> String {
        let c = parse(message);
        format!(
            "{:?} {:?} breaking={} {:?} note={:?} reverts={:?}",
            c.kind, c.scope, c.breaking, c.description, c.breaking_note, c.reverts
        )
    }

    #[test]
    fn headers() {
        let cases = [
            (
                "feat: add x",
                r#"Some("feat") None breaking=false "add x" note=None reverts=None"#,
            ),
            (
                "Fix(api)!: drop v1",
                r#"Some("fix") Some("api") breaking=true "drop v1" note=None reverts=None"#,
            ),
            (
                "feat(a b): spaced scope",
                r#"Some("feat") Some("a b") breaking=false "spaced scope" note=None reverts=None"#,
            ),
            (
                "update readme",
                r#"None None breaking=false "update readme" note=None reverts=None"#,
            ),
            (
                "feat:no space",
                r#"None None breaking=false "feat:no space" note=None reverts=None"#,
            ),
            (
                "feat(): empty scope",
                r#"None None breaking=false "feat(): empty scope" note=None reverts=None"#,
            ),
            (
                "fix: ",
                r#"None None breaking=false "fix:" note=None reverts=None"#,
            ),
            (
                "WIP stuff: more",
                r#"None None breaking=false "WIP stuff: more" note=None reverts=None"#,
            ),
            (
                "fixup! feat: x",
                r#"None None breaking=false "fixup! feat: x" note=None reverts=None"#,
            ),
        ];
        for (message, want) in cases {
            assert_eq!(show(message), want, "{message}");
        }
    }

    #[test]
    fn footers_and_reverts() {
        assert_eq!(
            show(
                "refactor: config\n\nLonger text.\n\nBREAKING CHANGE: `a` is gone,\nuse `b`.\nRefs: #12"
            ),
            r#"Some("refactor") None breaking=true "config" note=Some("`a` is gone, use `b`.") reverts=None"#
        );
        assert!(parse("fix: x\n\nBREAKING-CHANGE: y").breaking);
        // "BREAKING CHANGE" in the subject is not a footer.
        assert!(!parse("docs: explain BREAKING CHANGE: rules").breaking);
        assert_eq!(
            show(
                "Revert \"feat: add x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567."
            ),
            r#"Some("revert") None breaking=false "feat: add x" note=None reverts=Some("0123456789abcdef0123456789abcdef01234567")"#
        );
        assert_eq!(
            parse("revert: feat: add x\n\nThis reverts commit abcdef1.")
                .reverts
                .as_deref(),
            Some("abcdef1")
        );
    }

    #[test]
    fn issue_references_in_the_body() {
        let c = parse("fix: x (#3)\n\nCloses #12, #13\nrefs: #4\nFixed #x\nSee #99");
        let refs: Vec<String> = c
            .references
            .iter()
            .map(|(v, n)| format!("{v} {n}"))
            .collect();
        assert_eq!(refs, ["closes 12", "closes 13", "refs 4"]);
    }

    #[test]
    fn impacts() {
        let impact = |m: &str| parse(m).impact(Impact::Fix);
        assert_eq!(impact("feat: a"), Impact::Feature);
        assert_eq!(impact("perf: a"), Impact::Fix);
        assert_eq!(impact("docs: a"), Impact::None);
        assert_eq!(impact("chore!: a"), Impact::Breaking);
        assert_eq!(impact("whatever"), Impact::Fix);
        assert_eq!(parse("whatever").impact(Impact::None), Impact::None);
    }

    #[test]
    fn co_authors_are_credited() {
        let m = "feat: x\n\nCo-authored-by: Bo Builder <bo@x>\nco-authored-by: Cy <cy@x>";
        assert_eq!(co_authors(m), ["Bo Builder", "Cy"]);
    }
}
