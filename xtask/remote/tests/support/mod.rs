//! Shared test support: real servers started on 127.0.0.1 ephemeral ports and
//! stopped on drop, cache entries made by the real xtask-cache, hand-made
//! malicious entries, a warning collector, and a fault-injecting HTTP proxy.
//!
//! Servers are found through variables that `.ci/remote-services.sh` exports:
//! `XTASK_TEST_S3S_FS` (the s3s-fs binary) and `XTASK_TEST_NODE_MODULES` (a
//! node_modules with azurite and turborepo-remote-cache). Without them a test
//! fails when `CI=true` and is skipped with a notice otherwise.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use xtask_cache::{Artifact, LocalCache, Lookup, RestoreLimits};
use xtask_remote::{CliRemote, Remote, RemoteSettings};

/// The path in env var `name`, or `None` (skip) outside CI; in CI its absence is
/// a failure, so a broken CI setup cannot pass by skipping everything.
pub fn require(name: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(name) {
        Some(value) if !value.is_empty() => Some(PathBuf::from(value)),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1") => {
            panic!("{name} is not set: CI must provide {what} (source .ci/remote-services.sh)")
        }
        _ => {
            // Straight to stderr: libtest captures `eprintln!` of passing tests,
            // and a skip must be visible.
            let _ = writeln!(
                std::io::stderr(),
                "notice: skipping a test: {name} is not set ({what}); \
                 `source .ci/remote-services.sh` to run it"
            );
            None
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts `command` (which must listen on `port`) and waits until it accepts
    /// connections.
    pub fn start(mut command: Command, port: u16, dir: tempfile::TempDir, what: &str) -> Server {
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("failed to start {what}: {err}"));
        let mut server = Server { child, port, dir };
        // Generous: on two cores beside a parallel build, a Node server
        // (Azurite) has taken over 30 s to start listening.
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = || {
                std::fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default()
            };
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{what} exited with {status}:\n{}", log());
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not start listening on {port} within 120 s:\n{}",
                log()
            );
            thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const TURBO_SERVER_TOKEN: &str = "server-secret-token-1234";

/// turborepo-remote-cache 2.12.0 with local storage; it echoes `x-artifact-tag`
/// because a signature key is set on the server.
pub fn start_turbo_server() -> Option<Server> {
    let modules = require(
        "XTASK_TEST_NODE_MODULES",
        "npm turborepo-remote-cache@2.12.0",
    )?;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new("node");
    command
        .arg(modules.join("turborepo-remote-cache/dist/cli.js"))
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("STORAGE_PROVIDER", "local")
        .env("STORAGE_PATH", dir.path().join("data"))
        .env("STORAGE_PATH_USE_TMP_FOLDER", "false")
        .env("TURBO_TOKEN", TURBO_SERVER_TOKEN)
        .env("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "server-side-key")
        .env("LOG_LEVEL", "warn");
    Some(Server::start(command, port, dir, "turborepo-remote-cache"))
}

pub const S3_ACCESS_KEY: &str = "AKIDTESTXTASK";
pub const S3_SECRET_KEY: &str = "s3-secret-key-for-tests";

/// s3s-fs 0.14.1 serving `<dir>/data`, with bucket `bucket` (a directory).
pub fn start_s3s_fs() -> Option<Server> {
    let binary = require("XTASK_TEST_S3S_FS", "the s3s-fs 0.14.1 binary")?;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/bucket")).unwrap();
    let mut command = Command::new(binary);
    command
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
        .arg(dir.path().join("data"));
    Some(Server::start(command, port, dir, "s3s-fs"))
}

/// Settings from a manifest snippet and an environment, as the CLI would resolve them.
pub fn settings(toml: &str, env: &[(&str, String)]) -> RemoteSettings {
    let table: toml::Table = toml.parse().unwrap();
    let env_fn = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    RemoteSettings::resolve(
        Some(&table),
        Path::new("/ws/Cargo.toml"),
        &env_fn,
        &CliRemote::default(),
    )
    .unwrap()
    .expect("a remote is configured")
}

/// Collects warnings.
#[derive(Clone, Default)]
pub struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    pub fn sink(&self) -> Box<dyn Fn(String) + Send + Sync> {
        let list = Arc::clone(&self.0);
        Box::new(move |warning| list.lock().unwrap().push(warning))
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Asserts no secret value appears in any warning.
    pub fn assert_no_secret(&self, secrets: &[&str]) {
        for warning in self.all() {
            for secret in secrets {
                assert!(
                    !warning.contains(secret),
                    "secret {secret:?} in warning: {warning}"
                );
            }
        }
    }
}

pub fn open(settings: RemoteSettings, warnings: &Warnings) -> Remote {
    Remote::open(settings, warnings.sink()).unwrap()
}

/// A "machine": a workspace directory with its own local cache.
pub struct Machine {
    pub dir: tempfile::TempDir,
    pub cache: LocalCache,
}

impl Machine {
    pub fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(&dir.path().join("turbo-cache")).unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        Machine { dir, cache }
    }

    pub fn ws(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    /// Runs a pretend task: writes its output, stores the entry, returns its raw bytes.
    pub fn build(&self, key: &str, content: &[u8]) -> Vec<u8> {
        let out = self.ws().join("dist");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("app.bin"), content).unwrap();
        let outputs = [PathBuf::from("dist"), PathBuf::from("dist/app.bin")];
        let artifact = Artifact {
            meta: br#"{"exit":0}"#,
            log: b"built\n",
            base_dir: &self.ws(),
            outputs: &outputs,
        };
        self.cache.store(key, &artifact).unwrap();
        self.cache.read_raw(key).unwrap().unwrap()
    }

    /// What a hit on a fetched artifact does: install it locally, look it up and
    /// restore its outputs.
    pub fn install_and_restore(&self, key: &str, bytes: &[u8]) -> Result<(), String> {
        self.cache
            .write_raw(key, bytes)
            .map_err(|err| err.to_string())?;
        let Lookup::Hit(entry) = self.cache.lookup(key).map_err(|err| err.to_string())? else {
            return Err("not a hit after write_raw".into());
        };
        // The pretend task's outputs: `dist` and what is in it.
        let outputs = |rel: &Path| rel.starts_with("dist");
        entry
            .restore_outputs(&self.ws(), &RestoreLimits::default(), &outputs)
            .map(|_| ())
            .map_err(|err| err.to_string())
    }
}

pub fn key(n: u8) -> String {
    format!("{:064x}", u128::from(n) * 0x0123_4567_89ab_cdef + 1)
}

/// A member of a hand-made archive.
pub enum Member<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

/// Entry bytes with a valid frame around a tar.zst we write by hand, so the
/// archive can hold what `store` never would (`..`, absolute paths, links out).
pub fn hostile_entry(key: &str, members: &[Member<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let append_file = |builder: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Raw name bytes: `set_path` itself refuses `..`.
        set_raw_name(&mut header, name);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    };
    append_file(&mut builder, "meta.json", b"{}");
    append_file(&mut builder, "log", b"");
    for member in members {
        match member {
            Member::File(name, data) => append_file(&mut builder, name, data),
            Member::Symlink(name, target) => {
                let mut header = tar::Header::new_gnu();
                header.set_size(0);
                header.set_entry_type(tar::EntryType::Symlink);
                set_raw_name(&mut header, name);
                header.set_link_name(target).unwrap();
                header.set_cksum();
                builder.append(&header, &[][..]).unwrap();
            }
        }
    }
    let tar = builder.into_inner().unwrap();
    let body = zstd::encode_all(&tar[..], 3).unwrap();
    let mut bytes = 0x184D_2A50u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&40u32.to_le_bytes());
    bytes.extend_from_slice(b"XTC2\0\0\0\0");
    let mut hasher = blake3::Hasher::new_derive_key(xtask_cache::FRAME_CONTEXT);
    hasher.update(key.as_bytes());
    hasher.update(&body);
    bytes.extend_from_slice(hasher.finalize().as_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

fn set_raw_name(header: &mut tar::Header, name: &str) {
    let raw = &mut header.as_old_mut().name;
    raw.fill(0);
    raw[..name.len()].copy_from_slice(name.as_bytes());
}

/// What the fault proxy does to the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Close the connection without answering.
    Drop,
    /// Wait this long before forwarding.
    Delay(Duration),
    /// Answer 500 without forwarding.
    Status500,
    /// Forward, then send only the first half of the response.
    Truncate,
    /// Forward, then flip a byte near the end of the body.
    Corrupt,
}

/// An HTTP proxy on 127.0.0.1 in front of `upstream`, one request per connection,
/// that injects `Fault`s.
pub struct FaultProxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    pub requests: Arc<Mutex<u64>>,
}

impl FaultProxy {
    pub fn start(upstream: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let requests = Arc::new(Mutex::new(0));
        let (f, r) = (Arc::clone(&fault), Arc::clone(&requests));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let fault = *f.lock().unwrap();
                *r.lock().unwrap() += 1;
                thread::spawn(move || {
                    let _ = serve(client, upstream, fault);
                });
            }
        });
        FaultProxy {
            port,
            fault,
            requests,
        }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> u64 {
        *self.requests.lock().unwrap()
    }
}

/// Reads one request (headers and a Content-Length body).
fn read_request(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap_or(0));
            if data.len() >= end + 4 + length {
                return Ok(data);
            }
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(data);
        }
        data.extend_from_slice(&buf[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One connection per request: rewrite `Connection` to close so both sides
/// end the exchange after one response.
fn force_close(message: &[u8]) -> Vec<u8> {
    let Some(end) = find(message, b"\r\n\r\n") else {
        return message.to_vec();
    };
    let head = String::from_utf8_lossy(&message[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:")
            && !line.to_ascii_lowercase().starts_with("keep-alive:")
        {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&message[end + 4..]);
    bytes
}

fn serve(mut client: TcpStream, upstream: u16, fault: Fault) -> std::io::Result<()> {
    let request = read_request(&mut client)?;
    if std::env::var_os("XTASK_TEST_PROXY_DEBUG").is_some() {
        let head = find(&request, b"\r\n\r\n").unwrap_or(0);
        eprintln!(
            "proxy request {} bytes: {}",
            request.len(),
            String::from_utf8_lossy(&request[..head])
        );
    }
    match fault {
        Fault::Drop => {
            client.shutdown(Shutdown::Both)?;
            return Ok(());
        }
        Fault::Status500 => {
            client.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!")?;
            return Ok(());
        }
        Fault::Delay(delay) => thread::sleep(delay),
        _ => {}
    }
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(&force_close(&request))?;
    let mut response = Vec::new();
    server.read_to_end(&mut response)?;
    let mut response = force_close(&response);
    if std::env::var_os("XTASK_TEST_PROXY_DEBUG").is_some() {
        let head = find(&response, b"\r\n\r\n").unwrap_or(0);
        eprintln!(
            "proxy {fault:?}: {} bytes, head: {}",
            response.len(),
            String::from_utf8_lossy(&response[..head])
        );
    }
    match fault {
        Fault::Truncate => response.truncate(response.len() / 2 + 1),
        Fault::Corrupt => {
            if let Some(end) = find(&response, b"\r\n\r\n") {
                // The middle of the body: past any chunk-size line, inside the data.
                let body = end + 4;
                if response.len() > body + 100 {
                    let at = body + (response.len() - body) / 2;
                    response[at] ^= 0x55;
                }
            }
        }
        _ => {}
    }
    client.write_all(&response)?;
    client.shutdown(Shutdown::Both)
}
