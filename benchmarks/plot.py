"""Draw the output-latency plot from a `run.py --json` file, as a hand-written SVG.

    python benchmarks/plot.py RESULTS.json [-o docs/perf/output_latency.svg]

One row per receiver — laneboard's supervisor, raw tmux control mode, 10 Hz capture-pane
polling, and (when measured) the cockpit's screen in a pty — on a log scale: the box
spans p25–p75, the whiskers p5–p95, the bar is the median; p50 and p95 are written out.
No plotting library: the SVG is a few rectangles and lines.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "perf" / "output_latency.svg"

ROWS = (  # (series key, path in the JSON, label, colour)
    ("laneboard", ("output_latency_ms", "laneboard"), "laneboard (supervisor event)", "#2a7ab9"),
    ("raw_control", ("output_latency_ms", "raw_control"), "raw tmux control mode", "#3c9a5f"),
    ("poll_10hz", ("output_latency_ms", "poll_10hz"), "10 Hz capture-pane polling", "#c8553d"),
    ("screen", ("screen_latency_ms",), "cockpit screen (pty, 8 x 20 lines/s)", "#8a6bbf"),
    ("minimal", ("screen_latency_minimal_ui_ms",), "minimal Textual UI screen (10 Hz)", "#9b9b9b"),
)
WIDTH, LEFT, RIGHT, TOP, ROW_H = 820, 250, 30, 80, 46


def _stats(series: dict[str, Any], path: tuple[str, ...]) -> dict[str, float] | None:
    node: Any = series
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if isinstance(node, dict) and "summary" in node:
        node = node["summary"]
    if not isinstance(node, dict) or node.get("p50") is None:
        return None
    return {k: float(v) for k, v in node.items() if isinstance(v, int | float)}


def render(doc: dict[str, Any]) -> str:
    series = doc.get("series", {})
    rows = [(label, colour, st) for _, path, label, colour in ROWS
            if (st := _stats(series, path)) is not None]  # fmt: skip
    if not rows:
        raise SystemExit("plot.py: the JSON has no output-latency series (run the relay group)")
    lo = math.floor(math.log10(max(1e-3, min(st["p5"] for _, _, st in rows))))
    hi = math.ceil(math.log10(max(st["p95"] for _, _, st in rows) * 1.5))
    height = TOP + ROW_H * len(rows) + 58
    plot_w = WIDTH - LEFT - RIGHT

    def x(ms: float) -> float:
        return LEFT + plot_w * (math.log10(max(ms, 10.0**lo)) - lo) / (hi - lo)

    m = doc.get("machine", {})
    sub = f"{m.get('date', '')} · {m.get('cpus', '?')} cores · {m.get('tmux', '')} · " \
          f"Python {m.get('python', '')} · commit {m.get('commit', '?')}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        '<text x="16" y="24" font-size="16" font-weight="bold">'
        "Output latency: a line printed in a pane → seen by the reader (log scale)</text>",
        f'<text x="16" y="44" fill="#555">{escape(sub)}</text>',
    ]
    bottom = TOP + ROW_H * len(rows)
    for decade in range(lo, hi + 1):
        for sub_tick in (1, 2, 5):
            v = sub_tick * 10.0**decade
            if v > 10.0**hi:
                break
            gx = x(v)
            major = sub_tick == 1
            out.append(f'<line x1="{gx:.1f}" y1="{TOP - 6}" x2="{gx:.1f}" y2="{bottom}" '
                       f'stroke="{"#cccccc" if major else "#eeeeee"}"/>')
            if major or hi - lo <= 3:
                label = f"{v:g}"
                out.append(f'<text x="{gx:.1f}" y="{bottom + 16}" text-anchor="middle" '
                           f'fill="#444">{label}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2:.0f}" y="{bottom + 34}" text-anchor="middle" '
               'fill="#444">milliseconds</text>')
    goal = x(2.0)
    out.append(f'<line x1="{goal:.1f}" y1="{TOP - 10}" x2="{goal:.1f}" y2="{bottom}" '
               'stroke="#d62728" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{goal + 4:.1f}" y="{TOP - 12}" fill="#d62728">goal: p95 ≤ 2 ms</text>')
    for i, (label, colour, st) in enumerate(rows):
        cy = TOP + ROW_H * i + ROW_H / 2
        h = 16
        out.append(f'<text x="{LEFT - 10}" y="{cy + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<line x1="{x(st["p5"]):.1f}" y1="{cy:.1f}" x2="{x(st["p95"]):.1f}" '
                   f'y2="{cy:.1f}" stroke="{colour}" stroke-width="1.5"/>')
        for q in ("p5", "p95"):
            out.append(f'<line x1="{x(st[q]):.1f}" y1="{cy - 6:.1f}" x2="{x(st[q]):.1f}" '
                       f'y2="{cy + 6:.1f}" stroke="{colour}" stroke-width="1.5"/>')
        x25, x75 = x(st["p25"]), x(st["p75"])
        out.append(f'<rect x="{x25:.1f}" y="{cy - h / 2:.1f}" width="{max(x75 - x25, 2):.1f}" '
                   f'height="{h}" fill="{colour}" fill-opacity="0.35" stroke="{colour}"/>')
        out.append(f'<line x1="{x(st["p50"]):.1f}" y1="{cy - h / 2:.1f}" x2="{x(st["p50"]):.1f}" '
                   f'y2="{cy + h / 2:.1f}" stroke="{colour}" stroke-width="3"/>')
        note = f'p50 {st["p50"]:.3g} · p95 {st["p95"]:.3g} ms'
        out.append(f'<text x="{x(st["p95"]) + 8:.1f}" y="{cy + 4:.1f}" fill="#333" '
                   f'stroke="#fff" stroke-width="4" paint-order="stroke">{note}</text>')
    out.append(f'<text x="16" y="{height - 8}" fill="#777" font-size="11">box p25–p75, '
               "bar median, whiskers p5–p95 · goals: output p95 ≤ 2 ms, screen p95 ≤ 100 ms · "
               "benchmarks/run.py → benchmarks/plot.py</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a JSON file written by run.py --json")
    parser.add_argument("-o", "--out", default=str(DEFAULT_OUT), help="where the SVG goes")
    args = parser.parse_args()
    svg = render(json.loads(Path(args.results).read_text()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(svg)
    print(out)


if __name__ == "__main__":
    main()
