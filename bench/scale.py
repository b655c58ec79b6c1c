"""The scale mode of the harness: how each tool's cost grows with the workspace. Stdlib only.

`run.py --scale` measures the scenarios in SCENARIOS at every size (default
12,50,300,1000,3000 crates) through run.py's `run_size`, then this module turns the
per-size results into one table (`markdown`), a growth check (`slopes`: the log–log slope
of time against files between consecutive sizes; ≤ 1 means no worse than linear) and a
PNG (`plot`, drawn by plot.py in a venv this module installs: matplotlib is not stdlib).

A command that would take too long is not run: `Budget` predicts each timed command from
what is already known (this size's untimed cold run, else the previous size's median
scaled linearly in files) and skips it, saying so in the table, when the prediction is
over `--budget` seconds; a tool whose priming cold run is predicted over
`--prime-budget` is dropped at that size.
"""

import json
import math
import os
import statistics
import subprocess
import sys

SCENARIOS = ["warm", "leaf-edit", "hub-edit", "dry-run", "cold"]
DEFAULT_SIZES = "12,50,300,1000,3000"
DEFAULT_TOOLS = "turbo,nx,moon,xtask"
SMOKE_SIZES = "6,12"
# A slope above this between two sizes fails the growth check (timing noise on a shared
# two-core machine moves small medians by ±10%).
SLOPE_LIMIT = 1.15
# Scenarios that execute every task: as costly as a cold run at the same size.
RUNS_ALL = {"cold", "hub-edit"}
PLOT_REQUIREMENTS = ["matplotlib==3.11.2"]


def files_in(n, files_per_crate):
    """Tracked files of a generated workspace: per crate its Cargo.toml and source files,
    plus the root Cargo.toml, .gitignore and Cargo.lock (gen.py)."""
    return n * (files_per_crate + 1) + 3


class Budget:
    """Which commands are worth running, from the results of the sizes already done."""

    def __init__(self, files_per_crate, budget_s, prime_budget_s):
        self.files_per_crate = files_per_crate
        self.budget_s = budget_s
        self.prime_budget_s = prime_budget_s
        self.done = []   # (n, result) of finished sizes, ascending

    def record(self, n, result):
        self.done.append((n, result))

    def _previous(self, tool, scenario):
        """(n, seconds) of the largest finished size with a time for tool/scenario: the
        timed median, or for cold the untimed priming run when cold was not timed."""
        for n, r in reversed(self.done):
            d = r["stats"].get(scenario, {}).get(tool)
            if d and d.get("median_s"):
                return n, d["median_s"]
            if scenario == "cold":
                prime = prime_cold_s(r, tool)
                if prime:
                    return n, prime
        return None

    def _scaled(self, tool, scenario, n):
        prev = self._previous(tool, scenario)
        if not prev:
            return None
        pn, ps = prev
        return ps * files_in(n, self.files_per_crate) / files_in(pn, self.files_per_crate)

    def drop(self, tool, n, npm_shim=False):
        """`npm_shim`: the priming cold run starts package scripts through the npm shim
        (run.py's shim_prime), so a cold run with npm does not predict its cost."""
        if npm_shim:
            return None
        cold = self._scaled(tool, "cold", n)
        if cold is not None and cold > self.prime_budget_s:
            return (f"its cold run is predicted at ~{cold:.0f} s at {n} crates (linear in files "
                    f"from the previous size) > --prime-budget {self.prime_budget_s:.0f} s")
        return None

    def skip(self, tool, scenario, n, prime_cold, npm_shim=False):
        """`prime_cold`: seconds of this size's untimed cold run with npm, None when there
        was none (or `npm_shim`: it ran through the npm shim, which predicts nothing)."""
        if scenario in RUNS_ALL and npm_shim:
            t = self._scaled(tool, scenario, n)
            if t is None or t > self.budget_s:
                guess = f"~{t:.0f} s (linear in files)" if t is not None else "unknown"
                return (f"primed through the npm shim (--npm-shim-prime-from); with npm "
                        f"predicted {guess} > --budget {self.budget_s:.0f} s")
            return None
        if scenario in RUNS_ALL and prime_cold is not None:
            if prime_cold > self.budget_s:
                return (f"the untimed cold run took {prime_cold:.0f} s > --budget "
                        f"{self.budget_s:.0f} s")
            return None
        t = self._scaled(tool, scenario, n)
        if t is not None and t > self.budget_s:
            return f"predicted ~{t:.0f} s (linear in files) > --budget {self.budget_s:.0f} s"
        return None


def prime_cold_s(result, tool):
    return next((s["wall_s"] for s in result["samples"] if s and s["tool"] == tool
                 and s["scenario"] == "cold" and s.get("phase") == "prime"
                 and s["rc"] == 0 and not s.get("npm_shim")), None)


def fmt_s(x):
    if x is None:
        return "—"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def series(results, tool, scenario):
    """[(n, median_s, min_s, max_s, rss_mb)] over the sizes where tool/scenario was timed."""
    out = []
    for r in results:
        d = r["stats"].get(scenario, {}).get(tool)
        if d and d.get("median_s"):
            out.append((r["graph"]["n"], d["median_s"], d["min_s"], d["max_s"],
                        d["rss_median_mb"]))
    return out


def slopes(points, files_per_crate):
    """Log–log slopes of median time against files between consecutive sizes:
    [(n_from, n_to, slope)]. 1 = linear; below 1 = fixed costs still dominate."""
    out = []
    for (n0, t0, *_), (n1, t1, *_) in zip(points, points[1:]):
        f0, f1 = files_in(n0, files_per_crate), files_in(n1, files_per_crate)
        out.append((n0, n1, math.log(t1 / t0) / math.log(f1 / f0)))
    return out


def growth_check(points, files_per_crate):
    """'✓ max slope s' or '✗ slope s (a→b)' for the table; '—' with fewer than two sizes."""
    sl = slopes(points, files_per_crate)
    if not sl:
        return "—"
    worst = max(sl, key=lambda x: x[2])
    per_step = ", ".join(f"{s:.2f}" for _, _, s in sl)
    if worst[2] <= SLOPE_LIMIT:
        return f"✓ ({per_step})"
    return f"✗ {worst[2]:.2f} at {worst[0]}→{worst[1]} ({per_step})"


def tools_of(results):
    names = []
    for r in results:
        for t, v in r["tools"].items():
            if t not in names and (v["available"] or any(
                    s["tool"] == t for s in r["samples"] if s)):
                names.append(t)
    return names


def cell(r, tool, scenario):
    st = r["tools"].get(tool)
    if not st or not st["available"]:
        return "dropped" if st and "predicted" in (st.get("reason") or "") else "—"
    why = r.get("skipped", {}).get(tool, {}).get(scenario)
    if why:
        prime = prime_cold_s(r, tool) if scenario == "cold" else None
        return f"not timed (one untimed run: {fmt_s(prime)})" if prime else "not timed"
    d = r["stats"].get(scenario, {}).get(tool)
    if not d:
        return "—"
    if d["n"] == 0:
        return f"✗ ({d['n_failed']} failed)" if d["n_failed"] else "—"
    mark = " ⚠" if d["n_unverified"] else ""
    rng = f" [{fmt_s(d['min_s'])}–{fmt_s(d['max_s'])}]" if d["n"] > 1 else ""
    text = f"{fmt_s(d['median_s'])}{rng} · {d['rss_median_mb']:.0f} MB{mark}"
    if tool == "xtask":
        t = r["stats"].get(scenario, {}).get("turbo")
        prime = prime_cold_s(r, "turbo") if scenario == "cold" else None
        if t and t.get("median_s"):
            text += (f" · **{d['median_s'] / t['median_s']:.2f}×** turbo, RSS "
                     f"{d['rss_median_mb'] / t['rss_median_mb']:.2f}×")
        elif prime:
            text += f" · {d['median_s'] / prime:.3f}× turbo's untimed run"
    return text


def markdown(doc):
    """The one scale table (plus how it was made) from the scale JSON document."""
    results = doc["sizes"]
    r0 = results[0]
    env = r0["environment"]
    fpc = r0["files"]
    sizes = [r["graph"]["n"] for r in results]
    tl = tools_of(results)
    lines = [f"# Scale benchmark {r0['date']}", "",
             f"Machine: {env['cores']} cores, {env['cpu']}, {env['memory_gb']} GB, kernel "
             f"{env['kernel']}. node {env['node']}, npm {env['npm']}, {env['cargo']}.",
             "Tools: " + ", ".join(f"{k} {v}" for k, v in r0["tool_versions"].items()) + ".",
             f"Repo at {env['repo_rev']} ({env.get('repo_dirty_files', '?')} uncommitted files "
             f"outside bench/). Command: `{doc['command']}`.", ""]
    loads = [s["load1"] for r in results for s in r["samples"] if s and s.get("timed")
             and "load1" in s]
    if loads:
        per_size = ", ".join(
            f"{r['graph']['n']}: {statistics.median(ls):.1f}" for r in results
            if (ls := [s["load1"] for s in r["samples"] if s and s.get("timed") and "load1" in s]))
        lines += [f"1-minute load average when the timed samples started: median "
                  f"{statistics.median(loads):.2f} (min {min(loads):.2f}, max {max(loads):.2f}); "
                  f"median per size (crates: load) {per_size}. Other engineers' builds share "
                  "the machine: a slope between sizes measured at different loads says as "
                  "much about the load as about the tool.", ""]
    lines += ["Cells: median wall time [min–max] over the timed repetitions · peak RSS "
              "of the largest process (from one more, untimed run under GNU time where it is "
              "installed: a process this Python harness forks would otherwise carry the "
              "harness's own ~20 MB into wait4's figure); for xtask also its ratio to "
              "turbo's median time and "
              "RSS. The last column is the growth check: the log–log slope of the median "
              f"against files between consecutive sizes (≤ {SLOPE_LIMIT} passes: no worse "
              "than linear; below 1 the fixed costs still dominate). "
              f"Files = crates × {fpc + 1} + 3. The plot beside this file shows the same "
              "medians.", ""]
    head = ["scenario", "tool"] + [f"{n} crates ({files_in(n, fpc):,} files)" for n in sizes] \
        + ["grows ≤ linearly"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for sc in r0["scenarios"]:
        for t in tl:
            row = [sc, t] + [cell(r, t, sc) for r in results]
            row.append(growth_check(series(results, t, sc), fpc))
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    notes = []
    for r in results:
        n = r["graph"]["n"]
        for t, v in r["tools"].items():
            if not v["available"] and v.get("reason"):
                notes.append(f"- {n} crates, {t}: not measured: {v['reason']}")
        for t, per in r.get("skipped", {}).items():
            for sc, why in per.items():
                notes.append(f"- {n} crates, {t} {sc}: not timed: {why}")
    if notes:
        lines += ["Not measured (the budget rules in bench/scale.py):", ""] + notes + [""]
    bad = [(r["graph"]["n"], s) for r in results for s in r["samples"] if s and not s["ok"]]
    if bad:
        lines += ["Verification problems and dropped samples:", ""]
        for n, s in bad:
            lines.append(f"- {n} crates, {s['tool']} / {s['scenario']} (rep {s['rep']}, "
                         f"{s.get('phase', '?')}): " + "; ".join(s["problems"]))
        lines.append("")
    setup = {k: v for r in results for k, v in r["setup_times"].items()}
    lines += ["Setup (seconds; reused workspaces not listed): "
              + ", ".join(f"{k} {v}" for k, v in setup.items()), ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ the plot


def plot_python(work, log):
    """The interpreter of bench/work/plot-venv, created with matplotlib on first use."""
    venv = os.path.join(work, "plot-venv")
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".requirements")
    want = "\n".join(PLOT_REQUIREMENTS)
    if os.path.isfile(stamp) and open(stamp).read() == want:
        return py
    log(f"installing {', '.join(PLOT_REQUIREMENTS)} into {venv} (once) ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *PLOT_REQUIREMENTS], check=True)
    with open(stamp, "w") as f:
        f.write(want)
    return py


def plot(work, json_path, png_path, log):
    """Draw png_path from the scale JSON with bench/plot.py; a failure raises."""
    py = plot_python(work, log)
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([py, os.path.join(here, "plot.py"), json_path, png_path], check=True)


def plot_points(doc):
    """What plot.py draws: {scenario: {tool: [(n, median_s, min_s, max_s)]}}."""
    results = doc["sizes"]
    return {sc: {t: [p[:4] for p in series(results, t, sc)] for t in tools_of(results)}
            for sc in results[0]["scenarios"]}


def load(path):
    with open(path) as f:
        return json.load(f)
