#!/usr/bin/env python3
"""Benchmark harness: our `xtask` against Turborepo, Nx and moon. Stdlib only.

  python3 bench/run.py --sizes 50,300 --reps 5     # full run, results in bench/results/
  python3 bench/run.py --smoke                     # CI: tiny workspace, 1 rep, checks only

See bench/README.md for what is measured and how to read the results.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)

import gen  # noqa: E402
import scale  # noqa: E402
import tools  # noqa: E402

WORK = os.path.join(BENCH, "work")
SCENARIOS = ["cold", "warm", "warm-launcher", "warm-cargo-run", "warm-shim", "leaf-edit",
             "hub-edit", "affected", "dry-run"]
# Scenarios preceded by one untimed identical run: a user who always types the launcher
# (npx sets PATH/NODE, and the Nx daemon recomputes its graph when its clients' env changes).
PREWARM = {"warm-launcher", "warm-cargo-run"}
EDITS = {"leaf-edit": "leaf_edit_file", "hub-edit": "hub_edit_file", "affected": "leaf_edit_file"}
# Environment variables that would change a tool's behaviour; never passed through.
STRIP_PREFIXES = ("TURBO_", "NX_", "MOON_", "PROTO_", "npm_", "NPM_", "XDG_", "GITHUB_",
                  "RUNNER_", "BUILDKITE", "GITLAB_", "CIRCLE", "TRAVIS", "CARGO_TARGET_DIR",
                  "VERCEL", "NODE_OPTIONS")
STRIP_NAMES = {"CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID", "FORCE_COLOR",
               "NO_COLOR", "COLORTERM"}


def log(msg=""):
    print(msg, flush=True)


def sh(argv, cwd=None, env=None, timeout=None, check=True):
    r = subprocess.run(argv, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} (in {cwd}) exited {r.returncode}:\n"
                           f"{(r.stdout + r.stderr)[-3000:]}")
    return r


def first_line(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return (r.stdout.strip() or r.stderr.strip()).splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def file_sha(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------ context


class Context:
    def __init__(self, args):
        self.args = args
        self.repo = REPO
        self.xtask_bin = os.path.abspath(args.xtask_bin) if args.xtask_bin else \
            os.path.join(REPO, "target", "release", "xtask")
        self.xtask_launcher = args.xtask_launcher.split()
        self.xtask_build_error = None
        real_home = os.path.expanduser("~")
        self.cargo_home = os.environ.get("CARGO_HOME", os.path.join(real_home, ".cargo"))
        self.rustup_home = os.environ.get("RUSTUP_HOME", os.path.join(real_home, ".rustup"))
        self.repo_rev = (sh(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=False)
                         .stdout.strip() or "unknown")
        self.npm_version = first_line(["npm", "--version"]) or "11.0.0"
        self.npm_cache = os.path.join(WORK, "npm-cache")
        self.setup_times = {}


def clean_env(ctx, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(STRIP_PREFIXES) and k not in STRIP_NAMES}
    env.setdefault("CARGO_HOME", ctx.cargo_home)
    env.setdefault("RUSTUP_HOME", ctx.rustup_home)
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def npm_env(ctx):
    return clean_env(ctx, {"npm_config_cache": ctx.npm_cache, "npm_config_update_notifier": "false",
                           "npm_config_fund": "false", "npm_config_audit": "false"})


# ------------------------------------------------------------------ installs


def ensure_peers(ctx):
    """npm ci of bench/peers (exact versions) into bench/work/peers; fills the npm cache."""
    dst = os.path.join(WORK, "peers")
    src = os.path.join(BENCH, "peers")
    stamp = os.path.join(dst, ".installed.json")
    want = file_sha(os.path.join(src, "package.json"), os.path.join(src, "package-lock.json"))
    if os.path.exists(stamp):
        with open(stamp) as f:
            s = json.load(f)
        if s.get("sha") == want and os.path.isdir(os.path.join(dst, "node_modules")):
            return s
    os.makedirs(dst, exist_ok=True)
    for n in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(src, n), os.path.join(dst, n))
    log(f"installing peers (npm install, exact versions + lock) into {os.path.relpath(dst, REPO)} ...")
    t0 = time.perf_counter()
    # `npm install`, not `npm ci`: npm 11 writes a lock without the other platforms'
    # optional packages and then `npm ci` refuses it as out of sync.
    sh(["npm", "install", "--no-audit", "--no-fund"], cwd=dst, env=npm_env(ctx), timeout=1800)
    s = {"sha": want, "seconds": round(time.perf_counter() - t0, 1),
         "date": datetime.datetime.now().isoformat(timespec="seconds"),
         "versions": {"turbo": tools.TURBO_VERSION, "nx": tools.NX_VERSION,
                      "@moonrepo/cli": tools.MOON_VERSION}}
    with open(stamp, "w") as f:
        json.dump(s, f)
    log(f"  peers installed in {s['seconds']} s")
    return s


def build_xtask(ctx):
    """cargo build --release -p xtask (and the dev build the `cargo xtask` alias runs)."""
    mode = ctx.args.build_xtask
    if mode == "auto":
        mode = "no" if ctx.args.smoke else "yes"
    if mode == "no" or ctx.args.xtask_bin:
        return
    if not os.path.isfile(os.path.join(REPO, "Cargo.toml")):
        ctx.xtask_build_error = "no Cargo.toml in repo"
        return
    log("building xtask (cargo build --release -p xtask) ...")
    t0 = time.perf_counter()
    r = sh(["cargo", "build", "--release", "-p", "xtask"], cwd=REPO, env=clean_env(ctx),
           timeout=3600, check=False)
    ctx.setup_times["xtask_release_build_s"] = round(time.perf_counter() - t0, 1)
    if r.returncode != 0:
        tail = [ln for ln in r.stderr.strip().splitlines() if ln.strip()][-3:]
        ctx.xtask_build_error = "release build failed: " + " | ".join(tail)
        log("  " + ctx.xtask_build_error)
        if os.path.isfile(ctx.xtask_bin):
            log("  (an older target/release/xtask exists; it would be stale: not used)")
            ctx.xtask_bin = ctx.xtask_bin + ".unavailable-build-failed"


# --------------------------------------------------------------- workspaces


def ws_root(ctx, n):
    a = ctx.args
    config = "" if a.task_config == "plain" else f"-{a.task_config}"
    return os.path.join(WORK, "ws", f"n{n}-f{a.files}-s{a.seed}{config}")


def make_base(ctx, n):
    """Generate (or reuse) the base workspace and its graph facts."""
    root = ws_root(ctx, n)
    base = os.path.join(root, "base")
    gfile = os.path.join(root, "graph.json")
    stamp = os.path.join(root, "base.stamp")
    want = file_sha(os.path.join(BENCH, "gen.py"))
    if not ctx.args.fresh and os.path.exists(stamp) and open(stamp).read() == want \
            and os.path.exists(gfile):
        with open(gfile) as f:
            return base, json.load(f)
    if os.path.exists(root):
        stop_all_daemons(ctx, root)
        shutil.rmtree(root)
    os.makedirs(root)
    log(f"generating {n}-crate workspace (files={ctx.args.files}, seed={ctx.args.seed}) ...")
    t0 = time.perf_counter()
    # With git: its objects (one pack) are shared with every tool's copy (`link_tree`).
    graph = gen.generate(base, n, ctx.args.files, ctx.args.seed, with_git=True, lock=True,
                         task_config=ctx.args.task_config)
    ctx.setup_times[f"n{n}_generate_s"] = round(time.perf_counter() - t0, 2)
    with open(gfile, "w") as f:
        json.dump(graph, f, indent=1)
    with open(stamp, "w") as f:
        f.write(want)
    return base, graph


def tool_dirs(ctx, n, tool):
    root = ws_root(ctx, n)
    return os.path.join(root, tool.name), os.path.join(root, "home", tool.name)


def tool_env(ctx, tool, ws, home):
    e = {"HOME": home,
         "XDG_CONFIG_HOME": os.path.join(home, ".config"),
         "XDG_CACHE_HOME": os.path.join(home, ".cache"),
         "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
         "XDG_STATE_HOME": os.path.join(home, ".local", "state")}
    e.update(tool.env(ws, home))
    return clean_env(ctx, e)


def link_tree(src, dst, real_copies):
    """`dst` as a copy of `src` (without `.git` and `target`) whose files are hard links
    to the base's, except `real_copies` (relative paths), which are copied. Copying 60k
    files took 20 s per tool here, linking them 2 s. Safe because nothing writes into an
    existing workspace file except the edit scenarios, whose files are the real copies:
    tools' config files, outputs and npm installs are new files (new inodes)."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in (".git", "target")]
        out = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(out, exist_ok=True)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            s, d = os.path.join(dirpath, name), os.path.join(out, name)
            if os.path.islink(s):
                os.symlink(os.readlink(s), d)
            elif os.path.normpath(os.path.join(rel, name)) in real_copies:
                shutil.copy2(s, d)
            else:
                os.link(s, d)


def share_git_objects(base, ws):
    """`git init` in `ws` with the base's pack files linked in, so the copy's `git add`
    finds every generated file's object already stored and writes only the tool's files
    (git never rewrites a pack; a repack would replace it with a new file)."""
    gen.git(ws, "init", "-q", "-b", "main")
    src = os.path.join(base, ".git", "objects", "pack")
    dst = os.path.join(ws, ".git", "objects", "pack")
    if os.path.isdir(src):
        for name in os.listdir(src):
            os.link(os.path.join(src, name), os.path.join(dst, name))


def setup_tool_ws(ctx, n, tool, base, graph):
    """Copy the base workspace, add the tool's config, npm install, one git commit."""
    ws, home = tool_dirs(ctx, n, tool)
    stamp = os.path.join(os.path.dirname(ws), f"{tool.name}.stamp")
    want = file_sha(os.path.join(BENCH, "gen.py"), os.path.join(BENCH, "tools.py"))
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, ".npmrc"), "w") as f:
        f.write("update-notifier=false\nfund=false\naudit=false\n")
    if os.path.exists(stamp) and open(stamp).read() == want and os.path.isdir(ws):
        return ws, home
    if os.path.exists(ws):
        shutil.rmtree(ws)
    t0 = time.perf_counter()
    link_tree(base, ws, {os.path.normpath(graph[k]) for k in set(EDITS.values())})
    share_git_objects(base, ws)
    tool.setup(ws, graph)
    if tool.npm_package:
        pkg, ver = tool.npm_package
        root = {"name": "bench-workspace", "version": "0.0.0", "private": True,
                "packageManager": f"npm@{ctx.npm_version}",
                "devDependencies": {pkg: ver}}
        if hasattr(tool, "root_package_json"):
            root.update(tool.root_package_json())
        tools.dump_json(os.path.join(ws, "package.json"), root)
        env = npm_env(ctx)
        r = sh(["npm", "install", "--offline", "--no-audit", "--no-fund"], cwd=ws, env=env,
               timeout=1800, check=False)
        if r.returncode != 0:   # cache incomplete: allow the registry
            sh(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund"], cwd=ws,
               env=env, timeout=1800)
    gen.git_commit_all(ws, f"synthetic workspace + {tool.name} config")
    ctx.setup_times[f"n{n}_{tool.name}_setup_s"] = round(time.perf_counter() - t0, 2)
    with open(stamp, "w") as f:
        f.write(want)
    return ws, home


def stop_all_daemons(ctx, root):
    for cls in tools.ALL:
        t = cls(ctx)
        if t.daemon:
            ws = os.path.join(root, t.name)
            if os.path.isdir(ws):
                try:
                    t.stop(ws, tool_env(ctx, t, ws, os.path.join(root, "home", t.name)))
                except (OSError, subprocess.SubprocessError):
                    pass


# -------------------------------------------------------------- measuring


def gnu_time():
    """GNU time's path if it works here, else None. Peak RSS is read through it: a
    child this harness forks starts as a copy of this Python process, and wait4's
    ru_maxrss keeps that copy's size across exec, so every figure below the
    harness's own ~20 MB would read as ~20 MB. GNU time is a small C program: what
    it forks starts small."""
    path = shutil.which("time") or "/usr/bin/time"
    try:
        ok = subprocess.run([path, "-f", "%M", "-o", os.devnull, "true"],
                            capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


def measure(argv, cwd, env, timeout, log_path, rss_via=None):
    """Run argv; return wall seconds, peak RSS (KiB, largest process of the tree that
    was waited for: wait4's ru_maxrss), exit code and the combined output. With
    `rss_via` (GNU time's path) the command runs under it and the peak RSS is the one
    it reports; that run's wall time then includes GNU time's own start."""
    rss_file = None
    if rss_via:
        rss_file = log_path + ".rss"
        argv = [rss_via, "-f", "%M", "-o", rss_file, "--"] + list(argv)
    with open(log_path, "w+b") as out:
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            return {"wall_s": None, "maxrss_kb": None, "rc": 127, "out": str(e)}
        killed = []

        def kill():
            killed.append(1)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = tools.strip_ansi(out.read().decode("utf-8", "replace"))
    rc = p.returncode if not killed else "timeout"
    maxrss = ru.ru_maxrss
    if rss_file:
        try:
            with open(rss_file) as f:   # "Command exited with ..." may come first
                maxrss = int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            maxrss = None
    return {"wall_s": round(wall, 4), "maxrss_kb": maxrss, "rc": rc, "out": text}


def expected(scenario, graph):
    n = graph["n"]
    return {
        "cold": (n, n), "warm": (n, 0), "warm-launcher": (n, 0), "warm-cargo-run": (n, 0),
        "warm-shim": (n, 0),
        "leaf-edit": (n, 1), "hub-edit": (n, graph["hub_dependents"] + 1),
        "affected": (graph["leaf_deps"] + 1, 1), "dry-run": (n, 0),
    }[scenario]


def missing_outputs(ws, graph):
    return [c["name"] for c in graph["crates"]
            if not os.path.isfile(os.path.join(ws, "crates", c["name"], tools.OUTPUT))]


class Runner:
    def __init__(self, ctx, n, graph, tool, ws, home):
        self.ctx, self.n, self.graph, self.tool, self.ws, self.home = ctx, n, graph, tool, ws, home
        self.env = tool_env(ctx, tool, ws, home)
        self.logs = os.path.join(home, "logs")
        tools.rmtree(self.logs)
        os.makedirs(self.logs)
        self.seq = 0

    def run(self, scenario, rep, timed=True, rss_via=None, npm_shim=False):
        """One sample. `npm_shim` (untimed priming only): package scripts start through
        tools.NPM_SHIM instead of npm."""
        env = self.env
        if npm_shim:
            env = dict(env, PATH=tools.npm_shim_dir(self.home) + ":" + env.get("PATH", ""))
        c = self.tool.cmd(scenario, self.ws, self.home)
        if c is None:
            return None
        argv, cwd = c if isinstance(c, tuple) else (c, self.ws)
        if scenario == "cold":
            self.tool.wipe(self.ws, self.graph)
        if hasattr(self.tool, "before"):
            self.tool.before(scenario, self.ws, self.home)
        edit_path, original = None, None
        if scenario in EDITS:
            edit_path = os.path.join(self.ws, self.graph[EDITS[scenario]])
            with open(edit_path, "rb") as f:
                original = f.read()
            with open(edit_path, "ab") as f:   # unique per run: never a cache hit
                f.write(f"\n// bench edit {time.time_ns()}\n".encode())
        self.seq += 1
        log_path = os.path.join(self.logs, f"{self.seq:04d}-{scenario}-r{rep}.log")
        load = os.getloadavg()[0]
        dirty = None
        try:
            for attempt in range(4):
                if attempt:
                    log(f"    {self.tool.name} {scenario}: {dirty}; measuring again")
                    time.sleep(2 * attempt)
                m = measure(argv, cwd, env, self.ctx.args.timeout, log_path, rss_via)
                dirty = self.tool.contaminated(scenario, m["out"])
                if not dirty or scenario in EDITS or scenario == "cold":
                    break   # (a state-changing run cannot simply be repeated)
        finally:
            if edit_path:
                with open(edit_path, "wb") as f:
                    f.write(original)
        unsup = self.tool.unsupported(scenario, m["rc"], m["out"]) if m["rc"] != 0 else None
        if unsup:
            return {"tool": self.tool.name, "scenario": scenario, "rep": rep, "timed": timed,
                    "unsupported": unsup, "ok": True, "problems": [], "rc": m["rc"],
                    "load1": round(load, 2),
                    "wall_s": None, "maxrss_kb": None, "log": os.path.relpath(log_path, REPO)}
        try:
            cnt = self.tool.parse(scenario, m["out"], self.ws, self.home) if m["rc"] == 0 \
                else tools.counts(note="exit %s; see %s" % (m["rc"], log_path))
        except Exception as e:  # an adapter bug must not lose the whole run
            cnt = tools.counts(note=f"adapter could not parse the output: {e!r}")
        exp = expected(scenario, self.graph)
        problems = []
        if m["rc"] != 0:
            problems.append(f"exit {m['rc']}: " + " | ".join(
                ln for ln in m["out"].strip().splitlines()[-3:]))
        elif cnt["total"] is None:
            problems.append("task counts not found: " + (cnt["note"] or "?"))
        else:
            if cnt["total"] != exp[0]:
                problems.append(f"saw {cnt['total']} tasks, expected {exp[0]}")
            if cnt["executed"] != exp[1]:
                problems.append(f"executed {cnt['executed']} tasks, expected {exp[1]}")
        if dirty:
            problems.append(f"contaminated: {dirty}")
        if m["rc"] == 0 and scenario == "cold":
            miss = missing_outputs(self.ws, self.graph)
            if miss:
                problems.append(f"{len(miss)} crates have no {tools.OUTPUT} after cold run "
                                f"(e.g. {miss[0]})")
        return {"tool": self.tool.name, "scenario": scenario, "rep": rep, "timed": timed,
                "phase": "timed" if timed else ("prime" if rep == 0 else
                                                 "rss" if rss_via else "prewarm"),
                "argv": [os.path.relpath(a, self.ws) if a.startswith(self.ws + "/") else a
                         for a in argv],
                "wall_s": m["wall_s"], "maxrss_kb": m["maxrss_kb"], "rc": m["rc"],
                "load1": round(load, 2), "npm_shim": npm_shim,
                "total": cnt["total"], "executed": cnt["executed"],
                "expected": list(exp), "ok": not problems, "problems": problems,
                "log": os.path.relpath(log_path, REPO)}


# ---------------------------------------------------------------- reports


def fmt_s(x):
    if x is None:
        return "—"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def phase(s):
    """prime (untimed, before the repetitions), prewarm (untimed, before a timed run), timed."""
    return s.get("phase") or ("timed" if s["timed"] else "prime" if s["rep"] == 0 else "prewarm")


def contaminated(s):
    return any(p.startswith("contaminated") for p in s.get("problems", []))


def real_problems(s):
    return [p for p in s.get("problems", []) if not p.startswith("contaminated")]


def summarize(samples):
    """scenario -> tool -> stats over the timed, successful, uncontaminated samples."""
    out = {}
    probed = {}   # (scenario, tool) -> peak RSS KiB of the GNU time run
    for s in samples:
        if s.get("phase") == "rss" and s["rc"] == 0 and s["maxrss_kb"]:
            probed[(s["scenario"], s["tool"])] = s["maxrss_kb"]
    for s in samples:
        if not s["timed"]:
            continue
        d = out.setdefault(s["scenario"], {}).setdefault(
            s["tool"], {"walls": [], "rss": [], "n_failed": 0, "n_unverified": 0,
                        "n_contaminated": 0})
        if s.get("unsupported"):
            d["unsupported"] = s["unsupported"]
            continue
        if s["rc"] != 0 or s["wall_s"] is None:
            d["n_failed"] += 1
            continue
        if contaminated(s):
            d["n_contaminated"] += 1
            continue
        if real_problems(s):
            d["n_unverified"] += 1
        d["walls"].append(s["wall_s"])
        d["rss"].append(s["maxrss_kb"])
    for scenario, sc in out.items():
        for tool, d in sc.items():
            w, r = d.pop("walls"), d.pop("rss")
            d["n"] = len(w)
            d["rss_source"] = "wait4"
            if w and (scenario, tool) in probed:
                r, d["rss_source"] = [probed[(scenario, tool)]], "gnu-time"
            if w:
                d.update(median_s=round(statistics.median(w), 4), min_s=min(w), max_s=max(w),
                         rss_median_mb=round(statistics.median(r) / 1024, 1),
                         rss_max_mb=round(max(r) / 1024, 1))
    return out


def ratio_row(stats, scenario, peers, ours="xtask"):
    sc = stats.get(scenario, {})
    o = sc.get(ours, {}).get("median_s")
    best = [(sc[p]["median_s"], p) for p in peers if sc.get(p, {}).get("median_s")]
    if o is None or not best:
        return None
    b, who = min(best)
    rb = [(sc[p]["rss_median_mb"], p) for p in peers if sc.get(p, {}).get("rss_median_mb")]
    return {"ratio": round(o / b, 3), "best_peer": who, "best_peer_s": b,
            "rss_ratio": round(sc[ours]["rss_median_mb"] / min(rb)[0], 3) if rb else None}


def markdown(results):
    lines = []
    r0 = results[0]
    env = r0["environment"]
    lines += [f"# Benchmark {r0['date']}", "",
              f"Machine: {env['cores']} cores, {env['cpu']}, {env['memory_gb']} GB, "
              f"kernel {env['kernel']}. node {env['node']}, npm {env['npm']}, {env['cargo']}.",
              "Tools: " + ", ".join(f"{k} {v}" for k, v in r0["tool_versions"].items()) + ".",
              f"Repo at {env['repo_rev']} ({env.get('repo_dirty_files', '?')} uncommitted files outside bench/). Command: `{r0['command']}`.", ""]
    skipped = {k: v for k, v in r0["tools"].items() if not v["available"]}
    for k, v in skipped.items():
        lines.append(f"**{k} skipped:** {v['reason']}")
    if skipped:
        lines.append("")
    lines += ["Cells: median wall time [min–max] over the timed repetitions, then the "
              "peak RSS of the largest process (one more, untimed run under GNU time: see bench/README.md). ⚠ = a sample whose task counts were wrong "
              "(see the JSON); ✗ = a failed command. The last column is xtask's median "
              "divided by the best peer's (target ≤ 0.5).", ""]
    for r in results:
        g = r["graph"]
        tl = [t for t in r["tools"] if r["tools"][t]["available"]]
        peers = [t for t in tl if r["tools"][t]["peer"]]
        lines += [f"## {g['n']} crates × {r['files']} files, {r['reps']} reps",
                  "", f"hub `{g['hub']}` has {g['hub_dependents']} dependents; leaf "
                  f"`{g['leaf']}` has {g['leaf_deps']} dependencies.", ""]
        loads = [s["load1"] for s in r["samples"] if s["timed"] and "load1" in s]
        if loads:
            lines += [f"1-minute load average when the timed samples started: median "
                      f"{statistics.median(loads):.2f} (min {min(loads):.2f}, max {max(loads):.2f}"
                      f"; it includes the benchmark's own previous commands).", ""]
        head = ["scenario"] + tl + (["xtask / best peer"] if "xtask" in tl else [])
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for sc in r["scenarios"]:
            row = [sc]
            any_cell = False
            for t in tl:
                d = r["stats"].get(sc, {}).get(t)
                if not d:
                    row.append("n/a")
                    continue
                any_cell = True
                if d["n"] == 0 and d.get("unsupported"):
                    row.append("n/a: " + d["unsupported"])
                    continue
                if d["n"] == 0:
                    row.append(f"✗ ({d['n_failed']} failed)")
                    continue
                mark = " ⚠" if d["n_unverified"] else ""
                mark += f" ✗{d['n_failed']}" if d["n_failed"] else ""
                mark += f" ({d['n']} clean samples)" if d.get("n_contaminated") else ""
                rng = f" [{fmt_s(d['min_s'])}–{fmt_s(d['max_s'])}]" if d["n"] > 1 else ""
                row.append(f"{fmt_s(d['median_s'])}{rng} · {d['rss_median_mb']:.0f} MB{mark}")
            if "xtask" in tl:
                rr = r["ratios"].get(sc)
                row.append(f"{rr['ratio']:.2f}× {rr['best_peer']} (RSS {rr['rss_ratio']:.2f}×)"
                           if rr else "—")
            if any_cell:
                lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        bad = [s for s in r["samples"] if not s["ok"]]
        if bad:
            lines += ["### Verification problems and dropped samples", ""]
            for s in bad:
                lines.append(f"- {s['tool']} / {s['scenario']} (rep {s['rep']}, {phase(s)}): "
                             + "; ".join(s["problems"]))
            lines += ["", "(prime and prewarm runs are untimed; a prewarm that executes "
                      "tasks means the state had changed before it, e.g. the engine behind "
                      "the alias was rebuilt from newer sources, and the timed run after it is "
                      "what the table shows. Contaminated samples are left out of the "
                      "statistics.)", ""]
    lines += ["Setup: peers `npm install` "
              f"{r0['peers_install'].get('seconds', '?')} s (cached in bench/work/peers); "
              "this run's builds and workspace setups (reused ones not listed), seconds: "
              + ", ".join(f"{k} {v}" for k, v in results[-1]["setup_times"].items()), ""]
    return "\n".join(lines)


def environment(ctx):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gb": mem, "kernel": platform.release(),
            "os": platform.platform(), "python": platform.python_version(),
            "node": first_line(["node", "--version"]), "npm": ctx.npm_version,
            "cargo": first_line(["cargo", "--version"]), "rustc": first_line(["rustc", "--version"]),
            "git": first_line(["git", "--version"]), "repo_rev": ctx.repo_rev,
            # xtask is built from the working tree: uncommitted changes are part of it.
            "repo_dirty_files": len([ln for ln in sh(
                ["git", "status", "--porcelain", "--", ".", ":!bench"], cwd=REPO,
                check=False).stdout.splitlines() if ln.strip()]),
            "time_tool": "os.wait4 (ru_maxrss of the waited process tree)"}


# ------------------------------------------------------------------- main


def shim_prime(args, tool, n):
    """Whether `tool`'s priming cold run at `n` crates starts its package scripts through
    tools.NPM_SHIM (see there why): Turborepo at --npm-shim-prime-from crates and up."""
    return tool.npm_shim_prime and 0 < args.npm_shim_prime_from <= n


def run_size(ctx, n, tool_objs, scenarios, peers_install, budget=None):
    """Set up, prime and measure every tool at `n` crates. `budget` (scale mode) decides
    which tools to drop before priming and which timed scenarios to skip after it:
    `budget.drop(tool, n)` and `budget.skip(tool, scenario, n, prime_cold_s)` return a
    reason or None."""
    a = ctx.args
    base, graph = make_base(ctx, n)
    log(f"\n=== {n} crates: hub {graph['hub']} ({graph['hub_dependents']} dependents), "
        f"leaf {graph['leaf']} ({graph['leaf_deps']} deps) ===")
    status = {}
    runners = []
    for t in tool_objs:
        ok, why = t.available()
        if ok and budget:
            why = budget.drop(t.name, n, npm_shim=shim_prime(a, t, n))
            ok = why is None
        status[t.name] = {"available": ok, "reason": why, "peer": t.peer}
        if not ok:
            log(f"SKIPPED {t.name}: {why}")
            continue
        try:
            ws, home = setup_tool_ws(ctx, n, t, base, graph)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            status[t.name] = {"available": False, "reason": f"setup failed: {e}", "peer": t.peer}
            log(f"SKIPPED {t.name}: setup failed: {e}")
            continue
        runners.append(Runner(ctx, n, graph, t, ws, home))
    samples = []
    try:
        # Prime: daemons up, one untimed cold + warm run each (first-run extraction,
        # npx resolution, the engine build behind `cargo xtask`); a tool that cannot run is
        # dropped.
        for r in list(runners):
            if r.tool.daemon:
                r.tool.stop(r.ws, r.env)    # a leftover from an interrupted run
                r.tool.start(r.ws, r.env)
            if not r.tool.peer and "warm-launcher" in scenarios and \
                    ctx.xtask_launcher[:2] == ["cargo", "xtask"]:
                # The alias's launcher builds the engine (dev profile) if its stamp is
                # stale, and records a fresh stamp: the timed runs then only exec it.
                log("  priming `cargo xtask` (the launcher and its engine build) ...")
                sh(["cargo", "xtask", "--version"], cwd=REPO, env=r.env, timeout=3600,
                   check=False)
            # The warm priming run uses real npm even after a shim-primed cold run: it
            # must hit every task, which checks that the shim filled the same cache.
            res = [r.run("cold", 0, timed=False, npm_shim=shim_prime(a, r.tool, n)),
                   r.run("warm", 0, timed=False)]
            samples += res
            for s in res:
                log(f"  prime {r.tool.name:10} {s['scenario']:5} {fmt_s(s['wall_s']):>9} "
                    + ("ok" if s["ok"] else "PROBLEM: " + "; ".join(s["problems"])))
            if res[0]["rc"] != 0:
                status[r.tool.name].update(available=False,
                                           reason="does not run: " + res[0]["problems"][0])
                log(f"SKIPPED {r.tool.name}: {status[r.tool.name]['reason']}")
                runners.remove(r)
        skipped = {}
        for r in runners if budget else []:
            prime_cold = next((s["wall_s"] for s in samples if s and s["tool"] == r.tool.name
                               and s["scenario"] == "cold" and not s.get("npm_shim")), None)
            for sc in scenarios:
                why = budget.skip(r.tool.name, sc, n, prime_cold,
                                  npm_shim=shim_prime(a, r.tool, n))
                if why:
                    skipped.setdefault(r.tool.name, {})[sc] = why
                    log(f"  {r.tool.name} {sc}: not timed at {n} crates: {why}")
        for rep in range(1, a.reps + 1):
            k = (rep - 1) % max(1, len(runners))
            order = runners[k:] + runners[:k]   # rotate who goes first
            for sc in scenarios:
                for r in order:
                    if sc in skipped.get(r.tool.name, {}):
                        continue
                    if sc in PREWARM:
                        pw = r.run(sc, rep, timed=False)
                        if pw:
                            samples.append(pw)
                    s = r.run(sc, rep)
                    if s is None:
                        continue
                    samples.append(s)
                    if s.get("unsupported"):
                        log(f"  [n{n} rep {rep}/{a.reps}] {sc:13} {r.tool.name:10} "
                            f"skipped: {s['unsupported']}")
                        continue
                    tag = "ok" if s["ok"] else "PROBLEM: " + "; ".join(s["problems"])
                    rss = f"{s['maxrss_kb'] / 1024:.0f} MB" if s["maxrss_kb"] else "—"
                    log(f"  [n{n} rep {rep}/{a.reps}] {sc:13} {r.tool.name:10} "
                        f"{fmt_s(s['wall_s']):>9} {rss:>7}  "
                        f"{s['total']}/{s['executed']} {tag}")
        # One more, untimed run of each cell under GNU time, for its peak RSS (see
        # gnu_time): the timed runs stay free of its start-up.
        rss_via = gnu_time()
        for sc in scenarios if rss_via else []:
            for r in runners:
                if sc in skipped.get(r.tool.name, {}):
                    continue
                if sc in PREWARM:
                    pw = r.run(sc, a.reps + 1, timed=False)
                    if pw:
                        samples.append(pw)
                s = r.run(sc, a.reps + 1, timed=False, rss_via=rss_via)
                if s is not None and not s.get("unsupported"):
                    samples.append(s)
                    log(f"  [n{n} rss] {sc:13} {r.tool.name:10} "
                        f"{(s['maxrss_kb'] or 0) / 1024:.1f} MB (GNU time)")
    finally:
        for r in runners:
            if r.tool.daemon:
                r.tool.stop(r.ws, r.env)
    stats = summarize(samples)
    peers = [r.tool.name for r in runners if r.tool.peer]
    ratios = {sc: ratio_row(stats, sc, peers) for sc in scenarios}
    return {
        "graph": {k: v for k, v in graph.items() if k != "crates"},
        "graph_edges": sum(len(c["deps"]) for c in graph["crates"]),
        "files": a.files, "seed": a.seed, "reps": a.reps, "scenarios": scenarios,
        "tools": status, "samples": samples, "stats": stats, "skipped": skipped,
        "ratios": {k: v for k, v in ratios.items() if v},
        "peers_install": peers_install,
    }


def write_scale_report(json_path, doc):
    """The scale table (`<json minus .json>.md`) and plot (`.png`) beside the JSON."""
    stem = json_path[:-len(".json")]
    md = scale.markdown(doc)
    with open(stem + ".md", "w") as f:
        f.write(md)
    log(f"wrote {os.path.relpath(stem + '.md', REPO)}")
    scale.plot(WORK, json_path, stem + ".png", log)
    log(f"wrote {os.path.relpath(stem + '.png', REPO)}\n")
    return md


def render(paths):
    """Recompute stats and the markdown from result JSON files of one run."""
    if len(paths) == 1 and paths[0].endswith("-scale.json"):
        doc = scale.load(paths[0])
        for r in doc["sizes"]:
            r["stats"] = summarize(r["samples"])
        with open(paths[0], "w") as f:
            json.dump(doc, f, indent=1)
        return write_scale_report(paths[0], doc)
    results = []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        r["stats"] = summarize(r["samples"])
        peers = [t for t, v in r["tools"].items() if v["available"] and v["peer"]]
        r["ratios"] = {k: v for k, v in ((sc, ratio_row(r["stats"], sc, peers))
                                         for sc in r["scenarios"]) if v}
        with open(p, "w") as f:
            json.dump(r, f, indent=1)
        results.append(r)
    mdpath = os.path.join(os.path.dirname(paths[0]), f"{results[0]['date']}.md")
    with open(mdpath, "w") as f:
        f.write(markdown(results))
    log(f"wrote {mdpath}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", help="comma-separated crate counts (default 50,300; "
                    f"--scale: {scale.DEFAULT_SIZES})")
    ap.add_argument("--reps", type=int, help="timed repetitions (default 5; --scale: 3)")
    ap.add_argument("--files", type=int, default=20, help="source files per crate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tools", help="default: all (--scale: %s)" % scale.DEFAULT_TOOLS)
    ap.add_argument("--scenarios", help="default: all (--scale: %s)" % ",".join(scale.SCENARIOS))
    ap.add_argument("--task-config", choices=sorted(gen.TASK_CONFIGS), default="plain",
                    help="what the check task declares: plain (one literal output) or globs "
                         "(input and output globs; turbo and xtask only)")
    ap.add_argument("--scale", action="store_true",
                    help="one table of every size, growth check and PNG plot (bench/scale.py)")
    ap.add_argument("--budget", type=float, default=120,
                    help="--scale: skip a timed command predicted to take longer (seconds)")
    ap.add_argument("--npm-shim-prime-from", type=int, default=3000, metavar="CRATES",
                    help="at this many crates and up, Turborepo's untimed priming cold run "
                         "starts package scripts through a shim instead of npm, whose "
                         "per-script cost grows with the workspace count (bench/tools.py "
                         "NPM_SHIM); timed runs always use npm; 0 = never (default 3000)")
    ap.add_argument("--prime-budget", type=float, default=1200,
                    help="--scale: drop a tool at a size whose priming cold run is predicted "
                    "to take longer (seconds)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    ap.add_argument("--build-xtask", choices=["auto", "yes", "no"], default="auto",
                    help="cargo build --release -p xtask first (auto: yes unless --smoke)")
    ap.add_argument("--xtask-bin", help="our binary (default target/release/xtask)")
    ap.add_argument("--xtask-launcher", default="cargo xtask",
                    help="the launcher command, run with cwd = repo root (default: cargo xtask)")
    ap.add_argument("--fresh", action="store_true", help="regenerate the workspaces")
    ap.add_argument("--out-dir", default=None, help="default bench/results (smoke: bench/work/smoke)")
    ap.add_argument("--tag", default="", help="suffix for the result file names")
    ap.add_argument("--render", metavar="JSON[,JSON]",
                    help="only rebuild the markdown from result JSON files (same run)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if any sample failed or counted tasks wrongly")
    ap.add_argument("--smoke", action="store_true",
                    help="CI mode: 12 crates × 4 files, 1 rep, --strict, no xtask build")
    a = ap.parse_args()
    if a.render:
        return render(a.render.split(","))
    if a.smoke:
        a.sizes = a.sizes or (scale.SMOKE_SIZES if a.scale else "12")
        a.reps, a.files, a.strict = 1, 4, True
        a.out_dir = a.out_dir or os.path.join(WORK, "smoke")
    a.sizes = a.sizes or (scale.DEFAULT_SIZES if a.scale else "50,300")
    a.reps = a.reps or (3 if a.scale else 5)
    a.tools = a.tools or (scale.DEFAULT_TOOLS if a.scale else ",".join(c.name for c in tools.ALL))
    a.scenarios = a.scenarios or ",".join(scale.SCENARIOS if a.scale else SCENARIOS)
    out_dir = a.out_dir or os.path.join(BENCH, "results")
    sizes = [int(s) for s in a.sizes.split(",") if s]
    names = [s for s in a.tools.split(",") if s]
    scenarios = [s for s in a.scenarios.split(",") if s]
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s}; known: {', '.join(SCENARIOS)}")
    known = {c.name: c for c in tools.ALL}
    for t in names:
        if t not in known:
            ap.error(f"unknown tool {t}; known: {', '.join(known)}")
    if a.task_config != "plain":
        for t in names:
            if t not in ("turbo", "xtask"):
                ap.error(f"--task-config {a.task_config} is written for turbo and xtask only; "
                         f"drop {t} from --tools")

    # SIGTERM unwinds like Ctrl-C, so daemons are stopped and edited files restored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = Context(a)
    os.makedirs(WORK, exist_ok=True)
    peers_install = ensure_peers(ctx)
    if "xtask" in names:
        build_xtask(ctx)
    tool_objs = [known[t](ctx) for t in names]
    date = datetime.date.today().isoformat()
    env = environment(ctx)
    versions = {}
    for t in tool_objs:
        if t.available()[0]:
            versions[t.name] = t.version(None)
    cmdline = "python3 bench/run.py " + " ".join(sys.argv[1:])
    results = []
    os.makedirs(out_dir, exist_ok=True)
    budget = scale.Budget(a.files, a.budget, a.prime_budget) if a.scale else None
    scale_doc = {"command": cmdline, "sizes": results}
    scale_json = os.path.join(out_dir, f"{date}{a.tag}-scale.json")
    for n in sizes:
        r = run_size(ctx, n, tool_objs, scenarios, peers_install, budget)
        r.update(date=date, environment=env, tool_versions=versions, command=cmdline,
                 setup_times=dict(ctx.setup_times))
        results.append(r)
        if budget:
            budget.record(n, r)
            path = scale_json   # rewritten after every size: an interrupted run keeps the rest
            with open(path, "w") as f:
                json.dump(scale_doc, f, indent=1)
        else:
            path = os.path.join(out_dir, f"{date}{a.tag}-{n}.json")
            with open(path, "w") as f:
                json.dump(r, f, indent=1)
        log(f"wrote {os.path.relpath(path, REPO)}")
    if budget:
        md = write_scale_report(scale_json, scale_doc)
    else:
        md = markdown(results)
        mdpath = os.path.join(out_dir, f"{date}{a.tag}.md")
        with open(mdpath, "w") as f:
            f.write(md)
        log(f"wrote {os.path.relpath(mdpath, REPO)}\n")
    log(md)
    bad = [(r["graph"]["n"], s) for r in results for s in r["samples"] if not s["ok"]]
    fatal = [(n, s) for n, s in bad if phase(s) != "prewarm" and real_problems(s)]
    if bad:
        log("!" * 72)
        log(f"!! {len(bad)} SAMPLE(S) FAILED OR COUNTED TASKS WRONGLY:")
        for n, s in bad[:40]:
            log(f"!!   n={n} {s['tool']} {s['scenario']} rep {s['rep']} ({phase(s)}): "
                + "; ".join(s["problems"]))
        log("!" * 72)
    skipped = sorted({t for r in results for t, v in r["tools"].items() if not v["available"]})
    if skipped:
        log("skipped tools: " + ", ".join(skipped))
    if a.strict and fatal:
        sys.exit(1)


if __name__ == "__main__":
    main()
