"""The README and the docs run as written, in order, in a fresh home.

Each document's command blocks run top to bottom in one shell (see
``tests/docs/shell.py``), in a new folder with no ``data/`` yet and a home
directory of its own, 80 columns wide. Every command must exit 0 and print no
traceback; a ``# prints:`` comment is checked against what it printed. What
the harness changes, and why:

- the ports 8000, 8001 and 8002 become free ports (the machine may be busy),
  and a server started with ``&`` is waited for until it listens;
- the section "Running on PostgreSQL and Redis" runs against the suite's
  servers (``MOVIEMIND_TEST_POSTGRES_URL`` / ``_REDIS_URL``, in a schema and
  key prefix of its own), so its ``export``s of the URLs name those, and
  ``make services`` / ``make services-stop`` / ``pip install`` (already done
  by the suite) are left out;
- the mock AI answers in 20 ms instead of 300 (the same texts, sooner).

Run time: about 40 s for the README on an idle 2-core machine, 15 s for its
PostgreSQL section, 15 s for docs/lab.md.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.shell import Block, Shell, command_blocks, free_port, wait_for_port
from tests.docs.warm import warm_moviemind
from tests.engines import SERVERS, scratch_servers

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SECTION = "Running on PostgreSQL and Redis"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND_TIMEOUT_S = 120

pytestmark = pytest.mark.timeout(600)


def run_blocks(
    blocks: list[Block], folder: Path, urls: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """Run the blocks in one shell in ``folder``; (where, output) for each command run."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MOVIEMIND_", "COLUMNS", "PYTEST_"))
    }
    env.update(
        HOME=str(folder),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        COLUMNS="80",
        MOVIEMIND_AI_LATENCY_MS="20",
        MOVIEMIND_AI_JITTER_MS="0",
    )
    ports = {documented: str(free_port()) for documented in ("8000", "8001", "8002")}
    with warm_moviemind(env) as client:
        env["PATH"] = f"{client}{os.pathsep}{env['PATH']}"
        return run_in_shell(blocks, folder, env, ports, urls or {})


def run_in_shell(
    blocks: list[Block],
    folder: Path,
    env: dict[str, str],
    ports: dict[str, str],
    urls: dict[str, str],
) -> list[tuple[str, str]]:
    shell = Shell(folder, env)
    ran = []
    try:
        for block in blocks:
            for command in block.commands():
                text = rewritten(command.text, ports, urls)
                if text is None:
                    continue
                started = time.monotonic()
                status, output = shell.run(text, COMMAND_TIMEOUT_S)
                if os.environ.get("DOCS_TEST_TIMES"):
                    print(f"{time.monotonic() - started:6.1f} s  {command.where}")
                context = f"{command.where}: {command.text}\n{output}"
                assert status == 0, f"exit {status} at {context}"
                assert "Traceback" not in output, context
                if command.prints is not None:
                    assert any(command.prints.search(line) for line in output.splitlines()), (
                        f"expected a line matching {command.prints.pattern!r} at {context}"
                    )
                if "moviemind serve" in text and re.search(r"&\s*(#.*)?$", text):
                    for port in re.findall(r"--port (\d+)", text):
                        wait_for_port(int(port), 60)
                ran.append((command.where, output))
    finally:
        shell.close()
    return ran


def rewritten(command: str, ports: dict[str, str], urls: dict[str, str]) -> str | None:
    """The command as the harness runs it (see the module docstring), or ``None``."""
    if re.match(r"(make services(-stop)?|\.venv/bin/pip install)\b", command):
        return None
    for name, url in urls.items():
        command = re.sub(rf"^export {name}=\S+", f"export {name}={url}", command)
    command = re.sub(r"moviemind serve(?![^&]*--port)", "moviemind serve --port 8000", command)
    return re.sub(r"\b(800[0-2])\b", lambda found: ports[found[1]], command)


def blocks_of(path: Path, *, postgres: bool) -> list[Block]:
    """The blocks to run of ``path``: the PostgreSQL section's or all the others."""
    return [
        block
        for block in command_blocks(path)
        if not block.skipped and (block.section == POSTGRES_SECTION) is postgres
    ]


def test_the_readme_runs_top_to_bottom_in_a_fresh_home(tmp_path: Path) -> None:
    ran = run_blocks(blocks_of(ROOT / "README.md", postgres=False), tmp_path / "reader")
    assert len(ran) > 60
    served = [output for where, output in ran if "blade-runner-1982" in output]
    assert served, "the HTTP example never showed blade-runner-1982"


@pytest.fixture
def servers() -> Iterator[dict[str, str]]:
    """The suite's PostgreSQL and Redis, in a schema and key prefix of their own."""
    with scratch_servers(SERVERS) as scratch:
        assert scratch.database_url is not None and scratch.locks_url is not None
        yield {
            "MOVIEMIND_DATABASE_URL": scratch.database_url,
            "MOVIEMIND_LOCKS_URL": scratch.locks_url,
        }


def test_the_readme_postgres_section_runs_on_the_suites_servers(
    tmp_path: Path, servers: dict[str, str]
) -> None:
    blocks = blocks_of(ROOT / "README.md", postgres=True)
    assert blocks, f"no command block under {POSTGRES_SECTION!r}"
    ran = run_blocks(blocks, tmp_path / "reader", servers)
    assert ran


def test_docs_lab_runs_in_a_fresh_home(tmp_path: Path) -> None:
    ran = run_blocks(blocks_of(ROOT / "docs" / "lab.md", postgres=False), tmp_path / "reader")
    assert ran


def test_every_command_block_of_the_docs_runs_or_says_why_not() -> None:
    # docs/api.md and docs/benchmarks.md only hold blocks that cannot run here (a server in
    # the foreground, minutes of benchmarks): each is marked, none is forgotten.
    for path in DOCUMENTS:
        for block in command_blocks(path):
            if path.name in ("README.md", "lab.md"):
                continue
            assert block.skipped, f"{path.name}:{block.line} is neither run nor marked skip"


def test_the_skip_marker_is_the_line_before_the_fence(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n```console\necho one\n```\n\n<!-- docs-test: skip -->\n```console\n"
        "echo two\n```\n\n## Other\n\n```bash\necho three \\\n  four  # prints: three four\n"
        "```\n\n```python\nprint('not a shell block')\n```\n",
        encoding="utf-8",
    )
    blocks = command_blocks(page)
    assert [(block.section, block.skipped) for block in blocks] == [
        ("Title", False),
        ("Title", True),
        ("Other", False),
    ]
    (joined,) = blocks[2].commands()
    assert joined.text == "echo three    four  # prints: three four"
    assert joined.prints is not None and joined.prints.search("three four")
    shell = Shell(tmp_path, dict(os.environ))
    try:
        assert shell.run("X=7; echo $X; false", 10) == (1, "7")
        assert shell.run("echo $X", 10) == (0, "7")  # state carries to the next command
    finally:
        shell.close()
