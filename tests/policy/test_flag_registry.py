"""The flag registry: the flags the design names, and a clear answer for unknown names."""

from __future__ import annotations

import pytest

from moviemind_lite.core.errors import InvalidInput, UnknownFlag
from moviemind_lite.policy.flag_registry import FLAGS, Flag, flag_named
from tests.helpers import fresh_interpreter, top_level


def test_registered_flags_and_defaults() -> None:
    expected = {
        "ai_description_generation": (True, True),
        "ai_bio_generation": (True, True),
        "ai_generation_baseline_locking": (False, True),
        "catalog_read_only_mode": (False, False),
    }
    assert {name: (flag.default, flag.togglable) for name, flag in FLAGS.items()} == expected
    for name, flag in FLAGS.items():
        assert flag.name == name
        assert flag.description
        assert (flag.reason is None) == flag.togglable


def test_flag_named_returns_the_registered_flag() -> None:
    assert flag_named("ai_bio_generation") is FLAGS["ai_bio_generation"]


def test_unknown_flag_lists_the_known_ones() -> None:
    with pytest.raises(UnknownFlag) as caught:
        flag_named("ai_everything")
    assert isinstance(caught.value, InvalidInput)
    assert str(caught.value) == (
        "unknown flag 'ai_everything'; expected one of: ai_description_generation, "
        "ai_bio_generation, ai_generation_baseline_locking, catalog_read_only_mode"
    )


def test_a_flag_fixed_at_run_time_must_say_why() -> None:
    with pytest.raises(ValueError, match="gives no reason"):
        Flag("fixed", "A fixed flag.", default=False, togglable=False)


def test_environment_variable_name() -> None:
    variable = FLAGS["ai_generation_baseline_locking"].environment_variable
    assert variable == "MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING"


def test_flags_core_imports_no_front_end() -> None:
    _, modules = fresh_interpreter(
        "import moviemind_lite.policy.flag_registry, moviemind_lite.policy.flags"
    )
    loaded = top_level(modules)
    assert "click" not in loaded
    assert "textual" not in loaded
    assert "rich" not in loaded
