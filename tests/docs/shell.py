"""Run the command blocks of a Markdown document, in order, in one shell, as a reader would.

The blocks come from a Markdown parser (``markdown-it-py``, which rich already
depends on): every ``console``, ``bash`` or ``sh`` fence, unless the line
before it is ``<!-- docs-test: skip -->`` (a block that needs a model
download, a browser, a long-running server in the foreground or the network).
The commands of a document run one after another in one ``bash``, so that
variables, ``export``s and ``&`` background processes carry from one block to
the next, as in the reader's terminal. A comment ``# prints: TEXT`` after a
command says what it prints: its output must hold a line matching TEXT, where
``<anything>`` stands for any word.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

SKIP_MARKER = "<!-- docs-test: skip -->"
SHELL_LANGUAGES = ("console", "bash", "sh", "shell")
PRINTS = re.compile(r"#\s*prints:\s*(?P<text>.+?)\s*$")


@dataclass(frozen=True)
class Block:
    """A command block of a document: where it is, under which heading, its text."""

    path: Path
    line: int
    section: str
    text: str
    skipped: bool

    def commands(self) -> Iterator[Command]:
        """Its commands, a line ending in ``\\`` joined to the next."""
        pending: list[str] = []
        start = self.line + 1
        for offset, line in enumerate(self.text.splitlines(), start=self.line + 1):
            if not pending:
                start = offset
            if line.rstrip().endswith("\\"):
                pending.append(line.rstrip()[:-1])
                continue
            text = " ".join([*pending, line]).strip()
            pending = []
            if text:
                yield Command(self.path.name, start, text)


@dataclass(frozen=True)
class Command:
    """One command of a block, and where the document has it."""

    document: str
    line: int
    text: str

    @property
    def where(self) -> str:
        """``README.md:123``."""
        return f"{self.document}:{self.line}"

    @property
    def prints(self) -> re.Pattern[str] | None:
        """What its ``# prints:`` comment says it prints, as a pattern over one line."""
        found = PRINTS.search(self.text)
        if found is None:
            return None
        parts = re.split(r"<[^>]*>", found["text"])
        return re.compile(r"\S+".join(re.escape(part) for part in parts))


def command_blocks(path: Path) -> list[Block]:
    """Every shell block of the document at ``path``, in order, each under its heading."""
    tokens = MarkdownIt().parse(path.read_text(encoding="utf-8"))
    blocks: list[Block] = []
    section = ""
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            section = tokens[index + 1].content
        if token.type != "fence" or token.info.strip() not in SHELL_LANGUAGES:
            continue
        before = tokens[index - 1] if index else None
        skipped = (
            before is not None
            and before.type == "html_block"
            and before.content.strip().splitlines()[-1].strip() == SKIP_MARKER
        )
        assert token.map is not None
        blocks.append(Block(path, token.map[0] + 1, section, token.content, skipped))
    return blocks


class Shell:
    """One ``bash`` that runs commands in turn and says what each printed and returned.

    Its stderr goes with its stdout (the reader sees both). Everything it
    started, ``&`` processes included, is in a process group of its own,
    ended by :meth:`close`.
    """

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, command: str, timeout: float) -> tuple[int, str]:
        """Run ``command``; its exit status and what was printed until it ended."""
        assert self.process.stdin is not None
        marker = f"__docs_test_{uuid.uuid4().hex}__"
        # The echo first ends an output without a final newline (curl -s).
        self.process.stdin.write(f"{command}\n__status=$?; echo; echo {marker} $__status\n")
        self.process.stdin.flush()
        printed: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{command!r} still running after {timeout:g} s") from None
            if line is None:
                raise RuntimeError(f"the shell ended during {command!r}: {''.join(printed)}")
            if line.startswith(marker):
                return int(line.split()[1]), "".join(printed).rstrip("\n")
            printed.append(line)

    def close(self) -> None:
        """End the shell and every process it started."""
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float) -> None:
    """Wait until something listens on ``port`` (a server started with ``&``), as the
    reader does before typing the next command."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        # Polling a real process's socket: there is no event to wait on.
        time.sleep(0.1)  # polling a real server process: it sends no event
    raise TimeoutError(f"nothing listens on port {port} after {timeout:g} s")
