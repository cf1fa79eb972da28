"""A built wheel works away from the checkout, sample catalog included."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_the_sample_catalog_and_runs_elsewhere(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("moviemind_lite-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "moviemind_lite/sample_catalog.json" in archive.namelist()
        assert "moviemind_lite/sample_credits.json" in archive.namelist()
        assert "moviemind_lite/http/openapi.json" in archive.namelist()
        assert any(name.endswith("entry_points.txt") for name in archive.namelist())
        archive.extractall(unpacked)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import moviemind_lite, sys; print(moviemind_lite.__file__, file=sys.stderr);"
            "from moviemind_lite.cli import main; sys.argv[1:] = "
            "['--home', 'h', 'movies', 'show', 'the-matrix-1999', '--json']; main()",
        ],
        cwd=elsewhere,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(str(unpacked))
    assert '"title": "The Matrix"' in result.stdout
