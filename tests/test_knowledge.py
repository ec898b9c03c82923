"""The shipped knowledge base: every article condition fires on a profile built for it."""

from __future__ import annotations

import pytest
from conftest import PROFILES

from mm_advisor.knowledge import answers as answers_mod

Y, N = True, False

# (rule, answers built for it): every rule of the shipped knowledge base appears here.
CONDITIONS = [
    ("cost-sensitive-by-goal", {"wants_to_reduce_cost": Y}),
    ("needs-flexibility", {"working_professional": Y}),
    ("needs-flexibility", {"needs_flexible_schedule": Y}),
    ("degree-goal", {"wants_complete_degree": Y}),
    ("degree-required", {"career_requires_masters_degree": Y}),
    ("full-degree-exceeds-time", {"months_available": 17}),
    ("credit-stacks", {"program_offers_credit_pathway": Y, "wants_complete_degree": Y}),
    ("credit-stacks", {"program_offers_credit_pathway": Y, "career_requires_masters_degree": Y}),
    ("career-acceleration", {"wants_career_acceleration": Y, "skill_in_high_demand": Y}),
    ("cost-reduction", {"wants_to_reduce_cost": Y}),
    (
        "cost-reduction-credit",
        {"wants_to_reduce_cost": Y, "program_offers_credit_pathway": Y, "wants_complete_degree": Y},
    ),
    ("exploring-professional-studies", {"unsure_about_graduate_degree": Y}),
    ("flexibility", {"working_professional": Y}),
    ("full-graduate-program", {"wants_complete_degree": Y, "career_requires_masters_degree": Y}),
    ("extensive-coursework", {"wants_extensive_coursework": Y}),
    ("research-opportunities", {"wants_research_experience": Y}),
    ("campus-networking", {"wants_campus_networking": Y}),
    ("stackable-credentials", {"program_offers_credit_pathway": Y, "wants_complete_degree": Y}),
    (
        "stepping-stone",
        {
            "unsure_about_graduate_degree": Y,
            "program_offers_credit_pathway": Y,
            "wants_complete_degree": Y,
        },
    ),
    ("lower-barrier-to-entry", {"meets_traditional_admission": N}),
    ("pathway-needs-acceptance", {"meets_traditional_admission": N}),
    (
        "industry-recognition",
        {
            "wants_career_acceleration": Y,
            "skill_in_high_demand": Y,
            "career_requires_masters_degree": N,
        },
    ),
    ("duration-full-degree-too-long", {"months_available": 12}),
    ("duration-too-short", {"months_available": 5}),
    ("cost-row", {"wants_to_reduce_cost": Y}),
    ("cost-row-budget", {"budget": "low"}),
    ("goal-row-degree", {"wants_complete_degree": Y}),
    ("credential-row-required", {"career_requires_masters_degree": Y}),
    ("credit-row-no-stack", {"program_offers_credit_pathway": N}),
    ("flexibility-row", {"needs_flexible_schedule": Y}),
    ("credential-row-degree", {"career_requires_masters_degree": Y}),
    (
        "credential-row-certificate",
        {"career_requires_masters_degree": N, "unsure_about_graduate_degree": Y},
    ),
]


@pytest.mark.parametrize(
    "rule_id, answers", CONDITIONS, ids=[f"{r}-{i}" for i, (r, _) in enumerate(CONDITIONS)]
)
def test_each_condition_fires_on_its_profile(advisor, rule_id, answers):
    fired = [f.rule.id for f in advisor.consult(answers).run.firings]
    assert rule_id in fired


def test_every_rule_has_a_profile(kb):
    assert {r.id for r in kb.rules} == {rule for rule, _ in CONDITIONS}


def test_nothing_fires_on_nothing(advisor):
    result = advisor.consult({})
    assert result.run.firings == ()
    assert result.recommendation == "undetermined"


@pytest.mark.parametrize(
    "profile, recommendation, reason",
    [
        ("career-accelerator", "micromasters", "score"),
        ("cost-saver", "micromasters", "score"),
        ("explorer", "micromasters", "score"),
        ("working-professional", "micromasters", "score"),
        ("degree-seeker", "full_masters", "score"),
        ("stepping-stone", "micromasters_pathway", "score"),
        ("undecided", "undetermined", "no-evidence"),
    ],
)
def test_profiles_get_the_recommendation_the_article_supports(
    kb, advisor, profile, recommendation, reason
):
    given = answers_mod.read_file(str(PROFILES / f"{profile}.yaml"), kb.schema)
    decision = advisor.consult(given.values).decision
    assert (decision.recommendation, decision.reason) == (recommendation, reason)


def test_speed_and_degree_conflict_resolves_to_the_pathway(advisor):
    result = advisor.consult(
        {
            "wants_career_acceleration": Y,
            "skill_in_high_demand": Y,
            "wants_complete_degree": Y,
            "program_offers_credit_pathway": Y,
        }
    )
    assert result.recommendation == "micromasters_pathway"
    assert result.decision.ruled_out == ("micromasters",)
    assert dict(result.decision.scores) == {
        "micromasters": 3,
        "full_masters": 3,
        "micromasters_pathway": 4,
    }


def test_a_degree_goal_without_stacking_credit_leaves_only_the_full_masters(advisor):
    result = advisor.consult({"wants_complete_degree": Y, "program_offers_credit_pathway": N})
    assert (result.recommendation, result.decision.reason) == ("full_masters", "only-option")
    assert result.decision.ruled_out == ("micromasters", "micromasters_pathway")


def test_the_only_option_left_with_more_against_it_than_for_it_fits_nothing(advisor):
    """The issue's example: a degree goal, a low budget, no credit that stacks, 6 months."""
    answers = {"wants_complete_degree": Y, "budget": "low", "program_offers_credit_pathway": N}
    for months, net in ((6, -2), (1, -3)):
        result = advisor.consult({**answers, "months_available": months})
        assert (result.recommendation, result.decision.reason) == ("undetermined", "no-fit")
        assert result.decision.remaining == ("full_masters",)
        assert result.decision.scores["full_masters"] == net


def test_unknown_is_never_evidence(advisor):
    """A `no` answer and an unknown one differ: only the `no` can satisfy a `no` test."""
    fired_no = {f.rule.id for f in advisor.consult({"meets_traditional_admission": N}).run.firings}
    fired_unknown = {f.rule.id for f in advisor.consult({}).run.firings}
    assert "lower-barrier-to-entry" in fired_no and not fired_unknown


def test_undetermined_names_the_answers_that_would_decide(advisor):
    result = advisor.consult({"budget": "medium"})
    deciders = {(c.fact, c.value): c.recommendation for c in result.deciders}
    assert deciders[("wants_complete_degree", True)] == "full_masters"
    assert deciders[("unsure_about_graduate_degree", True)] == "micromasters"
    assert all(c.fact != "budget" for c in result.deciders)


def test_why_not_names_the_first_failing_condition(advisor):
    result = advisor.consult({"wants_career_acceleration": Y, "skill_in_high_demand": N})
    blocked = {b.rule.id: b for b in result.blocked}
    career = blocked["career-acceleration"]
    assert (career.condition, career.index, career.value) == (
        "skill_in_high_demand is yes",
        1,
        False,
    )
    research = blocked["research-opportunities"]
    assert research.value is None and research.seen == (("wants_research_experience", None),)
