"""An interview's state, apart from how its questions are put: what has been answered and in
which order, what `back` returns to, which question comes next, and what a person may ask about
it. The terminal (`cli/interview.py`) drives one; so can a web page."""

from __future__ import annotations

from typing import Any

from ..knowledge.answers import PROMPT, Answers
from ..knowledge.rulebase import Rule, RuleBase
from .relevance import Planner

# Why a question was not asked, as the interview tells it at the end.
NOT_USED = "no rule that could still count uses the answer"
SETTLED = "no answer could change the recommendation any more"


class Session:
    """One interview over `given` answers (from a file or --set, kept first), asking the rest:
    only those whose answer can still change the recommendation, most decisive first, or with
    `ask_all` every one in the schema's order."""

    def __init__(self, rulebase: RuleBase, planner: Planner, given: Answers, ask_all: bool = False):
        self.schema = rulebase.schema
        self.planner = planner
        self.given = given
        self.ask_all = ask_all
        self.order: list[str] = list(given.values)  # review order: the file's answers first
        self.history: list[str] = []  # answered in this session, most recent last (for back)

    def free(self) -> frozenset[str]:
        """The questions not answered yet."""
        return frozenset(f for f in self.schema.facts if f not in self.given.values)

    def next_fact(self) -> str | None:
        """The question to ask next; None when no answer can change the result any more."""
        if self.ask_all:
            return next((f for f in self.schema.facts if f not in self.given.values), None)
        return self.planner.next_question(self.given.values, self.free())

    def number(self, fact: str) -> int:
        """A question keeps its number when it is asked again (after back or in review)."""
        return self.order.index(fact) + 1 if fact in self.order else len(self.order) + 1

    def answer(self, fact: str, value: Any) -> None:
        """Record an answer given at a question (None: not sure)."""
        self.given.give(fact, value, PROMPT)
        if fact not in self.order:
            self.order.append(fact)
        self.history.append(fact)

    def back(self) -> tuple[str, Any] | None:
        """Reopen the most recent answer given here: (its question, the answer it had), or None
        when there is none to go back to."""
        if not self.history:
            return None
        fact = self.history.pop()
        was = self.given.values[fact]
        self.given.forget(fact)
        return fact, was

    def reopen(self, fact: str) -> None:
        """Take back an answer to change it (in the review)."""
        self.given.forget(fact)
        self.history = [f for f in self.history if f != fact]

    def answered(self) -> list[str]:
        """The questions answered, in the order the review shows them."""
        return [f for f in self.order if f in self.given.values]

    def possible(self) -> frozenset[str]:
        """The recommendations still possible with the answers so far."""
        return self.planner.outcomes(self.given.values, self.free())

    def why(self, fact: str) -> list[Rule]:
        """The rules that can still count and need the answer to `fact`."""
        return self.planner.why(fact, self.given.values, self.free())

    def not_asked(self) -> dict[str, list[str]]:
        """The questions left unanswered, grouped by why they were not asked."""
        values, free = self.given.values, self.free()
        groups: dict[str, list[str]] = {}
        for fact in self.schema.facts:
            if fact not in values:
                live = self.planner.live(fact, values, free)
                groups.setdefault(SETTLED if live else NOT_USED, []).append(fact)
        return groups
