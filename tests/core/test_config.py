from __future__ import annotations

import dataclasses
import json
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


# -- which AI: the offline mock by default, or an OpenAI-compatible server ----------------

KEY = "sk-test-0123456789abcdef"


def test_the_offline_mock_is_the_default(tmp_path: Path) -> None:
    ai = load_settings(tmp_path, {}).ai
    assert (ai.backend, ai.model, ai.api_key, ai.timeout_s) == ("mock", "mock-1", None, 60.0)
    assert ai.base_url == "https://api.openai.com/v1"


def test_an_openai_compatible_server_from_the_environment(tmp_path: Path) -> None:
    ai = load_settings(
        tmp_path,
        {
            "MOVIEMIND_AI": "openai",
            "MOVIEMIND_AI_BASE_URL": "http://localhost:11434/v1/",
            "MOVIEMIND_AI_MODEL": "llama3.2",
            "MOVIEMIND_AI_API_KEY": f"  {KEY}\n",
            "MOVIEMIND_AI_TIMEOUT_S": "2.5",
        },
    ).ai
    assert (ai.backend, ai.base_url, ai.model, ai.timeout_s) == (
        "openai",
        "http://localhost:11434/v1",
        "llama3.2",
        2.5,
    )
    assert ai.api_key is not None and ai.api_key.reveal() == KEY


def test_openai_without_a_model_uses_a_small_default(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {"MOVIEMIND_AI": "OpenAI"}).ai.model == "gpt-4o-mini"


def test_the_api_key_is_never_shown_by_the_settings(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"MOVIEMIND_AI": "openai", "MOVIEMIND_AI_API_KEY": KEY})
    assert settings.ai.api_key is not None
    shown = [repr(settings), str(settings), repr(settings.ai), f"{settings.ai.api_key}"]
    shown.append(json.dumps(dataclasses.asdict(settings), default=str))
    assert all(KEY not in text for text in shown)
    assert "Secret('***')" in repr(settings.ai)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MOVIEMIND_AI": "gpt"}, "MOVIEMIND_AI='gpt' is not one of: mock, openai"),
        (
            {"MOVIEMIND_AI_BASE_URL": "localhost:11434/v1"},
            "MOVIEMIND_AI_BASE_URL='localhost:11434/v1' must start with http:// or https://",
        ),
        (
            {"MOVIEMIND_AI_BASE_URL": "http:///v1"},
            "MOVIEMIND_AI_BASE_URL='http:///v1' names no host",
        ),
        (
            {"MOVIEMIND_AI_BASE_URL": "http://host:99999/v1"},
            "MOVIEMIND_AI_BASE_URL is not a URL: Port out of range 0-65535",
        ),
        ({"MOVIEMIND_AI_BASE_URL": "http://a host/v1"}, "MOVIEMIND_AI_BASE_URL holds spaces"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "soon"}, "MOVIEMIND_AI_TIMEOUT_S='soon' is not a number"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "0"}, "AI timeout must be > 0 and at most 600 s, got 0"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "-1"}, "AI timeout must be > 0 and at most 600 s, got -1"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "nan"}, "AI timeout must be > 0 and at most 600 s, got nan"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "inf"}, "AI timeout must be > 0 and at most 600 s, got inf"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "601"}, "AI timeout must be > 0 and at most 600 s, got 601"),
        ({"MOVIEMIND_AI_MODEL": "llama\x1b"}, "AI model name 'llama\\x1b' is blank"),
    ],
)
def test_bad_ai_settings_are_named(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        load_settings(tmp_path, env)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MOVIEMIND_AI_BASE_URL": f"https://user:{KEY}@api.example.com/v1"},
            "MOVIEMIND_AI_BASE_URL must not hold credentials: put the key in MOVIEMIND_AI_API_KEY",
        ),
        (
            {"MOVIEMIND_AI_BASE_URL": f"https://api.example.com/v1?api-key={KEY}"},
            "MOVIEMIND_AI_BASE_URL must not have a query or fragment (?... or #...)",
        ),
        (
            {"MOVIEMIND_AI_API_KEY": f"{KEY}\r\nX-Evil: 1"},
            "MOVIEMIND_AI_API_KEY is empty or holds spaces or control characters",
        ),
        (
            {"MOVIEMIND_AI_BASE_URL": f"https://user:{KEY}@api.example.com:99999/v1"},
            "MOVIEMIND_AI_BASE_URL is not a URL: Port out of range 0-65535",
        ),
    ],
)
def test_a_refused_setting_never_echoes_a_secret(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidSetting) as raised:
        load_settings(tmp_path, env)
    assert str(raised.value) == message
    assert KEY not in str(raised.value)


def test_overriding_the_backend_is_validated(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert settings.with_ai(backend="openai", timeout_s=1.5).ai.timeout_s == 1.5
    with pytest.raises(InvalidSetting, match="MOVIEMIND_AI='claude' is not one of"):
        settings.with_ai(backend="claude")
    with pytest.raises(InvalidSetting, match="must start with http"):
        settings.with_ai(base_url="file:///etc/passwd")


def test_admin_token_from_environment(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {}).admin_token is None
    token = "s3cret-admin-token-0123"
    settings = load_settings(tmp_path, {"MOVIEMIND_ADMIN_TOKEN": token})
    assert settings.admin_token == token
    assert token not in repr(settings)
    for bad in ("short", "has a space in the token", "tøken-with-non-ascii-chars"):
        with pytest.raises(InvalidSetting, match="MOVIEMIND_ADMIN_TOKEN"):
            load_settings(tmp_path, {"MOVIEMIND_ADMIN_TOKEN": bad})


def test_database_and_locks_urls_default_to_the_home_and_never_show_a_password(
    tmp_path: Path,
) -> None:
    settings = load_settings(tmp_path, env={})
    assert (settings.database.engine, settings.database.path) == (
        "sqlite",
        (tmp_path / "moviemind.db").absolute(),
    )
    assert (settings.locks.engine, settings.locks.path) == ("file", (tmp_path / "locks").absolute())
    assert settings.database_shown == str(tmp_path / "moviemind.db")
    chosen = load_settings(
        tmp_path,
        env={"MOVIEMIND_LOCKS_URL": "rediss://:pw-1@cache:6380/2?prefix=mm"},
        database_url="postgres://me:pw-2@db:5433/movies?schema=mm_1&sslmode=disable",
    )
    assert chosen.database.engine == "postgresql" and chosen.database.namespace == "mm_1"
    assert chosen.locks.engine == "redis" and chosen.locks.namespace == "mm"
    shown = f"{chosen!r} {chosen.database} {chosen.locks} {chosen.database_shown}"
    assert "pw-1" not in shown and "pw-2" not in shown
    assert str(chosen.database) == "postgres://me:***@db:5433/movies?schema=mm_1&sslmode=disable"
    assert chosen.database.client_url() == "postgres://me:pw-2@db:5433/movies?sslmode=disable"
    scratch = chosen.database.within("lab_1")
    assert scratch.namespace == "lab_1" and "schema=mm_1" not in scratch.reveal()
    assert scratch.client_url() == chosen.database.client_url()
