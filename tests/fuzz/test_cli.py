"""Every command and option of ``moviemind``, fed hostile values by hypothesis.

The command tree is walked as ``tests/cli/test_entities.py`` does; each leaf
command gets its own derandomized hypothesis test. A case draws the
command's arguments and some of its options, each value from a strategy for
its kind (text, number, choice, path, flag), sometimes a ``--home`` and
``MOVIEMIND_*`` variables, runs the command in this process and checks the
invariants of :func:`tests.fuzz.conftest.assert_clean_run`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moviemind_lite.cli import cli
from moviemind_lite.cli.base import Number
from moviemind_lite.core.domain import CONTEXT_TAGS, LOCALES
from moviemind_lite.lab.teaching import LESSONS
from moviemind_lite.pipeline.strategies import STRATEGIES
from moviemind_lite.policy.flag_registry import FLAGS
from tests.cli.conftest import run
from tests.fuzz.conftest import FUZZ_SETTINGS, run_case
from tests.hostile import ESCAPE_SLUG, MARKUP_TITLES, PERSON_SLUG

# Commands that must leave the database as it was, whatever their input.
READ_ONLY = {
    ("movies", "list"),
    ("people", "list"),
    ("movies", "texts"),
    ("people", "texts"),
    ("jobs", "list"),
    ("jobs", "show"),
    ("jobs", "wait"),
    ("stats",),
    ("logs",),
    ("flags", "list"),
    ("flags", "show"),
    ("lab", "list"),
    ("lab", "run"),
    ("ai", "check"),
    ("catalog", "export"),
    ("race",),
    ("compare",),
    ("demo",),
    ("tui",),
}

# -- hostile values ----------------------------------------------------------------------------

HOSTILE_TEXT = (
    "",
    " ",
    "-",
    "--",
    "[/]",
    "[bold]x[/bold]",
    "Metropolis [restored]",
    "[link=file:///etc/passwd]harmless[/link]",
    "\x1b]0;PWNED\x07",
    "\x1b[2J\x1b[31mred",
    "\x9b31m",
    "\u202eevil",
    "a\x00b",
    "\r\n\b\x7f",
    "'; DROP TABLE movies; --",
    '" OR 1=1 --',
    "%",
    "_",
    "\\",
    "%_\\%",
    "../../etc/passwd",
    "/etc/passwd",
    "C:\\Windows",
    "\ufeffbom",
    "Żółw 映画 🎬",
    "x" * 300,
    "a" * 100_000,
    "slug:the-matrix-1999",
    "user:42",
    "5,25,100",
    "spread:50",
    "linear:5",
    "random:0-5",
)
HOSTILE_NUMBERS = (
    "nan",
    "NaN",
    "inf",
    "-inf",
    "+inf",
    "1e309",
    "-1e309",
    "1e23",
    "99999999999999999999999",
    "-1",
    "-0",
    "1.5",
    "0x10",
    "1_000",
    "1e3",
    "٣",
    "",
)
# Numbers every numeric option refuses: not finite, past every range, or negative.
ABSURD = {"nan", "NaN", "inf", "-inf", "+inf", "1e309", "-1e309", "1e23", "-1"}
ABSURD.add("99999999999999999999999")
PLAUSIBLE = (
    *MARKUP_TITLES,
    ESCAPE_SLUG,
    PERSON_SLUG,
    "the-matrix-1999",
    "keanu-reeves",
    "inception-2010",
    "a-new-film-2001",
    *LOCALES,
    *CONTEXT_TAGS,
    *FLAGS,
    *STRATEGIES,
    *LESSONS,
    "all",
    "on",
    "off",
    "burst",
    "01a23249-7ab9-741d-a145-f27f37c00c50",
)

texts = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(PLAUSIBLE),
    st.text(max_size=30),
    st.text(alphabet="[]/\\%_'\"\x1b\x07\x9b\u202e\r\n\t\x00;:-=", max_size=12),
)
# Numbers are hostile or small: a valid but huge duration would only make a case slow.
numbers = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(HOSTILE_NUMBERS[:10]),  # the non-finite and absurd ones, twice as often
    st.integers(0, 20).map(str),
    st.floats(0, 3, allow_nan=False).map(repr),
    st.sampled_from(HOSTILE_TEXT[:12]),
)
# Paths stay relative and climb at most one level: the working folder is deep in tmp.
paths = st.one_of(
    st.sampled_from(["", ".", "..", "a-file", "missing.csv", "../out.csv", "x/y/z.json", "-"]),
    st.sampled_from(HOSTILE_TEXT[:16]).map(lambda text: text.lstrip("/") or "empty"),
    st.text(alphabet="abc.-_ \x1b[]", min_size=1, max_size=10).map(lambda text: f"f-{text}"),
)
homes = st.sampled_from(["", " ", "a-file", "new-home", "x\x1b[2Jy", "a\x00b", "-"])
ENV_KNOBS = (
    "MOVIEMIND_AI_LATENCY_MS",
    "MOVIEMIND_AI_FAIL_RATE",
    "MOVIEMIND_AI_SEED",
    "MOVIEMIND_AI_TIMEOUT_S",
    "MOVIEMIND_JOB_LEASE_MS",
    "MOVIEMIND_JOB_MAX_ATTEMPTS",
    "MOVIEMIND_JOB_BACKOFF_MS",
    "MOVIEMIND_SLOT_TTL_MS",
    "MOVIEMIND_BREAKER_THRESHOLD",
    "MOVIEMIND_BUSY_TIMEOUT_MS",
    "MOVIEMIND_LOCALE",
    "MOVIEMIND_ENV",
    "MOVIEMIND_STRATEGY",
    "MOVIEMIND_FLAG_AI_DESCRIPTION_GENERATION",
)
environments = st.one_of(
    st.just({}),
    st.dictionaries(
        st.sampled_from(ENV_KNOBS),
        # An environment cannot hold a NUL byte (the OS refuses it before moviemind runs).
        st.one_of(numbers, texts).map(lambda value: value.replace("\x00", "")),
        max_size=2,
    ),
)


def leaf_commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            found.extend(leaf_commands(command, (*prefix, name)))
        else:
            found.append(((*prefix, name), command))
    return found


LEAVES = leaf_commands(cli)


def values_for(param: click.Parameter) -> st.SearchStrategy[str]:
    """Hostile (and some plausible) text for one parameter, by the kind of value it takes."""
    kind = param.type
    if isinstance(kind, Number | click.types.IntParamType | click.types.FloatParamType):
        return numbers
    if isinstance(kind, click.Choice):
        return st.one_of(st.sampled_from([str(choice) for choice in kind.choices]), texts)
    if isinstance(kind, click.Path):
        return paths
    return texts


@st.composite
def invocations(draw: st.DrawFn, path: tuple[str, ...], command: click.Command) -> list[str]:
    """The words after ``moviemind`` for one run of ``command``."""
    words: list[str] = []
    if draw(st.integers(0, 9)) == 0:
        words += ["--home", draw(homes)]
    words += list(path)
    arguments: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument):
            if param.required or draw(st.booleans()):
                arguments.append(draw(values_for(param)))
            continue
        assert isinstance(param, click.Option)
        if param.is_flag:
            choice = draw(st.integers(0, 3))
            if choice == 1 or (choice == 2 and not param.secondary_opts):
                words.append(param.opts[0])
            elif choice == 2:
                words.append(param.secondary_opts[0])
            continue
        if param.required or draw(st.integers(0, 3)) == 0:
            words += [param.opts[0], draw(values_for(param))]
    if path == ("worker",) and "--once" not in words:
        words.append("--once")  # a worker without it waits for jobs forever
    # "--" keeps a value such as "--help" or "-x" an argument, as a shell user would write it.
    words = [*words, "--", *arguments] if arguments else words
    # A process's arguments cannot hold a NUL byte (execve takes C strings).
    return [word.replace("\x00", "") for word in words]


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_hostile_values_for_every_option(
    fuzz_home: Path, path: tuple[str, ...], command: click.Command
) -> None:
    @FUZZ_SETTINGS
    @given(args=invocations(path, command), env=environments)
    def case(args: list[str], env: dict[str, str]) -> None:
        run_case(
            fuzz_home,
            args,
            env=env,
            read_only=path in READ_ONLY,
            tally=" ".join(path),
            verbatim_stdout=path == ("catalog", "export"),
        )

    case()


# -- one hostile value in an otherwise valid command -----------------------------------------

MOVIES_CSV = "slug,title,year\nfuzz-film-2001,Fuzz [Film],2001\n"


def valid_values(path: tuple[str, ...], job_id: str) -> dict[str, str]:
    """A value each required parameter accepts, by its name (for this command)."""
    return {
        "slug": "keanu-reeves" if path[0] == "people" else "the-matrix-1999",
        "job_id": job_id,
        "name": "thundering-herd" if path == ("lab", "run") else "ai_bio_generation",
        "flag": "ai_bio_generation",
        "scope": "slug:the-matrix-1999",
        "state": "on",
        "stages": "5,25,100",
        "strategy": "two-level",
        "file": "movies.csv",
        "path": "slugs.txt",
    }


@st.composite
def one_hostile(
    draw: st.DrawFn, path: tuple[str, ...], command: click.Command, job_id: str
) -> tuple[list[str], click.Parameter, str]:
    """A valid run of ``command`` with one argument or option given a hostile value."""
    slots = [param for param in command.params if not getattr(param, "is_flag", False)]
    target = draw(st.sampled_from(slots))
    hostile = draw(values_for(target)).replace("\x00", "")
    valid = valid_values(path, job_id)
    words, arguments = list(path), []
    for param in command.params:
        if param is target:
            value = hostile
        elif param.required:
            assert param.name is not None
            value = valid[param.name]
        else:
            continue
        if isinstance(param, click.Argument):
            arguments.append(value)
        else:
            assert isinstance(param, click.Option)
            words += [param.opts[0], value]
    if path == ("worker",):
        words.append("--once")
    return [*words, "--", *arguments], target, hostile


FUZZED_ALONE = [(path, command) for path, command in LEAVES if any(
    not getattr(param, "is_flag", False) for param in command.params
)]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "command"), FUZZED_ALONE, ids=[" ".join(p) for p, _ in FUZZED_ALONE]
)
def test_one_hostile_value_in_a_valid_command(
    fuzz_home: Path, path: tuple[str, ...], command: click.Command
) -> None:
    Path("movies.csv").write_text(MOVIES_CSV)
    Path("slugs.txt").write_text("fuzz-slug-film-2001\nthe-matrix-1999\n")
    shown = run("movies", "show", "a-done-job-2001", "--json")
    job_id = str(json.loads(shown.stdout)["job_id"])

    @FUZZ_SETTINGS
    @given(drawn=one_hostile(path, command, job_id))
    def case(drawn: tuple[list[str], click.Parameter, str]) -> None:
        args, target, hostile = drawn
        result = run_case(
            fuzz_home,
            args,
            read_only=path in READ_ONLY,
            tally=" ".join(path) + " (one hostile value)",
            verbatim_stdout=path == ("catalog", "export"),
        )
        if values_for(target) is numbers and hostile in ABSURD:
            assert result.exit_code == 2, f"{target.name} took {hostile!r}: {args}"

    case()
