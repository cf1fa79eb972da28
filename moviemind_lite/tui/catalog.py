"""The Catalog tab: search movies and people, read their texts, generate new ones.

Typing in the search box filters the table as you type; the highlighted row's
texts show on the right for the chosen locale. ``g`` asks for the text (a job
when it is missing), ``r`` writes another one, ``n`` generates a slug that is
not in the catalog yet. Jobs run in worker threads through the same
``request`` / ``regenerate`` use cases as ``moviemind movies show``;
the status line follows them live and the detail refreshes when they end.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Select, Static
from textual.worker import get_current_worker

from moviemind_lite.app.generation import LOOK
from moviemind_lite.app.views import EntityView
from moviemind_lite.app.wiring import App as Core
from moviemind_lite.core.display import visible
from moviemind_lite.core.domain import LOCALES, MOVIE, PERSON, EntityKind
from moviemind_lite.core.model import DONE, FAILED, Entity, Job
from moviemind_lite.core.model import Text as StoredText
from moviemind_lite.tui.cells import STATUS_STYLE, data
from moviemind_lite.tui.pane import CorePane, in_thread

# Enough rows to scroll through; the search box narrows anything bigger.
LIST_LIMIT = 500
# Long titles are cut so the year still shows in a narrow terminal.
LABEL_WIDTH = 22

Action = Literal["generate", "regenerate"]


def _fact_text(entity: Entity) -> str:
    parts = []
    for name in entity.kind.fields:
        value = entity.facts.get(name)
        if name == entity.kind.label_column or value in (None, "", []):
            continue
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        parts.append(f"{name.replace('_', ' ')}: {visible(shown)}")
    return " · ".join(parts)


def render_detail(view: EntityView, texts: Sequence[StoredText]) -> Text:
    """An entity, the list of its texts (``▸`` marks the one shown), then that text.

    The text shown is the baseline for the view's locale and context; the list
    comes first so the alternatives stay in sight above a long description.
    """
    entity = view.entity
    noun = entity.kind.text_noun
    out = Text()
    out.append_text(data(entity.label, style="bold"))
    out.append(f"\nslug: {entity.slug}\n", style="dim")
    facts = _fact_text(entity)
    if facts:
        out.append(facts + "\n")
    out.append(f"\n{noun.capitalize()}s ({len(texts)})\n", style="bold")
    for text in texts:
        shown = view.text is not None and text.id == view.text.id
        role = "baseline" if text.is_baseline else "alternative"
        out.append(
            f"{'▸' if shown else ' '} {text.locale:<6} {text.context_tag:<9} "
            f"v{text.version:<3} {text.origin:<10} {role}\n",
            style="bold" if shown else "",
        )
    out.append("\n")
    if view.text is None:
        out.append(
            f"No {view.locale} {noun} ({view.context_tag}) yet: press g to generate it.\n",
            style="italic",
        )
    else:
        out.append(visible(view.text.text, lines=True) + "\n")
    return out


@dataclass
class _RunningJob:
    """A generation this pane started and is following."""

    slug: str
    locale: str
    action: Action
    started: float
    job_id: str | None = None


class SlugPrompt(ModalScreen[str | None]):
    """Asks for the slug of a movie or person to generate; dismissed with it or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    SlugPrompt { align: center middle; }
    SlugPrompt > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    SlugPrompt Input { margin-top: 1; }
    """

    def __init__(self, kind: EntityKind, locale: str, slug: str) -> None:
        super().__init__()
        self.kind = kind
        self.locale = locale
        self.slug = slug

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Generate a {self.kind.name} ({self.locale}): its slug, then enter")
            yield Input(self.slug, placeholder="e.g. blade-runner-2049", id="slug-input")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Close without generating."""
        self.dismiss(None)


class CatalogPane(CorePane):
    """Movies or people, a search box, the highlighted entity's texts, generation keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search"),
        Binding("t", "toggle_kind", "Kind"),
        Binding("l", "next_locale", "Locale"),
        Binding("g", "generate", "Generate"),
        Binding("r", "regenerate", "Regen"),
        Binding("n", "new_slug", "New"),
        Binding("down", "focus_table", "To list", show=False),
    ]

    DEFAULT_CSS = """
    CatalogPane #catalog-bar { height: 1; }
    CatalogPane #catalog-kind { width: 8; padding: 0 1; text-style: bold; }
    CatalogPane #catalog-search { width: 1fr; }
    CatalogPane #catalog-locale { width: 14; }
    CatalogPane #catalog-body { height: 1fr; }
    CatalogPane #catalog-table { width: 1fr; height: 1fr; }
    CatalogPane #catalog-detail {
        width: 1fr; height: 1fr; padding: 0 1; border-left: vkey $primary;
    }
    CatalogPane #catalog-status { height: 1; padding: 0 1; background: $boost; }
    """

    class Listed(Message, bubble=False):
        """The entities matching a search."""

        def __init__(self, kind: EntityKind, search: str, entities: list[Entity]) -> None:
            super().__init__()
            self.kind = kind
            self.search = search
            self.entities = entities

    class DetailLoaded(Message, bubble=False):
        """An entity with its texts, ready to show."""

        def __init__(self, view: EntityView, texts: list[StoredText]) -> None:
            super().__init__()
            self.view = view
            self.texts = texts

    class JobStarted(Message, bubble=False):
        """A generation has a job id and is running."""

        def __init__(self, token: int, job: Job) -> None:
            super().__init__()
            self.token = token
            self.job = job

    class GenerationEnded(Message, bubble=False):
        """A generation is over: ``job`` is how it ended (None: no job was needed or it
        never started), ``already_stored`` when the text was there all along."""

        def __init__(
            self, token: int, kind: EntityKind, job: Job | None, already_stored: bool
        ) -> None:
            super().__init__()
            self.token = token
            self.kind = kind
            self.job = job
            self.already_stored = already_stored

    def __init__(self, core: Core, *, id: str | None = None) -> None:
        super().__init__(core, id=id)
        self.kind: EntityKind = MOVIE
        self.locale: str = core.settings.default_locale
        self.highlighted: str | None = None
        self._select_after: str | None = None
        self._count = 0
        self._generating: dict[int, _RunningJob] = {}
        self._next_token = 0
        self._ticker: Timer | None = None
        self._listed_once = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="catalog-bar"):
            yield Label("movies", id="catalog-kind")
            yield Input(
                placeholder="search movies by slug or title", id="catalog-search", compact=True
            )
            yield Select(
                [(locale, locale) for locale in LOCALES],
                value=self.locale,
                allow_blank=False,
                compact=True,
                id="catalog-locale",
            )
        with Horizontal(id="catalog-body"):
            yield DataTable(id="catalog-table", cursor_type="row")
            with VerticalScroll(id="catalog-detail"):
                yield Static(id="catalog-detail-text")
        yield Static("", id="catalog-status")

    def on_mount(self) -> None:
        """Set the columns; the rows come when the tab is first shown."""
        self._set_columns()

    def tab_shown(self) -> None:
        """Fill the table the first time the tab is shown (opening on Jobs skips it)."""
        if not self._listed_once:
            self._listed_once = True
            self._search(self.query_one("#catalog-search", Input).value.strip())

    # -- listing ----------------------------------------------------------------------

    def _set_columns(self) -> None:
        table = self.query_one("#catalog-table", DataTable)
        table.clear(columns=True)
        if self.kind is MOVIE:
            table.add_column("title", key="label")
            table.add_column("year", key="extra")
        else:
            table.add_column("name", key="label")
            table.add_column("born", key="extra")

    @on(Input.Changed, "#catalog-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._search(event.value.strip())

    @on(Input.Submitted, "#catalog-search")
    def _search_submitted(self) -> None:
        self.action_focus_table()

    @in_thread(exclusive=True, group="catalog-search")
    def _search(self, text: str) -> None:
        kind = self.kind
        with self.reporting():
            entities = self.core.catalog.list_entities(kind, search=text or None, limit=LIST_LIMIT)
            if not get_current_worker().is_cancelled:
                self.post_message(self.Listed(kind, text, entities))

    def on_catalog_pane_listed(self, message: CatalogPane.Listed) -> None:
        """Show a search's rows, keeping the cursor on the same entity when it is there."""
        search = self.query_one("#catalog-search", Input).value.strip()
        if message.kind is not self.kind or message.search != search:
            return  # an older search, overtaken by typing
        table = self.query_one("#catalog-table", DataTable)
        wanted, self._select_after = self._select_after, None
        keep = wanted or self.highlighted
        table.clear()
        for entity in message.entities:
            born = entity.facts.get("year" if self.kind is MOVIE else "birth_date")
            table.add_row(data(entity.label, 40), data(born), key=entity.slug)
        self._count = len(message.entities)
        slugs = [entity.slug for entity in message.entities]
        if keep in slugs:
            table.move_cursor(row=slugs.index(keep))
            self._show_row(keep)
        elif wanted is not None:
            self._show_row(wanted)  # just generated, but the search hides it
        elif slugs:
            self._show_row(slugs[table.cursor_row])
        else:
            self._show_nothing(search)
        self._refresh_status()

    @on(DataTable.RowHighlighted, "#catalog-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_row(event.row_key.value)

    def _show_nothing(self, search: str) -> None:
        self.highlighted = None
        message = Text(style="italic")
        if search:
            message.append(f"No {self.kind.plural} match {search!r}.\n\n")
            message.append(f"n generates a new {self.kind.name} from a slug.")
        else:
            message.append(f"No {self.kind.plural} yet: n generates one from a slug.")
        self.query_one("#catalog-detail-text", Static).update(message)

    def _show_row(self, slug: str | None) -> None:
        if slug is None:
            self._show_nothing(self.query_one("#catalog-search", Input).value.strip())
            return
        self.highlighted = slug
        self._load_detail(self.kind, slug, self.locale)

    @in_thread(exclusive=True, group="catalog-detail")
    def _load_detail(self, kind: EntityKind, slug: str, locale: str) -> None:
        with self.reporting():
            view = self.core.generation.request(kind, slug, locale=locale, rule=LOOK).view
            assert view is not None  # a look is answered with the stored entity
            texts = self.core.catalog.texts(view.entity)
            if not get_current_worker().is_cancelled:
                self.post_message(self.DetailLoaded(view, texts))

    def on_catalog_pane_detail_loaded(self, message: CatalogPane.DetailLoaded) -> None:
        """Show an entity's texts, unless the user has moved on meanwhile."""
        view = message.view
        entity = view.entity
        if (entity.kind, entity.slug, view.locale) != (self.kind, self.highlighted, self.locale):
            return
        self.query_one("#catalog-detail-text", Static).update(render_detail(view, message.texts))

    # -- keys -------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        """Put the cursor in the search box."""
        self.query_one("#catalog-search", Input).focus()

    def action_focus_table(self) -> None:
        """Put the cursor in the list."""
        self.query_one("#catalog-table", DataTable).focus()

    def action_toggle_kind(self) -> None:
        """Switch between movies and people."""
        self.kind = PERSON if self.kind is MOVIE else MOVIE
        self.highlighted = None
        self.query_one("#catalog-kind", Label).update(self.kind.plural)
        search = self.query_one("#catalog-search", Input)
        search.placeholder = f"search {self.kind.plural} by slug or {self.kind.label_column}"
        self._set_columns()
        self._search(search.value.strip())

    def action_next_locale(self) -> None:
        """Show (and generate) the next locale."""
        select = self.query_one("#catalog-locale", Select)
        select.value = LOCALES[(LOCALES.index(self.locale) + 1) % len(LOCALES)]

    @on(Select.Changed, "#catalog-locale")
    def _locale_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.locale:
            self.locale = event.value
            self._show_row(self.highlighted)
            self._refresh_status()

    def action_generate(self) -> None:
        """Ask for the highlighted entity's text in the chosen locale (a job if missing)."""
        if self.highlighted is None:
            self.notify("nothing selected: n generates a new slug", severity="warning")
            return
        self._start("generate", self.highlighted)

    def action_regenerate(self) -> None:
        """Write another text for the highlighted entity in the chosen locale."""
        if self.highlighted is None:
            self.notify("nothing selected to regenerate", severity="warning")
            return
        self._start("regenerate", self.highlighted)

    def action_new_slug(self) -> None:
        """Ask for a slug not in the catalog yet and generate it."""
        search = self.query_one("#catalog-search", Input).value.strip()

        def generate(slug: str | None) -> None:
            if slug:
                self._start("generate", slug)

        self.app.push_screen(SlugPrompt(self.kind, self.locale, search), generate)

    # -- generation -------------------------------------------------------------------

    def _start(self, action: Action, slug: str) -> None:
        token = self._next_token = self._next_token + 1
        self._generating[token] = _RunningJob(slug, self.locale, action, time.monotonic())
        if self._ticker is None:
            self._ticker = self.set_interval(0.2, self._refresh_status)
        self._refresh_status()
        self._generate(token, action, self.kind, slug, self.locale)

    @in_thread(group="catalog-generate")
    def _generate(
        self, token: int, action: Action, kind: EntityKind, slug: str, locale: str
    ) -> None:
        worker = get_current_worker()
        ended: Job | None = None
        stored = False
        try:
            with self.reporting():
                if action == "regenerate":
                    outcome = self.core.generation.regenerate(kind, slug, locale=locale, wait=False)
                else:
                    outcome = self.core.generation.request(kind, slug, locale=locale, wait=False)
                if outcome.job is None:
                    stored = True
                    return
                self.post_message(self.JobStarted(token, outcome.job))
                # Runs the job here unless a worker process already has it; stops
                # waiting when the app exits (the job itself goes on elsewhere).
                ended = self.core.generation.drive(
                    outcome.job.id, give_up=lambda _job: worker.is_cancelled
                )
        finally:
            self.post_message(self.GenerationEnded(token, kind, ended, stored))

    def on_catalog_pane_job_started(self, message: CatalogPane.JobStarted) -> None:
        """Name the job on the status line."""
        running = self._generating.get(message.token)
        if running is not None:
            running.job_id = message.job.id
        self._refresh_status()

    def on_catalog_pane_generation_ended(self, message: CatalogPane.GenerationEnded) -> None:
        """Report how a generation ended and show the entity's texts again."""
        running = self._generating.pop(message.token, None)
        if not self._generating and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        job = message.job
        if running is not None and message.already_stored:
            self.notify(
                f"{running.slug} already has a {message.kind.text_noun} in {running.locale}; "
                "r writes another",
                timeout=4,
            )
        elif job is not None and job.status == DONE:
            self.notify(f"job {job.id}: {job.status} ({job.result})", timeout=4)
        elif job is not None and job.status == FAILED:
            self.notify(
                f"job {job.id} failed after {job.attempts} attempt(s): {job.error}",
                severity="error",
                timeout=8,
            )
        elif job is not None:
            self.notify(f"job {job.id} is {job.status}; a worker will finish it", timeout=4)
        if running is not None and message.kind is self.kind:
            # The list may gain a new slug; the cursor and the detail follow it.
            self._select_after = running.slug
            self._search(self.query_one("#catalog-search", Input).value.strip())
        self._refresh_status()

    def _refresh_status(self) -> None:
        status = self.query_one("#catalog-status", Static)
        if self._generating:
            token = max(self._generating)
            running = self._generating[token]
            seconds = time.monotonic() - running.started
            who = f"job {running.job_id}" if running.job_id else running.slug
            line = Text()
            line.append(f"{who}: ", style="bold")
            line.append("generating…", style=STATUS_STYLE["IN_PROGRESS"])
            line.append(f" {running.slug} {running.locale} {seconds:.1f}s")
            if len(self._generating) > 1:
                line.append(f" (+{len(self._generating) - 1} more)")
            status.update(line)
            return
        noun = self.kind.plural if self._count != 1 else self.kind.name
        status.update(f"{self._count} {noun} · {self.locale} · / search · n new slug")
