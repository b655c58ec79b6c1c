#!/usr/bin/env python3
"""First run: a fresh clone to the first `cargo xtask` result, per commit. Stdlib only.

What a new user waits for before the tool answers: `git clone`, then `cargo xtask
--version`, which builds the launcher and the engine from nothing (an empty target
directory; the registry is left as it is, so downloads are not timed). Commits are
measured interleaved (A B A B …) so that the machine's drift falls on all of them, and
each sample records wall and CPU (user + sys of the whole build, from the kernel's
child accounting) and the number of compiled units cargo printed.

    python3 bench/first_run.py --commits HEAD~1,HEAD --reps 3 --tag s11

writes bench/results/<date><tag>-first-run.{md,json}.
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def resolve(commit):
    out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", commit],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def one_sample(commit, scratch):
    """Clone `commit` into a new directory under scratch and time its first launch."""
    clone = os.path.join(scratch, "clone")
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", REPO, clone], check=True)
    subprocess.run(["git", "-C", clone, "checkout", "-q", commit], check=True)
    env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    run = subprocess.run(["cargo", "xtask", "--version"], cwd=clone, env=env,
                         capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        sys.exit(f"first run of {commit} failed:\n{run.stderr[-2000:]}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
        "units": run.stderr.count("   Compiling "),
        "version": run.stdout.strip(),
    }


def summary(samples, key):
    values = [s[key] for s in samples]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def markdown(results, base):
    lines = ["| commit | wall median (min–max) s | CPU median s | units | vs first |",
             "|---|---|---|---|---|"]
    base_median = results[base]["wall"]["median"]
    for commit, r in results.items():
        w, c = r["wall"], r["cpu"]
        lines.append(f"| {commit} | {w['median']:.1f} ({w['min']:.1f}–{w['max']:.1f}) | "
                     f"{c['median']:.1f} | {r['samples'][0]['units']} | "
                     f"{w['median'] / base_median:.2f}× |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", default="HEAD", help="comma-separated; the first is the base")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    commits = [resolve(c) for c in a.commits.split(",")]
    samples = {c: [] for c in commits}
    with tempfile.TemporaryDirectory(prefix="xtask-first-run-") as scratch:
        for rep in range(a.reps):
            for commit in commits:
                s = one_sample(commit, scratch)
                samples[commit].append(s)
                print(f"rep {rep + 1} {commit}: {s['wall_s']} s wall, {s['cpu_s']} s CPU, "
                      f"{s['units']} units", flush=True)
    results = {c: {"samples": samples[c], "wall": summary(samples[c], "wall_s"),
                   "cpu": summary(samples[c], "cpu_s")} for c in commits}
    table = markdown(results, commits[0])
    print(table)
    stem = os.path.join(HERE, "results", f"{datetime.date.today()}{a.tag}-first-run")
    with open(stem + ".json", "w") as f:
        json.dump({"reps": a.reps, "nproc": os.cpu_count(), "results": results}, f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(f"# First run: fresh clone → `cargo xtask --version`\n\n"
                f"`python3 bench/first_run.py --commits {a.commits} --reps {a.reps}`, "
                f"{os.cpu_count()} cores, interleaved.\n\n{table}")
    print(f"wrote {stem}.md and .json")


if __name__ == "__main__":
    main()
