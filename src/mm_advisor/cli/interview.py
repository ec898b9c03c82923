"""The interactive interview: asks only what can still change the recommendation, most decisive
first, and at any question answers `why`, `back`, `skip` and `help`."""

from __future__ import annotations

import textwrap
from typing import Callable

import click

from ..explanation.render import safe, use_color, width
from ..knowledge.answers import PROMPT, Answers, save
from ..knowledge.conditions import describe
from ..knowledge.rulebase import RuleBase
from ..reasoning.relevance import Planner

COMMANDS = "why/back/skip/help"


def _wrap(text: str, indent: int = 2) -> str:
    pad = " " * indent
    return textwrap.fill(
        safe(text),
        width(),
        initial_indent=pad,
        subsequent_indent=pad + "  ",
        break_on_hyphens=False,
    )


class Interview:
    """One interview over `given` answers (already from a file or --set), asking the rest."""

    def __init__(
        self,
        rulebase: RuleBase,
        planner: Planner,
        given: Answers,
        ask_all: bool = False,
        save_to: str | None = None,
    ):
        self.schema = rulebase.schema
        self.planner = planner
        self.given = given
        self.ask_all = ask_all
        self.save_to = save_to
        self.history: list[str] = []
        self.asked_any = False
        self.out: Callable[[str], None] = lambda text: click.echo(text, err=True, color=use_color())

    def free(self) -> frozenset[str]:
        return frozenset(f for f in self.schema.facts if f not in self.given.values)

    def next_fact(self) -> str | None:
        if self.ask_all:
            return next((f for f in self.schema.facts if f not in self.given.values), None)
        return self.planner.next_question(self.given.values, self.free())

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

    def ask_until_settled(self, forced: str | None = None) -> None:
        while True:
            fact = forced or self.next_fact()
            forced = None
            if fact is None:
                return
            forced = self.ask(fact)

    def ask(self, fact: str) -> str | None:
        """Ask one question until it is answered; return a fact to ask next when going back."""
        if not self.asked_any:
            self.asked_any = True
            self.out(
                f"Answer each question; type one of {COMMANDS.replace('/', ', ')} at any "
                "question, or press Enter for 'unknown'."
            )
        spec = self.schema.facts[fact]
        number = len(self.history) + 1
        lines = textwrap.wrap(
            f"{number}. {safe(spec.question)}",
            width(),
            subsequent_indent="   ",
            break_on_hyphens=False,
        )
        first, rest = lines[0].split(" ", 1)
        rest = "\n".join([rest, *lines[1:]])
        question = f"{first} {click.style(rest, bold=True) if use_color() else rest}"
        while True:
            raw = click.prompt(
                f"\n{question}\n   [{spec.allowed()}/unknown; {COMMANDS}]",
                default="unknown",
                show_default=False,
                err=True,
            )
            word = raw.strip().lower()
            if word == "why":
                self.explain_why(fact)
            elif word == "help":
                self.out(_wrap(spec.help) + f"\n  Allowed answers: {spec.allowed()}, or unknown.")
            elif word == "back":
                if not self.history:
                    self.out("  There is no earlier answer to go back to.")
                    continue
                previous = self.history.pop()
                del self.given.values[previous], self.given.origins[previous]
                return previous
            else:
                try:
                    value = None if word == "skip" else spec.parse(raw)
                except ValueError as exc:
                    self.out(f"  Not accepted: {safe(exc)}.")
                    continue
                self.given.give(fact, value, PROMPT)
                self.history.append(fact)
                self.save()
                return None

    def explain_why(self, fact: str) -> None:
        values, free = self.given.values, self.free()
        rules = self.planner.why(fact, values, free)
        possible = ", ".join(sorted(self.planner.outcomes(values, free)))
        if not rules:
            self.out(
                _wrap(
                    f"Still possible: {possible}. No rule that can still fire needs this "
                    "answer; it is asked because every question was requested (--ask-all)."
                )
            )
            return
        self.out(
            _wrap(
                f"Still possible: {possible}. This answer decides whether these rules can fire:", 2
            )
        )
        for rule in rules:
            when = "; ".join(describe(c, self.schema) for c in rule.when)
            adds = [f"derives {', '.join(rule.derive)}"] if rule.derive else []
            adds += (
                [f"scores {', '.join(f'{o} {w:+d}' for o, w in rule.score)}"] if rule.score else []
            )
            adds += [f"decides {rule.conclude}"] if rule.conclude else []
            adds += [f"rules out {', '.join(rule.rule_out)}"] if rule.rule_out else []
            self.out(_wrap(f"- {rule.title} ({rule.id}): if {when}, it {'; '.join(adds)}.", 4))
            self.out(_wrap(f'cites {rule.source.section}: "{rule.source.quote}"', 8))

    def review(self) -> bool:
        """Show the answers; return True when the person changed one (so ask again)."""
        asked = list(self.history)
        if not asked:
            return False
        self.out("\nYour answers:")
        for i, fact in enumerate(asked, 1):
            spec = self.schema.facts[fact]
            self.out(f"  {i}. {fact} = {spec.render(self.given.values[fact])}")
        while True:
            raw = click.prompt(
                "Change one? Type its number, or press Enter to see the recommendation",
                default="",
                show_default=False,
                err=True,
            )
            if not raw.strip():
                return False
            if raw.strip().isdigit() and 1 <= int(raw) <= len(asked):
                fact = asked[int(raw) - 1]
                del self.given.values[fact], self.given.origins[fact]
                self.history = [f for f in self.history if f != fact]
                self.ask_until_settled(forced=fact)
                return True
            self.out(f"  Not accepted: type a number from 1 to {len(asked)}, or press Enter.")

    def report_skipped(self) -> None:
        skipped = [f for f in self.schema.facts if f not in self.given.values]
        if not skipped:
            return
        values, free = self.given.values, self.free()
        self.out(
            f"\nNot asked ({len(skipped)}), because no answer could change the recommendation:"
        )
        for fact in skipped:
            reason = (
                "no rule that reads it can still fire"
                if not self.planner.live(fact, values, free)
                else "the recommendation can no longer change"
            )
            self.out(f"  {fact}: {reason}")

    def save(self) -> None:
        if self.save_to:
            save(self.save_to, self.given)
