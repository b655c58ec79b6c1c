//! `--publish`: `cargo publish` for the released packages that may be
//! published, dependencies first — dev-dependencies with a version
//! requirement too, since the registry needs them to verify a crate — and
//! resumable: a version the registry has already is skipped, a registry's
//! "try again after" is waited for (up to a limit).

use std::path::Path;
use std::process::Command;

/// A package to publish and the ones it must come after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishItem {
    pub name: String,
    pub version: String,
    /// Names of workspace packages that must be on the registry first:
    /// normal, build and versioned dev-dependencies.
    pub after: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error(
        "cannot order the packages to publish: {cycle} depend on each other (versioned dev-dependencies count)\nhint: drop the `version` of one dev-dependency in the cycle, so cargo publish strips it"
    )]
    Cycle { cycle: String },
    #[error(
        "cargo publish -p {package} failed:\n{output}\nhint: fix the problem and run `cargo xtask release --publish` again from the release commit; versions already published are skipped"
    )]
    Failed { package: String, output: String },
    #[error(
        "the registry asks to wait until {until} before publishing {package}, longer than publish-max-wait-secs ({limit} s)\nhint: run `cargo xtask release --publish` again after that time; what was published is skipped"
    )]
    WaitTooLong {
        package: String,
        until: String,
        limit: u64,
    },
    #[error("failed to run cargo publish: {0}")]
    Spawn(String),
}

/// Dependencies first; ties in the given order.
pub fn order(items: &[PublishItem]) -> Result<Vec<usize>, PublishError> {
    let index = |name: &str| items.iter().position(|i| i.name == name);
    let mut state = vec![0u8; items.len()]; // 0 new, 1 on the stack, 2 done
    let mut out = Vec::new();
    fn visit(
        i: usize,
        items: &[PublishItem],
        index: &dyn Fn(&str) -> Option<usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), PublishError> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let from = stack.iter().position(|&s| s == i).unwrap_or(0);
                let names: Vec<&str> = stack[from..]
                    .iter()
                    .map(|&s| items[s].name.as_str())
                    .collect();
                return Err(PublishError::Cycle {
                    cycle: names.join(" → "),
                });
            }
            _ => {}
        }
        state[i] = 1;
        stack.push(i);
        for dep in &items[i].after {
            if let Some(d) = index(dep) {
                visit(d, items, index, state, stack, out)?;
            }
        }
        stack.pop();
        state[i] = 2;
        out.push(i);
        Ok(())
    }
    for i in 0..items.len() {
        visit(i, items, &index, &mut state, &mut Vec::new(), &mut out)?;
    }
    Ok(out)
}

/// What one `cargo publish` run says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published,
    /// The registry has this version already (an earlier, partial run).
    AlreadyPublished,
    /// Rate-limited: try again at this Unix time.
    RetryAt(i64),
    Failed,
}

/// Reads cargo's exit status and stderr.
pub fn classify(success: bool, stderr: &str) -> Outcome {
    if success {
        return Outcome::Published;
    }
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("already exists on")
        || lower.contains("already uploaded")
        || lower.contains("already exists in")
    {
        return Outcome::AlreadyPublished;
    }
    if let Some(at) = lower.find("try again after ") {
        let rest = &stderr[at + "try again after ".len()..];
        let end = rest
            .find(" or ")
            .or_else(|| rest.find('\n'))
            .unwrap_or(rest.len());
        if let Some(t) = crate::date::parse_http_date(rest[..end].trim_end_matches('.')) {
            return Outcome::RetryAt(t);
        }
    }
    Outcome::Failed
}

/// What publishing reports, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishEvent {
    Publishing { package: String, version: String },
    Published { package: String },
    Skipped { package: String },
    Waiting { package: String, seconds: u64 },
}

/// How to run cargo publish.
#[derive(Clone, Copy)]
pub struct PublishOptions<'a> {
    /// The cargo to run (`$CARGO` under cargo, else `cargo`).
    pub cargo: &'a std::ffi::OsStr,
    pub root: &'a Path,
    pub registry: Option<&'a str>,
    pub dry_run: bool,
    pub max_wait_secs: u64,
    /// Unix time now; a parameter so waits are testable.
    pub now: &'a dyn Fn() -> i64,
    pub sleep: &'a dyn Fn(u64),
}

/// Publishes `items` in dependency order. A dry run checks them all in one
/// `cargo publish --dry-run` (cargo overlays the workspace's unpublished
/// packages, so dependents verify against the versions being released).
pub fn publish(
    items: &[PublishItem],
    options: &PublishOptions<'_>,
    events: &mut dyn FnMut(PublishEvent),
) -> Result<(), PublishError> {
    let ordered = order(items)?;
    if items.is_empty() {
        return Ok(());
    }
    if options.dry_run {
        let names: Vec<&str> = ordered.iter().map(|&i| items[i].name.as_str()).collect();
        for &i in &ordered {
            events(PublishEvent::Publishing {
                package: items[i].name.clone(),
                version: items[i].version.clone(),
            });
        }
        let (ok, stderr) = run(options, &names)?;
        if !ok {
            return Err(PublishError::Failed {
                package: names.join(" -p "),
                output: tail(&stderr),
            });
        }
        return Ok(());
    }
    for &i in &ordered {
        let item = &items[i];
        events(PublishEvent::Publishing {
            package: item.name.clone(),
            version: item.version.clone(),
        });
        loop {
            let (ok, stderr) = run(options, &[&item.name])?;
            match classify(ok, &stderr) {
                Outcome::Published => events(PublishEvent::Published {
                    package: item.name.clone(),
                }),
                Outcome::AlreadyPublished => events(PublishEvent::Skipped {
                    package: item.name.clone(),
                }),
                Outcome::RetryAt(at) => {
                    let wait = u64::try_from(at - (options.now)()).unwrap_or(0).max(1);
                    if wait > options.max_wait_secs {
                        return Err(PublishError::WaitTooLong {
                            package: item.name.clone(),
                            until: crate::date::iso_date(at) + &format!(" (+{wait} s)"),
                            limit: options.max_wait_secs,
                        });
                    }
                    events(PublishEvent::Waiting {
                        package: item.name.clone(),
                        seconds: wait,
                    });
                    (options.sleep)(wait);
                    continue;
                }
                Outcome::Failed => {
                    return Err(PublishError::Failed {
                        package: item.name.clone(),
                        output: tail(&stderr),
                    });
                }
            }
            break;
        }
    }
    Ok(())
}

fn run(options: &PublishOptions<'_>, packages: &[&str]) -> Result<(bool, String), PublishError> {
    let mut command = Command::new(options.cargo);
    command
        .current_dir(options.root)
        .args(["publish", "--locked"]);
    for p in packages {
        command.args(["-p", p]);
    }
    if let Some(registry) = options.registry {
        command.args(["--registry", registry]);
    }
    if options.dry_run {
        command.arg("--dry-run");
    }
    let output = command
        .output()
        .map_err(|e| PublishError::Spawn(e.to_string()))?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// The end of cargo's output: where its error is.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, after: &[&str]) -> PublishItem {
        PublishItem {
            name: name.into(),
            version: "1.0.0".into(),
            after: after.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn dependencies_and_versioned_dev_dependencies_first() {
        let items = [
            item("app", &["lib", "testkit"]),
            item("testkit", &["lib"]),
            item("lib", &[]),
            item("lonely", &["not-released"]),
        ];
        let names: Vec<&str> = order(&items)
            .unwrap()
            .into_iter()
            .map(|i| items[i].name.as_str())
            .collect();
        assert_eq!(names, ["lib", "testkit", "app", "lonely"]);
        let cyclic = [item("a", &["b"]), item("b", &["a"])];
        assert_eq!(
            order(&cyclic).unwrap_err(),
            PublishError::Cycle {
                cycle: "a → b".into()
            }
        );
    }

    #[test]
    fn cargo_outputs() {
        assert_eq!(classify(true, ""), Outcome::Published);
        assert_eq!(
            classify(
                false,
                "error: crate a@1.0.0 already exists on crates.io index"
            ),
            Outcome::AlreadyPublished
        );
        assert_eq!(
            classify(
                false,
                "error: failed to publish to registry at https://crates.io\n\nCaused by:\n  the remote server responded with an error: crate version `1.0.0` is already uploaded"
            ),
            Outcome::AlreadyPublished
        );
        let limited = "Caused by:\n  the remote server responded with an error (status 429 Too Many Requests): You have published too many new crates in a short period of time. Please try again after Tue, 01 Dec 2026 15:04:05 GMT or email help@crates.io to have your limit increased.";
        assert_eq!(
            classify(false, limited),
            Outcome::RetryAt(
                crate::date::parse_http_date("Tue, 01 Dec 2026 15:04:05 GMT").unwrap()
            )
        );
        assert_eq!(classify(false, "error: no token found"), Outcome::Failed);
    }
}
