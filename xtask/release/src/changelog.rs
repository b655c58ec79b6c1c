//! CHANGELOG.md in the Keep a Changelog layout (<https://keepachangelog.com>):
//! one section per release, changes grouped by type with breaking changes
//! first, each line linking its commit and issues and crediting its authors.
//! Pure text in, text out.

use semver::Version;

use crate::links::RepoLinks;
use crate::plan::{PackagePlan, PlannedCommit};

/// What the text depends on besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub links: Option<&'a RepoLinks>,
    /// `YYYY-MM-DD`.
    pub date: &'a str,
}

/// The groups, in the order they are printed.
const GROUPS: [(&str, &str); 8] = [
    ("breaking", "Breaking changes"),
    ("feat", "Added"),
    ("fix", "Fixed"),
    ("perf", "Performance"),
    ("revert", "Reverted"),
    ("refactor", "Changed"),
    ("docs", "Documentation"),
    ("other", "Other"),
];

/// Types that are kept out of changelogs: they do not change what users get.
const UNLISTED: [&str; 5] = ["chore", "ci", "build", "test", "style"];

const HEADER: &str = "# Changelog\n\nAll notable changes are documented in this file. The format follows\n[Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and versions follow\n[Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n";

/// The group a commit's line goes in; `None` for types kept out.
fn group(commit: &PlannedCommit) -> Option<&'static str> {
    if commit.reverted {
        return None;
    }
    if commit.change.breaking {
        return Some("breaking");
    }
    let kind = commit.change.kind.as_deref();
    match kind {
        None => Some("other"),
        Some(k) if UNLISTED.contains(&k) => None,
        Some(k) => Some(
            GROUPS
                .iter()
                .find(|(g, _)| *g == k)
                .map_or("other", |(g, _)| *g),
        ),
    }
}

/// The section of one package's release: `## [x.y.z] - date` and its groups.
pub fn package_section(plan: &PackagePlan, ctx: Context<'_>) -> Option<String> {
    let version = plan.next_version.as_ref()?;
    let title = match (ctx.links, &plan.last_tag, &plan.tag) {
        (Some(links), Some(from), Some(to)) => format!("[{version}]({})", links.compare(from, to)),
        _ => format!("[{version}]"),
    };
    let mut text = format!("## {title} - {}\n", ctx.date);
    let lines: Vec<(&'static str, String)> = plan
        .commits
        .iter()
        .filter_map(|c| Some((group(c)?, entry(c, "", None, ctx))))
        .collect();
    write_groups(&mut text, &lines);
    let deps: Vec<String> = plan
        .dependency_updates
        .iter()
        .filter(|d| d.kind != xtask_graph::DepKind::Dev)
        .map(|d| format!("- `{}` updated to {}\n", d.name, d.version))
        .collect();
    if !deps.is_empty() {
        text.push_str("\n### Dependencies\n\n");
        text.extend(deps.iter().cloned());
    }
    if lines.is_empty() && deps.is_empty() {
        let shared = plan.reasons.iter().find_map(|r| match r {
            crate::plan::Reason::SharedVersion { with } => Some(with),
            _ => None,
        });
        match shared {
            Some(with) => {
                let with: Vec<String> = with.iter().map(|w| format!("`{w}`")).collect();
                text.push_str(&format!(
                    "\nReleased with {} (they share `workspace.package.version`); no changes of its own.\n",
                    with.join(", ")
                ));
            }
            None => text.push_str("\nNo user-facing changes.\n"),
        }
    }
    Some(text)
}

/// The workspace's section for a release of several packages: what was
/// released, then every change once, prefixed with the packages it touched.
pub fn workspace_section(plans: &[PackagePlan], ctx: Context<'_>) -> Option<String> {
    let released: Vec<&PackagePlan> = plans.iter().filter(|p| p.is_released()).collect();
    if released.is_empty() {
        return None;
    }
    let names: Vec<String> = released
        .iter()
        .map(|p| format!("{} {}", p.name, p.next_version.as_ref().expect("released")))
        .collect();
    let mut text = format!("## {} - {}\n", ctx.date, names.join(", "));
    let mut seen: Vec<(&str, Vec<&str>, &PlannedCommit)> = Vec::new();
    for plan in &released {
        for commit in &plan.commits {
            match seen.iter_mut().find(|(id, _, _)| *id == commit.id) {
                Some((_, packages, _)) => packages.push(&plan.name),
                None => seen.push((&commit.id, vec![&plan.name], commit)),
            }
        }
    }
    let lines: Vec<(&'static str, String)> = seen
        .iter()
        .filter_map(|(_, packages, c)| {
            let prefix: Vec<String> = packages.iter().map(|p| format!("`{p}`")).collect();
            // `base`: **base:** says it twice: the scope goes when it names the package.
            let hide = (packages.len() == 1).then(|| packages[0]);
            Some((
                group(c)?,
                entry(c, &format!("{}: ", prefix.join(", ")), hide, ctx),
            ))
        })
        .collect();
    write_groups(&mut text, &lines);
    if lines.is_empty() {
        text.push_str("\nNo user-facing changes.\n");
    }
    Some(text)
}

fn write_groups(text: &mut String, lines: &[(&'static str, String)]) {
    for (key, title) in GROUPS {
        let mut group = lines.iter().filter(|(g, _)| *g == key).peekable();
        if group.peek().is_none() {
            continue;
        }
        text.push_str(&format!("\n### {title}\n\n"));
        for (_, line) in group {
            text.push_str(line);
        }
    }
}

/// One line: `- **scope:** description ([id](link)) by Author`.
fn entry(
    commit: &PlannedCommit,
    prefix: &str,
    hide_scope: Option<&str>,
    ctx: Context<'_>,
) -> String {
    let change = &commit.change;
    let scope = change
        .scope
        .as_deref()
        .filter(|s| Some(*s) != hide_scope)
        .map(|s| format!("**{}:** ", clean(s)))
        .unwrap_or_default();
    let mut description = link_issues(&clean(&change.description), ctx.links);
    let references: Vec<String> = change
        .references
        .iter()
        .map(|(verb, number)| format!("{verb} {}", link_issues(&format!("#{number}"), ctx.links)))
        .collect();
    if !references.is_empty() {
        description.push_str(&format!(" ({})", references.join(", ")));
    }
    let short = &commit.id[..commit.id.len().min(7)];
    let id = match ctx.links {
        Some(links) => format!("[{short}]({})", links.commit(&commit.id)),
        None => short.to_string(),
    };
    let mut authors = vec![clean(&commit.author)];
    for co in &commit.co_authors {
        let co = clean(co);
        if !authors.contains(&co) {
            authors.push(co);
        }
    }
    let mut line = format!(
        "- {prefix}{scope}{description} ({id}) by {}\n",
        authors.join(", ")
    );
    if let Some(note) = change.breaking_note.as_deref().filter(|n| !n.is_empty()) {
        line.push_str(&format!("  {}\n", link_issues(&clean(note), ctx.links)));
    }
    line
}

/// Commit text is untrusted: no control characters, no raw HTML.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace('<', "&lt;")
}

/// `#123` → a link to issue 123, when the repository's web home is known.
fn link_issues(text: &str, links: Option<&RepoLinks>) -> String {
    let Some(links) = links else {
        return text.to_string();
    };
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let boundary = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'['
                || bytes[i - 1] == b'&');
        if bytes[i] == b'#' && boundary {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let after = bytes.get(i + 1 + digits);
            if digits > 0 && !after.is_some_and(|b| b.is_ascii_alphanumeric()) {
                let number = &text[i + 1..i + 1 + digits];
                out.push_str(&format!("[#{number}]({})", links.issue(number)));
                i += 1 + digits;
                continue;
            }
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file} has a section for version {version} already\nhint: that version was released before; set a higher version, or remove the section if that release never happened"
)]
pub struct DuplicateSection {
    pub file: String,
    pub version: Version,
}

/// `existing` (or a new file) with `section` as its newest release: after
/// the header and an `## [Unreleased]` section, before older releases.
pub fn insert(existing: Option<&str>, section: &str) -> String {
    let Some(existing) = existing.filter(|e| !e.trim().is_empty()) else {
        return format!("{HEADER}\n{section}");
    };
    let lines: Vec<&str> = existing.split_inclusive('\n').collect();
    let headings: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("## "))
        .collect();
    let at = headings
        .iter()
        .copied()
        .find(|&i| !lines[i].to_ascii_lowercase().starts_with("## [unreleased]"))
        .unwrap_or(lines.len());
    let mut out: String = lines[..at].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(section);
    if at < lines.len() {
        out.push('\n');
        out.push_str(&lines[at..].concat());
    }
    out
}

/// The versions a changelog has sections for (`## [x.y.z]…`), newest first
/// as written.
pub fn versions(text: &str) -> Vec<Version> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("## [")?;
            let (version, _) = rest.split_once(']')?;
            Version::parse(version).ok()
        })
        .collect()
}

/// The body of the section for `version` (without its heading), e.g. for
/// release notes.
pub fn section_body(text: &str, version: &Version) -> Option<String> {
    let wanted = format!("## [{version}]");
    let mut lines = text.lines().skip_while(|l| !l.starts_with(&wanted));
    lines.next()?;
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
    Some(body.join("\n").trim().to_string() + "\n")
}

/// Fails when `text` already has a section for `version`.
pub fn check_new(text: &str, version: &Version, file: &str) -> Result<(), DuplicateSection> {
    if versions(text).contains(version) {
        return Err(DuplicateSection {
            file: file.to_string(),
            version: version.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_links_only_for_issue_numbers() {
        let links = RepoLinks::from_url("https://github.com/o/r").unwrap();
        assert_eq!(
            link_issues("fix #12 and (#3), not a#4, #x or &#60;", Some(&links)),
            "fix [#12](https://github.com/o/r/issues/12) and ([#3](https://github.com/o/r/issues/3)), not a#4, #x or &#60;"
        );
        assert_eq!(link_issues("fix #12", None), "fix #12");
    }

    #[test]
    fn inserting_keeps_unreleased_and_older_sections() {
        let old = "# Changelog\n\nintro\n\n## [Unreleased]\n\n- wip\n\n## [1.0.0] - 2026-01-01\n\n- first\n";
        let new = insert(Some(old), "## [1.1.0] - 2026-02-01\n\n- second\n");
        assert_eq!(
            new,
            "# Changelog\n\nintro\n\n## [Unreleased]\n\n- wip\n\n## [1.1.0] - 2026-02-01\n\n- second\n\n## [1.0.0] - 2026-01-01\n\n- first\n"
        );
        assert_eq!(
            versions(&new),
            [Version::new(1, 1, 0), Version::new(1, 0, 0)]
        );
        assert_eq!(
            section_body(&new, &Version::new(1, 1, 0)).unwrap(),
            "- second\n"
        );
        assert!(check_new(&new, &Version::new(1, 0, 0), "CHANGELOG.md").is_err());
        assert!(insert(None, "## [0.1.0] - d\n").starts_with("# Changelog\n"));
    }

    #[test]
    fn untrusted_text_is_cleaned() {
        assert_eq!(clean("a\u{1b}[2Jb <script>"), "a[2Jb &lt;script>");
    }
}
