"""The core never imports a front end, and the fast paths stay light."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

FRONT_ENDS = (
    "moviemind_lite.cli",
    "moviemind_lite.tui",
    "moviemind_lite.http",
    "moviemind_lite.__main__",
)
WEB_FRAMEWORKS = {"starlette", "uvicorn", "anyio", "httpx", "h11"}


def core_modules() -> list[str]:
    """Every module of the package below the front ends, found by walking it."""
    import moviemind_lite

    found = [
        module.name
        for module in pkgutil.walk_packages(moviemind_lite.__path__, "moviemind_lite.")
        if not module.name.startswith(FRONT_ENDS)
    ]
    return found


CORE_MODULES = core_modules()


def imported_after(code: str) -> set[str]:
    """Top-level module names loaded by a fresh interpreter running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(output.splitlines()[-1])}


def test_core_imports_neither_click_nor_textual() -> None:
    expected = {
        "moviemind_lite.app.wiring",
        "moviemind_lite.lab.race",
        "moviemind_lite.policy.rollout",
    }
    assert expected <= set(CORE_MODULES)
    loaded = imported_after("\n".join(f"import {module}" for module in CORE_MODULES))
    assert "moviemind_lite" in loaded
    assert "click" not in loaded
    assert "textual" not in loaded
    assert not loaded & WEB_FRAMEWORKS, loaded & WEB_FRAMEWORKS


def test_the_http_front_end_is_the_only_one_loading_the_web_stack() -> None:
    loaded = imported_after("import moviemind_lite.http.app")
    assert {"starlette", "moviemind_lite"} <= loaded
    assert "click" not in loaded and "textual" not in loaded
    assert "uvicorn" not in loaded  # only `moviemind serve` needs the server


def test_help_and_list_do_not_import_textual() -> None:
    for args in (["--help"], ["movies", "list", "--limit", "1"]):
        loaded = imported_after(
            "import sys\nfrom moviemind_lite.cli import cli\n"
            f"try:\n    cli.main({args!r}, standalone_mode=False)\nexcept SystemExit:\n    pass"
        )
        assert "click" in loaded
        assert "textual" not in loaded, args
        assert not loaded & WEB_FRAMEWORKS, (args, loaded & WEB_FRAMEWORKS)
