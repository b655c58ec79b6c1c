//! Hashing throughput, for `bench/hash.sh` (not a test): a snapshot of DIR
//! with an empty stat cache (every file read and hashed), then with the warm
//! stat cache (every file only stat'ed). Prints one JSON line.
//!
//! cargo run --release -p xtask-hash --example hash_throughput -- DIR [REPS]

use std::path::PathBuf;
use std::time::Instant;

use xtask_hash::{StatCache, snapshot};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: hash_throughput DIR [REPS]");
        std::process::exit(2);
    };
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let (mut files, mut bytes) = (0, 0);
    for _ in 0..reps {
        let mut cache = StatCache::default();
        let started = Instant::now();
        let snap = match snapshot(&dir, &[], &mut cache) {
            Ok(snap) => snap,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(1);
            }
        };
        cold.push(started.elapsed().as_secs_f64());
        files = snap.files.len();
        bytes = snap.hashed_bytes;
        // Files written just now are "racy" and would not be remembered; the
        // benchmark data is older than that (bench/hash.sh ages it).
        let started = Instant::now();
        let again = snapshot(&dir, &[], &mut cache).unwrap_or_default();
        warm.push(started.elapsed().as_secs_f64());
        assert_eq!(
            again.hashed, 0,
            "the warm pass should hash nothing; is the data older than 2 s?"
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (cold, warm) = (median(&mut cold), median(&mut warm));
    println!(
        "{{\"files\":{files},\"bytes\":{bytes},\"cold_s\":{cold:.4},\"cold_gb_per_s\":{:.2},\"warm_s\":{warm:.4},\"warm_files_per_s\":{:.0}}}",
        bytes as f64 / cold / 1e9,
        files as f64 / warm
    );
}
