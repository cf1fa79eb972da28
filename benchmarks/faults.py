"""The lock server forgets its keys: how many keys get a second job, and what a request costs.

    scripts/services.sh start; eval "$(scripts/services.sh env)"
    .venv/bin/python benchmarks/faults.py --keys 200

On the PostgreSQL and Redis that ``MOVIEMIND_DATABASE_URL`` and
``MOVIEMIND_LOCKS_URL`` name (a scratch schema and key prefix, dropped at the
end), and on SQLite with lock files: ``--keys`` requests for unknown slugs
queue one job each (no worker runs, so every job stays PENDING); then every
slot is forgotten (the Redis keys under the run's prefix deleted, the slot
rows of the file engine deleted), as a Redis restart without persistence, a
``FLUSHALL`` or a failover would; then every key is requested again, twice,
from four threads at once. It prints how many keys ended with more than one
unfinished job (the design says 0), and the median time of a request in the
second round (a request that finds no slot looks in the jobs table).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import (
    DATABASE_SCHEMES,
    LOCKS_SCHEMES,
    Settings,
    parse_service_url,
)
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.model import JobRequest
from moviemind_lite.store import db, locking
from moviemind_lite.store.slots import slot_key


def run(keys: int, database_url: str | None, locks_url: str | None) -> tuple[int, float]:
    """Keys with a second unfinished job, and the median second-round request (ms)."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home),
            database_url=(
                parse_service_url("database", database_url, DATABASE_SCHEMES)
                if database_url
                else None
            ),
            locks_url=(
                parse_service_url("locks", locks_url, LOCKS_SCHEMES) if locks_url else None
            ),
        )
        try:
            with build_app(settings, load_sample=False) as app:
                slugs = [f"forgotten-{index:04d}-1990" for index in range(keys)]
                first = {}
                for slug in slugs:
                    job = app.generation.request(MOVIE, slug, wait=False).job
                    assert job is not None
                    first[slug] = job.id
                with app.database.write() as tx:  # the lock server forgets every slot
                    for slug in slugs:
                        key = slot_key(JobRequest("movie", slug, "en-US", "default"))
                        app.locks.slots.release(tx, key, first[slug])
                timings: list[float] = []
                lock = threading.Lock()
                barrier = threading.Barrier(4)

                def ask(order: list[str]) -> None:
                    barrier.wait()
                    for slug in order:
                        started = time.perf_counter()
                        app.generation.request(MOVIE, slug, wait=False)
                        with lock:
                            timings.append((time.perf_counter() - started) * 1000)

                orders = [slugs, slugs[::-1], slugs[1::2] + slugs[::2], slugs[::2] + slugs[1::2]]
                threads = [threading.Thread(target=ask, args=(order,)) for order in orders]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                rows = app.database.query(
                    "SELECT slug FROM jobs WHERE status IN ('PENDING', 'IN_PROGRESS') "
                    "GROUP BY slug HAVING count(*) > 1"
                )
                return len(rows), statistics.median(timings)
        finally:
            for url, discard in (
                (settings.database_url, db.discard_namespace),
                (settings.locks_url, locking.discard_namespace),
            ):
                if url is not None and url.namespace is not None:
                    discard(url)


def scratch(url: str | None, key: str) -> str | None:
    """``url`` with a scratch schema (PostgreSQL) or key prefix (Redis) of this run's."""
    if not url:
        return None
    name = f"bench_{uuid.uuid4().hex[:8]}"
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{key}={name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200)
    args = parser.parse_args()
    postgres = os.environ.get("MOVIEMIND_DATABASE_URL")
    redis = os.environ.get("MOVIEMIND_LOCKS_URL")
    engines = [("sqlite+file", None, None)]
    if postgres and redis:
        engines.append(
            ("postgres+redis", scratch(postgres, "schema"), scratch(redis, "prefix"))
        )
    print(f"{args.keys} keys, every slot forgotten, then 2 requests per key from 4 threads")
    print(f"{'engines':<16} {'keys with 2+ jobs':>18} {'request p50 (ms)':>17}")
    for name, database_url, locks_url in engines:
        doubled, p50 = run(args.keys, database_url, locks_url)
        print(f"{name:<16} {doubled:>18} {p50:>17.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
