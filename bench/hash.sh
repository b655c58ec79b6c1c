#!/usr/bin/env bash
# Hashing throughput of xtask's input scanner (issue: engine core).
#  - cold: no stat cache, every file read and blake3-hashed (page cache warm)
#  - warm: stat cache full, every file only stat'ed
# Data: bench/work/hashdata, made once: 1 GiB in 256 files of 4 MiB (throughput)
# and 100k files of 1 KiB (warm files/s).
set -euo pipefail
cd "$(dirname "$0")/.."
data=bench/work/hashdata
if [ ! -d "$data/big" ]; then
  mkdir -p "$data/big"
  for i in $(seq 1 256); do head -c 4194304 /dev/urandom > "$data/big/f$i.bin"; done
fi
if [ ! -d "$data/many" ]; then
  mkdir -p "$data/many"
  python3 - "$data/many" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
    for f in range(1000):
        with open(f"{root}/d{d}/f{f}.rs", "wb") as out:
            out.write(os.urandom(1024))
PY
fi
# Files changed within 2 s are not trusted by the stat cache (racy timestamps).
sleep 2
cargo build --release --quiet -p xtask-hash --example hash_throughput
bin=target/release/examples/hash_throughput
echo "large files: $($bin "$data/big" 5)"
echo "100k small files: $($bin "$data/many" 5)"
