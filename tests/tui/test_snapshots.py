"""How each tab looks at 80x24, over a home whose content is fixed (tests.tui.scenes).

After a deliberate change of looks, review and accept the new pictures with
``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from moviemind_lite.tui import TAB_IDS
from moviemind_lite.tui.app import make_app
from tests.tui.driving import wait_ready
from tests.tui.scenes import SIZE, build_home


@pytest.mark.parametrize("tab", TAB_IDS)
def test_tab_looks(tab: str, scene_home: Path, snap_compare: Callable[..., bool]) -> None:
    app = make_app(build_home(scene_home), start_tab=tab)

    async def ready(pilot: Pilot[None]) -> None:
        await wait_ready(pilot, tab)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=ready)
    finally:
        app.close()
