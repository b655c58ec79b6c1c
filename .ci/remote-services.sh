# Sourced by .ci/run before the tests: installs the servers that xtask-remote's
# integration tests start on 127.0.0.1, and exports where they are. The tests
# start and stop the servers themselves; this only installs them.
#
#   XTASK_TEST_S3S_FS        s3s-fs 0.14.1 binary (S3 that checks SigV4)
#   XTASK_TEST_NODE_MODULES  node_modules with azurite 3.37.0 and
#                            turborepo-remote-cache 2.12.0
#
# Installs go to a cache dir ($XTASK_CI_CACHE, default ~/.cache/xtask-ci) that
# later runs on the same machine reuse: s3s-fs takes ~2 minutes to build.
# With CI=true a test whose server is missing fails; elsewhere it is skipped.

xtask_remote_services() {
    local cache="${XTASK_CI_CACHE:-$HOME/.cache/xtask-ci}"
    mkdir -p "$cache"

    local s3s="$cache/s3s-fs"
    if [ ! -x "$s3s/bin/s3s-fs" ]; then
        echo "installing s3s-fs 0.14.1 into $s3s"
        # Newer s3s-fs releases need a newer rustc than the pinned toolchain.
        cargo install --locked --quiet s3s-fs@0.14.1 --features binary --root "$s3s" || return 1
    fi
    export XTASK_TEST_S3S_FS="$s3s/bin/s3s-fs"

    local node="$cache/node"
    if [ ! -f "$node/node_modules/turborepo-remote-cache/dist/cli.js" ] ||
        [ ! -x "$node/node_modules/.bin/azurite-blob" ]; then
        echo "installing azurite 3.37.0 and turborepo-remote-cache 2.12.0 into $node"
        mkdir -p "$node"
        (cd "$node" && npm install --no-audit --no-fund --silent \
            azurite@3.37.0 turborepo-remote-cache@2.12.0) || return 1
    fi
    export XTASK_TEST_NODE_MODULES="$node/node_modules"
    echo "remote cache test servers: $XTASK_TEST_S3S_FS, $XTASK_TEST_NODE_MODULES"
}

xtask_remote_services || { echo "failed to install the remote cache test servers" >&2; exit 1; }
