"""The HTML report: self-contained, escaped everywhere, and right in a real browser."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import KB_ARGS, PROFILES, invoke

STEPPING = str(PROFILES / "stepping-stone.yaml")


def report_of(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "report.html"
    result = invoke("consult", *args, "--report", str(out))
    assert result.exit_code == 0, result.stderr
    return out.read_text()


def test_the_report_is_one_self_contained_file(tmp_path):
    page = report_of(tmp_path, *KB_ARGS, "--answers", STEPPING)
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"(src|href)\s*=|url\(|https?://", page)
    assert oct(os.stat(tmp_path / "report.html").st_mode & 0o777) == "0o600"
    for heading in (
        "Why",
        "What to expect",
        "What would change it",
        "Your answers",
        "Why not the other options",
        "The full reasoning",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "<h1>We recommend a MicroMasters as a stepping stone to a master&#x27;s.</h1>" in page
    assert "<dt>How many months can you commit to study?</dt><dd>12 months</dd>" in page
    assert "<details><summary>" in page and "Rule base <code>sha256:" in page


def test_the_report_says_when_nothing_fits_and_what_weighs_against_the_path_left(tmp_path):
    html = report_of(
        tmp_path, "--set", "wants_complete_degree=yes", "--set", "budget=low",
        "--set", "program_offers_credit_pathway=no", "--set", "months_available=6",
    )  # fmt: skip
    assert "<h1>No option fits you well.</h1>" in html
    assert (
        '<p class="lead">Why: the one path left toward your goal is a full master&#x27;s degree, '
        "and more weighs against it than for it.</p>"
    ) in html
    assert "<h2>For a full master&#x27;s degree</h2>" in html
    assert "<h2>Against it</h2>" in html
    assert "<li>A full master&#x27;s does not fit the months available (-3).<blockquote>" in html
    assert "<p>On balance: +3 for, -5 against, -2 in all.</p></section>" in html


def test_explain_writes_the_same_report_from_a_trace(tmp_path):
    trace = tmp_path / "t.json"
    invoke("consult", *KB_ARGS, "--answers", STEPPING, "--trace-out", str(trace))
    page = invoke("explain", *KB_ARGS, str(trace), "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>")
    created = json.loads(trace.read_text())["created_at"]
    assert created[:4] in page  # the consultation's date


HOSTILE = """
rules:
  - id: hostile
    title: <script>alert(1)</script> and "><img src=x onerror=alert(2)>
    source:
      section: Flexibility
      quote: Designed for working professionals
    salience: 20
    when:
      - fact: working_professional
        is: yes
    then:
      score: {micromasters: 3}
"""


def test_every_string_from_the_files_is_escaped(broken_kb, tmp_path):
    rules, facts = broken_kb(HOSTILE)
    questions = facts / "questions.yaml"
    questions.write_text(
        questions.read_text().replace(
            "question: Will you be working while you study?",
            "question: 'Working? <b onmouseover=x>\"><img src=y onerror=z></b>'",
        )
    )
    page = report_of(tmp_path, "--rules", str(rules), "--facts", str(facts), "--set",
                     "working_professional=yes", "--no-input")  # fmt: skip
    assert "<script" not in page and "<img" not in page and "<b " not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "Working? &lt;b onmouseover=x&gt;" in page


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["stepping-stone", "degree-seeker", "undecided"])
def test_the_report_in_a_real_browser(tmp_path, profile, kb, browser):
    page_path = tmp_path / f"{profile}.html"
    page_path.write_text(
        report_of(tmp_path, *KB_ARGS, "--answers", str(PROFILES / f"{profile}.yaml"))
    )
    quotes = re.findall(r"<blockquote>&ldquo;(.*?)&rdquo;", page_path.read_text())
    shots = Path(os.environ.get("MM_ADVISOR_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        for scheme in ("light", "dark"):
            page = browser.new_page(
                viewport={"width": width, "height": height}, color_scheme=scheme
            )
            requests: list[str] = []
            page.on("request", lambda r, seen=requests: seen.append(r.url))
            page.goto(page_path.as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            overflowing = page.evaluate(
                "[...document.querySelectorAll('main *')].filter(e => "
                "e.getBoundingClientRect().right > innerWidth + 0.5 && "
                "!e.closest('details:not([open])')).length"
            )
            assert overflowing == 0
            assert page.locator("h1").is_visible()
            for quote in quotes:
                text = quote.replace("&#x27;", "'").replace("&quot;", '"')
                found = page.get_by_text(text, exact=False)
                assert found.first.is_visible(), text
            assert requests == [page_path.as_uri()]
            page.screenshot(path=str(shots / f"{profile}-{width}-{scheme}.png"), full_page=True)
            page.close()
    # Printed (or saved as PDF), the full reasoning shows, though on screen it is folded.
    page = browser.new_page()
    page.goto(page_path.as_uri())
    reasoning = page.locator("details h3").first
    assert not reasoning.is_visible()
    page.emulate_media(media="print")
    assert reasoning.is_visible() and page.locator("details li").last.is_visible()
    page.close()
    assert (shots / f"{profile}-390-dark.png").stat().st_size > 10_000


def test_the_footer_says_how_to_verify_the_trace_it_kept_or_that_none_was_kept(tmp_path):
    """Regression: the footer said "keep its trace and run audit verify TRACE" and showed a
    trace digest when no trace had been written (running again gives another digest)."""
    footer = report_of(tmp_path, *KB_ARGS, "--answers", STEPPING).split("<footer>")[1]
    assert "No trace of this consultation was kept, so it cannot be verified later" in footer
    assert (
        "Trace <code>" not in footer and "It follows <em>Are MicroMasters Worth It?</em>" in footer
    )
    trace_path, log = tmp_path / "my trace.json", tmp_path / "log.db"
    args = ("--answers", STEPPING, "--trace-out", str(trace_path), "--log", str(log))
    footer = report_of(tmp_path, *KB_ARGS, *args).split("<footer>")[1]
    digest = json.loads(trace_path.read_text())["content_digest"]
    assert (
        f"<p>Its trace, <code>{digest}</code>, is kept: check it later with "
        f"<code>mm-advisor audit verify &#x27;{trace_path}&#x27;</code> or "
        f"<code>mm-advisor audit verify --log {log} 1</code>.</p>"
    ) in footer


def test_the_report_names_every_question_that_would_decide_it(tmp_path):
    """Regression: the report said "And 6 more questions." without naming them; it has room."""
    answers = str(PROFILES / "undecided.yaml")
    said = invoke("consult", *KB_ARGS, "--answers", answers).stdout
    more = int(re.search(r"\.\.\. and (\d+) more questions\.", said).group(1))
    block = said.split("What would decide it\n")[1].split("\n\n")[0]
    shown = sum(line.startswith("  - ") for line in block.splitlines())
    page = report_of(tmp_path, *KB_ARGS, "--answers", answers)
    section = page.split("<h2>What would decide it</h2>")[1].split("</section>")[0]
    assert "more questions" not in page
    assert shown == 5 and section.count('<span class="unanswered">') == shown + more


def test_the_full_reasoning_speaks_in_questions_and_titles_not_names_and_ids(tmp_path):
    page = report_of(tmp_path, *KB_ARGS, "--answers", str(PROFILES / "working-professional.yaml"))
    reasoning = page[page.index("<h2>The full reasoning</h2>") : page.index("</details>")]
    assert (
        "<li>A MicroMasters program gathered the most weighed evidence of the options not ruled "
        "out (a MicroMasters program +3, a full master&#x27;s degree -1, a MicroMasters as a "
        "stepping stone to a master&#x27;s +0).</li>"
    ) in reasoning
    assert "<li>concluded: you must fit study around work and personal commitments, from:</li>" in (
        reasoning
    )
    assert (
        "<li>on &quot;Will you be working while you study?&quot;: yes, &quot;Do you need to "
        "balance study with work and personal commitments?&quot;: yes</li>"
    ) in reasoning
    assert (
        "<li>it needs: the answer to &quot;Do you want research opportunities as part of your "
        "studies?&quot; is yes; your answer: not sure</li>"
    ) in reasoning
    assert (
        "<li>it needs: the MicroMasters&#x27; credit counts toward the master&#x27;s degree you "
        "aim for; your answers do not show it</li>"
    ) in reasoning
    assert "(was not sure) -&gt; a full master&#x27;s degree</li>" in reasoning
    # No fact name, option name or rule id of the rule files: those are for `explain`.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", reasoning), re.findall(
        r"\b[a-z]+_[a-z_]+\b", reasoning
    )
    assert "flexibility-row" not in reasoning and "step 3: A full master" in reasoning


def test_conditions_in_a_persons_words(kb):
    from mm_advisor.explanation.plain import in_words
    from mm_advisor.knowledge.conditions import All, Any_, BackgroundRef, DerivedTest, FactTest, Not

    def test(fact, op, value):
        return FactTest(fact, op, value, None)

    months = 'the answer to "How many months can you commit to study?"'
    assert (
        in_words(
            test("months_available", "lt", BackgroundRef("full_masters.duration_min_months")),
            kb.schema,
        )
        == f"{months} is less than 18 months"
    )
    assert (
        in_words(test("months_available", "ge", 6), kb.schema) == f"{months} is at least 6 months"
    )
    assert in_words(test("budget", "not_in", ("low", "medium")), kb.schema).endswith(
        " is not low or medium"
    )
    assert in_words(test("working_professional", "known", False), kb.schema) == (
        'the answer to "Will you be working while you study?" is not sure'
    )
    assert in_words(
        Any_(
            (
                Not(DerivedTest("cost_sensitive", None), None),
                test("working_professional", "is_not", True),
            ),
            None,
        ),
        kb.schema,
    ) == (
        "any of (not (you need to keep the cost of your education low); "
        'the answer to "Will you be working while you study?" is not yes)'
    )
    assert in_words(All((DerivedTest("micromasters_goal", None),), None), kb.schema) == (
        "all of (a goal that the article says a MicroMasters serves)"
    )


def test_why_a_rule_did_not_fire_in_words_only_while_the_rule_still_says_so(advisor):
    """The person's words come from the current rule; when its condition there has changed
    since the trace, the trace's own record is shown instead."""
    from mm_advisor.explanation.explain import Words

    words = Words(advisor)
    stopped = {
        "rule": "research-opportunities", "title": "t", "location": "l", "index": 0,
        "condition": "wants_research_experience is yes", "result": "unknown",
        "seen": {"wants_research_experience": None},
    }  # fmt: skip
    assert words.stopped(stopped) == (
        'it needs: the answer to "Do you want research opportunities as part of your studies?" '
        "is yes; your answer: not sure"
    )
    changed = {**stopped, "condition": "wants_research_experience is no"}
    assert words.stopped(changed) == (
        "stopped by condition 1, wants_research_experience is no: unknown "
        "(wants_research_experience was unknown)"
    )
