"""`mm-advisor serve`: the consultation over HTTP, in process (Starlette's test client): the
same questions and result as `consult`, and every hostile or broken request a 4xx page."""

from __future__ import annotations

import html
import json
import re
import socket
import time
from pathlib import Path

import pytest
import yaml
from conftest import KB_ARGS, PROFILES, REPO, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

testclient = pytest.importorskip("starlette.testclient", reason="the web extra is a test extra")

from mm_advisor.knowledge import layout  # noqa: E402
from mm_advisor.web import app as web  # noqa: E402
from mm_advisor.web.pages import STYLE_HASHES  # noqa: E402

SHIPPED = layout.locate(REPO, None, None)


def make_settings(tmp_path: Path, **options) -> web.Settings:
    return web.Settings(
        kb=str(SHIPPED.root),
        rules=str(SHIPPED.rules),
        facts=str(SHIPPED.facts),
        sessions=str(tmp_path / "visits.sqlite"),
        **options,
    )


class Visitor:
    """One person at a browser, as plain HTTP: follows the pages as a form-only browser would."""

    def __init__(self, client):
        self.client = client

    def get(self, path: str):
        return self.client.get(path, follow_redirects=False)

    def post(self, path: str, **fields):
        return self.client.post(path, data=fields, follow_redirects=False)

    def question(self) -> tuple[str | None, str]:
        """The question being asked (None once there is none) and its page."""
        page = self.get("/question")
        if page.status_code == 303:
            return None, page.headers["location"]
        assert page.status_code == 200
        return re.search(r'name="fact" value="([^"]+)"', page.text).group(1), page.text

    def token(self) -> str:
        page = self.get("/question")
        if page.status_code == 303:
            page = self.get(page.headers["location"])
        return re.search(r'name="token" value="([^"]+)"', page.text).group(1)

    def answer(self, fact: str, value: str | None, **extra):
        fields = {"token": self.token(), "fact": fact, **extra}
        if value is None:
            fields["action"] = "skip"
        else:
            fields.update(action="next", answer=value)
        return self.post("/question", **fields)

    def consult(self, answers: dict) -> tuple[list[str], str]:
        """Answer what is asked from `answers` (not sure when they do not say); the questions
        asked, and the result page."""
        asked = []
        self.get("/")
        while True:
            fact, _ = self.question()
            if fact is None:
                break
            asked.append(fact)
            value = answers.get(fact)
            said = None if value in (None, "unknown") else _form_value(value)
            assert self.answer(fact, said).status_code == 303
        assert self.get("/review").status_code == 200
        assert self.post("/result", token=self.token()).headers["location"] == "/result"
        return asked, self.get("/result").text


def _form_value(value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


@pytest.fixture
def client(tmp_path):
    with testclient.TestClient(
        web.create(make_settings(tmp_path, log=str(tmp_path / "log.db")))
    ) as c:
        yield c


@pytest.fixture
def visitor(client):
    return Visitor(client)


def headline(page: str) -> str:
    return html.unescape(re.search(r"<h1>(.*?)</h1>", page).group(1))


@pytest.mark.parametrize("profile", sorted(p.stem for p in PROFILES.glob("*.yaml")))
def test_every_profile_ends_in_what_consult_says_asking_only_what_matters(
    visitor, profile, tmp_path
):
    path = PROFILES / f"{profile}.yaml"
    answers = yaml.safe_load(path.read_text())
    asked, result = visitor.consult(answers)
    said = json.loads(
        invoke("consult", *KB_ARGS, "--answers", str(path), "--format", "json").stdout
    )
    terminal = invoke("consult", *KB_ARGS, "--answers", str(path), "--no-input").stdout
    assert headline(result) == terminal.splitlines()[0]
    assert len(asked) == len(set(asked)) and len(asked) < 15  # only what still mattered
    # Logged, as consult --log logs: the page names the entry, and audit verify accepts it.
    entry = int(re.search(r"log as number (\d+)", result).group(1))
    verified = invoke("audit", "verify", *KB_ARGS, "--log", str(tmp_path / "log.db"), str(entry))
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    logged = json.loads(
        invoke(
            "audit", "show", "--log", str(tmp_path / "log.db"), str(entry), "--format", "json"
        ).stdout
    )
    assert logged["recommendation"] == said["recommendation"]


def test_the_first_page_and_the_headers_every_page_has(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "<h1>A MicroMasters, a full master's degree, or one leading to the other?</h1>" in (
        page.text
    )
    assert page.headers["content-security-policy"] == (
        f"default-src 'none'; style-src {' '.join(STYLE_HASHES)}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("mm_advisor_visit=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Secure" not in cookie and "Path=/" in cookie
    assert "<script" not in page.text
    # Every style on the page is one the policy names.
    for style in re.findall(r"<style>(.*?)</style>", page.text, re.S):
        from mm_advisor.web.pages import _hash

        assert _hash(style) in STYLE_HASHES


def test_behind_tls_the_cookie_is_secure(tmp_path):
    with testclient.TestClient(
        web.create(make_settings(tmp_path)), base_url="https://advice.example.edu"
    ) as c:
        assert "Secure" in c.get("/").headers["set-cookie"]


def test_a_reload_keeps_the_answers_and_back_shows_the_one_given(visitor):
    visitor.get("/")
    first, page = visitor.question()
    assert visitor.question()[0] == first  # a reload asks the same
    assert "Back</button>" not in page  # nothing to go back to yet
    assert visitor.answer(first, "no").headers["location"] == "/question"
    second, page = visitor.question()
    assert second != first and "Back</button>" in page
    assert '<p class="kicker">Question 2</p>' in page
    assert (
        visitor.post("/question", token=visitor.token(), fact=second, action="back").status_code
        == 303
    )
    again, page = visitor.question()
    assert again == first
    assert '<input type="radio" name="answer" value="no" checked>' in page
    assert '<p class="kicker">Question 1</p>' in page
    start = visitor.get("/").text
    assert ">Continue</a>" in start and "Start again</button>" in start


def test_the_review_changes_an_answer_and_asks_only_what_then_matters(visitor):
    visitor.get("/")
    while (fact := visitor.question()[0]) is not None:
        visitor.answer(fact, None)
    review = visitor.get("/review").text
    assert "<h1>Your answers</h1>" in review
    assert "<dt>Will you be working while you study?</dt><dd>not sure " in review
    assert (
        visitor.post("/change", token=visitor.token(), fact="working_professional").status_code
        == 303
    )
    fact, page = visitor.question()
    assert fact == "working_professional"
    visitor.answer(fact, "yes")
    while (fact := visitor.question()[0]) is not None:
        visitor.answer(fact, None)
    assert "<dt>Will you be working while you study?</dt><dd>yes " in visitor.get("/review").text


def test_an_answer_that_cannot_be_taken_is_asked_again_without_repeating_it(visitor):
    visitor.get("/")
    while (fact := visitor.question()[0]) != "months_available":
        visitor.answer(fact, "no" if fact != "budget" else "high")
    for raw in ("99999", "0", "twelve", "", "1e3", "<script>alert(1)</script>"):
        page = visitor.answer("months_available", raw)
        assert page.status_code == 422
        assert (
            '<p class="error" id="problem" role="alert">Enter a whole number from 1 to 120 months, '
            "or choose “Not sure, skip”.</p>"
        ) in page.text
        assert 'aria-invalid="true"' in page.text
        assert "alert(1)" not in page.text and "twelve" not in page.text
    assert visitor.answer("months_available", "12").status_code == 303


def test_a_yes_no_question_refuses_another_word(visitor):
    visitor.get("/")
    fact, _ = visitor.question()
    page = visitor.answer(fact, "maybe")
    assert page.status_code == 422 and "Choose yes or no, or “Not sure, skip”." in page.text


def test_the_result_page_is_the_report_with_a_way_to_download_it(visitor):
    _, result = visitor.consult(yaml.safe_load((PROFILES / "stepping-stone.yaml").read_text()))
    assert headline(result) == "We recommend a MicroMasters as a stepping stone to a master's."
    assert '<a class="button" href="/report" download>Download this report</a>' in result
    assert "<h2>The full reasoning</h2>" in result
    assert "mm-advisor audit verify --log log.db 1" in html.unescape(result)
    download = visitor.get("/report")
    assert (
        download.headers["content-disposition"] == 'attachment; filename="mm-advisor-report.html"'
    )
    assert (
        "Download this report" not in download.text
        and "<h2>The full reasoning</h2>" in download.text
    )
    # Pressing the button again (or reloading after it) logs nothing twice.
    assert visitor.post("/result", token=visitor.token()).status_code == 303
    assert "log as number 1:" in visitor.get("/result").text
    assert visitor.get("/question").headers["location"] == "/result"
    restart = visitor.post("/restart", token=visitor.token())
    assert (
        restart.headers["location"] == "/question"
        and "mm_advisor_visit=" in restart.headers["set-cookie"]
    )
    assert visitor.question()[0] is not None


def test_without_a_log_the_result_says_nothing_was_kept(tmp_path):
    with testclient.TestClient(web.create(make_settings(tmp_path))) as c:
        _, result = Visitor(c).consult({})
    assert "No trace of this consultation was kept (this service keeps no log)." in result
    assert "office&#x27;s log" not in result


# Hostile and broken requests: each a page in plain words, with its 4xx status.


def refused(response, status: int, title: str) -> None:
    assert response.status_code == status, response.text
    assert f"<h1>{html.escape(title)}</h1>" in response.text
    assert "Traceback" not in response.text and "<script" not in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_forms_from_elsewhere_are_refused(visitor):
    visitor.get("/")
    fact, _ = visitor.question()
    token = visitor.token()
    forged = "This form cannot be accepted"
    refused(visitor.post("/question", fact=fact, action="skip"), 403, forged)
    refused(visitor.post("/question", token="x" * 43, fact=fact, action="skip"), 403, forged)
    for elsewhere in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        sent = visitor.client.post(
            "/question",
            data={"token": token, "fact": fact, "action": "skip"},
            headers=elsewhere,
            follow_redirects=False,
        )
        refused(sent, 403, forged)
    assert visitor.question()[0] == fact  # nothing changed
    # Without a visit at all: a form is refused, a page sends to the start.
    visitor.client.cookies.clear()
    refused(visitor.post("/question", token=token, fact=fact, action="skip"), 403, forged)
    assert visitor.get("/question").headers["location"] == "/"


def test_malformed_forms_are_refused(visitor):
    visitor.get("/")
    fact, _ = visitor.question()
    token = visitor.token()
    understood = "This form cannot be understood"

    def raw(body: bytes, kind: str = "application/x-www-form-urlencoded"):
        return visitor.client.post(
            "/question", content=body, headers={"content-type": kind}, follow_redirects=False
        )

    refused(
        raw(f"token={token}&fact={fact}&action=skip".encode(), "application/json"), 415, understood
    )
    refused(
        raw(f"token={token}&fact={fact}&action=skip&answer=\xff".encode("latin-1")), 400, understood
    )
    refused(raw(f"token={token}&fact={fact}&fact={fact}&action=skip".encode()), 400, understood)
    refused(
        raw(("&".join(f"f{i}=1" for i in range(20)) + f"&token={token}").encode()), 400, understood
    )
    refused(raw(f"token={token}&fact={fact}&action=explode".encode()), 400, understood)
    refused(raw(b"token=" + b"a" * 20_000), 413, "This form is too large")
    stale = "This page was out of date"
    refused(raw(f"token={token}&fact=budget&action=skip".encode()), 409, stale)
    refused(raw(f"token={token}&fact=no_such_fact&action=skip".encode()), 409, stale)
    refused(visitor.post("/change", token=token, fact="never_answered"), 409, stale)
    refused(visitor.post("/result", token=token), 409, stale)  # questions still to answer
    assert visitor.question()[0] == fact


def test_unknown_pages_and_methods(client):
    refused(client.get("/admin"), 404, "There is no such page")
    refused(client.put("/question"), 405, "This page cannot do that")
    refused(client.get("/restart"), 405, "This page cannot do that")
    assert client.get("/favicon.ico").status_code == 204


def test_too_many_requests_from_one_address(tmp_path):
    with testclient.TestClient(web.create(make_settings(tmp_path, rate=5))) as c:
        assert [c.get("/").status_code for _ in range(5)] == [200] * 5
        page = c.get("/")
        refused(page, 429, "Too many requests")
        assert page.headers["retry-after"] == "60"


def test_an_idle_visit_is_forgotten(tmp_path, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    with testclient.TestClient(web.create(make_settings(tmp_path, idle_minutes=30))) as c:
        visitor = Visitor(c)
        visitor.get("/")
        fact, _ = visitor.question()
        token = visitor.token()
        visitor.answer(fact, "yes")
        now[0] += 29 * 60
        assert visitor.get("/question").status_code == 200  # still there: each request renews
        now[0] += 31 * 60
        refused(visitor.post("/question", token=token, fact=fact, action="skip"), 403,
                "This form cannot be accepted")  # fmt: skip
        start = visitor.get("/")
        assert (
            "Your earlier consultation ended after 30 minutes without activity; its answers were "
            "not kept." in start.text
        )
        assert visitor.question()[0] == fact  # a fresh start: the first question again


def test_the_store_refuses_a_visit_beyond_its_limit(tmp_path):
    from mm_advisor.web.store import Full, Store

    now = [0.0]
    store = Store(str(tmp_path / "v.sqlite"), idle_seconds=60, most=2, clock=lambda: now[0])
    first, _ = store.create()
    store.create()
    with pytest.raises(Full):
        store.create()
    now[0] = 61  # both idle too long: forgotten, room again
    store.create()
    assert store.load(first) is None and store.load("x" * 65) is None and store.load(None) is None


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.dictionaries(
        st.sampled_from(["token", "fact", "action", "answer", "x"]),
        st.text(st.characters(codec="utf-8"), max_size=40),
        max_size=5,
    ),
    path=st.sampled_from(["/question", "/change", "/result", "/restart"]),
)
def test_any_form_is_answered_with_a_page_never_an_error(visitor, fields, path):
    visitor.get("/")
    response = visitor.post(path, **fields)
    assert response.status_code in (303, 400, 403, 409, 415, 422), response.status_code
    for value in fields.values():  # nothing sent comes back as markup
        if any(c in value for c in "<>&\"'"):
            assert value not in response.text


def test_serve_says_what_is_missing_in_one_line(tmp_path, monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = invoke("serve", *KB_ARGS, "--port", str(port))
    finally:
        taken.close()
    assert result.exit_code == 2
    assert result.stderr == f"Error: --port: cannot listen on 127.0.0.1:{port}: it is in use\n"
    result = invoke("serve", *KB_ARGS, "--host", "no such host\x1b")
    assert result.exit_code == 2
    assert result.stderr == "Error: --host: cannot listen on 'no such host\\x1b': no such address\n"
    import builtins

    real = builtins.__import__

    def without_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_uvicorn)
    result = invoke("serve", *KB_ARGS)
    assert result.exit_code == 2
    assert (
        result.stderr
        == "Error: mm-advisor serve needs the web extra: pip install 'mm-advisor[web]'\n"
    )


def test_with_a_key_every_logged_consultation_is_signed(tmp_path):
    assert invoke("keys", "generate", str(tmp_path / "keys")).exit_code == 0
    key, public = (
        tmp_path / "keys" / "mm-advisor-signing.key",
        tmp_path / "keys" / "mm-advisor-signing.pub",
    )
    log = tmp_path / "log.db"
    with testclient.TestClient(
        web.create(make_settings(tmp_path, log=str(log), sign_key=str(key)))
    ) as c:
        Visitor(c).consult({"wants_complete_degree": True})
    signed = invoke(
        "audit", "verify", *KB_ARGS, "--log", str(log), "1", "--public-key", str(public)
    )
    assert signed.exit_code == 0, signed.stdout + signed.stderr
    assert invoke("keys", "generate", str(tmp_path / "other")).exit_code == 0
    other = tmp_path / "other" / "mm-advisor-signing.pub"
    wrong = invoke("audit", "verify", *KB_ARGS, "--log", str(log), "1", "--public-key", str(other))
    # Regression: a log checked with a key that signed none of it said so, but exited 0.
    assert wrong.exit_code == 5, wrong.stdout
    assert "1  NOT VERIFIED: signed, but not by a key given to check it" in wrong.stdout


def test_an_error_of_ours_is_a_page_that_says_nothing_of_the_server(tmp_path, monkeypatch):
    from mm_advisor.reasoning.session import Session

    def broken(self):
        raise RuntimeError("/srv/secret/path: internal detail")

    monkeypatch.setattr(Session, "next_fact", broken)
    with testclient.TestClient(
        web.create(make_settings(tmp_path)), raise_server_exceptions=False
    ) as c:
        c.get("/")
        page = c.get("/question")
    refused(page, 500, "Something went wrong on our side")
    assert "secret" not in page.text and "RuntimeError" not in page.text
