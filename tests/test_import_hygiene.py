"""The core never imports a front end, and the fast paths stay light."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

from moviemind_lite.store.db import DATABASE_ENGINES
from moviemind_lite.store.locking import LOCK_ENGINES
from moviemind_lite.store.rate_limits import RATE_LIMIT_ENGINES
from tests.helpers import fresh_interpreter, run_in_fresh_interpreter, top_level

FRONT_ENDS = (
    "moviemind_lite.cli",
    "moviemind_lite.tui",
    "moviemind_lite.http",
    "moviemind_lite.__main__",
)
WEB_FRAMEWORKS = {"starlette", "uvicorn", "anyio", "httpx", "h11"}
SERVER_CLIENTS = {"psycopg", "psycopg_pool", "psycopg_binary", "redis"}
# The engine modules import their client at the top: only a URL naming the
# engine imports them, through the name tables of the store.
ENGINE_MODULES = {
    *DATABASE_ENGINES.values(),
    *LOCK_ENGINES.values(),
    *RATE_LIMIT_ENGINES.values(),
} - {
    "moviemind_lite.store.sqlite",
    "moviemind_lite.store.file_locks",
    "moviemind_lite.store.rate_limits",
}


def core_modules() -> list[str]:
    """Every module of the package below the front ends, found by walking it, but the
    engine modules of the server engines."""
    import moviemind_lite

    found = [
        module.name
        for module in pkgutil.walk_packages(moviemind_lite.__path__, "moviemind_lite.")
        if not module.name.startswith(FRONT_ENDS) and module.name not in ENGINE_MODULES
    ]
    return found


CORE_MODULES = core_modules()


def imported_after(code: str) -> set[str]:
    """Top-level module names loaded by a fresh interpreter running ``code``."""
    return top_level(fresh_interpreter(code)[1])


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
    assert not loaded & SERVER_CLIENTS, loaded & SERVER_CLIENTS


def test_the_server_engines_are_imported_only_through_their_name_tables() -> None:
    assert {
        "moviemind_lite.store.postgres",
        "moviemind_lite.store.redis_locks",
        "moviemind_lite.store.redis_rate_limits",
    } == ENGINE_MODULES
    package = Path(__file__).resolve().parents[1] / "moviemind_lite"
    importers = []
    for path in package.rglob("*.py"):
        if f"moviemind_lite.store.{path.stem}" in ENGINE_MODULES:
            continue  # an engine may share its server's helpers with another engine of it
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            importers += [f"{path.name}: {name}" for name in names if name in ENGINE_MODULES]
    assert importers == []


def test_the_embedded_engines_load_no_server_client() -> None:
    loaded = imported_after(
        "from moviemind_lite.app.wiring import build_app\n"
        "from moviemind_lite.core.config import load_settings\n"
        "import tempfile\n"
        "build_app(load_settings(tempfile.mkdtemp())).close()"
    )
    assert not loaded & SERVER_CLIENTS, loaded & SERVER_CLIENTS
    assert "sqlite3" in loaded


def test_the_http_front_end_is_the_only_one_loading_the_web_stack() -> None:
    loaded = imported_after("import moviemind_lite.http.app")
    assert {"starlette", "moviemind_lite"} <= loaded
    assert "click" not in loaded and "textual" not in loaded
    assert "uvicorn" not in loaded  # only `moviemind serve` needs the server


def test_help_and_list_do_not_import_textual() -> None:
    for args in (["--help"], ["movies", "list", "--limit", "1"]):
        loaded = {name.split(".")[0] for name in run_in_fresh_interpreter(*args)[1]}
        assert "click" in loaded
        assert "textual" not in loaded, args
        assert not loaded & WEB_FRAMEWORKS, (args, loaded & WEB_FRAMEWORKS)
