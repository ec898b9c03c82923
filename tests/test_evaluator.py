"""The fast evaluator against the experta engine: same firings, same order, same decision."""

from __future__ import annotations

import pytest
from conftest import FACTS

from mm_advisor.knowledge import rulebase, scenarios, synthetic
from mm_advisor.knowledge.synthetic import random_profiles
from mm_advisor.reasoning.advisor import Advisor
from mm_advisor.reasoning.evaluator import Evaluator


def policy(options: list[str], fired: list, conclusion) -> tuple:
    """The decision policy as the README and `decision.py`'s docstring state it, written again
    here from the words, so that the engines' shared `decide()` is checked, not trusted."""
    scores = {o: sum(w for r in fired for o2, w in r.score if o2 == o) for o in options}
    out = [o for o in options if any(o in r.rule_out for r in fired)]
    left = [o for o in options if o not in out]
    if conclusion is not None:
        return conclusion.conclude, "rule", scores, tuple(out)
    if not left:
        return "undetermined", "all-ruled-out", scores, tuple(out)
    top = max(scores[o] for o in left)
    leaders = [o for o in left if scores[o] == top]
    if top > 0 and len(leaders) == 1:
        by_elimination = len(left) == 1 and len(out) > 0
        return leaders[0], "only-option" if by_elimination else "score", scores, tuple(out)
    if top > 0:
        return "undetermined", "tie", scores, tuple(out)
    supported = any(w > 0 and o in left for r in fired for o, w in r.score)
    nothing_fits = supported or (len(left) == 1 and len(out) > 0)
    return "undetermined", "no-fit" if nothing_fits else "no-evidence", scores, tuple(out)


def engine_result(advisor: Advisor, answers: dict) -> tuple:
    run = advisor.compiled.run({n: answers.get(n) for n in advisor.rulebase.schema.facts})
    rules = [f.rule for f in run.firings]
    conclusion = run.conclusion.rule if run.conclusion else None
    options = list(advisor.rulebase.schema.options)
    return tuple(r.id for r in rules), run.derived, policy(options, rules, conclusion)


def fast_result(evaluator: Evaluator, answers: dict) -> tuple:
    outcome = evaluator.outcome(answers)
    d = outcome.decision
    decision = (d.recommendation, d.reason, dict(d.scores), d.ruled_out)
    return tuple(r.id for r in outcome.fired), outcome.derived, decision


def assert_same(advisor: Advisor, evaluator: Evaluator, profiles: list[dict]) -> set[str]:
    """The same firings and decision on every profile; returns the decisions' reasons seen."""
    reasons = set()
    for answers in profiles:
        expected = engine_result(advisor, answers)
        assert fast_result(evaluator, answers) == expected, answers
        reasons.add(expected[2][1])
    return reasons


def test_every_scenario_gives_the_engines_result(kb, advisor):
    evaluator = Evaluator(kb)
    loaded = scenarios.load(scenarios.default_files(FACTS / "scenarios"), kb)
    assert loaded
    assert_same(advisor, evaluator, [s.answers for s in loaded])


@pytest.mark.slow
def test_ten_thousand_random_profiles_give_the_engines_result(kb, advisor):
    reasons = assert_same(advisor, Evaluator(kb), random_profiles(kb.schema, 10_000, seed=8))
    assert reasons == {"score", "only-option", "tie", "no-fit", "no-evidence"}


@pytest.fixture(scope="module")
def synthetic_500(tmp_path_factory):
    kb = rulebase.load(synthetic.write(tmp_path_factory.mktemp("synthetic"), 500, seed=500))
    return kb, Advisor(kb)


@pytest.mark.slow
def test_a_synthetic_500_rule_base_gives_the_engines_result(synthetic_500):
    kb, advisor = synthetic_500
    evaluator = Evaluator(kb)
    profiles = random_profiles(kb.schema, 300, seed=500)
    assert assert_same(advisor, evaluator, profiles) >= {"rule", "all-ruled-out"}
    fired = {rule for answers in profiles for rule in engine_result(advisor, answers)[0]}
    # The base is varied enough to mean something: most rules fire somewhere.
    assert len(fired) > 250


def test_the_differential_check_can_fail(kb, advisor):
    """A wrong salience in the fast evaluator's copy of the rules is caught."""
    evaluator = Evaluator(kb)
    evaluator.rules = tuple(reversed(evaluator.rules))
    evaluator._memo.clear()
    profiles = random_profiles(kb.schema, 200, seed=1)
    assert any(fast_result(evaluator, a) != engine_result(advisor, a) for a in profiles)
