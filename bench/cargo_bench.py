#!/usr/bin/env python3
"""Second workload: real cargo work (lint / test / build) on a generated Cargo workspace.

  python3 bench/cargo_bench.py --crates 30 --files 6 --reps 3 --tasks lint,build
  python3 bench/cargo_bench.py --smoke          # CI: 6 crates × 2 files, 1 rep, checks only

Tools, each on its OWN copy of the workspace (own target/ dir, own caches, own HOME/XDG):
  xtask          target/release/xtask run <task> --summarize=FILE   (built-in, batched)
  turbo          Turborepo 2.11.11 Cargo mode, unfiltered `turbo run <task>` (its default:
                 one workspace-wide cargo command for lint/test; one
                 `cargo build --package=<bin>` per entrypoint crate for build)
  turbo-crates   the same with --filter=./crates/* (one cargo command per crate)
  cargo          one plain cargo invocation over the workspace (the floor)
Scenarios per task: cold (target dir + tool caches deleted) and leaf-edit (comment
appended to the leaf crate, everything else warm). See bench/README.md.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)

import gen  # noqa: E402
import run  # noqa: E402  (clean_env, measure, Context, build_xtask, environment)
import tools  # noqa: E402

WORK = os.path.join(BENCH, "work")
TASKS = ["lint", "test", "build"]
SCENARIOS = ["cold", "leaf-edit"]
TURBO_BIN = os.path.join(WORK, "peers", "node_modules", "@turbo", "linux-64", "bin", "turbo")
WS_NAME = "bench-rust"   # [workspace.metadata] name, Turborepo's root package


def log(msg=""):
    print(msg, flush=True)


class CargoTool:
    name = "?"
    label = ""
    cache_dirs = []

    def __init__(self, ctx):
        self.ctx = ctx

    def available(self):
        return True, None

    def setup(self, ws):
        pass

    def env(self):
        return {}

    def wipe(self, ws):
        for d in ["target"] + self.cache_dirs:
            tools.rmtree(os.path.join(ws, d))

    def before(self, home):
        pass

    def cmd(self, task, ws, home):
        raise NotImplementedError

    def parse(self, out, home):
        return tools.counts()


class Xtask(CargoTool):
    name = "xtask"
    label = "`xtask run <task>` (release binary, batched built-in tasks)"
    cache_dirs = ["turbo-cache", ".xtask"]

    def available(self):
        return tools.Xtask(self.ctx).available()

    def env(self):
        return {"CARGO_TARGET_DIR": None}

    def summ(self, home):
        return os.path.join(home, "xtask-summary.json")

    def before(self, home):
        tools.rmtree(self.summ(home))

    def cmd(self, task, ws, home):
        return [self.ctx.xtask_bin, "run", task, "--summarize=" + self.summ(home)]

    def parse(self, out, home):
        try:
            with open(self.summ(home)) as f:
                d = json.load(f)
            st = [t.get("status") for t in d["tasks"]]
            return tools.counts(len(st), sum(1 for s in st if s != "cached"))
        except (OSError, ValueError, KeyError, TypeError) as e:
            return tools.counts(note=f"no usable --summarize JSON: {e!r}")


class Turbo(CargoTool):
    name = "turbo"
    label = "Turborepo Cargo mode, unfiltered `turbo run <task>`"
    cache_dirs = [".turbo"]
    filt = []
    # Arguments after turbo's `--`: for lint/test turbo inserts cargo's own `--`.
    ARGS = {"lint": ["--", "-D", "warnings"], "build": ["--", "--release"], "test": []}

    def available(self):
        if not os.path.isfile(TURBO_BIN):
            return False, f"{TURBO_BIN} missing (run bench/run.py once to install the peers)"
        return True, None

    def setup(self, ws):
        p = os.path.join(ws, "Cargo.toml")
        s = open(p).read()
        if "[workspace.metadata]\n" not in s:
            s = s.replace("[workspace.package]",
                          f'[workspace.metadata]\nname = "{WS_NAME}"\n\n[workspace.package]', 1)
            with open(p, "w") as f:
                f.write(s)
        # `cache: true`: without it turbo 2.11.11 disables caching of every Cargo task
        # here ("Cargo configuration outside the repository is not included in the task
        # hash"): /work/main/.cargo/config.toml (the `cargo xtask` alias) is an ancestor.
        tools.dump_json(os.path.join(ws, "turbo.json"), {
            "$schema": "https://turborepo.dev/schema.json",
            "futureFlags": {"experimentalCargoWorkspaces": True},
            "tasks": {t: {"cache": True} for t in TASKS},
        })

    def env(self):
        return {"TURBO_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1",
                "TURBO_NO_UPDATE_NOTIFIER": "1"}

    def cmd(self, task, ws, home):
        a = self.ARGS[task]
        return [TURBO_BIN, "run", task] + self.filt + a

    def parse(self, out, home):
        return tools.Turbo(self.ctx).parse("cold", out, None, None)


class TurboCrates(Turbo):
    name = "turbo-crates"
    label = "Turborepo Cargo mode, `turbo run <task> --filter=./crates/*` (one cargo per crate)"
    filt = ["--filter=./crates/*"]


class TurboSame(Turbo):
    """Turborepo Cargo mode with the workspace `lint` task overridden (experimentalTaskCommand)
    to do exactly the floor's work: fmt --check + clippy --all-targets. lint only."""
    name = "turbo-same"
    label = ("Turborepo Cargo mode, unfiltered `turbo run lint` with `bench-rust#lint` "
             "overridden (experimentalTaskCommand) to the floor's command (lint only)")

    def setup(self, ws):
        super().setup(ws)
        p = os.path.join(ws, "turbo.json")
        with open(p) as f:
            d = json.load(f)
        d["futureFlags"]["experimentalTaskCommand"] = True
        d["tasks"][f"{WS_NAME}#lint"] = {"cache": True, "command": ["sh", "-c", Cargo.CMDS["lint"]]}
        tools.dump_json(p, d)

    def cmd(self, task, ws, home):
        return [TURBO_BIN, "run", "lint"] if task == "lint" else None


class Cargo(CargoTool):
    name = "cargo"
    label = "one plain cargo invocation (the floor)"
    CMDS = {
        "lint": "cargo fmt --all --check && "
                "cargo clippy --workspace --all-targets --locked -- -D warnings",
        "test": "cargo nextest run --workspace --locked && cargo test --doc --workspace --locked",
        "build": "cargo build --release --workspace --locked",
    }

    def cmd(self, task, ws, home):
        return ["sh", "-c", self.CMDS[task]]


ALL = [Xtask, Turbo, TurboCrates, TurboSame, Cargo]


def expected(tool, task, scenario, n):
    """(total, executed) we insist on; None = recorded only."""
    if tool == "xtask":
        return (n, n) if scenario == "cold" else (n, 1)   # leaf: no dependents
    return None


def tool_env(ctx, tool, home):
    e = {"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
         "XDG_CACHE_HOME": os.path.join(home, ".cache"),
         "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
         "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
         "CARGO_HOME": ctx.cargo_home, "RUSTUP_HOME": ctx.rustup_home,
         "CARGO_TERM_COLOR": "never", "RUSTC_WRAPPER": None, "RUSTFLAGS": None}
    e.update(tool.env())
    return run.clean_env(ctx, e)


def make_workspaces(ctx, a, tool_objs):
    root = os.path.join(WORK, "cargo", f"n{a.crates}-f{a.files}-s{a.seed}")
    base = os.path.join(root, "base")
    want = run.file_sha(os.path.join(BENCH, "gen.py"), os.path.abspath(__file__))
    stamp = os.path.join(root, "stamp")
    gfile = os.path.join(root, "graph.json")
    if a.fresh or not (os.path.exists(stamp) and open(stamp).read() == want):
        tools.rmtree(root)
        os.makedirs(root)
        log(f"generating {a.crates}-crate workspace (files={a.files}, seed={a.seed}) ...")
        graph = gen.generate(base, a.crates, a.files, a.seed, with_git=False, lock=True)
        # gen.py's code is not rustfmt-formatted; `lint` includes `cargo fmt --check`.
        run.sh(["cargo", "fmt", "--all"], cwd=base, env=run.clean_env(ctx))
        with open(gfile, "w") as f:
            json.dump(graph, f, indent=1)
        for t in tool_objs:
            ws = os.path.join(root, t.name)
            import shutil
            shutil.copytree(base, ws, symlinks=True)
            t.setup(ws)
            gen.git_commit_all(ws, f"synthetic workspace + {t.name} config")
        with open(stamp, "w") as f:
            f.write(want)
    with open(gfile) as f:
        graph = json.load(f)
    out = {}
    for t in tool_objs:
        ws, home = os.path.join(root, t.name), os.path.join(root, "home", t.name)
        if not os.path.isdir(ws):   # a tool added since the workspaces were made
            import shutil
            shutil.copytree(base, ws, symlinks=True)
            t.setup(ws)
            gen.git_commit_all(ws, f"synthetic workspace + {t.name} config")
        os.makedirs(os.path.join(home, "logs"), exist_ok=True)
        out[t.name] = (ws, home)
    return graph, out


def one(ctx, a, tool, task, scenario, rep, ws, home, graph, seq):
    if scenario == "cold":
        tool.wipe(ws)
    tool.before(home)
    edit = os.path.join(ws, graph["leaf_edit_file"])
    original = None
    if scenario == "leaf-edit":
        with open(edit, "rb") as f:
            original = f.read()
        with open(edit, "ab") as f:     # rustfmt-clean: the file ends with a newline
            f.write(f"// bench edit {time.time_ns()}\n".encode())
    argv = tool.cmd(task, ws, home)
    log_path = os.path.join(home, "logs", f"{seq:04d}-{task}-{scenario}-r{rep}.log")
    load = os.getloadavg()[0]
    try:
        m = run.measure(argv, ws, tool_env(ctx, tool, home), a.timeout, log_path)
    finally:
        if original is not None:
            with open(edit, "wb") as f:
                f.write(original)
    cnt = tool.parse(m["out"], home) if m["rc"] == 0 else tools.counts(note=f"exit {m['rc']}")
    problems = []
    if m["rc"] != 0:
        tail = [ln for ln in m["out"].strip().splitlines() if ln.strip()][-4:]
        problems.append(f"exit {m['rc']}: " + " | ".join(tail))
    exp = expected(tool.name, task, scenario, graph["n"])
    if m["rc"] == 0 and exp:
        if cnt["total"] is None:
            problems.append("task counts not found: " + (cnt["note"] or "?"))
        else:
            if cnt["total"] != exp[0]:
                problems.append(f"saw {cnt['total']} tasks, expected {exp[0]}")
            if cnt["executed"] != exp[1]:
                problems.append(f"executed {cnt['executed']} tasks, expected {exp[1]}")
    if m["rc"] == 0 and scenario == "cold" and tool.name.startswith("turbo") \
            and cnt["total"] is not None and cnt["executed"] != cnt["total"]:
        problems.append(f"cold run restored {cnt['total'] - cnt['executed']} tasks from cache")
    return {"tool": tool.name, "task": task, "scenario": scenario, "rep": rep,
            "timed": rep > 0, "argv": [os.path.relpath(x, ws) if x.startswith(ws + "/") else x
                                       for x in argv],
            "wall_s": m["wall_s"], "maxrss_kb": m["maxrss_kb"], "rc": m["rc"],
            "load1": round(load, 2), "total": cnt["total"], "executed": cnt["executed"],
            "expected": list(exp) if exp else None, "ok": not problems, "problems": problems,
            "log": os.path.relpath(log_path, REPO)}


def stats(samples):
    out = {}
    for s in samples:
        if not s["timed"]:
            continue
        d = out.setdefault(f"{s['task']} {s['scenario']}", {}).setdefault(
            s["tool"], {"w": [], "r": [], "n_failed": 0, "n_bad": 0, "counts": []})
        if s["rc"] != 0:
            d["n_failed"] += 1
            continue
        d["n_bad"] += 0 if s["ok"] else 1
        d["w"].append(s["wall_s"])
        d["r"].append(s["maxrss_kb"])
        if s["total"] is not None:
            d["counts"].append(f"{s['executed']}/{s['total']}")
    for sc in out.values():
        for d in sc.values():
            w, r = d.pop("w"), d.pop("r")
            d["n"] = len(w)
            d["counts"] = sorted(set(d["counts"]))
            if w:
                d.update(median_s=round(statistics.median(w), 3), min_s=min(w), max_s=max(w),
                         rss_median_mb=round(statistics.median(r) / 1024, 1))
    return out


def ratios(st):
    out = {}
    for key, row in st.items():
        o = row.get("xtask", {}).get("median_s")
        out[key] = {p: round(o / row[p]["median_s"], 3)
                    for p in ("turbo", "turbo-crates", "turbo-same", "cargo")
                    if o and row.get(p, {}).get("median_s")}
    return out


def fmt_s(x):
    return "—" if x is None else (f"{x * 1000:.0f} ms" if x < 1 else f"{x:.1f} s")


def markdown(r):
    env, g = r["environment"], r["graph"]
    L = [f"# Cargo workload {r['date']}: {g['n']} crates × {r['files']} files, {r['reps']} reps",
         "",
         f"Machine: {env['cores']} cores, {env['cpu']}, {env['memory_gb']} GB. {env['cargo']}, "
         f"{env['rustc']}, {r['nextest']}. Repo at {env['repo_rev']} "
         f"({env.get('repo_dirty_files', '?')} uncommitted files outside bench/). "
         f"Command: `{r['command']}`.", ""]
    xb = r.get("xtask_binary")
    if xb:
        L += [f"xtask binary: sha256 {xb['sha256']}, built {xb['mtime']} (the tree may have "
              "moved on; `repo_rev` is HEAD when the run ended).", ""]
    for n in r.get("notes", []):
        L += [f"**Note:** {n}", ""]
    for t, v in r["tools"].items():
        L.append(f"- **{t}**: {v['label']}" + ("" if v["available"] else
                                              f" — **skipped: {v['reason']}**"))
    loads = [s["load1"] for s in r["samples"] if s["timed"]]
    if loads:
        L += ["", f"1-minute load average when the timed samples started: median "
              f"{statistics.median(loads):.1f} (min {min(loads):.1f}, max {max(loads):.1f}); "
              "the machine is shared, absolute times are noisy — compare within this file.",
              ""]
    L += ["Cells: median wall [min–max] · median peak RSS of the largest single process "
          "(usually rustc) · tasks executed/total as the tool reported them. "
          "✗ = failed samples, ⚠ = wrong counts. Targets: xtask ≤ 0.5× Turborepo, "
          "≤ 1.1× plain cargo.", ""]
    tl = [t for t in r["tools"] if r["tools"][t]["available"]]
    rcols = [p for p in ("turbo", "turbo-crates", "turbo-same", "cargo") if p in tl]
    head = ["task / scenario"] + tl + [f"xtask / {p}" for p in rcols]
    L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, row in r["stats"].items():
        cells = [key]
        for t in tl:
            d = row.get(t)
            if not d:
                cells.append("n/a")
                continue
            if d["n"] == 0:
                cells.append(f"✗ ({d['n_failed']} failed)")
                continue
            mark = (" ⚠" if d["n_bad"] else "") + (f" ✗{d['n_failed']}" if d["n_failed"] else "")
            rng = f" [{fmt_s(d['min_s'])}–{fmt_s(d['max_s'])}]" if d["n"] > 1 else ""
            cnt = f" · {','.join(d['counts'])}" if d["counts"] else ""
            cells.append(f"{fmt_s(d['median_s'])}{rng} · {d['rss_median_mb']:.0f} MB{cnt}{mark}")
        rr = r["ratios"].get(key, {})
        cells += [f"{rr[p]:.2f}×" if p in rr else "—" for p in rcols]
        L.append("| " + " | ".join(cells) + " |")
    L += ["", "Not the same work everywhere (see bench/README.md, \"Cargo workload\"): "
          "turbo's built-in `lint` is `cargo clippy` without `--all-targets` and without "
          "`cargo fmt --check` (xtask and the floor lint test targets too); turbo's "
          "unfiltered `build` builds only the entrypoint (bin) crates and their dependency "
          "closure; `test` is libtest under turbo, nextest + doc tests under xtask and the "
          "floor. `turbo-crates` is turbo's one-cargo-per-crate mode."]
    bad = [s for s in r["samples"] if not s["ok"]]
    if bad:
        L += ["", "## Problems", ""]
        for s in bad:
            L.append(f"- {s['tool']} {s['task']} {s['scenario']} rep {s['rep']}"
                     f"{' (untimed prime)' if not s['timed'] else ''}: "
                     + "; ".join(s["problems"]) + f" (log `{s['log']}`)")
    L += ["", "Commands as run (cold wipes `target/` and the tool's cache dirs; leaf-edit "
          f"appends a comment to `{g['leaf_edit_file']}` and reverts it after):", ""]
    seen = set()
    for s in r["samples"]:
        k = (s["tool"], s["task"])
        if k not in seen:
            seen.add(k)
            L.append(f"- {s['tool']} {s['task']}: `{' '.join(s['argv'])}`")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crates", type=int, default=30)
    ap.add_argument("--files", type=int, default=6, help="source files per crate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tasks", default="lint,build", help="of lint,test,build")
    ap.add_argument("--scenarios", default="cold,leaf-edit")
    ap.add_argument("--tools", default="xtask,turbo,turbo-crates,cargo",
                    help="of " + ",".join(c.name for c in ALL))
    ap.add_argument("--prime", action="store_true",
                    help="one untimed cold run per tool and task first (rep 0)")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--build-xtask", choices=["auto", "yes", "no"], default="auto")
    ap.add_argument("--xtask-bin")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--out-dir")
    ap.add_argument("--tag", default="")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 on a failed command or a wrong xtask count")
    ap.add_argument("--smoke", action="store_true",
                    help="CI: 6 crates × 2 files, 1 rep, lint,test,build, --strict, no timing "
                         "assertions, results in bench/work/smoke/")
    ap.add_argument("--render", metavar="JSON", help="only rewrite the markdown")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            r = json.load(f)
        r["stats"] = stats(r["samples"])
        r["ratios"] = ratios(r["stats"])
        md = os.path.splitext(a.render)[0] + ".md"
        with open(md, "w") as f:
            f.write(markdown(r))
        return log(f"wrote {md}")
    if a.smoke:
        a.crates, a.files, a.reps, a.tasks, a.strict = 6, 2, 1, "lint,test,build", True
        a.out_dir = a.out_dir or os.path.join(WORK, "smoke")
    tasks = [t for t in a.tasks.split(",") if t]
    scen = [s for s in a.scenarios.split(",") if s]
    names = [t for t in a.tools.split(",") if t]
    known = {c.name: c for c in ALL}
    for t in tasks:
        if t not in TASKS:
            ap.error(f"unknown task {t}")
    for t in names:
        if t not in known:
            ap.error(f"unknown tool {t}; known: {', '.join(known)}")

    rargs = argparse.Namespace(xtask_bin=a.xtask_bin, xtask_launcher="cargo xtask",
                               build_xtask=a.build_xtask, smoke=a.smoke)
    ctx = run.Context(rargs)
    if "xtask" in names:
        run.build_xtask(ctx)
    tool_objs, status = [], {}
    for n in names:
        t = known[n](ctx)
        ok, why = t.available()
        status[n] = {"available": ok, "reason": why, "label": t.label}
        if ok:
            tool_objs.append(t)
        else:
            log(f"SKIPPED {n}: {why}")
    xbin = None
    if os.path.isfile(ctx.xtask_bin):
        # Others may rebuild target/release/xtask while we run: record what we measured.
        xbin = {"path": ctx.xtask_bin, "sha256": run.file_sha(ctx.xtask_bin),
                "mtime": datetime.datetime.fromtimestamp(
                    os.path.getmtime(ctx.xtask_bin)).isoformat(timespec="seconds")}
    graph, dirs = make_workspaces(ctx, a, tool_objs)
    log(f"=== {graph['n']} crates × {a.files} files; leaf {graph['leaf']} ===")
    samples, seq = [], 0
    signal_exit = run.signal.signal(run.signal.SIGTERM, lambda *_: sys.exit(143))
    del signal_exit
    reps = ([0] if a.prime else []) + list(range(1, a.reps + 1))
    for rep in reps:
        k = (rep - 1) % len(tool_objs)
        order = tool_objs[k:] + tool_objs[:k]
        for task in tasks:
            for sc in (["cold"] if rep == 0 else scen):
                for t in order:
                    ws, home = dirs[t.name]
                    if t.cmd(task, ws, home) is None:
                        continue
                    seq += 1
                    s = one(ctx, a, t, task, sc, rep, ws, home, graph, seq)
                    samples.append(s)
                    rss = f"{s['maxrss_kb'] / 1024:.0f} MB" if s["maxrss_kb"] else "—"
                    log(f"  [rep {rep}] {task:5} {sc:9} {t.name:12} {fmt_s(s['wall_s']):>8} "
                        f"{rss:>7} load {s['load1']:5.1f}  {s['executed']}/{s['total']} "
                        + ("ok" if s["ok"] else "PROBLEM: " + "; ".join(s["problems"])))
    env = run.environment(ctx)
    nextest = run.first_line(["cargo", "nextest", "--version"])
    st = stats(samples)
    date = datetime.date.today().isoformat()
    r = {"date": date, "command": "python3 bench/cargo_bench.py " + " ".join(sys.argv[1:]),
         "environment": env, "nextest": nextest, "turbo_version": tools.TURBO_VERSION,
         "xtask_version": tools.Xtask(ctx).version(None) if "xtask" in status else None,
         "xtask_binary": xbin,
         "graph": {k: v for k, v in graph.items() if k != "crates"},
         "files": a.files, "seed": a.seed, "reps": a.reps, "tasks": tasks, "scenarios": scen,
         "tools": status, "samples": samples, "stats": st, "ratios": ratios(st),
         "setup_times": ctx.setup_times}
    out_dir = a.out_dir or os.path.join(BENCH, "results")
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, f"{date}-cargo{a.tag}-{graph['n']}")
    with open(base + ".json", "w") as f:
        json.dump(r, f, indent=1)
    md = markdown(r)
    with open(base + ".md", "w") as f:
        f.write(md)
    log(f"wrote {os.path.relpath(base, REPO)}.json/.md\n")
    log(md)
    bad = [s for s in samples if not s["ok"]]
    if bad:
        log("!" * 72)
        log(f"!! {len(bad)} SAMPLE(S) FAILED OR COUNTED TASKS WRONGLY:")
        for s in bad:
            log(f"!!   {s['tool']} {s['task']} {s['scenario']} rep {s['rep']}: "
                + "; ".join(s["problems"]) + f"  [{s['log']}]")
        log("!" * 72)
        if a.strict:
            sys.exit(1)


if __name__ == "__main__":
    main()
