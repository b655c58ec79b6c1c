#!/usr/bin/env python3
"""Lint and render the chart for one values file, offline, with Helm v4 as a
library (PyPI helm-python-sdk; no helm binary exists for this machine).

    python render.py CHART_DIR VALUES_FILE [RELEASE] [NAMESPACE]

Prints the lint report as JSON on stderr, the rendered manifests (as one
multi-document YAML stream) on stdout. Exits 1 when lint reports an error
(or, being strict, a warning), 2 on bad usage.
"""

import json
import sys

import helm_python as helm


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    chart_dir, values_file = argv[1], argv[2]
    release = argv[3] if len(argv) > 3 else "notes"
    namespace = argv[4] if len(argv) > 4 else "default"
    with open(values_file, encoding="utf-8") as f:
        values = helm.values_from_yaml(f.read())

    report = helm.lint(chart_dir, values, strict=True, namespace=namespace)
    print(json.dumps(report), file=sys.stderr)
    problems = [m for m in report.get("messages") or [] if m.get("severity", 0) >= 2]
    if problems or report.get("errors"):
        print(f"helm lint failed for {values_file}", file=sys.stderr)
        return 1

    chart = helm.Chart.load(chart_dir)
    rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    for path in sorted(rendered):
        text = rendered[path].strip()
        if not text or path.endswith("NOTES.txt"):
            continue
        print(f"---\n# Source: {path}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
