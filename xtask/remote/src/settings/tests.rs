//! What `RemoteSettings::resolve` makes of each layer, its mistakes and their
//! blame, the masking of secrets, and the table every layer reads.

use super::table::{self, parse_duration, parse_size};
use super::*;

fn resolve(
    toml: &str,
    env: &[(&str, &str)],
    cli: CliRemote,
) -> Result<Option<RemoteSettings>, RemoteError> {
    let table: toml::Table = toml.parse().unwrap();
    let env = |name: &str| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    };
    RemoteSettings::resolve(Some(&table), Path::new("/ws/Cargo.toml"), &env, &cli)
}

#[test]
fn precedence_is_manifest_then_env_then_cli() {
    let s = resolve(
        "url = \"file:///a\"\nmode = \"read\"",
        &[("XTASK_REMOTE_CACHE_URL", "file:///b")],
        CliRemote::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.url.value, "file:///b");
    assert_eq!(s.mode(), Mode::Read);
    let cli = CliRemote {
        url: Some("file:///c".into()),
        mode: Some(Mode::Write),
    };
    let s = resolve(
        "url = \"file:///a\"",
        &[("XTASK_REMOTE_CACHE_URL", "file:///b")],
        cli,
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.url.value, "file:///c");
    assert_eq!(s.url.source, Source::Cli("--remote-cache"));
    assert_eq!(s.mode(), Mode::Write);
    // Ours win over Turborepo's.
    let s = resolve(
        "",
        &[
            ("TURBO_API", "http://t"),
            ("XTASK_REMOTE_CACHE_URL", "file:///x"),
            ("TURBO_TOKEN", "tok1"),
        ],
        CliRemote::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.url.value, "file:///x");
}

#[test]
fn nothing_configured_or_off_is_none() {
    assert!(resolve("", &[], CliRemote::default()).unwrap().is_none());
    let cli = CliRemote {
        url: None,
        mode: Some(Mode::Off),
    };
    assert!(resolve("url = \"file:///a\"", &[], cli).unwrap().is_none());
}

#[test]
fn turbo_token_and_team_alone_mean_the_hosted_cache() {
    let s = resolve(
        "",
        &[("TURBO_TOKEN", "tok-123"), ("TURBO_TEAM", "acme")],
        CliRemote::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.backend(), BackendKind::Turbo);
    assert_eq!(s.url.value, DEFAULT_TURBO_API);
}

#[test]
fn mistakes_name_the_key_and_the_fix() {
    /// Manifest table, env, what the message must say, what it must not.
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [&'a str],
        &'a [&'a str],
    );
    let cases: &[Case] = &[
        (
            "urll = \"x\"",
            &[],
            &["unknown key `urll`", "/ws/Cargo.toml", "`url`"],
            &[],
        ),
        (
            "token = \"abc-secret\"",
            &[],
            &["`token`", "TURBO_TOKEN"],
            &["abc-secret"],
        ),
        (
            "url = \"file:///a\"\nmode = \"rwx\"",
            &[],
            &["`mode` in /ws/Cargo.toml", "read-write, read, write or off"],
            &[],
        ),
        (
            "url = \"file:///a\"\ntimeout = \"soon\"",
            &[],
            &["`timeout`", "30s"],
            &[],
        ),
        (
            "",
            &[("XTASK_REMOTE_CACHE_URL", "ftp://x")],
            &["XTASK_REMOTE_CACHE_URL", "s3://"],
            &[],
        ),
        (
            "url = \"http://127.0.0.1:1\"",
            &[("TURBO_TOKEN", "tok-123")],
            &["needs a team", "TURBO_TEAM"],
            &[],
        ),
        (
            "url = \"http://127.0.0.1:1\"",
            &[("TURBO_TEAM", "t")],
            &["needs a token"],
            &[],
        ),
        (
            "url = \"file:///a\"\nsignature = true",
            &[],
            &["SIGNATURE_KEY"],
            &[],
        ),
        (
            "url = \"file:///a\"\nnamespace = \"../x\"",
            &[],
            &["`namespace`"],
            &[],
        ),
    ];
    for (table, env, says, hides) in cases {
        let err = resolve(table, env, CliRemote::default())
            .unwrap_err()
            .to_string();
        for piece in *says {
            assert!(
                err.contains(piece),
                "{table:?}: expected `{piece}` in {err}"
            );
        }
        for secret in *hides {
            assert!(
                !err.contains(secret),
                "{table:?}: `{secret}` leaked in {err}"
            );
        }
    }
}

#[test]
fn only_mistakes_in_the_manifest_or_on_the_command_line_are_blamed_on_the_configuration() {
    use crate::Blame::{self, Configuration, Environment};
    let cli = |url: Option<&str>, mode: Option<Mode>| CliRemote {
        url: url.map(Into::into),
        mode,
    };
    let none = || cli(None, None);
    /// Manifest table, env, flags, whose problem it is.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], CliRemote, Blame);
    let fork = [("TURBO_API", "https://c.example"), ("TURBO_TEAM", "t")];
    let fork_empty_token = [
        ("TURBO_API", "https://c.example"),
        ("TURBO_TEAM", "t"),
        ("TURBO_TOKEN", ""),
    ];
    let file = "url = \"file:///a\"";
    let cases: Vec<Case> = vec![
        // A fork's pull request: the URL is configured, the token is a
        // secret it never receives.
        ("", &fork, none(), Environment),
        ("", &fork_empty_token, none(), Environment),
        (
            "url = \"https://c.example\"\nteam = \"acme\"",
            &[],
            none(),
            Environment,
        ),
        (
            "url = \"https://c.example\"",
            &[("TURBO_TOKEN", "tok")],
            none(),
            Environment,
        ),
        (
            "url = \"file:///a\"\nsignature = true",
            &[],
            none(),
            Environment,
        ),
        (
            "",
            &[("XTASK_REMOTE_CACHE_URL", "ftp://x")],
            none(),
            Environment,
        ),
        (
            "",
            &[("XTASK_REMOTE_CACHE_URL", "file://rel")],
            none(),
            Environment,
        ),
        (
            file,
            &[("XTASK_REMOTE_CACHE_MODE", "sideways")],
            none(),
            Environment,
        ),
        (
            file,
            &[("XTASK_REMOTE_CACHE_TIMEOUT", "soon")],
            none(),
            Environment,
        ),
        (
            file,
            &[("XTASK_REMOTE_CACHE_UNTRUSTED_NAMESPACE", "main")],
            none(),
            Environment,
        ),
        ("url = \"ftp://x\"", &[], none(), Configuration),
        ("url = \"file://rel\"", &[], none(), Configuration),
        (
            "url = \"file:///a\"\nmode = \"sideways\"",
            &[],
            none(),
            Configuration,
        ),
        (
            "url = \"file:///a\"\nuntrusted-namespace = \"main\"",
            &[],
            none(),
            Configuration,
        ),
        ("urll = \"x\"", &[], none(), Configuration),
        ("token = \"t\"", &[], none(), Configuration),
        ("", &[], cli(Some("ftp://x"), None), Configuration),
        ("", &[], cli(Some("file://rel"), None), Configuration),
    ];
    for (table, env, flags, blame) in cases {
        let err = match resolve(table, env, flags.clone()) {
            Ok(found) => panic!("{table:?} {env:?} {flags:?}: resolved to {found:?}"),
            Err(err) => err,
        };
        assert_eq!(err.blame(), blame, "{table:?} {env:?} {flags:?}: {err}");
    }
    // What a flag replaces, or turns off, is no longer a problem.
    let env = [("XTASK_REMOTE_CACHE_MODE", "sideways")];
    let s = resolve(file, &env, cli(None, Some(Mode::Read))).unwrap();
    assert_eq!(s.unwrap().mode(), Mode::Read);
    assert!(
        resolve("", &fork, cli(None, Some(Mode::Off)))
            .unwrap()
            .is_none()
    );
}

#[test]
fn describe_masks_secrets() {
    let s = resolve(
        "url = \"http://user:pw-secret@127.0.0.1:1\"\nteam = \"acme\"",
        &[
            ("TURBO_TOKEN", "tok-very-secret"),
            ("XTASK_REMOTE_CACHE_SIGNATURE_KEY", "sig-very-secret"),
            ("AWS_SECRET_ACCESS_KEY", "aws-very-secret"),
            ("AWS_REGION", "eu-west-1"),
        ],
        CliRemote::default(),
    )
    .unwrap()
    .unwrap();
    let text = format!("{:?}\n{:?}", s.describe(), s);
    for secret in [
        "tok-very-secret",
        "sig-very-secret",
        "aws-very-secret",
        "pw-secret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(
        text.contains("eu-west-1") && text.contains("env TURBO_TOKEN"),
        "{text}"
    );
    assert!(s.signature.value, "a key turns signing on");
}

#[test]
fn durations_and_sizes() {
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
    assert_eq!(parse_duration("soon"), None);
    assert_eq!(parse_size("512MiB"), Some(512 << 20));
    assert_eq!(parse_size("2GiB"), Some(2 << 30));
    assert_eq!(parse_size("0"), None);
    assert_eq!(parse_size("1 furlong"), None);
}

/// A valid value of each setting, as a variable would hold it.
fn sample_text(key: &str) -> &'static str {
    match key {
        "url" => "file:///b",
        "mode" => "read",
        "namespace" => "ns",
        "untrusted-namespace" => "other",
        "trusted" | "signature" => "false",
        "team" => "acme",
        "team-id" => "t1",
        "timeout" | "flush-time-limit" => "5s",
        "max-artifact-size" => "1MiB",
        "token" => "tok",
        "signature-key" => "key",
        other => panic!("give `{other}` a sample value here"),
    }
}

/// The `describe` line of `key` (cloud options under object_store's name).
fn described(settings: &RemoteSettings, key: &str) -> String {
    let name = if key == "allow-http" {
        "allow_http"
    } else {
        key
    };
    let lines = settings.describe();
    lines
        .iter()
        .find(|(line, _)| line == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| panic!("no `{name}` in {lines:?}"))
}

#[test]
fn every_variable_of_the_table_sets_its_own_setting() {
    for spec in table::SETTINGS {
        for var in spec.env {
            let value = match var {
                table::Var::Value(_) => sample_text(spec.key),
                table::Var::WhenTrue(..) => "1",
            };
            let name = var.name();
            let s = resolve(
                "url = \"file:///a\"",
                &[(name, value)],
                CliRemote::default(),
            )
            .unwrap()
            .unwrap();
            let line = described(&s, spec.key);
            assert!(line.ends_with(&format!("(env {name})")), "{name}: {line}");
        }
    }
}

#[test]
fn every_manifest_key_of_the_table_sets_its_own_setting() {
    let samples = [
        ("url", "\"file:///b\""),
        ("mode", "\"read\""),
        ("namespace", "\"ns\""),
        ("untrusted-namespace", "\"other\""),
        ("trusted", "false"),
        ("team", "\"acme\""),
        ("team-id", "\"t1\""),
        ("signature", "false"),
        ("timeout", "\"5s\""),
        ("connect-timeout", "\"2s\""),
        ("upload-concurrency", "8"),
        ("flush-time-limit", "\"5s\""),
        ("max-artifact-size", "\"1MiB\""),
        ("region", "\"eu-west-1\""),
        ("endpoint", "\"http://127.0.0.1:1\""),
        ("allow-http", "true"),
    ];
    let keys: Vec<_> = table::manifest_keys().collect();
    assert_eq!(keys, samples.map(|(key, _)| key), "one sample per key");
    for (key, value) in samples {
        let toml = if key == "url" {
            format!("{key} = {value}")
        } else {
            format!("url = \"file:///a\"\n{key} = {value}")
        };
        let s = resolve(&toml, &[], CliRemote::default()).unwrap().unwrap();
        let line = described(&s, key);
        assert!(line.ends_with("(/ws/Cargo.toml)"), "{key}: {line}");
    }
}

#[test]
fn the_table_names_each_key_and_variable_once() {
    let mut keys: Vec<_> = table::SETTINGS.iter().map(|spec| spec.key).collect();
    let mut vars: Vec<_> = table::SETTINGS
        .iter()
        .flat_map(|spec| spec.env.iter().map(table::Var::name))
        .chain(table::CLOUD_ENV.iter().copied())
        .collect();
    for list in [&mut keys, &mut vars] {
        let before = list.len();
        list.sort_unstable();
        list.dedup();
        assert_eq!(list.len(), before, "a name is listed twice");
    }
    // The refusal of a secret in the manifest names every variable it is read from.
    for spec in table::SETTINGS {
        if let table::Value::Secret { hint, .. } = &spec.value {
            for var in spec.env {
                assert!(hint.contains(var.name()), "{}: {hint}", spec.key);
            }
        }
    }
    assert_eq!(
        own_secret_env().collect::<Vec<_>>(),
        [
            "TURBO_TOKEN",
            "XTASK_REMOTE_CACHE_TOKEN",
            "TURBO_REMOTE_CACHE_SIGNATURE_KEY",
            "XTASK_REMOTE_CACHE_SIGNATURE_KEY"
        ]
    );
}
