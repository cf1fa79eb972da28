"""``/lab``: the race lab as a web page, run on the server's engines and followed live.

``GET /lab`` is the page: pick a lesson or strategies and their options, Run,
watch each job's lane fill in, then download the report ``--html`` writes.
The page polls ``GET /lab/api/race?since=N`` (the events from number N on)
a few times a second; a page that stops asking (closed) lets the race be
stopped by :class:`~moviemind_lite.lab.live.LiveLab`'s watch. The API:

- ``POST /lab/api/race`` ``{"lesson": NAME, "fast": bool}`` or ``{"strategies":
  "a,b|all", "requests": N, ...}``: 202 and the race; 409 while one runs;
  422 with the command line's message for bad input;
- ``GET /lab/api/race?since=N``: where the race stands (404 before any);
- ``DELETE /lab/api/race``: stop it (404 when none runs);
- ``GET /lab/api/race/report``: the HTML report (409 until the race ended).

The page's step game (play the scheduler, :mod:`moviemind_lite.lab.game`):

- ``POST /lab/api/game`` ``{"strategy": S, "requests": N}``: 202 and where the
  new game stands (a game played before is stopped); 422 for bad input;
- ``GET /lab/api/game``: where it stands (404 before any);
- ``POST /lab/api/game/step`` ``{"step": "A dispatch"}``: the step played and
  where the game stands; 422 with one line for a step that cannot be played;
- ``POST /lab/api/game/run``: every job runs freely to its end;
- ``DELETE /lab/api/game``: stop it;
- ``GET /lab/api/game/schedule``: what was played, as a schedule file
  (``moviemind race --strategy S --schedule FILE`` replays it).

A step answers once the jobs it set going reached their next boundary,
within the game's patience; a game nobody plays for a while opens its gate,
so its jobs run to their end.

Everything but the page itself needs the admin token when the server is not
local (``X-Admin-Token`` or ``Authorization: Bearer``), as the admin endpoints.
"""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.http.errors import error
from moviemind_lite.http.routes import BodyProblem, admin_refusal, read_json
from moviemind_lite.lab.game import GAME_DAMAGE, GamePlan, NoGame
from moviemind_lite.lab.live import LiveLab, NoRace, RaceRunning, parse_plan
from moviemind_lite.lab.race import TEACHING_ORDER
from moviemind_lite.lab.report import MARKS, PHASES, render_html
from moviemind_lite.lab.scenario import MAX_REQUESTS, MAX_WORKERS, Scenario
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.teaching import LESSONS

_PAGES = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [
            jinja2.PackageLoader("moviemind_lite.http", "templates"),
            jinja2.PackageLoader("moviemind_lite.lab", "templates"),
        ]
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def live_lab(request: Request) -> LiveLab:
    """The server's lab (made with the app: see :func:`lab_for`)."""
    lab: LiveLab = request.app.state.lab
    return lab


def lab_for(settings: Any) -> LiveLab:
    """The lab of a server over ``settings``: races on the engines its URLs name."""
    return LiveLab(Servers.from_settings(settings))


def lab_page(request: Request) -> Response:
    """``GET /lab``: the page (no data in it; the API needs the token when not local)."""
    defaults = Scenario()
    page = _PAGES.get_template("lab.html.j2").render(
        lessons=[(lesson.name, lesson.title) for lesson in LESSONS.values()],
        strategies=TEACHING_ORDER,
        defaults=defaults,
        max_requests=MAX_REQUESTS,
        max_workers=MAX_WORKERS,
        phases=PHASES,
        marks=MARKS,
        damage=GAME_DAMAGE,
    )
    return HTMLResponse(page)


def _refused(problem: Exception, status: int = 422) -> JSONResponse:
    return error(status, str(problem))


async def race(request: Request) -> Response:
    """``POST`` (start), ``GET`` (follow) or ``DELETE`` (stop) ``/lab/api/race``."""
    refusal = await run_in_threadpool(admin_refusal, request)
    if refusal is not None:
        return refusal
    lab = live_lab(request)
    if request.method == "POST":
        try:
            body = await read_json(request)
        except BodyProblem as problem:
            return error(problem.status, problem.message)
        if not isinstance(body, dict):
            return error(422, 'send a JSON object: {"lesson": NAME} or {"strategies": ...}')
        return await run_in_threadpool(_start, lab, body)
    if request.method == "DELETE":
        try:
            stopping = lab.cancel()
        except NoRace as none:
            return _refused(none, 404)
        return JSONResponse({"id": stopping.id, "state": "stopping"}, status_code=202)
    since = request.query_params.get("since", "0")
    if not since.isdigit():
        return error(422, f"since must be a whole number, got {since!r}")
    try:
        return JSONResponse(lab.current().since(int(since)))
    except NoRace as none:
        return _refused(none, 404)


def _start(lab: LiveLab, body: dict[str, Any]) -> Response:
    try:
        plan = parse_plan(body, lab.servers)
        started = lab.start(plan)
    except RaceRunning as running:
        return _refused(running, 409)
    except InvalidInput as bad:
        return _refused(bad)
    return JSONResponse(started.since(0), status_code=202)


def report(request: Request) -> Response:
    """``GET /lab/api/race/report``: the race's HTML report, as a file to save."""
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    try:
        current = live_lab(request).current()
    except NoRace as none:
        return _refused(none, 404)
    if current.page is None:
        return error(409, "the race has not ended yet (or ended without a finished run)")
    name = (current.plan.lesson or "compare") + ".html"
    return HTMLResponse(
        render_html(current.page),
        headers={"Content-Disposition": f'attachment; filename="moviemind-lab-{name}"'},
    )


async def game(request: Request) -> Response:
    """``POST`` (start), ``GET`` (where it stands) or ``DELETE`` (stop) ``/lab/api/game``."""
    refusal = await run_in_threadpool(admin_refusal, request)
    if refusal is not None:
        return refusal
    games = live_lab(request).games
    if request.method == "POST":
        body = await _body(request)
        if isinstance(body, Response):
            return body
        unknown = sorted(set(body) - {"strategy", "requests"})
        if unknown:
            return error(422, f"unknown field {unknown[0]!r}; expected strategy and requests")
        try:
            plan = GamePlan(str(body.get("strategy", "cache-lock")), body.get("requests", 2))
            started = await run_in_threadpool(games.start, plan)
        except InvalidInput as bad:
            return _refused(bad)
        return JSONResponse(started.standing(), status_code=202)
    try:
        current = games.current()
    except NoGame as none:
        return _refused(none, 404)
    if request.method == "DELETE":
        await run_in_threadpool(current.stop)
        return JSONResponse(current.standing(), status_code=202)
    return JSONResponse(current.standing())


async def game_step(request: Request) -> Response:
    """``POST /lab/api/game/step`` ``{"step": "B lock"}``, or ``/lab/api/game/run``."""
    refusal = await run_in_threadpool(admin_refusal, request)
    if refusal is not None:
        return refusal
    try:
        current = live_lab(request).games.current()
    except NoGame as none:
        return _refused(none, 404)
    if request.url.path.endswith("/run"):
        return JSONResponse(await run_in_threadpool(current.let_run))
    body = await _body(request)
    if isinstance(body, Response):
        return body
    step = body.get("step")
    if not isinstance(step, str) or set(body) != {"step"}:
        return error(422, 'send {"step": "A dispatch"}: one job and its next phase')
    try:
        return JSONResponse(await run_in_threadpool(current.play, step))
    except InvalidInput as bad:
        return _refused(bad)


def game_schedule(request: Request) -> Response:
    """``GET /lab/api/game/schedule``: what was played, as a schedule file to save."""
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    try:
        current = live_lab(request).games.current()
    except NoGame as none:
        return _refused(none, 404)
    name = f"{current.plan.strategy}-played.json"
    return JSONResponse(
        current.schedule(),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = await read_json(request)
    except BodyProblem as problem:
        return error(problem.status, problem.message)
    if not isinstance(body, dict):
        return error(422, "send a JSON object")
    return body


LAB_ROUTES = [
    Route("/lab", lab_page, methods=["GET"]),
    Route("/lab/api/game", game, methods=["GET", "POST", "DELETE"]),
    Route("/lab/api/game/step", game_step, methods=["POST"]),
    Route("/lab/api/game/run", game_step, methods=["POST"]),
    Route("/lab/api/game/schedule", game_schedule, methods=["GET"]),
    Route("/lab/api/race", race, methods=["GET", "POST", "DELETE"]),
    Route("/lab/api/race/report", report, methods=["GET"]),
]
