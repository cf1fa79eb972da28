"""How core values read on screen: stored text, job statuses, durations, truncated names.

Colours carry meaning but the words say it too (``DONE`` in green), so the
screen reads the same without colour. Stored text reaches a widget only as a
``Text`` built by :func:`data` (never as a markup string), with its control
characters spelled out by :func:`moviemind_lite.core.display.visible`.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from moviemind_lite.core.display import visible
from moviemind_lite.core.ids import parse_timestamp
from moviemind_lite.core.model import DONE, FAILED, IN_PROGRESS, PENDING, Job

STATUS_STYLE: dict[str, str] = {
    PENDING: "bold yellow",
    IN_PROGRESS: "bold cyan",
    DONE: "bold green",
    FAILED: "bold red",
}
STATUS_LABEL: dict[str, str] = {
    PENDING: "PENDING",
    IN_PROGRESS: "IN PROGRESS",
    DONE: "DONE",
    FAILED: "FAILED",
}
LEVEL_STYLE: dict[str, str] = {"ERROR": "bold red", "CRITICAL": "bold red", "WARNING": "yellow"}


def data(value: object, width: int | None = None, *, style: str = "") -> Text:
    """``value`` as plain text for a widget: controls spelled out, cut to ``width``."""
    shown = "" if value is None else visible(str(value))
    return Text(clip(shown, width) if width else shown, style=style)


def status_text(status: str) -> Text:
    """A job status spelled out, in its colour."""
    return Text(STATUS_LABEL.get(status, status), style=STATUS_STYLE.get(status, ""))


def format_ms(value: float | None) -> str:
    """``-`` for nothing, milliseconds under ten seconds, seconds above."""
    if value is None:
        return "-"
    if value < 10_000:
        return f"{value:,.0f} ms"
    return f"{value / 1000:,.1f} s"


def runtime_ms(job: Job, now: datetime) -> float | None:
    """How long the job ran (finished), or has been running so far (in progress)."""
    if job.started_at is None:
        return None
    end = parse_timestamp(job.finished_at) if job.finished_at else None
    if end is None and job.status != IN_PROGRESS:
        return None
    started = parse_timestamp(job.started_at)
    return ((end or now) - started).total_seconds() * 1000


def runtime_text(job: Job, now: datetime) -> str:
    """The runtime cell: an ellipsis marks a job still running."""
    value = runtime_ms(job, now)
    if value is None:
        return "-"
    return format_ms(value) + ("…" if job.finished_at is None else "")


def clip(value: str | None, width: int) -> str:
    """``value`` cut to ``width`` characters with an ellipsis ("" for nothing)."""
    if not value:
        return ""
    return value if len(value) <= width else value[: width - 1] + "…"
