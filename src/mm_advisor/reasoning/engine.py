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


class Answer(Fact):
    """An answered fact: `name`, and `value` (None when unknown)."""


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
    fact_ids: Mapping[str, int]  # answer name -> working-memory id


class _FieldTest:
    """An alpha-node test: one condition that reads a single answer, evaluated on its value."""

    def __init__(self, cond: Condition, fact: str):
        self.cond = cond
        self.fact = fact

    @classmethod
    def of(cls, cond: Condition, fact: str, made: dict) -> "_FieldTest":
        """One test object per rule base for equal conditions (`made` holds them), so that
        experta shares its alpha node between the rules that make the same test (it recognises
        a test by the object's identity). With the speedups off, each rule gets its own."""
        if not enabled():
            return cls(cond, fact)
        key = (cond, fact)
        if key not in made:
            made[key] = cls(cond, fact)
        return made[key]

    def __call__(self, value: Any) -> bool:
        return evaluate(self.cond, {self.fact: value}, (), {}) is True


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

    def __init__(self, rule: Rule, bound: tuple[str, ...], variables: tuple[str, ...]):
        self.rule = rule
        self.bound = bound
        self.variables = variables
        self.__name__ = rule.id
        # experta inspects the action each time it rewrites a rule; a ready signature is cheap.
        self.__signature__ = _ACTION_SIGNATURE

    def __call__(self, engine: "_Engine", **context: Any) -> None:
        matched: dict[int, MatchedFact] = {}
        for name in self.bound:
            fact = context[name]
            kind = type(fact).__name__.lower()
            value = True if kind == "derived" else fact["value"]
            matched.setdefault(
                fact["__factid__"], MatchedFact(kind, fact["name"], value, fact["__factid__"])
            )
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


def _compile_rule(rule: Rule, tests: dict) -> Any:
    """The experta rule for `rule`; `tests` holds the alpha tests made so far for its rule base."""
    patterns: list[Any] = []
    bound: list[str] = []
    variables: list[str] = []

    def bind(name: str, pattern: Any) -> Any:
        bound.append(name)
        return getattr(AS, name) << pattern

    for i, cond in enumerate(rule.when):
        tag = f"c{i:03d}"
        if isinstance(cond, DerivedTest):
            patterns.append(bind(tag, Derived(name=cond.name)))
        elif isinstance(cond, Not) and isinstance(cond.part, DerivedTest):
            patterns.append(NOT(Derived(name=cond.part.name)))
        elif len(facts_read(cond)) == 1 and not background_read(cond):
            fact = facts_read(cond)[0]
            patterns.append(bind(tag, Answer(name=fact, value=P(_FieldTest.of(cond, fact, tests)))))
        else:
            answer_vars = {f: f"v_{f}" for f in facts_read(cond)}
            background_vars = {k: f"b_{k.replace('.', '__')}" for k in background_read(cond)}
            for j, (fact, var) in enumerate(answer_vars.items()):
                patterns.append(bind(f"{tag}_a{j}", Answer(name=fact, value=getattr(MATCH, var))))
            for j, (key, var) in enumerate(background_vars.items()):
                patterns.append(
                    bind(f"{tag}_b{j}", Background(name=key, value=getattr(MATCH, var)))
                )
            patterns.append(TEST(_JoinTest(cond, answer_vars, background_vars)))
            variables.extend(
                v for v in [*answer_vars.values(), *background_vars.values()] if v not in variables
            )
    if rule.conclude:
        patterns.append(NOT(Conclusion()))
    return ExpertaRule(*patterns, salience=rule.salience)(
        _Action(rule, tuple(bound), tuple(variables))
    )


_COMPILED: dict[tuple, "CompiledRuleBase"] = {}


class CompiledRuleBase:
    """A rule base compiled once into a Rete network; `run` reuses it for every consultation."""

    def __init__(self, rulebase: RuleBase):
        self.rulebase = rulebase
        tests: dict = {}
        members = {rule.id: _compile_rule(rule, tests) for rule in rulebase.rules}
        engine_class = type("RuleBaseEngine", (_Engine,), members)
        self._engine = engine_class()
        prepare(self._engine.matcher)
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
        facts = [Answer(name=name, value=answers.get(name)) for name in self.rulebase.schema.facts]
        background = [
            Background(name=k, value=self.rulebase.schema.background[k])
            for k in self._background_read
        ]
        engine.declare(*facts, *background)  # one agenda update for all of them
        fact_ids = {fact["name"]: fact["__factid__"] for fact in facts}
        engine.run()
        firings = tuple(engine.firings)
        derived = tuple(name for f in firings for name in f.derived)
        conclusion = next((f for f in firings if f.rule.conclude), None)
        return Run(firings, derived, conclusion, fact_ids)
