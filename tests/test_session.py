"""The interview's state apart from the terminal: answers, their order, back, review, why."""

from __future__ import annotations

from mm_advisor.knowledge.answers import FILE, PROMPT, Answers
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
