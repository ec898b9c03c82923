"""The result in plain words: what a person reads first, in the terminal or in a report.

Built from a trace and the current rules (for "what would change it"): the recommendation as a
sentence, whether it was reached by elimination, what it depends on (unanswered questions that
would change it), the strongest reasons with the article's words, every reason against it with
the balance of the two, the options ruled out and why, what to expect, and the answers that would
change the result, as questions and answers. When nothing fits well, the same is said of the
path that remains. No fact names or rule ids: those are in the full reasoning (`--detail`,
`explain`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from ..errors import AnswerError
from ..knowledge.answers import parse_recorded
from ..knowledge.conditions import All, Any_, BackgroundRef, Condition, DerivedTest, Not
from ..knowledge.domains import ValueClasses
from ..knowledge.schema import NUMBER, UNDETERMINED, FactSpec, Schema
from ..reasoning.advisor import Advisor
from .render import safe

MAX_REASONS, MAX_CHANGES, MAX_QUOTE = 3, 5, 110


@dataclass(frozen=True)
class Reason:
    text: str  # a sentence: the rule's title
    quote: str  # the source's words, shortened for reading
    section: str
    source: str  # "The article", or the title of another source document
    weight: int = 0  # what the rule added to the option the reasons are about


@dataclass(frozen=True)
class Change:
    """One question whose answer would change the result."""

    question: str
    answered: str  # the answer given, in words
    outcomes: tuple[tuple[str, str], ...]  # (another answer in words, what it would give)


@dataclass(frozen=True)
class Balance:
    """What counted for and against one option, in points."""

    support: int
    against: int

    @property
    def net(self) -> int:
        return self.support + self.against

    def words(self) -> str:
        return (
            f"On balance: {self.support:+d} for, {self.against:+d} against, {self.net:+d} in all."
        )


@dataclass(frozen=True)
class Plain:
    headline: str
    settled: bool  # False when there is not enough to decide
    why_unsettled: str | None
    elimination: str | None  # when the other options were ruled out
    subject: str | None  # the option the reasons are about: the recommendation, or the path left
    reasons: tuple[Reason, ...]
    against: tuple[Reason, ...]  # every reason against `subject`
    balance: Balance | None
    hinges: tuple[Change, ...]  # unanswered questions whose answer would change the result
    ruled_out: tuple[tuple[str, Reason], ...]  # (option, why it cannot serve)
    override: str | None  # when a decision rule went against more weight
    expect: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (column, (row, text) ...)
    changes: tuple[Change, ...]
    more_changes: int  # questions left out of `changes` for brevity
    note: str | None  # when the current rules are not the trace's

    @property
    def titles(self) -> tuple[str, str]:
        """The headings of the reasons for and against the option they are about."""
        if self.settled:
            return "Why", "What weighs against it"
        return f"For {lower_first(self.subject or '')}", "Against it"

    @property
    def weighing(self) -> str | None:
        """The first lines' word on what weighs against a recommendation, if anything does."""
        if not (self.settled and self.balance):
            return None
        return (
            f"Weighing against it: {len(self.against)} of the article's points "
            f"({self.balance.words()[:-1].lower()}; see below)."
        )


def shorten(quote: str, limit: int = MAX_QUOTE) -> str:
    """A quote cut at a word boundary, its inner double quotes made single."""
    quote = " ".join(quote.replace('"', "'").split())
    if len(quote) <= limit:
        return quote
    return quote[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def lower_first(text: str) -> str:
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


def _reason(firing: dict[str, Any], names: dict[str, str], option: str | None = None) -> Reason:
    source = firing["source"]
    name = names.get(source.get("document", ""), "The article")
    weight = firing["score"].get(option, 0) if option else 0
    return Reason(
        _sentence(firing["title"]), shorten(source["quote"]), source["section"], name, weight
    )


def weighed_option(doc: dict[str, Any]) -> str | None:
    """The option whose reasons a person reads: the recommendation; when nothing fits well, the
    one path left, or the best supported of those left."""
    rec, decision, scores = doc["recommendation"], doc["decision"], doc["scores"]
    if rec in scores:
        return rec
    if decision["reason"] != "no-fit":
        return None
    left = [o for o in scores if o not in decision.get("ruled_out", [])]
    supported = {o for f in doc["fired"] for o, w in f["score"].items() if w > 0}
    candidates = left if len(left) == 1 else [o for o in left if o in supported]
    return max(candidates, key=lambda o: scores[o], default=None)


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


def said_words(spec: FactSpec, value: Any) -> str:
    """An answer given in an interview, as its review shows it: unknown is "not sure"."""
    return "not sure" if value is None else given_words(spec, value)


def possible_words(outcomes: frozenset[str], schema: Schema) -> str:
    """The recommendations still possible, as a person reads them: "a MicroMasters program or
    not enough to decide yet"."""
    names = [lower_first(o.label) for n, o in schema.options.items() if n in outcomes]
    if UNDETERMINED in outcomes:
        names.append("not enough to decide yet")
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


_COMPARED = {"lt": "less than", "le": "at most", "gt": "more than", "ge": "at least"}


def concluded(schema: Schema, derived: str) -> str:
    """A derived fact as a clause in its description's words: "you need to keep ... low"."""
    return lower_first(schema.derived[derived].description.strip().rstrip("."))


def in_words(cond: Condition, schema: Schema) -> str:
    """A rule's condition as a person reads it: the questions and conclusions in the knowledge
    base's own words (`conditions.describe` names facts as the rule files do)."""
    if isinstance(cond, DerivedTest):
        return concluded(schema, cond.name)
    if isinstance(cond, Not):
        return f"not ({in_words(cond.part, schema)})"
    if isinstance(cond, (All, Any_)):
        word = "all of" if isinstance(cond, All) else "any of"
        return f"{word} ({'; '.join(in_words(p, schema) for p in cond.parts)})"
    spec = schema.facts[cond.fact]
    said = f'the answer to "{spec.question}"'
    if cond.op == "known":
        return f"{said} is {'given' if cond.value else 'not sure'}"
    if cond.op in ("in", "not_in"):
        words = " or ".join(spec.render(v) for v in cond.value)
        return f"{said} is {'' if cond.op == 'in' else 'not '}{words}"
    if cond.op in ("is", "is_not"):
        return f"{said} is {'not ' if cond.op == 'is_not' else ''}{spec.render(cond.value)}"
    number = cond.value
    if isinstance(number, BackgroundRef):
        number = schema.background[number.key]
    return f"{said} is {_COMPARED[cond.op]} {given_words(spec, number)}"


def build(doc: dict[str, Any], advisor: Advisor, most: int | None = MAX_CHANGES) -> Plain:
    """The plain view of the consultation in `doc`, with what-if from `advisor`'s rules: the
    `most` telling answers that would change it (None: every one, as a report has room for)."""
    schema = advisor.rulebase.schema
    label = {name: option.label for name, option in schema.options.items()}
    rec = doc["recommendation"]
    decision = doc["decision"]
    fired = doc["fired"]
    settled = rec in label
    names = source_names(doc)
    subject = weighed_option(doc)
    why_unsettled = elimination = None
    if settled:
        headline = f"We recommend {lower_first(label[rec])}."
    elif decision["reason"] == "tie":
        headline = "No single recommendation: it is a real trade-off."
        leaders = [o for o, s in doc["scores"].items() if s == max(doc["scores"].values())]
        why_unsettled = (
            f"{_join([label.get(o, o) for o in leaders])} are equally supported by your answers"
        )
    elif decision["reason"] in ("no-fit", "all-ruled-out"):
        headline = "No option fits you well."
        if subject is None:
            why_unsettled = "each option is ruled out by something you said"
        elif len([o for o in label if o not in decision.get("ruled_out", [])]) == 1:
            why_unsettled = (
                f"the one path left toward your goal is {lower_first(label[subject])}, and "
                + (
                    "more weighs against it than for it"
                    if doc["scores"][subject] < 0
                    else "nothing in your answers speaks for it more than against it"
                )
            )
        else:
            why_unsettled = (
                "what speaks for each option left is outweighed by what weighs against it"
            )
    else:
        headline = "Not enough to decide yet."
        why_unsettled = "your answers do not yet point to any option"
    if settled and decision["reason"] == "only-option":
        elimination = (
            "The other options are ruled out by your answers (see below), so this is the one left."
        )
    reasons: list[Reason] = []
    against: list[Reason] = []
    balance = None
    if subject is not None:
        counted = [f for f in fired if f["score"].get(subject, 0)]
        support = sorted(
            (f for f in counted if f["score"][subject] > 0),
            key=lambda f: (-f["score"][subject], f["seq"]),
        )
        reasons = [_reason(f, names, subject) for f in support[:MAX_REASONS]]
        against = [
            _reason(f, names, subject)
            for f in sorted(
                (f for f in counted if f["score"][subject] < 0),
                key=lambda f: (f["score"][subject], f["seq"]),
            )
        ]
        if against:
            balance = Balance(
                sum(f["score"][subject] for f in support), sum(r.weight for r in against)
            )
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
    changes = _changes(doc, advisor, label)
    hinges: tuple[Change, ...] = ()
    if settled or subject is not None:  # else the unanswered questions are what would decide it
        hinges = tuple(c for c in changes if c.answered == "not answered")
        changes = tuple(c for c in changes if c.answered != "not answered")
    more = max(0, len(changes) - most) if most is not None else 0
    changes = changes[:most]
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
        elimination,
        subject and label.get(subject, subject),
        tuple(reasons),
        tuple(against),
        balance,
        hinges,
        tuple(ruled_out),
        override,
        expect,
        changes,
        more,
        note,
    )


def _changes(doc: dict[str, Any], advisor: Advisor, label: dict[str, str]) -> tuple[Change, ...]:
    """Every question whose answer, changed alone, changes the result: the answered first."""
    schema = advisor.rulebase.schema
    try:
        answers = parse_recorded(doc["answers"], schema).values
    except AnswerError:  # answers the current rules no longer know: nothing to work out
        return ()
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
    return tuple(changes)


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

    def changes(items: tuple[Change, ...]) -> list[str]:
        lines = []
        for change in items:
            said = (
                "not answered yet"
                if change.answered == "not answered"
                else f"you said {change.answered}"
            )
            lines += fill(f"- {change.question} ({said})", 2, 2)
            for answer, outcome in change.outcomes:
                lines += fill(f"{answer.capitalize()}: {lower_first(outcome)}.", 4, 2)
        return lines

    def cited(reason: Reason, weight: bool) -> list[str]:
        points = f" ({reason.weight:+d})" if weight else ""
        return fill(f'- {reason.text[:-1]}{points}. {reason.source}: "{reason.quote}"', 2, 2)

    out = fill(plain.headline)
    if plain.note:
        out += [""] + fill(plain.note)
    if plain.why_unsettled:
        out += fill(f"Why: {plain.why_unsettled}.")
    if plain.elimination:
        out += fill(plain.elimination)
    if plain.weighing:
        out += fill(plain.weighing)
    if plain.hinges:
        shown = plain.hinges[:MAX_CHANGES]
        out += ["", *fill("It depends on what is not known yet:")]
        out += changes(shown)
        if len(plain.hinges) > len(shown):
            out += fill(f"... and {len(plain.hinges) - len(shown)} more questions.", 2)
    if plain.reasons:
        out += ["", plain.titles[0]]
        for reason in plain.reasons:
            out += cited(reason, bool(plain.against))
    if plain.against:
        out += ["", plain.titles[1]]
        for reason in plain.against:
            out += cited(reason, True)
        out += fill(plain.balance.words(), 2)
    if plain.override:
        out += [""] + fill(plain.override)
    for option, reason in plain.ruled_out:
        out += [""] + fill(
            f'Not {lower_first(option)}: {lower_first(reason.text)[:-1]} ("{reason.quote}").'
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
            joined = texts[0] + "".join(f", then {lower_first(t)}" for t in texts[1:])
            out += fill(f"{name.capitalize():<{pad}}" + joined, 2, pad)
    if plain.changes:
        out += ["", "What would change it" if plain.settled else "What would decide it"]
        out += changes(plain.changes)
        if plain.more_changes:
            out += fill(f"... and {plain.more_changes} more questions.", 2)
    out += ["", *fill(detail_hint)]
    return "\n".join(out) + "\n"
