"""Output files (export, compare --csv): never clobbered, never the database, never half-written."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moviemind_lite.app import outputs
from moviemind_lite.app.outputs import check_output, open_output
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.core.errors import FileNotWritten, UnusableFile


def write(path: Path, settings: Settings, text: str = "new\n", *, force: bool = False) -> None:
    with open_output(path, settings, force=force) as stream:
        stream.write(text)


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".partial"))


def test_a_new_file_is_written_whole(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write(target, settings, "a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    assert leftovers(tmp_path) == []


def test_an_existing_file_is_replaced_only_with_force(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("notes\n")
    with pytest.raises(UnusableFile, match=r"out\.csv exists; use --force to replace it"):
        write(target, settings)
    assert target.read_text() == "notes\n"
    write(target, settings, force=True)
    assert target.read_text() == "new\n"


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_a_replaced_file_keeps_its_mode(settings: Settings, tmp_path: Path, mode: int) -> None:
    target = tmp_path / "private.csv"
    target.write_text("secret\n")
    target.chmod(mode)
    write(target, settings, force=True)
    assert target.stat().st_mode & 0o777 == mode
    assert target.read_text() == "new\n"


@pytest.mark.parametrize("name", ["moviemind.db", "moviemind.db-wal", "moviemind.db-shm"])
def test_the_database_files_are_never_written_whatever_the_flag(
    settings: Settings, app: object, name: str
) -> None:
    database = settings.home / "moviemind.db"
    before = database.read_bytes()
    for force in (False, True):
        with pytest.raises(UnusableFile, match="one of the home's database files"):
            write(settings.home / name, settings, force=force)
    assert database.read_bytes() == before


def test_links_to_the_database_are_refused(settings: Settings, app: object, tmp_path: Path) -> None:
    database = settings.home / "moviemind.db"
    before = database.read_bytes()
    symbolic = tmp_path / "symbolic.csv"
    symbolic.symlink_to(database)
    hard = tmp_path / "hard.csv"
    os.link(database, hard)
    for link in (symbolic, hard):
        with pytest.raises(UnusableFile, match="one of the home's database files"):
            write(link, settings, force=True)
    assert database.read_bytes() == before


def test_a_link_to_a_database_file_not_made_yet_is_refused(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "new-home")
    settings.home.mkdir()
    for name in ("moviemind.db", "moviemind.db-wal"):
        link = tmp_path / f"{name}.csv"
        link.symlink_to(settings.home / name)
        with pytest.raises(UnusableFile, match="one of the home's database files"):
            write(link, settings, force=True)
    assert list(settings.home.iterdir()) == []


def test_a_planted_symlink_at_the_temporary_name_is_never_followed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("victim\n")
    tokens = iter(["planted", "fresh"])
    monkeypatch.setattr(outputs.secrets, "token_hex", lambda _: next(tokens))
    target = tmp_path / "movies.csv"
    planted = tmp_path / ".movies.csv.planted.partial"
    planted.symlink_to(victim)
    write(target, settings)
    assert victim.read_text() == "victim\n"
    assert target.read_text() == "new\n"
    assert not target.is_symlink()
    assert planted.is_symlink()  # not ours: left alone


def test_a_symlinked_target_is_replaced_not_written_through(
    settings: Settings, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("elsewhere\n")
    target = tmp_path / "out.csv"
    target.symlink_to(elsewhere)
    with pytest.raises(UnusableFile, match="exists"):
        write(target, settings)
    write(target, settings, force=True)
    assert elsewhere.read_text() == "elsewhere\n"
    assert not target.is_symlink()
    assert target.read_text() == "new\n"


def test_a_failure_while_writing_leaves_the_target_and_no_temporary(
    settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), open_output(target, settings, force=True) as stream:
        stream.write("half")
        raise RuntimeError("the export failed")
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_full_disk_names_the_folder_and_leaves_the_target(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.os, "fsync", full)
    with pytest.raises(FileNotWritten, match=f"the disk holding {tmp_path} is full"):
        write(target, settings, force=True)
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_file_that_appears_while_writing_is_not_clobbered(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    # Let the last check pass, as if the other file appeared just after it: the
    # hard link that puts the file in place must still refuse to clobber it.
    checks = iter([None, None])
    monkeypatch.setattr(outputs, "check_output", lambda *args, **kwargs: next(checks))
    with pytest.raises(UnusableFile, match="exists"), open_output(target, settings) as stream:
        stream.write("ours\n")
        target.write_text("theirs\n")
    assert target.read_text() == "theirs\n"
    assert leftovers(tmp_path) == []


def test_only_regular_files_are_replaced(settings: Settings, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    for path, what in ((fifo, "a FIFO"), (folder, "a folder"), (Path("/dev/null"), "a character")):
        with pytest.raises(UnusableFile, match=f"is {what}"):
            check_output(path, settings, force=True)


def test_names_too_long_and_missing_folders_are_bad_input(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(UnusableFile, match=r"file name too long: .*\(a name of 304 bytes"):
        write(tmp_path / ("a" * 300 + ".csv"), settings)
    with pytest.raises(UnusableFile, match="no such folder"):
        write(tmp_path / "missing" / "out.csv", settings)


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from moviemind_lite.app.outputs import open_output
from moviemind_lite.core.config import load_settings
settings = load_settings(Path(sys.argv[1]))
with open_output(Path(sys.argv[2]), settings) as stream:
    stream.write("half")
    stream.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writers_partial_file_is_removed_by_the_next_write(
    settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "movies.csv"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(settings.home), str(target)], check=False
    )
    assert killed.returncode == -9
    (left,) = leftovers(tmp_path)
    assert left.startswith(".movies.csv.")
    # Leftovers of a live process, and names this module never gives, are not touched.
    live = tmp_path / f".other.csv.{os.getpid()}.{'a' * 16}.partial"
    foreign = tmp_path / ".movies.csv.planted.partial"
    live.write_text("")
    foreign.write_text("")
    write(tmp_path / "other.csv", settings)
    assert not target.exists()
    assert leftovers(tmp_path) == sorted([live.name, foreign.name])
