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
from datetime import UTC, datetime
from pathlib import Path

from moviemind_lite.ids import format_timestamp

ROOT_LOGGER = "moviemind"


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
