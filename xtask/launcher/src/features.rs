//! Which cargo features the engine is built with. TLS (rustls, ring, the
//! webpki roots) is a tenth of the engine's first build and only an https
//! remote cache needs it, so it is built in only when one may be configured:
//! the decision reads the environment, the arguments and the manifests that
//! can name a remote (a few small reads), and errs towards TLS — a needless
//! TLS build costs seconds once, a missing one costs the remote cache.
//!
//! Once built with TLS, the engine keeps it (the stamp's key records it): a
//! variable set in one shell and not in another must not rebuild the engine
//! at every switch.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The engine's optional features this launch wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub tls: bool,
}

/// How the stamp's key names a build with TLS.
const TLS_IN_KEY: &str = " features tls";

/// Manifests larger than this are not scanned: TLS is assumed.
const MANIFEST_SCAN_LIMIT: u64 = 1 << 20;

impl Features {
    /// What this launch needs, or what the previous build (its stamp's
    /// `previous_key`) had if that is more.
    pub fn wanted(args: &[OsString], previous_key: Option<&str>) -> Features {
        let kept = previous_key.is_some_and(|key| key.contains(TLS_IN_KEY));
        let env = |name: &str| std::env::var_os(name);
        let cwd = std::env::current_dir().unwrap_or_default();
        Features {
            tls: kept || https_remote_possible(&env, args, &cwd),
        }
    }

    /// The part of the stamp's key that says which features were built.
    pub fn key_part(self) -> &'static str {
        if self.tls {
            TLS_IN_KEY
        } else {
            " features none"
        }
    }

    /// Arguments for `cargo build` of the engine.
    pub fn cargo_args(self) -> &'static [&'static str] {
        if self.tls {
            &["--features", "tls"]
        } else {
            &[]
        }
    }
}

/// Whether the engine may be asked to reach an https remote cache: a URL
/// variable or argument says https, a token is set without a URL (the
/// hosted Turborepo cache is the default then), or a workspace manifest the
/// engine may read has `https:` in a table that can hold the remote's URL.
fn https_remote_possible(
    env: &dyn Fn(&str) -> Option<OsString>,
    args: &[OsString],
    cwd: &Path,
) -> bool {
    let set = |name: &str| env(name).filter(|value| !value.is_empty());
    let urls: Vec<OsString> = ["XTASK_REMOTE_CACHE_URL", "TURBO_API"]
        .iter()
        .filter_map(|name| set(name))
        .collect();
    if urls.iter().any(|url| says_https(url)) {
        return true;
    }
    let token = set("TURBO_TOKEN").or_else(|| set("XTASK_REMOTE_CACHE_TOKEN"));
    if urls.is_empty() && token.is_some() {
        return true;
    }
    if args.iter().any(|arg| says_https(arg)) {
        return true;
    }
    // The engine finds its workspace from its working directory (`-C`), up:
    // every manifest on that way may be the root one.
    let start = working_directory_of(args).map_or_else(|| cwd.to_path_buf(), |dir| cwd.join(dir));
    start
        .ancestors()
        .any(|dir| manifest_may_name_https(&dir.join("Cargo.toml")))
}

fn says_https(text: &OsStr) -> bool {
    text.to_string_lossy()
        .to_ascii_lowercase()
        .contains("https:")
}

/// The engine's `-C DIR` / `--cwd DIR` (the last one given), as written.
fn working_directory_of(args: &[OsString]) -> Option<PathBuf> {
    let mut dir = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "-C" || text == "--cwd" {
            dir = args.next().map(PathBuf::from);
        } else if let Some(rest) = text.strip_prefix("--cwd=") {
            dir = Some(PathBuf::from(rest));
        } else if let Some(rest) = text.strip_prefix("-C") {
            dir = Some(PathBuf::from(rest.strip_prefix('=').unwrap_or(rest)));
        }
    }
    dir
}

/// Whether `manifest` has `https:` at its top level, in `[workspace]` or in
/// a `[workspace.metadata…]` table: the places a remote-cache URL can be
/// written (as a table, dotted keys or an inline table). An unreadable or
/// huge manifest counts as one that may.
fn manifest_may_name_https(manifest: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(manifest) else {
        return false;
    };
    if meta.len() > MANIFEST_SCAN_LIMIT {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return meta.is_file();
    };
    let mut in_scope = true; // keys before the first header
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('[') {
            let header: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            let header = header.trim_start_matches('[');
            in_scope = header.starts_with("workspace]") || header.starts_with("workspace.metadata");
        } else if in_scope && line.to_ascii_lowercase().contains("https:") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    fn possible(vars: &[(&str, &str)], args: &[&str], cwd: &Path) -> bool {
        let env = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        };
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        https_remote_possible(&env, &args, cwd)
    }

    #[test]
    fn the_environment_and_arguments_decide_first() {
        let dir = TestDir::new("features-env");
        let none: &[(&str, &str)] = &[];
        assert!(!possible(none, &["run", "check"], dir.path()));
        for vars in [
            &[("TURBO_API", "https://cache.example")][..],
            &[("XTASK_REMOTE_CACHE_URL", "HTTPS://cache.example")],
            &[("TURBO_TOKEN", "t"), ("TURBO_TEAM", "acme")],
            &[("XTASK_REMOTE_CACHE_TOKEN", "t")],
            &[("TURBO_API", ""), ("TURBO_TOKEN", "t")],
        ] {
            assert!(possible(vars, &["run"], dir.path()), "{vars:?}");
        }
        for vars in [
            &[("TURBO_API", "http://127.0.0.1:3000"), ("TURBO_TOKEN", "t")][..],
            &[("XTASK_REMOTE_CACHE_URL", "file:///mnt/cache")],
            &[("TURBO_TOKEN", "")],
        ] {
            assert!(!possible(vars, &["run"], dir.path()), "{vars:?}");
        }
        assert!(possible(
            none,
            &["run", "--remote-cache=https://c.example"],
            dir.path()
        ));
        assert!(possible(
            none,
            &["run", "--remote-cache", "https://c.example"],
            dir.path()
        ));
        assert!(!possible(
            none,
            &["run", "--remote-cache=http://127.0.0.1"],
            dir.path()
        ));
    }

    #[test]
    fn a_manifest_on_the_way_up_from_the_working_directory_may_name_one() {
        let dir = TestDir::new("features-manifest");
        let none: &[(&str, &str)] = &[];
        dir.write(
            "ws/Cargo.toml",
            "[workspace]\nmembers = [\"a\"]\n[workspace.package]\nrepository = \"https://github.com/x/y\"\n",
        );
        dir.write("ws/a/src/lib.rs", "");
        let sub = dir.path().join("ws/a");
        assert!(
            !possible(none, &["run"], &sub),
            "a repository URL is not a remote"
        );

        for table in [
            "[workspace.metadata.xtask.remote-cache]\nurl = \"https://c.example\"\n",
            "[workspace.metadata.xtask]\nremote-cache = { url = \"https://c.example\" }\n",
            "[workspace.metadata]\nxtask.remote-cache.url = \"https://c.example\"\n",
            "[ workspace ]\nmetadata.xtask.remote-cache.url = 'HTTPS://c.example'\n",
        ] {
            dir.write(
                "ws/Cargo.toml",
                &format!("[package]\nname = \"w\"\n{table}"),
            );
            assert!(possible(none, &["run"], &sub), "{table}");
        }
        // Through -C, wherever the launch itself started.
        let elsewhere = TestDir::new("features-elsewhere");
        let ws = dir
            .path()
            .join("ws")
            .into_os_string()
            .into_string()
            .unwrap();
        for args in [
            vec!["-C", ws.as_str(), "run"],
            vec!["run", "--cwd", ws.as_str()],
        ] {
            assert!(possible(none, &args, elsewhere.path()), "{args:?}");
        }
        assert!(possible(
            none,
            &["run", &format!("--cwd={ws}")],
            elsewhere.path()
        ));
        assert!(possible(
            none,
            &["run", &format!("-C{ws}")],
            elsewhere.path()
        ));
        assert!(!possible(none, &["run"], elsewhere.path()));
    }

    #[test]
    fn tls_once_built_is_kept_and_named_in_the_key() {
        let with = Features { tls: true };
        let without = Features { tls: false };
        assert_ne!(with.key_part(), without.key_part());
        assert_eq!(with.cargo_args(), ["--features", "tls"]);
        assert!(without.cargo_args().is_empty());
        let key = format!("launcher 0.1.0{}", with.key_part());
        assert!(Features::wanted(&[], Some(&key)).tls);
    }
}
