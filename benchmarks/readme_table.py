"""Turn a `run.py --json` file into the Markdown table of the README's Performance section.

    python benchmarks/readme_table.py RESULTS.json            # print it
    python benchmarks/readme_table.py RESULTS.json --update README.md

`--update` replaces what lies between `<!-- perf-table -->` and `<!-- /perf-table -->`
in the file (the markers stay), so the README is regenerated, not hand-edited.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- perf-table -->", "<!-- /perf-table -->"


def _num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(doc: dict[str, Any]) -> str:
    m = doc.get("machine", {})
    run = "quick run" if m.get("quick") else "full run"
    lines = [
        f"Measured {m.get('date', '?')} ({run}, {m.get('seconds', '?')} s) on {m.get('cpus', '?')} "
        f"cores ({m.get('cpu', '?')}), {m.get('memory', '?')}, {m.get('platform', '?')}; "
        f"Python {m.get('python', '?')}, {m.get('tmux', '?')}, Textual {m.get('textual', '?')}; "
        f"commit {m.get('commit', '?')}; load average at start {m.get('load_average', '?')}.",
        "",
        "| figure | value | unit | reference | ratio | goal | ok | note |",
        "| --- | ---: | --- | ---: | ---: | --- | :---: | --- |",
    ]
    for name, f in doc.get("figures", {}).items():
        lines.append(
            f"| `{name}` | {_num(f.get('value'))} | {_cell(f.get('unit', ''))} | "
            f"{_num(f.get('reference'))} | {_num(f.get('ratio'))} | {_cell(f.get('goal', ''))} | "
            f"{'yes' if f.get('ok') else '**no**'} | {_cell(f.get('note', ''))} |"
        )
    return "\n".join(lines) + "\n"


def update(path: Path, text: str) -> None:
    body = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(body):
        raise SystemExit(f"readme_table.py: {path} has no {BEGIN} … {END} markers")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}{END}", body, count=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a JSON file written by run.py --json")
    parser.add_argument("--update", metavar="FILE", help="rewrite the table between the markers")
    args = parser.parse_args()
    text = table(json.loads(Path(args.results).read_text()))
    if args.update:
        update(Path(args.update), text)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
