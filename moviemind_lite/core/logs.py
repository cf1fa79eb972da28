"""The structured log: JSON lines in ``<home>/logs/moviemind.log``.

Core modules log through ``logging.getLogger("moviemind....")`` and pass their
structured fields as ``extra={"fields": {...}}``; this module writes them.
Several processes append to the same file; each line is one ``write`` in
append mode, so lines do not interleave.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moviemind_lite.core.display import visible
from moviemind_lite.core.ids import format_timestamp

ROOT_LOGGER = "moviemind"
PHASES_LOGGER = "moviemind.phases"

# Phase records are for whoever listens (the lab's timelines), not for the log
# file: they stay out of the root logger's handlers, and cost one level check
# when nobody listens.
_phases = logging.getLogger(PHASES_LOGGER)
_phases.propagate = False
if _phases.level == logging.NOTSET:
    _phases.setLevel(logging.WARNING)


def announce_phase(job_id: str, phase: str) -> None:
    """Record that job ``job_id`` enters ``phase`` (waiting, generating, persisting, ...).

    The record goes to the ``moviemind.phases`` logger at DEBUG level, with
    ``job_id`` and ``phase`` as attributes; nothing is built unless a
    listener lowered that logger's level (:func:`listening_to_phases`).
    """
    if _phases.isEnabledFor(logging.DEBUG):
        _phases.debug(phase, extra={"job_id": job_id, "phase": phase})


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, pid and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for ``record``."""
        line = {
            "at": format_timestamp(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


_listeners = 0
_listeners_lock = threading.Lock()


@contextmanager
def listening_to_phases(handler: logging.Handler) -> Iterator[None]:
    """Send every phase announcement to ``handler`` for the block (see :func:`announce_phase`).

    The handler gets each record in the thread that announced it; the record
    carries ``job_id`` and ``phase`` attributes and ``created`` is when.
    """
    global _listeners
    with _listeners_lock:
        _listeners += 1
        _phases.addHandler(handler)
        _phases.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        with _listeners_lock:
            _listeners -= 1
            _phases.removeHandler(handler)
            if _listeners == 0:
                _phases.setLevel(logging.WARNING)


def configure_logging(log_path: Path) -> None:
    """Send MovieMind's records to ``log_path`` (replacing an earlier log file)."""
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    target = os.fspath(log_path.resolve())
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            if handler.baseFilename == target:
                return
            logger.removeHandler(handler)
            handler.close()
    handler = logging.FileHandler(target, encoding="utf-8", delay=True)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)


def _matches(record: dict[str, Any], job_id: str | None, grep: str | None) -> bool:
    if job_id is not None and record.get("job_id") != job_id:
        return False
    return grep is None or grep.lower() in json.dumps(record, ensure_ascii=False).lower()


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        # A line cut short by a crash, or not one of ours (nested past what the
        # parser can follow): skip it rather than stop reading.
        return None
    return record if isinstance(record, dict) else None


def read_log(
    path: Path, *, job_id: str | None = None, grep: str | None = None
) -> Iterator[dict[str, Any]]:
    """The records of the JSON log, oldest first, filtered by job id and text."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            record = _parse(line)
            if record is not None and _matches(record, job_id, grep):
                yield record


def follow_log(
    path: Path,
    *,
    job_id: str | None = None,
    grep: str | None = None,
    poll_s: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Like :func:`read_log`, then keep yielding records as they are appended."""
    while not path.exists():
        if stop():
            return
        time.sleep(poll_s)
    with path.open(encoding="utf-8", errors="replace") as lines:
        pending = ""
        while not stop():
            chunk = lines.readline()
            if not chunk:
                time.sleep(poll_s)
                continue
            pending += chunk
            if not pending.endswith("\n"):
                continue  # half-written line: wait for the rest
            record = _parse(pending)
            pending = ""
            if record is not None and _matches(record, job_id, grep):
                yield record


_SKIPPED = {"at", "level", "logger", "message", "pid"}


def format_record(record: dict[str, Any]) -> str:
    """One human-readable line: time, level, message, then the non-empty fields.

    Whatever the log holds (a title, an error, a hand-edited line), the line
    is shown as data: control characters spelled out (:func:`visible`).
    """
    at = str(record.get("at", ""))[11:23]
    fields = " ".join(
        f"{key}={value}"
        for key, value in record.items()
        if key not in _SKIPPED and value not in (None, "")
    )
    level = str(record.get("level", ""))
    return visible(f"{at} {level:<7} {record.get('message', '')}  {fields}".rstrip())
