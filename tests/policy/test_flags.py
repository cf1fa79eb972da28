"""Evaluating and changing flags: precedence, rollout buckets, environments, the audit trail."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.errors import (
    FlagNotTogglable,
    InvalidInput,
    InvalidScope,
    InvalidSetting,
    UnknownFlag,
)
from moviemind_lite.policy import flags as flag_service
from moviemind_lite.policy.flags import FlagService, rollout_bucket, validate_scope

pytestmark = pytest.mark.usefixtures("engines")

LOCKING = "ai_generation_baseline_locking"
DESCRIPTIONS = "ai_description_generation"
SCOPES = [f"user:{number}" for number in range(1000)]


def flags(app: App, environment: str = "local", **env: str) -> FlagService:
    return FlagService(app.database, environment, env=env, actor="tester")


def events(app: App) -> list[tuple[str, str, str, dict[str, object]]]:
    rows = app.database.query("SELECT kind, subject, actor, data FROM events ORDER BY at, id")
    return [(row[0], row[1], row[2], json.loads(row[3])) for row in rows]


# -- defaults and stored values -------------------------------------------------------


def test_registry_defaults_apply_when_nothing_is_stored(app: App) -> None:
    service = flags(app)
    assert service.evaluate(DESCRIPTIONS).to_json() == {
        "name": DESCRIPTIONS,
        "enabled": True,
        "source": "default",
        "scope": None,
    }
    assert service.is_enabled("ai_bio_generation")
    assert not service.is_enabled(LOCKING)
    assert not service.is_enabled(LOCKING, "slug:the-matrix-1999")


def test_set_stores_a_value_and_clear_forgets_it(app: App) -> None:
    service = flags(app)
    change = service.set(LOCKING, True)
    assert (change.before, change.after, change.changed) == (None, "on", True)
    assert service.evaluate(LOCKING).source == "stored"
    assert service.is_enabled(LOCKING, "user:7")
    cleared = service.clear(LOCKING)
    assert (cleared.before, cleared.after) == ("on", None)
    assert service.evaluate(LOCKING).source == "default"
    assert not service.is_enabled(LOCKING)


def test_unknown_flags_are_refused_everywhere(app: App) -> None:
    service = flags(app)
    for call in (
        lambda: service.evaluate("nope"),
        lambda: service.describe("nope"),
        lambda: service.set("nope", True),
        lambda: service.set_percentage("nope", 5),
        lambda: service.override("nope", "user:1", True),
        lambda: service.clear("nope"),
    ):
        with pytest.raises(UnknownFlag, match="expected one of: ai_description_generation"):
            call()


# -- percentage rollout -----------------------------------------------------------------


def test_bucket_is_sha256_of_flag_and_scope() -> None:
    digest = hashlib.sha256(b"ai_description_generation\x1fuser:42").digest()
    assert rollout_bucket(DESCRIPTIONS, "user:42") == int.from_bytes(digest[:8], "big") % 100
    assert rollout_bucket(DESCRIPTIONS, "user:42") == rollout_bucket(DESCRIPTIONS, "user:42")
    buckets = [rollout_bucket(DESCRIPTIONS, scope) for scope in SCOPES]
    assert min(buckets) == 0 and max(buckets) == 99
    # The same scope lands elsewhere for another flag: rollouts are independent.
    assert buckets != [rollout_bucket(LOCKING, scope) for scope in SCOPES]


def test_a_scope_is_on_iff_its_bucket_is_below_the_percentage(app: App) -> None:
    service = flags(app)
    service.set_percentage(LOCKING, 25)
    for scope in SCOPES[:200]:
        value = service.evaluate(LOCKING, scope)
        assert value.source == "percentage"
        assert value.enabled == (rollout_bucket(LOCKING, scope) < 25)
    share = sum(service.is_enabled(LOCKING, scope) for scope in SCOPES) / len(SCOPES)
    assert 0.20 < share < 0.30


def test_raising_the_percentage_keeps_everyone_who_was_on(app: App) -> None:
    service = flags(app)
    previous: set[str] = set()
    for percentage in (0, 5, 25, 50, 99, 100):
        service.set_percentage(LOCKING, percentage)
        on = {scope for scope in SCOPES if service.is_enabled(LOCKING, scope)}
        assert previous <= on, f"raising to {percentage}% turned someone off"
        previous = on
        if percentage == 0:
            assert on == set()
    assert previous == set(SCOPES)


def test_without_a_scope_a_rollout_counts_as_on_only_at_100(app: App) -> None:
    service = flags(app)
    service.set_percentage(DESCRIPTIONS, 99)
    assert service.evaluate(DESCRIPTIONS).to_json()["enabled"] is False
    assert service.evaluate(DESCRIPTIONS).source == "percentage"
    service.set_percentage(DESCRIPTIONS, 100)
    assert service.is_enabled(DESCRIPTIONS)


def test_set_ends_a_rollout(app: App) -> None:
    service = flags(app)
    service.set_percentage(LOCKING, 5)
    change = service.set(LOCKING, True)
    assert (change.before, change.after) == ("5%", "on")
    state = service.describe(LOCKING)
    assert (state.percentage, state.stored, state.value.source) == (None, True, "stored")


@pytest.mark.parametrize("percentage", [-1, 101, 1000])
def test_percentage_out_of_range(app: App, percentage: int) -> None:
    with pytest.raises(InvalidInput, match=f"between 0 and 100, got {percentage}"):
        flags(app).set_percentage(LOCKING, percentage)
    assert events(app) == []


def test_percentage_must_be_a_whole_number(app: App) -> None:
    with pytest.raises(InvalidInput, match="whole number"):
        flags(app).set_percentage(LOCKING, True)
    with pytest.raises(InvalidInput, match="whole number"):
        flags(app).set_percentage(LOCKING, 2.5)  # type: ignore[arg-type]


# -- overrides --------------------------------------------------------------------------


def test_an_override_beats_the_rollout_and_the_stored_value(app: App) -> None:
    service = flags(app)
    scope = next(s for s in SCOPES if rollout_bucket(LOCKING, s) < 50)
    service.set_percentage(LOCKING, 50)
    assert service.is_enabled(LOCKING, scope)
    service.override(LOCKING, scope, False)
    assert service.evaluate(LOCKING, scope).source == "override"
    assert not service.is_enabled(LOCKING, scope)
    service.set(LOCKING, True)
    assert not service.is_enabled(LOCKING, scope)
    assert service.is_enabled(LOCKING, "user:other")
    # An override only speaks for its scope, never for the flag as a whole.
    assert service.evaluate(LOCKING).source == "stored"
    service.clear(LOCKING, scope)
    assert service.is_enabled(LOCKING, scope)


def test_override_turns_a_flag_on_for_one_slug(app: App) -> None:
    service = flags(app)
    service.override(LOCKING, "slug:the-matrix-1999", True)
    assert service.is_enabled(LOCKING, "slug:the-matrix-1999")
    assert not service.is_enabled(LOCKING, "slug:alien-1979")
    assert not service.is_enabled(LOCKING)
    assert [o.scope for o in service.describe(LOCKING).overrides] == ["slug:the-matrix-1999"]


@pytest.mark.parametrize(
    "scope",
    ["", "user", "user:", ":42", "User:42", "user 42", "user:4 2", "user:ż", "user:\x00",
     "slug:The-Matrix", "slug:a--b", "user:" + "9" * 300],
)  # fmt: skip
def test_bad_scopes_are_refused(app: App, scope: str) -> None:
    with pytest.raises(InvalidScope):
        validate_scope(scope)
    with pytest.raises(InvalidScope):
        flags(app).override(LOCKING, scope, True)
    with pytest.raises(InvalidScope):
        flags(app).evaluate(LOCKING, scope)


@pytest.mark.parametrize("scope", ["user:42", "slug:the-matrix-1999", "tenant_id:acme.example"])
def test_good_scopes(scope: str) -> None:
    assert validate_scope(scope) == scope


def test_clearing_what_is_not_there_changes_nothing(app: App) -> None:
    service = flags(app)
    assert not service.clear(LOCKING).changed
    assert not service.clear(LOCKING, "user:1").changed
    assert events(app) == []


# -- environment variable and environments ----------------------------------------------


def test_the_environment_variable_beats_everything(app: App) -> None:
    flags(app).set(LOCKING, False)
    flags(app).override(LOCKING, "user:1", False)
    forced = flags(app, MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING=" ON ")
    assert forced.evaluate(LOCKING, "user:1").to_json() == {
        "name": LOCKING,
        "enabled": True,
        "source": "environment-variable",
        "scope": "user:1",
    }
    assert forced.is_enabled(LOCKING)
    off = flags(app, MOVIEMIND_FLAG_AI_DESCRIPTION_GENERATION="off")
    assert not off.is_enabled(DESCRIPTIONS)
    assert off.is_enabled("ai_bio_generation")


def test_an_empty_environment_variable_is_unset(app: App) -> None:
    assert flags(app, MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING="").evaluate(
        LOCKING
    ).source == ("default")


def test_a_bad_environment_variable_is_a_setting_error(app: App) -> None:
    service = flags(app, MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING="yes")
    with pytest.raises(InvalidSetting, match="MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING='yes'"):
        service.is_enabled(LOCKING)


def test_the_process_environment_is_read_by_default(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING", "on")
    assert FlagService(app.database, "local").is_enabled(LOCKING)


def test_environments_keep_separate_values(app: App) -> None:
    local, staging = flags(app, "local"), flags(app, "staging")
    staging.set(LOCKING, True)
    staging.override(DESCRIPTIONS, "user:1", False)
    local.set_percentage(DESCRIPTIONS, 30)
    assert staging.is_enabled(LOCKING) and not local.is_enabled(LOCKING)
    assert not staging.is_enabled(DESCRIPTIONS, "user:1")
    assert staging.describe(DESCRIPTIONS).percentage is None
    assert local.describe(DESCRIPTIONS).overrides == ()
    assert [c.action for c in local.history(LOCKING)] == []
    assert [c.action for c in staging.history(LOCKING)] == ["set"]
    assert [c.environment for c in staging.history(DESCRIPTIONS)] == ["staging"]


# -- refusals ---------------------------------------------------------------------------


def test_a_flag_fixed_at_run_time_refuses_every_change(app: App) -> None:
    service = flags(app)
    for call in (
        lambda: service.set("catalog_read_only_mode", True),
        lambda: service.set_percentage("catalog_read_only_mode", 10),
        lambda: service.override("catalog_read_only_mode", "user:1", True),
        lambda: service.clear("catalog_read_only_mode"),
    ):
        with pytest.raises(FlagNotTogglable) as caught:
            call()
        assert isinstance(caught.value, InvalidInput)
        assert str(caught.value).startswith(
            "flag 'catalog_read_only_mode' cannot be changed at run time: workers already running"
        )
    assert events(app) == []
    forced = flags(app, MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE="on")
    assert forced.is_enabled("catalog_read_only_mode")


# -- the audit trail --------------------------------------------------------------------


def test_every_change_is_an_event(app: App) -> None:
    service = flags(app, "staging")
    service.set(LOCKING, True)
    service.set(LOCKING, True)  # no change, no event
    service.set_percentage(LOCKING, 5)
    service.override(LOCKING, "slug:the-matrix-1999", False)
    service.clear(LOCKING, "slug:the-matrix-1999")
    service.clear(LOCKING)

    def data(
        action: str, before: str | None, after: str | None, scope: str | None = None
    ) -> dict[str, object]:
        return {
            "action": action,
            "scope": scope,
            "from": before,
            "to": after,
            "environment": "staging",
        }

    assert events(app) == [
        ("flag.changed", LOCKING, "tester", data("set", None, "on")),
        ("flag.changed", LOCKING, "tester", data("percentage", "on", "5%")),
        ("flag.changed", LOCKING, "tester", data("override", None, "off", "slug:the-matrix-1999")),
        ("flag.changed", LOCKING, "tester", data("clear", "off", None, "slug:the-matrix-1999")),
        ("flag.changed", LOCKING, "tester", data("clear", "5%", None)),
    ]
    history = service.history(LOCKING)
    assert [(c.action, c.before, c.after) for c in history] == [
        ("clear", "5%", None),
        ("clear", "off", None),
        ("override", None, "off"),
        ("percentage", "on", "5%"),
        ("set", None, "on"),
    ]
    assert [c.action for c in service.history(LOCKING, limit=2)] == ["clear", "clear"]
    assert service.describe(LOCKING, changes=3).changes == tuple(history[:3])


def test_stored_rows_say_who_changed_them(app: App) -> None:
    flags(app).set_percentage(LOCKING, 40)
    flags(app).override(LOCKING, "user:9", True)
    row = app.database.query_one("SELECT * FROM flags")
    assert row is not None
    assert (row["name"], row["environment"], row["enabled"], row["percentage"]) == (
        LOCKING,
        "local",
        0,
        40,
    )
    assert row["updated_by"] == "tester"
    override = flags(app).describe(LOCKING).overrides[0]
    assert (override.scope, override.enabled, override.updated_by) == ("user:9", True, "tester")


def test_the_actor_is_the_os_user_with_a_fallback(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flag_service.getpass, "getuser", lambda: "alice")
    FlagService(app.database, "local", env={}).set(LOCKING, True)

    def no_user() -> str:
        raise OSError("no password entry")

    monkeypatch.setattr(flag_service.getpass, "getuser", no_user)
    FlagService(app.database, "local", env={}).set(LOCKING, False)
    assert [actor for _, _, actor, _ in events(app)] == ["alice", "unknown"]


def test_concurrent_changes_all_land(app: App) -> None:
    service = flags(app)
    errors: list[BaseException] = []

    def override(number: int) -> None:
        try:
            service.override(LOCKING, f"user:{number}", True)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=override, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(service.describe(LOCKING).overrides) == 12
    assert len(events(app)) == 12


def test_list_states_covers_the_registry(app: App) -> None:
    flags(app).set_percentage(DESCRIPTIONS, 10)
    states = flags(app).list_states()
    assert [state.flag.name for state in states] == [
        DESCRIPTIONS,
        "ai_bio_generation",
        LOCKING,
        "catalog_read_only_mode",
    ]
    assert states[0].summary() == {
        "name": DESCRIPTIONS,
        "enabled": False,
        "source": "percentage",
        "percentage": 10,
        "togglable": True,
        "default": True,
        "description": states[0].flag.description,
    }
    assert all(state.changes == () for state in states)
