"""Value classes: the answers to a fact that every test of it treats alike.

Rules only ever compare an answer with a few numbers or values, so a fact's answers fall into a
handful of classes (for months: fewer than 6, 6 to 17, 18 or more, unknown). Enumerating one value
per class covers every possible answer exactly: the invariant checker, the interview planner,
what-if and the fast evaluator all work over classes.
"""

from __future__ import annotations

import bisect
from typing import Any, Iterable

from .conditions import BackgroundRef, Condition, FactTest, evaluate, facts_read, walk
from .schema import NUMBER, FactSpec, Schema

UNKNOWN = None


class ValueClasses:
    """The value classes of every fact of `schema`, as the tests in `conditions` see them.

    `values[fact]` lists one representative per class: the known classes in ascending order of
    their smallest member, then `None` (unknown), which is always a class of its own.
    """

    def __init__(self, schema: Schema, conditions: Iterable[Condition]):
        tests: dict[str, list[FactTest]] = {name: [] for name in schema.facts}
        for cond in conditions:
            for c in walk(cond):
                if isinstance(c, FactTest) and c.op != "known":
                    tests[c.fact].append(c)
        self.background = schema.background
        self.specs = schema.facts
        self.tests = {name: tuple(dict.fromkeys(t)) for name, t in tests.items()}
        self.values: dict[str, tuple[Any, ...]] = {}
        self._index: dict[str, dict[Any, int]] = {}
        self._segments: dict[str, tuple[list[int], list[int]]] = {}  # starts, class of each
        self._ranges: dict[str, list[list[tuple[int, int]]]] = {}
        for name, spec in schema.facts.items():
            if spec.type == NUMBER:
                self._number(name, spec)
            else:
                self._finite(name, spec)

    def _signature(self, fact: str, value: Any) -> tuple:
        return tuple(evaluate(t, {fact: value}, (), self.background) for t in self.tests[fact])

    def _finite(self, fact: str, spec: FactSpec) -> None:
        classes: dict[tuple, int] = {}
        index: dict[Any, int] = {}
        values: list[Any] = []
        for value in spec.domain():
            signature = self._signature(fact, value)
            if signature not in classes:
                classes[signature] = len(values)
                values.append(value)
            index[value] = classes[signature]
        index[UNKNOWN] = len(values)
        self.values[fact] = (*values, UNKNOWN)
        self._index[fact] = index

    def _number(self, fact: str, spec: FactSpec) -> None:
        """Segments between the numbers the tests compare with; a segment's members test alike."""
        low, high = spec.minimum, spec.maximum
        points = {low, high}
        for t in self.tests[fact]:
            for v in t.value if isinstance(t.value, tuple) else (t.value,):
                v = self.background[v.key] if isinstance(v, BackgroundRef) else v
                if isinstance(v, int) and not isinstance(v, bool) and low <= v <= high:
                    points.add(v)
        segments: list[tuple[int, int]] = []
        ordered = sorted(points)
        for here, after in zip(ordered, ordered[1:] + [None]):
            segments.append((here, here))
            if after is not None and after > here + 1:
                segments.append((here + 1, after - 1))
        classes: dict[tuple, int] = {}
        starts, owner = [], []
        ranges: list[list[tuple[int, int]]] = []
        for start, end in segments:
            signature = self._signature(fact, start)
            if signature not in classes:
                classes[signature] = len(ranges)
                ranges.append([])
            cls = classes[signature]
            if owner and owner[-1] == cls:
                ranges[cls][-1] = (ranges[cls][-1][0], end)  # merge with the segment before
                continue
            starts.append(start)
            owner.append(cls)
            ranges[cls].append((start, end))
        self.values[fact] = (*(r[0][0] for r in ranges), UNKNOWN)
        self._segments[fact] = (starts, owner)
        self._ranges[fact] = ranges
        self._index[fact] = {UNKNOWN: len(ranges)}

    def classify(self, fact: str, value: Any) -> int:
        """The index in `values[fact]` of the class holding `value` (a parsed answer)."""
        index = self._index[fact]
        if value in index:
            return index[value]
        starts, owner = self._segments[fact]
        return owner[bisect.bisect_right(starts, value) - 1]

    def members(self, fact: str, cls: int) -> list[Any]:
        """For a yes/no or choice fact, the answers in a known class, in the schema's order."""
        return [v for v, c in self._index[fact].items() if c == cls and v is not UNKNOWN]

    def ranges(self, fact: str, cls: int) -> list[tuple[int, int]]:
        """For a number fact, the (low, high) intervals that make up a known class."""
        return list(self._ranges[fact][cls])

    def count(self) -> int:
        """How many combinations of classes there are: the size of the answer space."""
        total = 1
        for values in self.values.values():
            total *= len(values)
        return total


class Predicate:
    """Conditions on answers, all of which must be true, evaluated once per combination of classes.

    `facts` are the facts the conditions read; call it with their class indexes, in that order.
    """

    def __init__(self, classes: ValueClasses, conditions: Iterable[Condition]):
        self.conditions = tuple(conditions)
        self.facts = tuple(dict.fromkeys(f for c in self.conditions for f in facts_read(c)))
        self._classes = classes
        self._memo: dict[tuple[int, ...], bool] = {}

    def __call__(self, key: tuple[int, ...]) -> bool:
        truth = self._memo.get(key)
        if truth is None:
            values = self._classes.values
            answers = {f: values[f][k] for f, k in zip(self.facts, key)}
            background = self._classes.background
            truth = all(evaluate(c, answers, (), background) is True for c in self.conditions)
            self._memo[key] = truth
        return truth
