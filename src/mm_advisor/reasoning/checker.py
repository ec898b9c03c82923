"""Prove invariants over the whole answer space: every combination of every answer's value class.

The space is enumerated one fact at a time. A partial profile only matters through the tests it
has settled (one bit per rule and per invariant condition) and the answers that unsettled tests
still read, so partial profiles that agree on both are merged, keeping their count and the
smallest of them (fewest answers given) as the one to show. Facts that no test reads together
are enumerated apart and their results multiplied, as nothing merges across them. After the last
fact, each distinct set of bits is run once through the fast evaluator. Nothing is sampled and
nothing is pruned unsoundly: every profile is counted exactly once.

A monotone or unknown invariant compares profiles that differ in one fact only: that fact is left
out of the enumeration and tried in every class at the end, on each merged profile.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from ..errors import AdvisorError
from ..knowledge.conditions import facts_read
from ..knowledge.domains import Predicate, ValueClasses
from ..knowledge.invariants import AWAY, MONOTONE, OUTCOME, UNKNOWN, UP, Invariant
from ..knowledge.rulebase import Rule, RuleBase
from ..knowledge.schema import CHOICE, NUMBER, UNDETERMINED
from .evaluator import Evaluator


@dataclass(frozen=True)
class Finding:
    """Whether one invariant holds; when it fails, the smallest counterexample found."""

    invariant: Invariant
    cases: int  # profiles it applies to, all checked
    examples: tuple[tuple[dict[str, Any], str], ...] = ()  # (answers, recommendation) pairs
    # Cases where it could have failed: the outcome is not one that every result satisfies, the
    # recommendation before (away) or after (toward) the change is its option, or the known
    # answers agree on a recommendation (unknown). Zero: it holds vacuously.
    premises: int = 0

    @property
    def holds(self) -> bool:
        return not self.examples

    @property
    def vacuous(self) -> bool:
        return self.holds and not self.premises


@dataclass
class Report:
    findings: list[Finding]
    space: int  # profiles in the whole answer space
    distribution: Counter = field(default_factory=Counter)  # recommendation -> profiles
    reasons: Counter = field(default_factory=Counter)  # decision reason -> profiles
    against: int = 0  # profiles whose recommendation has evidence against it
    seconds: float = 0.0

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if not f.holds]

    @property
    def vacuous(self) -> list[Finding]:
        return [f for f in self.findings if f.vacuous]


class _Best:
    """The smallest counterexample seen so far: fewest answers given, then first found."""

    def __init__(self) -> None:
        self.cost: int | None = None
        self.examples: tuple = ()

    def offer(self, cost: int, make: Callable[[], tuple]) -> None:
        if self.cost is None or cost < self.cost:
            self.cost, self.examples = cost, make()


# Profiles sampled before a rule's removal is proved over the whole answer space (`removable`).
WITNESS_SAMPLE = 256
# Distinct partial profiles an enumeration may hold at once (each some hundred bytes): the
# shipped rules need 62,208 at most; a rule base whose tests keep millions of profiles apart
# cannot be proved this way in the memory and time of a command.
STATES = 2_000_000


class SpaceTooLarge(AdvisorError):
    """The answer space does not merge into few enough partial profiles to be enumerated."""

    def __init__(self, limit: int):
        super().__init__(
            f"the answer space is too large to enumerate: the rules keep over {limit:,} "
            "partial profiles apart"
        )


class Checker:
    """Checks invariants against one rule base."""

    def __init__(
        self,
        rulebase: RuleBase,
        invariants: Sequence[Invariant],
        variant: RuleBase | None = None,
        states: int | None = None,
    ):
        """`variant`: another rule base over the same questions, for `first_difference`;
        `states`: the most partial profiles an enumeration may hold (default STATES; past it,
        SpaceTooLarge)."""
        self.rulebase = rulebase
        self.states = STATES if states is None else states
        self.invariants = list(invariants)
        self.variant = variant
        conditions = [c for r in rulebase.rules for c in r.when]
        conditions += [c for inv in self.invariants for c in inv.when]
        conditions += [c for r in variant.rules for c in r.when] if variant else []
        self.classes = ValueClasses(rulebase.schema, conditions)
        self.evaluator = Evaluator(rulebase, self.classes)
        self.rule_mask = (1 << len(self.evaluator.rules)) - 1
        self.predicates: list[Predicate] = []
        self.when_mask: dict[str, int] = {}
        self.facts = list(rulebase.schema.facts)
        self.unknown = {f: len(self.classes.values[f]) - 1 for f in self.facts}

    def run(self, until_broken: bool = False) -> Report:
        """Prove every invariant. With `until_broken`, stop after the first enumeration that
        finds one failing: the report then holds only the failures found (enough to know that
        the rules break something, as mutation testing needs); with none, it is the full report.
        """
        start = time.perf_counter()
        report = Report([], self.classes.count())
        results: dict[str, Finding] = {}
        outcome = [inv for inv in self.invariants if inv.kind == OUTCOME]
        results.update(self._outcomes(outcome, report, until_broken))
        broken = until_broken and any(not f.holds for f in results.values())
        by_fact: dict[str, list[Invariant]] = {}
        for inv in self.invariants:
            for fact in _compared(inv):
                by_fact.setdefault(fact, []).append(inv)
        partial: dict[str, list[tuple[int, int, _Best]]] = {}
        for fact in self.facts:
            if fact in by_fact and not broken:
                for inv, cases, premises, best in self._compare(fact, by_fact[fact]):
                    partial.setdefault(inv.id, []).append((cases, premises, best))
                    broken |= until_broken and best.cost is not None
        for inv in self.invariants:
            if inv.id in partial:
                runs = partial[inv.id]
                best = min(
                    (b for _, _, b in runs if b.cost is not None),
                    key=lambda b: b.cost,
                    default=None,
                )
                examples = best.examples if best is not None else ()
                cases = max(c for c, _, _ in runs)
                results[inv.id] = Finding(inv, cases, examples, sum(p for _, p, _ in runs))
            elif inv.id not in results:  # an unknown invariant over no fact
                results[inv.id] = Finding(inv, 0)
        report.findings = [results[inv.id] for inv in self.invariants]
        if broken:
            report.findings = report.failed
        report.seconds = time.perf_counter() - start
        return report

    def removable(self, rules: Sequence[Rule]) -> tuple[set[str], set[str]]:
        """The ids of `rules` whose removal alone changes no recommendation on any profile, and
        those for which that could not be decided (the answer space is too large to enumerate:
        see SpaceTooLarge), though no sampled profile changes.

        One sweep serves every rule: without rule k, a profile's outcome is its outcome with
        bit k cleared (a rule whose bit is clear never fires, and the others keep their agenda
        order). Most rules matter on many profiles, so a few hundred sampled ones are tried
        first: one that changes the recommendation proves the rule is needed without the
        sweep."""
        ev = self.evaluator
        without = {rule.id: ~(1 << ev.rules.index(rule)) for rule in rules}

        def same(rule_id: str, bits: int) -> bool:
            return ev.run(bits).recommendation == ev.run(bits & without[rule_id]).recommendation

        pick = random.Random(0)
        sample = {
            ev.truths({f: pick.randrange(self.unknown[f] + 1) for f in self.facts})
            for _ in range(WITNESS_SAMPLE)
        }
        left = [r for r in without if all(same(r, bits) for bits in sample)]
        if not left:
            return set(), set()
        self._focus([])
        try:
            swept = self._sweep(self._order(self.facts))
        except SpaceTooLarge:
            return set(), set(left)
        states = {bits & self.rule_mask for bits, *_ in swept}
        return {r for r in left if all(same(r, bits) for bits in states)}, set()

    def first_difference(self) -> tuple[dict[str, Any], str, str] | None:
        """The smallest profile on which the variant recommends otherwise than the rule base:
        (answers, its recommendation, the variant's); None when they agree on every profile."""
        assert self.variant is not None
        other = Evaluator(self.variant, self.classes)
        self._focus([])
        shift = len(self.predicates)
        self.predicates += other.predicates
        other_mask = (1 << len(other.rules)) - 1
        order = self._order(self.facts)
        best = _Best()
        for bits, _, _, cost, rep in self._sweep(order):
            mine = self.evaluator.run(bits & self.rule_mask).recommendation
            theirs = other.run(bits >> shift & other_mask).recommendation
            if mine != theirs:
                best.offer(
                    cost, lambda rep=rep, a=mine, b=theirs: (self._profile(order, rep), a, b)
                )
        return best.examples or None

    # The enumeration.

    def _focus(self, invariants: Sequence[Invariant]) -> None:
        """Enumerate next with the rules' tests and the `when` of `invariants` only.

        An invariant applies where each condition of its `when` holds: one bit per distinct
        condition (most read one fact, so they settle as soon as it is enumerated). Each such
        bit keeps apart profiles the rules treat alike, so a sweep carries as few as it can.
        """
        self.predicates = list(self.evaluator.predicates)
        self.when_mask = {}
        bit_of: dict[Any, int] = {}
        for inv in invariants:
            mask = 0
            for cond in inv.when:
                if cond not in bit_of:
                    bit_of[cond] = len(self.predicates)
                    self.predicates.append(Predicate(self.classes, [cond]))
                mask |= 1 << bit_of[cond]
            self.when_mask[inv.id] = mask

    def _order(self, facts: list[str]) -> list[str]:
        """A fact order that keeps few answers pending: next, the fact after which the fewest
        assigned facts are still read by an unfinished test (schema order breaks ties). The
        facts of each group (see `_groups`) come together, groups in the order they are met."""
        reads = [set(p.facts) for p in self.predicates]
        order: list[str] = []
        left = list(facts)
        while left:

            def pending(f: str) -> int:
                done = set(order) | {f}
                return len({g for r in reads if not r <= done for g in r & done})

            nxt = min(left, key=lambda f: (pending(f), left.index(f)))
            order.append(nxt)
            left.remove(nxt)
        return [f for group in self._groups(order) for f in group]

    def _groups(self, order: list[str]) -> list[list[str]]:
        """`order` split into groups no test connects (facts one test reads are together),
        each in `order`'s order, groups as first met."""
        group = {f: f for f in order}

        def find(f: str) -> str:
            while group[f] != f:
                group[f] = f = group[group[f]]
            return f

        for p in self.predicates:
            inside = [f for f in p.facts if f in group]
            for f in inside[1:]:
                group[find(f)] = find(inside[0])
        members: dict[str, list[str]] = {}
        for f in order:
            members.setdefault(find(f), []).append(f)
        return list(members.values())

    def _sweep(
        self, order: list[str], required: int = 0
    ) -> list[tuple[int, tuple, int, int, tuple]]:
        """Every combination of the classes of `order`, merged: [(bits, pending, count, cost,
        representative)], each (bits, pending) once. `pending` holds the classes of the facts
        that tests reading facts outside `order` still need, in `order`'s order. Combinations
        that fail a test of the `required` bits are dropped as soon as it is decided (an
        invariant's own sweep needs only the profiles its `when` applies to).

        No test reads two groups (`_groups`), so no two combinations of different groups merge:
        each group is swept alone and the results are their product, built without merging. As
        `order` keeps each group together, the product comes in the order one sweep over all of
        `order` would have found it, and a representative is its groups' representatives."""
        constant = 0
        for k, p in enumerate(self.predicates):
            if not p.facts and p(()):
                constant |= 1 << k
        states = [(constant, (), 1, 0, ())]
        start = 0
        for group in self._groups(order):
            assert group == order[start : start + len(group)], "a group is not together"
            start += len(group)
            table = self._sweep_group(group, required)
            if len(states) * len(table) > self.states:
                raise SpaceTooLarge(self.states)
            states = [
                (bits | more, pending + waiting, count * times, cost + extra, rep + tail)
                for bits, pending, count, cost, rep in states
                for more, waiting, times, extra, tail in table
            ]
        return states

    def _sweep_group(self, order: list[str], required: int) -> list[tuple]:
        """`_sweep` within one group, merging as it goes: [(bits, pending, count, cost, rep)]."""
        position = {f: i for i, f in enumerate(order)}
        finish: list[list[int]] = [[] for _ in order]
        last_use: dict[str, int] = {}
        for k, p in enumerate(self.predicates):
            if not any(f in position for f in p.facts):
                continue
            if all(f in position for f in p.facts):
                end = max(position[f] for f in p.facts)
                finish[end].append(k)
            else:
                end = len(order)  # finished by the caller
            for f in p.facts:
                if f in position:
                    last_use[f] = max(last_use.get(f, -1), end)
        states: dict[tuple[int, tuple], list] = {(0, ()): [1, 0, ()]}
        open_facts: list[str] = []
        for i, fact in enumerate(order):
            combined = [*open_facts, fact]
            index = {f: j for j, f in enumerate(combined)}
            tests = [
                (1 << k, self.predicates[k], _getter([index[f] for f in self.predicates[k].facts]))
                for k in finish[i]
            ]
            must = sum(bit for bit, _, _ in tests if bit & required)
            kept = [f for f in combined if last_use.get(f, -1) > i]
            keep = _getter([index[f] for f in kept])
            unknown = self.unknown[fact]
            classes = [unknown, *range(unknown)]  # unknown first: the fewest answers given
            moves: dict[tuple, list[tuple[int, tuple, int, int]]] = {}  # pending -> its moves
            merged: dict[tuple[int, tuple], list] = {}
            for (bits, pending), (count, cost, rep) in states.items():
                options = moves.get(pending)
                if options is None:
                    options = moves[pending] = []
                    for cls in classes:
                        values = (*pending, cls)
                        added = 0
                        for bit, predicate, get in tests:
                            if predicate(get(values)):
                                added |= bit
                        if added & must == must:
                            options.append((added, keep(values), cls, cls != unknown))
                for added, after, cls, known in options:
                    key = (bits | added, after)
                    step = cost + known
                    entry = merged.get(key)
                    if entry is None:
                        merged[key] = [count, step, (*rep, cls)]
                        if len(merged) > self.states:
                            raise SpaceTooLarge(self.states)
                    else:
                        entry[0] += count
                        if step < entry[1]:
                            entry[1], entry[2] = step, (*rep, cls)
            states, open_facts = merged, kept
        return [(bits, pending, *entry) for (bits, pending), entry in states.items()]

    def _profile(self, order: Sequence[str], rep: Sequence[int], **extra: Any) -> dict[str, Any]:
        """A representative profile as answers: known values only, in schema order."""
        chosen = {f: self.classes.values[f][c] for f, c in zip(order, rep)}
        chosen.update(extra)
        return {f: chosen[f] for f in self.facts if chosen.get(f) is not None}

    def _outcomes(
        self, invariants: list[Invariant], report: Report, until_broken: bool = False
    ) -> dict[str, Finding]:
        cases = {inv.id: 0 for inv in invariants}
        every = {*self.rulebase.schema.options, UNDETERMINED}
        can_fail = {inv.id: not every <= set(inv.allowed) for inv in invariants}
        best = {inv.id: _Best() for inv in invariants}
        # The first sweep counts the distribution; each invariant with a `when` gets its own.
        sweeps = [[inv for inv in invariants if not inv.when]]
        sweeps += [[inv] for inv in invariants if inv.when]
        for index, group in enumerate(sweeps):
            if until_broken and any(b.cost is not None for b in best.values()):
                break
            self._focus(group)
            order = self._order(self.facts)
            required = self.when_mask[group[0].id] if index else 0
            for bits, _, count, cost, rep in self._sweep(order, required):
                outcome = self.evaluator.run(bits & self.rule_mask)
                recommendation = outcome.recommendation
                if index == 0:
                    report.distribution[recommendation] += count
                    report.reasons[outcome.decision.reason] += count
                    if any(w < 0 for r in outcome.fired for o, w in r.score if o == recommendation):
                        report.against += count
                for inv in group:
                    mask = self.when_mask[inv.id]
                    if bits & mask != mask:
                        continue
                    cases[inv.id] += count
                    if recommendation not in inv.allowed:
                        best[inv.id].offer(
                            cost,
                            lambda rep=rep, r=recommendation, order=order: (
                                (self._profile(order, rep), r),
                            ),
                        )
        return {
            inv.id: Finding(
                inv, cases[inv.id], best[inv.id].examples, cases[inv.id] * can_fail[inv.id]
            )
            for inv in invariants
        }

    def _compare(self, fact: str, invariants: list[Invariant]):
        """Invariants comparing the classes of `fact`, on every profile of the other facts."""
        self._focus(invariants)
        others = self._order([f for f in self.facts if f != fact])
        readers = [(1 << k, p) for k, p in enumerate(self.predicates) if fact in p.facts]
        open_facts = [f for f in others if any(f in p.facts for _, p in readers)]
        spot = {f: j for j, f in enumerate(open_facts)}
        count_classes = len(self.classes.values[fact])
        unknown = self.unknown[fact]
        checks = [(inv, self._pairs(inv, fact)) for inv in invariants]
        cases = {inv.id: 0 for inv in invariants}
        premises = {inv.id: 0 for inv in invariants}
        best = {inv.id: _Best() for inv in invariants}
        getters = [
            (
                bit,
                predicate,
                [(True, 0) if f == fact else (False, spot[f]) for f in predicate.facts],
            )
            for bit, predicate in readers
        ]
        extras: dict[tuple, list[int]] = {}  # pending -> the readers' bits for each class
        verdicts: dict[int, str] = {}
        # (invariant, each class's recommendation) -> (premises, the classes shown failing)
        judged: dict[tuple[str, tuple[str, ...]], tuple[int, tuple[int, ...] | None]] = {}
        run, rule_mask = self.evaluator.run, self.rule_mask
        for bits, pending, count, cost, rep in self._sweep(others):
            extra = extras.get(pending)
            if extra is None:
                extra = extras[pending] = [
                    sum(
                        bit
                        for bit, predicate, where in getters
                        if predicate(tuple(cls if own else pending[i] for own, i in where))
                    )
                    for cls in range(count_classes)
                ]
            recommendations = []
            for add in extra:
                final = (bits | add) & rule_mask
                verdict = verdicts.get(final)
                if verdict is None:
                    verdict = verdicts[final] = run(final).recommendation
                recommendations.append(verdict)
            recs = tuple(recommendations)
            for inv, pairs in checks:
                mask = self.when_mask[inv.id]
                if bits & mask != mask:
                    continue
                found = judged.get((inv.id, recs))
                if found is None:
                    shown = next(_violations(inv, pairs, recs, unknown), None)
                    found = judged[inv.id, recs] = (_premises(inv, pairs, recs, unknown), shown)
                cases[inv.id] += count * count_classes
                premises[inv.id] += count * found[0]
                shown = found[1]
                if shown is not None:
                    values = self._shown_values(inv, fact, shown)
                    best[inv.id].offer(
                        cost + (shown[0] != unknown),
                        lambda rep=rep, shown=shown, values=values, recs=recs: tuple(
                            (self._profile(others, rep, **{fact: v}), recs[cls])
                            for cls, v in zip(shown, values)
                        ),
                    )
        for inv in invariants:
            yield inv, cases[inv.id], premises[inv.id], best[inv.id]

    def _pairs(self, inv: Invariant, fact: str) -> list[tuple[int, int]]:
        """The (from, to) class pairs a monotone invariant compares."""
        if inv.kind != MONOTONE:
            return []
        classify = self.classes.classify
        if isinstance(inv.change, tuple):
            pair = (classify(fact, inv.change[0]), classify(fact, inv.change[1]))
            return [pair] if pair[0] != pair[1] else []
        spans = self._spans(fact)
        return [
            (a, b)
            for a in range(len(spans))
            for b in range(len(spans))
            if a != b
            and (spans[a][0] < spans[b][1] if inv.change == UP else spans[a][1] > spans[b][0])
        ]

    def _spans(self, fact: str) -> list[tuple[int, int]]:
        """For each known class of an ordered fact, the lowest and highest rank of its members."""
        spec = self.rulebase.schema.facts[fact]
        known = range(self.unknown[fact])
        if spec.type == NUMBER:
            return [
                (
                    min(lo for lo, _ in self.classes.ranges(fact, c)),
                    max(hi for _, hi in self.classes.ranges(fact, c)),
                )
                for c in known
            ]
        assert spec.type == CHOICE
        ranks = [
            [i for i, choice in enumerate(spec.choices) if self.classes.classify(fact, choice) == c]
            for c in known
        ]
        return [(min(r), max(r)) for r in ranks]

    def _shown_values(self, inv: Invariant, fact: str, shown: tuple[int, ...]) -> list[Any]:
        """The values of `fact` a counterexample shows: the invariant's own values for a
        from/to change, values really in its order for a direction, else representatives."""
        values = self.classes.values[fact]
        if inv.kind != MONOTONE:
            return [values[c] for c in shown]
        if isinstance(inv.change, tuple):
            return list(inv.change)
        a, b = shown
        spec = self.rulebase.schema.facts[fact]
        up = inv.change == UP
        if spec.type == NUMBER:
            low, high = self.classes.ranges(fact, a), self.classes.ranges(fact, b)
            if up:
                start = low[0][0]
                return [start, next(max(lo, start + 1) for lo, hi in high if hi > start)]
            start = low[-1][1]
            return [start, next(min(hi, start - 1) for lo, hi in reversed(high) if lo < start)]
        rank = spec.choices.index
        members = [
            [ch for ch in spec.choices if self.classes.classify(fact, ch) == c] for c in shown
        ]
        if up:
            start = members[0][0]
            return [start, next(ch for ch in members[1] if rank(ch) > rank(start))]
        start = members[0][-1]
        return [start, next(ch for ch in reversed(members[1]) if rank(ch) < rank(start))]


def _compared(inv: Invariant) -> Iterable[str]:
    if inv.kind == MONOTONE:
        return (inv.fact,)
    if inv.kind == UNKNOWN:
        tested = {f for c in inv.when for f in facts_read(c)}
        return tuple(f for f in inv.facts if f not in tested)
    return ()


def _premises(inv: Invariant, pairs, recommendations: Sequence[str], unknown: int) -> int:
    """How many of the comparisons on one profile could have broken `inv`."""
    if inv.kind == MONOTONE:
        side = 0 if inv.mode == AWAY else 1
        return sum(recommendations[pair[side]] == inv.option for pair in pairs)
    known = set(recommendations[:unknown])
    return int(len(known) == 1 and UNDETERMINED not in known)


def _violations(inv: Invariant, pairs, recommendations: Sequence[str], unknown: int):
    """The class tuples (shown in this order) on which `inv` fails, given each class's result."""
    if inv.kind == MONOTONE:
        for a, b in pairs:
            before, after = recommendations[a], recommendations[b]
            if inv.mode == AWAY and before == inv.option != after:
                yield (a, b)
            elif inv.mode != AWAY and after == inv.option != before:
                yield (a, b)
        return
    known = set(recommendations[:unknown])
    if len(known) == 1:
        (agreed,) = known
        if recommendations[unknown] not in (agreed, UNDETERMINED):
            yield (unknown, *range(unknown))


def _getter(indexes: list[int]) -> Callable[[tuple], tuple]:
    """A function picking `indexes` out of a tuple, always returning a tuple."""
    if not indexes:
        return lambda values: ()
    if len(indexes) == 1:
        (i,) = indexes
        return lambda values: (values[i],)
    from operator import itemgetter

    return itemgetter(*indexes)
