//! `cargo xtask cache status|verify|prune|clean`.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use xtask_cache::PrunePolicy;
use xtask_config::units;
use xtask_engine::Workspace;
use xtask_remote::{Blame, CliRemote};

use crate::args::{CacheCommand, PruneArgs};
use crate::stdout::outln;

const DEFAULT_MAX_BYTES: u64 = 10 << 30;
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);

pub fn cache(
    ws: &Workspace,
    command: CacheCommand,
    remote_flags: &CliRemote,
) -> anyhow::Result<ExitCode> {
    let cache = &ws.cache;
    match command {
        CacheCommand::Status => return status(ws, remote_flags),
        CacheCommand::Verify => return verify(ws),
        CacheCommand::Prune(args) => {
            let policy = prune_policy(ws, &args)?;
            let report = cache.prune(&policy).context("failed to prune the cache")?;
            outln!(
                "removed {} entries ({}) and {} temp files; {} entries ({}) remain",
                report.removed_entries,
                human_bytes(report.removed_bytes),
                report.removed_tmp_files,
                report.remaining_entries,
                human_bytes(report.remaining_bytes)
            );
        }
        CacheCommand::Clean => {
            let report = cache.clean().context("failed to clean the cache")?;
            outln!(
                "removed {} entries ({})",
                report.removed_entries,
                human_bytes(report.removed_bytes)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status(ws: &Workspace, remote_flags: &CliRemote) -> anyhow::Result<ExitCode> {
    let cache = &ws.cache;
    let status = cache.status().context("failed to read the cache")?;
    let policy = configured_policy(ws);
    outln!("local cache   {}", cache.dir().display());
    outln!("entries       {}", status.entries);
    outln!("size          {}", human_bytes(status.total_bytes));
    outln!("oldest used   {}", age(status.oldest));
    outln!("newest used   {}", age(status.newest));
    outln!(
        "limits        {} , {} days (cache.max-size, cache.max-age)",
        human_bytes(policy.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)),
        policy.max_age.unwrap_or(DEFAULT_MAX_AGE).as_secs() / 86_400
    );
    match super::remote_settings(ws, remote_flags) {
        Ok(None) => outln!(
            "remote cache  off (set [workspace.metadata.xtask.remote-cache] url, XTASK_REMOTE_CACHE_URL or --remote-cache=URL)"
        ),
        Ok(Some(settings)) => {
            outln!("remote cache");
            for (name, value) in settings.describe() {
                outln!("  {name:<20} {value}");
            }
        }
        Err(error) if error.blame() == Blame::Environment => outln!(
            "remote cache  unusable here, so runs warn and use the local cache only: {error}"
        ),
        Err(error) => return Err(error.into()),
    }
    if status.tmp_files > 0 {
        outln!(
            "temp files    {} ({}), left by interrupted writes; `cache prune` removes old ones",
            status.tmp_files,
            human_bytes(status.tmp_bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(ws: &Workspace) -> anyhow::Result<ExitCode> {
    let cache = &ws.cache;
    let report = cache.verify().context("failed to verify the cache")?;
    for bad in &report.removed {
        // The reason may quote a hostile entry's member names.
        outln!(
            "removed {}: {}",
            bad.key,
            xtask_report::clean_message(&bad.reason.to_string())
        );
    }
    outln!(
        "checked {} entries, {} damaged and removed",
        report.checked,
        report.removed.len()
    );
    if !report.removed.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The limits from `[workspace.metadata.xtask.cache]`, or the defaults.
pub fn configured_policy(ws: &Workspace) -> PrunePolicy {
    PrunePolicy {
        max_bytes: Some(ws.pipeline.cache.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)),
        max_age: Some(ws.pipeline.cache.max_age.unwrap_or(DEFAULT_MAX_AGE)),
    }
}

fn prune_policy(ws: &Workspace, args: &PruneArgs) -> anyhow::Result<PrunePolicy> {
    let mut policy = configured_policy(ws);
    if let Some(size) = &args.max_size {
        policy.max_bytes = Some(units::parse_size(size).with_context(|| {
            format!(
                "`--max-size {size}` is not a size\nhint: write {}",
                xtask_config::units::SIZE_HINT
            )
        })?);
    }
    if let Some(age) = &args.max_age {
        policy.max_age = Some(units::parse_age(age).with_context(|| {
            format!(
                "`--max-age {age}` is not an age\nhint: write {}",
                xtask_config::units::DURATION_HINT
            )
        })?);
    }
    Ok(policy)
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn age(time: Option<SystemTime>) -> String {
    let Some(time) = time else { return "-".into() };
    let secs = SystemTime::now()
        .duration_since(time)
        .unwrap_or_default()
        .as_secs();
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}
