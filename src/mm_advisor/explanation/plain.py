"""The result in plain words: what a person reads first, in the terminal or in a report.

Built from a trace and the current rules (for "what would change it"): the recommendation as a
sentence, the strongest reasons with the article's words, the options ruled out and why, what to
expect, and the answers that would change the result, as questions and answers. No fact names,
rule ids or weights: those are in the full reasoning (`--detail`, `explain`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from ..errors import AnswerError
from ..knowledge.answers import parse_recorded
from ..knowledge.domains import ValueClasses
from ..knowledge.schema import NUMBER, FactSpec
from ..reasoning.advisor import Advisor
from .render import safe

MAX_REASONS, MAX_CHANGES, MAX_QUOTE = 3, 5, 110


@dataclass(frozen=True)
class Reason:
    text: str  # a sentence: the rule's title
    quote: str  # the source's words, shortened for reading
    section: str
    source: str  # "The article", or the title of another source document


@dataclass(frozen=True)
class Change:
    """One question whose answer would change the result."""

    question: str
    answered: str  # the answer given, in words
    outcomes: tuple[tuple[str, str], ...]  # (another answer in words, what it would give)


@dataclass(frozen=True)
class Plain:
    headline: str
    settled: bool  # False when there is not enough to decide
    why_unsettled: str | None
    reasons: tuple[Reason, ...]
    ruled_out: tuple[tuple[str, Reason], ...]  # (option, why it cannot serve)
    override: str | None  # when a decision rule went against more weight
    expect: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (column, (row, text) ...)
    changes: tuple[Change, ...]
    more_changes: int  # questions left out of `changes` for brevity
    note: str | None  # when the current rules are not the trace's


def shorten(quote: str, limit: int = MAX_QUOTE) -> str:
    """A quote cut at a word boundary, its inner double quotes made single."""
    quote = " ".join(quote.replace('"', "'").split())
    if len(quote) <= limit:
        return quote
    return quote[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def _lower_first(text: str) -> str:
    """`text` with its first word in lower case, unless that word is a name (MicroMasters)."""
    word = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if word[1:] == word[1:].lower() else text


def source_names(doc: dict[str, Any]) -> dict[str, str]:
    """How each source a trace cites is named for a person: the first (the knowledge base's
    default, the article) as "The article", the others by their title."""
    known = doc["rulebase"].get("sources") or {}
    names = {}
    for i, (ident, meta) in enumerate(known.items()):
        title = meta.get("title", ident) if isinstance(meta, dict) else ident
        names[ident] = "The article" if i == 0 else str(title)
    return names


def _reason(firing: dict[str, Any], names: dict[str, str]) -> Reason:
    source = firing["source"]
    name = names.get(source.get("document", ""), "The article")
    return Reason(_sentence(firing["title"]), shorten(source["quote"]), source["section"], name)


def answer_words(spec: FactSpec, classes: ValueClasses, cls: int) -> str:
    """The answers in one value class, as a person would say them."""
    if classes.values[spec.name][cls] is None:
        return "not sure"
    if spec.type != NUMBER:
        return " or ".join(spec.render(v) for v in classes.members(spec.name, cls))
    unit = f" {spec.unit}" if spec.unit else ""
    parts = []
    for low, high in classes.ranges(spec.name, cls):
        if low == high:
            parts.append(f"{low}{unit}")
        elif low == spec.minimum:
            parts.append(f"up to {high}{unit}")
        elif high == spec.maximum:
            parts.append(f"{low}{unit} or more")
        else:
            parts.append(f"{low} to {high}{unit}")
    return " or ".join(parts)


def given_words(spec: FactSpec, value: Any) -> str:
    if value is None:
        return "not answered"
    if spec.type == NUMBER and spec.unit:
        return f"{value} {spec.unit}"
    return spec.render(value)


def build(doc: dict[str, Any], advisor: Advisor) -> Plain:
    """The plain view of the consultation in `doc`, with what-if from `advisor`'s rules."""
    schema = advisor.rulebase.schema
    label = {name: option.label for name, option in schema.options.items()}
    rec = doc["recommendation"]
    decision = doc["decision"]
    fired = doc["fired"]
    settled = rec in label
    names = source_names(doc)
    reasons: list[Reason] = []
    why_unsettled = None
    if settled:
        headline = f"We recommend {_lower_first(label[rec])}."
        support = sorted(
            (f for f in fired if f["score"].get(rec, 0) > 0),
            key=lambda f: (-f["score"][rec], f["seq"]),
        )
        reasons = [_reason(f, names) for f in support[:MAX_REASONS]]
    else:
        headline = "Not enough to decide yet."
        why_unsettled = {
            "tie": "the options that fit best are equally supported by your answers",
            "all-ruled-out": "each option is ruled out by something you said",
        }.get(decision["reason"], "your answers do not yet point to any option")
    ruled_out = []
    for option in decision.get("ruled_out", []):
        firing = next((f for f in fired if option in f.get("ruled_out", [])), None)
        if firing is not None and option != rec:
            ruled_out.append((label.get(option, option), _reason(firing, names)))
    override = None
    if decision["reason"] == "rule":
        scores = doc["scores"]
        heavier = [
            label.get(o, o)
            for o, s in scores.items()
            if s > scores.get(rec, 0) and o != rec and o not in decision.get("ruled_out", [])
        ]
        rule = next((f for f in fired if f["rule"] == decision["rule"]), None)
        if rule is not None:
            override = f"This was settled by a deciding rule: {_sentence(rule['title'])}"
            if heavier:
                override += (
                    f" Your answers weighed more toward {' and '.join(heavier).lower()}, but that "
                    "rule takes precedence."
                )
    expect = tuple(
        (rows.get("column", kind), tuple((k, v) for k, v in rows.items() if k != "column"))
        for kind, rows in doc.get("expect", {}).items()
    )
    changes, more = _changes(doc, advisor, label)
    note = None
    if doc["rulebase"]["digest"] != advisor.rulebase.digest:
        note = (
            "The rules have changed since this consultation; what would change it is worked "
            "out with the current rules."
        )
    return Plain(
        headline,
        settled,
        why_unsettled,
        tuple(reasons),
        tuple(ruled_out),
        override,
        expect,
        changes,
        more,
        note,
    )


def _changes(
    doc: dict[str, Any], advisor: Advisor, label: dict[str, str]
) -> tuple[tuple[Change, ...], int]:
    schema = advisor.rulebase.schema
    try:
        answers = parse_recorded(doc["answers"], schema).values
    except AnswerError:  # answers the current rules no longer know: nothing to work out
        return (), 0
    answers = {name: answers.get(name) for name in schema.facts}
    classes = advisor.fast.classes
    grouped: dict[str, dict[str, list[str]]] = {}
    for change in advisor.what_if(answers):
        spec = schema.facts[change.fact]
        words = answer_words(spec, classes, classes.classify(change.fact, change.value))
        outcome = label.get(change.recommendation, "not enough to decide yet")
        grouped.setdefault(change.fact, {}).setdefault(outcome, []).append(words)
    # The person's own answers first: changing one of them says most about the result.
    order = sorted(grouped, key=lambda fact: answers[fact] is None)
    changes = [
        Change(
            schema.facts[fact].question,
            given_words(schema.facts[fact], answers[fact]),
            tuple((_join(words), outcome) for outcome, words in grouped[fact].items()),
        )
        for fact in order
    ]
    return tuple(changes[:MAX_CHANGES]), max(0, len(changes) - MAX_CHANGES)


def _join(words: list[str]) -> str:
    """'a, b or c'; with a comma before the last when the words hold an 'or' themselves."""
    if len(words) == 1:
        return words[0]
    last = ", or " if any(" or " in w for w in words) else " or "
    return ", ".join(words[:-1]) + last + words[-1]


def to_text(plain: Plain, width: int, detail_hint: str) -> str:
    """The plain view for a terminal `width` columns wide."""

    def fill(text: str, indent: int = 0, hang: int = 0) -> list[str]:
        return textwrap.wrap(
            safe(text),
            width,
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + hang),
            break_on_hyphens=False,
        )

    out = fill(plain.headline)
    if plain.note:
        out += [""] + fill(plain.note)
    if plain.why_unsettled:
        out += fill(f"Why: {plain.why_unsettled}.")
    if plain.reasons:
        out += ["", "Why"]
        for reason in plain.reasons:
            out += fill(f'- {reason.text} {reason.source}: "{reason.quote}"', 2, 2)
    if plain.override:
        out += [""] + fill(plain.override)
    for option, reason in plain.ruled_out:
        out += [""] + fill(
            f'Not {_lower_first(option)}: {_lower_first(reason.text)[:-1]} ("{reason.quote}").'
        )
    if plain.expect:
        columns = [column for column, _ in plain.expect]
        title = "What to expect (the article's comparison table)"
        if len(columns) > 1:
            title = f"What to expect: the {columns[0]} first, then the {' and '.join(columns[1:])}"
        out += ["", *fill(title)]
        rows: dict[str, list[str]] = {}
        for _, items in plain.expect:
            for name, text in items:
                rows.setdefault(name, []).append(text)
        pad = max(len(name) for name in rows) + 2
        for name, texts in rows.items():
            joined = texts[0] + "".join(f", then {_lower_first(t)}" for t in texts[1:])
            out += fill(f"{name.capitalize():<{pad}}" + joined, 2, pad)
    if plain.changes:
        out += ["", "What would change it" if plain.settled else "What would decide it"]
        for change in plain.changes:
            said = (
                "not answered yet"
                if change.answered == "not answered"
                else f"you said {change.answered}"
            )
            out += fill(f"- {change.question} ({said})", 2, 2)
            for answer, outcome in change.outcomes:
                out += fill(f"{answer.capitalize()}: {_lower_first(outcome)}.", 4, 2)
        if plain.more_changes:
            out += fill(f"... and {plain.more_changes} more questions.", 2)
    out += ["", *fill(detail_hint)]
    return "\n".join(out) + "\n"
