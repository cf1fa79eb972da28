"""Peers: the lab's race on Huey, beside MovieMind Lite's two-level strategy.

    .venv/bin/python benchmarks/peers.py                # four workloads, once each side
    .venv/bin/python benchmarks/peers.py --quick        # a quarter of the requests and slugs
    .venv/bin/python benchmarks/peers.py --repeat 3     # medians of three runs each
    .venv/bin/python benchmarks/peers.py --markdown     # also print the docs/benchmarks.md section
    .venv/bin/python benchmarks/peers.py --write-docs   # and rewrite it there

Huey (https://huey.readthedocs.io, a small Python task queue) is not a
dependency of MovieMind Lite. The first run creates its own environment,
``benchmarks/.peers-venv`` (ignored by git), with the pinned Huey, as

    python3 -m venv benchmarks/.peers-venv
    benchmarks/.peers-venv/bin/pip install huey==3.5.4

and reuses it afterwards; ``--huey-python PATH`` names another interpreter
that has that Huey instead.

Each workload is one race: ``requests`` requests for ``slugs`` unknown
slugs, released together, ``workers`` job threads, an AI call of
``latency`` ms (a sleep, no jitter) per generation, and the rule "one movie
and one description per slug, ideally one AI call". The sides run one after
the other, alternating, in the same run:

- **two-level**: the lab's own race (what ``moviemind race --strategy
  two-level`` runs): the production request path, dispatch, ``JobRunner``
  and job body over a scratch home, in this process.
- **Huey**: ``benchmarks/huey_race.py`` under the Huey interpreter, in a
  child process: a ``SqliteHuey`` with an in-process consumer of
  ``workers`` threads; each request answers from the stored description, or
  takes the slug's in-flight slot with ``huey.put_if_empty`` and enqueues
  the slug's task under a task id derived from the slug, or joins that task,
  and waits with ``Result.get(blocking=True, preserve=True)``; the task looks
  up, calls the AI and writes under UNIQUE indexes. That file's docstring
  says why this is the way a Huey user would keep the rule.

Each side's wall time runs from the release of the requests to the last
answer; its CPU time covers its whole race (scratch setup included), so CPU
per request is an upper bound. Each side counts its AI calls and checks its
outcome (one movie and one description per slug, no failure, every request
answered) before its wall time is trusted. Nothing touches the user's home.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import environment, paragraph  # benchmarks/pipeline.py, beside this script
from rich import box
from rich.console import Console
from rich.table import Table

from moviemind_lite.lab.race import MAX_CLIENTS, run_race
from moviemind_lite.lab.scenario import Scenario

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "benchmarks.md"
HEADING = "## Peers: Huey"
HUEY_VERSION = "3.5.4"
HUEY_VENV = HERE / ".peers-venv"
HUEY_RACE = HERE / "huey_race.py"
TARGET = 5.0
# Huey's polling, tightened for --tight-polling: the consumer looks at an empty
# queue every 5 to 50 ms instead of 100 ms to 10 s, a waiting request at most
# every 50 ms instead of 1 s (its first look is 50 ms in, whatever is asked).
TIGHT_POLLING = ("--consumer-delay", "0.005", "--consumer-max-delay", "0.05")
TIGHT_POLLING += ("--result-max-delay", "0.05")


@dataclass(frozen=True)
class Workload:
    """One race, run on both sides: who asks for what, how fast the AI answers."""

    name: str
    requests: int
    slugs: int
    workers: int
    latency_ms: float
    shows: str

    def scenario(self) -> Scenario:
        """The lab's scenario for it (bursts, no jitter)."""
        return Scenario(
            requests=self.requests,
            slugs=self.slugs,
            workers=self.workers,
            latency_ms=self.latency_ms,
            jitter_ms=0,
        )

    def quick(self) -> Workload:
        """A quarter of the requests and slugs, same workers and AI."""
        return Workload(
            self.name,
            max(1, self.requests // 4),
            max(1, self.slugs // 4),
            self.workers,
            self.latency_ms,
            self.shows,
        )

    @property
    def ideal_ms(self) -> float:
        """The AI calls alone: one per slug, ``workers`` at a time."""
        return math.ceil(self.slugs / self.workers) * self.latency_ms

    @property
    def label(self) -> str:
        """``1000 / 100 / 8 / 50 ms``: requests / slugs / workers / AI latency."""
        return f"{self.requests} / {self.slugs} / {self.workers} / {self.latency_ms:g} ms"

    @property
    def compact_label(self) -> str:
        """``1000/100/8/50ms``, for a narrow column."""
        return f"{self.requests}/{self.slugs}/{self.workers}/{self.latency_ms:g}ms"


WORKLOADS = (
    Workload(
        "hot set",
        1000,
        100,
        8,
        50,
        "ten requests per slug: most requests join a job on its way, the AI sets the pace",
    ),
    Workload(
        "all distinct",
        1000,
        1000,
        16,
        20,
        "every request is a job of its own: what a whole job costs, queue and writes",
    ),
    Workload(
        "thundering herd",
        500,
        1,
        8,
        100,
        "one slug, one AI call, every other request waiting for it: how fast a crowd "
        "joins a job and hears that it ended",
    ),
    Workload(
        "many workers, short AI",
        2000,
        200,
        32,
        10,
        "the AI is quick and many workers contend: the machinery's own overhead",
    ),
)


@dataclass(frozen=True)
class Side:
    """One side's runs of one workload: medians, the AI calls and verdicts seen."""

    wall_ms: float
    cpu_ms: float
    ai_calls: tuple[int, ...]
    verdicts: tuple[str, ...]

    @property
    def correct(self) -> bool:
        """Every run ended correct."""
        return self.verdicts == ("correct",)

    def calls_text(self) -> str:
        """The AI calls: one number, or the lowest and highest of the runs."""
        low, high = min(self.ai_calls), max(self.ai_calls)
        return f"{low}" if low == high else f"{low}-{high}"

    def verdict_text(self) -> str:
        """``correct``, or every distinct verdict of the runs."""
        return " / ".join(self.verdicts)


@dataclass(frozen=True)
class Row:
    """One workload, both sides."""

    workload: Workload
    two_level: Side
    huey: Side

    @property
    def ratio(self) -> float:
        """Huey's wall time over two-level's: how many times faster two-level was."""
        return self.huey.wall_ms / self.two_level.wall_ms

    @property
    def meets_target(self) -> bool:
        """Two-level at least TARGET times faster, both sides correct."""
        return self.ratio >= TARGET and self.two_level.correct and self.huey.correct

    def cpu_per_request_ms(self, side: Side) -> float:
        """That side's CPU time per request."""
        return side.cpu_ms / self.workload.requests


def huey_python(console: Console) -> Path:
    """The Huey environment's interpreter, creating the environment on first use."""
    python = HUEY_VENV / "bin" / "python"
    if has_huey(python):
        return python
    console.print(f"[dim]creating {HUEY_VENV} with huey=={HUEY_VERSION} (once)…[/]")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(HUEY_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"huey=={HUEY_VERSION}"], check=True
    )
    if not has_huey(python):
        raise SystemExit(f"{python} still has no huey {HUEY_VERSION}")
    return python


def has_huey(python: Path) -> bool:
    """Whether ``python`` imports the pinned Huey."""
    if not python.exists():
        return False
    found = subprocess.run(
        [str(python), "-c", "import huey; print(huey.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.returncode == 0 and found.stdout.strip() == HUEY_VERSION


def run_two_level(workload: Workload) -> tuple[float, float, int, str]:
    """The lab's race under two-level: wall ms, CPU ms, AI calls, verdict."""
    started = time.process_time()
    metrics = run_race(workload.scenario(), "two-level").metrics
    cpu_ms = (time.process_time() - started) * 1000
    return metrics.wall_ms, cpu_ms, metrics.ai_calls, metrics.verdict


def run_huey(python: Path, workload: Workload, tight: bool) -> tuple[float, float, int, str]:
    """The same race on Huey, in a child process: wall ms, CPU ms, AI calls, verdict."""
    command = [
        str(python),
        str(HUEY_RACE),
        "--requests",
        str(workload.requests),
        "--slugs",
        str(workload.slugs),
        "--workers",
        str(workload.workers),
        "--latency",
        f"{workload.latency_ms:g}",
        "--clients",
        str(MAX_CLIENTS),
        *(TIGHT_POLLING if tight else ()),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"the Huey race failed ({' '.join(command)}):\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report["wall_ms"], report["cpu_ms"], report["ai_calls"], report["verdict"]


def side(runs: list[tuple[float, float, int, str]]) -> Side:
    """Medians of one side's runs."""
    return Side(
        wall_ms=statistics.median(run[0] for run in runs),
        cpu_ms=statistics.median(run[1] for run in runs),
        ai_calls=tuple(run[2] for run in runs),
        verdicts=tuple(sorted({run[3] for run in runs})),
    )


def measure(
    workloads: list[Workload], python: Path, repeat: int, tight: bool, console: Console
) -> list[Row]:
    """Each workload on both sides, ``repeat`` times, the sides taking turns to go first."""
    rows = []
    for workload in workloads:
        ours: list[tuple[float, float, int, str]] = []
        theirs: list[tuple[float, float, int, str]] = []
        for attempt in range(repeat):
            console.print(f"[dim]{workload.name} ({workload.label}), run {attempt + 1}…[/]")
            if attempt % 2 == 0:
                ours.append(run_two_level(workload))
                theirs.append(run_huey(python, workload, tight))
            else:
                theirs.append(run_huey(python, workload, tight))
                ours.append(run_two_level(workload))
        rows.append(Row(workload, side(ours), side(theirs)))
    return rows


def table(rows: list[Row]) -> Table:
    """One row per workload: both walls, the ratio, both AI-call counts, both verdicts."""
    result = Table(
        title="Peers: Huey beside two-level",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    result.add_column("workload\nN/K/W/L", justify="left", min_width=17)
    for column in ("ideal\nms", "two-level\nwall ms", "Huey\nwall ms", "ratio\nHuey/2L"):
        result.add_column(column, justify="right")
    result.add_column("AI calls\n2L/Huey", justify="right")
    result.add_column("correct\n2L/Huey", justify="left")
    for row in rows:
        result.add_row(
            f"{row.workload.name}\n{row.workload.compact_label}",
            f"{row.workload.ideal_ms:,.0f}",
            f"{row.two_level.wall_ms:,.0f}",
            f"{row.huey.wall_ms:,.0f}",
            f"{row.ratio:.2f}x",
            f"{row.two_level.calls_text()}/{row.huey.calls_text()}",
            f"{yes_no(row.two_level.correct)}/{yes_no(row.huey.correct)}",
        )
    return result


def yes_no(correct: bool) -> str:
    """``yes`` for a correct side, a red ``NO`` otherwise."""
    return "yes" if correct else "[red]NO[/]"


def verdict_lines(rows: list[Row]) -> list[str]:
    """What went wrong, for each side that was not correct."""
    return [
        f"{row.workload.name}: {name} {outcome.verdict_text()}"
        for row in rows
        for name, outcome in (("two-level", row.two_level), ("Huey", row.huey))
        if not outcome.correct
    ]


def cost_table(rows: list[Row]) -> Table:
    """CPU time per request on each side (the whole race's CPU time over its requests)."""
    result = Table(title="CPU ms per request", title_justify="left", box=box.SIMPLE_HEAD)
    for number, column in enumerate(("workload", "two-level", "Huey")):
        result.add_column(column, justify="left" if number == 0 else "right")
    for row in rows:
        result.add_row(
            row.workload.name,
            f"{row.cpu_per_request_ms(row.two_level):.2f}",
            f"{row.cpu_per_request_ms(row.huey):.2f}",
        )
    return result


def target_line(rows: list[Row]) -> str:
    """Whether two-level is at least TARGET times faster on every workload, said plainly."""
    met = [row for row in rows if row.meets_target]
    missed = [row for row in rows if not row.meets_target]
    if not missed:
        return f"two-level is at least {TARGET:g}x faster than Huey on all {len(rows)} workloads."
    return (
        f"two-level is at least {TARGET:g}x faster than Huey on {len(met)} of {len(rows)} "
        "workloads; not on "
        + ", ".join(f"{row.workload.name} ({row.ratio:.2f}x)" for row in missed)
        + "."
    )


def huey_environment(tight: bool) -> str:
    """Huey's version and polling, for the environment line."""
    polling = "tightened polling (--tight-polling)" if tight else "Huey's default polling"
    return f"Huey {HUEY_VERSION} (SqliteHuey, thread consumer in-process), {polling}"


def docs_section(rows: list[Row], args: argparse.Namespace) -> str:
    """The markdown of this benchmark's section, numbers and reading included."""
    options = " ".join(
        word
        for word, wanted in (
            ("--quick", args.quick),
            (f"--repeat {args.repeat}", args.repeat > 1),
            ("--tight-polling", args.tight_polling),
        )
        if wanted
    )
    runs = f"medians of {args.repeat} runs" if args.repeat > 1 else "one run"
    lines = [
        HEADING,
        "",
        "```console",
        ".venv/bin/python benchmarks/peers.py                # four workloads, once each side",
        ".venv/bin/python benchmarks/peers.py --quick        # a quarter of the requests",
        ".venv/bin/python benchmarks/peers.py --repeat 3     # medians of three runs",
        ".venv/bin/python benchmarks/peers.py --write-docs   # and rewrite this section",
        "```",
        "",
        *paragraph(
            "The lab's race run by [Huey](https://huey.readthedocs.io), a small Python "
            "task queue, beside MovieMind Lite's `two-level` strategy. Huey is not a "
            "dependency of the project: the first run creates `benchmarks/.peers-venv` "
            "(ignored by git) as `python3 -m venv benchmarks/.peers-venv && "
            f"benchmarks/.peers-venv/bin/pip install huey=={HUEY_VERSION}`, and the Huey "
            "side runs there, in a child process (`--huey-python PATH` names another "
            "interpreter)."
        ),
        *paragraph(
            "Each workload is one race: N requests for K unknown slugs released together, "
            "W job threads, an AI call of L ms (a sleep, no jitter) per generation, and the "
            "rule one movie and one description per slug, ideally one AI call. "
            "**two-level** is the lab's own run (`moviemind race --strategy two-level "
            "--requests N --slugs K --workers W --latency L --jitter 0`): the production "
            "request path, dispatch, runner and job body over a scratch home. **Huey** is "
            f"`benchmarks/huey_race.py`: the same crowd (up to {MAX_CLIENTS} client threads, "
            f"request i on thread i mod {MAX_CLIENTS}) against a `SqliteHuey` whose consumer "
            "runs W worker "
            "threads in the same process, the shape of the lab's threads mode. Each side's "
            "wall time runs from the release to the last answer; each counts its AI calls "
            "and checks its outcome (one movie and one description per slug, no failure, "
            "every request answered with its slug's description) before its time counts."
        ),
        *paragraph(
            "The Huey side is written the way a Huey user keeps that rule. A request reads "
            "the description from the application's SQLite file and answers with it if it "
            "is there; otherwise it takes the slug's in-flight slot with "
            "`huey.put_if_empty` (Huey's atomic add-if-absent, the primitive under "
            "`huey.lock_task`), and the one request that takes it enqueues the slug's task "
            "under a task id derived from the slug; every other request joins that task id. "
            "All of them wait with `Result.get(blocking=True, preserve=True)` (preserve, or "
            "the first waiter would consume the result the others wait for). The task looks "
            "up again, calls the AI and writes the movie, the description and the AI call "
            "in one `BEGIN IMMEDIATE` transaction under UNIQUE indexes. That is ADR-007 "
            "(a slot at dispatch, a UNIQUE index at persist) built from Huey's parts, so "
            "the two sides keep the same rule and the race compares machinery. A bare "
            "`@huey.lock_task` would be a weaker peer, not a fairer one: every request "
            "would cost a task of its own, and the losers of the lock fail, spin through "
            "the queue on immediate retries, or wait for Huey's scheduler (once a second) "
            "on delayed ones."
        ),
        *paragraph(
            f"Measured on {environment()}; {huey_environment(args.tight_polling)}; "
            f"{runs}{f' (`{options}`)' if options else ''}:"
        ),
        "| workload | N / K / W / L | ideal ms | two-level ms | AI calls | Huey ms | AI calls "
        "| Huey / two-level | two-level | Huey |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.workload.name} | {row.workload.label} | {row.workload.ideal_ms:,.0f} | "
            f"{row.two_level.wall_ms:,.0f} | {row.two_level.calls_text()} | "
            f"{row.huey.wall_ms:,.0f} | {row.huey.calls_text()} | **{row.ratio:.2f}x** | "
            f"{row.two_level.verdict_text()} | {row.huey.verdict_text()} |"
        )
    lines += ["", "What each workload shows:", ""]
    for row in rows:
        lines += textwrap.wrap(
            f"- **{row.workload.name}**: {row.workload.shows}.",
            width=76,
            subsequent_indent="  ",
            break_on_hyphens=False,
        )
    lines += [
        "",
        "CPU time per request (the whole race's CPU time, scratch setup included, over N):",
        "",
        "| workload | two-level ms | Huey ms |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {row.workload.name} | {row.cpu_per_request_ms(row.two_level):.2f} | "
        f"{row.cpu_per_request_ms(row.huey):.2f} |"
        for row in rows
    ]
    lines.append("")
    lines += paragraph(reading(rows))
    lines += paragraph(
        "Where the time goes. A Huey job is five small transactions that take the write lock on "
        "Huey's file (the slot, the enqueue, the dequeue, the result, clearing the task's "
        "revoke flag), all through one connection behind one Python lock, plus the "
        "task's own look-up and write; a join is a read and a failed `put_if_empty`, "
        "which takes the write lock; then each waiting request polls for its result. "
        "A two-level job keeps a job row with its status, lease and attempts, records "
        "the AI call, writes JSON log lines and the lab's phase records, and later "
        "requests are answered from a cache; its write transactions and statements are "
        "counted under Pipeline throughput. Those buy job ids, `jobs show`, retries and "
        "recovery after `kill -9`, which Huey's SQLite queue does not give: a dequeued "
        "task is deleted before it runs, so a killed worker loses it, and the slot, which "
        "`SqliteHuey` cannot give a TTL, stays taken. Huey pays for polling instead: an "
        "idle worker looks at the queue every 0.1 s, growing to 10 s, and a waiting "
        "request looks for its result 50 ms in, then less and less often, up to every 1 s."
    )
    lines += paragraph(
        "What would make Huey faster: a consumer in its own process (its own GIL, a "
        "second core), `RedisHuey` (a blocking dequeue and, with `notify_result=True`, "
        "results pushed to the waiters instead of polled), and a join that reads the slot "
        "before trying to take it (none of them measured here). Tighter polling "
        "(`huey_consumer -d 0.005 -m 0.05`, `Result.get(max_delay=0.05)`) cuts both "
        "ways: a crowd hears of its job sooner, but more threads queue for Huey's one "
        "connection; `--tight-polling` measures it."
    )
    return "\n".join(lines)


def reading(rows: list[Row]) -> str:
    """What the numbers say, from the numbers."""
    ratios = sorted(row.ratio for row in rows)
    cpu = sorted(row.two_level.cpu_ms / row.huey.cpu_ms for row in rows)
    if not all(row.two_level.correct and row.huey.correct for row in rows):
        wrong = [
            row.workload.name for row in rows if not (row.two_level.correct and row.huey.correct)
        ]
        correctness = f"Not every run was correct ({', '.join(wrong)}): those times mean little. "
    else:
        correctness = (
            "Both sides were correct on every workload, with one AI call per slug on both. "
            if all(
                set(row.two_level.ai_calls) == set(row.huey.ai_calls) == {row.workload.slugs}
                for row in rows
            )
            else "Both sides were correct on every workload. "
        )
    slowest = max(rows, key=lambda row: row.two_level.wall_ms / row.workload.ideal_ms)
    return (
        correctness + f"Huey's wall time is {ratios[0]:.2f}x to {ratios[-1]:.2f}x two-level's "
        "(below 1, Huey was faster). "
        + target_line(rows)
        + " "
        + f"Per request, two-level spends {cpu[0]:.1f}x to {cpu[-1]:.1f}x Huey's CPU time. "
        + f"Two-level is furthest from the ideal on {slowest.workload.name} "
        f"({slowest.two_level.wall_ms / slowest.workload.ideal_ms:.1f}x the time of the AI "
        "calls alone)."
    )


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace this script's section of ``path`` (or add it at the end), leaving the rest."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((n for n, line in enumerate(lines) if line.strip() == HEADING), None)
    if start is None:
        while lines and lines[-1] == "":
            lines.pop()
        before, after = [*lines, ""], []
    else:
        end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), None)
        before, after = lines[:start], lines[end:] if end is not None else []
    body = section.rstrip("\n").splitlines()
    text = "\n".join([*before, *body, *([""] if after else []), *after]) + "\n"
    temporary = path.with_suffix(".md.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> None:
    """Race each workload on both sides; print the table, and the docs section if asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="A quarter of the requests/slugs.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per side (medians).")
    parser.add_argument(
        "--huey-python", type=Path, help=f"An interpreter with huey {HUEY_VERSION} installed."
    )
    parser.add_argument(
        "--tight-polling", action="store_true", help="Huey polls every 5-50 ms, not 0.1-10 s."
    )
    parser.add_argument("--markdown", action="store_true", help="Also print the docs section.")
    parser.add_argument("--write-docs", action="store_true", help=f"Rewrite {HEADING!r}.")
    args = parser.parse_args(argv)
    args.repeat = max(args.repeat, 1)
    console = Console()
    python = args.huey_python or huey_python(console)
    if not has_huey(python):
        raise SystemExit(f"{python} does not import huey {HUEY_VERSION}")
    workloads = [w.quick() if args.quick else w for w in WORKLOADS]
    rows = measure(workloads, python, args.repeat, args.tight_polling, console)
    console.print(table(rows))
    for line in verdict_lines(rows):
        console.print(f"[red]{line}[/]")
    console.print(cost_table(rows))
    console.print(target_line(rows))
    console.print(f"[dim]{environment()}; {huey_environment(args.tight_polling)}[/]")
    if args.markdown or args.write_docs:
        section = docs_section(rows, args)
        if args.markdown:
            print(section)
        if args.write_docs:
            write_docs(section)
            console.print(f"updated {DOCS}")


if __name__ == "__main__":
    main()
