"""The benchmark's figures as charts: `python bench/charts.py [RESULTS.json] [--out docs/charts]`.

Reads the summary `bench/run.py --json` writes (this repository keeps its latest in
`bench/results/latest.json`) and draws one SVG per metric: this runtime's median beside
awslambdaric's, each with its min–max range, in the same units as the table. Plain SVG written
here, no plotting library: the documentation site shows the files as images, and
`tests/test_docs.py` checks that the committed charts are what this script makes of the
committed results.
"""

from __future__ import annotations

import argparse
import json
import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS, THEIRS = "lambda-ack", "awslambdaric"
# metric in the summary -> (file name, title)
CHARTS = {
    "init_ms": ("init", "Init: spawn to first /next (ms)"),
    "cpu_us_100B": ("cpu-100b", "CPU per invocation, 100 B event (µs)"),
    "cpu_us_100KiB": ("cpu-100kib", "CPU per invocation, 100 KiB event (µs)"),
    "ack_p50_us": ("ack-p50", "/next answered to /response received, p50 (µs)"),
    "peak_rss_mib": ("memory", "Peak RSS (MiB)"),
}
WIDTH, BAR, GAP, LEFT, TOP = 640, 28, 14, 120, 40
COLOURS = {OURS: "#2e7d32", THEIRS: "#9e9e9e"}


def chart(title: str, cells: dict[str, dict[str, float]]) -> str:
    """One metric: a bar per runtime (the median), a line over its min–max."""
    scale = (WIDTH - LEFT - 90) / max(cell["max"] for cell in cells.values())
    height = TOP + len(cells) * (BAR + GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="20" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (name, cell) in enumerate(cells.items()):
        y = TOP + i * (BAR + GAP)
        middle = y + BAR / 2
        parts += [
            f'<text x="0" y="{middle + 4:.0f}">{escape(name)}</text>',
            f'<rect x="{LEFT}" y="{y}" width="{cell["median"] * scale:.1f}" height="{BAR}" '
            f'fill="{COLOURS.get(name, "#1565c0")}"/>',
            f'<line x1="{LEFT + cell["min"] * scale:.1f}" x2="{LEFT + cell["max"] * scale:.1f}" '
            f'y1="{middle}" y2="{middle}" stroke="black" stroke-width="1.5"/>',
            f'<text x="{LEFT + cell["max"] * scale + 6:.1f}" y="{middle + 4:.0f}">'
            f"{cell['median']:.1f}</text>",
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def charts(summary: dict) -> dict[str, str]:
    """File name -> SVG text, for each charted metric both runtimes have."""
    made = {}
    for metric, (name, title) in CHARTS.items():
        cells = {r: summary[metric][r] for r in (OURS, THEIRS) if r in summary.get(metric, {})}
        if len(cells) == 2:
            made[f"{name}.svg"] = chart(title, cells)
    return made


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="?", type=Path, default=ROOT / "bench/results/latest.json")
    p.add_argument("--out", type=Path, default=ROOT / "docs/charts")
    args = p.parse_args(argv)
    summary = json.loads(args.results.read_text())["summary"]
    args.out.mkdir(parents=True, exist_ok=True)
    for name, svg in charts(summary).items():
        (args.out / name).write_text(svg)
        print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
