"""A consultation report to keep: one self-contained HTML file.

Inline CSS, no scripts and no requests to anywhere: it opens offline, prints cleanly, fits a
phone, and follows the reader's light or dark setting. Every string that came from answers, rule
or fact files, or a trace, is escaped, so it shows as text and never as markup.
"""

from __future__ import annotations

import html
from typing import Any

from .. import __version__
from ..reasoning.advisor import Advisor
from . import plain
from .explain import Explainer
from .plain import Change, Plain, Reason
from .render import safe

CSS = """
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #ffffff;
  --line: #d0d7de; --accent: #0b5cad; --soft: #f3f6f9; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9aa7b4; --bg: #0d1117; --line: #30363d; --accent: #6cb6ff;
    --soft: #161b22; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.2rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.6rem; padding-bottom: 0.2rem;
  border-bottom: 1px solid var(--line); }
p, li, td, th, blockquote, dd { overflow-wrap: anywhere; }
.kicker { color: var(--muted); font-size: 0.9rem; margin: 0; }
.lead { font-size: 1.05rem; }
ul.reasons { padding-left: 1.2rem; }
ul.reasons li { margin-bottom: 0.8rem; }
blockquote { margin: 0.3rem 0 0; padding: 0.1rem 0 0.1rem 0.8rem;
  border-left: 3px solid var(--accent); color: var(--muted); }
blockquote cite { display: block; font-size: 0.85rem; font-style: normal; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.5rem;
  border-top: 1px solid var(--line); }
th { width: 9rem; color: var(--muted); font-weight: 600; }
dl.answers dt { font-weight: 600; margin-top: 0.6rem; }
dl.answers dd { margin: 0.1rem 0 0 1rem; }
.unanswered { color: var(--muted); font-style: italic; }
details { margin-top: 0.6rem; background: var(--soft); border: 1px solid var(--line);
  border-radius: 6px; padding: 0.4rem 0.8rem; }
summary { cursor: pointer; font-weight: 600; }
details ul { padding-left: 1.1rem; }
details li { margin: 0.15rem 0; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: 0.85rem;
  border-top: 1px solid var(--line); padding-top: 0.8rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em;
  overflow-wrap: anywhere; }
.col { display: none; }
@media (max-width: 30rem) {
  thead { display: none; }
  .col { display: inline; font-weight: 600; }
  table, tbody, tr, th, td { display: block; width: 100%; }
  th { border-top: 1px solid var(--line); padding-bottom: 0; }
  td { border-top: 0; padding-top: 0.1rem; }
}
@media print {
  :root { --fg: #000; --muted: #333; --bg: #fff; --line: #999; --accent: #000; --soft: #fff; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  section, li, tr, blockquote { break-inside: avoid; }
  details { border: 0; padding: 0; }
  details::details-content { content-visibility: visible; display: block; }
  summary { list-style: none; font-weight: 600; }
}
"""


def e(text: Any) -> str:
    """Text made safe to stand in HTML, inside elements and attribute values alike: markup
    escaped, and control characters shown as escapes, as in the terminal."""
    return html.escape(safe(text), quote=True)


def _reason(reason: Reason, weight: bool = False) -> str:
    points = f" ({reason.weight:+d})" if weight else ""
    return (
        f"<li>{e(reason.text[:-1])}{points}.<blockquote>&ldquo;{e(reason.quote)}&rdquo;"
        f"<cite>{e(reason.source)}, &ldquo;{e(reason.section)}&rdquo;</cite></blockquote></li>"
    )


UNKEPT = (
    "No trace of this consultation was kept, so it cannot be verified later: consult with "
    "<code>--trace-out FILE</code> or <code>--log DB</code> to keep one."
)


def build(
    doc: dict[str, Any],
    advisor: Advisor,
    kept: list[str] | None = None,
    unkept: str = UNKEPT,
    head: str = "",
    actions: str = "",
) -> str:
    """The report of the consultation in `doc` (what-if uses `advisor`'s current rules).
    `kept`: where its trace is kept, as `audit verify` takes it (a file, or --log DB ID);
    none when no trace was kept, which the report then says in the words of `unkept` (HTML).
    A page that shows the report adds `head` (more style) and `actions` (HTML, at the top)."""
    view = plain.build(doc, advisor, most=None)  # a report names every answer that would count
    explainer = Explainer(doc, advisor, words=True)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(view.headline)} - mm-advisor</title>",
        f"<style>{CSS}</style>{head}</head><body><main>",
        actions,
        '<p class="kicker">mm-advisor consultation report</p>',
        f"<h1>{e(view.headline)}</h1>",
    ]
    if view.note:
        parts.append(f'<p class="lead">{e(view.note)}</p>')
    if view.why_unsettled:
        parts.append(f'<p class="lead">Why: {e(view.why_unsettled)}.</p>')
    if view.elimination:
        parts.append(f'<p class="lead">{e(view.elimination)}</p>')
    if view.weighing:
        parts.append(f'<p class="lead">{e(view.weighing)}</p>')
    if view.hinges:
        parts += _change_list("It depends on what is not known yet", view.hinges)
    weights = bool(view.against)
    if view.reasons:
        parts.append(f'<section><h2>{e(view.titles[0])}</h2><ul class="reasons">')
        parts += [_reason(r, weights) for r in view.reasons]
        parts.append("</ul></section>")
    if view.against:
        parts.append(f'<section><h2>{e(view.titles[1])}</h2><ul class="reasons">')
        parts += [_reason(r, True) for r in view.against]
        parts.append(f"</ul><p>{e(view.balance.words())}</p></section>")
    if view.override:
        parts.append(f"<p>{e(view.override)}</p>")
    parts += _expect(view)
    parts += _changes(view)
    parts += _answers(doc, advisor)
    parts += _why_not(doc, advisor, view)
    parts.append("<section><h2>The full reasoning</h2>")
    parts.append(
        "<details><summary>Every rule that fired, what it stood on, and its source</summary>"
    )
    for section in explainer.sections():
        parts.append(f"<h3>{e(section.title)}</h3>")
        parts.append(_nested(section.lines))
    parts.append("</details></section>")
    parts += _footer(doc, kept or [], unkept)
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _expect(view: Plain) -> list[str]:
    if not view.expect:
        return []
    columns = [column for column, _ in view.expect]
    out = ["<section><h2>What to expect</h2>", "<p>From the article's comparison table.</p>"]
    out.append("<table><thead><tr><th></th>")
    out += [f'<th scope="col">{e(c)}</th>' for c in columns]
    out.append("</tr></thead><tbody>")
    rows: dict[str, list[str]] = {}
    for _, items in view.expect:
        for name, text in items:
            rows.setdefault(name, []).append(text)
    for name, texts in rows.items():
        # Each cell names its column too, shown only on a phone, where the header row hides.
        cells = "".join(
            (f'<td><span class="col">{e(c)}: </span>' if len(columns) > 1 else "<td>")
            + f"{e(t)}</td>"
            for c, t in zip(columns, texts)
        )
        out.append(f'<tr><th scope="row">{e(name.capitalize())}</th>{cells}</tr>')
    out.append("</tbody></table></section>")
    return out


def _changes(view: Plain) -> list[str]:
    if not view.changes:
        return []
    title = "What would change it" if view.settled else "What would decide it"
    return _change_list(title, view.changes)


def _change_list(title: str, changes: tuple[Change, ...]) -> list[str]:
    out = [f"<section><h2>{title}</h2><ul>"]
    for change in changes:
        outcomes = "".join(
            f"<li>{e(answer.capitalize())}: {e(outcome)}</li>"
            for answer, outcome in change.outcomes
        )
        out.append(
            f'<li>{e(change.question)} <span class="unanswered">(now: '
            f"{e(change.answered)})</span><ul>{outcomes}</ul></li>"
        )
    out.append("</ul></section>")
    return out


def _answers(doc: dict[str, Any], advisor: Advisor) -> list[str]:
    schema = advisor.rulebase.schema
    out = ['<section><h2>Your answers</h2><dl class="answers">']
    for name, entry in doc["answers"].items():
        spec = schema.facts.get(name)
        question = spec.question if spec else name
        value = entry.get("value") if isinstance(entry, dict) else None
        if value is None:
            answer = '<span class="unanswered">Not answered</span>'
        else:
            answer = e(plain.given_words(spec, value) if spec else value)
        out.append(f"<dt>{e(question)}</dt><dd>{answer}</dd>")
    out.append("</dl></section>")
    return out


def _why_not(doc: dict[str, Any], advisor: Advisor, view: Plain) -> list[str]:
    labels = {n: o.label for n, o in advisor.rulebase.schema.options.items()}
    rec = doc["recommendation"]
    excluded = dict(view.ruled_out)
    out = ['<section><h2>Why not the other options</h2><ul class="reasons">']
    for option in doc["scores"]:
        if option == rec:
            continue
        name = labels.get(option, option)
        if name in excluded:
            reason = excluded[name]
            out.append(
                f"<li><strong>{e(name)}</strong>: ruled out. {e(reason.text)}"
                f"<blockquote>&ldquo;{e(reason.quote)}&rdquo;</blockquote></li>"
            )
            continue
        counted = [f for f in doc["fired"] if f["score"].get(option)]
        pro = [f["title"] for f in counted if f["score"][option] > 0]
        con = [f["title"] for f in counted if f["score"][option] < 0]
        words = []
        if pro:
            words.append("In its favour: " + "; ".join(e(_strip(t)) for t in pro) + ".")
        if con:
            words.append("Against it: " + "; ".join(e(_strip(t)) for t in con) + ".")
        detail = " ".join(words) if words else "Nothing in your answers counted for it."
        out.append(f"<li><strong>{e(name)}</strong>. {detail}</li>")
    out.append("</ul></section>")
    return out


def _strip(title: str) -> str:
    return title.rstrip(". ")


def _when(stamp: str | None) -> str:
    """An ISO time as people write it: 29 November 2026, 03:34 UTC."""
    from datetime import datetime

    try:
        moment = datetime.strptime(stamp or "", "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return "at a time not recorded"
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"


def _nested(lines: list[tuple[int, str]]) -> str:
    """Indented lines as nested lists."""
    out, depth = ["<ul>"], 0
    for level, text in lines:
        while depth < level:
            out.append("<ul>")
            depth += 1
        while depth > level:
            out.append("</ul>")
            depth -= 1
        out.append(f"<li>{e(text)}</li>")
    out += ["</ul>"] * (depth + 1)
    return "".join(out)


def _footer(doc: dict[str, Any], kept: list[str], unkept: str) -> list[str]:
    when = _when(doc.get("created_at"))
    sources = doc["rulebase"].get("sources") or {}
    titles = [s["title"] for s in sources.values() if isinstance(s, dict) and s.get("title")]
    follows = ", ".join(f"<em>{e(t)}</em>" for t in titles) or "its sources"
    lines = [
        "<footer>",
        f"<p>Consultation made {e(when)} with mm-advisor {e(__version__)}. It follows "
        f"{follows}; every reason above quotes it.</p>",
        f"<p>Rule base <code>{e(doc['rulebase']['digest'])}</code></p>",
    ]
    if kept:
        lines.append(
            f"<p>Its trace, <code>{e(doc['content_digest'])}</code>, is kept: check it later "
            "with "
            + " or ".join(f"<code>mm-advisor audit verify {e(k)}</code>" for k in kept)
            + ".</p>"
        )
    else:
        lines.append(f"<p>{unkept}</p>")
    return [*lines, "</footer>"]
