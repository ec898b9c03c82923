"""The fast evaluator against the experta engine: same firings, same order, same decision."""

from __future__ import annotations

import pytest
from conftest import FACTS

from mm_advisor.knowledge import rulebase, scenarios, synthetic
from mm_advisor.knowledge.synthetic import random_profiles
from mm_advisor.reasoning.advisor import Advisor
from mm_advisor.reasoning.decision import decide
from mm_advisor.reasoning.evaluator import Evaluator


def engine_result(advisor: Advisor, answers: dict) -> tuple:
    run = advisor.compiled.run({n: answers.get(n) for n in advisor.rulebase.schema.facts})
    rules = [f.rule for f in run.firings]
    conclusion = run.conclusion.rule if run.conclusion else None
    return (
        tuple(r.id for r in rules),
        run.derived,
        decide(advisor.rulebase.schema.options, rules, conclusion),
    )


def fast_result(evaluator: Evaluator, answers: dict) -> tuple:
    outcome = evaluator.outcome(answers)
    return tuple(r.id for r in outcome.fired), outcome.derived, outcome.decision


def assert_same(advisor: Advisor, evaluator: Evaluator, profiles: list[dict]) -> None:
    for answers in profiles:
        assert fast_result(evaluator, answers) == engine_result(advisor, answers), answers


def test_every_scenario_gives_the_engines_result(kb, advisor):
    evaluator = Evaluator(kb)
    loaded = scenarios.load(scenarios.default_files(FACTS / "scenarios"), kb)
    assert loaded
    assert_same(advisor, evaluator, [s.answers for s in loaded])


def test_ten_thousand_random_profiles_give_the_engines_result(kb, advisor):
    assert_same(advisor, Evaluator(kb), random_profiles(kb.schema, 10_000, seed=8))


@pytest.fixture(scope="module")
def synthetic_500(tmp_path_factory):
    kb = rulebase.load(synthetic.write(tmp_path_factory.mktemp("synthetic"), 500, seed=500))
    return kb, Advisor(kb)


def test_a_synthetic_500_rule_base_gives_the_engines_result(synthetic_500):
    kb, advisor = synthetic_500
    evaluator = Evaluator(kb)
    profiles = random_profiles(kb.schema, 300, seed=500)
    fired = set()
    for answers in profiles:
        expected = engine_result(advisor, answers)
        assert fast_result(evaluator, answers) == expected, answers
        fired.update(expected[0])
    # The base is varied enough to mean something: most rules fire somewhere.
    assert len(fired) > 250


def test_the_differential_check_can_fail(kb, advisor):
    """A wrong salience in the fast evaluator's copy of the rules is caught."""
    evaluator = Evaluator(kb)
    evaluator.rules = tuple(reversed(evaluator.rules))
    evaluator._memo.clear()
    profiles = random_profiles(kb.schema, 200, seed=1)
    assert any(fast_result(evaluator, a) != engine_result(advisor, a) for a in profiles)
