"""The decision policy, reason by reason, and the summary that says why in words."""

from __future__ import annotations

import json

import pytest
from conftest import invoke

from mm_advisor.audit import trace
from mm_advisor.knowledge.rulebase import Rule
from mm_advisor.knowledge.yamlsrc import Mark
from mm_advisor.reasoning.decision import decide

OPTIONS = ("micromasters", "full_masters", "micromasters_pathway")


def made(score=(), conclude=None, rule_out=(), order=0) -> Rule:
    return Rule(
        f"r{order}", f"Rule {order}", None, 0, (), (), tuple(score), conclude, tuple(rule_out),
        Mark("x", 1, 1), "rules/x.yaml:1", order,
    )  # fmt: skip


@pytest.mark.parametrize(
    "fired, recommendation, reason",
    [
        ([], "undetermined", "no-evidence"),
        ([made([("micromasters", 2)])], "micromasters", "score"),
        ([made([("micromasters", 2), ("full_masters", 2)])], "undetermined", "tie"),
        ([made([("micromasters", -1)])], "undetermined", "no-evidence"),
        # a rule-out breaks the tie
        (
            [made([("micromasters", 2), ("full_masters", 2)], rule_out=["micromasters"])],
            "full_masters",
            "score",
        ),
        # the only option left wins by elimination, when its net support is positive
        (
            [made([("full_masters", 1)], rule_out=["micromasters", "micromasters_pathway"])],
            "full_masters",
            "only-option",
        ),
        # ... and fits nothing when it is not: the "-2" full master's
        (
            [
                made([("full_masters", 3)], rule_out=["micromasters", "micromasters_pathway"]),
                made([("full_masters", -5)], order=1),
            ],
            "undetermined",
            "no-fit",
        ),
        (
            [made([("full_masters", 0)], rule_out=["micromasters", "micromasters_pathway"])],
            "undetermined",
            "no-fit",
        ),
        # support outweighed, with several options left, fits nothing; no support is no evidence
        (
            [made([("micromasters", 2)]), made([("micromasters", -2)], order=1)],
            "undetermined",
            "no-fit",
        ),
        (
            [made([("micromasters", 1)]), made([("micromasters", -1)], order=1)],
            "undetermined",
            "no-fit",
        ),
        ([made([("micromasters", -2), ("full_masters", -1)])], "undetermined", "no-evidence"),
        # a ruled-out option's support does not count for the options left
        (
            [made([("micromasters", 4)], rule_out=["micromasters"])],
            "undetermined",
            "no-evidence",
        ),
        # the leader must be strictly ahead of every option left, not of a ruled-out one
        (
            [made([("micromasters", 2), ("full_masters", 1), ("micromasters_pathway", 2)])],
            "undetermined",
            "tie",
        ),
        (
            [
                made([("micromasters", 5), ("full_masters", 1)], rule_out=["micromasters"]),
            ],
            "full_masters",
            "score",
        ),
        ([made(rule_out=OPTIONS)], "undetermined", "all-ruled-out"),
        # a decision rule decides, even against more weight
        (
            [made([("micromasters", 5)]), made(conclude="full_masters", order=1)],
            "full_masters",
            "rule",
        ),
    ],
)
def test_the_policy(fired, recommendation, reason):
    conclusion = next((r for r in fired if r.conclude), None)
    decision = decide(OPTIONS, fired, conclusion)
    assert (decision.recommendation, decision.reason) == (recommendation, reason)


def test_a_decision_against_the_weights_names_what_it_overrules():
    fired = [
        made([("micromasters", 5), ("micromasters_pathway", 1)]),
        made(conclude="full_masters"),
    ]
    decision = decide(OPTIONS, fired, fired[1])
    assert decision.overruled == ("micromasters", "micromasters_pathway")
    assert decide(OPTIONS, fired[:1] + [made(conclude="micromasters")], None).overruled == ()


OVERRIDE = """
rules:
  - id: flexible
    title: Flexibility favours a MicroMasters
    source:
      section: Flexibility
      quote: Designed for working professionals
    salience: 20
    when:
      - fact: working_professional
        is: yes
    then:
      score: {micromasters: 3}
  - id: research-decides
    title: Research settles it for a full master's
    source:
      section: When a Full Master's Degree Might Be Better
      quote: research opportunities
    salience: 10
    when:
      - fact: wants_research_experience
        is: yes
    then:
      conclude: full_masters
"""


def test_the_summary_says_when_a_decision_rule_overrides_more_weight(broken_kb):
    rules, facts = broken_kb(OVERRIDE)
    args = ("--rules", str(rules), "--facts", str(facts), "--no-input", "--format", "json")
    doc = json.loads(
        invoke(
            "consult", *args, "--set", "working_professional=yes",
            "--set", "wants_research_experience=yes",
        ).stdout
    )  # fmt: skip
    assert doc["recommendation"] == "full_masters"
    assert doc["summary"] == (
        "A full master's degree is recommended: the decision rule 'research-decides' settled it "
        "(Research settles it for a full master's). It is recommended although A MicroMasters "
        "program gathered more weight (micromasters +3, full_masters +0, micromasters_pathway +0), "
        "because the decision rule takes precedence over the weighed evidence."
    )


def test_the_summary_says_what_was_ruled_out_and_why(advisor, kb):
    result = advisor.consult(
        {"wants_complete_degree": True, "program_offers_credit_pathway": False}
    )
    assert trace.summary(kb.schema, result) == (
        "A full master's degree is recommended by elimination: it is the only option left "
        "(micromasters +0, full_masters +3, micromasters_pathway +0). A MicroMasters program is "
        "ruled out: a degree goal needs a degree, and a MicroMasters alone ends in a professional "
        "certificate. A MicroMasters as a stepping stone to a master's is ruled out: without "
        "credit that counts toward a master's, a MicroMasters is no stepping stone to one. The "
        "strongest reasons: A complete degree as the goal is what a full master's is for."
    )


def test_the_summary_names_what_weighs_against_and_never_claims_the_most_over_a_ruled_out_option(
    advisor, kb
):
    result = advisor.consult(
        {
            "wants_complete_degree": True,
            "wants_to_reduce_cost": True,
            "wants_career_acceleration": True,
            "skill_in_high_demand": True,
            "working_professional": True,
            "program_offers_credit_pathway": True,
        }
    )
    scores = result.decision.scores
    assert result.recommendation == "micromasters_pathway"
    assert scores["micromasters"] > scores["micromasters_pathway"]  # ruled out, yet heavier
    text = trace.summary(kb.schema, result)
    assert "gathered the most weighed evidence of the options not ruled out" in text
    assert "Weighing against it" not in text  # what fired against weighs on the full master's
    low = advisor.consult(
        {"wants_career_acceleration": True, "skill_in_high_demand": True, "months_available": 3}
    )
    assert trace.summary(kb.schema, low).endswith(
        " Weighing against it: Even a MicroMasters typically takes longer than the months "
        "available, a master's longer still."
    )
