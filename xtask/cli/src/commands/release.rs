//! `cargo xtask release`: plan, make, push and publish releases from
//! Conventional Commits; `release plan` previews; `release notes <tag>`
//! prints a tag's GitHub release body. The work is xtask-release's; this
//! file parses flags, shows the plan and the events.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::stdout::{out, outln};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use xtask_engine::Workspace;
use xtask_git::Repo;
use xtask_release::apply::{self, ApplyOptions};
use xtask_release::conventional::Impact;
use xtask_release::gather::{self, Purpose};
use xtask_release::links::RepoLinks;
use xtask_release::plan::{PackagePlan, Plan, PlannedCommit, Reason};
use xtask_release::publish::{self, PublishEvent, PublishItem, PublishOptions};
use xtask_release::record::ReleaseRecord;
use xtask_release::{ReleaseConfig, manifest};
use xtask_report::Style;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReleaseArgs {
    #[command(subcommand)]
    pub command: Option<ReleaseCommand>,

    /// Show the plan and what would be written, tagged and published; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Push the release commit and its tags to the remote (release.remote, default origin)
    #[arg(long)]
    pub push: bool,

    /// `cargo publish` the released packages that may be published, dependencies first
    #[arg(long)]
    pub publish: bool,

    /// The registry to publish to (a name from .cargo/config.toml) [default: crates.io]
    #[arg(long, value_name = "NAME", requires = "publish")]
    pub registry: Option<String>,

    #[arg(long, value_enum, default_value_t = ReleaseFormat::Text)]
    pub format: ReleaseFormat,
}

#[derive(Subcommand, Debug)]
pub enum ReleaseCommand {
    /// Which packages would be released at which version, and why (any branch)
    Plan {
        #[arg(long, value_enum, default_value_t = ReleaseFormat::Text)]
        format: ReleaseFormat,
    },
    /// Print the release notes (markdown) of a release tag, for a GitHub release
    Notes {
        /// A tag `cargo xtask release` made, e.g. `api-v1.2.0` or `v1.2.0`
        tag: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseFormat {
    Text,
    Json,
}

pub fn release(ws: &Workspace, args: ReleaseArgs) -> anyhow::Result<ExitCode> {
    let config =
        ReleaseConfig::from_table(ws.pipeline.release.as_ref(), &ws.pipeline.root_manifest)?;
    let repo = Repo::open(&ws.root)?;
    match args.command {
        Some(ReleaseCommand::Plan { format }) => {
            let input = gather::gather(&ws.graph, &config, &repo, Purpose::Preview)?;
            let plan = xtask_release::plan(&input)?;
            show_plan(&plan, format)?;
        }
        Some(ReleaseCommand::Notes { tag }) => {
            let notes = apply::notes(&repo, &tag)?;
            // Usually redirected into a release body: control characters go
            // (the tag is untrusted), but no workflow-command guard lines.
            let notes: String = notes
                .chars()
                .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
                .collect();
            out!("{notes}");
        }
        None => make_release(ws, &config, &repo, &args)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn make_release(
    ws: &Workspace,
    config: &ReleaseConfig,
    repo: &Repo,
    args: &ReleaseArgs,
) -> anyhow::Result<()> {
    apply::require_clean(repo, &ws.skipped_dirs())?;
    let input = gather::gather(&ws.graph, config, repo, Purpose::Release)?;
    let plan = xtask_release::plan(&input)?;
    let date = xtask_release::date::iso_date(now_or_source_date());
    let links = repository_links(config, repo);
    let options = ApplyOptions {
        date: &date,
        links: links.as_ref(),
        changelog: config.changelog,
    };
    if args.format == ReleaseFormat::Text {
        show_plan(&plan, ReleaseFormat::Text)?;
    }
    if !plan.packages.iter().any(PackagePlan::is_released) {
        if args.format == ReleaseFormat::Json {
            outln!("{{\"dry_run\": {}, \"records\": []}}", args.dry_run);
        }
        return Ok(());
    }
    let mut shown = Ok(());
    if args.dry_run {
        show_dry_run(ws, &plan, &options, config, args)?;
    } else {
        let records = apply::apply(&ws.graph, &plan, repo, &options)?;
        // Committed and tagged: a reader that stopped reading (a closed
        // stdout) must not leave the release unpushed. Its error comes last.
        shown = show_records(&records, args.format);
        if args.push {
            push(repo, config, &plan, &records)?;
        }
    }
    if args.publish {
        run_publish(ws, &plan, config, args, args.dry_run)?;
    }
    shown
}

/// What a release would write, commit, tag and push.
fn show_dry_run(
    ws: &Workspace,
    plan: &Plan,
    options: &ApplyOptions<'_>,
    config: &ReleaseConfig,
    args: &ReleaseArgs,
) -> anyhow::Result<()> {
    let files = apply::edits(&ws.graph, plan, options)?;
    let names: Vec<&str> = files
        .keys()
        .map(String::as_str)
        .chain(["Cargo.lock"])
        .collect();
    if args.format == ReleaseFormat::Json {
        let json = serde_json::json!({
            "dry_run": true,
            "plan": plan,
            "files": names,
            "commit_message": apply::commit_message(plan),
        });
        outln!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let mut text = format!("\ndry run: would write {}\n", names.join(", "));
    let _ = writeln!(text, "  commit \"{}\"", apply::commit_message(plan));
    for p in plan.packages.iter().filter(|p| p.is_released()) {
        let _ = writeln!(text, "  tag {}", p.tag.as_deref().unwrap_or(""));
    }
    if args.push {
        let _ = writeln!(text, "  push to {}", config.remote);
    }
    print_safe(&text)
}

fn show_records(records: &[ReleaseRecord], format: ReleaseFormat) -> anyhow::Result<()> {
    if format == ReleaseFormat::Json {
        let json = serde_json::json!({ "dry_run": false, "records": records });
        outln!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let mut text = String::from("\n");
    for r in records {
        let short = &r.commit[..12.min(r.commit.len())];
        let _ = writeln!(
            text,
            "released {} {} (tag {}, commit {short})",
            r.package, r.version, r.tag
        );
    }
    print_safe(&text)
}

/// The branch and the new tags, in one atomic push.
fn push(
    repo: &Repo,
    config: &ReleaseConfig,
    plan: &Plan,
    records: &[ReleaseRecord],
) -> anyhow::Result<()> {
    let mut refspecs = vec![format!("HEAD:refs/heads/{}", plan.branch.name())];
    refspecs.extend(
        records
            .iter()
            .map(|r| format!("refs/tags/{0}:refs/tags/{0}", r.tag)),
    );
    let tags: Vec<&str> = records.iter().map(|r| r.tag.as_str()).collect();
    // As a ReleaseError, so a failed push exits 3 (the remote's trouble).
    let pushed = repo
        .push(&config.remote, &refspecs)
        .map_err(xtask_release::ReleaseError::from);
    pushed.with_context(|| {
        format!(
            "the release is committed and tagged locally, but pushing to {0} failed; push again with `git push --atomic {0} HEAD {1}`",
            config.remote,
            tags.join(" ")
        )
    })?;
    eprintln!(
        "pushed {} and {} tag(s) to {}",
        plan.branch.name(),
        records.len(),
        config.remote
    );
    Ok(())
}

/// Publishes the released, publishable packages in dependency order.
fn run_publish(
    ws: &Workspace,
    plan: &Plan,
    config: &ReleaseConfig,
    args: &ReleaseArgs,
    dry_run: bool,
) -> anyhow::Result<()> {
    let mut items = Vec::new();
    for (package, planned) in ws.graph.packages.iter().zip(&plan.packages) {
        let Some(version) = planned.next_version.as_ref().filter(|_| planned.publish) else {
            continue;
        };
        let text = std::fs::read_to_string(ws.root.join(&package.manifest))
            .with_context(|| format!("failed to read {}", package.manifest))?;
        let versioned_dev = manifest::versioned_dev_dependencies(&text, &package.manifest)?;
        let after = package
            .dependencies
            .iter()
            .map(|d| ws.graph.packages[d.package].name.clone())
            .filter(|name| {
                let dev_only = package
                    .dependencies
                    .iter()
                    .filter(|d| ws.graph.packages[d.package].name == *name)
                    .all(|d| d.kind == xtask_graph::DepKind::Dev);
                !dev_only || versioned_dev.contains(name)
            })
            .collect();
        items.push(PublishItem {
            name: planned.name.clone(),
            version: version.to_string(),
            after,
        });
    }
    if items.is_empty() {
        eprintln!("publish: no released package may be published (publish = false)");
        return Ok(());
    }
    let now = || now_or_source_date();
    let sleep = |secs: u64| std::thread::sleep(std::time::Duration::from_secs(secs));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let options = PublishOptions {
        cargo: &cargo,
        root: &ws.root,
        registry: args.registry.as_deref(),
        dry_run,
        max_wait_secs: config.publish_max_wait_secs,
        now: &now,
        sleep: &sleep,
    };
    let mut show = |event: PublishEvent| {
        let line = match event {
            PublishEvent::Publishing { package, version } => format!(
                "publish: {package} {version}{}",
                if dry_run { " (dry run)" } else { "" }
            ),
            PublishEvent::Published { package } => format!("publish: {package} published"),
            PublishEvent::Skipped { package } => {
                format!("publish: {package} skipped: the registry has this version already")
            }
            PublishEvent::Waiting { package, seconds } => {
                format!("publish: {package}: the registry asks to wait {seconds} s")
            }
        };
        eprint!("{}", xtask_report::safe_message(&line, &Style::detect()));
    };
    publish::publish(&items, &options, &mut show)?;
    Ok(())
}

fn repository_links(config: &ReleaseConfig, repo: &Repo) -> Option<RepoLinks> {
    match &config.repository_url {
        Some(url) => RepoLinks::from_url(url),
        None => RepoLinks::from_url(&repo.remote_url(&config.remote).ok()??),
    }
}

/// `SOURCE_DATE_EPOCH` when set (reproducible changelogs), else the clock.
fn now_or_source_date() -> i64 {
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return epoch;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn show_plan(plan: &Plan, format: ReleaseFormat) -> anyhow::Result<()> {
    match format {
        ReleaseFormat::Json => outln!("{}", serde_json::to_string_pretty(plan)?),
        ReleaseFormat::Text => print_safe(&render_plan(plan))?,
    }
    Ok(())
}

/// Commit messages and names come from the repository: shown safely.
fn print_safe(text: &str) -> anyhow::Result<()> {
    let clean = xtask_report::safe_message(text.trim_end_matches('\n'), &Style::detect());
    out!("{clean}");
    Ok(())
}

/// The plan for people: one block per package, released ones first.
pub fn render_plan(plan: &Plan) -> String {
    let released = plan.packages.iter().filter(|p| p.is_released()).count();
    let mut text = format!(
        "release plan on {}: {released} of {} package(s) to release\n",
        plan.branch.name(),
        plan.packages.len()
    );
    let (on, off): (Vec<&PackagePlan>, Vec<&PackagePlan>) =
        plan.packages.iter().partition(|p| p.is_released());
    for p in on.into_iter().chain(off) {
        text.push('\n');
        match (&p.next_version, &p.tag) {
            (Some(next), Some(tag)) => {
                let bump = p.bump.map(|b| format!(" ({b})")).unwrap_or_default();
                let since = p
                    .last_tag
                    .as_deref()
                    .map(|t| format!(", since {t}"))
                    .unwrap_or_default();
                let change = if *next == p.current_version && p.last_tag.is_none() {
                    format!("{next} (first release)")
                } else {
                    format!("{} → {next}{bump}", p.current_version)
                };
                let _ = writeln!(text, "{} {change}  tag {tag}{since}", p.name);
            }
            _ => {
                let counted = p.commits.len();
                let _ = writeln!(
                    text,
                    "{} {}: nothing to release ({counted} commit{} since {}, none bumps)",
                    p.name,
                    p.current_version,
                    if counted == 1 { "" } else { "s" },
                    p.last_tag.as_deref().unwrap_or("the start")
                );
            }
        }
        for reason in &p.reasons {
            let _ = writeln!(text, "    why: {}", describe_reason(reason));
        }
        for c in &p.commits {
            let _ = writeln!(text, "    {}", describe_commit(c));
        }
    }
    text
}

fn describe_reason(reason: &Reason) -> String {
    match reason {
        Reason::FirstRelease => {
            "first release: no release tag yet, the manifest's version is released".into()
        }
        Reason::Commits { impact, counted } => {
            let (s, verb) = if *counted == 1 {
                ("", "bumps")
            } else {
                ("s", "bump")
            };
            format!(
                "{counted} commit{s} that {verb}, the strongest: {}",
                impact_word(*impact)
            )
        }
        Reason::Dependency {
            name,
            from,
            to,
            breaking,
        } => {
            format!(
                "dependency {name} {from} → {to}{}",
                if *breaking { " (breaking)" } else { "" }
            )
        }
        Reason::SharedVersion { with } => format!(
            "workspace.package.version is shared with {}",
            with.join(", ")
        ),
        Reason::ManifestAhead { version } => format!("Cargo.toml already says {version}"),
        Reason::ApiCheck { needed, declared } => format!(
            "cargo-semver-checks: the API change needs a {needed} bump, the commits declare {} (they under-declare)",
            declared.map_or("none".into(), |d| d.to_string())
        ),
        Reason::HotfixCap { wanted } => {
            format!("hotfix branch: patch releases only (the commits ask for {wanted})")
        }
    }
}

fn impact_word(impact: Impact) -> &'static str {
    match impact {
        Impact::Breaking => "breaking",
        Impact::Feature => "feature",
        Impact::Fix => "fix",
        Impact::None => "nothing",
    }
}

fn describe_commit(c: &PlannedCommit) -> String {
    let change = &c.change;
    let subject = match &change.kind {
        Some(kind) => {
            let scope = change
                .scope
                .as_deref()
                .map(|s| format!("({s})"))
                .unwrap_or_default();
            format!(
                "{kind}{scope}{}: {}",
                if change.breaking { "!" } else { "" },
                change.description
            )
        }
        None => change.description.clone(),
    };
    let effect = if c.reverted {
        "reverted in this release: not counted"
    } else if !change.is_conventional() {
        match c.impact {
            Impact::None => "not conventional: counted as nothing",
            Impact::Feature => "not conventional: counted as a feature",
            _ => "not conventional: counted as a fix",
        }
    } else {
        ""
    };
    let short = &c.id[..c.id.len().min(7)];
    let label = if change.breaking {
        "breaking"
    } else {
        change.kind.as_deref().unwrap_or("other")
    };
    if effect.is_empty() {
        format!("{label:<9}{short}  {subject}")
    } else {
        format!("{label:<9}{short}  {subject}  [{effect}]")
    }
}
