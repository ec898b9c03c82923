"""The experta adapter: the import workaround, deterministic firing, exact agenda updates."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import pytest
from conftest import FACTS, PROFILES, RULES

from mm_advisor.reasoning import compat, engine, speedups
from mm_advisor.reasoning.compat import experta
from mm_advisor.reasoning.strategy import DeterministicStrategy


def test_experta_imports_without_leaving_the_collections_alias():
    assert compat.EXPERTA_VERSION == "1.9.4"
    if sys.version_info >= (3, 10):
        assert not hasattr(collections, "Mapping")
    import frozendict

    assert issubclass(frozendict.frozendict, collections.abc.Mapping)


@pytest.mark.slow
def test_another_version_of_experta_is_one_line_naming_the_one_to_install():
    """The speedups replace methods of experta 1.9.4's internals: any other version is refused
    when the program starts, before anything runs."""
    script = (
        "import collections, collections.abc, sys\n"
        "collections.Mapping = collections.abc.Mapping\n"
        "import experta\n"
        "experta.__version__ = '1.9.5'\n"
        "del collections.Mapping\n"
        "sys.argv = ['mm-advisor', 'consult', '--no-input']\n"
        "from mm_advisor.__main__ import main\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (run.returncode, run.stdout, run.stderr) == (
        2,
        "",
        "Error: mm-advisor needs experta 1.9.4, whose internals it adapts; found 1.9.5: "
        "pip install 'experta==1.9.4'\n",
    )


@pytest.mark.slow
def test_experta_import_leaves_root_logging_alone():
    script = (
        "import logging; before = list(logging.getLogger().handlers); "
        "import mm_advisor.reasoning.engine; assert logging.getLogger().handlers == before"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_firing_order_is_salience_then_rule_file_order(advisor):
    answers = {
        "wants_career_acceleration": True,
        "skill_in_high_demand": True,
        "working_professional": True,
        "career_requires_masters_degree": False,
        "months_available": 12,
    }
    fired = [f.rule.id for f in advisor.compiled.run(answers).firings]
    assert fired == [
        "needs-flexibility",
        "full-degree-exceeds-time",
        "career-acceleration",
        "flexibility",
        "industry-recognition",
        "duration-full-degree-too-long",
        "flexibility-row",
        "credential-row-certificate",
    ]


def test_a_derived_fact_activates_its_readers_in_agenda_order(advisor):
    """credit-stacks (salience 30) waits for degree-goal's derivation, then fires after the
    salience-30 rule before it in the files, and before every salience-20 rule."""
    answers = {
        "wants_complete_degree": True,
        "program_offers_credit_pathway": True,
        "working_professional": True,
        "months_available": 12,
    }
    fired = [f.rule.id for f in advisor.compiled.run(answers).firings]
    assert fired == [
        "needs-flexibility",
        "degree-goal",
        "full-degree-exceeds-time",
        "credit-stacks",
        "flexibility",
        "stackable-credentials",
        "stepping-stone",
        "duration-full-degree-too-long",
        "goal-row-degree",
        "flexibility-row",
        "credential-row-degree",
    ]


def test_engine_is_reused_and_reset_between_consultations(advisor):
    first = advisor.compiled.run({"wants_complete_degree": True})
    advisor.compiled.run({"unsure_about_graduate_degree": True})
    again = advisor.compiled.run({"wants_complete_degree": True})
    assert [f.rule.id for f in first.firings] == [f.rule.id for f in again.firings]
    assert first.derived == again.derived == ("full_degree_goal",)


def _consult_json(seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    args = [
        "consult",
        "--rules",
        str(RULES),
        "--facts",
        str(FACTS),
        "--answers",
        str(PROFILES / "stepping-stone.yaml"),
        "--format",
        "json",
    ]
    return subprocess.run(
        [sys.executable, "-c", "from mm_advisor.cli import main; main()", *args],
        env=env,
        check=True,
        capture_output=True,
    ).stdout


@pytest.mark.slow
def test_same_answers_give_byte_identical_json_across_processes():
    outputs = {_consult_json(seed) for seed in ("0", "1", "4242", "random")}
    assert len(outputs) == 1


class _Rule:
    def __init__(self, name):
        self.__name__ = name


class _Activation:
    def __init__(self, rule, *fact_ids):
        self.rule = _Rule(rule)
        self.facts = [{"__factid__": i} for i in fact_ids]
        self.key = None


def test_ties_break_by_rule_order_not_by_hash():
    strategy = DeterministicStrategy({"a": (0, 0), "b": (0, 1), "c": (5, 2)})
    agenda = experta.agenda.Agenda()
    acts = [_Activation("b", 1), _Activation("a", 1), _Activation("c", 1)]
    strategy.update_agenda(agenda, acts, [])
    order = [agenda.get_next().rule.__name__ for _ in range(3)]
    assert order == ["c", "a", "b"]


def test_cancelled_activations_are_removed_exactly():
    strategy = DeterministicStrategy({"a": (0, 0), "b": (0, 1)})
    agenda = experta.agenda.Agenda()
    keep, drop, other = _Activation("a", 1, 2), _Activation("a", 3), _Activation("b", 3)
    strategy.update_agenda(agenda, [keep, drop, other], [])
    strategy.update_agenda(agenda, [], [_Activation("a", 3)])
    assert [(a.rule.__name__, a.key[2]) for a in agenda.activations] == [("b", (3,)), ("a", (2, 1))]


def test_a_retracted_fact_cancels_every_activation_it_supported():
    Fact, Rule = experta.Fact, experta.Rule
    fired = []

    def victim_rule(name):
        def action(self):
            fired.append(name)

        action.__name__ = name
        return Rule(Fact(victim=True))(action)

    members = {f"stale{i}": victim_rule(f"stale{i}") for i in range(1, 5)}

    def retractor(self, victim):
        fired.append("retractor")
        self.retract(victim)

    members["retractor"] = Rule(Fact(step=1), experta.AS.victim << Fact(victim=True), salience=10)(
        retractor
    )
    probe = type("Probe", (experta.KnowledgeEngine,), members)()
    probe.strategy = DeterministicStrategy(
        {"retractor": (10, 0), **{f"stale{i}": (0, i) for i in range(1, 5)}}
    )
    probe.reset()
    probe.declare(Fact(step=1), Fact(victim=True))
    probe.run()
    assert fired == ["retractor"]


def firings(compiled, answers: dict) -> tuple:
    run = compiled.run(answers)
    return (
        tuple(f.rule.id for f in run.firings),
        run.derived,
        tuple((f.rule.id, f.matched, f.bindings, f.derived, f.already) for f in run.firings),
    )


@pytest.fixture
def unpatched():
    """experta exactly as published, for the length of a test."""
    speedups.speedups(False)
    yield
    speedups.speedups(True)


@pytest.mark.slow
def test_the_speedups_change_nothing_on_the_shipped_rules(kb, unpatched):
    """The patched engine against experta as published: every scenario, and one profile for
    each way of firing the rules that 10,000 random profiles reach (4,551 of them), each firing
    the same rules in the same order on the same facts and bindings."""
    from mm_advisor.knowledge import scenarios, synthetic
    from mm_advisor.reasoning.evaluator import Evaluator

    profiles = [s.answers for s in scenarios.load(scenarios.default_files(FACTS / "scenarios"), kb)]
    fast, paths = Evaluator(kb), {}
    for answers in synthetic.random_profiles(kb.schema, 10_000, seed=41):
        paths.setdefault(tuple(r.id for r in fast.outcome(answers).fired), answers)
    assert len(paths) == 4551
    profiles += paths.values()
    plain = engine.CompiledRuleBase(kb)
    expected = [firings(plain, answers) for answers in profiles]
    speedups.speedups(True)
    fast = engine.CompiledRuleBase(kb)
    assert [firings(fast, answers) for answers in profiles] == expected


def test_the_speedups_change_nothing_on_a_large_synthetic_base(tmp_path, unpatched):
    from mm_advisor.knowledge import rulebase, synthetic

    kb = rulebase.load(synthetic.write(tmp_path, 500, seed=13))
    profiles = synthetic.random_profiles(kb.schema, 40, seed=2)
    plain = engine.CompiledRuleBase(kb)
    expected = [firings(plain, answers) for answers in profiles]
    speedups.speedups(True)
    fast = engine.CompiledRuleBase(kb)
    assert [firings(fast, answers) for answers in profiles] == expected


def test_where_facts_go_is_remembered_within_its_limit_and_forgotten_past_it(
    kb, unpatched, monkeypatch
):
    """The alpha network's deliveries are remembered per fact; when the memory is full it
    starts afresh, and the firings stay those of experta as published either way."""
    from mm_advisor.knowledge import synthetic

    profiles = synthetic.random_profiles(kb.schema, 200, seed=8)
    plain = engine.CompiledRuleBase(kb)
    expected = [firings(plain, answers) for answers in profiles]
    speedups.speedups(True)
    fast = engine.CompiledRuleBase(kb)
    bus = fast._engine.matcher.root_node
    fast.run(profiles[0])
    remembered = dict(bus.deliveries)
    fast.run(profiles[0])  # the same facts again: nothing new to remember
    assert bus.deliveries == remembered and remembered
    assert engine.Answers not in {kind for kind, _ in remembered}  # seldom the same twice
    monkeypatch.setattr(speedups, "_MEMORY_LIMIT", 40)
    small = engine.CompiledRuleBase(kb)
    bus = small._engine.matcher.root_node
    assert [firings(small, answers) for answers in profiles] == expected
    assert 0 < bus.remembered <= 40
    assert sum(len(plan) for plan in bus.deliveries.values()) == bus.remembered


def test_the_speedups_can_be_switched_off_and_on():
    from mm_advisor.reasoning.compat import BusNode, FactList

    speedups.speedups(False)
    try:
        assert FactList.declare is speedups._ORIGINAL[(FactList, "declare")]
        assert BusNode.add is speedups._ORIGINAL[(BusNode, "add")]
    finally:
        speedups.speedups(True)
    assert FactList.declare is speedups._fact_list_declare
    assert BusNode.add is speedups._bus_add


def test_a_negation_that_stops_holding_removes_its_token_from_the_join(broken_kb, unpatched):
    """`not derived A` holds at first, so its token waits in the join for `derived B`; deriving
    A must take it out again, or deriving B later would fire the rule. Checked both ways."""
    from test_lint import rule

    from mm_advisor.knowledge import rulebase
    from mm_advisor.knowledge.layout import Layout

    rules, facts = broken_kb(
        rule("      - fact: budget\n        is: low", "derive: [cost_sensitive]", salience=30)
        + rule("      - fact: budget\n        is: low", "derive: [needs_flexibility]",
               id="then-b", salience=20)
        + rule("      - not:\n          derived: cost_sensitive\n      - derived: needs_flexibility",
               id="late", salience=10)
    )  # fmt: skip
    kb = rulebase.load(Layout.of(rules, facts))
    for on in (False, True):
        speedups.speedups(on)
        run = engine.CompiledRuleBase(kb).run({"budget": "low"})
        assert [f.rule.id for f in run.firings] == ["sample", "then-b"]


def test_a_field_test_remembers_its_verdicts_within_its_limit(broken_kb, monkeypatch):
    """Each alpha test on an answer remembers its verdict per value; a number can take endless
    values (a long-running server sees many), so past the limit it starts afresh, and every
    verdict stays the one the conditions give."""
    from test_lint import rule

    from mm_advisor.knowledge import rulebase
    from mm_advisor.knowledge.layout import Layout

    kb = rulebase.load(Layout.of(*broken_kb(
        rule("      - fact: months_available\n        lt: 12")
        + rule("      - fact: months_available\n        ge: 30\n      - fact: budget\n"
               "        is: low", id="long-and-low")
    )))  # fmt: skip
    monkeypatch.setattr(engine, "_SEEN_LIMIT", 5)
    compiled = engine.CompiledRuleBase(kb)
    members = type(compiled._engine).__dict__
    found = [
        check.match
        for rule_id in ("sample", "long-and-low")
        for pattern in members[rule_id]
        for check in pattern.values()
        if isinstance(getattr(check, "match", None), engine._FieldTest)
        and check.match.fact == "months_available"
    ]
    assert len(found) == 2
    profiles = [{"months_available": m, "budget": "low"} for m in [*range(40), 12, 30, 0, 11.5]]
    fired = []
    for answers in profiles:
        fired.append([f.rule.id for f in compiled.run(answers).firings])
        assert all(0 < len(test.seen) <= 5 for test in found)
    tail = [[], ["long-and-low"], ["sample"], ["sample"]]
    assert fired == [["sample"]] * 12 + [[]] * 18 + [["long-and-low"]] * 10 + tail


def test_a_firing_records_what_it_matched_and_bound(broken_kb):
    """One fact tested alone and read by a compound condition in the same rule: both tests
    stand (neither replaces the other), the firing names each fact it matched once, with the
    derived fact's value True, and binds the values the compound condition read."""
    from test_lint import rule

    from mm_advisor.knowledge import rulebase
    from mm_advisor.knowledge.layout import Layout

    kb = rulebase.load(Layout.of(*broken_kb(
        rule("      - fact: months_available\n        lt: 12\n"
             "      - any:\n          - fact: months_available\n            lt: 6\n"
             "          - fact: budget\n            is: low",
             "derive: [cost_sensitive]", salience=10)
        + rule("      - derived: cost_sensitive\n      - fact: budget\n        is: low",
               id="reader")
    )))  # fmt: skip
    compiled = engine.CompiledRuleBase(kb)
    assert compiled.run({"months_available": 20, "budget": "low"}).firings == ()
    first, second = compiled.run({"months_available": 8, "budget": "low"}).firings
    assert (first.rule.id, first.matched, first.bindings, first.derived) == (
        "sample",
        (engine.MatchedFact("answer", "months_available", 8, 1),
         engine.MatchedFact("answer", "budget", "low", 1)),
        (("v_months_available", 8), ("v_budget", "low")),
        ("cost_sensitive",),
    )  # fmt: skip
    derived_id = second.matched[0].id
    assert (second.rule.id, second.matched, second.bindings) == (
        "reader",
        (engine.MatchedFact("derived", "cost_sensitive", True, derived_id),
         engine.MatchedFact("answer", "budget", "low", 1)),
        (),
    )  # fmt: skip
    assert derived_id > 1
