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


def test_a_database_on_a_server_logs_apart_from_the_homes_sqlite(tmp_path: Path) -> None:
    # One home used with SQLite and with PostgreSQL: the Log tab and `moviemind logs` of
    # each show only its own lines.
    url = "postgresql://postgres:secret@127.0.0.1:5439/moviemind"
    on_server = load_settings(tmp_path, {"MOVIEMIND_DATABASE_URL": url})
    assert on_server.log_path.parent == tmp_path / "logs"
    assert on_server.log_path.name.startswith("moviemind-postgresql-")
    assert on_server.log_path != load_settings(tmp_path, {}).log_path
    assert "secret" not in on_server.log_path.name
    other = load_settings(tmp_path, {"MOVIEMIND_DATABASE_URL": url + "?schema=other"})
    assert other.log_path != on_server.log_path
    again = load_settings(tmp_path / "elsewhere", {"MOVIEMIND_DATABASE_URL": url})
    assert again.log_path.name == on_server.log_path.name


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
        (
            {"MOVIEMIND_AI_LATENCY_MS": "-1"},
            "MOVIEMIND_AI_LATENCY_MS='-1' is not a number of ms from 0 to 86400000 (one day)",
        ),
        (
            {"MOVIEMIND_AI_FAIL_RATE": "1.5"},
            "MOVIEMIND_AI_FAIL_RATE='1.5' is not a number from 0 to 1",
        ),
        ({"MOVIEMIND_AI_SEED": "1.5"}, "MOVIEMIND_AI_SEED='1.5' is not a whole number from 0"),
        ({"MOVIEMIND_LOCALE": "xx-XX"}, "MOVIEMIND_LOCALE: unknown locale 'xx-XX'"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        load_settings(tmp_path, env)
    assert str(raised.value).startswith(message)


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
TIMEOUT = "is not a number of s above 0 and at most 600 (ten minutes)"


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
        ({"MOVIEMIND_AI_TIMEOUT_S": "0"}, f"MOVIEMIND_AI_TIMEOUT_S='0' {TIMEOUT}"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "-1"}, f"MOVIEMIND_AI_TIMEOUT_S='-1' {TIMEOUT}"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "nan"}, f"MOVIEMIND_AI_TIMEOUT_S='nan' {TIMEOUT}"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "inf"}, f"MOVIEMIND_AI_TIMEOUT_S='inf' {TIMEOUT}"),
        ({"MOVIEMIND_AI_TIMEOUT_S": "601"}, f"MOVIEMIND_AI_TIMEOUT_S='601' {TIMEOUT}"),
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


# -- every number from the environment: finite, within its range, whole where it must be -----

NUMERIC_KNOBS = (
    "MOVIEMIND_AI_TIMEOUT_S",
    "MOVIEMIND_AI_LATENCY_MS",
    "MOVIEMIND_AI_JITTER_MS",
    "MOVIEMIND_AI_FAIL_RATE",
    "MOVIEMIND_AI_SEED",
    "MOVIEMIND_BREAKER_THRESHOLD",
    "MOVIEMIND_BREAKER_COOLDOWN_MS",
    "MOVIEMIND_JOB_LEASE_MS",
    "MOVIEMIND_JOB_MAX_ATTEMPTS",
    "MOVIEMIND_JOB_BACKOFF_MS",
    "MOVIEMIND_SLOT_TTL_MS",
    "MOVIEMIND_JOB_POLL_MS",
    "MOVIEMIND_BUSY_TIMEOUT_MS",
    "MOVIEMIND_ENGINE_WAIT_MS",
)
WHOLE_KNOBS = (
    "MOVIEMIND_AI_SEED",
    "MOVIEMIND_BREAKER_THRESHOLD",
    "MOVIEMIND_JOB_MAX_ATTEMPTS",
    "MOVIEMIND_BUSY_TIMEOUT_MS",
    "MOVIEMIND_ENGINE_WAIT_MS",
)


@pytest.mark.parametrize("name", NUMERIC_KNOBS)
@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "1e309", "1e23", "-1", "0x10", " "])
def test_every_numeric_knob_refuses_what_is_not_a_sane_number(
    tmp_path: Path, name: str, raw: str
) -> None:
    with pytest.raises(InvalidSetting) as raised:
        load_settings(tmp_path, {name: raw})
    message = str(raised.value)
    assert message.startswith(f"{name}={raw!r} is not a ")
    assert " to " in message or "at most" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", WHOLE_KNOBS)
def test_a_whole_number_knob_refuses_a_fraction(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidSetting, match="is not a whole number"):
        load_settings(tmp_path, {name: "1.5"})
    assert load_settings(tmp_path, {name: "7"}) is not None


def test_knobs_at_their_bounds_are_kept(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        {
            "MOVIEMIND_AI_LATENCY_MS": "86400000",
            "MOVIEMIND_AI_SEED": str(2**63 - 1),
            "MOVIEMIND_JOB_MAX_ATTEMPTS": "100",
        },
    )
    assert settings.ai.latency_ms == 86_400_000
    assert settings.ai.seed == 2**63 - 1
    assert settings.jobs.max_attempts == 100


def test_overrides_are_held_to_the_same_ranges(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    for changes in ({"latency_ms": float("inf")}, {"jitter_ms": 1e23}, {"holder_pause_ms": -1.0}):
        with pytest.raises(InvalidSetting, match="must be a number of ms from 0 to 86400000"):
            settings.with_ai(**changes)
    with pytest.raises(InvalidSetting, match="job lease must be a number of ms above 0"):
        settings.with_jobs(lease_ms=float("nan"))


def test_an_empty_home_is_refused_and_an_empty_variable_is_unset(tmp_path: Path) -> None:
    with pytest.raises(InvalidSetting, match="home folder name is empty"):
        load_settings("", {})
    with pytest.raises(InvalidSetting, match="home folder name is empty"):
        load_settings("  ", {})
    assert load_settings(None, {"MOVIEMIND_HOME": ""}).home == Path("data")


@pytest.mark.parametrize("name", ["staging", "ci-42", "eu.prod_2", "x" * 64])
def test_environment_names(tmp_path: Path, name: str) -> None:
    assert load_settings(tmp_path, {"MOVIEMIND_ENV": f" {name} "}).environment == name
    assert load_settings(tmp_path, {"MOVIEMIND_ENV": ""}).environment == "local"


@pytest.mark.parametrize("name", ["stag ing", "a\x1bb", "../etc", "_x", "x" * 65, "é"])
def test_an_environment_name_outside_the_sane_set_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidSetting, match="is not an environment name"):
        load_settings(tmp_path, {"MOVIEMIND_ENV": name})


def test_an_empty_locale_variable_is_unset(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {"MOVIEMIND_LOCALE": ""}).default_locale == "en-US"
    with pytest.raises(InvalidSetting, match="MOVIEMIND_LOCALE: unknown locale ' '"):
        load_settings(tmp_path, {"MOVIEMIND_LOCALE": " "})


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
