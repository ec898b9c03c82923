"""The only module that imports experta: compiles a rule base into one Rete network and runs it.

It also carries the fixes experta 1.9.4 needs: its pinned frozendict 1.2 subclasses
`collections.Mapping`, gone since Python 3.10, and its default strategy orders salience ties by
object hashes and can leave activations of retracted facts on the agenda.
"""

from __future__ import annotations

import collections
import collections.abc
import inspect
import logging
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
from ..knowledge.rulebase import Rule, RuleBase


def _import_experta():
    """Import experta with `collections.Mapping` aliased only while frozendict 1.2 loads."""
    added = not hasattr(collections, "Mapping")
    if added:
        collections.Mapping = collections.abc.Mapping
    try:
        import frozendict  # noqa: F401
    finally:
        if added:
            del collections.Mapping
    root = logging.getLogger()
    handlers = list(root.handlers)
    import experta  # its import calls logging.basicConfig(); undo that global change below

    root.handlers[:] = handlers
    return experta


experta = _import_experta()
from experta import AS, MATCH, NOT, TEST, Fact, KnowledgeEngine, P  # noqa: E402
from experta import Rule as ExpertaRule  # noqa: E402
from experta.abstract import Strategy  # noqa: E402

EXPERTA_VERSION = experta.__version__


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


class DeterministicStrategy(Strategy):
    """Fires higher salience first, then earlier rules in the rule base, then newer facts.

    Keys depend only on the rule base and fact ids, never on hashes, so the order is the same in
    every process. Cancelled activations are removed by identity (rule, facts), all of them.
    """

    def __init__(self, priorities: Mapping[str, tuple[int, int]]):
        super().__init__()
        self.priorities = priorities

    def key(self, activation) -> tuple:
        salience, order = self.priorities[activation.rule.__name__]
        facts = tuple(sorted((f["__factid__"] for f in activation.facts), reverse=True))
        return (salience, -order, facts)

    @staticmethod
    def identity(activation) -> tuple:
        return activation.rule.__name__, frozenset(f["__factid__"] for f in activation.facts)

    def _update_agenda(self, agenda, added, removed) -> None:
        gone = {self.identity(a) for a in removed}
        kept = [a for a in agenda.activations if self.identity(a) not in gone]
        for activation in added:
            activation.key = self.key(activation)
            kept.append(activation)
        # The agenda pops from the end: the highest key fires next.
        kept.sort(key=lambda a: a.key)
        agenda.activations = kept


class _FieldTest:
    """An alpha-node test: one condition that reads a single answer, evaluated on its value."""

    def __init__(self, cond: Condition, fact: str):
        self.cond = cond
        self.fact = fact

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


class _Engine(KnowledgeEngine):
    """The experta engine; each compiled rule base subclasses it with its rules."""

    firings: list[Firing]


def _compile_rule(rule: Rule) -> Any:
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
            patterns.append(bind(tag, Answer(name=fact, value=P(_FieldTest(cond, fact)))))
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
        members = {rule.id: _compile_rule(rule) for rule in rulebase.rules}
        engine_class = type("RuleBaseEngine", (_Engine,), members)
        self._engine = engine_class()
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
        key = (rulebase.digest, rulebase.rules)
        if key not in _COMPILED:
            if len(_COMPILED) >= 8:
                _COMPILED.pop(next(iter(_COMPILED)))
            _COMPILED[key] = cls(rulebase)
        return _COMPILED[key]

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
