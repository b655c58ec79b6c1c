"""Draw the scale benchmark's PNG: time against crates, log–log, one line per tool per
scenario (one panel per scenario, min–max as error bars, a dotted line of slope 1 through
the first point of each tool for "linear in files"), plus peak RSS per tool.

Needs matplotlib; run.py --scale runs it with bench/work/plot-venv/bin/python:
  bench/work/plot-venv/bin/python bench/plot.py RESULT-scale.json OUT.png
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")   # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale  # noqa: E402

COLORS = {"xtask": "#d62728", "turbo": "#1f77b4", "nx": "#2ca02c", "nx-daemon": "#98df8a",
          "moon": "#9467bd"}

PLAIN = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")


def main(json_path, png_path):
    doc = scale.load(json_path)
    points = scale.plot_points(doc)
    results = doc["sizes"]
    fpc = results[0]["files"]
    panels = list(points) + ["peak RSS"]
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False)
    for ax, sc in zip(axes.flat, panels):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("crates")
        ax.grid(True, which="both", alpha=0.25)
        ax.xaxis.set_major_formatter(PLAIN)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([r["graph"]["n"] for r in results])
        if sc == "peak RSS":
            ax.set_title("peak RSS (largest process)")
            ax.set_ylabel("MB")
            for t in scale.tools_of(results):
                pts = []
                for r in results:
                    mbs = [d[t]["rss_median_mb"] for d in r["stats"].values()
                           if d.get(t, {}).get("rss_median_mb")]
                    if mbs:
                        pts.append((r["graph"]["n"], max(mbs)))
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=t,
                            color=COLORS.get(t))
            ax.legend(fontsize=8)
            continue
        ax.set_title(sc)
        ax.set_ylabel("seconds (median, min–max)")
        for t, pts in points[sc].items():
            if not pts:
                continue
            n = [p[0] for p in pts]
            med = [p[1] for p in pts]
            err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
            ax.errorbar(n, med, yerr=err, fmt="o-", label=t, color=COLORS.get(t),
                        capsize=2, markersize=4)
            if len(pts) > 1:
                f0 = scale.files_in(n[0], fpc)
                ax.plot(n, [med[0] * scale.files_in(x, fpc) / f0 for x in n], ":",
                        color=COLORS.get(t), alpha=0.5, linewidth=1)
        ax.legend(fontsize=8, title="dotted: linear in files", title_fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    r0 = results[0]
    fig.suptitle(f"Scale benchmark {r0['date']} — {r0['environment']['cores']} cores, "
                 f"trivial task, {fpc} files per crate (repo {r0['environment']['repo_rev']})")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
