from __future__ import annotations

from pathlib import Path

import pytest

from moviemind_lite.core.config import load_settings
from moviemind_lite.core.errors import InvalidSetting


def test_home_precedence(tmp_path: Path) -> None:
    env = {"MOVIEMIND_HOME": str(tmp_path / "from-env")}
    assert load_settings(tmp_path / "explicit", env).home == tmp_path / "explicit"
    assert load_settings(None, env).home == tmp_path / "from-env"
    assert load_settings(None, {}).home == Path("data")


def test_layout_inside_home(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert settings.database_path == tmp_path / "moviemind.db"
    assert settings.locks_dir == tmp_path / "locks"
    assert settings.log_path == tmp_path / "logs" / "moviemind.log"


def test_ai_knobs_from_environment(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        {"MOVIEMIND_AI_LATENCY_MS": "5", "MOVIEMIND_AI_FAIL_RATE": "0.5", "MOVIEMIND_AI_SEED": "7"},
    )
    assert (settings.ai.latency_ms, settings.ai.fail_rate, settings.ai.seed) == (5.0, 0.5, 7)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MOVIEMIND_AI_LATENCY_MS": "fast"}, "MOVIEMIND_AI_LATENCY_MS='fast' is not a number"),
        ({"MOVIEMIND_AI_LATENCY_MS": "-1"}, "AI latency must be >= 0 ms, got -1"),
        ({"MOVIEMIND_AI_FAIL_RATE": "1.5"}, "AI failure rate must be between 0 and 1, got 1.5"),
        ({"MOVIEMIND_AI_SEED": "1.5"}, "MOVIEMIND_AI_SEED=1.5 is not a whole number"),
        ({"MOVIEMIND_LOCALE": "xx-XX"}, "MOVIEMIND_LOCALE: unknown locale 'xx-XX'"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSetting, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        load_settings(tmp_path, env)


def test_home_that_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(InvalidSetting, match="is not a folder"):
        load_settings(file, {})


def test_overriding_ai_knobs_is_validated(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert settings.with_ai(latency_ms=0).ai.latency_ms == 0
    with pytest.raises(InvalidSetting):
        settings.with_ai(fail_rate=2.0)


def test_admin_token_from_environment(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {}).admin_token is None
    token = "s3cret-admin-token-0123"
    settings = load_settings(tmp_path, {"MOVIEMIND_ADMIN_TOKEN": token})
    assert settings.admin_token == token
    assert token not in repr(settings)
    for bad in ("short", "has a space in the token", "tøken-with-non-ascii-chars"):
        with pytest.raises(InvalidSetting, match="MOVIEMIND_ADMIN_TOKEN"):
            load_settings(tmp_path, {"MOVIEMIND_ADMIN_TOKEN": bad})
