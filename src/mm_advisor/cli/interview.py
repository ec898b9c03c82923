"""The interactive interview on a terminal: asks only what can still change the recommendation,
most decisive first, and at any question answers `why`, `back`, `help` (or `?`) and `quit`. What
it asks and remembers is a `reasoning.session.Session`; this module only puts it into words."""

from __future__ import annotations

import textwrap
from typing import Any, Callable

import click

from ..explanation.plain import possible_words, said_words
from ..explanation.render import safe, use_color, width
from ..knowledge.answers import Answers, save
from ..knowledge.rulebase import RuleBase
from ..knowledge.schema import FactSpec
from ..reasoning.relevance import Planner
from ..reasoning.session import Session

NO_ANSWER = object()  # a question asked afresh: Enter means not sure
NOT_SURE = {"", "unknown", "skip", "not sure", "don't know", "dont know", "don’t know", "idk"}
HINT = "why, back, help, quit"


class Stopped(Exception):
    """The person typed quit: stop like Ctrl-C, keeping what was answered."""


def wrap(text: str, indent: int = 2, hang: int = 2, room: int = 0) -> str:
    """`text` wrapped to the terminal, leaving `room` columns on the last line for what is typed
    after it, control characters made visible."""
    return textwrap.fill(
        safe(text),
        width() - room,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hang),
        break_on_hyphens=False,
        break_long_words=False,
    )


def allowed(spec: FactSpec) -> str:
    """The answers a question takes, in a prompt's words."""
    if spec.type == "yesno":
        return "yes/no"
    if spec.type == "number":
        return f"{spec.minimum} to {spec.maximum}" + (f" {spec.unit}" if spec.unit else "")
    return spec.allowed()


class Interview:
    """Puts a `Session`'s questions on the terminal: one interview over `given` answers (already
    from a file or --set), asking the rest."""

    def __init__(
        self,
        rulebase: RuleBase,
        planner: Planner,
        given: Answers,
        ask_all: bool = False,
        save_to: str | None = None,
    ):
        self.session = Session(rulebase, planner, given, ask_all)
        self.schema = rulebase.schema
        self.given = given
        self.save_to = save_to
        self.asked_any = False
        self.out: Callable[[str], None] = lambda text: click.echo(text, err=True, color=use_color())

    def run(self) -> Answers:
        """Ask until nothing more can change the result, then let the person review; save always."""
        try:
            while True:
                self.ask_until_settled()
                if not self.review():
                    break
            if self.asked_any:
                self.report_skipped()
            return self.given
        finally:
            self.save()

    def ask_until_settled(self, forced: tuple[str, Any] | None = None) -> None:
        """Ask until nothing more can change the result; `forced`: (a question to ask first,
        the answer it had, which Enter keeps)."""
        while True:
            fact, had = forced or (self.session.next_fact(), NO_ANSWER)
            forced = None
            if fact is None:
                return
            forced = self.ask(fact, had)

    def ask(self, fact: str, had: Any = NO_ANSWER) -> tuple[str, Any] | None:
        """Ask one question until it is answered (Enter keeps the answer it `had`, if any);
        return the question to ask next, and its answer, when going back."""
        if not self.asked_any:
            self.asked_any = True
            self.out(
                wrap(
                    f"Answer each question, or press Enter if you are not sure. At any "
                    f"question you can also type: {HINT}.",
                    0,
                    0,
                )
            )
        spec = self.schema.facts[fact]
        lines = textwrap.wrap(
            f"{self.session.number(fact)}. {safe(spec.question)}",
            width(),
            subsequent_indent="   ",
            break_on_hyphens=False,
        )
        first, rest = lines[0].split(" ", 1)
        rest = "\n".join([rest, *lines[1:]])
        question = f"{first} {click.style(rest, bold=True) if use_color() else rest}"
        while True:
            enter = "not sure" if had is NO_ANSWER else f"keep {self.words(fact, had)}"
            raw = click.prompt(
                f"\n{question}\n"
                + wrap(f"[{allowed(spec)}; Enter: {enter}; {HINT}]", 3, 1, room=8),
                default="",
                show_default=False,
                err=True,
            )
            word = " ".join(raw.strip().lower().split())
            if word == "why":
                self.explain_why(fact)
            elif word in ("help", "?"):
                self.out(wrap(spec.help))
                self.out(wrap(f"Answers: {spec.allowed()}; press Enter if you are not sure."))
            elif word in ("quit", "q"):
                raise Stopped
            elif word == "back":
                reopened = self.session.back()
                if reopened is None:
                    self.out(wrap("There is no earlier answer to go back to."))
                    continue
                previous, was = reopened
                self.out(
                    wrap(
                        f"Back to question {self.session.number(previous)}; you had answered: "
                        f"{self.words(previous, was)} (Enter keeps it)."
                    )
                )
                return previous, was
            else:
                try:
                    if not word and had is not NO_ANSWER:
                        value = had
                    else:
                        value = None if word in NOT_SURE else spec.parse(raw)
                except ValueError as exc:
                    why = str(exc)
                    if spec.type == "yesno":  # in the words of the prompt, which offers Enter
                        said = safe(repr(raw.strip()))
                        why = f"{said} is not yes or no; press Enter if you are not sure"
                    self.out(wrap(f"Not accepted: {why}."))
                    continue
                self.session.answer(fact, value)
                self.save()
                return None

    def words(self, fact: str, value: Any) -> str:
        return said_words(self.schema.facts[fact], value)

    def possible(self) -> str:
        return possible_words(self.session.possible(), self.schema)

    def explain_why(self, fact: str) -> None:
        rules = self.session.why(fact)
        if not rules:
            self.out(
                wrap(
                    "No rule that can still count needs this answer; it is asked because you "
                    "asked for every question (--ask-all)."
                )
            )
        else:
            self.out(wrap("Your answer decides whether these can still count:"))
            for rule in rules:
                quote = " ".join(rule.source.quote.split())
                self.out(wrap(f'- {rule.title}. The article: "{quote}"', 4, 2))
        self.out(wrap(f"Still possible: {self.possible()}."))

    def review(self) -> bool:
        """Show the answers; return True when the person changed one (so ask again)."""
        if not self.asked_any:
            return False
        entries = self.session.answered()
        digits = len(str(len(entries)))
        self.out("\nYour answers:")
        for i, fact in enumerate(entries, 1):
            question = self.schema.facts[fact].question
            answer = self.words(fact, self.given.values[fact])
            self.out(wrap(f"{i:>{digits}}. {question} ({answer})", 2, digits + 2))
        while True:
            raw = click.prompt(
                wrap(
                    "To change an answer type its number; press Enter to see the recommendation",
                    0,
                    0,
                    room=5,
                ),
                default="",
                show_default=False,
                err=True,
            )
            word = raw.strip().lower()
            if not word:
                return False
            if word in ("quit", "q"):
                raise Stopped
            if word.isdigit() and 1 <= int(word) <= len(entries):
                fact = entries[int(word) - 1]
                had = self.given.values[fact]
                self.session.reopen(fact)
                self.ask_until_settled(forced=(fact, had))
                return True
            self.out(wrap(f"Not accepted: type a number from 1 to {len(entries)}, or press Enter."))

    def report_skipped(self) -> None:
        for reason, facts in self.session.not_asked().items():
            self.out("\n" + wrap(f"Not asked, because {reason} ({len(facts)}):", 0, 2))
            for fact in facts:
                self.out(wrap(f"- {self.schema.facts[fact].question}", 2, 2))

    def save(self) -> None:
        if self.save_to:
            save(self.save_to, self.given)
