"""The interview planner proved on synthetic rule bases, against exhaustive enumeration.

The shipped rules use few operators; these bases use every one (`not` over derived facts, `any`,
`all`, `known`, derivation chains, numbers against literals and background figures, decision
rules, rule-outs). For partial answers, every way of answering the open questions is run through
the fast evaluator (itself certified equal to experta): the planner's possible recommendations
must include every one of them, or the interview could stop early with a wrong answer.
"""

from __future__ import annotations

import itertools
import random

import pytest

from mm_advisor.knowledge import rulebase, synthetic
from mm_advisor.knowledge.conditions import All, Any_, DerivedTest, FactTest, Not
from mm_advisor.knowledge.domains import ValueClasses
from mm_advisor.knowledge.schema import NUMBER
from mm_advisor.reasoning.evaluator import Evaluator
from mm_advisor.reasoning.relevance import Planner

SEEDS = range(12)
OPEN = 4  # questions left open in each partial state: every completion of them is run


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """Small synthetic bases (24 rules over 8 derived facts): chains and negations are dense."""
    made = []
    for seed in SEEDS:
        where = synthetic.write(tmp_path_factory.mktemp(f"s{seed}"), 24, seed=seed, derived=8)
        made.append(rulebase.load(where))
    return made


def _walk(cond):
    yield cond
    for part in getattr(cond, "parts", ()) or ((cond.part,) if isinstance(cond, Not) else ()):
        yield from _walk(part)


def test_the_bases_use_every_operator(bases):
    """So that the properties below are checked where they are hard, not only where easy."""
    seen = set()
    for rb in bases:
        for rule in rb.rules:
            for top in rule.when:
                for cond in _walk(top):
                    if isinstance(cond, FactTest):
                        seen.add(cond.op)
                    elif isinstance(cond, Not) and isinstance(cond.part, DerivedTest):
                        seen.add("not derived")
                    else:
                        seen.add(type(cond).__name__)
            seen.update(k for k in ("conclude", "rule_out") if getattr(rule, k))
    assert seen >= {
        "is", "is_not", "in", "not_in", "lt", "le", "gt", "ge", "known", "DerivedTest",
        "not derived", All.__name__, Any_.__name__, Not.__name__, "conclude", "rule_out",
    }  # fmt: skip


def _values(rb, fact: str) -> tuple:
    """Every answer to `fact` that can make a difference: each known answer of a yes/no or
    choice question, a number from each class of numbers the rules tell apart, and unknown."""
    spec = rb.schema.facts[fact]
    if spec.type != NUMBER:
        return (*spec.domain(), None)
    return ValueClasses(rb.schema, [c for r in rb.rules for c in r.when]).values[fact]


def test_the_possible_recommendations_include_every_completion(bases):
    missed = []
    for seed, rb in zip(SEEDS, bases):
        planner, fast = Planner(rb), Evaluator(rb)
        facts = list(rb.schema.facts)
        rng = random.Random(seed)
        for _ in range(60):
            open_facts = sorted(rng.sample(facts, OPEN))
            answers = {f: rng.choice(_values(rb, f)) for f in facts if f not in open_facts}
            truth = {
                fast.recommend({**answers, **dict(zip(open_facts, values))})
                for values in itertools.product(*(_values(rb, f) for f in open_facts))
            }
            possible = planner.outcomes(answers, frozenset(open_facts))
            if not truth <= possible:
                missed.append((seed, answers, open_facts, truth - possible))
    assert not missed, missed[:3]


def test_one_pass_in_layers_settles_what_the_fixpoint_does(bases):
    """The planner settles derived facts in one pass over the rules in dependency order; on a
    base whose derived facts form a cycle it iterates to a fixpoint. Both agree everywhere."""
    layered = 0
    for seed, rb in zip(SEEDS, bases):
        planner, fixpoint = Planner(rb), Planner(rb)
        fixpoint.layered = None
        layered += planner.layered is not None
        facts = list(rb.schema.facts)
        rng = random.Random(seed)
        for _ in range(40):
            open_facts = frozenset(rng.sample(facts, OPEN))
            answers = {f: rng.choice(_values(rb, f)) for f in facts if f not in open_facts}
            assert planner.statuses(answers, open_facts) == fixpoint.statuses(answers, open_facts)
    assert layered == len(bases)  # no cycle in these: the one pass is what was checked


@pytest.mark.slow
def test_the_interview_on_a_synthetic_base_ends_where_the_full_questionnaire_does(bases):
    """Asking only what the planner asks, in its order, and leaving the rest unknown, always
    gives the recommendation of the whole questionnaire."""
    wrong = []
    for seed, rb in zip(SEEDS, bases):
        planner, fast = Planner(rb), Evaluator(rb)
        for full in synthetic.random_profiles(rb.schema, 25, seed=seed):
            asked: dict = {}
            free = frozenset(rb.schema.facts)
            while (fact := planner.next_question(asked, free)) is not None:
                asked[fact] = full.get(fact)
                free -= {fact}
            if fast.recommend(asked) != fast.recommend(full):
                wrong.append((seed, full, sorted(asked)))
    assert not wrong, wrong[:3]
