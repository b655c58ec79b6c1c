//! Upload and download throughput and per-artifact latency of a remote cache.
//!
//! `cargo run --release -p xtask-remote --features s3 --example remote_bench -- URL`
//! with the remote's settings in the environment (as `cargo xtask` reads them).
//! Artifacts are valid entry frames around incompressible bytes. `bench/remote.sh`
//! runs it against a local s3s-fs.

use std::path::Path;
use std::time::{Duration, Instant};

use xtask_remote::{CliRemote, Remote, RemoteSettings};

/// (label, size, how many) per round.
const ROUNDS: &[(&str, usize, usize)] = &[
    ("1 KiB", 1 << 10, 200),
    ("1 MiB", 1 << 20, 50),
    ("100 MiB", 100 << 20, 3),
];

fn main() {
    let url = std::env::args().nth(1).expect("usage: remote_bench URL");
    let env = |name: &str| std::env::var(name).ok();
    let settings = |concurrency: usize| {
        let table: toml::Table = format!(
            "upload-concurrency = {concurrency}\ntimeout = \"120s\"\nmax-artifact-size = \"1GiB\""
        )
        .parse()
        .unwrap();
        let cli = CliRemote {
            url: Some(url.clone()),
            mode: None,
        };
        RemoteSettings::resolve(Some(&table), Path::new("Cargo.toml"), &env, &cli)
            .unwrap()
            .unwrap()
    };
    let open = |concurrency| {
        Remote::open(
            settings(concurrency),
            Box::new(|w| eprintln!("warning: {w}")),
        )
        .unwrap()
    };
    println!(
        "| size | n | upload latency p50 | upload MiB/s (1 stream) | upload MiB/s (4 streams) | download latency p50 | download MiB/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut seed = 0u64;
    for &(label, size, count) in ROUNDS {
        let mut make = || {
            seed += 1;
            artifact(seed, size)
        };
        // Sequential uploads, one at a time: latency per artifact.
        let remote = open(1);
        let mut latencies = Vec::new();
        let mut keys = Vec::new();
        for _ in 0..count {
            let (key, bytes) = make();
            let started = Instant::now();
            remote.upload(&key, bytes, Duration::ZERO);
            remote.finish(Duration::from_secs(600));
            latencies.push(started.elapsed());
            keys.push(key);
        }
        let sequential: Duration = latencies.iter().sum();
        // A batch through 4 workers: throughput as the engine would see it.
        let remote4 = open(4);
        let batch: Vec<_> = (0..count).map(|_| make()).collect();
        let started = Instant::now();
        for (key, bytes) in batch {
            remote4.upload(&key, bytes, Duration::ZERO);
        }
        let report = remote4.finish(Duration::from_secs(600));
        let parallel = started.elapsed();
        assert_eq!(report.uploaded as usize, count, "{report:?}");
        // Sequential downloads (the engine fetches on a local miss, per task).
        let mut down = Vec::new();
        for key in &keys {
            let started = Instant::now();
            let bytes = remote.fetch(key).expect("uploaded artifact");
            down.push(started.elapsed());
            assert_eq!(bytes.len(), size + 48);
        }
        let downloaded: Duration = down.iter().sum();
        let mib = (size * count) as f64 / (1 << 20) as f64;
        println!(
            "| {label} | {count} | {} | {:.1} | {:.1} | {} | {:.1} |",
            ms(median(&mut latencies)),
            mib / sequential.as_secs_f64(),
            mib / parallel.as_secs_f64(),
            ms(median(&mut down)),
            mib / downloaded.as_secs_f64(),
        );
    }
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A valid entry frame (see xtask-cache's format) around `size` pseudo-random bytes.
fn artifact(seed: u64, size: usize) -> (String, Vec<u8>) {
    let mut body = Vec::with_capacity(size);
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while body.len() < size {
        // xorshift64: incompressible enough, and fast.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        body.extend_from_slice(&state.to_le_bytes());
    }
    body.truncate(size);
    // The key is bound into the frame's hash (derive-key mode, key then body).
    let key = blake3::hash(&body).to_hex().to_string();
    let mut bytes = 0x184D_2A50u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&40u32.to_le_bytes());
    bytes.extend_from_slice(b"XTC2\0\0\0\0");
    let mut hasher = blake3::Hasher::new_derive_key(xtask_cache::FRAME_CONTEXT);
    hasher.update(key.as_bytes());
    hasher.update(&body);
    bytes.extend_from_slice(hasher.finalize().as_bytes());
    bytes.extend_from_slice(&body);
    (key, bytes)
}
