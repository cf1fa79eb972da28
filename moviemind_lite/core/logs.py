"""The structured log: JSON lines in ``<home>/logs/moviemind.log``.

Core modules log through ``logging.getLogger("moviemind....")`` and pass their
structured fields as ``extra={"fields": {...}}``; this module writes them.
Several processes append to the same file; each line is one ``write`` in
append mode, so lines do not interleave.

The log never costs a command. A file that cannot be opened or written (owned
by another user after a ``sudo`` run, a folder in its place, a full disk)
costs one warning line on stderr per process, and the command goes on; the
next records try again. The file is opened with ``O_NOFOLLOW``: a symbolic
link planted at its name is refused, never written through.

Rotation: when the log reaches :data:`LOG_MAX_BYTES` it becomes
``moviemind.log.1`` (``.1`` becomes ``.2``, and so on; :data:`LOG_BACKUPS`
old files are kept). Rotation is done under an exclusive ``flock`` on
``moviemind.log.lock``, and every append holds the same lock shared while it
checks that its open file is still the one at the log's name and writes its
line; so a process never appends to a file already rotated away (a line is
never split or lost by rotation), and appends of different processes do not
wait for each other. Readers take the shared lock while they open the
files, so they see each line exactly once.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO

from moviemind_lite.core.display import visible
from moviemind_lite.core.ids import format_epoch

ROOT_LOGGER = "moviemind"

# The JSON log needs neither the caller's file and line nor the multiprocessing
# process name: not looking them up saves a stack walk per record (the logging
# HOWTO's "Optimization" section). A job logs two lines; they were a quarter
# of its time.
logging._srcfile = None
logging.logMultiprocessing = False
LOG_MAX_BYTES = 10 * 1024 * 1024
"""The size at which the log is rotated."""
LOG_BACKUPS = 3
"""Rotated files kept: ``moviemind.log.1`` (the newest) to ``moviemind.log.3``."""

# O_NONBLOCK: a FIFO planted at the log's name must not block the open.
_APPEND_FLAGS = (
    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
)
_LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_LOCK_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC

# The request being served (HTTP API): its ids go on every line logged while
# serving it, in whichever thread the work runs (context variables follow the
# request into the thread pool).
_request_ids: ContextVar[dict[str, str] | None] = ContextVar("moviemind_request", default=None)


@contextmanager
def request_scope(request_id: str, correlation_id: str) -> Iterator[None]:
    """Tag every record logged in this context with ``request_id`` and ``correlation_id``."""
    token = _request_ids.set({"request_id": request_id, "correlation_id": correlation_id})
    try:
        yield
    finally:
        _request_ids.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, pid and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for ``record``."""
        line = {
            "at": format_epoch(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
            **(_request_ids.get() or {}),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def rotated_path(log_path: Path, number: int) -> Path:
    """The ``number``-th newest rotated file of the log (``moviemind.log.1`` is the newest)."""
    return log_path.with_name(f"{log_path.name}.{number}")


def lock_path(log_path: Path) -> Path:
    """The lock file that orders appends and rotations of the log."""
    return log_path.with_name(f"{log_path.name}.lock")


def _file_id(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


_warned_in: int | None = None
"""The process that already printed its log warning (a forked child prints its own)."""


def _warn_once(doing: str, path: Path, error: OSError) -> None:
    """One line on stderr, the first time in this process a log file fails."""
    global _warned_in
    if _warned_in == os.getpid():
        return
    _warned_in = os.getpid()
    if error.errno == errno.ELOOP:
        reason = "it is a symbolic link, which is never followed"
    elif error.errno == errno.ENOSPC:
        reason = f"the disk holding {path.parent} is full"
    else:
        reason = error.strerror or str(error)
    try:
        sys.stderr.write(f"moviemind: warning: cannot {doing} the log {path} ({reason})\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        return  # no usable stderr either (closed, or None): nothing is left to tell


class JsonLogHandler(logging.Handler):
    """Appends each record as one JSON line to a log file shared by processes, and rotates it.

    Never raises for the file: a failure to open or write it prints one
    warning per process on stderr, and the next record tries again. See the
    module docstring for the rotation and its locking.
    """

    def __init__(
        self, log_path: Path, *, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS
    ) -> None:
        super().__init__()
        # The folder's real path, but not the file's: a link at the file's name is refused.
        self.path = log_path.parent.resolve() / log_path.name
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        self.setFormatter(JsonFormatter())
        self._fd: int | None = None
        self._file: tuple[int, int] | None = None
        self._lock_fd: int | None = None
        self._pid = os.getpid()
        self._torn = False

    def emit(self, record: logging.LogRecord) -> None:
        """Append ``record``'s line; a file that fails costs a warning, never the caller."""
        try:
            line = self.format(record) + "\n"
        except Exception:
            # What logging.Handler does with a record it cannot format.
            self.handleError(record)
            return
        try:
            self._append(line.encode("utf-8", "replace"))
        except OSError as error:
            self._close_files()
            _warn_once("write", self.path, error)

    def _append(self, data: bytes) -> None:
        if self._pid != os.getpid():
            # A forked child: a flock belongs to the open file, which it shares with
            # its parent; it needs files of its own (closing its copies leaves the parent's).
            self._close_files()
            self._pid = os.getpid()
        lock = self._lock()
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            fd = self._current()
            if self._torn:
                data = b"\n" + data  # end the line a full disk cut short, or it spoils this one
            written = os.write(fd, data)
            self._torn = 0 < written < len(data)
            if written < len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            full = os.fstat(fd).st_size >= self.max_bytes
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        if full:
            self._rotate(lock)

    def _lock(self) -> int:
        if self._lock_fd is None:
            name = lock_path(self.path)
            try:
                self._lock_fd = os.open(name, _LOCK_FLAGS, 0o666)
            except PermissionError:
                # Made by another user (a sudo run): flock needs only a read descriptor.
                self._lock_fd = os.open(name, _READ_LOCK_FLAGS)
        return self._lock_fd

    def _current(self) -> int:
        """The descriptor of the file now at the log's name (reopened after a rotation)."""
        try:
            at_name: tuple[int, int] | None = _file_id(os.lstat(self.path))
        except FileNotFoundError:
            at_name = None
        if self._fd is not None and at_name == self._file:
            return self._fd
        self._close_log()
        fd = os.open(self.path, _APPEND_FLAGS, 0o666)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file")
        os.set_blocking(fd, True)
        self._fd, self._file = fd, _file_id(info)
        return fd

    def _rotate(self, lock: int) -> None:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                size = os.lstat(self.path).st_size
            except FileNotFoundError:
                return
            if size < self.max_bytes:
                return  # another process rotated it first
            for number in range(self.backups - 1, 0, -1):
                older = rotated_path(self.path, number)
                if os.path.lexists(older):
                    os.replace(older, rotated_path(self.path, number + 1))
            os.replace(self.path, rotated_path(self.path, 1))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _close_log(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = self._file = None

    def _close_files(self) -> None:
        self._close_log()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def close(self) -> None:
        """Close the log and its lock file."""
        with self.lock:  # type: ignore[union-attr]
            self._close_files()
        super().close()


def configure_logging(
    log_path: Path, *, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS
) -> None:
    """Send MovieMind's records to ``log_path`` (replacing an earlier log file).

    Never fails for the file itself: see :class:`JsonLogHandler`.
    """
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = JsonLogHandler(log_path, max_bytes=max_bytes, backups=backups)
    for other in list(logger.handlers):
        if isinstance(other, JsonLogHandler):
            if other.path == handler.path:
                return
            logger.removeHandler(other)
            other.close()
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


def _rotated_files(log_path: Path) -> list[Path]:
    """The log's rotated files present now, oldest first."""
    numbered: list[tuple[int, Path]] = []
    prefix = f"{log_path.name}."
    if log_path.parent.is_dir():
        for candidate in log_path.parent.iterdir():
            number = candidate.name.removeprefix(prefix)
            if candidate.name.startswith(prefix) and number.isdigit():
                numbered.append((int(number), candidate))
    return [path for _, path in sorted(numbered, reverse=True)]


def _open_for_reading(path: Path) -> TextIO | None:
    try:
        return path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as error:
        _warn_once("read", path, error)
        return None


@contextmanager
def _rotation_held_off(log_path: Path) -> Iterator[None]:
    """Keep writers from rotating the log during the block (if its lock file can be read)."""
    try:
        fd = os.open(lock_path(log_path), _READ_LOCK_FLAGS)
    except OSError:
        yield  # no lock file: nothing was ever written there to rotate
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _open_log_files(log_path: Path) -> tuple[list[TextIO], TextIO | None]:
    """The rotated files, oldest first, and the log itself (if present), opened together."""
    with _rotation_held_off(log_path):
        older = [stream for stream in map(_open_for_reading, _rotated_files(log_path)) if stream]
        return older, _open_for_reading(log_path)


def _moved_away(log_path: Path, stream: TextIO) -> bool:
    """Whether the log's name now names another file than ``stream`` (it was rotated)."""
    try:
        at_name = _file_id(os.stat(log_path))
    except FileNotFoundError:
        return True
    return at_name != _file_id(os.fstat(stream.fileno()))


def _newer_than(stream: TextIO, log_path: Path) -> list[TextIO]:
    """``stream`` (rotated away), then the rotated files made after it, oldest first.

    The log may have rotated several times since ``stream`` was last read;
    the files between it and the log's name now are read before the log is.
    """
    older, current = _open_log_files(log_path)
    if current is not None:
        current.close()  # opened again once these are read
    ids = [_file_id(os.fstat(other.fileno())) for other in older]
    ours = _file_id(os.fstat(stream.fileno()))
    # Not among them: it was the oldest kept and has been deleted since.
    skipped = ids.index(ours) + 1 if ours in ids else 0
    for other in older[:skipped]:
        other.close()
    return [stream, *older[skipped:]]


def read_log(
    path: Path, *, job_id: str | None = None, grep: str | None = None
) -> Iterator[dict[str, Any]]:
    """The records of the JSON log and its rotated files, oldest first, filtered by job and text."""
    older, current = _open_log_files(path)
    streams = [*older, current] if current is not None else older
    try:
        for stream in streams:
            for line in stream:
                record = _parse(line)
                if record is not None and _matches(record, job_id, grep):
                    yield record
    finally:
        for stream in streams:
            stream.close()


def _lines_following(path: Path, poll_s: float, stop: Callable[[], bool]) -> Iterator[str]:
    """Every whole line of the log, its rotated files first, then each line appended, for ever.

    ``stop`` is asked before every read. When the log is rotated, the file
    read so far is read to its end (no writer appends to a rotated file)
    before the new one is followed.
    """
    older, current = _open_log_files(path)
    pending = ""
    try:
        while not stop():
            source = older[0] if older else current
            if source is None:
                current = _open_for_reading(path)
                if current is None:
                    time.sleep(poll_s)
                continue
            chunk = source.readline()
            if chunk:
                pending += chunk
                if pending.endswith("\n"):
                    yield pending
                    pending = ""
                continue  # else a half-written line: wait for the rest
            if older:
                older.pop(0).close()
                pending = ""
            elif _moved_away(path, source):
                older, current = _newer_than(source, path), None
            else:
                time.sleep(poll_s)
    finally:
        for stream in [*older, current]:
            if stream is not None:
                stream.close()


def follow_log(
    path: Path,
    *,
    job_id: str | None = None,
    grep: str | None = None,
    poll_s: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Like :func:`read_log`, then keep yielding records as they are appended."""
    for line in _lines_following(path, poll_s, stop):
        record = _parse(line)
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
