"""Which questions still matter: a sound analysis of what the rules can still conclude.

Given the answers so far (a fact answered `unknown` counts as answered) and the facts not yet
asked, each rule is *impossible*, *possible* or *certain* to fire for every way the remaining
questions could be answered. From that come bounds on each option's score and the set of
recommendations still possible. The interview stops when only one remains, or when no remaining
question can change whether any rule fires. Answers are enumerated over value classes: values
that every test in the rule base treats alike count once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from ..knowledge.conditions import DerivedTest, derived_read, evaluate, facts_read
from ..knowledge.domains import ValueClasses
from ..knowledge.rulebase import Rule, RuleBase
from ..knowledge.schema import UNDETERMINED


@dataclass(frozen=True)
class Status:
    possible: bool
    certain: bool


_NEVER, _ALWAYS = Status(False, False), Status(True, True)
_STATUS = {(p, c): Status(p, c) for p in (False, True) for c in (False, True)}


class Planner:
    """Plans an interview over one rule base."""

    def __init__(self, rulebase: RuleBase):
        self.schema = rulebase.schema
        self.rules = sorted(rulebase.rules, key=lambda r: (-r.salience, r.order))
        self.answer_conds = {
            r.id: tuple(c for c in r.when if not derived_read(c)) for r in self.rules
        }
        self.reads = {
            r.id: tuple(dict.fromkeys(f for c in self.answer_conds[r.id] for f in facts_read(c)))
            for r in self.rules
        }
        self.readers = {
            f: [r for r in self.rules if f in self.reads[r.id]] for f in self.schema.facts
        }
        # One value per class of answers that every test treats alike, unknown last.
        self.classes = ValueClasses(self.schema, [c for r in self.rules for c in r.when]).values
        self.derivers = {
            name: [r.id for r in self.rules if name in r.derive] for name in self.schema.derived
        }
        self.derived_tests = {  # (derived fact, negated?) for each rule
            r.id: [
                (c.name, False) if isinstance(c, DerivedTest) else (c.part.name, True)
                for c in r.when
                if derived_read(c)
            ]
            for r in self.rules
        }
        self.layered = self._layers()
        self._answer_status = lru_cache(maxsize=None)(self._answer_status_uncached)
        self._statuses = lru_cache(maxsize=8192)(self._statuses_uncached)
        self._assess = lru_cache(maxsize=4096)(self._assess_uncached)

    def _layers(self) -> list[str] | None:
        """The rules that test derived facts, each after every such rule that derives what it
        tests: in this order one pass settles every status. None when derived facts form a
        cycle (`rules lint` warns), which the fixpoint in `_statuses_uncached` handles."""
        dependent = [r.id for r in self.rules if self.derived_tests[r.id]]
        feeds = {
            rid: {
                d
                for name, _ in self.derived_tests[rid]
                for d in self.derivers[name]
                if self.derived_tests[d]
            }
            for rid in dependent
        }
        order: list[str] = []
        placed: set[str] = set()
        while len(order) < len(dependent):
            ready = [r for r in dependent if r not in placed and feeds[r] <= placed]
            if not ready:
                return None
            order += ready
            placed.update(ready)
        return order

    def _answer_status_uncached(self, rule_id: str, fixed: tuple, free: tuple) -> Status:
        conds = self.answer_conds[rule_id]
        if not conds:
            return _ALWAYS
        results = set()
        for values in itertools.product(*(self.classes[f] for f in free)):
            answers = dict(fixed)
            answers.update(zip(free, values))
            results.add(
                all(evaluate(c, answers, (), self.schema.background) is True for c in conds)
            )
            if len(results) == 2:
                break
        return Status(True in results, results == {True})

    @staticmethod
    def _key(answers: Mapping[str, Any], free: frozenset[str]) -> tuple:
        return tuple(sorted((f, v) for f, v in answers.items() if f not in free))

    def statuses(self, answers: Mapping[str, Any], free: frozenset[str]) -> dict[str, Status]:
        """Each rule's status for every way the `free` facts could still be answered."""
        return self._statuses(self._key(answers, free), free)

    def _statuses_uncached(self, known: tuple, free: frozenset[str]) -> dict[str, Status]:
        answers = dict(known)
        base = {}
        for rule in self.rules:
            reads = self.reads[rule.id]
            fixed = tuple((f, answers.get(f)) for f in reads if f not in free)
            base[rule.id] = self._answer_status(
                rule.id, fixed, tuple(f for f in reads if f in free)
            )
        if self.layered is not None:
            return self._settled(base)
        derived = {name: _NEVER for name in self.schema.derived}
        status: dict[str, Status] = {}
        for _ in range(len(self.rules) + 1):  # to a fixpoint: derived facts feed later rules
            for rule in self.rules:
                parts = [base[rule.id]]
                for name, negated in self.derived_tests[rule.id]:
                    d = derived[name]
                    parts.append(Status(not d.certain, not d.possible) if negated else d)
                status[rule.id] = Status(
                    all(p.possible for p in parts), all(p.certain for p in parts)
                )
            updated = {
                name: Status(
                    any(status[r].possible for r in rules), any(status[r].certain for r in rules)
                )
                for name, rules in self.derivers.items()
            }
            if updated == derived:
                break
            derived = updated
        return status

    def _settled(self, base: dict[str, Status]) -> dict[str, Status]:
        """Each rule's status from its answers' status and, in `layered` order, the status of
        the derived facts it tests (possible when some deriver is, certain when one is)."""
        status = dict(base)
        derived: dict[str, Status] = {}
        for rid in self.layered:
            possible, certain = status[rid].possible, status[rid].certain
            for name, negated in self.derived_tests[rid]:
                d = derived.get(name)
                if d is None:
                    d = derived[name] = _STATUS[
                        any(status[r].possible for r in self.derivers[name]),
                        any(status[r].certain for r in self.derivers[name]),
                    ]
                if negated:
                    possible, certain = possible and not d.certain, certain and not d.possible
                else:
                    possible, certain = possible and d.possible, certain and d.certain
            status[rid] = _STATUS[possible, certain]
        return status

    def outcomes(self, answers: Mapping[str, Any], free: frozenset[str]) -> frozenset[str]:
        """The recommendations still possible (a superset of the true set, never a subset)."""
        return self.assess(answers, free)[0]

    def assess(
        self, answers: Mapping[str, Any], free: frozenset[str]
    ) -> tuple[frozenset[str], int]:
        """The possible recommendations, and the spread: how much the scores can still move."""
        return self._assess(self._key(answers, free), free)

    def _assess_uncached(self, known: tuple, free: frozenset[str]) -> tuple[frozenset[str], int]:
        status = self._statuses(known, free)
        found: set[str] = set()
        undecided = 0
        for rule in self.rules:
            if rule.conclude and status[rule.id].possible:
                found.add(rule.conclude)
                if status[rule.id].certain:
                    return frozenset(found), 0
                undecided += 1
        low = {o: 0 for o in self.schema.options}
        high = dict(low)
        out_certain: set[str] = set()
        out_possible: set[str] = set()
        for rule in self.rules:
            st = status[rule.id]
            if st.possible:
                out_possible.update(rule.rule_out)
            if st.certain:
                out_certain.update(rule.rule_out)
            for option, weight in rule.score:
                if st.certain:
                    low[option] += weight
                    high[option] += weight
                elif st.possible:
                    low[option] += min(weight, 0)
                    high[option] += max(weight, 0)
        spread = sum(high[o] - low[o] for o in low) + undecided + len(out_possible - out_certain)

        # The policy of `decision`: an option wins when it is not ruled out, its total is above
        # zero and above that of every other option left.
        def must_win(o: str) -> bool:
            return (
                o not in out_possible
                and low[o] > 0
                and all(low[o] > high[p] for p in low if p != o and p not in out_certain)
            )

        def may_win(o: str) -> bool:
            return (
                o not in out_certain
                and high[o] > 0
                and all(high[o] > low[p] for p in low if p != o and p not in out_possible)
            )

        dominant = [o for o in low if must_win(o)]
        if dominant:
            return frozenset(found | set(dominant)), spread
        found.add(UNDETERMINED)
        found.update(o for o in low if may_win(o))
        return frozenset(found), spread

    def live(self, fact: str, answers: Mapping[str, Any], free: frozenset[str]) -> bool:
        """Whether some answer to `fact` changes whether a rule that reads it can fire."""
        rest = free - {fact}
        seen = {
            tuple(self.statuses({**answers, fact: v}, rest)[r.id] for r in self.readers[fact])
            for v in self.classes[fact]
        }
        return len(seen) > 1

    def rank(self, answers: Mapping[str, Any], free: frozenset[str]) -> list[tuple[str, float]]:
        """Live questions, most decisive first: how far an answer narrows the possible
        recommendations, on average over its answers, then how far it narrows the scores."""
        current, spread = self.assess(answers, free)
        ranked = []
        for order, fact in enumerate(self.schema.facts):
            if fact not in free or not self.live(fact, answers, free):
                continue
            rest = free - {fact}
            after = [self.assess({**answers, fact: v}, rest) for v in self.classes[fact]]
            narrowing = sum(len(current) - len(outs) for outs, _ in after) / len(after)
            settling = sum(spread - s for _, s in after) / len(after)
            ranked.append((fact, narrowing, settling, order))
        ranked.sort(key=lambda t: (-t[1], -t[2], t[3]))
        return [(fact, narrowing) for fact, narrowing, _, _ in ranked]

    def next_question(self, answers: Mapping[str, Any], free: frozenset[str]) -> str | None:
        """The most decisive question to ask next, or None when no answer can change the result."""
        if len(self.outcomes(answers, free)) == 1:
            return None
        ranked = self.rank(answers, free)
        return ranked[0][0] if ranked else None

    def why(self, fact: str, answers: Mapping[str, Any], free: frozenset[str]) -> list[Rule]:
        """The rules reading `fact` that can still fire: why the question is asked."""
        status = self.statuses(answers, free)
        return [r for r in self.readers[fact] if status[r.id].possible and not status[r.id].certain]
