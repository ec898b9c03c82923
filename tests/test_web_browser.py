"""`mm-advisor serve` in a real browser: the README's command started as a person starts it,
Debian's Chromium driven by Playwright through whole consultations, at desktop and phone sizes,
light and dark, by mouse and by keyboard alone, and audited by axe-core."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import KB_ARGS, PROFILES, invoke

pytestmark = pytest.mark.slow  # a server process and a browser

SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mm-advisor serve` on a free port, with a log; its address."""
    pytest.importorskip("uvicorn", reason="the web extra is a test extra")
    where = tmp_path_factory.mktemp("serve")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "mm-advisor"), "serve", *KB_ARGS,
               "--port", str(port), "--log", str(where / "log.db")]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # until it accepts connections (or has stopped)
        assert process.poll() is None, process.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
    yield address, where / "log.db"
    process.terminate()
    process.wait(timeout=30)


class Person:
    """A person at the browser: answers what is asked from `answers`, not sure otherwise."""

    def __init__(self, page, address: str, keyboard: bool = False):
        self.page, self.address, self.keyboard = page, address, keyboard
        self.asked: list[str] = []
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("request", self._request)

    def _console(self, message) -> None:
        """Errors the browser reports (a style or resource the policy blocked, say); an answer
        refused with its 422 status is expected."""
        if message.type == "error" and "status of 422" not in message.text:
            self.problems.append(message.text)

    def _request(self, request) -> None:
        if not request.url.startswith(self.address):
            self.problems.append(f"a request elsewhere: {request.url}")

    def start(self) -> None:
        self.page.goto(self.address + "/")
        self.press_or_click(self.page.get_by_role("link", name="Start"))

    def press_or_click(self, target) -> None:
        """Follow a link or send a form, and wait for the page it leads to."""
        if self.keyboard:
            self.tab_to(target)
        with self.page.expect_navigation():
            if self.keyboard:
                self.page.keyboard.press("Enter")
            else:
                target.click()

    def tab_to(self, target) -> None:
        """Press Tab until `target` has the focus, as a keyboard user does."""
        for _ in range(40):
            self.page.keyboard.press("Tab")
            if target.evaluate("e => e === document.activeElement"):
                return
        raise AssertionError(f"Tab never reached {target}")

    def fact(self) -> str | None:
        if not self.page.url.endswith("/question"):
            return None
        return self.page.locator('input[name="fact"]').get_attribute("value")

    def answer(self, answers: dict) -> None:
        """Answer the question on the page from `answers` (not sure when they do not say)."""
        fact = self.fact()
        self.asked.append(fact)
        value = answers.get(fact)
        if value is None or value == "unknown":
            self.press_or_click(self.page.get_by_role("button", name="Not sure, skip"))
            return
        number = self.page.locator('input[type="number"]')
        if number.count():
            if self.keyboard:
                self.tab_to(number)
                self.page.keyboard.press("Control+a")
                self.page.keyboard.type(str(value))
            else:
                number.fill(str(value))
        else:
            word = {True: "yes", False: "no"}.get(value, value)
            radio = self.page.get_by_role("radio", name=word.capitalize(), exact=True)
            if self.keyboard:
                self.tab_to(self.page.locator('input[type="radio"]').first)
                while not radio.evaluate("e => e === document.activeElement"):
                    self.page.keyboard.press("ArrowDown")
                self.page.keyboard.press("Space")
            else:
                radio.check()
        self.press_or_click(self.page.get_by_role("button", name="Next"))

    def consult(self, answers: dict) -> str:
        """Through the questions and the review to the result; the result's headline."""
        while self.fact() is not None:
            self.answer(answers)
        assert self.page.url.endswith("/review"), self.page.url
        self.press_or_click(self.page.get_by_role("button", name="See the recommendation"))
        assert self.page.url.endswith("/result")
        return self.page.locator("h1").inner_text()


def audit(page) -> list[str]:
    """axe-core's serious and critical violations on the page, in words."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in found if v["impact"] in SERIOUS]


@pytest.mark.parametrize("profile", sorted(p.stem for p in PROFILES.glob("*.yaml")))
def test_each_profile_in_the_browser_ends_where_consult_does(server, browser, profile):
    address, log = server
    path = PROFILES / f"{profile}.yaml"
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    person = Person(page, address)
    person.start()
    said = person.consult(yaml.safe_load(path.read_text()))
    terminal = invoke("consult", *KB_ARGS, "--answers", str(path), "--no-input").stdout
    assert said == terminal.splitlines()[0]
    every = json.loads(invoke("questions", *KB_ARGS, "--format", "json").stdout)
    assert len(person.asked) < len(every)  # only the questions that still mattered
    assert person.problems == []  # no request elsewhere, nothing the policy blocked
    entry = re.search(r"log as number (\d+)", page.content()).group(1)
    assert invoke("audit", "verify", *KB_ARGS, "--log", str(log), entry).exit_code == 0
    page.close()


@pytest.mark.parametrize(
    ("size", "scheme", "keyboard"),
    [((1280, 800), "light", False), ((390, 844), "dark", True)],
    ids=["desktop-light-mouse", "phone-dark-keyboard"],
)
def test_a_whole_consultation_is_accessible(server, browser, size, scheme, keyboard, tmp_path):
    address, _ = server
    shots = Path(os.environ.get("MM_ADVISOR_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
    person = Person(page, address, keyboard=keyboard)
    page.goto(address + "/")
    found = {"start": audit(page)}
    page.screenshot(path=str(shots / f"web-start-{width}-{scheme}.png"), full_page=True)
    person.press_or_click(page.get_by_role("link", name="Start"))
    found["question"] = audit(page)
    page.get_by_text("Why is this asked?").click()
    found["question, why"] = audit(page)
    page.screenshot(path=str(shots / f"web-question-{width}-{scheme}.png"), full_page=True)
    answers = yaml.safe_load((PROFILES / "stepping-stone.yaml").read_text())
    while person.fact() != "months_available":
        person.answer(answers)
    # An answer that cannot be taken is said, and the page still passes the audit.
    person.answer({"months_available": 500})
    assert page.get_by_role("alert").inner_text().startswith("Enter a whole number from 1 to 120")
    found["question, refused"] = audit(page)
    page.screenshot(path=str(shots / f"web-refused-{width}-{scheme}.png"), full_page=True)
    while person.fact() is not None:
        person.answer(answers)
    found["review"] = audit(page)
    page.screenshot(path=str(shots / f"web-review-{width}-{scheme}.png"), full_page=True)
    headline = person.consult(answers)
    assert headline == "We recommend a MicroMasters as a stepping stone to a master's."
    found["result"] = audit(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(shots / f"web-result-{width}-{scheme}.png"), full_page=True)
    assert {where: v for where, v in found.items() if v} == {}
    assert person.problems == []
    assert html.unescape(page.content()).count("Download this report") == 1
    page.close()
