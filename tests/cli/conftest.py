"""What every CLI test shares: running the command in-process, and its one-line errors."""

from __future__ import annotations

from click.testing import CliRunner, Result

from moviemind_lite.cli import cli


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """``moviemind ARGS`` in this process, against the test's home."""
    return CliRunner().invoke(cli, list(args), input=input, env=env)


def assert_one_line_error(result: Result, code: int, text: str, *, exact: bool = False) -> None:
    """The command failed with exit ``code`` and one line, ``Error: ...`` containing ``text``.

    With ``exact``, the line is ``Error: TEXT`` and nothing else.
    """
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith("Error: ")
    if exact:
        assert result.output == f"Error: {text}\n"
    assert text in result.output
    assert "Traceback" not in result.output
