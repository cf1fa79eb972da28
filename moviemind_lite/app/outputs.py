"""Writing a file a user names (``catalog export --output``, ``compare --csv``) without clobbering.

:func:`open_output` is the one way MovieMind writes such a file:

- an existing file is replaced only with ``force``, and keeps its permission
  bits (a private 600 file stays private);
- the home's database files (``moviemind.db``, ``-wal``, ``-shm``) are never
  written, whatever ``force`` says, whether named directly or through a
  symbolic or hard link;
- only a regular file is replaced: a folder, FIFO or device is refused;
- the text goes to a temporary file created beside the target with
  ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random name, so a file or
  symbolic link planted there is never opened; it is flushed to disk and then
  renamed into place, so the target holds the old file or the whole new one.
  On any failure the temporary file is removed and the target is as it was;
- without ``force`` the temporary file is put in place with a hard link,
  which fails when the name was taken meanwhile: nothing is ever clobbered;
- a target that is a symbolic link is replaced by the new file: the link's
  destination is never written through;
- the temporary file's name carries the writer's process id, so a writer
  killed before it could clean up (``kill -9``) leaves a file the next write
  into that folder removes (:func:`sweep_leftovers`): no ``.partial`` litter
  stays for good.

Everything is checked before a byte is written (:func:`check_output`), so a
command can refuse at once, before long work, and again just before writing.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from moviemind_lite.app.home import DATABASE_FILES
from moviemind_lite.app.inputs import describe_os_error, file_type, shown
from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import FileNotWritten, UnusableFile

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS)


def _database_files(settings: Settings) -> list[Path]:
    return [settings.home / name for name in DATABASE_FILES]


def _same_file(path: Path, info: os.stat_result | None, guarded: Path) -> bool:
    if path.resolve() == guarded.resolve():
        return True
    if info is None:
        return False
    try:
        other = os.stat(guarded)
    except OSError:
        return False  # that database file does not exist, so it cannot be this one
    return (info.st_dev, info.st_ino) == (other.st_dev, other.st_ino)


def check_output(path: Path, settings: Settings, *, force: bool = False) -> int | None:
    """Raise :class:`UnusableFile` unless ``path`` may be written; the mode to keep, if any.

    Returns the permission bits of the file ``path`` names now (to give the
    new file), or ``None`` when there is no such file yet.
    """
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise UnusableFile(describe_os_error(path, error, "write")) from None
    if any(_same_file(path, info, guarded) for guarded in _database_files(settings)):
        raise UnusableFile(
            f"{shown(path)} is one of the home's database files; an export never writes over it"
        )
    if info is None:
        if not path.parent.is_dir():
            raise UnusableFile(f"cannot write {shown(path)}: no such folder {shown(path.parent)}")
        return None
    if not stat.S_ISREG(info.st_mode):
        raise UnusableFile(f"{shown(path)} is {file_type(info.st_mode)}, not a regular file")
    if not force:
        raise UnusableFile(f"{shown(path)} exists; use --force to replace it")
    return stat.S_IMODE(info.st_mode) & 0o777


# A temporary file: ".NAME.PID.RANDOM.partial" (see _create_temporary).
_LEFTOVER = re.compile(r"\..*\.(?P<pid>[0-9]+)\.[0-9a-f]{16}\.partial")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def sweep_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files of writers in ``folder`` whose process is gone; which.

    Only names of the exact form this module gives its temporary files are
    touched, and only when their process no longer runs.
    """
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry.name)
        if match is None or _alive(int(match["pid"])):
            continue
        try:
            if entry.is_file() and not entry.is_symlink():
                entry.unlink()
                removed.append(entry)
        except OSError:
            continue  # another sweeper took it, or it cannot be removed: next time
    return removed


def _create_temporary(path: Path, mode: int | None) -> tuple[int, Path]:
    # A random name, never a predictable one: O_EXCL then fails only on a
    # clash, and a planted symbolic link is never followed (O_NOFOLLOW). The
    # process id in it lets a later writer remove it if this one is killed.
    while True:
        temporary = path.with_name(
            f".{path.name[:32]}.{os.getpid()}.{secrets.token_hex(8)}.partial"
        )
        try:
            fd = os.open(temporary, _TEMP_FLAGS, 0o666 if mode is None else 0o600)
        except FileExistsError:
            continue
        if mode is not None:
            os.fchmod(fd, mode)
        return fd, temporary


def _put_in_place(temporary: Path, path: Path, force: bool) -> None:
    if force:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        raise UnusableFile(f"{shown(path)} exists; use --force to replace it") from None
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        # A file system without hard links: the check just made must do.
        os.replace(temporary, path)


@contextmanager
def open_output(path: Path, settings: Settings, *, force: bool = False) -> Iterator[TextIO]:
    """A UTF-8 text stream whose contents replace ``path`` when the block ends without error.

    ``settings`` names the home whose database files are never written.
    Raises :class:`UnusableFile` (bad input) when ``path`` may not be written
    (see :func:`check_output`) and :class:`FileNotWritten` when writing fails
    (no room left, no permission); the target is then as it was.
    """
    mode = check_output(path, settings, force=force)
    sweep_leftovers(path.parent)
    temporary: Path | None = None
    try:
        fd, temporary = _create_temporary(path, mode)
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        check_output(path, settings, force=force)
        _put_in_place(temporary, path, force)
    except OSError as error:
        raise FileNotWritten(describe_os_error(path, error, "write")) from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
