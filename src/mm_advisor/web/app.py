"""`mm-advisor serve`: the consultation in a browser, for people who never open a terminal.

The same interview as the terminal's (`reasoning.session.Session`, one question at a time, only
those that still matter), the same result (`explanation.report`), logged and signed as
`consult` does (`audit.record.Keeper`). This module only carries them over HTTP: plain forms
(POST, then a redirect, so a reload repeats nothing), and the guards a page on a network needs:
a form token on every POST, same-origin checks, a strict Content-Security-Policy (no script,
no resource from elsewhere, only the pages' own styles), request size and rate limits, answers
kept on the server and never in a URL, visits forgotten when idle, and every refusal a page in
plain words with a 4xx status.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..audit import trace
from ..audit.record import Keeper, signer_from
from ..explanation import report
from ..explanation.plain import possible_words
from ..knowledge import layout, rulebase
from ..knowledge.answers import PROMPT, Answers
from ..knowledge.schema import NUMBER, YESNO
from ..reasoning.advisor import Advisor
from ..reasoning.relevance import Planner
from ..reasoning.session import Session
from . import pages
from .store import Full, Store

COOKIE = "mm_advisor_visit"
MAX_BODY = 16 * 1024  # a form here is well under 1 KiB
MAX_FIELDS = 8
ENVIRONMENT = "MM_ADVISOR_SERVE"  # how `serve` hands its settings to each worker process

CSP = (
    "default-src 'none'; style-src " + " ".join(pages.STYLE_HASHES) + "; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make a form's Origin "null"
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),  # pages hold answers: never kept by a shared cache
]


@dataclass(frozen=True)
class Settings:
    """What `mm-advisor serve` was told: the knowledge base, the log and key, the limits."""

    kb: str  # the knowledge base's folder, and its rule and fact folders
    rules: str
    facts: str
    sessions: str  # the SQLite file of the visits in progress (private to the server)
    log: str | None = None
    sign_key: str | None = None
    idle_minutes: int = 30
    rate: int = 300  # requests per minute from one address

    def to_environment(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_environment(cls) -> "Settings":
        return cls(**json.loads(os.environ[ENVIRONMENT]))


class Refused(Exception):
    """A request this service will not serve: a page in plain words, with its status."""

    def __init__(self, status: int, title: str, text: str):
        super().__init__(title)
        self.status, self.title, self.text = status, title, text


STALE = Refused(
    409,
    "This page was out of date",
    "It answered a question that is no longer the one being asked (perhaps from another tab, "
    "or after going back in the browser). Nothing was changed; continue from the current one.",
)
FORGED = Refused(
    403,
    "This form cannot be accepted",
    "It did not come from this consultation's own page, or the consultation has ended. "
    "Nothing was changed.",
)


class Service:
    """The consultation over HTTP, for one knowledge base: the rules are compiled once, the
    planner and the advisor built once, and each request rebuilds its visit's session."""

    def __init__(self, settings: Settings):
        where = layout.locate(Path(settings.kb), Path(settings.rules), Path(settings.facts))
        self.rulebase = rulebase.load(where)
        self.schema = self.rulebase.schema
        self.planner = Planner(self.rulebase)
        self.advisor = Advisor(self.rulebase)
        self.settings = settings
        self.signer = signer_from(settings.sign_key)
        self.log_name = Path(settings.log).name if settings.log else None
        self.idle_minutes = settings.idle_minutes

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """The log and the visits are opened where requests are served (SQLite connections
        stay in the thread that opened them), and closed when the server stops."""
        self.keeper = Keeper(self.signer, self.settings.log)
        self.store = Store(self.settings.sessions, self.idle_minutes * 60)
        try:
            yield
        finally:
            self.keeper.close()
            self.store.close()

    # The visit: its state on the server, and the interview rebuilt from it.

    def session(self, state: dict[str, Any]) -> Session:
        given = Answers()
        for fact, value in state["values"].items():
            given.give(fact, value, PROMPT)
        session = Session(self.rulebase, self.planner, given)
        session.order = list(state["order"])
        session.history = list(state["history"])
        return session

    @staticmethod
    def remember(state: dict[str, Any], session: Session) -> None:
        """Keep the session's answers in the visit's state (the question to ask is found anew)."""
        state.pop("asking", None)
        state["values"] = dict(session.given.values)
        state["order"] = list(session.order)
        state["history"] = list(session.history)

    def current(self, visit: str, state: dict[str, Any], session: Session) -> str | None:
        """The question being asked: one reopened (back, or changed in the review), else the
        planner's next (kept until the answers change: the page and its form agree, and the
        planner runs once per question); None when no answer can change the result any more."""
        if state.get("reopened"):
            return state["reopened"]
        if "asking" not in state:
            state["asking"] = session.next_fact()
            self.store.save(visit, state)
        return state["asking"]

    def visit(self, request: Request) -> tuple[str, dict[str, Any]] | None:
        visit = request.cookies.get(COOKIE)
        state = self.store.load(visit)
        return None if state is None else (visit, state)

    def new_visit(self) -> tuple[str, dict[str, Any]]:
        try:
            return self.store.create()
        except Full:
            raise Refused(
                503,
                "Too many consultations at once",
                "This service is at its limit of consultations in progress. Please try again "
                "in a few minutes.",
            ) from None

    # Pages.

    async def start(self, request: Request) -> Response:
        found = self.visit(request)
        if found is not None:
            visit, state = found
            resuming = bool(state["order"]) or "doc" in state
            return _page(self.start_page(state, resuming))
        visit, state = self.new_visit()
        notice = (
            f"Your earlier consultation ended after {self.idle_minutes} minutes without "
            "activity; its answers were not kept."
            if request.cookies.get(COOKIE)
            else ""
        )
        return _with_cookie(_page(self.start_page(state, False, notice)), visit, request)

    def start_page(self, state: dict[str, Any], resuming: bool, notice: str = "") -> str:
        questions = len(self.schema.facts)
        return pages.start(state["token"], questions, bool(self.log_name), resuming, notice)

    async def ask(self, request: Request) -> Response:
        visit, state = self.required(request)
        if "doc" in state:
            return _go("/result")
        session = self.session(state)
        fact = self.current(visit, state, session)
        if fact is None:
            return _go("/review")
        return _page(self.question(state, session, fact))

    def question(self, state: dict[str, Any], session: Session, fact: str, error: str = "") -> str:
        return pages.question(
            self.schema.facts[fact],
            session.number(fact),
            state.get("had") if state.get("reopened") == fact else None,
            session.why(fact),
            possible_words(session.possible(), self.schema),
            state["token"],
            bool(session.history),
            error,
        )

    async def answer(self, request: Request) -> Response:
        visit, state = self.required(request)
        form = await _form(request, state)
        if "doc" in state:
            return _go("/result")
        session = self.session(state)
        fact = self.current(visit, state, session)
        action = form.get("action", "next")
        if action == "back":
            went = session.back()
            if went is not None:
                state["reopened"], state["had"] = went
            return self.save(visit, state, session, "/question")
        if fact is None or form.get("fact") != fact:
            raise STALE
        spec = self.schema.facts[fact]
        if action == "skip":
            value = None
        elif action == "next":
            raw = form.get("answer", "").strip()
            try:
                if not raw:
                    raise ValueError("no answer chosen")
                value = spec.parse(raw)
            except ValueError:
                return _page(self.question(state, session, fact, _what_to_answer(spec)), 422)
        else:
            raise _unclear("It asked for no known action.")
        session.answer(fact, value)
        state.pop("reopened", None)
        state.pop("had", None)
        return self.save(visit, state, session, "/question")

    async def review(self, request: Request) -> Response:
        visit, state = self.required(request)
        session = self.session(state)
        if "doc" in state:
            return _go("/result")
        if self.current(visit, state, session) is not None:
            return _go("/question")
        answered = [(f, session.given.values[f]) for f in session.answered()]
        return _page(pages.review(self.schema, answered, session.not_asked(), state["token"]))

    async def change(self, request: Request) -> Response:
        visit, state = self.required(request)
        form = await _form(request, state)
        session = self.session(state)
        fact = form.get("fact")
        if "doc" in state or fact not in session.answered():
            raise STALE
        state["reopened"], state["had"] = fact, session.given.values[fact]
        session.reopen(fact)
        return self.save(visit, state, session, "/question")

    async def conclude(self, request: Request) -> Response:
        visit, state = self.required(request)
        await _form(request, state)
        if "doc" not in state:  # a second press of the button changes nothing
            session = self.session(state)
            if self.current(visit, state, session) is not None:
                raise STALE
            answers = session.given.completed(self.schema)
            doc = trace.build(self.rulebase, answers, self.advisor.consult(answers.values))
            state["doc"], state["entry"] = self.keeper.seal(doc)
            self.store.save(visit, state)
        return _go("/result")

    async def result(self, request: Request) -> Response:
        visit, state = self.required(request)
        if "doc" not in state:
            return _go("/question")
        actions = pages.actions(state["token"], state["entry"])
        return _page(self.report(state, head=pages.HEAD, actions=actions))

    async def download(self, request: Request) -> Response:
        visit, state = self.required(request)
        if "doc" not in state:
            return _go("/question")
        return HTMLResponse(
            self.report(state),
            headers={"content-disposition": 'attachment; filename="mm-advisor-report.html"'},
        )

    def report(self, state: dict[str, Any], **page: str) -> str:
        kept = [f"--log {self.log_name} {state['entry']}"] if state["entry"] is not None else []
        return report.build(state["doc"], self.advisor, kept, pages.UNKEPT, **page)

    async def restart(self, request: Request) -> Response:
        visit, state = self.required(request)
        await _form(request, state)
        self.store.forget(visit)
        visit, state = self.new_visit()
        return _with_cookie(_go("/question"), visit, request)

    # Helpers.

    def required(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The request's visit; a request without one (never started, or idle too long) is
        sent to the start, or refused if it was a form."""
        found = self.visit(request)
        if found is None:
            if request.method == "POST":
                raise FORGED
            raise Redirect("/")
        return found

    def save(self, visit: str, state: dict[str, Any], session: Session, to: str) -> Response:
        self.remember(state, session)
        self.store.save(visit, state)
        return _go(to)


class Redirect(Exception):
    def __init__(self, to: str):
        super().__init__(to)
        self.to = to


def _what_to_answer(spec: Any) -> str:
    """What to do about an answer that cannot be taken (the answer itself is not repeated)."""
    if spec.type == NUMBER:
        unit = f" {spec.unit}" if spec.unit else ""
        return (
            f"Enter a whole number from {spec.minimum} to {spec.maximum}{unit}, or choose "
            "“Not sure, skip”."
        )
    if spec.type == YESNO:
        return "Choose yes or no, or “Not sure, skip”."
    return "Choose one of the answers, or “Not sure, skip”."


async def _form(request: Request, state: dict[str, Any]) -> dict[str, str]:
    """The fields of a POSTed form, refused unless it is small, well-formed, from this site,
    and carries the visit's own token."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise FORGED
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise FORGED
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        raise _unclear("It was not sent as a web form.", 415)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TOO_LARGE
    try:
        text = body.decode("utf-8")
        fields = []
        if text:
            fields = parse_qsl(
                text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS
            )
    except ValueError:  # not UTF-8, not a form's encoding, or too many fields
        raise _unclear("It was not a well-formed web form.") from None
    form = dict(fields)
    if len(form) != len(fields):
        raise _unclear("It named a field twice.")
    if not hmac.compare_digest(form.get("token", "").encode(), state["token"].encode()):
        raise FORGED
    return form


TOO_LARGE = Refused(413, "This form is too large", "A form here is never that large.")


def _unclear(why: str, status: int = 400) -> Refused:
    return Refused(status, "This form cannot be understood", why)


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status)


def _go(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _with_cookie(response: Response, visit: str, request: Request) -> Response:
    response.set_cookie(
        COOKIE,
        visit,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _problem(status: int, title: str, text: str) -> HTMLResponse:
    return HTMLResponse(pages.problem(title, text), status_code=status)


NOT_FOUND = ("There is no such page", "The address may be mistyped, or the page may have moved.")


def create(settings: Settings) -> Callable:
    """The web application for `settings`: Starlette routes behind the guard."""
    service = Service(settings)

    async def refused(request: Request, error: Exception) -> Response:
        if isinstance(error, Redirect):
            return _go(error.to)
        assert isinstance(error, Refused)
        return _problem(error.status, error.title, error.text)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 404:
            return _problem(404, *NOT_FOUND)
        if error.status_code == 405:
            return _problem(405, "This page cannot do that", "It is not used that way.")
        return _problem(error.status_code, "This request cannot be served", "Please start again.")

    async def failed(request: Request, error: Exception) -> Response:
        return _problem(
            500,
            "Something went wrong on our side",
            "The consultation could not go on. Nothing you answered was shown to anyone; "
            "please start again.",
        )

    async def nothing(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", service.start, methods=["GET"]),
        Route("/question", service.ask, methods=["GET"]),
        Route("/question", service.answer, methods=["POST"]),
        Route("/review", service.review, methods=["GET"]),
        Route("/change", service.change, methods=["POST"]),
        Route("/result", service.conclude, methods=["POST"]),
        Route("/result", service.result, methods=["GET"]),
        Route("/report", service.download, methods=["GET"]),
        Route("/restart", service.restart, methods=["POST"]),
        Route("/favicon.ico", nothing, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=service.lifespan,
        exception_handlers={
            Refused: refused,
            Redirect: refused,
            HTTPException: http_error,
            Exception: failed,
        },
    )
    return Guard(app, settings.rate)


def from_environment() -> Callable:
    """The application of each worker `serve` starts (its settings in the environment)."""
    return create(Settings.from_environment())


Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class Guard:
    """Around the application: headers on every response, a size limit on every request, and
    at most `rate` requests a minute from one address (per worker process)."""

    def __init__(self, app: Callable, rate: int, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.rate = rate
        self.clock = clock
        self.windows: dict[str, tuple[float, int]] = {}

    def allowed(self, client: str) -> bool:
        now = self.clock()
        start, count = self.windows.get(client, (now, 0))
        if now - start >= 60:
            start, count = now, 0
        if len(self.windows) > 10_000:  # forget addresses whose minute is over
            self.windows = {c: w for c, w in self.windows.items() if now - w[0] < 60}
        self.windows[client] = (start, count + 1)
        return count < self.rate

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *HEADERS,
                ]
            await send(message)

        client = (scope.get("client") or ("unknown",))[0]
        if not self.allowed(client):
            response: Response = _problem(
                429,
                "Too many requests",
                "This address sent more requests in a minute than a person would. Please wait a "
                "minute and try again.",
            )
            response.headers["retry-after"] = "60"
            await response(scope, receive, guarded)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY:
            await _problem(TOO_LARGE.status, TOO_LARGE.title, TOO_LARGE.text)(
                scope, receive, guarded
            )
            return
        await self.app(scope, receive, guarded)
