"""The fast evaluator: the engine's semantics without a Rete network, for every bulk job.

A consultation's trace comes from the experta engine; batch runs, what-if, the interview's
look-ahead and the invariant checker need the same answer thousands or millions of times. Here
each answer is first mapped to its value class, so each rule's tests on answers are one lookup
(a bit), and the agenda is then replayed on those bits: the highest salience fires first, then
the earlier rule in the rule files; a rule waits for the derived facts it tests, is dropped when a
fact it negates is derived, and after the first decision rule no other one fires. Outcomes are
remembered per combination of bits. A differential test certifies it equal to the engine.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Mapping

from ..knowledge.conditions import DerivedTest, Not, derived_read, facts_read
from ..knowledge.domains import Predicate, ValueClasses
from ..knowledge.rulebase import Rule, RuleBase, once
from .decision import Decision, decide

_MEMO_LIMIT = 200_000
_SHARED: dict[tuple, "Evaluator"] = {}


@dataclass(frozen=True)
class Outcome:
    """What the rules did for one set of answers."""

    fired: tuple[Rule, ...]  # in firing order
    derived: tuple[str, ...]  # in the order they were derived
    decision: Decision

    @property
    def recommendation(self) -> str:
        return self.decision.recommendation


class Evaluator:
    """Runs one rule base on answers; `classes` may be finer than the rules need (the checker's)."""

    @classmethod
    def shared(cls, rulebase: RuleBase) -> "Evaluator":
        """The evaluator of these rules, built once per process (it keeps no state but its
        memo of outcomes)."""
        return once(_SHARED, rulebase, cls)

    def __init__(self, rulebase: RuleBase, classes: ValueClasses | None = None):
        self.rulebase = rulebase
        # Bit i stands for rules[i]: agenda order, so a lower index always fires first.
        self.rules = tuple(sorted(rulebase.rules, key=lambda r: (-r.salience, r.order)))
        self.classes = classes or ValueClasses(
            rulebase.schema, [c for r in rulebase.rules for c in r.when]
        )
        self.predicates = tuple(
            Predicate(self.classes, [c for c in r.when if not derived_read(c)]) for r in self.rules
        )
        self._options = tuple(rulebase.schema.options)
        self._negated = tuple(
            tuple(
                c.part.name
                for c in r.when
                if isinstance(c, Not) and isinstance(c.part, DerivedTest)
            )
            for r in self.rules
        )
        needs = [{c.name for c in r.when if isinstance(c, DerivedTest)} for r in self.rules]
        self._needs = tuple(len(n) for n in needs)
        self._waiting: dict[str, tuple[int, ...]] = {
            name: tuple(i for i, n in enumerate(needs) if name in n)
            for name in rulebase.schema.derived
        }
        self._starters = tuple(i for i, n in enumerate(needs) if not n)
        # Each fact narrows the rules by one lookup: masks[fact][class] holds the rules whose
        # tests on that fact alone hold for that class (and every rule without such tests). Only
        # conditions that read several facts at once are evaluated, each distinct one once.
        everyone = (1 << len(self.rules)) - 1
        self._masks: dict[str, list[int]] = {}
        joint: dict[Any, int] = {}  # condition reading several facts -> the rules that have it
        for i, rule in enumerate(self.rules):
            alone: dict[str, list] = {}
            for cond in rule.when:
                if derived_read(cond):
                    continue
                read = facts_read(cond)
                if len(read) == 1:
                    alone.setdefault(read[0], []).append(cond)
                else:
                    joint[cond] = joint.get(cond, 0) | 1 << i
            for fact, conds in alone.items():
                test = Predicate(self.classes, conds)
                masks = self._masks.setdefault(fact, [everyone] * len(self.classes.values[fact]))
                for cls in range(len(masks)):
                    if not test((cls,)):
                        masks[cls] &= ~(1 << i)
        self._everyone = everyone
        self._joint = tuple((rules, Predicate(self.classes, [c])) for c, rules in joint.items())
        self._memo: dict[int, Outcome] = {}

    def classify(self, answers: Mapping[str, Any]) -> dict[str, int]:
        """The class index of every fact's answer (absent facts are unknown)."""
        classify = self.classes.classify
        return {f: classify(f, answers.get(f)) for f in self.rulebase.schema.facts}

    def truths(self, classes: Mapping[str, int]) -> int:
        """The bits of the rules whose tests on answers all hold, for answers in `classes`."""
        bits = self._everyone
        for fact, masks in self._masks.items():
            bits &= masks[classes[fact]]
        for rules, test in self._joint:
            if bits & rules and not test(tuple(classes[f] for f in test.facts)):
                bits &= ~rules
        return bits

    def outcome(self, answers: Mapping[str, Any]) -> Outcome:
        """Run the rules on `answers` (fact name -> parsed value; absent or None is unknown)."""
        return self.run(self.truths(self.classify(answers)))

    def recommend(self, answers: Mapping[str, Any]) -> str:
        return self.outcome(answers).recommendation

    def run(self, bits: int) -> Outcome:
        """Replay the agenda on the rules whose answer tests hold (`bits`)."""
        found = self._memo.get(bits)
        if found is not None:
            return found
        rules, negated, waiting = self.rules, self._negated, self._waiting
        agenda = [i for i in self._starters if bits >> i & 1]  # ascending: already a heap
        missing: dict[int, int] = {}
        derived: dict[str, None] = {}
        fired: list[Rule] = []
        conclusion: Rule | None = None
        while agenda:
            i = heapq.heappop(agenda)
            rule = rules[i]
            if (rule.conclude and conclusion is not None) or any(n in derived for n in negated[i]):
                continue
            fired.append(rule)
            for name in rule.derive:
                if name in derived:
                    continue
                derived[name] = None
                for j in waiting[name]:
                    if bits >> j & 1:
                        left = missing.get(j, self._needs[j]) - 1
                        missing[j] = left
                        if not left:
                            heapq.heappush(agenda, j)
            if rule.conclude:
                conclusion = rule
        outcome = Outcome(tuple(fired), tuple(derived), decide(self._options, fired, conclusion))
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[bits] = outcome
        return outcome
