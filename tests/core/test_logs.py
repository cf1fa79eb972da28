"""The JSON log never costs its caller, never follows a link, and rotates without losing a line."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.core import logs
from moviemind_lite.core.logs import JsonLogHandler, follow_log, read_log, rotated_path

record_log = logging.getLogger("moviemind.test-logs")


@pytest.fixture(autouse=True)
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a process that has not warned yet."""
    monkeypatch.setattr(logs, "_warned_in", None)


@pytest.fixture
def handlers() -> Iterator[list[JsonLogHandler]]:
    """Handlers made by a test, closed after it (each one is like one process's)."""
    made: list[JsonLogHandler] = []
    yield made
    for handler in made:
        handler.close()


def handler_for(
    handlers: list[JsonLogHandler], path: Path, *, max_bytes: int = 10_000, backups: int = 3
) -> JsonLogHandler:
    handler = JsonLogHandler(path, max_bytes=max_bytes, backups=backups)
    handlers.append(handler)
    return handler


def written(
    handlers: list[JsonLogHandler], folder: Path, lines: int, *, max_bytes: int, backups: int
) -> tuple[Path, JsonLogHandler]:
    """A log in ``folder`` that was sent ``lines`` records ``line N`` (``n`` = N)."""
    path = folder / "moviemind.log"
    handler = handler_for(handlers, path, max_bytes=max_bytes, backups=backups)
    for number in range(lines):
        emit(handler, f"line {number}", n=number)
    return path, handler


def emit(handler: JsonLogHandler, message: str, **fields: object) -> None:
    handler.handle(
        record_log.makeRecord(
            record_log.name, logging.INFO, __file__, 0, message, (), None, extra={"fields": fields}
        )
    )


def messages(path: Path) -> list[str]:
    """The messages of the log and its rotated files, oldest first."""
    return [str(record["message"]) for record in read_log(path)]


def in_file(path: Path) -> list[str]:
    """The messages of this one file."""
    return [json.loads(line)["message"] for line in path.read_text().splitlines()]


# -- a log that cannot be written -----------------------------------------------------------


def test_a_folder_in_the_logs_place_costs_one_warning_line(
    tmp_path: Path, handlers: list[JsonLogHandler], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "moviemind.log"
    path.mkdir()
    handler = handler_for(handlers, path)
    for number in range(50):
        emit(handler, f"line {number}")
    assert capsys.readouterr().err == (
        f"moviemind: warning: cannot write the log {path} (Is a directory)\n"
    )


def test_a_symlink_at_the_logs_name_is_never_followed(
    tmp_path: Path, handlers: list[JsonLogHandler], capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("victim\n")
    path = tmp_path / "moviemind.log"
    path.symlink_to(victim)
    handler = handler_for(handlers, path)
    emit(handler, "a line for the victim?")
    emit(handler, "and another")
    assert victim.read_text() == "victim\n"
    assert capsys.readouterr().err == (
        f"moviemind: warning: cannot write the log {path} "
        "(it is a symbolic link, which is never followed)\n"
    )


def test_a_full_disk_costs_one_warning_and_the_log_resumes(
    tmp_path: Path,
    handlers: list[JsonLogHandler],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "moviemind.log"
    handler = handler_for(handlers, path)
    emit(handler, "before")
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(logs.os, "write", full)
    for number in range(10):
        emit(handler, f"lost {number}")
    monkeypatch.setattr(logs.os, "write", real_write)
    emit(handler, "after")
    assert messages(path) == ["before", "after"]
    assert capsys.readouterr().err == (
        f"moviemind: warning: cannot write the log {path} (the disk holding {tmp_path} is full)\n"
    )


def test_a_line_cut_short_by_a_full_disk_does_not_spoil_the_next(
    tmp_path: Path, handlers: list[JsonLogHandler], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "moviemind.log"
    handler = handler_for(handlers, path)
    real_write = os.write
    monkeypatch.setattr(logs.os, "write", lambda fd, data: real_write(fd, data[:10]))
    emit(handler, "cut short")
    monkeypatch.setattr(logs.os, "write", real_write)
    emit(handler, "whole")
    assert messages(path) == ["whole"]


# -- rotation ---------------------------------------------------------------------------


def test_the_log_rotates_keeping_a_few_files_and_reads_across_them(
    tmp_path: Path, handlers: list[JsonLogHandler]
) -> None:
    path, _ = written(handlers, tmp_path, 400, max_bytes=2_000, backups=3)
    names = {child.name for child in tmp_path.iterdir()}
    # The log itself is missing only just after a rotation, until the next line.
    assert names - {"moviemind.log"} == {
        "moviemind.log.1",
        "moviemind.log.2",
        "moviemind.log.3",
        "moviemind.log.lock",
    }
    assert all(child.stat().st_size < 2_000 + 200 for child in tmp_path.glob("moviemind.log*"))
    kept = [int(message.split()[1]) for message in messages(path)]
    # The oldest lines went with the oldest file; what is kept is whole and in order.
    assert kept == list(range(kept[0], 400))
    assert kept[0] > 0


def two_writers(
    handlers: list[JsonLogHandler], folder: Path
) -> tuple[Path, JsonLogHandler, JsonLogHandler]:
    """A log and two writers of it, as two processes would have."""
    path = folder / "moviemind.log"
    return (
        path,
        handler_for(handlers, path, max_bytes=500),
        handler_for(handlers, path, max_bytes=500),
    )


def rotate(handler: JsonLogHandler) -> None:
    """Write through ``handler`` until it rotates the log."""
    while not rotated_path(handler.path, 1).exists():
        emit(handler, "first")


def test_a_writer_whose_file_was_rotated_by_another_writes_to_the_new_one(
    tmp_path: Path, handlers: list[JsonLogHandler]
) -> None:
    path, first, second = two_writers(handlers, tmp_path)
    emit(second, "second, before")  # second now holds the file open
    rotate(first)
    emit(second, "second, after the rotation")
    assert in_file(rotated_path(path, 1))[0] == "second, before"
    assert in_file(path) == ["second, after the rotation"]


def test_a_rotation_already_done_by_another_writer_is_not_done_twice(
    tmp_path: Path, handlers: list[JsonLogHandler]
) -> None:
    path, first, second = two_writers(handlers, tmp_path)
    rotate(first)
    rotated = rotated_path(path, 1).read_bytes()
    emit(first, "in the new file")
    # second saw the file full before first rotated it, and rotates now.
    second._rotate(second._lock())
    assert rotated_path(path, 1).read_bytes() == rotated
    assert not rotated_path(path, 2).exists()
    assert in_file(path) == ["in the new file"]


WRITER = """
import logging, sys
from pathlib import Path
from moviemind_lite.core.logs import configure_logging
configure_logging(Path(sys.argv[1]), max_bytes=3_000, backups=10_000)
writer = logging.getLogger("moviemind.writer")
for number in range(int(sys.argv[3])):
    writer.info("line", extra={"fields": {"writer": sys.argv[2], "n": number}})
"""


def test_several_processes_append_and_rotate_without_losing_a_line(tmp_path: Path) -> None:
    path = tmp_path / "moviemind.log"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(writer), "300"])
        for writer in range(4)
    ]
    assert [writer.wait(60) for writer in writers] == [0, 0, 0, 0]
    records = list(read_log(path))
    assert len(list(tmp_path.glob("moviemind.log.*"))) > 10  # it did rotate, many times
    for writer in range(4):
        assert [r["n"] for r in records if r["writer"] == str(writer)] == list(range(300))


def test_follow_reads_the_rotated_files_then_follows_across_a_rotation(
    tmp_path: Path, handlers: list[JsonLogHandler]
) -> None:
    path, handler = written(handlers, tmp_path, 30, max_bytes=1_000, backups=100)
    wanted = 90
    seen: list[int] = []
    follower = follow_log(path, poll_s=0, stop=lambda: len(seen) >= wanted)
    for record in follower:
        seen.append(int(record["n"]))
        if len(seen) == 30:
            for number in range(30, wanted):  # rotates several times while followed
                emit(handler, f"line {number}", n=number)
    assert seen == list(range(wanted))
    assert len(list(tmp_path.glob("moviemind.log.*"))) > 5


def blocked_flock_waiters(lock_file: Path) -> int:
    """Processes or threads waiting for a flock on ``lock_file`` (Linux's /proc/locks)."""
    inode = lock_file.stat().st_ino
    lines = Path("/proc/locks").read_text().splitlines()
    return sum(
        1
        for line in lines
        if "->" in line and "FLOCK" in line and line.split()[6].endswith(f":{inode}")
    )


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_an_append_waits_while_the_log_is_being_rotated(
    tmp_path: Path, handlers: list[JsonLogHandler]
) -> None:
    path = tmp_path / "moviemind.log"
    handler = handler_for(handlers, path)
    emit(handler, "first")  # makes the lock file
    rotator = os.open(logs.lock_path(path), os.O_RDWR)
    fcntl.flock(rotator, fcntl.LOCK_EX)  # as a rotating process holds it
    appending = threading.Thread(target=emit, args=(handler, "second"))
    appending.start()
    try:
        # The wait is seen in /proc/locks; an append that takes no lock ends instead.
        while blocked_flock_waiters(logs.lock_path(path)) == 0:
            assert appending.is_alive(), "the append did not wait for the lock"
            appending.join(0.01)
        assert in_file(path) == ["first"]
    finally:
        os.close(rotator)
    appending.join()
    assert in_file(path) == ["first", "second"]
