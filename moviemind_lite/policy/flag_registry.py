"""The feature flags MovieMind knows: name, description, default, togglability.

A flag exists because it is registered here; the database only holds values
that differ from these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from moviemind_lite.core.errors import UnknownFlag


@dataclass(frozen=True)
class Flag:
    """One registered feature flag.

    A flag that is not ``togglable`` cannot be changed at run time (only by
    ``MOVIEMIND_FLAG_<NAME>`` when a process starts); ``reason`` says why.
    """

    name: str
    description: str
    default: bool
    togglable: bool = True
    reason: str | None = None

    def __post_init__(self) -> None:
        if not self.togglable and not self.reason:
            raise ValueError(f"flag {self.name!r} is not togglable but gives no reason")

    @property
    def environment_variable(self) -> str:
        """The variable that overrides this flag for one process."""
        return f"MOVIEMIND_FLAG_{self.name.upper()}"


_REGISTERED = (
    Flag(
        name="ai_description_generation",
        description="Generate a description for an unknown movie instead of not found.",
        default=True,
    ),
    Flag(
        name="ai_bio_generation",
        description="Generate a bio for an unknown person instead of not found.",
        default=True,
    ),
    Flag(
        name="ai_generation_baseline_locking",
        description="Regenerate by updating the baseline in place under a lock.",
        default=False,
    ),
    Flag(
        name="catalog_read_only_mode",
        description="Refuse every catalog write; stored texts are still served.",
        default=False,
        togglable=False,
        reason=(
            "workers already running would keep writing; start the processes with "
            "MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE=on instead"
        ),
    ),
)

FLAGS: dict[str, Flag] = {flag.name: flag for flag in _REGISTERED}


def flag_named(name: str) -> Flag:
    """The registered flag called ``name``, else :class:`UnknownFlag` listing the known ones."""
    flag = FLAGS.get(name)
    if flag is None:
        raise UnknownFlag(f"unknown flag {name!r}; expected one of: {', '.join(FLAGS)}")
    return flag
