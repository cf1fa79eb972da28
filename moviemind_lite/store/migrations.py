"""Ordered schema migrations, recorded in the ``_migrations`` table.

Each migration is a function decorated with :func:`migration`; they run in the
order they are defined, each once, inside one write transaction that no other
process's migration runs beside (SQLite's ``BEGIN IMMEDIATE``, a PostgreSQL
advisory lock), so that processes opening a new database at the same moment do
not race. The same migrations build the schema on both engines, recorded in
the same ``_migrations`` rows; where the SQL must differ (a column type, the
state-version triggers) they take it from the transaction's dialect. A
new database gets its sample catalog in that same transaction, so nobody ever
sees a home with the schema but without the catalog. An up-to-date database
is recognised by reads alone (:func:`pending`) and costs no write.
Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from moviemind_lite.core.ids import now
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.sample_catalog import load_sample_credits, load_sample_rows

Migration = Callable[[Tx], None]

MIGRATIONS: list[Migration] = []


def migration(function: Migration) -> Migration:
    """Register ``function`` as the next migration."""
    MIGRATIONS.append(function)
    return function


def migrate(database: Database, *, load_sample: bool = False) -> list[str]:
    """Apply the migrations ``database`` lacks; return the names applied.

    With ``load_sample``, a database created by this call (its first
    migration applied here) gets the sample catalog in the same transaction.
    """
    applied: list[str] = []
    with database.write() as conn:
        conn.lock_key("moviemind migrations")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations").fetchall()}
        for function in MIGRATIONS:
            if function.__name__ in done:
                continue
            function(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (function.__name__, now()),
            )
            applied.append(function.__name__)
        if load_sample and MIGRATIONS[0].__name__ in applied:
            load_sample_rows(conn)
    return applied


# The named UNIQUE indexes the lab's --no-unique-index drops: the dedup at persist.
UNIQUE_INDEXES = (
    "movies_unique_slug",
    "people_unique_slug",
    "descriptions_one_baseline",
    "bios_one_baseline",
)


# Every table the migrations make, dependants first (what a reset on a server drops).
TABLES = (
    "credits",
    "descriptions",
    "bios",
    "movies",
    "people",
    "jobs",
    "generation_slots",
    "leases",
    "flags",
    "flag_overrides",
    "events",
    "ai_calls",
    "answer_cache",
    "circuit_breakers",
    "rollouts",
    "api_keys",
    "state_version",
    "stale_writes",
    "rate_limits",
    "_migrations",
)


def drop_schema(database: Database) -> None:
    """Drop every table the migrations made, and nothing else (a reset on a database server)."""
    with database.write() as tx:
        tx.lock_key("moviemind migrations")
        for table in TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {table}")


def drop_unique_indexes(database: Database) -> None:
    """Drop the dedup at persist (the lab shows what happens without it; never the catalog)."""
    with database.write() as tx:
        for index in UNIQUE_INDEXES:
            tx.execute(f"DROP INDEX IF EXISTS {index}")


def run_script(conn: Tx, script: str) -> None:
    """Execute the statements of ``script`` inside the open transaction."""
    conn.run_script(script)


def pending(database: Database) -> list[str]:
    """Names of the migrations ``database`` has not applied yet."""
    exists = database.query_one(database.dialect.table_exists(), ("_migrations",))
    done = {row[0] for row in database.query("SELECT name FROM _migrations")} if exists else set()
    return [function.__name__ for function in MIGRATIONS if function.__name__ not in done]


_TEXT_TABLE = """
CREATE TABLE {text_table} (
    id TEXT PRIMARY KEY,
    {entity_fk} TEXT NOT NULL REFERENCES {table}(id) ON DELETE CASCADE,
    locale TEXT NOT NULL,
    context_tag TEXT NOT NULL,
    text TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('generated', 'translated', 'curated')),
    ai_model TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    is_baseline INTEGER NOT NULL DEFAULT 0 CHECK (is_baseline IN (0, 1)),
    job_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- At most one baseline per entity, locale and context: the dedup at persist.
CREATE UNIQUE INDEX {text_table}_one_baseline
    ON {text_table} ({entity_fk}, locale, context_tag) WHERE is_baseline = 1;
CREATE INDEX {text_table}_by_entity ON {text_table} ({entity_fk}, locale, context_tag);
"""


@migration
def m001_catalog(conn: Tx) -> None:
    """Movies and people with their descriptions and bios."""
    run_script(
        conn,
        """
        CREATE TABLE movies (
            id TEXT PRIMARY KEY,
            slug TEXT NOT NULL,
            title TEXT NOT NULL,
            year INTEGER,
            director TEXT,
            genres TEXT NOT NULL DEFAULT '[]',
            default_description_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE people (
            id TEXT PRIMARY KEY,
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            birth_date TEXT,
            birthplace TEXT,
            default_bio_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        -- Named indexes rather than inline UNIQUE, so the lab can drop them to
        -- show what happens without the dedup at persist.
        CREATE UNIQUE INDEX movies_unique_slug ON movies (slug);
        CREATE UNIQUE INDEX people_unique_slug ON people (slug);
        """,
    )
    run_script(
        conn, _TEXT_TABLE.format(text_table="descriptions", entity_fk="movie_id", table="movies")
    )
    run_script(conn, _TEXT_TABLE.format(text_table="bios", entity_fk="person_id", table="people"))


@migration
def m002_jobs(conn: Tx) -> None:
    """Generation jobs, generation slots and leases."""
    run_script(
        conn,
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('movie', 'person')),
            action TEXT NOT NULL CHECK (action IN ('generate', 'regenerate')),
            slug TEXT NOT NULL,
            locale TEXT NOT NULL,
            context_tag TEXT NOT NULL,
            strategy TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'PENDING'
                CHECK (status IN ('PENDING', 'IN_PROGRESS', 'DONE', 'FAILED')),
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 3,
            run_after TEXT NOT NULL,
            result TEXT CHECK (result IS NULL OR result IN
                ('created', 'reused_existing', 'baseline_updated', 'alternative_appended',
                 'in_progress_elsewhere')),
            entity_id TEXT,
            text_id TEXT,
            error TEXT,
            worker_id TEXT,
            lease_until TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX jobs_claimable ON jobs (status, run_after);
        CREATE INDEX jobs_by_slug ON jobs (kind, slug);

        -- "A job for this key is on its way": add-if-absent with a TTL.
        CREATE TABLE generation_slots (
            key TEXT PRIMARY KEY,
            job_id TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        -- Named leases: one holder (owner token) until expiry; the fencing
        -- counter grows on every grant so a stale holder's write can be refused.
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            owner_token TEXT,
            expires_at TEXT NOT NULL,
            fencing_token INTEGER NOT NULL DEFAULT 0,
            acquired_at TEXT NOT NULL
        );
        """,
    )


@migration
def m003_flags_and_events(conn: Tx) -> None:
    """Feature flags, their per-scope overrides, and the audit trail."""
    run_script(
        conn,
        """
        CREATE TABLE flags (
            name TEXT NOT NULL,
            environment TEXT NOT NULL,
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            percentage INTEGER CHECK (percentage IS NULL OR percentage BETWEEN 0 AND 100),
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            PRIMARY KEY (name, environment)
        );
        CREATE TABLE flag_overrides (
            name TEXT NOT NULL,
            environment TEXT NOT NULL,
            scope TEXT NOT NULL,
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            PRIMARY KEY (name, environment, scope)
        );
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            actor TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_by_subject ON events (kind, subject, at);
        """,
    )


@migration
def m004_ai_calls(conn: Tx) -> None:
    """Every AI call, so any process can count the calls made per key."""
    run_script(
        conn,
        f"""
        CREATE TABLE ai_calls (
            id {conn.dialect.serial_key},
            key TEXT NOT NULL,
            ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
            duration_ms {conn.dialect.real} NOT NULL,
            pid INTEGER NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX ai_calls_by_key ON ai_calls (key);
        """,
    )


@migration
def m005_answer_cache(conn: Tx) -> None:
    """Answers of ``show``, shared by every process; dropped when a baseline changes."""
    run_script(
        conn,
        """
        CREATE TABLE answer_cache (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            answer TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX answer_cache_by_entity ON answer_cache (kind, entity_id);
        """,
    )


@migration
def m006_circuit_breakers(conn: Tx) -> None:
    """Circuit breakers shared by every thread and process on the database."""
    run_script(
        conn,
        """
        CREATE TABLE circuit_breakers (
            name TEXT PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            open_until TEXT,
            probe_until TEXT,
            opened_count INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        """,
    )


@migration
def m007_rollouts(conn: Tx) -> None:
    """Staged flag rollouts with their guardrails; ended ones are kept as history."""
    real = conn.dialect.real
    run_script(
        conn,
        f"""
        CREATE TABLE rollouts (
            id TEXT PRIMARY KEY,
            flag TEXT NOT NULL,
            environment TEXT NOT NULL,
            stages TEXT NOT NULL,
            stage_index INTEGER NOT NULL DEFAULT 0 CHECK (stage_index >= 0),
            min_jobs INTEGER NOT NULL CHECK (min_jobs >= 0),
            max_error_rate {real} NOT NULL CHECK (max_error_rate BETWEEN 0 AND 1),
            max_p95_ms {real} NOT NULL CHECK (max_p95_ms > 0),
            status TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'completed', 'rolled_back', 'aborted')),
            reason TEXT,
            started_by TEXT NOT NULL,
            started_at TEXT NOT NULL,
            stage_started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            ended_at TEXT
        );
        -- One active rollout per flag and environment; any number of ended ones.
        CREATE UNIQUE INDEX rollouts_one_active ON rollouts (flag, environment)
            WHERE status = 'active';
        CREATE INDEX rollouts_by_environment ON rollouts (environment, started_at);
        -- The guardrails read the jobs finished since a stage started.
        CREATE INDEX IF NOT EXISTS jobs_by_finished_at ON jobs (finished_at);
        """,
    )


@migration
def m008_job_baseline_locking(conn: Tx) -> None:
    """Whether a regeneration updates the baseline in place, decided when it is requested."""
    conn.execute(
        "ALTER TABLE jobs ADD COLUMN baseline_locking INTEGER NOT NULL DEFAULT 0 "
        "CHECK (baseline_locking IN (0, 1))"
    )


@migration
def m009_ai_call_tokens(conn: Tx) -> None:
    """Tokens each AI call used, as its server reported them (NULL: none reported, as the mock)."""
    for column in ("prompt_tokens", "completion_tokens"):
        conn.execute(
            f"ALTER TABLE ai_calls ADD COLUMN {column} INTEGER "
            f"CHECK ({column} IS NULL OR {column} >= 0)"
        )


@migration
def m010_api_keys(conn: Tx) -> None:
    """API keys of the HTTP API: a hash of each secret, never the secret itself."""
    run_script(
        conn,
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        """,
    )


@migration
def m011_credits(conn: Tx) -> None:
    """Who directed or played in which movie; the sample catalog's credits where both exist."""
    run_script(
        conn,
        """
        CREATE TABLE credits (
            movie_id TEXT NOT NULL REFERENCES movies(id) ON DELETE CASCADE,
            person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            character_name TEXT,
            billing_order INTEGER,
            created_at TEXT NOT NULL,
            PRIMARY KEY (movie_id, person_id, role)
        );
        CREATE INDEX credits_by_person ON credits (person_id);
        """,
    )
    # A home created before credits existed gets the sample's links to its sample rows.
    load_sample_credits(conn)


@migration
def m012_state_version(conn: Tx) -> None:
    """A counter every flag, override and rollout change moves, in the change's transaction.

    A process keeps what it read of flags and rollouts for as long as the
    counter it reads with each request has not moved, so the request path
    evaluates its flags without reading them again.
    """
    run_script(
        conn,
        """
        CREATE TABLE state_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO state_version (id, version) VALUES (1, 1);
        """,
    )
    for table in ("flags", "flag_overrides", "rollouts"):
        for statement in conn.dialect.state_version_triggers(table):
            conn.execute(statement)


@migration
def m013_jobs_finished_index(conn: Tx) -> None:
    """Finished jobs read in the order they ended, from the index alone.

    A job has ``finished_at`` exactly while it is DONE or FAILED (a retry
    clears it), so "finished since T" is a range of this index: statistics
    and rollout guardrails read the jobs of their window, not every DONE job
    through the status index. Status and result ride along, so counting them
    never touches the table; it replaces the plain ``finished_at`` index, so a
    job's writes keep the same number of index entries.
    """
    run_script(
        conn,
        """
        DROP INDEX IF EXISTS jobs_by_finished_at;
        CREATE INDEX jobs_finished ON jobs (finished_at, status, result);
        """,
    )


# The database's own guard of "one job per key": at most one unfinished job per key
# among the jobs dispatched as the key's one job (two-level, the API's generate).
ONE_UNFINISHED_JOB_INDEX = "jobs_one_unfinished_per_key"


@migration
def m014_one_unfinished_job_per_key(conn: Tx) -> None:
    """At most one unfinished job per key, enforced by the database itself.

    A job dispatched as its key's one job (``one_per_key = 1``: ``two-level``
    and the HTTP API's generate) is unique among the key's PENDING and
    IN_PROGRESS jobs by a partial UNIQUE index, so a lock server that forgot
    its slots (a restart without persistence, ``FLUSHALL``, a failover) costs
    a look in the table, never a second job. Jobs that exist to race (the
    lab's other strategies) and "another text" regenerations keep 0. Jobs
    already stored keep 0, so the index builds on any existing table.
    """
    run_script(
        conn,
        f"""
        ALTER TABLE jobs ADD COLUMN one_per_key INTEGER NOT NULL DEFAULT 0;
        CREATE UNIQUE INDEX {ONE_UNFINISHED_JOB_INDEX}
            ON jobs (kind, slug, locale, context_tag)
            WHERE one_per_key = 1 AND status IN ('PENDING', 'IN_PROGRESS');
        """,
    )


@migration
def m015_stale_writes(conn: Tx) -> None:
    """Writes refused because the job's claim was taken back: one row per refusal.

    The refused job is not failed (it lives on under its new claim), so the
    refusal is counted here, for ``stats`` and the lab.
    """
    run_script(
        conn,
        f"""
        CREATE TABLE stale_writes (
            id {conn.dialect.serial_key},
            job_id TEXT NOT NULL,
            worker_id TEXT,
            attempt INTEGER NOT NULL,
            step TEXT NOT NULL,
            at TEXT NOT NULL
        );
        """,
    )


@migration
def m016_ai_calls_started(conn: Tx) -> None:
    """An AI call is recorded when it starts and closed when it ends.

    ``state`` is ``running`` from the start, ``ended`` with its outcome, or
    ``abandoned`` when the claim that made it was taken back before it ended
    (its process crashed mid-call): the call was paid for and is counted.
    Calls recorded before this migration are ``ended``.
    """
    run_script(
        conn,
        """
        ALTER TABLE ai_calls ADD COLUMN state TEXT NOT NULL DEFAULT 'ended'
            CHECK (state IN ('running', 'ended', 'abandoned'));
        ALTER TABLE ai_calls ADD COLUMN job_id TEXT;
        CREATE INDEX ai_calls_by_job ON ai_calls (job_id) WHERE state = 'running';
        """,
    )


@migration
def m017_rate_limits(conn: Tx) -> None:
    """Rate-limit and AI-budget buckets shared by every server process (GCRA: one TAT each).

    Used when the locks live in lock files; with Redis locks the buckets are Redis keys.
    """
    run_script(
        conn,
        f"""
        CREATE TABLE rate_limits (
            bucket TEXT PRIMARY KEY,
            tat {conn.dialect.real} NOT NULL
        );
        """,
    )


@migration
def m018_job_lease_version(conn: Tx) -> None:
    """A job's claim token that grows with every claim and never goes back.

    ``attempts`` counts tries and goes back by one when a job is deferred
    (the AI circuit was open) or reset by a retry, so the pair worker and
    attempt could name two claims. ``lease_version`` is bumped by every
    claim and nothing else; the claim's fence checks it. Jobs already stored
    start from their attempt count.
    """
    run_script(
        conn,
        """
        ALTER TABLE jobs ADD COLUMN lease_version INTEGER NOT NULL DEFAULT 0;
        UPDATE jobs SET lease_version = attempts;
        """,
    )


@migration
def m019_job_end_notify(conn: Tx) -> None:
    """On PostgreSQL a job's end (DONE, FAILED, or sent back to PENDING) is announced
    with ``NOTIFY moviemind_job_end, '<job id>'`` in the transaction that ends it.

    PostgreSQL sends it when the transaction commits, to the processes waiting
    for that job (:mod:`moviemind_lite.store.job_ends`): the wake-up costs no
    round trip of its own. SQLite has no notifications; its waiters read the
    database's change counter instead, so there is nothing to make there.
    """
    if conn.dialect.name != "postgresql":
        return
    run_script(
        conn,
        """
        CREATE OR REPLACE FUNCTION announce_job_end() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
            PERFORM pg_notify('moviemind_job_end', NEW.id);
            RETURN NULL;
        END $$;
        CREATE TRIGGER jobs_end_announced AFTER UPDATE OF status ON jobs FOR EACH ROW
            WHEN (NEW.status IN ('DONE', 'FAILED')
                  OR (NEW.status = 'PENDING' AND OLD.status = 'IN_PROGRESS'))
            EXECUTE FUNCTION announce_job_end();
        """,
    )
