"""The interview's state apart from the terminal: answers, their order, back, review, why."""

from __future__ import annotations

import pytest
from conftest import PROFILES

from mm_advisor.knowledge.answers import FILE, PROMPT, Answers, read_file
from mm_advisor.reasoning.relevance import Planner
from mm_advisor.reasoning.session import NOT_USED, SETTLED, Session


def test_answers_back_and_reopen_keep_order_numbers_and_origins(kb):
    given = Answers()
    given.give("budget", "low", FILE)
    session = Session(kb, Planner(kb), given)
    first = session.next_fact()
    assert first is not None and first != "budget"
    assert session.number(first) == 2  # the file's answer is number 1
    session.answer(first, True)
    second = session.next_fact()
    session.answer(second, None)  # not sure
    assert session.answered() == ["budget", first, second]
    assert (given.origins[first], given.values[second]) == (PROMPT, None)
    assert session.back() == (second, None)
    assert second not in given.values and session.number(second) == 3  # keeps its number
    assert session.back() == (first, True)
    assert session.back() is None  # a file's answer is not taken back
    session.answer(first, False)
    session.reopen("budget")
    assert session.answered() == [first] and "budget" in session.free()


def test_ask_all_asks_every_question_in_order(kb):
    session = Session(kb, Planner(kb), Answers(), ask_all=True)
    asked = []
    while (fact := session.next_fact()) is not None:
        asked.append(fact)
        session.answer(fact, None)
    assert asked == list(kb.schema.facts)


def test_what_was_not_asked_and_why(kb):
    session = Session(kb, Planner(kb), Answers())
    while (fact := session.next_fact()) is not None:
        session.answer(fact, {"yesno": True}.get(kb.schema.facts[fact].type))
    groups = session.not_asked()
    assert set(groups) <= {NOT_USED, SETTLED} and groups
    assert sorted(f for facts in groups.values() for f in facts) == sorted(session.free())
    assert len(session.possible()) == 1  # nothing left to ask: the result is settled
    assert all(not session.why(f) for f in groups.get(NOT_USED, []))


@pytest.mark.parametrize(
    ("profile", "asked"),
    [
        ("degree-seeker", ["program_offers_credit_pathway", "career_requires_masters_degree",
                           "meets_traditional_admission", "months_available",
                           "wants_complete_degree"]),
        ("career-accelerator", ["program_offers_credit_pathway", "career_requires_masters_degree",
                                "wants_complete_degree", "meets_traditional_admission",
                                "wants_to_reduce_cost", "months_available",
                                "unsure_about_graduate_degree", "working_professional",
                                "needs_flexible_schedule", "wants_career_acceleration",
                                "skill_in_high_demand"]),
        (None, ["program_offers_credit_pathway", "career_requires_masters_degree",
                "wants_complete_degree", "meets_traditional_admission", "months_available",
                "wants_to_reduce_cost", "unsure_about_graduate_degree",
                "wants_career_acceleration", "wants_extensive_coursework",
                "wants_research_experience", "wants_campus_networking", "working_professional",
                "needs_flexible_schedule"]),
    ],
)  # fmt: skip
def test_the_questions_come_most_decisive_first(kb, profile, asked):
    """The exact order the planner asks in, for a person with a shipped profile's answers and
    for one who is not sure of anything: a change to how questions are ranked shows here."""
    full = Answers()
    if profile:
        read_file(str(PROFILES / f"{profile}.yaml"), kb.schema, full)
    session = Session(kb, Planner(kb), Answers())
    order = []
    while (fact := session.next_fact()) is not None:
        order.append(fact)
        session.answer(fact, full.values.get(fact))
    assert order == asked
