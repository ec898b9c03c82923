"""The pages of a browser consultation, as HTML: plain forms that work without JavaScript, in
the report's look (light and dark), every value escaped. What they say comes from the session
and the knowledge base; no page decides anything."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ..explanation.plain import said_words
from ..explanation.report import CSS, e
from ..knowledge.rulebase import Rule
from ..knowledge.schema import NUMBER, YESNO, FactSpec, Schema

FORM_CSS = """
form { margin: 0; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend { padding: 0; }
legend h1 { margin-bottom: 0.8rem; }
.choices label { display: flex; gap: 0.6rem; align-items: center; padding: 0.55rem 0.8rem;
  margin: 0.4rem 0; border: 1px solid var(--line); border-radius: 6px; cursor: pointer; }
.choices input { width: 1.15rem; height: 1.15rem; margin: 0; accent-color: var(--accent); }
input[type=number] { font: inherit; width: 8rem; padding: 0.45rem 0.6rem; color: var(--fg);
  background: var(--bg); border: 1px solid var(--muted); border-radius: 6px; }
.row { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: center; margin: 1.2rem 0; }
button, a.button { font: inherit; font-weight: 600; padding: 0.5rem 1rem; border-radius: 6px;
  border: 1px solid var(--accent); background: var(--accent); color: var(--bg); cursor: pointer;
  text-decoration: none; display: inline-block; }
button.quiet, a.quiet { background: transparent; color: var(--accent); }
button.link { padding: 0.1rem 0.4rem; font-weight: normal; font-size: 0.9rem; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.error { color: #b3261e; font-weight: 600; }
@media (prefers-color-scheme: dark) { .error { color: #ffb4ab; } }
.help { color: var(--muted); }
nav.actions { margin: 0 0 1rem; padding: 0.6rem 0.8rem; background: var(--soft);
  border: 1px solid var(--line); border-radius: 6px; }
@media print { nav.actions { display: none; } }
"""


def _hash(style: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"


# The only styles a page may use (the Content-Security-Policy names them; no inline script).
STYLE_HASHES = (_hash(CSS), _hash(FORM_CSS))
HEAD = f"<style>{FORM_CSS}</style>"


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)} - mm-advisor</title>\n<style>{CSS}</style>{HEAD}</head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


def _token(token: str) -> str:
    return f'<input type="hidden" name="token" value="{e(token)}">'


def start(token: str, questions: int, logged: bool, resuming: bool, notice: str = "") -> str:
    kept = (
        "The result, with your answers, is kept in this office's consultation log, so that it "
        "can be checked later; nothing else is kept."
        if logged
        else "Nothing you answer is kept after you close this page."
    )
    body = [
        '<p class="kicker">mm-advisor</p>',
        "<h1>A MicroMasters, a full master's degree, or one leading to the other?</h1>",
    ]
    if notice:
        body.append(f'<p class="lead" role="status">{e(notice)}</p>')
    body += [
        f"<p>Answer a few questions about your goals. Only those that can still change the advice "
        f"are asked, most decisive first: usually fewer than the {questions} there are. Every "
        "reason in the result quotes the article it follows.</p>",
        f"<p>{e(kept)}</p>",
        '<div class="row">',
        f'<a class="button" href="/question">{"Continue" if resuming else "Start"}</a>',
    ]
    if resuming:
        body.append(
            f'<form method="post" action="/restart">{_token(token)}'
            '<button class="quiet">Start again</button></form>'
        )
    body.append("</div>")
    return page("Start", "\n".join(body))


def question(
    spec: FactSpec,
    number: int,
    had: Any,
    why: list[Rule],
    possible: str,
    token: str,
    can_go_back: bool,
    error: str = "",
) -> str:
    """One question: its answers as radio buttons (or a number box), and Next, Not sure, Back.
    `had`: the answer to show chosen (going back, or changing it in the review)."""
    described = ' aria-describedby="problem"' if error else ""
    invalid = ' aria-invalid="true"' if error else ""
    problem = f'<p class="error" id="problem" role="alert">{e(error)}</p>' if error else ""
    if spec.type == NUMBER:
        unit = f" ({e(spec.unit)})" if spec.unit else ""
        value = f' value="{had}"' if isinstance(had, int) and not isinstance(had, bool) else ""
        field = (
            f'<h1><label for="answer">{e(spec.question)}</label></h1>{problem}'
            f'<p class="help" id="range">A whole number from {spec.minimum} to {spec.maximum}'
            f"{unit}.</p>"
            f'<input id="answer" name="answer" type="number" inputmode="numeric" '
            f'min="{spec.minimum}" max="{spec.maximum}" step="1"{value}{invalid} '
            f'aria-describedby="range{" problem" if error else ""}">'
        )
    else:
        choices = ("yes", "no") if spec.type == YESNO else spec.choices
        options = []
        for choice in choices:
            chosen = had is not None and spec.render(had) == choice
            options.append(
                f'<label><input type="radio" name="answer" value="{e(choice)}"'
                f"{' checked' if chosen else ''}{invalid}> {e(choice.capitalize())}</label>"
            )
        field = (
            f"<fieldset{described}><legend><h1>{e(spec.question)}</h1></legend>{problem}"
            f'<div class="choices">{"".join(options)}</div></fieldset>'
        )
    back = '<button class="quiet" name="action" value="back">Back</button>' if can_go_back else ""
    reasons = "".join(
        f"<li>{e(rule.title)}.<blockquote>&ldquo;{e(' '.join(rule.source.quote.split()))}"
        "&rdquo;</blockquote></li>"
        for rule in why
    )
    body = [
        f'<p class="kicker">Question {number}</p>',
        f'<form method="post" action="/question" novalidate>{_token(token)}',
        f'<input type="hidden" name="fact" value="{e(spec.name)}">',
        field,
        '<div class="row"><button name="action" value="next">Next</button>',
        f'<button class="quiet" name="action" value="skip">Not sure, skip</button>{back}</div>',
        "</form>",
        "<details><summary>Why is this asked?</summary>",
        f"<p>{e(spec.help)}</p>" if spec.help else "",
        f"<p>Your answer decides whether these can still count:</p><ul>{reasons}</ul>"
        if reasons
        else "",
        f"<p>Still possible: {e(possible)}.</p></details>",
    ]
    return page(f"Question {number}", "\n".join(b for b in body if b))


def review(
    schema: Schema, answered: list[tuple[str, Any]], not_asked: dict[str, list[str]], token: str
) -> str:
    """The answers in words, each with a Change button, then the way to the result."""
    rows = "".join(
        f"<dt>{e(schema.facts[fact].question)}</dt><dd>{e(said_words(schema.facts[fact], value))} "
        f'<button class="quiet link" name="fact" value="{e(fact)}" '
        f'aria-label="Change the answer to: {e(schema.facts[fact].question)}">Change</button></dd>'
        for fact, value in answered
    )
    skipped = "".join(
        f"<p>Not asked, because {e(reason)}:</p><ul>"
        + "".join(f"<li>{e(schema.facts[f].question)}</li>" for f in facts)
        + "</ul>"
        for reason, facts in not_asked.items()
    )
    body = [
        '<p class="kicker">Before the result</p>',
        "<h1>Your answers</h1>",
        "<p>Check them; change any of them, and only the questions that then matter are asked.</p>",
        f'<form method="post" action="/change">{_token(token)}<dl class="answers">{rows}</dl>'
        "</form>"
        if rows
        else "<p>You have answered no question: the result will say what would decide it.</p>",
        f"<details><summary>The questions not asked</summary>{skipped}</details>"
        if skipped
        else "",
        f'<form method="post" action="/result">{_token(token)}<div class="row">'
        "<button>See the recommendation</button></div></form>",
    ]
    return page("Your answers", "\n".join(b for b in body if b))


def actions(token: str, entry: int | None) -> str:
    """The bar above the report on the result page (hidden when printed)."""
    reference = (
        f"<p>This consultation is kept in the office&#x27;s log as number {entry}: give that "
        "number if you want it checked.</p>"
        if entry is not None
        else ""
    )
    return (
        '<nav class="actions" aria-label="This consultation">'
        f'<div class="row"><a class="button" href="/report" download>Download this report</a>'
        f'<form method="post" action="/restart">{_token(token)}'
        '<button class="quiet">Start a new consultation</button></form></div>'
        f"{reference}</nav>"
    )


UNKEPT = "No trace of this consultation was kept (this service keeps no log)."


def problem(title: str, text: str) -> str:
    """A page for a request that cannot be served, in plain words (no details of the server)."""
    return page(
        title,
        f'<p class="kicker">mm-advisor</p><h1>{e(title)}</h1><p>{e(text)}</p>'
        '<p><a href="/">Go to the start</a></p>',
    )
