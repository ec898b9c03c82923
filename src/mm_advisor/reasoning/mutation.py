"""Mutation testing for advisors: would the knowledge base's own checks notice a wrong rule?

Each mutant is the rule base with one small change to one rule, as a careless edit would make
it: its effect removed (it still fires, and adds nothing), its weights negated, one condition
dropped or negated, or its salience moved past every other rule's. A mutant is killed when a
scenario fails on it (run on the fast evaluator) or, failing that, when an invariant fails or
holds vacuously on it (proved over the whole answer space, stopping at the first enumeration
that finds one failing). Before the invariants, one enumeration finds the smallest profile whose
recommendation the mutant changes: a mutant that changes none is *equivalent* (it survives, but
no advice depends on that part of the rule), and a survivor that changes one shows it, ready to
become a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, Sequence

from ..errors import AdvisorError
from ..knowledge.conditions import Condition, Not, describe
from ..knowledge.invariants import Invariant
from ..knowledge.rulebase import Rule, RuleBase
from ..knowledge.scenarios import Scenario
from .checker import Checker
from .evaluator import Evaluator
from .testing import differences

EFFECT, CONDITION, SALIENCE = "effect", "condition", "salience"
KINDS = (EFFECT, CONDITION, SALIENCE)


@dataclass(frozen=True)
class Mutant:
    rule: Rule  # the rule as written
    kind: str  # EFFECT, CONDITION or SALIENCE
    change: str  # what was changed, in words
    mutated: Rule


SCENARIO, INVARIANT = "scenario", "invariant"


@dataclass(frozen=True)
class Verdict:
    mutant: Mutant
    check: str | None  # the kind of check that killed it (SCENARIO or INVARIANT); None: survived
    killed_by: str | None  # that check: "scenario 'NAME' (FILE:LINE)" or "invariant ID (FILE:LINE)"
    # For a survivor: the smallest profile whose recommendation it changes (answers, the rules'
    # recommendation, the mutant's), or None when it changes none (an equivalent mutant).
    example: tuple[dict, str, str] | None = None

    @property
    def killed(self) -> bool:
        return self.check is not None

    @property
    def equivalent(self) -> bool:
        return not self.killed and self.example is None


class ChecksFail(AdvisorError):
    """The knowledge base fails its own checks as it is: nothing can be learnt from mutants."""

    exit_code = 1


def run(
    rb: RuleBase,
    scenarios: Sequence[Scenario],
    invariants: Sequence[Invariant],
    kinds: Sequence[str] = KINDS,
) -> list[Verdict]:
    """Judge every mutant of `kinds`, once the rules as they are pass every check."""
    fast = Evaluator(rb)
    for scenario in scenarios:
        if differences(scenario, fast.outcome(scenario.answers)):
            raise ChecksFail(
                f"scenario {scenario.name!r} ({scenario.where}) fails on the rules as they are; "
                "mutation testing needs passing checks (see `mm-advisor rules test`)"
            )
    broken = Checker(rb, invariants).run(until_broken=True)
    if broken.failed or broken.vacuous:
        (first, *_) = broken.failed or broken.vacuous
        raise ChecksFail(
            f"invariant {first.invariant.id} ({first.invariant.where}) does not hold on the rules "
            "as they are; mutation testing needs passing checks (see `mm-advisor rules check`)"
        )
    return [judge(rb, m, scenarios, invariants) for m in mutants(rb, kinds)]


def mutants(rb: RuleBase, kinds: Sequence[str] = KINDS) -> Iterator[Mutant]:
    """Every mutant of every rule, rule by rule in file order."""
    saliences = [r.salience for r in rb.rules]
    for rule in rb.rules:
        if EFFECT in kinds:
            nothing = replace(rule, derive=(), score=(), conclude=None, rule_out=())
            yield Mutant(rule, EFFECT, "its effect removed", nothing)
            if rule.score:
                negated = tuple((option, -weight) for option, weight in rule.score)
                yield Mutant(rule, EFFECT, "its weights negated", replace(rule, score=negated))
        if CONDITION in kinds:
            for i, cond in enumerate(rule.when):
                words = describe(cond, rb.schema)
                dropped = rule.when[:i] + rule.when[i + 1 :]
                yield Mutant(
                    rule, CONDITION, f"condition {i + 1} dropped ({words})",
                    replace(rule, when=dropped),
                )  # fmt: skip
                flipped = rule.when[:i] + (_negation(cond),) + rule.when[i + 1 :]
                yield Mutant(
                    rule, CONDITION, f"condition {i + 1} negated ({words})",
                    replace(rule, when=flipped),
                )  # fmt: skip
        if SALIENCE in kinds and len(set(saliences)) > 1:
            moved = min(saliences) - 10 if rule.salience == max(saliences) else max(saliences) + 10
            yield Mutant(
                rule, SALIENCE, f"salience {rule.salience} moved to {moved}",
                replace(rule, salience=moved),
            )  # fmt: skip


def _negation(cond: Condition) -> Condition:
    return cond.part if isinstance(cond, Not) else Not(cond, cond.mark)


def judge(
    rb: RuleBase,
    mutant: Mutant,
    scenarios: Sequence[Scenario],
    invariants: Sequence[Invariant],
) -> Verdict:
    """Run the checks on one mutant, cheapest first, until one kills it."""
    variant = replace(rb, rules=tuple(mutant.mutated if r is mutant.rule else r for r in rb.rules))
    fast = Evaluator(variant)
    for scenario in scenarios:
        if differences(scenario, fast.outcome(scenario.answers)):
            return Verdict(mutant, SCENARIO, f"scenario {scenario.name!r} ({scenario.where})")
    example = Checker(rb, [], variant).first_difference()
    if example is None:  # every invariant holds on it as on the rules: no need to prove them
        return Verdict(mutant, None, None)
    report = Checker(variant, invariants).run(until_broken=True)
    broken = report.failed or report.vacuous
    if broken:
        invariant = broken[0].invariant
        return Verdict(mutant, INVARIANT, f"invariant {invariant.id} ({invariant.where})")
    return Verdict(mutant, None, None, example)
