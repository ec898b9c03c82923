"""Compiles a rule base into one experta Rete network and runs it.

experta's names come from `compat` (the one module that imports it); `speedups` makes the
network faster with the same firings, and `strategy` orders the agenda the same way in every
process. Each compiled rule base is a subclass of `_Engine` whose members are its rules.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Mapping

from ..knowledge.conditions import (
    Condition,
    DerivedTest,
    Not,
    background_read,
    evaluate,
    facts_read,
)
from ..knowledge.rulebase import Rule, RuleBase, once
from .compat import AS, MATCH, NOT, TEST, ExpertaRule, Fact, P
from .speedups import FastEngine, enabled, prepare
from .strategy import DeterministicStrategy


class Answers(Fact):
    """Every answer of a consultation, one field per fact in the schema's order (None when
    unknown): one fact, as a CLIPS program asserts one template with a slot per question, so a
    rule's tests on answers are all alpha tests on it and no two answers need a join."""


class Background(Fact):
    """A figure from the comparison table: `name` ("kind.attribute") and `value`."""


class Derived(Fact):
    """An intermediate conclusion added by a rule: `name`."""


class Conclusion(Fact):
    """The option a decision rule concluded: `option`."""


@dataclass(frozen=True)
class MatchedFact:
    """A fact an activation matched, as the trace records it."""

    kind: str  # "answer", "derived", "background"
    name: str
    value: Any
    id: int


@dataclass(frozen=True)
class Firing:
    """One rule firing, in order."""

    seq: int
    rule: Rule
    matched: tuple[MatchedFact, ...]
    bindings: tuple[tuple[str, Any], ...]
    derived: tuple[str, ...]  # newly derived by this firing
    already: tuple[str, ...]  # derived before, so not added again


@dataclass(frozen=True)
class Run:
    """What one run of the engine produced."""

    firings: tuple[Firing, ...]
    derived: tuple[str, ...]
    conclusion: Firing | None


class _FieldTest:
    """An alpha-node test: the conditions of a rule that read one answer, on its value."""

    def __init__(self, conds: tuple[Condition, ...], fact: str):
        self.conds = conds
        self.fact = fact
        self.seen: dict[Any, bool] = {}  # value -> verdict: a field's values are few or repeat

    @classmethod
    def of(cls, conds: tuple[Condition, ...], fact: str, made: dict) -> "_FieldTest":
        """One test object per rule base for equal conditions (`made` holds them), so that
        experta shares its alpha node between the rules that make the same test (it recognises
        a test by the object's identity). With the speedups off, each rule gets its own."""
        if not enabled():
            return cls(conds, fact)
        key = (conds, fact)
        if key not in made:
            made[key] = cls(conds, fact)
        return made[key]

    def __call__(self, value: Any) -> bool:
        verdict = self.seen.get(value)  # one fact's values are of one type (1 and 1.0 agree)
        if verdict is None:
            answers = {self.fact: value}
            verdict = all(evaluate(c, answers, (), {}) is True for c in self.conds)
            if len(self.seen) >= _SEEN_LIMIT:
                self.seen.clear()
            self.seen[value] = verdict
        return verdict


_SEEN_LIMIT = 4096


class _JoinTest:
    """A TEST node: a condition over several answers or background figures, on bound values."""

    def __init__(
        self, cond: Condition, answer_vars: Mapping[str, str], background_vars: Mapping[str, str]
    ):
        self.cond = cond
        self.answer_vars = answer_vars
        self.background_vars = background_vars
        names = [*answer_vars.values(), *background_vars.values()]
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names]
        )

    def __call__(self, **values: Any) -> bool:
        answers = {fact: values[var] for fact, var in self.answer_vars.items()}
        background = {key: values[var] for key, var in self.background_vars.items()}
        return evaluate(self.cond, answers, (), background) is True


_ACTION_SIGNATURE = inspect.Signature(
    [
        inspect.Parameter("engine", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("context", inspect.Parameter.VAR_KEYWORD),
    ]
)


class _Action:
    """The right-hand side of every compiled rule: record the firing, then derive and conclude."""

    def __init__(self, rule: Rule, reads: tuple[tuple, ...], variables: tuple[str, ...]):
        self.rule = rule
        self.reads = reads  # (tag, field, fact name) per answer read, (tag, None, None) per fact
        self.variables = variables
        self.__name__ = rule.id
        # experta inspects the action each time it rewrites a rule; a ready signature is cheap.
        self.__signature__ = _ACTION_SIGNATURE

    def __call__(self, engine: "_Engine", **context: Any) -> None:
        matched: dict[tuple[str, str], MatchedFact] = {}
        for tag, field, name in self.reads:
            fact = context[tag]
            if field is not None:
                kind, value = "answer", fact[field]
            else:
                kind, name = type(fact).__name__.lower(), fact["name"]
                value = True if kind == "derived" else fact["value"]
            if (kind, name) not in matched:
                matched[kind, name] = MatchedFact(kind, name, value, fact["__factid__"])
        bindings = tuple((v, context[v]) for v in self.variables)
        new, already = [], []
        for name in self.rule.derive:
            (new if engine.declare(Derived(name=name)) is not None else already).append(name)
        if self.rule.conclude:
            engine.declare(Conclusion(option=self.rule.conclude))
        engine.firings.append(
            Firing(
                len(engine.firings) + 1,
                self.rule,
                tuple(matched.values()),
                bindings,
                tuple(new),
                tuple(already),
            )
        )


class _Engine(FastEngine):
    """The experta engine; each compiled rule base subclasses it with its rules."""

    firings: list[Firing]


def _compile_rule(rule: Rule, tests: dict, field: Mapping[str, int]) -> Any:
    """The experta rule for `rule`; `tests` holds the alpha tests made so far for its rule base,
    `field` each answer's field in the `Answers` fact.

    Its tests on answers make one `Answers` pattern: the conditions that read one answer an
    alpha test on that answer's field, a condition over several answers (or an answer and a
    background figure) a TEST node on their values bound from that pattern."""
    answer_tests: dict[str, list[Condition]] = {}
    answer_vars: dict[str, str] = {}
    reads: list[tuple] = []
    patterns: list[Any] = []
    variables: list[str] = []

    for i, cond in enumerate(rule.when):
        tag = f"c{i:03d}"
        if isinstance(cond, DerivedTest):
            reads.append((tag, None, None))
            patterns.append(getattr(AS, tag) << Derived(name=cond.name))
        elif isinstance(cond, Not) and isinstance(cond.part, DerivedTest):
            patterns.append(NOT(Derived(name=cond.part.name)))
        elif len(facts_read(cond)) == 1 and not background_read(cond):
            fact = facts_read(cond)[0]
            answer_tests.setdefault(fact, []).append(cond)
            reads.append(("answers", field[fact], fact))
        else:
            names = {f: f"v_{f}" for f in facts_read(cond)}
            background_vars = {k: f"b_{k.replace('.', '__')}" for k in background_read(cond)}
            answer_vars.update(names)
            reads.extend(("answers", field[fact], fact) for fact in names)
            for j, (key, var) in enumerate(background_vars.items()):
                reads.append((f"{tag}_b{j}", None, None))
                patterns.append(
                    getattr(AS, f"{tag}_b{j}") << Background(name=key, value=getattr(MATCH, var))
                )
            patterns.append(TEST(_JoinTest(cond, names, background_vars)))
            variables.extend(
                v for v in [*names.values(), *background_vars.values()] if v not in variables
            )
    if answer_tests or answer_vars:
        checks = []
        for fact in sorted({*answer_tests, *answer_vars}):  # one order: shared alpha nodes
            check = None
            if fact in answer_tests:
                check = P(_FieldTest.of(tuple(answer_tests[fact]), fact, tests))
            if fact in answer_vars:
                var = getattr(MATCH, answer_vars[fact])
                check = var if check is None else check & var
            checks.append((field[fact], check))
        patterns.insert(0, AS.answers << Answers.from_iter(checks))
    if rule.conclude:
        patterns.append(NOT(Conclusion()))
    # No experta salience: the agenda's order is the strategy's, from the rule base.
    return ExpertaRule(*patterns)(_Action(rule, tuple(reads), tuple(variables)))


_COMPILED: dict[tuple, "CompiledRuleBase"] = {}


class CompiledRuleBase:
    """A rule base compiled once into a Rete network; `run` reuses it for every consultation."""

    def __init__(self, rulebase: RuleBase):
        self.rulebase = rulebase
        tests: dict = {}
        field = {name: i for i, name in enumerate(rulebase.schema.facts)}
        members = {rule.id: _compile_rule(rule, tests, field) for rule in rulebase.rules}
        engine_class = type("RuleBaseEngine", (_Engine,), members)
        self._engine = engine_class()
        prepare(self._engine.matcher, fresh=[Answers])
        read = {key for rule in rulebase.rules for c in rule.when for key in background_read(c)}
        # Only the figures some rule compares with enter working memory; the rest are for people.
        self._background_read = [k for k in rulebase.schema.background if k in read]
        self._engine.strategy = DeterministicStrategy(
            {rule.id: (rule.salience, rule.order) for rule in rulebase.rules}
        )

    @classmethod
    def shared(cls, rulebase: RuleBase) -> "CompiledRuleBase":
        """The network for these rules, built once per process: a test suite, a long-running
        service or repeated consultations in one process reuse it (runs leave no state)."""
        return once(_COMPILED, rulebase, cls)

    def run(self, answers: Mapping[str, Any]) -> Run:
        """Run the rules on `answers` (fact name -> typed value, None when unknown)."""
        engine = self._engine
        engine.reset()
        engine.firings = []
        given = Answers(*(answers.get(name) for name in self.rulebase.schema.facts))
        background = [
            Background(name=k, value=self.rulebase.schema.background[k])
            for k in self._background_read
        ]
        engine.declare(given, *background)  # one agenda update for all of them
        engine.run()
        firings = tuple(engine.firings)
        derived = tuple(name for f in firings for name in f.derived)
        conclusion = next((f for f in firings if f.rule.conclude), None)
        return Run(firings, derived, conclusion)
