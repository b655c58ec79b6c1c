# Sourced by .ci/run before the tests: installs the peers and servers that
# `cargo test -p xtask --test release` runs, and exports where they are.
#
#   GIT_CLIFF            git-cliff 2.14.2 (PyPI, the binary in a venv): the
#                        changelog and --bumped-version cross-check
#   CARGO_HTTP_REGISTRY  cargo-http-registry 0.1.8 (crates.io): a local
#                        registry on 127.0.0.1 that --publish is tested against
#
# Installs go to the same cache dir as .ci/remote-services.sh ($XTASK_CI_CACHE,
# default ~/.cache/xtask-ci): cargo-http-registry takes ~3 minutes to build.
# With CI=true a test whose tool is missing fails; elsewhere it is skipped.

xtask_release_tools() {
    local cache="${XTASK_CI_CACHE:-$HOME/.cache/xtask-ci}"
    mkdir -p "$cache"

    local cliff="$cache/git-cliff"
    if [ ! -x "$cliff/bin/git-cliff" ]; then
        echo "installing git-cliff 2.14.2 into $cliff"
        python3 -m venv "$cliff" || return 1
        "$cliff/bin/pip" install -q --disable-pip-version-check 'git-cliff==2.14.2' || return 1
    fi
    export GIT_CLIFF="$cliff/bin/git-cliff"

    local registry="$cache/cargo-http-registry"
    if [ ! -x "$registry/bin/cargo-http-registry" ]; then
        echo "installing cargo-http-registry 0.1.8 into $registry"
        cargo install --locked --quiet cargo-http-registry@0.1.8 --root "$registry" || return 1
    fi
    export CARGO_HTTP_REGISTRY="$registry/bin/cargo-http-registry"
    echo "release test tools: $GIT_CLIFF, $CARGO_HTTP_REGISTRY"
}

xtask_release_tools || { echo "failed to install the release test tools" >&2; exit 1; }
