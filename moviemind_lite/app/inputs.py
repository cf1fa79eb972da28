"""Opening a file a user names for reading: at once, or refused with one clear line.

``catalog import`` and ``movies generate --from-file`` read through
:func:`open_input`, so the same hostile inputs get the same answers:

- only a regular file is read. A FIFO, a device (``/dev/zero``), a folder or a
  socket is refused at once: the file is opened with ``O_NONBLOCK`` (so a FIFO
  with no writer does not block the open) and checked with ``fstat`` before a
  byte is read;
- a file larger than :data:`MAX_INPUT_BYTES` is refused before it is read;
- a name the file system cannot hold (over 255 bytes on most) is bad input,
  like a missing file;
- a UTF-8 byte-order mark is skipped, and line ends are left to the reader,
  so CRLF files read like LF ones.

:func:`describe_os_error` words the ``OSError`` of any file a user names, for
reading and writing alike (:mod:`moviemind_lite.app.outputs`).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TextIO

from moviemind_lite.core.errors import UnusableFile

MAX_INPUT_BYTES = 200 * 1024 * 1024
"""The largest file import and batch generation read (200 MiB, about two million catalog rows)."""

_SHOWN_CHARS = 80
_FILE_TYPES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def shown(path: Path) -> str:
    """``path`` for a one-line message: cut short when it is absurdly long."""
    text = str(path)
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[: _SHOWN_CHARS - 20]}…{text[-19:]}"


def file_type(mode: int) -> str:
    """What a file of ``mode`` is, in words (``a folder``, ``a FIFO (named pipe)``...)."""
    for test, name in _FILE_TYPES:
        if test(mode):
            return name
    return "not a regular file"


def describe_os_error(path: Path, error: OSError, doing: str) -> str:
    """One line saying why ``path`` could not be used; ``doing`` is ``read`` or ``write``."""
    code = error.errno
    if code == errno.ENAMETOOLONG:
        longest = max(len(os.fsencode(part)) for part in path.parts)
        return (
            f"file name too long: {shown(path)} "
            f"(a name of {longest} bytes; file systems allow 255 at most)"
        )
    if code == errno.ENOENT:
        if doing == "write":
            return f"cannot write {shown(path)}: no such folder {shown(path.parent)}"
        return f"no such file: {shown(path)}"
    if code == errno.EISDIR:
        return f"{shown(path)} is a folder, not a file"
    if code == errno.ENOSPC:
        return f"cannot {doing} {shown(path)}: the disk holding {shown(path.parent)} is full"
    return f"cannot {doing} {shown(path)}: {error.strerror or error}"


def _refuse_unless_regular(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UnusableFile(f"{shown(path)} is {file_type(info.st_mode)}, not a regular file")


def open_input(path: Path) -> TextIO:
    """``path`` opened as UTF-8 text (byte-order mark skipped, newlines untranslated).

    Raises :class:`UnusableFile` at once, without reading, for a missing or
    unreadable file, one that is not a regular file, one over
    :data:`MAX_INPUT_BYTES`, or a name too long for the file system.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ENXIO:
            # A socket: open() cannot say so, stat() can.
            try:
                info = os.stat(path)
            except OSError:
                info = None  # gone meanwhile: the open's own error says enough
            if info is not None:
                _refuse_unless_regular(path, info)
        raise UnusableFile(describe_os_error(path, error, "read")) from None
    try:
        info = os.fstat(fd)
        _refuse_unless_regular(path, info)
        if info.st_size > MAX_INPUT_BYTES:
            raise UnusableFile(
                f"{shown(path)} is {info.st_size / 2**20:,.0f} MiB; files of at most "
                f"{MAX_INPUT_BYTES // 2**20} MiB are read (split it into smaller files)"
            )
        os.set_blocking(fd, True)
        # utf-8-sig: spreadsheet programs and Notepad often start a file with a byte-order mark.
        return open(fd, encoding="utf-8-sig", newline="", closefd=True)
    except BaseException:
        os.close(fd)
        raise
