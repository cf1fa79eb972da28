"""The core never imports a front end, and the fast paths stay light."""

from __future__ import annotations

import json
import subprocess
import sys

CORE_MODULES = [
    "moviemind_lite.config",
    "moviemind_lite.domain",
    "moviemind_lite.errors",
    "moviemind_lite.ids",
    "moviemind_lite.services",
    "moviemind_lite.store.catalog",
    "moviemind_lite.store.db",
    "moviemind_lite.store.migrations",
    "moviemind_lite.store.sample_catalog",
    "moviemind_lite.store.bulk",
    "moviemind_lite.catalog_files",
    "moviemind_lite.ai.mock_text",
    "moviemind_lite.rollout",
]


def imported_after(code: str) -> set[str]:
    """Top-level module names loaded by a fresh interpreter running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(output.splitlines()[-1])}


def test_core_imports_neither_click_nor_textual() -> None:
    loaded = imported_after("\n".join(f"import {module}" for module in CORE_MODULES))
    assert "moviemind_lite" in loaded
    assert "click" not in loaded
    assert "textual" not in loaded


def test_help_and_list_do_not_import_textual() -> None:
    for args in (["--help"], ["movies", "list", "--limit", "1"]):
        loaded = imported_after(
            "import sys\nfrom moviemind_lite.cli import cli\n"
            f"try:\n    cli.main({args!r}, standalone_mode=False)\nexcept SystemExit:\n    pass"
        )
        assert "click" in loaded
        assert "textual" not in loaded, args
