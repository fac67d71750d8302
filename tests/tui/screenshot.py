"""Regenerate docs/cockpit.svg (the README screenshot) from the snapshot tests' fixed data.

    python -m tests.tui.screenshot [docs/cockpit.svg]

No tmux and no accounts: the same lane states and pane text as the snapshot tests.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path


async def render(out: Path, size: tuple[int, int] = (120, 32)) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="lb-shot-"))
    (tmp / "demo").mkdir()
    os.environ["LANEBOARD_STATE_DIR"] = str(tmp / "state")
    from laneboard.lanes.loading import load_file
    from laneboard.lanes.supervisor import Supervisor
    from laneboard.tui.app import make_app
    from laneboard.tui.messages import OutputReceived
    from tests.tui.conftest import CONFIG
    from tests.tui.data import PANE, set_states

    loaded = load_file(str(CONFIG))
    sup = Supervisor(loaded, workspace=tmp / "demo")
    set_states(sup)
    app = make_app(loaded, sup, autostart=False, motion=False)
    async with app.run_test(size=size) as pilot:
        app.main_screen.post_message(OutputReceived("main", PANE))
        await pilot.pause()
        app.main_screen.flush_now()
        await pilot.press(*"review the retry loop in the fetcher")
        await pilot.pause()
        svg = app.export_screenshot(title="laneboard")
    out.write_text(svg, encoding="utf-8")


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/cockpit.svg")
    asyncio.run(render(target))
    print(target)
