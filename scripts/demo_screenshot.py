"""Regenerate docs/cockpit.svg from a real `laneboard demo` session.

    python scripts/demo_screenshot.py [docs/cockpit.svg]

Starts the demo environment (stand-in endpoints, isolated HOME, throw-away workspace,
real claude/codex when installed — the repo-local `.cache/npm` ones count), sends a review
prompt to the plan-mode reviewer, waits for its findings, types a second prompt so the
route preview shows, and saves Textual's SVG screenshot.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def _until(check: Callable[[], bool], timeout: float, pause: Callable[[], object]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo_screenshot: gave up waiting after {timeout:.0f}s")
        await pause()  # type: ignore[misc]


async def shoot(out: Path, size: tuple[int, int] = (120, 34)) -> None:
    from laneboard.demo import demo_environment
    from laneboard.harnesses.ansi import strip
    from laneboard.lanes.loading import load_file
    from laneboard.tui.app import make_app

    with demo_environment() as env:
        os.chdir(env.workspace)
        app = make_app(load_file(str(env.config)), motion=False)
        async with app.run_test(size=size) as pilot:

            async def pause() -> None:
                await pilot.pause(0.1)

            print("app running", flush=True)
            await _until(lambda: app.ready, 30, pause)
            print("core loaded", flush=True)
            await _until(
                lambda: all(rt.state == "ready" for rt in app.supervisor.lanes.values()), 90, pause
            )
            await pilot.press(*"review the diff for risky changes", "enter")
            screen = app.main_screen
            await _until(
                lambda: "No files were edited" in strip("\n".join(screen.pane.lines)), 90, pause
            )
            await pilot.press(*"refactor the parser into modules")
            await pilot.pause(0.5)
            svg = app.export_screenshot(title="laneboard demo")
            await app.shutdown()
    out.write_text(svg, encoding="utf-8")
    print(f"wrote {out}")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "cockpit.svg"
    bin_dir = ROOT / ".cache" / "npm" / "node_modules" / ".bin"
    if bin_dir.is_dir():
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    asyncio.run(shoot(out.resolve()))


if __name__ == "__main__":
    main()
