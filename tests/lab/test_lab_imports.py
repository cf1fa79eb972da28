"""The lab, the locks and the strategies are core: no front end, no terminal library."""

from __future__ import annotations

from tests.test_import_hygiene import imported_after

LAB_CORE = [
    "moviemind_lite.lab.race",
    "moviemind_lite.lab.teaching",
    "moviemind_lite.lab.flag_lessons",
    "moviemind_lite.lab.lesson",
    "moviemind_lite.lab.processes",
    "moviemind_lite.store.file_locks",
    "moviemind_lite.pipeline.strategies",
]


def test_the_lab_core_imports_no_front_end() -> None:
    loaded = imported_after("\n".join(f"import {module}" for module in LAB_CORE))
    assert {"click", "textual", "rich"}.isdisjoint(loaded)


def test_the_cli_reads_scenario_defaults_without_loading_the_store() -> None:
    loaded = imported_after("import moviemind_lite.cli.lab")
    assert {"filelock", "sqlite_utils", "textual", "rich"}.isdisjoint(loaded)
