"""Property checks with hypothesis: the loader never crashes, answers round-trip, the logic is
Kleene's, traces are sealed and deterministic, and the interview planner never stops too early."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
from conftest import cases
from hypothesis import given
from hypothesis import strategies as st

from mm_advisor.audit import trace
from mm_advisor.errors import KnowledgeBaseError
from mm_advisor.knowledge.answers import Answers
from mm_advisor.knowledge.conditions import All, Any_, FactTest, Not, evaluate
from mm_advisor.knowledge.yamlsrc import Mark, load_text
from mm_advisor.reasoning.relevance import Planner

SCHEMA = json.loads((resources.files("mm_advisor") / "schemas" / "trace.schema.json").read_text())
SLOW = cases(60)


def answers_strategy(kb):
    """Answers for every fact (None is unknown); numbers anywhere in their range."""

    def value(spec):
        if spec.type == "number":
            return st.one_of(st.none(), st.integers(spec.minimum, spec.maximum))
        return st.sampled_from([*spec.domain(), None])

    return st.fixed_dictionaries({n: value(s) for n, s in kb.schema.facts.items()})


@given(st.text(max_size=300))
@cases(300)
def test_the_yaml_reader_fails_only_with_positioned_problems(text):
    try:
        load_text(text, "x.yaml")
    except KnowledgeBaseError as exc:
        assert all(p.path == "x.yaml" and p.line >= 1 and p.col >= 1 for p in exc.problems)


@given(st.data())
@cases(200)
def test_answers_round_trip_through_their_rendering(kb, data):
    spec = data.draw(st.sampled_from(list(kb.schema.facts.values())))
    if spec.type == "number":
        value = data.draw(st.one_of(st.none(), st.integers(spec.minimum, spec.maximum)))
    else:
        value = data.draw(st.sampled_from([*spec.domain(), None]))
    assert spec.parse(spec.render(value)) == value


MARK = Mark("x", 1, 1)
LEAF = st.builds(
    lambda f, v: FactTest(f, "is", v, MARK), st.sampled_from(["a", "b", "c"]), st.booleans()
)
CONDITION = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.builds(lambda p: Not(p, MARK), inner),
        st.builds(lambda ps: All(tuple(ps), MARK), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda ps: Any_(tuple(ps), MARK), st.lists(inner, min_size=1, max_size=3)),
    ),
    max_leaves=8,
)
VALUES = st.fixed_dictionaries({k: st.sampled_from([True, False, None]) for k in "abc"})


@given(CONDITION, VALUES)
def test_three_valued_logic_follows_kleene(cond, values):
    result = evaluate(cond, values, (), {})
    assert evaluate(Not(Not(cond, MARK), MARK), values, (), {}) == result
    assert evaluate(Any_((cond, Not(cond, MARK)), MARK), values, (), {}) in (True, None)
    known = {k: v for k, v in values.items() if v is not None}
    if len(known) == 3:
        assert result in (True, False)
    # Knowing more never turns a settled answer around.
    filled = {k: (True if v is None else v) for k, v in values.items()}
    if result is not None:
        assert evaluate(cond, filled, (), {}) == result


@given(st.data())
@SLOW
def test_every_trace_is_sealed_valid_and_deterministic(kb, advisor, data):
    values = data.draw(answers_strategy(kb))
    given_answers = Answers()
    for name, value in values.items():
        given_answers.give(name, value, "set")
    first = trace.build(kb, given_answers, advisor.consult(values))
    second = trace.build(kb, given_answers, advisor.consult(values))
    assert trace.dumps(first) == trace.dumps(second)
    assert first["content_digest"] == trace.content_digest(first)
    assert first["recommendation"] in [*kb.schema.options, "undetermined"]
    jsonschema.validate(first, SCHEMA)


@given(st.data())
@SLOW
def test_the_planner_only_stops_when_no_answer_can_change_the_result(kb, advisor, data):
    planner = Planner(kb)
    facts = list(kb.schema.facts)
    answered = data.draw(st.lists(st.sampled_from(facts), unique=True, max_size=len(facts)))
    full = data.draw(answers_strategy(kb))
    known = {f: full[f] for f in answered}
    free = frozenset(facts) - set(answered)
    possible = planner.outcomes(known, free)
    actual = advisor.recommend(full)
    assert actual in possible
    if planner.next_question(known, free) is None:
        assert advisor.recommend(known) == actual


@given(
    st.text(alphabet="ab ", max_size=40),
    st.text(alphabet="ab ", min_size=1, max_size=4),
)
@cases(300)
def test_a_quote_is_found_where_a_regular_expression_finds_it(text, wanted):
    """The citation check looks quotes up with str.find (a regex compiled per quote cost a
    fifth of loading the rule files); it must find the same occurrences, none overlapping."""
    import re

    from mm_advisor.knowledge.sources import _occurrences

    expected = [m.start() for m in re.finditer(re.escape(wanted), text)]
    assert _occurrences(text, wanted) == expected
