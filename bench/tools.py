"""Tool adapters for the benchmark harness (stdlib only).

One class per measured tool. Each adapter knows how to
  * lay its config files over a copy of the generated Cargo workspace (`setup`),
  * build the command line for every scenario (`cmd`; None = not offered),
  * wipe its caches for the cold scenario (`wipe`),
  * read back how many tasks it saw and how many it really executed (`parse`).
The harness (run.py) does the rest: environments, timing, checks, reports.
"""

import glob
import json
import os
import re
import shutil
import subprocess

import gen  # noqa: E402  (bench/ is on sys.path: run.py's directory)

TURBO_VERSION = "2.11.11"
NX_VERSION = "24.0.6"
MOON_VERSION = "2.5.5"

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

TASK = "check"
TASK_CMD = "echo ok > .check.out"
OUTPUT = ".check.out"


def strip_ansi(s):
    return ANSI.sub("", s)


def dump_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def rmtree(path):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def counts(total=None, executed=None, note=None):
    return {"total": total, "executed": executed, "note": note}


class Tool:
    name = "?"
    peer = True               # False for ours
    npm_package = None        # (name, version) installed into the workspace's node_modules
    daemon = False
    npm_shim_prime = False    # True: may prime through NPM_SHIM (Turborepo only)

    def __init__(self, ctx):
        self.ctx = ctx        # run.py's Context: paths, npm version, xtask paths

    # --- lifecycle -------------------------------------------------------
    def available(self):
        """(True, None) or (False, reason)."""
        return True, None

    def version(self, ws):
        return None

    def setup(self, ws, graph):
        """Write this tool's config files into `ws` (a copy of the base workspace)."""

    def env(self, ws, home):
        """Extra environment variables for every command of this tool."""
        return {}

    def cache_dirs(self, ws):
        return []

    def wipe(self, ws, graph):
        for d in self.cache_dirs(ws):
            rmtree(d)
        for c in graph["crates"]:
            p = os.path.join(ws, "crates", c["name"], OUTPUT)
            if os.path.exists(p):
                os.unlink(p)

    def start(self, ws, env):
        pass

    def contaminated(self, scenario, out):
        """A reason when a sample measured something else than the tool (then retried)."""
        return None

    def unsupported(self, scenario, rc, out):
        """A reason when a failed command means "this flag does not exist (yet)"."""
        return None

    def stop(self, ws, env):
        pass

    # --- scenarios -------------------------------------------------------
    def cmd(self, scenario, ws, home):
        """argv list (run in ws unless the adapter returns (argv, cwd)) or None."""
        raise NotImplementedError

    def parse(self, scenario, out, ws, home):
        raise NotImplementedError


# ----------------------------------------------------------------- Turborepo


# `npm run <script>` as npm prints and runs it, for Turborepo's untimed priming runs at
# sizes where real npm would take the hour: npm 11 maps every workspace of the root
# package.json before it runs a script in one of them (@npmcli/config loadLocalPrefix;
# only a command-line --no-workspaces skips it, and Turborepo starts `npm run <task>`
# itself), so each task costs O(workspaces): 1.8 s per `npm run` at 3,000 workspaces
# here against 0.2 s at 12, and the cold run grows with the square of the crates.
# Turborepo's task hashes do not depend on which program ran the script, so the cache
# this fills is the cache real npm fills; the warm priming run right after uses real
# npm and must hit every task. Anything but `run <script>` goes to the real npm.
NPM_SHIM = r"""#!/usr/bin/env python3
import json, os, sys
shim_dir = os.path.dirname(os.path.abspath(__file__))
if len(sys.argv) >= 3 and sys.argv[1] == "run":
    with open("package.json", encoding="utf-8") as f:
        pkg = json.load(f)
    script = pkg["scripts"][sys.argv[2]]
    sys.stdout.write("\n> %s@%s %s\n> %s\n\n" % (pkg["name"], pkg["version"], sys.argv[2], script))
    sys.stdout.flush()
    os.execvp("sh", ["sh", "-c", script])
path = [d for d in os.environ.get("PATH", "").split(":") if os.path.abspath(d or ".") != shim_dir]
os.environ["PATH"] = ":".join(path)
os.execvp("npm", ["npm"] + sys.argv[1:])
"""


def npm_shim_dir(home):
    """A directory holding the `npm` shim (NPM_SHIM), written on first use."""
    d = os.path.join(home, "npm-shim")
    path = os.path.join(d, "npm")
    if not os.path.exists(path):
        os.makedirs(d, exist_ok=True)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(NPM_SHIM)
        os.chmod(path + ".tmp", 0o755)
        os.replace(path + ".tmp", path)
    return d


class Turbo(Tool):
    name = "turbo"
    npm_package = ("turbo", TURBO_VERSION)
    # Its priming cold run can start package scripts through NPM_SHIM (run.py's
    # --npm-shim-prime-from).
    npm_shim_prime = True

    def bin(self, ws):
        return os.path.join(ws, "node_modules", "@turbo", "linux-64", "bin", "turbo")

    def version(self, ws):
        return TURBO_VERSION

    def setup(self, ws, graph):
        for c in graph["crates"]:
            dump_json(os.path.join(ws, "crates", c["name"], "package.json"), {
                "name": c["name"], "version": "0.1.0", "private": True,
                "scripts": {TASK: TASK_CMD},
                "dependencies": {d: "*" for d in c["deps"]},
            })
        config = gen.TASK_CONFIGS[graph.get("task_config", "plain")]
        task = {"dependsOn": ["^" + TASK], "outputs": config["outputs"]}
        if config["inputs"] is not None:
            task["inputs"] = config["inputs"]
        dump_json(os.path.join(ws, "turbo.json"), {
            "$schema": "./node_modules/turbo/schema.json",
            "tasks": {TASK: task},
        })

    def root_package_json(self):
        return {"workspaces": ["crates/*"]}

    def env(self, ws, home):
        return {"TURBO_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1",
                "TURBO_NO_UPDATE_NOTIFIER": "1"}

    def cache_dirs(self, ws):
        return [os.path.join(ws, ".turbo")]

    def cmd(self, scenario, ws, home):
        run = ["run", TASK]
        return {
            "cold": [self.bin(ws)] + run,
            "warm": [self.bin(ws)] + run,
            "warm-launcher": ["npx", "turbo"] + run,
            "warm-shim": [os.path.join(ws, "node_modules", ".bin", "turbo")] + run,
            "leaf-edit": [self.bin(ws)] + run,
            "hub-edit": [self.bin(ws)] + run,
            "dry-run": [self.bin(ws)] + run + ["--dry=json"],
            "affected": [self.bin(ws)] + run + ["--affected"],
        }.get(scenario)

    def parse(self, scenario, out, ws, home):
        if scenario == "dry-run":
            try:
                d = json.loads(out[out.index("{"):])
                return counts(len(d["tasks"]), 0)
            except (ValueError, KeyError) as e:
                return counts(note=f"dry-run JSON unreadable: {e}")
        t = re.search(r"Tasks:\s+(\d+) successful, (\d+) total", out)
        c = re.search(r"Cached:\s+(\d+) cached, (\d+) total", out)
        if not (t and c):
            return counts(note="no 'Tasks:/Cached:' summary in output")
        total = int(t.group(2))
        return counts(total, total - int(c.group(1)))


# ----------------------------------------------------------------------- Nx


class Nx(Tool):
    name = "nx"
    npm_package = ("nx", NX_VERSION)

    def bin(self, ws):
        return os.path.join(ws, "node_modules", ".bin", "nx")

    def version(self, ws):
        return NX_VERSION

    def setup(self, ws, graph):
        for c in graph["crates"]:
            dump_json(os.path.join(ws, "crates", c["name"], "project.json"), {
                "name": c["name"],
                "$schema": "../../node_modules/nx/schemas/project-schema.json",
                "implicitDependencies": c["deps"],
                "targets": {TASK: {"executor": "nx:run-commands",
                                   "options": {"command": TASK_CMD, "cwd": "{projectRoot}"}}},
            })
        dump_json(os.path.join(ws, "nx.json"), {
            "$schema": "./node_modules/nx/schemas/nx-schema.json",
            "cacheDirectory": ".nx/cache",
            "targetDefaults": {TASK: {"dependsOn": ["^" + TASK],
                                      "outputs": ["{projectRoot}/" + OUTPUT], "cache": True}},
        })

    def env(self, ws, home):
        return {"NX_DAEMON": "false", "NX_NO_CLOUD": "true", "NX_TUI": "false",
                "NX_SKIP_NX_CACHE": None, "NX_INTERACTIVE": "false"}

    def cache_dirs(self, ws):
        # No daemon: the project-graph cache (workspace-data) is a cache too.
        return [os.path.join(ws, ".nx")]

    def graph_file(self, home):
        return os.path.join(home, "nx-task-graph.json")

    def cmd(self, scenario, ws, home):
        run = ["run-many", "-t", TASK]
        nx = [self.bin(ws)]
        return {
            "cold": nx + run,
            "warm": nx + run,
            "warm-launcher": ["npx", "nx"] + run,
            "leaf-edit": nx + run,
            "hub-edit": nx + run,
            # Nx has no dry run that hashes; --graph=FILE builds the task graph only.
            "dry-run": nx + run + ["--graph=" + self.graph_file(home)],
            "affected": nx + ["affected", "-t", TASK],
        }.get(scenario)

    def parse(self, scenario, out, ws, home):
        if scenario == "dry-run":
            try:
                with open(self.graph_file(home)) as f:
                    return counts(len(json.load(f)["tasks"]["tasks"]), 0)
            except (OSError, ValueError, KeyError) as e:
                return counts(note=f"task graph file unreadable: {e}")
        m = re.search(r"Cache:\s+(\d+)/(\d+) hit", out)
        if m:
            total = int(m.group(2))
            return counts(total, total - int(m.group(1)))
        m = (re.search(r"Successfully ran target \S+ for (\d+) projects?", out)
             or re.search(r"Successfully ran target \S+ for project \S+ and (\d+) tasks?", out))
        if not m:
            return counts(note="no 'Successfully ran target' line in output")
        total = int(m.group(1)) + (1 if "for project" in m.group(0) else 0)
        h = re.search(r"for (\d+) out of (\d+) tasks", out)
        return counts(total, total - (int(h.group(1)) if h else 0))


class NxDaemon(Nx):
    name = "nx-daemon"
    daemon = True

    def env(self, ws, home):
        e = super().env(ws, home)
        e["NX_DAEMON"] = "true"
        return e

    def cache_dirs(self, ws):
        # The daemon keeps the project graph in memory: cold = task cache + outputs.
        return [os.path.join(ws, ".nx", "cache")]

    def start(self, ws, env):
        subprocess.run([self.bin(ws), "daemon", "--start"], cwd=ws, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)

    def stop(self, ws, env):
        subprocess.run([self.bin(ws), "daemon", "--stop"], cwd=ws, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


# --------------------------------------------------------------------- moon


class Moon(Tool):
    name = "moon"
    npm_package = ("@moonrepo/cli", MOON_VERSION)

    def bin(self, ws):
        return os.path.join(ws, "node_modules", "@moonrepo", "core-linux-x64-gnu", "moon")

    def version(self, ws):
        return MOON_VERSION

    def setup(self, ws, graph):
        os.makedirs(os.path.join(ws, ".moon", "tasks"), exist_ok=True)
        with open(os.path.join(ws, ".moon", "workspace.yml"), "w") as f:
            f.write("# moon v2 workspace for the benchmark\n"
                    "telemetry: false\n"
                    "vcs:\n  client: 'git'\n  defaultBranch: 'main'\n"
                    "projects:\n")
            for c in graph["crates"]:
                f.write(f"  {c['name']}: 'crates/{c['name']}'\n")
        # No .moon/toolchains.yml: tasks use the built-in `system` toolchain, nothing
        # is downloaded. v2's `command` refuses shell syntax, so the task is a `script`.
        with open(os.path.join(ws, ".moon", "tasks", "all.yml"), "w") as f:
            f.write("tasks:\n"
                    f"  {TASK}:\n"
                    f"    script: '{TASK_CMD}'\n"
                    f"    deps: ['^:{TASK}']\n"
                    f"    outputs: ['{OUTPUT}']\n")
        for c in graph["crates"]:
            with open(os.path.join(ws, "crates", c["name"], "moon.yml"), "w") as f:
                if c["deps"]:
                    f.write("dependsOn:\n" + "".join(f"  - '{d}'\n" for d in c["deps"]))
                else:
                    f.write("dependsOn: []\n")

    def env(self, ws, home):
        return {"MOON_TELEMETRY": "false", "MOON_DAEMON": "false", "MOON_COLOR": None,
                "PROTO_OFFLINE": "1"}

    def cache_dirs(self, ws):
        return [os.path.join(ws, ".moon", "cache")]

    def cmd(self, scenario, ws, home):
        run = ["run", ":" + TASK]
        m = [self.bin(ws)]
        return {
            "cold": m + run,
            "warm": m + run,
            "warm-launcher": ["npx", "moon"] + run,
            "warm-shim": [os.path.join(ws, "node_modules", ".bin", "moon")] + run,
            "leaf-edit": m + run,
            "hub-edit": m + run,
            # moon has no dry run; the action graph of the target is the closest.
            "dry-run": m + ["action-graph", ":" + TASK, "--json"],
            "affected": m + run + ["--affected"],
        }.get(scenario)

    def parse(self, scenario, out, ws, home):
        if scenario == "dry-run":
            try:
                d = json.loads(out[out.index("{"):])
                n = sum(1 for v in d["data"].values() if v.get("action") == "run-task")
                return counts(n, 0)
            except (ValueError, KeyError, AttributeError) as e:
                return counts(note=f"action graph JSON unreadable: {e}")
        m = re.search(r"Tasks:\s+(\d+) completed(?: \((\d+) cached\))?", out)
        if not m:
            return counts(note="no 'Tasks: N completed' line in output")
        total = int(m.group(1))
        return counts(total, total - int(m.group(2) or 0))


# ---------------------------------------------------------------------- ours


class Xtask(Tool):
    """Our tool. Expected CLI (see README.md, "The xtask adapter"):

      xtask run check [--summarize FILE] [--dry-run=json] [--affected]
      cargo xtask -C <workspace> run check        (the alias, cwd = repo root: the launcher,
                                                   which execs the engine it keeps built)
      cargo run --package xtask -- -C <ws> run check  (the alias before the launcher)

    run in the workspace dir; task config comes from the root Cargo.toml.
    Counts come from the --summarize JSON (or a "N cached, N total" line).
    """
    name = "xtask"
    peer = False
    # Where the tool keeps state in the workspace; all wiped for the cold scenario.
    CACHE_DIRS = ["turbo-cache", ".xtask"]

    def bin(self, ws=None):
        return self.ctx.xtask_bin

    def available(self):
        b = self.ctx.xtask_bin
        if not os.path.isfile(b):
            return False, f"{b} not built" + (f" ({self.ctx.xtask_build_error})"
                                              if self.ctx.xtask_build_error else "")
        try:
            r = subprocess.run([b, "run", "--help"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, f"`xtask run --help` failed: {e}"
        if r.returncode != 0 or not (r.stdout + r.stderr).strip():
            return False, ("`xtask run --help` exited %d with %s output: no `run` command yet"
                           % (r.returncode, "no" if not (r.stdout + r.stderr).strip() else "this"))
        return True, None

    def version(self, ws):
        try:
            r = subprocess.run([self.ctx.xtask_bin, "--version"], capture_output=True,
                               text=True, timeout=30)
            v = r.stdout.strip() or r.stderr.strip()
        except OSError:
            v = ""
        return (v or "unknown") + f" (repo {self.ctx.repo_rev})"

    def env(self, ws, home):
        # The launcher needs the real rustup/cargo homes even with a private HOME.
        return {"CARGO_HOME": self.ctx.cargo_home, "RUSTUP_HOME": self.ctx.rustup_home,
                "CARGO_TARGET_DIR": None}

    def cache_dirs(self, ws):
        return [os.path.join(ws, d) for d in self.CACHE_DIRS]

    def summary_file(self, home):
        return os.path.join(home, "xtask-summary.json")

    def cmd(self, scenario, ws, home):
        summ = ["--summarize=" + self.summary_file(home)]   # optional-value flag: needs "="
        run = ["run", TASK]
        b = [self.ctx.xtask_bin]
        if scenario == "warm-launcher":
            return (self.ctx.xtask_launcher + ["-C", ws] + run + summ, self.ctx.repo)
        if scenario == "warm-cargo-run":
            # What `cargo xtask` was before the launcher: cargo checks the engine's
            # whole dependency tree before it runs. Kept to measure the launcher against.
            return (["cargo", "run", "--package", "xtask", "--", "-C", ws] + run + summ,
                    self.ctx.repo)
        return {
            "cold": b + run + summ,
            "warm": b + run + summ,
            "leaf-edit": b + run + summ,
            "hub-edit": b + run + summ,
            "dry-run": b + run + ["--dry-run=json"],
            "affected": b + run + ["--affected"] + summ,
        }.get(scenario)

    def before(self, scenario, ws, home):
        rmtree(self.summary_file(home))

    def contaminated(self, scenario, out):
        # The alias path runs cargo in the live repo: other builds there hold its locks
        # or change the sources, and then the sample times cargo, not us.
        for pat, why in (("Blocking waiting for file lock", "cargo waited for a lock"),
                         ("   Compiling ", "cargo rebuilt xtask"),
                         ("xtask-launch: building the engine", "the launcher rebuilt xtask")):
            if pat in out:
                return why
        return None

    def unsupported(self, scenario, rc, out):
        # clap's usage error (exit 2) for a flag the tool does not have yet.
        if rc == 2 and re.search(r"unexpected argument|unrecognized|unknown (option|flag)", out):
            flag = re.search(r"argument '([^']+)'", out)
            return f"not supported yet ({flag.group(1) if flag else 'usage error'})"
        return None

    @staticmethod
    def _count_tasks(d):
        if isinstance(d, dict):
            for k in ("tasks", "task", "nodes"):
                if k in d:
                    return Xtask._count_tasks(d[k])
            if all(isinstance(v, dict) for v in d.values()) and d:
                d = list(d.values())
            else:
                return None
        if not isinstance(d, list):
            return None
        total = len(d)
        executed = 0
        for t in d:
            if not isinstance(t, dict):
                continue
            c = t.get("cache")
            s = str(t.get("status") or (c.get("status") if isinstance(c, dict) else c) or "")
            if s.lower() in ("executed", "miss", "ran", "run", "success", "failed"):
                executed += 1
        return total, executed

    def parse(self, scenario, out, ws, home):
        if scenario == "dry-run":
            try:
                r = self._count_tasks(json.loads(out[min(i for i in (out.find("{"), out.find("["))
                                                        if i >= 0):]))
                return counts(r[0], 0) if r else counts(note="dry-run JSON has no task list")
            except ValueError as e:
                return counts(note=f"dry-run JSON unreadable: {e}")
        try:
            with open(self.summary_file(home)) as f:
                d = json.load(f)
            r = self._count_tasks(d)
            if r:
                return counts(*r)
        except (OSError, ValueError):
            pass
        m = re.search(r"(\d+) cached, (\d+) total", out)
        if m:
            return counts(int(m.group(2)), int(m.group(2)) - int(m.group(1)))
        return counts(note="no --summarize JSON with tasks/status, no 'N cached, N total' line")


ALL = [Turbo, Nx, NxDaemon, Moon, Xtask]
