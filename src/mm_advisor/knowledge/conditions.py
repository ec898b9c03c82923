"""The condition language: a closed set of operators, parsed and type-checked, evaluated in 3 values.

A condition evaluates to True, False or None (unknown). A test on an unanswered fact is unknown,
`not` keeps unknown unknown, `all`/`any` follow Kleene's logic, and a rule fires only on True, so
missing evidence never counts as evidence.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Container, Iterator, Mapping, Union

from ..errors import Problem, did_you_mean
from .schema import CHOICE, NUMBER, FactSpec, Schema
from .yamlsrc import Mark, Node, expect

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_SYMBOL = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
FACT_OPS = ("is", "is_not", "in", "not_in", "lt", "le", "gt", "ge", "known")
COMPOUND = ("all", "any", "not")
CONDITION_KEYS = ("fact", *FACT_OPS, "derived", *COMPOUND)


@dataclass(frozen=True)
class BackgroundRef:
    """A number from the background knowledge, compared with an answer."""

    key: str


@dataclass(frozen=True)
class FactTest:
    """A test of one answered fact with one operator."""

    fact: str
    op: str
    value: Any  # a literal, a tuple of literals for in/not_in, a BackgroundRef, or a bool for known
    mark: Mark = field(compare=False, hash=False)


@dataclass(frozen=True)
class DerivedTest:
    """True when a rule has derived the named fact."""

    name: str
    mark: Mark = field(compare=False, hash=False)


@dataclass(frozen=True)
class All:
    parts: tuple
    mark: Mark = field(compare=False, hash=False)


@dataclass(frozen=True)
class Any_:
    parts: tuple
    mark: Mark = field(compare=False, hash=False)


@dataclass(frozen=True)
class Not:
    part: Any
    mark: Mark = field(compare=False, hash=False)


Condition = Union[FactTest, DerivedTest, All, Any_, Not]


def evaluate(
    cond: Condition,
    answers: Mapping[str, Any],
    derived: Container[str],
    background: Mapping[str, Any],
) -> bool | None:
    """The three-valued truth of `cond`: True, False or None for unknown."""
    if isinstance(cond, FactTest):
        return _test(cond, answers.get(cond.fact), background)
    if isinstance(cond, DerivedTest):
        return cond.name in derived
    if isinstance(cond, Not):
        inner = evaluate(cond.part, answers, derived, background)
        return None if inner is None else not inner
    results = [evaluate(p, answers, derived, background) for p in cond.parts]
    decisive = isinstance(
        cond, Any_
    )  # the value that settles the whole: True for any, False for all
    if decisive in results:
        return decisive
    return None if None in results else not decisive


def _test(test: FactTest, value: Any, background: Mapping[str, Any]) -> bool | None:
    if test.op == "known":
        return (value is not None) == test.value
    if value is None:
        return None
    target = background[test.value.key] if isinstance(test.value, BackgroundRef) else test.value
    if test.op == "is":
        return value == target
    if test.op == "is_not":
        return value != target
    if test.op == "in":
        return value in target
    if test.op == "not_in":
        return value not in target
    return COMPARE[test.op](value, target)


def walk(cond: Condition) -> Iterator[Condition]:
    """Every condition inside `cond`, itself first."""
    yield cond
    if isinstance(cond, Not):
        yield from walk(cond.part)
    elif isinstance(cond, (All, Any_)):
        for part in cond.parts:
            yield from walk(part)


def facts_read(cond: Condition) -> tuple[str, ...]:
    """The answered facts `cond` tests, in order of appearance."""
    return tuple(dict.fromkeys(c.fact for c in walk(cond) if isinstance(c, FactTest)))


def background_read(cond: Condition) -> tuple[str, ...]:
    """The background keys `cond` compares with."""
    return tuple(
        dict.fromkeys(
            c.value.key
            for c in walk(cond)
            if isinstance(c, FactTest) and isinstance(c.value, BackgroundRef)
        )
    )


def derived_read(cond: Condition) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.name for c in walk(cond) if isinstance(c, DerivedTest)))


def describe(cond: Condition, schema: Schema) -> str:
    """The condition in plain words, as the rule file states it."""
    if isinstance(cond, DerivedTest):
        return f"{cond.name} has been derived"
    if isinstance(cond, Not):
        if isinstance(cond.part, DerivedTest):
            return f"{cond.part.name} has not been derived"
        return f"not ({describe(cond.part, schema)})"
    if isinstance(cond, (All, Any_)):
        word = "all of" if isinstance(cond, All) else "any of"
        return f"{word} ({'; '.join(describe(p, schema) for p in cond.parts)})"
    spec = schema.facts[cond.fact]
    if cond.op == "known":
        return f"{cond.fact} is {'known' if cond.value else 'unknown'}"
    if cond.op in ("in", "not_in"):
        words = ", ".join(spec.render(v) for v in cond.value)
        return f"{cond.fact} is {'one of' if cond.op == 'in' else 'none of'} {words}"
    if cond.op in ("is", "is_not"):
        return f"{cond.fact} is {'not ' if cond.op == 'is_not' else ''}{spec.render(cond.value)}"
    if isinstance(cond.value, BackgroundRef):
        key = cond.value.key
        return f"{cond.fact} {_SYMBOL[cond.op]} {key} ({schema.background[key]})"
    return f"{cond.fact} {_SYMBOL[cond.op]} {cond.value}"


class ConditionParser:
    """Parses and type-checks conditions against a schema, recording every problem found."""

    def __init__(self, schema: Schema, problems: list[Problem]):
        self.schema = schema
        self.problems = problems

    def parse(self, node: Node, top: bool = True) -> Condition | None:
        """The condition in `node`; `top` is False inside any/all, where derived tests may not stand."""
        if not expect(node, "map", "a condition", self.problems):
            return None
        keys = list(node.value)
        for key in keys:
            if key not in CONDITION_KEYS:
                self._problem(
                    node.key_marks[key],
                    f"unknown operator '{key}'"
                    f"{did_you_mean(key, CONDITION_KEYS)}; expected one of: "
                    f"{', '.join(CONDITION_KEYS)}",
                    "unknown-operator",
                )
                return None
        if "fact" in node.value:
            return self._fact_test(node)
        if len(keys) != 1:
            self._problem(
                node.mark,
                "a condition holds exactly one of: fact, derived, all, any, not"
                f" (found {', '.join(keys) or 'nothing'})",
                "condition-shape",
            )
            return None
        key, value = keys[0], node.value[keys[0]]
        if key == "derived":
            return self._derived(value, top)
        if key == "not":
            part = self.parse(value, top)
            if isinstance(part, Not) and derived_read(part):
                self._problem(
                    value.mark,
                    "a derived-fact test can stand under one 'not', not under two",
                    "condition-shape",
                )
                return None
            return None if part is None else Not(part, node.mark)
        if not expect(value, "seq", f"'{key}'", self.problems):
            return None
        if not value.value:
            self._problem(value.mark, f"'{key}' needs at least one condition", "condition-shape")
            return None
        parts = [self.parse(item, top=False) for item in value.value]
        if None in parts:
            return None
        return (All if key == "all" else Any_)(tuple(parts), node.mark)

    def _problem(self, mark: Mark, message: str, code: str) -> None:
        self.problems.append(mark.problem(message, code))

    def _derived(self, value: Node, top: bool) -> DerivedTest | None:
        name = value.value if value.kind == "scalar" else None
        if not isinstance(name, str):
            self._problem(
                value.mark,
                f"'derived' names a derived fact, not {value.describe()}",
                "type-mismatch",
            )
            return None
        if name not in self.schema.derived:
            hint = (
                f"; '{name}' is a question: test it with `fact: {name}`"
                if name in self.schema.facts
                else did_you_mean(name, self.schema.derived)
            )
            self._problem(value.mark, f"unknown derived fact '{name}'{hint}", "unknown-fact")
            return None
        if not top:
            self._problem(
                value.mark,
                "a derived-fact test can stand only directly in 'when' or "
                "under a 'not' there, not inside 'all' or 'any'",
                "condition-shape",
            )
            return None
        return DerivedTest(name, value.mark)

    def _fact_test(self, node: Node) -> FactTest | None:
        name_node = node.value["fact"]
        name = name_node.value if name_node.kind == "scalar" else None
        if not isinstance(name, str) or name not in self.schema.facts:
            if isinstance(name, str) and name in self.schema.derived:
                hint = f"; '{name}' is derived by rules: test it with `derived: {name}`"
            else:
                hint = did_you_mean(name, self.schema.facts) if isinstance(name, str) else ""
            self._problem(name_node.mark, f"unknown fact '{name}'{hint}", "unknown-fact")
            return None
        ops = [k for k in node.value if k != "fact"]
        if len(ops) != 1 or ops[0] not in FACT_OPS:
            found = ", ".join(ops) or "none"
            self._problem(
                node.mark,
                f"a test of '{name}' needs exactly one operator of: "
                f"{', '.join(FACT_OPS)} (found {found})",
                "condition-shape",
            )
            return None
        op = ops[0]
        value = self._operand(self.schema.facts[name], op, node.value[op])
        return None if value is _INVALID else FactTest(name, op, value, node.mark)

    def _operand(self, spec: FactSpec, op: str, node: Node) -> Any:
        if op == "known":
            if not isinstance(node.value, bool):
                self._problem(node.mark, "'known' takes true or false", "type-mismatch")
                return _INVALID
            return node.value
        if op in ("in", "not_in"):
            if not expect(node, "seq", f"'{op}'", self.problems) or not node.value:
                if node.kind == "seq":
                    self._problem(node.mark, f"'{op}' needs at least one value", "type-mismatch")
                return _INVALID
            values = [self._literal(spec, item) for item in node.value]
            return _INVALID if _INVALID in values else tuple(values)
        if op in COMPARE:
            return self._number(spec, op, node)
        return self._literal(spec, node)

    def _literal(self, spec: FactSpec, node: Node) -> Any:
        if node.kind != "scalar":
            self._problem(
                node.mark,
                f"expected a value of '{spec.name}' ({spec.allowed()}), not {node.describe()}",
                "type-mismatch",
            )
            return _INVALID
        try:
            value = spec.parse(node.value)
        except ValueError as exc:
            self._problem(node.mark, f"'{spec.name}': {exc}", "type-mismatch")
            return _INVALID
        if value is None:
            self._problem(
                node.mark,
                "to test for an unknown answer use `known: false`, not a value",
                "type-mismatch",
            )
            return _INVALID
        return value

    def _number(self, spec: FactSpec, op: str, node: Node) -> Any:
        if spec.type != NUMBER:
            kind = (
                f"a choice ({', '.join(spec.choices)})" if spec.type == CHOICE else "a yes/no fact"
            )
            self._problem(
                node.mark, f"'{op}' compares numbers, but '{spec.name}' is {kind}", "type-mismatch"
            )
            return _INVALID
        if node.kind == "map":
            ref = node.value.get("background")
            if list(node.value) != ["background"] or ref is None or not isinstance(ref.value, str):
                self._problem(
                    node.mark, "a comparison takes a number or {background: KEY}", "type-mismatch"
                )
                return _INVALID
            key = ref.value
            if key not in self.schema.background:
                self._problem(
                    ref.mark,
                    f"unknown background fact '{key}'{did_you_mean(key, self.schema.background)}",
                    "unknown-fact",
                )
                return _INVALID
            target = self.schema.background[key]
            if not isinstance(target, int) or isinstance(target, bool):
                self._problem(
                    ref.mark,
                    f"background '{key}' is {target!r}, not a number, so "
                    f"'{spec.name}' cannot be compared with it",
                    "type-mismatch",
                )
                return _INVALID
            return BackgroundRef(key)
        return self._literal(spec, node)


_INVALID = object()
