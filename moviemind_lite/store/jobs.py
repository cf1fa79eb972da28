"""Job status in the database: create, claim, heartbeat, complete, fail, retry.

Every transition is one write transaction and one JSON log line. On
PostgreSQL a claim takes its row with ``FOR UPDATE SKIP LOCKED`` (claimers
pass over each other's rows instead of queueing), and a transition that
reads a job before changing it locks the row it read; SQLite runs one write
transaction at a time and needs neither.
A claim gives a worker a lease; only that claim (``worker_id`` and
``lease_version``, which every claim bumps and nothing lowers: a deferral
gives back its attempt, a retry resets the attempts) may complete, fail,
defer or extend it, so a
worker whose lease was taken back cannot overwrite the job's new life. The
same pair fences the job's own rows: the transaction that persists them
first checks (and on PostgreSQL locks) the claim, so a worker whose lease was
taken back writes nothing (:meth:`JobStore.check_claim_in`); the refusal is
logged and counted in ``stale_writes``.

At most one job per key is unfinished among the jobs dispatched as the key's
one job (``one_per_key``): a partial UNIQUE index says so on both engines, and
:meth:`JobStore.insert_or_join` joins the job it finds instead of clashing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from moviemind_lite.core.calls import AICall
from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.config import JobSettings
from moviemind_lite.core.errors import (
    InvalidInput,
    JobNotFound,
    QueueFull,
    StaleClaim,
    UniqueViolation,
)
from moviemind_lite.core.ids import (
    elapsed_ms,
    format_epoch,
    new_id,
    now,
    parse_timestamp,
    validate_job_id,
)
from moviemind_lite.core.model import (
    FAILED,
    IN_PROGRESS,
    PENDING,
    STATUSES,
    Job,
    JobOutcome,
    JobRequest,
)
from moviemind_lite.core.numbers import DAY_MS
from moviemind_lite.store.calls import abandon_calls, record_call
from moviemind_lite.store.db import Database, Reader, Tx, read_all
from moviemind_lite.store.job_ends import JobEnds
from moviemind_lite.store.locking import Slots
from moviemind_lite.store.slots import TableSlots, slot_key, take_turns

log = logging.getLogger("moviemind.jobs")

# How a refused write of a stale claim begins (the lab and stats count them).
STALE_CLAIM = "stale claim refused"
# The key's one unfinished job (the partial UNIQUE index of migration m014): an insert
# that would be a second one inserts nothing instead of failing its transaction.
ONE_PER_KEY_SKIPPED = (
    " ON CONFLICT (kind, slug, locale, context_tag) "
    "WHERE one_per_key = 1 AND status IN ('PENDING', 'IN_PROGRESS') DO NOTHING"
)
ONE_PER_KEY_COLUMNS = "jobs.kind, jobs.slug, jobs.locale, jobs.context_tag"


def _duration_ms(job: Job) -> float | None:
    if job.started_at is None or job.finished_at is None:
        return None
    return round(elapsed_ms(job.started_at, job.finished_at), 1)


def count_by_status(database: Database) -> dict[str, int]:
    """Jobs per status (every status present, zeros included)."""
    rows = database.query("SELECT status, count(*) FROM jobs GROUP BY status")
    found = {row[0]: int(row[1]) for row in rows}
    return {status: found.get(status, 0) for status in STATUSES}


COUNT_PENDING = "SELECT count(*) FROM jobs WHERE status = 'PENDING'"


def count_pending(database: Database) -> int:
    """How many jobs wait to be claimed (read from the ``(status, run_after)`` index)."""
    row = database.query_one(COUNT_PENDING)
    return 0 if row is None else int(row[0])


def refuse_past_cap(tx: Tx, cap: int) -> None:
    """Raise :class:`QueueFull` if ``cap`` jobs are PENDING, in one step with the insert
    that follows in ``tx``: the transactions that check the cap take turns (SQLite's one
    writer; an advisory lock on PostgreSQL, whose next statement then sees the last
    one's job), so a burst of requests cannot pass it."""
    tx.lock_key("pending jobs cap")
    if int(tx.execute(COUNT_PENDING).fetchone()[0]) >= cap:
        raise QueueFull(cap)


def log_transition(job: Job, message: str, **extra: Any) -> None:
    """One structured log line about ``job``."""
    fields = {
        "job_id": job.id,
        "kind": job.kind,
        "slug": job.slug,
        "locale": job.locale,
        "status": job.status,
        "attempt": job.attempts,
        "worker_id": job.worker_id,
        "entity_id": job.entity_id,
        "description_id": job.text_id,
        "result": job.result,
        "duration_ms": _duration_ms(job),
        **extra,
    }
    log.info(message, extra={"fields": fields})


def stale_claim(job: Job, step: str) -> StaleClaim:
    """The refusal of a write (or AI call) by ``job``'s claim, which was taken back."""
    return StaleClaim(
        f"{STALE_CLAIM}: job {job.id} is no longer held by {job.worker_id} "
        f"on attempt {job.attempts}, lease version {job.lease_version} ({step})",
        step,
    )


def unfinished_for(reader: Reader, kind: str, slug: str) -> list[Job]:
    """The PENDING and IN_PROGRESS jobs for one slug of one kind, oldest first."""
    rows = read_all(
        reader,
        "SELECT * FROM jobs WHERE kind = ? AND slug = ? AND status IN ('PENDING', 'IN_PROGRESS') "
        "ORDER BY id",
        (kind, slug),
    )
    return [Job.from_row(row) for row in rows]


def forget_entity(tx: Tx, kind: str, entity_id: str) -> int:
    """Clear the entity and text ids of the jobs that wrote a deleted entity; how many.

    The jobs stay, with their slug, status and result: the history of what ran.
    """
    return int(
        tx.execute(
            "UPDATE jobs SET entity_id = NULL, text_id = NULL, updated_at = ? "
            "WHERE kind = ? AND entity_id = ?",
            (now(), kind, entity_id),
        ).rowcount
    )


class JobStore:
    """The ``jobs`` table and its transitions."""

    def __init__(
        self,
        database: Database,
        settings: JobSettings,
        slots: Slots | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.database = database
        self.settings = settings
        # Decides leases, run_after and backoffs (SQL compares with the times passed in).
        self.clock = clock
        # Where a job's generation slot is freed when it ends (the database's table by default).
        self.slots: Slots = slots if slots is not None else TableSlots(database, clock)
        # Who in this process waits for which job, woken when it ends.
        self.ends = JobEnds(database, clock)

    def close(self) -> None:
        """Stop listening for the ends of other processes' jobs."""
        self.ends.close()

    # -- reading ----------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        """The job with ``job_id``; raises ``JobNotFound``."""
        validate_job_id(job_id)
        row = self.database.query_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise JobNotFound(f"no job with id {job_id}")
        return Job.from_row(row)

    def find_in(self, tx: Tx, job_id: str) -> Job | None:
        """The job with ``job_id`` as the caller's transaction sees it, or ``None``."""
        row = tx.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row is not None else None

    def find_unfinished_in(self, tx: Tx, request: JobRequest) -> Job | None:
        """The oldest PENDING or IN_PROGRESS job for the key of ``request`` (kind, slug,
        locale, context; any action), as the caller's transaction sees it, or ``None``."""
        row = tx.execute(
            "SELECT * FROM jobs WHERE kind = ? AND slug = ? AND locale = ? AND context_tag = ? "
            "AND status IN ('PENDING', 'IN_PROGRESS') ORDER BY id LIMIT 1",
            (request.kind, request.slug, request.locale, request.context_tag),
        ).fetchone()
        return Job.from_row(row) if row is not None else None

    def list(self, *, status: str | None = None, limit: int | None = 50) -> list[Job]:
        """Jobs, newest first, optionally of one status."""
        sql, params = "SELECT * FROM jobs", list[Any]()
        if status is not None:
            if status.upper() not in STATUSES:
                raise InvalidInput(
                    f"unknown status {status!r}; expected one of: {', '.join(STATUSES)}"
                )
            sql += " WHERE status = ?"
            params.append(status.upper())
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Job.from_row(row) for row in self.database.query(sql, params)]

    def counts(self) -> dict[str, int]:
        """Jobs per status (every status present, zeros included)."""
        return count_by_status(self.database)

    def wait(self, job_id: str, timeout_s: float | None = None) -> Job:
        """Wait until the job is DONE or FAILED (or the timeout passes); return it.

        Woken by the job's end (see :mod:`moviemind_lite.store.job_ends`), with a
        bounded look at the job in case a wake-up was missed.
        """
        deadline = None if timeout_s is None else self.clock.monotonic() + timeout_s
        with self.ends.watching(job_id) as watch:
            while True:
                job = self.get(job_id)
                left = None if deadline is None else deadline - self.clock.monotonic()
                if job.finished or (left is not None and left <= 0):
                    return job
                quiet = self.quiet_for_s(job)
                watch.wait(quiet if left is None else min(quiet, left))

    def quiet_for_s(self, job: Job) -> float:
        """How long a waiter on ``job`` (as just read) may wait for a wake-up before it
        looks again: the fallback bound, and never past the moment the job could change
        unannounced (a PENDING job's ``run_after``, a running job's lease end)."""
        bound = self.settings.wake_fallback_ms / 1000
        when = job.run_after if job.status == PENDING else job.lease_until
        if when is None:
            return bound
        left = parse_timestamp(when).timestamp() - self.clock.now()
        # Past that moment the job waits for someone to act (a claim, a take-back), which
        # only a driver does at once: a waiter that does not drive looks again at the bound.
        return min(bound, left) if left > 0 else bound

    # -- transitions ------------------------------------------------------------------

    def insert(
        self,
        tx: Tx,
        request: JobRequest,
        strategy: str,
        job_id: str | None = None,
        *,
        claimed_by: str | None = None,
        one_per_key: bool = False,
    ) -> Job:
        """Create a job inside the caller's transaction: PENDING, or already claimed.

        With ``claimed_by`` (a worker id) the job starts IN_PROGRESS on its
        first attempt under that worker's lease, as if it had been claimed
        at once: the requester that is about to run it saves a write. With
        ``one_per_key`` the job is its key's one unfinished job: a second one
        raises ``UniqueViolation`` (see :meth:`insert_or_join`). A request with
        a ``pending_cap`` raises :class:`QueueFull` instead past it.
        """
        job = self._insert(tx, request, strategy, job_id, claimed_by, one_per_key)
        if job is None:
            raise UniqueViolation(ONE_PER_KEY_COLUMNS)
        return job

    def _insert(
        self,
        tx: Tx,
        request: JobRequest,
        strategy: str,
        job_id: str | None,
        claimed_by: str | None,
        one_per_key: bool,
    ) -> Job | None:
        """:meth:`insert`; ``None`` when the key's one unfinished job exists (``one_per_key``).

        That clash inserts nothing and fails no statement (``ON CONFLICT ... DO
        NOTHING`` on the partial index), so the transaction goes on without the
        savepoint (two round trips on PostgreSQL) a failed statement would need.
        """
        if request.pending_cap:
            refuse_past_cap(tx, request.pending_cap)
        stamp = self.clock.stamp()
        claimed = claimed_by is not None
        row = tx.execute(
            "INSERT INTO jobs (id, kind, action, slug, locale, context_tag, baseline_locking, "
            "strategy, status, attempts, max_attempts, run_after, worker_id, lease_until, "
            "started_at, created_at, updated_at, one_per_key, lease_version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            f"{ONE_PER_KEY_SKIPPED if one_per_key else ''} RETURNING *",
            (
                job_id or new_id(),
                request.kind,
                request.action,
                request.slug,
                request.locale,
                request.context_tag,
                int(request.baseline_locking),
                strategy,
                IN_PROGRESS if claimed else PENDING,
                1 if claimed else 0,
                self.settings.max_attempts,
                stamp,
                claimed_by,
                self.clock.stamp_after(self.settings.lease_ms) if claimed else None,
                stamp if claimed else None,
                stamp,
                stamp,
                int(one_per_key),
                1 if claimed else 0,
            ),
        ).fetchone()
        if row is None:
            return None
        job = Job.from_row(row)
        log_transition(
            job, "Job queued and claimed" if claimed else "Job queued", strategy=strategy
        )
        return job

    def insert_or_join(
        self,
        tx: Tx,
        request: JobRequest,
        strategy: str,
        job_id: str | None = None,
        *,
        claimed_by: str | None = None,
    ) -> tuple[Job, bool]:
        """The key's unfinished job, joined; or a new job as the key's one job.

        Returns the job and whether this call created it. The caller takes
        turns on the key (:func:`take_turns`), so the look and the insert are
        not interleaved with another dispatch of this process's code; the
        partial UNIQUE index is the guarantee for everything else (another
        version, a hand-made insert, an engine that lost the slot), and its
        clash is answered by joining the job that won.
        """
        found = self.find_unfinished_in(tx, request)
        if found is not None:
            return found, False
        job = self._insert(tx, request, strategy, job_id, claimed_by, one_per_key=True)
        if job is not None:
            return job, True
        found = self.find_unfinished_in(tx, request)
        if found is None:  # pragma: no cover - the index skipped the insert for this job
            raise UniqueViolation(ONE_PER_KEY_COLUMNS)
        log_transition(found, "Job joined after the one-job-per-key index refused another")
        return found, False

    def create(self, request: JobRequest, strategy: str) -> Job:
        """Create a PENDING job in its own transaction."""
        with self.database.write() as tx:
            return self.insert(tx, request, strategy)

    def claim_next(self, worker_id: str) -> Job | None:
        """Claim the oldest runnable job: PENDING and due, or IN_PROGRESS with a dead lease."""
        with self.database.write() as tx:
            return self.claim_in(tx, worker_id)

    def claim(self, job_id: str, worker_id: str) -> Job | None:
        """Claim one job if it is runnable now; ``None`` if someone else has it or it ended."""
        with self.database.write() as tx:
            return self.claim_in(tx, worker_id, job_id)

    def claim_in(self, tx: Tx, worker_id: str, job_id: str | None = None) -> Job | None:
        """:meth:`claim` (without ``job_id``: :meth:`claim_next`) in the caller's transaction."""
        stamp = self.clock.stamp()
        runnable = (
            "((status = 'PENDING' AND run_after <= :now) "
            "OR (status = 'IN_PROGRESS' AND lease_until < :now))"
        )
        which = "id = :job_id AND " if job_id is not None else ""
        params = {"now": stamp, "job_id": job_id}
        while True:
            row = tx.execute(
                f"SELECT * FROM jobs WHERE {which}{runnable} ORDER BY run_after, id LIMIT 1"
                f"{tx.dialect.skip_locked}",
                params,
            ).fetchone()
            if row is None:
                return None
            found = Job.from_row(row)
            if found.status == IN_PROGRESS and found.attempts >= found.max_attempts:
                # Its worker died on the last attempt: do not run it again.
                abandon_calls(tx, found.id)
                self._finish_failed(
                    tx,
                    found,
                    f"lease expired on attempt {found.attempts} (worker {found.worker_id} stopped)",
                )
                continue
            claimed = Job.from_row(
                tx.execute(
                    "UPDATE jobs SET status = 'IN_PROGRESS', worker_id = ?, lease_until = ?, "
                    "attempts = attempts + 1, lease_version = lease_version + 1, started_at = ?, "
                    "updated_at = ? "
                    "WHERE id = ? RETURNING *",
                    (
                        worker_id,
                        self.clock.stamp_after(self.settings.lease_ms),
                        stamp,
                        stamp,
                        found.id,
                    ),
                ).fetchone()
            )
            taken_back = found.status == IN_PROGRESS
            if taken_back:
                abandon_calls(tx, found.id)  # its worker stopped mid-call: paid, counted
            log_transition(
                claimed,
                "Job taken back after its lease expired" if taken_back else "Job claimed",
                previous_worker_id=found.worker_id if taken_back else None,
            )
            return claimed

    def heartbeat(self, job: Job) -> bool:
        """Extend the lease; ``False`` if this claim no longer holds the job."""
        return not self.heartbeat_all([job])

    def heartbeat_all(self, jobs: Sequence[Job]) -> Sequence[Job]:
        """Extend the leases of ``jobs`` in one transaction; the ones whose claim was lost."""
        lease_until, stamp = self.clock.stamp_after(self.settings.lease_ms), self.clock.stamp()
        lost = []
        with self.database.write() as tx:
            for job in jobs:
                changed = tx.execute(
                    "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? "
                    "AND worker_id = ? AND lease_version = ? AND status = 'IN_PROGRESS'",
                    (lease_until, stamp, job.id, job.worker_id, job.lease_version),
                ).rowcount
                if changed != 1:
                    lost.append(job)
        return lost

    def check_claim_in(self, tx: Tx, job: Job, step: str = "persist") -> None:
        """Raise ``StaleClaim`` unless ``job``'s claim still holds it, inside ``tx``.

        The fence of a job's own writes: the claim (worker and lease version,
        which grows with every claim) is read, and on PostgreSQL locked, in the
        transaction about to write the job's rows, so a worker whose lease was
        taken back writes nothing and a take-back cannot slip in before commit.
        """
        row = tx.execute(
            "SELECT lease_version, worker_id FROM jobs WHERE id = ? AND worker_id = ? "
            f"AND lease_version = ? AND status = 'IN_PROGRESS'{tx.dialect.for_update}",
            (job.id, job.worker_id, job.lease_version),
        ).fetchone()
        if row is None:
            raise stale_claim(job, step)

    def still_holds(self, job: Job) -> bool:
        """Whether ``job``'s claim still holds it with a live lease (a read, no lock).

        Asked right before the paid AI call: a worker that lost its lease while
        it waited does not pay for an answer it could not store.
        """
        row = self.database.query_one(
            "SELECT 1 FROM jobs WHERE id = ? AND worker_id = ? AND lease_version = ? "
            "AND status = 'IN_PROGRESS' AND lease_until > ?",
            (job.id, job.worker_id, job.lease_version, self.clock.stamp()),
        )
        return row is not None

    def record_stale_write(self, job: Job, step: str, call: AICall | None = None) -> None:
        """Count one refused write of ``job``'s stale claim (its own transaction) and log it.

        ``call``, the AI call the stale claim paid for, is recorded with it.
        """
        with self.database.write() as tx:
            if call is not None:
                record_call(tx, call)
            tx.execute(
                "INSERT INTO stale_writes (job_id, worker_id, attempt, step, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (job.id, job.worker_id, job.attempts, step, self.clock.stamp()),
            )
        log_transition(job, "Stale write refused", step=step)

    def stale_writes(self) -> int:
        """How many writes of stale claims were refused so far."""
        row = self.database.query_one("SELECT count(*) FROM stale_writes")
        return int(row[0]) if row else 0

    def complete(self, job: Job, outcome: JobOutcome, call: AICall | None = None) -> Job | None:
        """Mark DONE with the outcome and free the slot; ``None`` if the lease was lost.

        ``call``, an AI call the job paid for, is recorded in the same transaction.
        """
        with self.database.write() as tx:
            if call is not None:
                record_call(tx, call)
            return self.complete_in(tx, job, outcome)

    def complete_in(self, tx: Tx, job: Job, outcome: JobOutcome) -> Job | None:
        """:meth:`complete` inside the caller's transaction (the one that wrote the rows)."""
        take_turns(tx, slot_key(job.request))
        stamp = self.clock.stamp()
        row = tx.execute(
            "UPDATE jobs SET status = 'DONE', result = ?, entity_id = ?, text_id = ?, "
            "error = NULL, lease_until = NULL, finished_at = ?, updated_at = ? "
            "WHERE id = ? AND worker_id = ? AND lease_version = ? AND status = 'IN_PROGRESS' "
            "RETURNING *",
            (
                outcome.result,
                outcome.entity_id,
                outcome.text_id,
                stamp,
                stamp,
                job.id,
                job.worker_id,
                job.lease_version,
            ),
        ).fetchone()
        if row is None:
            return None
        self.slots.release(tx, slot_key(job.request), job.id)
        self.ends.announce_in(tx, job.id)
        done = Job.from_row(row)
        log_transition(done, "Job done")
        return done

    def fail(
        self,
        job: Job,
        error: str,
        *,
        retryable: bool,
        retry_after_ms: float | None = None,
        call: AICall | None = None,
    ) -> Job | None:
        """Record a failed attempt: back to PENDING after a backoff, or FAILED for good.

        ``retry_after_ms`` (a server's Retry-After) is the least wait before the
        next attempt: the longer of it and the backoff applies. ``call``, the AI
        call the attempt paid for, is recorded in the same transaction.
        """
        moment = self.clock.now()  # the failure's time: the backoff counts from it
        stamp = format_epoch(moment)
        with self.database.write() as tx:
            if call is not None:
                record_call(tx, call)
            current = tx.execute(
                "SELECT * FROM jobs WHERE id = ? AND worker_id = ? AND lease_version = ? "
                f"AND status = 'IN_PROGRESS'{tx.dialect.for_update}",
                (job.id, job.worker_id, job.lease_version),
            ).fetchone()
            if current is None:
                return None
            attempts = int(current["attempts"])
            if retryable and attempts < int(current["max_attempts"]):
                backoff = max(self.settings.backoff_ms * 2 ** (attempts - 1), retry_after_ms or 0.0)
                # Doubling (or a server's Retry-After) may run past any clock: a day at most.
                backoff = min(backoff, DAY_MS)
                row = tx.execute(
                    "UPDATE jobs SET status = 'PENDING', error = ?, worker_id = NULL, "
                    "lease_until = NULL, run_after = ?, updated_at = ? WHERE id = ? RETURNING *",
                    (error, self.clock.stamp_after(backoff, since=moment), stamp, job.id),
                ).fetchone()
                retried = Job.from_row(row)
                self.ends.announce_in(tx, job.id)  # its waiters run it when it is due
                log_transition(
                    retried, "Job attempt failed; will retry", error=error, backoff_ms=backoff
                )
                return retried
            return self._finish_failed(tx, Job.from_row(current), error)

    def defer(self, job: Job, reason: str, run_after: str) -> Job | None:
        """Send a claimed job back to PENDING until ``run_after``, its attempt not counted."""
        with self.database.write() as tx:
            row = tx.execute(
                "UPDATE jobs SET status = 'PENDING', error = ?, worker_id = NULL, "
                f"lease_until = NULL, attempts = {tx.dialect.greatest}(attempts - 1, 0), "
                "run_after = ?, "
                "updated_at = ? WHERE id = ? AND worker_id = ? AND lease_version = ? "
                "AND status = 'IN_PROGRESS' RETURNING *",
                (
                    f"deferred: {reason}",
                    run_after,
                    self.clock.stamp(),
                    job.id,
                    job.worker_id,
                    job.lease_version,
                ),
            ).fetchone()
            if row is not None:
                self.ends.announce_in(tx, job.id)
        if row is None:
            return None
        deferred = Job.from_row(row)
        log_transition(deferred, "Job deferred", reason=reason)
        return deferred

    def _finish_failed(self, tx: Tx, job: Job, error: str) -> Job:
        take_turns(tx, slot_key(job.request))
        stamp = self.clock.stamp()
        row = tx.execute(
            "UPDATE jobs SET status = 'FAILED', error = ?, lease_until = NULL, finished_at = ?, "
            "updated_at = ? WHERE id = ? RETURNING *",
            (error, stamp, stamp, job.id),
        ).fetchone()
        self.slots.release(tx, slot_key(job.request), job.id)
        self.ends.announce_in(tx, job.id)
        failed = Job.from_row(row)
        log_transition(failed, "Job failed", error=error)
        return failed

    def retry(self, tx: Tx, job_id: str) -> Job:
        """FAILED → PENDING with fresh attempts, inside the caller's transaction."""
        row = tx.execute(
            f"SELECT * FROM jobs WHERE id = ?{tx.dialect.for_update}", (job_id,)
        ).fetchone()
        if row is None:
            raise JobNotFound(f"no job with id {job_id}")
        if row["status"] != FAILED:
            raise InvalidInput(f"job {job_id} is {row['status']}; only FAILED jobs can be retried")
        stamp = self.clock.stamp()
        failed = Job.from_row(row)
        take_turns(tx, slot_key(failed.request))
        try:
            with tx.savepoint():
                updated = tx.execute(
                    "UPDATE jobs SET status = 'PENDING', attempts = 0, error = NULL, "
                    "worker_id = NULL, lease_until = NULL, run_after = ?, started_at = NULL, "
                    "finished_at = NULL, updated_at = ? WHERE id = ? RETURNING *",
                    (stamp, stamp, job_id),
                ).fetchone()
        except UniqueViolation:
            other = self.find_unfinished_in(tx, failed.request)
            raise InvalidInput(
                f"job {job_id} cannot be retried: job {other.id if other else '?'} for the same "
                f"{failed.kind} {failed.slug!r} ({failed.locale}, {failed.context_tag}) "
                "is already on its way"
            ) from None
        retried = Job.from_row(updated)
        log_transition(retried, "Job queued again by retry")
        return retried
