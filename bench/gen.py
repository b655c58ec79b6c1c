#!/usr/bin/env python3
"""Generate a synthetic Cargo workspace for the monorepo-tool benchmark.

Deterministic for a given (crates, files, seed). Stdlib only.

Shape (see README.md):
  * a few *hub* crates in layer 0 (`hub-core` has no dependencies, the other hubs
    depend on it), so almost every crate depends on `hub-core` transitively;
  * library crates in layers 1..L, each depending on 1-3 crates of the two layers
    below it and on a random hub now and then;
  * *leaf binaries* (about 10%) on top, depending on 2-5 libraries; nothing depends
    on them.
Every crate has F source files (lib.rs or main.rs + F-1 modules, a few KB of
plausible Rust each) and really compiles with `cargo check` (`--cargo-check`).

Usage:
  python3 bench/gen.py --crates 50 --out /tmp/ws            # workspace + git commit
  python3 bench/gen.py --crates 300 --files 20 --seed 7 --out DIR --graph-json g.json
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys

# What the benchmark's one task declares, the same for every tool (`--task-config`):
# `plain` names one literal output; `globs` declares input and output globs as a
# real workspace would (negations, braces, a root-anchored input), so the cost
# of matching them is measured too.
TASK_CONFIGS = {
    "plain": {"inputs": None, "outputs": [".check.out"]},
    "globs": {
        "inputs": ["$TURBO_DEFAULT$", "$TURBO_ROOT$/Cargo.lock", "!**/*.md",
                   "src/**/*.{rs,toml}", "!**/fixtures/**", "build.rs"],
        "outputs": [".check.out", "out/**/*.txt", "!out/tmp/**", "gen/*.{json,bin}"],
    },
}


def xtask_metadata(task_config="plain"):
    config = TASK_CONFIGS[task_config]
    lines = ["", "[workspace.metadata.xtask.tasks.check]", 'command = "echo ok > .check.out"',
             'depends-on = ["^check"]']
    if config["inputs"] is not None:
        lines.append("inputs = " + json.dumps(config["inputs"]))
    lines.append("outputs = " + json.dumps(config["outputs"]))
    return "\n".join(lines) + "\n"

GITIGNORE = """/target
node_modules/
/.turbo
.turbo/
/.nx/cache
/.nx/workspace-data
/.moon/cache
/turbo-cache
/.xtask
.check.out
"""

DOMAINS = [
    "storage", "net", "auth", "billing", "search", "index", "render", "parse",
    "sched", "codec", "metrics", "trace", "queue", "policy", "ledger", "media",
    "geo", "crypto", "report", "ingest", "sync", "cache", "graph", "wire",
]
WORDS = [
    "engine", "client", "server", "model", "store", "api", "core", "util",
    "proto", "macros", "types", "runtime", "worker", "adapter", "bridge", "shard",
    "pool", "codec", "plan", "query", "schema", "feed", "tools", "kit",
]
HUBS = ["core", "util", "types", "error", "config", "proto", "log", "time"]
BIN_WORDS = ["cli", "server", "daemon", "tool", "agent", "gateway", "admin", "migrate"]
NOUNS = [
    "Record", "Segment", "Frame", "Token", "Packet", "Entry", "Batch", "Window",
    "Cursor", "Chunk", "Ticket", "Lease", "Bucket", "Slot", "Handle", "Span",
]
VERBS = ["merge", "split", "scale", "rotate", "fold", "blend", "clamp", "shift"]


def rust_ident(name):
    return name.replace("-", "_")


class Crate:
    __slots__ = ("idx", "name", "kind", "layer", "deps")

    def __init__(self, idx, name, kind, layer):
        self.idx, self.name, self.kind, self.layer = idx, name, kind, layer
        self.deps = []

    def to_json(self):
        return {"name": self.name, "kind": self.kind, "layer": self.layer,
                "deps": list(self.deps)}


def make_graph(n, seed):
    """Return a list of Crate, dependencies only towards lower layers (no cycles)."""
    if n < 4:
        raise SystemExit("need at least 4 crates")
    rng = random.Random(f"graph-{seed}-{n}")
    n_hubs = max(2, min(len(HUBS), n // 40))
    n_bins = max(1, n // 10)
    n_libs = n - n_hubs - n_bins
    layers = max(3, math.ceil(math.log2(n)) - 1)
    crates = []
    for i in range(n_hubs):
        c = Crate(len(crates), f"hub-{HUBS[i]}", "hub", 0)
        if i > 0:
            c.deps.append("hub-core")
            if i > 1 and rng.random() < 0.5:
                c.deps.append(f"hub-{HUBS[rng.randrange(1, i)]}")
        crates.append(c)
    by_layer = {0: [c.name for c in crates]}
    for i in range(n_libs):
        layer = 1 + (i * layers) // n_libs
        name = f"{rng.choice(DOMAINS)}-{rng.choice(WORDS)}-{i:04d}"
        c = Crate(len(crates), name, "lib", layer)
        pool = by_layer.get(layer - 1, []) + by_layer.get(layer - 2, [])
        if pool:
            for d in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
                if d not in c.deps:
                    c.deps.append(d)
        if rng.random() < 0.6 and "hub-core" not in c.deps:
            c.deps.append("hub-core")
        if rng.random() < 0.3:
            h = rng.choice(by_layer[0])
            if h not in c.deps:
                c.deps.append(h)
        by_layer.setdefault(layer, []).append(name)
        crates.append(c)
    libs = [c for c in crates if c.kind == "lib"]
    top = [c.name for c in libs if c.layer >= max(1, layers - 2)] or [c.name for c in libs]
    for i in range(n_bins):
        name = f"app-{BIN_WORDS[i % len(BIN_WORDS)]}-{i:03d}"
        c = Crate(len(crates), name, "bin", layers + 1)
        for d in rng.sample(top, min(len(top), rng.randint(2, 5))):
            c.deps.append(d)
        c.deps.append(rng.choice(by_layer[0]))
        crates.append(c)
    for c in crates:
        c.deps = sorted(set(c.deps))
    return crates


def dependents_closure(crates, name):
    """Names of all crates that depend on `name`, directly or transitively."""
    rev = {c.name: [] for c in crates}
    for c in crates:
        for d in c.deps:
            rev[d].append(c.name)
    seen, stack = set(), [name]
    while stack:
        for r in rev[stack.pop()]:
            if r not in seen:
                seen.add(r)
                stack.append(r)
    return seen


def deps_closure(crates, name):
    by = {c.name: c for c in crates}
    seen, stack = set(), [name]
    while stack:
        for d in by[stack.pop()].deps:
            if d not in seen:
                seen.add(d)
                stack.append(d)
    return seen


def graph_info(crates):
    """The facts the harness checks the tools against."""
    hub = "hub-core"
    leaf = next(c.name for c in crates if c.kind == "bin")
    return {
        "crates": [c.to_json() for c in crates],
        "n": len(crates),
        "hub": hub,
        "hub_dependents": len(dependents_closure(crates, hub)),
        "leaf": leaf,
        "leaf_deps": len(deps_closure(crates, leaf)),
        "leaf_edit_file": f"crates/{leaf}/src/m01.rs",
        "hub_edit_file": f"crates/{hub}/src/m01.rs",
    }


# ---------------------------------------------------------------- Rust source


def module_source(rng, crate, mod_idx):
    noun = rng.choice(NOUNS) + str(mod_idx)
    verbs = rng.sample(VERBS, 3)
    seed_const = rng.getrandbits(63)
    n_fns = rng.randint(3, 6)
    out = [
        f"//! `{crate.name}` :: module m{mod_idx:02d}.",
        "//!",
        f"//! Synthetic code for the build-tool benchmark: the {noun} pipeline stage.",
        "",
        "use std::collections::HashMap;",
        "use std::fmt;",
        "",
        f"const SEED: u64 = 0x{seed_const:016x};",
        "",
        f"/// One unit of work handled by this stage.",
        "#[derive(Debug, Clone, PartialEq)]",
        f"pub struct {noun} {{",
        "    pub id: u64,",
        "    pub name: String,",
        "    pub weights: Vec<f64>,",
        "    pub tags: HashMap<String, u32>,",
        "}",
        "",
        f"impl {noun} {{",
        "    /// Creates a new value with a few default weights.",
        "    pub fn new(id: u64, name: &str) -> Self {",
        "        let weights = (0..8).map(|i| (i as f64 + 1.0) * 0.125).collect();",
        "        Self { id, name: name.to_string(), weights, tags: HashMap::new() }",
        "    }",
        "",
        "    /// A weighted score; stable for equal inputs.",
        "    pub fn score(&self) -> f64 {",
        "        let base: f64 = self.weights.iter().enumerate().map(|(i, w)| w * (i as f64 + 1.0)).sum();",
        "        base + self.tags.values().map(|v| *v as f64).sum::<f64>() / 100.0",
        "    }",
        "",
        "    pub fn tag(&mut self, key: &str, value: u32) -> &mut Self {",
        "        *self.tags.entry(key.to_string()).or_insert(0) += value;",
        "        self",
        "    }",
        "",
        f"    pub fn {verbs[0]}(&mut self, other: &Self) {{",
        "        for (a, b) in self.weights.iter_mut().zip(other.weights.iter()) {",
        "            *a = (*a + *b) / 2.0;",
        "        }",
        "        for (k, v) in &other.tags {",
        "            *self.tags.entry(k.clone()).or_insert(0) += *v;",
        "        }",
        "        self.id ^= other.id.rotate_left(7);",
        "    }",
        "}",
        "",
        f"impl fmt::Display for {noun} {{",
        "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {",
        f'        write!(f, "{noun}#{{}}({{}}, score={{:.3}})", self.id, self.name, self.score())',
        "    }",
        "}",
        "",
        "/// FNV-1a over bytes, mixed with the module seed.",
        "pub fn checksum(data: &[u8]) -> u64 {",
        "    let mut h: u64 = 0xcbf29ce484222325 ^ SEED;",
        "    for b in data {",
        "        h ^= *b as u64;",
        "        h = h.wrapping_mul(0x100000001b3);",
        "    }",
        "    h",
        "}",
        "",
        "/// A cheap integer mixer (splitmix64 finaliser).",
        "pub fn mix(mut x: u64) -> u64 {",
        "    x = x.wrapping_add(SEED);",
        "    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);",
        "    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);",
        "    x ^ (x >> 31)",
        "}",
        "",
    ]
    for j in range(n_fns):
        k = rng.randint(2, 9)
        verb = verbs[j % 3]
        out += [
            f"/// Step {j} of the {noun} stage: {verb}s a batch.",
            f"pub fn {verb}_batch_{j}(items: &[{noun}], factor: u64) -> Vec<u64> {{",
            "    let mut out = Vec::with_capacity(items.len());",
            "    for (i, item) in items.iter().enumerate() {",
            f"        let mut acc = mix(item.id ^ factor.wrapping_mul({k}));",
            "        for w in &item.weights {",
            "            acc = acc.rotate_left(5) ^ w.to_bits();",
            "        }",
            f"        if i % {k} == 0 {{",
            "            acc = acc.wrapping_add(checksum(item.name.as_bytes()));",
            "        }",
            "        out.push(acc);",
            "    }",
            "    out",
            "}",
            "",
        ]
    out += [
        "/// Folds the whole stage into one number (used by the crate's fingerprint).",
        "pub fn fingerprint() -> u64 {",
        f"    let mut a = {noun}::new(1, \"alpha\");",
        f"    let b = {noun}::new(2, \"beta\");",
        "    a.tag(\"x\", 3);",
        f"    a.{verbs[0]}(&b);",
        "    let v = " + " ^ ".join(
            f"{verbs[j % 3]}_batch_{j}(&[a.clone(), b.clone()], {j + 1}).iter().fold(0u64, |x, y| x ^ y)"
            for j in range(n_fns)) + ";",
        "    mix(v ^ a.score().to_bits())",
        "}",
        "",
        "#[cfg(test)]",
        "mod tests {",
        "    use super::*;",
        "",
        "    #[test]",
        "    fn fingerprint_is_stable() {",
        "        assert_eq!(fingerprint(), fingerprint());",
        "    }",
        "",
        "    #[test]",
        "    fn checksum_differs() {",
        '        assert_ne!(checksum(b"a"), checksum(b"b"));',
        "    }",
        "}",
        "",
    ]
    return "\n".join(out)


def root_source(crate, n_mods, is_bin):
    mods = [f"m{i:02d}" for i in range(1, n_mods + 1)]
    lines = []
    if is_bin:
        lines += [f"//! `{crate.name}`: a leaf binary of the synthetic workspace.", "",
                  "#![allow(dead_code)]", ""]
        lines += [f"mod {m};" for m in mods]
    else:
        lines += [f"//! `{crate.name}`: a library of the synthetic workspace (layer {crate.layer}).", ""]
        lines += [f"pub mod {m};" for m in mods]
    lines += [
        "",
        "/// Combines this crate's modules and its dependencies into one number.",
        "pub fn fingerprint() -> u64 {",
        "    let mut h: u64 = 0;",
    ]
    for m in mods:
        lines.append(f"    h = h.rotate_left(9) ^ {m}::fingerprint();")
    for d in crate.deps:
        lines.append(f"    h = h.rotate_left(13) ^ {rust_ident(d)}::fingerprint();")
    lines += ["    h", "}", ""]
    if is_bin:
        lines += ["fn main() {",
                  f'    println!("{crate.name}: {{:016x}}", fingerprint());',
                  "}", ""]
    return "\n".join(lines)


def crate_toml(crate):
    lines = ["[package]", f'name = "{crate.name}"', 'version = "0.1.0"',
             'edition = "2021"', "publish = false", "", "[dependencies]"]
    for d in crate.deps:
        lines.append(f'{d} = {{ path = "../{d}" }}')
    return "\n".join(lines) + "\n"


def root_toml(task_config="plain"):
    return ('[workspace]\nresolver = "2"\nmembers = ["crates/*"]\n\n'
            '[workspace.package]\nedition = "2021"\n' + xtask_metadata(task_config))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_new(path, data):
    """Create `path` (its directory exists) with `data` bytes: os.open is half the cost of
    open() here, which matters at 60k files."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


GIT_IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
                "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
                "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
                "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
GIT_EPOCH = 1767225600   # GIT_AUTHOR_DATE above, for fast-import
# No automatic `git gc`: at 1,000 crates a commit of loose objects would start a
# background repack while the benchmark measures.
GIT_CONFIG = ["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "gc.auto=0"]


def git(out, *args):
    env = dict(os.environ, **GIT_IDENTITY)
    subprocess.run(["git", *GIT_CONFIG, *args], cwd=out, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def git_commit_all(out, message="synthetic workspace"):
    """git init (branch main) + one commit of everything not ignored."""
    if not os.path.isdir(os.path.join(out, ".git")):
        git(out, "init", "-q", "-b", "main")
    git(out, "add", "-A")
    git(out, "commit", "-q", "-m", message)


class FastImport:
    """One commit of the generated files through `git fast-import`: a single pack file
    instead of one zlib'd loose object per file (`git add` of 60k files took 30 s here,
    this takes a few). The commit is the one `git add -A && git commit` would make (same
    tree, identity, date and message), and the index is filled, so `git status` is clean."""

    def __init__(self, out):
        git(out, "init", "-q", "-b", "main")
        self.out = out
        self.paths = []
        self.proc = subprocess.Popen(["git", *GIT_CONFIG, "fast-import", "--quiet"], cwd=out,
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def add(self, rel, data):
        self.paths.append(rel)
        self.proc.stdin.write(b"blob\nmark :%d\ndata %d\n" % (len(self.paths), len(data)))
        self.proc.stdin.write(data)
        self.proc.stdin.write(b"\n")

    def commit(self, message):
        msg = (message + "\n").encode()
        who = b"bench <bench@example.invalid> %d +0000" % GIT_EPOCH
        w = self.proc.stdin
        w.write(b"commit refs/heads/main\nauthor %s\ncommitter %s\ndata %d\n%s"
                % (who, who, len(msg), msg))
        for i, rel in enumerate(self.paths, 1):
            w.write(b"M 100644 :%d %s\n" % (i, rel.encode()))
        w.write(b"\n")
        w.close()
        if self.proc.wait() != 0:
            raise RuntimeError(f"git fast-import in {self.out} exited {self.proc.returncode}")
        git(self.out, "read-tree", "HEAD")
        git(self.out, "update-index", "-q", "--refresh")


def generate(out, n, files=20, seed=1, with_git=True, lock=True, task_config="plain"):
    """Write the workspace into `out` (must not exist or be empty). Returns graph_info."""
    if os.path.exists(out) and os.listdir(out):
        raise SystemExit(f"{out} exists and is not empty")
    crates = make_graph(n, seed)
    os.makedirs(out, exist_ok=True)
    repo = FastImport(out) if with_git else None

    def emit(rel, text):
        data = text.encode("utf-8")
        write_new(os.path.join(out, rel), data)
        if repo:
            repo.add(rel, data)

    emit("Cargo.toml", root_toml(task_config))
    emit(".gitignore", GITIGNORE)
    for c in crates:
        d = f"crates/{c.name}"
        os.makedirs(os.path.join(out, d, "src"))
        rng = random.Random(f"src-{seed}-{c.name}")
        emit(f"{d}/Cargo.toml", crate_toml(c))
        is_bin = c.kind == "bin"
        emit(f"{d}/src/{'main.rs' if is_bin else 'lib.rs'}", root_source(c, files - 1, is_bin))
        for i in range(1, files):
            emit(f"{d}/src/m{i:02d}.rs", module_source(rng, c, i))
    if lock:
        subprocess.run(["cargo", "generate-lockfile", "--offline"], cwd=out, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if repo:
            with open(os.path.join(out, "Cargo.lock"), "rb") as f:
                repo.add("Cargo.lock", f.read())
    if repo:
        repo.commit("synthetic workspace")
    return dict(graph_info(crates), task_config=task_config)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crates", "-n", type=int, default=50)
    ap.add_argument("--files", "-f", type=int, default=20, help="source files per crate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true", help="delete --out first")
    ap.add_argument("--no-git", action="store_true")
    ap.add_argument("--no-lock", action="store_true", help="skip cargo generate-lockfile")
    ap.add_argument("--graph-json", help="also write the graph facts here")
    ap.add_argument("--cargo-check", action="store_true", help="run `cargo check --workspace` after")
    ap.add_argument("--task-config", choices=sorted(TASK_CONFIGS), default="plain",
                    help="what the check task declares (globs: input and output globs)")
    a = ap.parse_args()
    if a.files < 2:
        ap.error("--files must be >= 2")
    if a.force and os.path.exists(a.out):
        shutil.rmtree(a.out)
    info = generate(a.out, a.crates, a.files, a.seed, not a.no_git, not a.no_lock,
                    a.task_config)
    if a.graph_json:
        write(a.graph_json, json.dumps(info, indent=1))
    kinds = {}
    for c in info["crates"]:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    print(f"{a.out}: {info['n']} crates {kinds}, hub {info['hub']} has "
          f"{info['hub_dependents']} dependents, leaf {info['leaf']}")
    if a.cargo_check:
        r = subprocess.run(["cargo", "check", "--workspace", "--offline", "--quiet"], cwd=a.out)
        sys.exit(r.returncode)


if __name__ == "__main__":
    main()
