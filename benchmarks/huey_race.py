"""The Huey side of ``benchmarks/peers.py``: the lab's race, run by Huey.

    benchmarks/.peers-venv/bin/python benchmarks/huey_race.py \\
        --requests 1000 --slugs 100 --workers 8 --latency 50     # prints one JSON object

This file imports only the standard library and ``huey``: ``peers.py`` runs
it with the interpreter of its own Huey environment (``huey`` is not a
dependency of MovieMind Lite), and reads the JSON it prints.

The race is the lab's (``moviemind race``): ``requests`` requests for
``slugs`` unknown slugs (request ``i`` asks for ``race-movie-{i % slugs +
1:03d}``), released together behind a barrier by up to ``clients`` client
threads (request ``i`` on thread ``i % clients``; the lab's 32 by default),
``workers`` job threads, a mock AI call of ``latency`` ms (a sleep) per
generation, and the rule "one movie and one description per slug, ideally
one AI call". The wall time runs from the release to the last answer, as the
lab's does.

How Huey plays it, the way a Huey user would write it:

- One ``SqliteHuey`` (queue, results and locks in one SQLite file) and one
  application database (``movies``, ``descriptions``, ``ai_calls``, WAL,
  ``synchronous=NORMAL`` as MovieMind's) in a scratch folder.
- The consumer runs in this process, ``workers`` worker threads, started with
  ``huey.create_consumer(...)``: the same process shape as the lab's threads
  mode (one process, client threads and job threads sharing the GIL).
- A request looks the description up in the application database and answers
  from it if it is there. Otherwise it takes the slug's in-flight slot with
  ``huey.put_if_empty`` (Huey's atomic add-if-absent, the primitive under
  ``huey.lock_task``). The request that takes it enqueues
  ``generate(slug)`` under a task id derived from the slug; every other
  request knows that id and waits for the same result. Waiting is Huey's
  ``Result.get(blocking=True, preserve=True)`` (``preserve`` so that the
  first waiter does not consume the result the others wait for).
- ``generate`` looks up again (a task can run after the text was stored),
  calls the AI (sleeps), and writes the movie, the description and the AI
  call in one ``BEGIN IMMEDIATE`` transaction, with ``ON CONFLICT DO
  NOTHING`` on the UNIQUE indexes as the second guard. Its result is the
  description's id.

That is MovieMind's two-level design (a slot at dispatch, a UNIQUE index at
persist) built from Huey's parts, so the comparison measures the machinery,
not a weaker rule. Afterwards the application database is counted: one movie
and one description per slug, every request answered with its slug's
description, no task failed, none left in the queue. Only then is the wall
time worth printing.

Why not ``@huey.lock_task(slug)`` alone, Huey's documented answer to "only
one at a time": each request would enqueue a task of its own, and the losers
of the lock would fail, their requests with them; with ``retries`` and no
delay they spin through the queue until the retries run out, and with a
``retry_delay`` they come back through Huey's scheduler, which looks once a
second. With the look-up inside the lock it keeps one AI call per slug, but
every request costs a whole task and most of them a retry's wait: a weaker
peer, not a fairer one.

What this side does not do that two-level does: keep a job row (status,
attempts, lease), log, or survive ``kill -9``. Huey's SQLite queue deletes a
task when a worker takes it, so a killed worker loses it, and the slot (which
``SqliteHuey`` cannot give a TTL) stays taken: later requests for that slug
would wait forever. Polling is Huey's default (:class:`Polling`): tighter
polling lets a crowd hear of its job sooner but makes more threads queue for
Huey's one connection. What would likely make it faster (not measured): a
consumer in its own process, ``RedisHuey`` with its blocking dequeue and
``notify_result=True``, and a join that reads the slot before trying to take
it.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import huey
from huey import SqliteHuey
from huey.exceptions import HueyException, TaskException

# At most this many client threads, request i issued by thread i % clients: peers.py
# passes the lab's own number (moviemind_lite.lab.race.MAX_CLIENTS), which this file
# cannot import; the default is that number when it was written.
DEFAULT_CLIENTS = 32
LOCALE = "en-US"
CONTEXT_TAG = "default"

APP_SCHEMA = """
CREATE TABLE IF NOT EXISTS movies (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS descriptions (
    id INTEGER PRIMARY KEY,
    movie_id INTEGER NOT NULL REFERENCES movies (id),
    locale TEXT NOT NULL,
    context_tag TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (movie_id, locale, context_tag)
);
CREATE TABLE IF NOT EXISTS ai_calls (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
"""
FIND_DESCRIPTION = (
    "SELECT d.id FROM descriptions d JOIN movies m ON m.id = d.movie_id "
    "WHERE m.slug = ? AND d.locale = ? AND d.context_tag = ?"
)


@dataclass(frozen=True)
class Polling:
    """How often Huey's consumer and its waiting requests look at the SQLite store.

    The defaults are Huey's own (``huey_consumer -d 0.1 -m 10 -b 1.15`` and
    ``Result.get(backoff=1.15, max_delay=1.0)``, whose first poll comes after
    50 ms whatever is asked).
    """

    consumer_delay_s: float = 0.1
    consumer_max_delay_s: float = 10.0
    result_max_delay_s: float = 1.0
    backoff: float = 1.15


@dataclass(frozen=True)
class HueyRace:
    """What one Huey race did: its wall time, its counts and whether the outcome was right."""

    huey_version: str
    requests: int
    slugs: int
    workers: int
    latency_ms: float
    wall_ms: float
    cpu_ms: float
    created: int
    joined: int
    stored: int
    ai_calls: int
    movies: int
    descriptions: int
    failed: int
    never_ran: int
    unanswered: int
    wrong_answers: int
    verdict: str

    @property
    def correct(self) -> bool:
        """One movie and one description per slug, every request answered with it, no failure."""
        return self.verdict == "correct"


def slug_for(index: int, slugs: int) -> str:
    """The slug request ``index`` asks for: the lab's naming."""
    return f"race-movie-{index % slugs + 1:03d}"


class AppDatabase:
    """The application's own SQLite file: one connection per thread, set up like MovieMind's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self.connection().executescript(APP_SCHEMA)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; writes take ``BEGIN IMMEDIATE``)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=600)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def find_description(self, slug: str) -> int | None:
        """The id of ``slug``'s description in the race's locale and context, if stored."""
        row = self.connection().execute(FIND_DESCRIPTION, (slug, LOCALE, CONTEXT_TAG)).fetchone()
        return None if row is None else int(row[0])

    def store(self, slug: str, text: str, latency_ms: float) -> int:
        """Record the AI call and write the movie and its description; the description's id."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO ai_calls (slug, latency_ms) VALUES (?, ?)", (slug, latency_ms)
            )
            conn.execute(
                "INSERT INTO movies (slug, title) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING",
                (slug, slug.replace("-", " ").title()),
            )
            (movie_id,) = conn.execute("SELECT id FROM movies WHERE slug = ?", (slug,)).fetchone()
            conn.execute(
                "INSERT INTO descriptions (movie_id, locale, context_tag, text) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (movie_id, locale, context_tag) DO NOTHING",
                (movie_id, LOCALE, CONTEXT_TAG, text),
            )
            (description_id,) = conn.execute(
                "SELECT id FROM descriptions WHERE movie_id = ? AND locale = ? AND context_tag = ?",
                (movie_id, LOCALE, CONTEXT_TAG),
            ).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return int(description_id)

    def counts(self) -> tuple[dict[str, int], dict[str, int], int]:
        """Movies per slug, descriptions per slug, AI calls."""
        conn = self.connection()
        movies = dict(conn.execute("SELECT slug, count(*) FROM movies GROUP BY slug").fetchall())
        texts = dict(
            conn.execute(
                "SELECT m.slug, count(*) FROM descriptions d JOIN movies m ON m.id = d.movie_id "
                "GROUP BY m.slug"
            ).fetchall()
        )
        (calls,) = conn.execute("SELECT count(*) FROM ai_calls").fetchone()
        return movies, texts, int(calls)

    def description_ids(self) -> dict[str, int]:
        """Each slug's stored description id."""
        rows = self.connection().execute(
            "SELECT m.slug, d.id FROM descriptions d JOIN movies m ON m.id = d.movie_id"
        )
        return {slug: int(description_id) for slug, description_id in rows}


def build_huey(folder: Path, app: AppDatabase, latency_ms: float) -> tuple[SqliteHuey, Callable]:
    """A ``SqliteHuey`` over ``folder/huey.db`` and its ``generate`` task."""
    queue = SqliteHuey("moviemind-peer", filename=str(folder / "huey.db"))

    @queue.task()
    def generate(slug: str) -> int:
        """Look up, call the AI (a sleep), persist: the job body."""
        found = app.find_description(slug)
        if found is not None:
            return found
        time.sleep(latency_ms / 1000)
        text = f"{slug.replace('-', ' ').title()} is a film worth a second look."
        return app.store(slug, text, latency_ms)

    return queue, generate


def task_id_for(slug: str) -> str:
    """The one task id of ``slug``'s generation: every request for it waits on this result."""
    return f"generate:{slug}:{LOCALE}:{CONTEXT_TAG}"


def slot_for(slug: str) -> str:
    """The key of ``slug``'s in-flight slot (not the task id: that key holds the result)."""
    return f"slot:{slug}:{LOCALE}:{CONTEXT_TAG}"


def run(
    requests: int,
    slugs: int,
    workers: int,
    latency_ms: float,
    polling: Polling,
    max_clients: int = DEFAULT_CLIENTS,
) -> HueyRace:
    """Race Huey through the scenario in a scratch folder; count what happened.

    Its CPU time, like the lab's race measured by ``peers.py``, runs from the
    scratch folder's creation to the consumer's stop.
    """
    cpu_started = time.process_time()
    with tempfile.TemporaryDirectory(prefix="moviemind-huey-") as scratch:
        folder = Path(scratch)
        app = AppDatabase(folder / "app.db")
        queue, generate = build_huey(folder, app, latency_ms)
        clients = min(requests, max_clients)
        how: list[str] = ["error"] * requests
        answer: list[int | None] = [None] * requests
        answered_at: list[float | None] = [None] * requests
        failures: list[str] = []
        released: list[float] = []
        barrier = threading.Barrier(
            clients + 1, action=lambda: released.append(time.perf_counter())
        )
        deadline_s = 60 + 3 * requests * latency_ms / 1000

        def ask(index: int) -> str | None:
            """One request: answer from the store, or the id of the task to wait for."""
            slug = slug_for(index, slugs)
            stored = app.find_description(slug)
            if stored is not None:
                how[index], answer[index] = "stored", stored
                answered_at[index] = time.perf_counter()
                return None
            task_id = task_id_for(slug)
            if queue.put_if_empty(slot_for(slug), task_id):
                how[index] = "created"
                queue.enqueue(generate.s(slug, id=task_id))
            else:
                how[index] = "joined"
            return task_id

        def client(number: int) -> None:
            barrier.wait()
            waiting: list[tuple[int, str]] = []
            for index in range(number, requests, max_clients):
                task_id = ask(index)
                if task_id is not None:
                    waiting.append((index, task_id))
            for index, task_id in waiting:
                try:
                    answer[index] = queue.result(
                        task_id,
                        blocking=True,
                        timeout=deadline_s,
                        backoff=polling.backoff,
                        max_delay=polling.result_max_delay_s,
                        preserve=True,
                    )
                except (HueyException, TaskException) as error:
                    failures.append(f"{type(error).__name__}: {error}")
                    continue
                answered_at[index] = time.perf_counter()

        consumer = queue.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=False,
            initial_delay=polling.consumer_delay_s,
            max_delay=polling.consumer_max_delay_s,
            backoff=polling.backoff,
            check_worker_health=False,
        )
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        consumer.start()
        barrier.wait()
        for thread in threads:
            thread.join()
        ended = max((at for at in answered_at if at is not None), default=released[0])
        consumer.stop(graceful=True)
        never_ran = queue.pending_count()
        cpu_ms = (time.process_time() - cpu_started) * 1000
        wall_ms = (ended - released[0]) * 1000
        return tally(
            app, slugs, workers, latency_ms, how, answer, failures, never_ran, wall_ms, cpu_ms
        )


def tally(
    app: AppDatabase,
    slugs: int,
    workers: int,
    latency_ms: float,
    how: list[str],
    answer: list[int | None],
    failures: list[str],
    never_ran: int,
    wall_ms: float,
    cpu_ms: float,
) -> HueyRace:
    """Count the application database, the answers and the tasks left queued; the verdict."""
    movies, texts, calls = app.counts()
    stored_ids = app.description_ids()
    unanswered = sum(1 for value in answer if value is None)
    wrong = sum(
        1
        for index, value in enumerate(answer)
        if value is not None and stored_ids.get(slug_for(index, slugs)) != value
    )
    wanted = [slug_for(index, slugs) for index in range(slugs)]
    problems = [
        f"{sum(max(0, n - 1) for n in texts.values())} duplicate descriptions"
        if any(n > 1 for n in texts.values())
        else "",
        f"{sum(max(0, n - 1) for n in movies.values())} duplicate movies"
        if any(n > 1 for n in movies.values())
        else "",
        f"{sum(1 for s in wanted if not texts.get(s))} slugs without a description"
        if any(not texts.get(s) for s in wanted)
        else "",
        f"{len(failures)} failed tasks" if failures else "",
        f"{never_ran} tasks never ran" if never_ran else "",
        f"{unanswered} unanswered requests" if unanswered else "",
        f"{wrong} wrong answers" if wrong else "",
    ]
    return HueyRace(
        huey_version=huey.__version__,
        requests=len(answer),
        slugs=slugs,
        workers=workers,
        latency_ms=latency_ms,
        wall_ms=round(wall_ms, 1),
        cpu_ms=round(cpu_ms, 1),
        created=how.count("created"),
        joined=how.count("joined"),
        stored=how.count("stored"),
        ai_calls=calls,
        movies=sum(movies.values()),
        descriptions=sum(texts.values()),
        failed=len(failures),
        never_ran=never_ran,
        unanswered=unanswered,
        wrong_answers=wrong,
        verdict=", ".join(p for p in problems if p) or "correct",
    )


def main(argv: list[str] | None = None) -> None:
    """Run one Huey race and print it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--slugs", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--latency", type=float, required=True, help="AI call, ms.")
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="Client threads.")
    parser.add_argument("--consumer-delay", type=float, default=Polling.consumer_delay_s)
    parser.add_argument("--consumer-max-delay", type=float, default=Polling.consumer_max_delay_s)
    parser.add_argument("--result-max-delay", type=float, default=Polling.result_max_delay_s)
    args = parser.parse_args(argv)
    if not (1 <= args.slugs <= args.requests and args.workers >= 1 and args.latency >= 0):
        parser.error("need 1 <= slugs <= requests, workers >= 1, latency >= 0")
    if args.clients < 1:
        parser.error("need clients >= 1")
    if not math.isfinite(args.latency):
        parser.error("latency must be finite")
    polling = Polling(args.consumer_delay, args.consumer_max_delay, args.result_max_delay)
    result = run(args.requests, args.slugs, args.workers, args.latency, polling, args.clients)
    print(json.dumps({**asdict(result), "correct": result.correct}))


if __name__ == "__main__":
    main()
