//! `run`'s and `affected`'s scope flags turned, once, into the engine's typed
//! [`Scope`]: every `--filter` parsed, and `--affected`'s base taken from
//! `--base`, else the environment CI sets, else left to git (the branch point
//! of the default branch, which the engine asks). Nothing below the cli reads
//! these variables.

use xtask_engine::Workspace;
use xtask_engine::scope::{self, AffectedRange, Base, Scope, ScopeError};

use crate::args::ScopeArgs;

/// The flags as the engine takes them; `env` reads a variable.
pub fn parse(args: &ScopeArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Scope, ScopeError> {
    let affected = args
        .affected
        .then(|| affected_range(args.base.as_deref(), args.head.as_deref(), env));
    Scope::parse(&args.filter, affected)
}

/// `--base`/`--head` with their defaults: the base `$XTASK_BASE`, else
/// `origin/$GITHUB_BASE_REF` (set on GitHub Actions pull requests), else the
/// default branch's branch point; the head `HEAD` (working tree included).
pub fn affected_range(
    base: Option<&str>,
    head: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> AffectedRange {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let base = if let Some(base) = base {
        Base::Given(base.to_string())
    } else if let Some(base) = set("XTASK_BASE") {
        Base::Given(base.trim().to_string())
    } else if let Some(branch) = set("GITHUB_BASE_REF") {
        // Actions checks out the merge commit; the base branch is on `origin`.
        Base::Given(format!("origin/{}", branch.trim()))
    } else {
        Base::DefaultBranch
    };
    AffectedRange {
        base,
        head: head.unwrap_or("HEAD").to_string(),
    }
}

/// The packages `scope` selects in `ws`; a filter that selects nothing is a
/// warning on stderr.
pub fn selected_packages(ws: &Workspace, scope: &Scope) -> Result<Vec<usize>, ScopeError> {
    let selection = scope::select_in(ws, scope)?;
    for warning in &selection.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(selection.packages)
}

/// The process environment, as [`parse`] and [`affected_range`] read it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn base_with(flag: Option<&str>, vars: &[(&str, &str)]) -> Base {
        affected_range(flag, None, &env_of(vars)).base
    }

    #[test]
    fn the_base_is_the_flag_then_xtask_base_then_github_base_ref_then_git() {
        let both = [("XTASK_BASE", "v1.2"), ("GITHUB_BASE_REF", "main")];
        assert_eq!(base_with(Some("v0.9"), &both), Base::Given("v0.9".into()));
        assert_eq!(base_with(None, &both), Base::Given("v1.2".into()));
        assert_eq!(
            base_with(None, &[("GITHUB_BASE_REF", " release/2 ")]),
            Base::Given("origin/release/2".into())
        );
        // GitHub sets GITHUB_BASE_REF to "" outside pull requests.
        let empty = [("XTASK_BASE", ""), ("GITHUB_BASE_REF", "")];
        assert_eq!(base_with(None, &empty), Base::DefaultBranch);
        assert_eq!(base_with(None, &[]), Base::DefaultBranch);
    }

    #[test]
    fn the_head_defaults_to_head_and_affected_is_off_unless_asked() {
        let none = env_of(&[]);
        assert_eq!(affected_range(None, None, &none).head, "HEAD");
        assert_eq!(affected_range(None, Some("topic"), &none).head, "topic");
        let args = ScopeArgs {
            filter: vec!["api...".into()],
            ..ScopeArgs::default()
        };
        let scope = parse(&args, &none).unwrap();
        assert_eq!(scope.filters.len(), 1);
        assert_eq!(scope.affected, None);
        let args = ScopeArgs {
            filter: vec!["api".into(), "a b".into()],
            affected: true,
            ..ScopeArgs::default()
        };
        assert!(matches!(
            parse(&args, &none),
            Err(ScopeError::BadFilter { .. })
        ));
    }
}
