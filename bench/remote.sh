#!/usr/bin/env bash
# Remote cache throughput and latency against a local s3s-fs (S3 with SigV4),
# for 1 KiB, 1 MiB and 100 MiB artifacts: uploads one at a time (latency),
# uploads through 4 workers (throughput), downloads one at a time.
#
#   bench/remote.sh            # s3s-fs from XTASK_TEST_S3S_FS or the CI cache
#   bench/remote.sh turbo      # turborepo-remote-cache (XTASK_TEST_NODE_MODULES)
#   bench/remote.sh file       # a local directory
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-s3}
cache="${XTASK_CI_CACHE:-$HOME/.cache/xtask-ci}"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.1; done; echo "server did not start" >&2; exit 1; }

case "$target" in
s3)
    s3s="${XTASK_TEST_S3S_FS:-$cache/s3s-fs/bin/s3s-fs}"
    [ -x "$s3s" ] || { echo "no s3s-fs: source .ci/remote-services.sh first" >&2; exit 1; }
    mkdir -p "$work/data/bucket"
    "$s3s" --host 127.0.0.1 --port "$port" --access-key bench --secret-key bench-secret "$work/data" >"$work/log" 2>&1 &
    pid=$!
    export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    url="s3://bucket/bench"
    ;;
turbo)
    modules="${XTASK_TEST_NODE_MODULES:-$cache/node/node_modules}"
    HOST=127.0.0.1 PORT=$port STORAGE_PROVIDER=local STORAGE_PATH="$work/data" \
        STORAGE_PATH_USE_TMP_FOLDER=false TURBO_TOKEN=bench-token BODY_LIMIT=209715200 \
        node "$modules/turborepo-remote-cache/dist/cli.js" >"$work/log" 2>&1 &
    pid=$!
    export TURBO_TOKEN=bench-token TURBO_TEAM=bench
    url="http://127.0.0.1:$port"
    ;;
file)
    url="file://$work/data"
    ;;
*) echo "usage: $0 [s3|turbo|file]" >&2; exit 2 ;;
esac
[ -n "$pid" ] && wait_port

echo "remote cache benchmark: $target ($url), $(nproc) cores, $(date -u +%F)"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" cargo run --quiet --release --locked \
    -p xtask-remote --features s3 --example remote_bench -- "$url"
