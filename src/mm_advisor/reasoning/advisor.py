"""A consultation: run the compiled rules on answers, decide (see `decision`) and look around:
why the other rules did not fire, and which single answers would change the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..knowledge.conditions import DerivedTest, Not, describe, evaluate, facts_read
from ..knowledge.rulebase import Rule, RuleBase
from ..knowledge.schema import UNDETERMINED
from .decision import Decision, decide
from .engine import CompiledRuleBase, Run
from .evaluator import Evaluator, Outcome


@dataclass(frozen=True)
class Blocked:
    """A rule that did not fire, and the first of its conditions that stopped it."""

    rule: Rule
    condition: str  # the condition in words
    index: int  # its position in `when` (-1: a decision had already been made)
    value: bool | None  # False, or None when unknown
    seen: tuple[tuple[str, Any], ...]  # the facts it read and their values

    def record(self) -> dict[str, Any]:
        """As the trace records it (see `render.stopped` for the words)."""
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "location": self.rule.location,
            "condition": self.condition,
            "index": self.index,
            "result": "unknown" if self.value is None else "false",
            "seen": dict(self.seen),
        }


@dataclass(frozen=True)
class Change:
    """An answer that, changed alone, changes the recommendation."""

    fact: str
    value: Any
    recommendation: str


@dataclass(frozen=True)
class Result:
    answers: Mapping[str, Any]
    run: Run
    decision: Decision
    blocked: tuple[Blocked, ...]
    deciders: tuple[Change, ...]  # for an undetermined result: answers that would decide

    @property
    def recommendation(self) -> str:
        return self.decision.recommendation


class Advisor:
    """Consultations against one rule base, compiled once and reused."""

    REPLAYS = 4096  # replays kept: a log repeats the same answers many times

    def __init__(self, rulebase: RuleBase):
        self.rulebase = rulebase
        self.compiled = CompiledRuleBase.shared(rulebase)
        self.fast = Evaluator.shared(rulebase)
        self._replays: dict[tuple, tuple[Outcome, list[dict[str, Any]]]] = {}

    def replay(self, answers: Mapping[str, Any]) -> tuple[Outcome, list[dict[str, Any]]]:
        """What the rules do for complete `answers`, on the fast evaluator, and why each other
        rule did not fire (as a trace records it): what verifying a trace compares."""
        key = tuple(answers[name] for name in self.rulebase.schema.facts)
        replayed = self._replays.get(key)
        if replayed is None:
            outcome = self.fast.outcome(answers)
            concluded = next((rule for rule in outcome.fired if rule.conclude), None)
            blocked = self.why_not(answers, outcome.fired, outcome.derived, concluded)
            replayed = (outcome, [b.record() for b in blocked])
            if len(self._replays) >= self.REPLAYS:
                self._replays.clear()
            self._replays[key] = replayed
        return replayed

    def consult(self, answers: Mapping[str, Any]) -> Result:
        """Run the rules on `answers` (every fact name -> typed value or None) and explain."""
        answers = {name: answers.get(name) for name in self.rulebase.schema.facts}
        run = self.compiled.run(answers)
        decision = decide(
            self.rulebase.schema.options,
            [f.rule for f in run.firings],
            run.conclusion.rule if run.conclusion else None,
        )
        deciders: tuple[Change, ...] = ()
        if decision.recommendation == UNDETERMINED:
            unknown = [name for name, value in answers.items() if value is None]
            deciders = tuple(
                c for c in self.what_if(answers, unknown) if c.recommendation != UNDETERMINED
            )
        fired = [f.rule for f in run.firings]
        concluded = run.conclusion.rule if run.conclusion else None
        return Result(
            answers, run, decision, self.why_not(answers, fired, run.derived, concluded), deciders
        )

    def recommend(self, answers: Mapping[str, Any]) -> str:
        return self.fast.recommend(answers)

    def what_if(self, answers: Mapping[str, Any], facts: list[str] | None = None) -> list[Change]:
        """Each single-answer change (among `facts`, default all) that changes the recommendation.

        One value stands for each class of answers the rules treat alike (see `domains`).
        """
        fast = self.fast
        classes = fast.classify(answers)
        base = fast.run(fast.truths(classes)).recommendation
        changes = []
        for name in facts if facts is not None else self.rulebase.schema.facts:
            for cls, value in enumerate(fast.classes.values[name]):
                if cls == classes[name]:
                    continue
                outcome = fast.run(fast.truths({**classes, name: cls})).recommendation
                if outcome != base:
                    changes.append(Change(name, value, outcome))
        return changes

    def why_not(
        self,
        answers: Mapping[str, Any],
        fired_rules: Sequence[Rule],
        derived_facts: Iterable[str],
        concluded: Rule | None,
    ) -> tuple[Blocked, ...]:
        """For every rule that did not fire, the first condition that was not true at the end
        (`concluded`: the rule that made the decision, if one did)."""
        fired = {rule.id for rule in fired_rules}
        derived = set(derived_facts)
        background = self.rulebase.schema.background
        blocked = []
        for rule in self.rulebase.rules:
            if rule.id in fired:
                continue
            for index, cond in enumerate(rule.when):
                value = evaluate(cond, answers, derived, background)
                if value is not True:
                    seen = tuple((f, answers.get(f)) for f in facts_read(cond))
                    blocked.append(
                        Blocked(rule, describe(cond, self.rulebase.schema), index, value, seen)
                    )
                    break
            else:
                if rule.conclude and concluded is not None:
                    blocked.append(
                        Blocked(
                            rule,
                            f"no decision made yet (decision rule '{concluded.id}' "
                            "had already decided)",
                            -1,
                            False,
                            (),
                        )
                    )
                else:
                    blocked.append(Blocked(rule, _ordering_note(rule), -1, False, ()))
        return tuple(blocked)


def _ordering_note(rule: Rule) -> str:
    """Why a rule whose conditions hold at the end still did not fire: a `not` was false earlier."""
    negated = [
        c.part.name for c in rule.when if isinstance(c, Not) and isinstance(c.part, DerivedTest)
    ]
    return "its conditions held only after it was checked" + (
        f" ({', '.join(negated)} was derived too late)" if negated else ""
    )
