#!/usr/bin/env bash
# Warm run with an EMPTY local cache and a FULL remote, against a warm local run,
# on a generated workspace (default 300 crates): issue "remote cache".
#
#   bench/remote_warm.sh [turbo|file] [CRATES] [REPS]
#
# turbo: the npm turborepo-remote-cache server on 127.0.0.1 (install it with
# .ci/remote-services.sh); file: a local directory as the remote.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-turbo}; crates=${2:-300}; reps=${3:-5}
cache="${XTASK_CI_CACHE:-$HOME/.cache/xtask-ci}"
work=$(mktemp -d); pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cargo build --release --quiet -p xtask
bin=$PWD/target/release/xtask
python3 bench/gen.py --crates "$crates" --files 20 --seed 1 --out "$work/ws" >/dev/null
case "$target" in
turbo)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    modules="${XTASK_TEST_NODE_MODULES:-$cache/node/node_modules}"
    HOST=127.0.0.1 PORT=$port STORAGE_PROVIDER=local STORAGE_PATH="$work/store" \
      STORAGE_PATH_USE_TMP_FOLDER=false TURBO_TOKEN=bench-token \
      "$modules/.bin/turborepo-remote-cache" >"$work/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    export TURBO_TOKEN=bench-token TURBO_TEAM=bench
    url="http://127.0.0.1:$port" ;;
file) url="file://$work/store" ;;
*) echo "usage: $0 [turbo|file] [CRATES] [REPS]" >&2; exit 2 ;;
esac
cd "$work/ws"
run() { "$bin" run check --output-logs=none --remote-cache="$url" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }; }
ms() { local s e; s=$(date +%s%N); "$@"; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
run   # cold: runs everything, uploads everything
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
warm_local=$(for _ in $(seq "$reps"); do ms run; done | median)
empty_local=$(for _ in $(seq "$reps"); do "$bin" cache clean >/dev/null; ms run; done | median)
echo "remote=$target crates=$crates reps=$reps"
echo "warm local cache:                 ${warm_local} ms"
echo "empty local cache, full remote:   ${empty_local} ms"
