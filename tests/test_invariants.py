"""Invariants: the file format, `rules check`, and the checker against brute force."""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import KB_ARGS, REPO, invoke

from mm_advisor.knowledge import invariants, rulebase
from mm_advisor.knowledge.layout import Layout
from mm_advisor.reasoning import checker
from mm_advisor.reasoning.advisor import Advisor


@pytest.mark.slow
def test_the_shipped_invariants_hold_over_the_whole_answer_space(shipped_check):
    result = shipped_check
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "holds  degree-goal-gets-a-degree  (facts/invariants/article.yaml:5, 6,377,292 profiles)"
    )
    checked = [re.fullmatch(r"holds  \S+  \(\S+, ([\d,]+) profiles\)", line) for line in lines[:28]]
    assert all(checked) and all(int(m.group(1).replace(",", "")) > 0 for m in checked)
    assert lines[-2] == (
        "28 invariants: 28 hold, 0 fail, 0 hold vacuously, over the whole answer space of "
        "19,131,876 profiles (every class of every answer)."
    )
    assert lines[-1].startswith("Recommendations over the answer space: micromasters 38.2%")
    assert result.stderr.startswith("Checked in ")


BREAKS_RESEARCH = """\
  - id: research-online
    title: Research can start online too
    source:
      section: High-Quality Content
      quote: ensuring rigorous academic standards
    salience: 20
    when:
      - fact: wants_research_experience
        is: yes
    then:
      score: {micromasters: 3}
"""


@pytest.mark.slow
def test_a_rule_that_breaks_an_invariant_gets_a_counterexample_to_paste(kb_copy):
    rules, facts = kb_copy
    with open(rules / "3-full-masters.yaml", "a") as fh:
        fh.write("\n" + BREAKS_RESEARCH)
    args = ("--rules", str(rules), "--facts", str(facts))
    result = invoke("rules", "check", *args)
    assert result.exit_code == 1
    out = result.stdout
    start = out.index("FAILS  research-toward-full-masters")
    block = out[start:].split("\n\n")[0].splitlines()
    assert block[1:4] == [
        "       Wanting research opportunities never moves the recommendation away from a",
        "       full master's.",
        "       counterexample (mm-advisor consult --no-input ...):",
    ]
    examples = [(block[i].strip(), block[i + 1].strip()) for i in (4, 6)]
    assert [gives for _, gives in examples] == ["gives full_masters", "gives undetermined"]
    assert examples[0][0] == (
        "--set needs_flexible_schedule=yes --set wants_extensive_coursework=yes "
        "--set wants_research_experience=no --set wants_campus_networking=yes"
    )
    for settings, gives in examples:
        doc = json.loads(
            invoke(
                "consult", *args, "--no-input", *shlex.split(settings), "--format", "json"
            ).stdout
        )
        assert gives == f"gives {doc['recommendation']}"
    # research now counts for a MicroMasters, which the article's four scenarios never said
    failed = re.findall(r"^FAILS  (\S+)", out, re.M)
    assert failed == ["research-toward-full-masters", "no-scenario-no-certificate"]
    github = invoke("rules", "check", *args, "--format", "github").stdout
    assert github.startswith(
        f"::error file={rulebase.display_path(facts / 'invariants' / 'article.yaml')},line=78,"
        "col=5,title=invariant research-toward-full-masters::Wanting research opportunities"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "  - id: a\n    statement: s\n    source: {section: Flexibility, quote: nowhere}\n"
            "    then: {recommendation_in: [micromasters]}\n",
            "i.yaml:4:43: the quote 'nowhere' does not appear in the source 'article' "
            "(are-micromasters-worth-it.txt)",
        ),
        (
            "  - id: a\n    statement: s\n    source: {section: Flexibility, quote: Designed for working professionals}\n"
            "    then: {recommendation_in: [micromaster]}\n",
            "i.yaml:5:32: unknown recommendation 'micromaster' (did you mean 'micromasters'?); "
            "expected one of: micromasters, full_masters, micromasters_pathway, undetermined",
        ),
        (
            "  - id: a\n    statement: s\n    source: {section: Flexibility, quote: Designed for working professionals}\n"
            "    change: {fact: wants_researh, from: no, to: yes}\n"
            "    then: {never_away_from: full_masters}\n",
            "i.yaml:5:20: unknown fact 'wants_researh' (did you mean 'wants_research_experience'?)",
        ),
        (
            "  - id: a\n    statement: s\n    source: {section: Flexibility, quote: Designed for working professionals}\n"
            "    change: {fact: wants_complete_degree, direction: up}\n"
            "    then: {never_away_from: full_masters}\n",
            "i.yaml:5:54: 'wants_complete_degree' is a yes/no fact, which has no direction: "
            "use 'from' and 'to'",
        ),
        (
            "  - id: a\n    statement: s\n    source: {section: Flexibility, quote: Designed for working professionals}\n"
            "    when: [{derived: cost_sensitive}]\n    then: {recommendation_in: [full_masters]}\n",
            "i.yaml:5:12: an invariant's 'when' tests answers only, not derived facts "
            "(those are the rules' business)",
        ),
        (
            "  - id: a\n    statement: s\n    source: {section: Flexibility, quote: Designed for working professionals}\n"
            "    when: [{fact: budget, is: low}]\n    change: {fact: budget, direction: down}\n"
            "    then: {never_toward: full_masters}\n",
            "i.yaml:6:20: 'when' cannot test 'budget', the fact that changes",
        ),
        (
            "  - id: a\n    statement: s\n    source: {section: Flexibility, quote: Designed for working professionals}\n",
            "i.yaml:2:5: an invariant needs 'then' (or 'unknown_is_never_evidence')",
        ),
    ],
)
def test_bad_invariant_files_are_one_line_and_exit_2(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    Path("i.yaml").write_text("invariants:\n" + text)
    result = invoke("rules", "check", *KB_ARGS, "i.yaml")
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


def test_lint_reads_the_invariant_files(kb_copy, monkeypatch):
    rules, facts = kb_copy
    path = facts / "invariants" / "article.yaml"
    path.write_text(
        path.read_text().replace(
            "never_away_from: full_masters}", "never_away_from: full_master}", 1
        )
    )
    monkeypatch.chdir(facts.parent)
    result = invoke("rules", "lint", "--rules", "rules", "--facts", "facts")
    assert result.exit_code == 1
    assert result.stdout == (
        "facts/invariants/article.yaml:66:29: error: unknown recommendation 'full_master' (did you "
        "mean 'full_masters'?); expected one of: micromasters, full_masters, micromasters_pathway "
        "[unknown-option]\n"
    )


# A small knowledge base whose whole answer space brute force can enumerate with experta.

SMALL_FACTS = """\
facts:
  - {name: a, type: yesno, question: A?, help: a}
  - {name: b, type: yesno, question: B?, help: b}
  - {name: n, type: number, min: 1, max: 30, question: N?, help: n}
  - {name: c, type: choice, choices: [low, mid, high], question: C?, help: c}
derived:
  - {name: d, description: d}
  - {name: e, description: e}
background:
  k: {column: K, limit: 12}
options:
  o1: {label: One}
  o2: {label: Two}
  o3: {label: Three}
"""

CITE = "    source: {section: Flexibility, quote: Designed for working professionals}\n"


def small_rule(rule_id: str, salience: int, when: str, then: str) -> str:
    return (
        f"  - id: {rule_id}\n    title: {rule_id}\n{CITE}    salience: {salience}\n"
        f"    when:\n{textwrap.indent(textwrap.dedent(when).strip(), '      ')}\n"
        f"    then: {then}\n"
    )


SMALL_RULES = "rules:\n" + "".join(
    [
        small_rule("r1", 30, "- {fact: a, is: yes}", "{derive: [d], score: {o1: 2}}"),
        small_rule("r2", 30, "- {fact: n, lt: {background: k.limit}}", "{derive: [e]}"),
        small_rule("r3", 20, "- {derived: d}\n- {fact: c, in: [low, mid]}", "{score: {o2: 3}}"),
        small_rule(
            "r4", 20, "- {not: {derived: e}}\n- {fact: b, is: yes}", "{score: {o3: 3, o1: -1}}"
        ),
        small_rule(
            "r5", 20, "- {any: [{fact: a, is: no}, {fact: c, is: high}]}", "{score: {o1: 2}}"
        ),
        small_rule("r6", 20, "- {fact: n, ge: 20}\n- {fact: b, known: true}", "{score: {o3: 1}}"),
        small_rule("r7", 20, "- {derived: e}\n- {fact: c, is: low}", "{rule_out: [o2]}"),
        small_rule(
            "r8", 10, "- {derived: d}\n- {fact: b, is: no}\n- {fact: n, is: 5}", "{conclude: o3}"
        ),
        small_rule("r9", 20, "- {not: {fact: a, is: yes}}", "{score: {o2: 1}}"),
    ]
)

SMALL_INVARIANTS = """\
invariants:
  - id: out
    statement: With a yes, never three.
    source: {section: Flexibility, quote: Designed for working professionals}
    when: [{fact: a, is: yes}]
    then: {recommendation_in: [o1, o2, undetermined]}
  - id: mono-a
    statement: a toward o1
    source: {section: Flexibility, quote: Designed for working professionals}
    change: {fact: a, from: no, to: yes}
    then: {never_away_from: o1}
  - id: mono-n
    statement: more n never toward o3
    source: {section: Flexibility, quote: Designed for working professionals}
    change: {fact: n, direction: up}
    then: {never_toward: o3}
  - id: mono-c
    statement: lower c never away from o2
    source: {section: Flexibility, quote: Designed for working professionals}
    when: [{fact: a, is: yes}]
    change: {fact: c, direction: down}
    then: {never_away_from: o2}
  - id: unknown
    statement: unknown is no evidence
    source: {section: Flexibility, quote: Designed for working professionals}
    unknown_is_never_evidence: all
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    top = tmp_path_factory.mktemp("small")
    (top / "rules").mkdir()
    (top / "facts" / "invariants").mkdir(parents=True)
    (top / "rules" / "r.yaml").write_text(SMALL_RULES)
    (top / "facts" / "f.yaml").write_text(SMALL_FACTS)
    shutil.copytree(REPO / "sources", top / "sources")
    (top / "facts" / "invariants" / "i.yaml").write_text(SMALL_INVARIANTS)
    kb = rulebase.load(Layout.of(top / "rules", top / "facts", top / "sources"))
    found = invariants.load(invariants.default_files(top / "facts" / "invariants"), kb)
    return kb, found


def brute_sweep(check: checker.Checker, order: list[str], required: int = 0) -> list[tuple]:
    """What a sweep promises, by enumerating every combination of classes in `order` (unknown
    first): each (bits, pending) once, in the order first met, with how many combinations give
    it, the fewest answers given among them and the first combination with that few."""
    inside = set(order)
    waiting = [
        f
        for f in order
        if any(f in p.facts and not inside >= set(p.facts) for p in check.predicates)
    ]
    merged: dict[tuple, list] = {}
    for combo in itertools.product(*[[check.unknown[f], *range(check.unknown[f])] for f in order]):
        classes = dict(zip(order, combo))
        bits = 0
        for k, p in enumerate(check.predicates):
            if inside >= set(p.facts) and p(tuple(classes[f] for f in p.facts)):
                bits |= 1 << k
            elif inside >= set(p.facts) and 1 << k & required and p.facts:
                break  # fails a required test it can decide
        else:
            cost = sum(c != check.unknown[f] for f, c in classes.items())
            entry = merged.setdefault((bits, tuple(classes[f] for f in waiting)), [0, cost, combo])
            entry[0] += 1
            if cost < entry[1]:
                entry[1:] = [cost, combo]
    return [(bits, pending, *entry) for (bits, pending), entry in merged.items()]


def test_every_sweep_is_the_brute_force_enumeration_merged(small, tmp_path):
    """The two groups of the small base (`a` and `c` read together, `b` and `n` together) are
    swept apart and combined: the result is the enumeration's, order and representatives too,
    with and without an invariant's tests, a fact left out (its readers' other facts pending,
    in two groups with `across`), and a `when` required."""
    kb, found = small
    path = tmp_path / "i.yaml"
    path.write_text(
        "invariants:\n  - id: across\n    statement: s\n"
        "    source: {section: Flexibility, quote: Designed for working professionals}\n"
        "    when: [{any: [{fact: c, is: low}, {fact: b, is: yes}]}]\n"
        "    then: {recommendation_in: [o1]}\n"
    )
    across = invariants.load([path], kb)
    check = checker.Checker(kb, [*found, *across])
    check._focus([])
    assert check._groups(check._order(check.facts)) == [["a", "c"], ["b", "n"]]
    cases = [([], None), (found, None), ([], "c"), (found, "n"), (found, "a"), (across, "c")]
    cases += [(across, None), ([*found, *across], "b")]
    for focus, left_out in cases:
        check._focus(focus)
        order = check._order([f for f in check.facts if f != left_out])
        assert check._sweep(order) == brute_sweep(check, order), (focus, left_out)
    check._focus(found[:1])
    order = check._order(check.facts)
    required = check.when_mask["out"]
    assert check._sweep(order, required) == brute_sweep(check, order, required)
    assert len(check._sweep(order, required)) < len(check._sweep(order))


def test_a_cheaper_path_found_later_becomes_the_representative(tmp_path):
    """x = p needs y = yes to satisfy t1 (two answers), x = q satisfies it alone (one), and p
    comes first: the state is met first at two answers and later at one, which must replace
    the representative (the small base never meets a state at a lower cost later)."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "facts").mkdir()
    shutil.copytree(REPO / "sources", tmp_path / "sources")
    (tmp_path / "facts" / "f.yaml").write_text(
        "facts:\n"
        "  - {name: x, type: choice, choices: [p, q], question: X?, help: x}\n"
        "  - {name: y, type: yesno, question: Y?, help: y}\n"
        "options:\n  o1: {label: One}\n  o2: {label: Two}\n"
    )
    (tmp_path / "rules" / "r.yaml").write_text(
        "rules:\n"
        + small_rule("t1", 10, "- any: [{fact: x, is: q}, {fact: y, is: yes}]", "{score: {o1: 1}}")
        + small_rule("t2", 10, "- {fact: x, known: true}", "{score: {o2: 1}}")
    )
    kb = rulebase.load(Layout.of(tmp_path / "rules", tmp_path / "facts", tmp_path / "sources"))
    check = checker.Checker(kb, [])
    check._focus([])
    order = check._order(check.facts)
    assert (order, check.classes.values["x"]) == (["x", "y"], ("p", "q", None))
    swept = check._sweep(order)
    assert swept == brute_sweep(check, order)
    assert swept[-1] == (0b11, (), 4, 1, (1, 2))  # both rules: x = q alone, not x = p, y = yes


def test_an_answer_space_too_large_to_enumerate_is_one_line_not_a_wait(small, monkeypatch):
    """The enumeration holds at most `states` partial profiles; past it, the check stops with
    one line (a synthetic 500-rule base once kept `rules lint` working for minutes and 4 GB)."""
    kb, found = small
    assert checker.Checker(kb, found, states=77).run().space == 180  # its sweeps need 77
    with pytest.raises(checker.SpaceTooLarge) as caught:
        checker.Checker(kb, found, states=76).run()
    assert str(caught.value) == (
        "the answer space is too large to enumerate: the rules keep over 76 partial profiles apart"
    )
    args = ("--rules", str(kb.layout.rules), "--facts", str(kb.layout.facts))
    monkeypatch.setattr(checker, "STATES", 77)
    assert invoke("rules", "check", *args).exit_code == 1  # it runs (and finds what fails)
    monkeypatch.setattr(checker, "STATES", 76)
    result = invoke("rules", "check", *args)
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: the answer space is too large to enumerate: the rules keep over 76 partial "
        "profiles apart\n",
    )


def test_the_checker_agrees_with_brute_force_through_the_engine(small):
    kb, found = small
    report = checker.Checker(kb, found).run()
    check = checker.Checker(kb, found)
    advisor = Advisor(kb)
    facts = list(kb.schema.facts)
    values = [check.classes.values[f] for f in facts]
    result, reasons, against = {}, {}, 0
    for combo in itertools.product(*values):
        consulted = advisor.consult(dict(zip(facts, combo)))
        result[combo] = consulted.recommendation
        reason = consulted.decision.reason
        reasons[reason] = reasons.get(reason, 0) + 1
        fired = [f.rule for f in consulted.run.firings]
        against += any(w < 0 for r in fired for o, w in r.score if o == result[combo])
    assert report.space == len(result)
    distribution = {}
    for rec in result.values():
        distribution[rec] = distribution.get(rec, 0) + 1
    assert dict(report.distribution) == distribution
    assert (dict(report.reasons), report.against) == (reasons, against)
    assert len(reasons) >= 3  # the small base gives something to count
    # stopping at the first broken invariant reports only broken ones, the first of them
    first = checker.Checker(kb, found).run(until_broken=True)
    assert [f.invariant.id for f in first.findings] == ["out"]
    assert first.findings[0].examples == report.findings[0].examples
    assert 0 <= first.seconds < 60 and 0 <= report.seconds < 60  # seconds taken, not a clock
    # without it, the first fact whose comparisons break something ends the check: `a`
    changes = checker.Checker(kb, found[1:]).run(until_broken=True)
    assert [f.invariant.id for f in changes.findings] == ["mono-a", "unknown"]

    def cost(combo):
        return sum(v is not None for v in combo)

    expected = {}
    by_id = {inv.id: inv for inv in found}
    # outcome: a is yes -> never o3
    bad = [c for c, r in result.items() if c[0] is True and r == "o3"]
    expected["out"] = min(map(cost, bad), default=None)
    # a no -> yes never away from o1
    bad = [
        c
        for c, r in result.items()
        if c[0] is False and r == "o1" and result[(True, *c[1:])] != "o1"
    ]
    expected["mono-a"] = min((cost(c) for c in bad), default=None)
    # n up never toward o3, over every pair of classes that have an ordered pair of members
    pairs = check._pairs(by_id["mono-n"], "n")
    n_values = values[2]
    bad = []
    for c, r in result.items():
        for lo, hi in pairs:
            if c[2] == n_values[lo]:
                after = result[(c[0], c[1], n_values[hi], c[3])]
                if after == "o3" and r != "o3":
                    bad.append(c)
    expected["mono-n"] = min((cost(c) for c in bad), default=None)
    # with a yes, moving c down to a lower choice never takes o2 away
    rank = {"low": 0, "mid": 1, "high": 2}
    bad = [
        c
        for c, r in result.items()
        if c[0] is True
        and r == "o2"
        and c[3] is not None
        and any(result[(*c[:3], lower)] != "o2" for lower in rank if rank[lower] < rank[c[3]])
    ]
    expected["mono-c"] = min(map(cost, bad), default=None)
    # where every known answer to one question gives the same result, not knowing the answer
    # gives that result or "not enough to decide"
    bad = []
    for c, r in result.items():
        for i in (i for i, v in enumerate(c) if v is None):
            known = {result[(*c[:i], v, *c[i + 1 :])] for v in values[i] if v is not None}
            if len(known) == 1 and r not in (*known, "undetermined"):
                bad.append(c)
    expected["unknown"] = min(map(cost, bad), default=None)
    # the cases that could have broken it: the known answers agree on a recommendation
    agreeing = 0
    for i in range(len(facts)):
        for rest in itertools.product(*(v for j, v in enumerate(values) if j != i)):
            known = {result[(*rest[:i], v, *rest[i:])] for v in values[i] if v is not None}
            agreeing += len(known) == 1 and "undetermined" not in known
    assert [f.invariant.id for f in report.findings] == list(expected)
    assert report.findings[4].premises == agreeing > 0
    assert [f.holds for f in report.findings] == [e is None for e in expected.values()]
    assert sum(e is not None for e in expected.values()) >= 3  # the small base breaks these
    for finding in report.findings:
        if not finding.holds:
            shown, gives = finding.examples[0]
            assert len(shown) == expected[finding.invariant.id], finding.invariant.id
            for profile, result in finding.examples:
                assert advisor.consult(profile).recommendation == result
    # the smallest counterexamples, shown with the values a person would try first
    assert [f.examples for f in report.findings] == [
        (({"a": True, "b": True}, "o3"),),
        (({"a": False, "c": "low"}, "o1"), ({"a": True, "c": "low"}, "o2")),
        (({"b": True, "n": 1}, "undetermined"), ({"b": True, "n": 12}, "o3")),
        (({"a": True, "n": 1, "c": "mid"}, "o2"), ({"a": True, "n": 1, "c": "low"}, "o1")),
        (
            ({"b": False, "n": 20}, "o3"),
            ({"a": True, "b": False, "n": 20}, "o1"),
            ({"a": False, "b": False, "n": 20}, "o1"),
        ),
    ]
    # a change's counterexample: the same answers but the one changed, in the stated direction
    rank = {"a": [False, True], "n": list(range(1, 31)), "c": ["high", "mid", "low"]}
    for inv_id, fact, start in [
        ("mono-a", "a", False),
        ("mono-n", "n", None),
        ("mono-c", "c", None),
    ]:
        (before, was), (after, now) = next(
            f for f in report.findings if f.invariant.id == inv_id
        ).examples
        assert {k: v for k, v in before.items() if k != fact} == {
            k: v for k, v in after.items() if k != fact
        }, inv_id
        order = rank[fact]
        assert order.index(before[fact]) < order.index(after[fact]), inv_id
        assert start is None or before[fact] == start
        assert was != now, inv_id


@pytest.mark.slow
def test_a_placebo_knowledge_base_fails_the_check(kb_copy):
    """Every rule does nothing: every result is "not enough to decide", which no prohibition
    notices; the invariants that require the article's clear outcomes fail, and those that can
    no longer fail are reported as vacuous."""
    rules, facts = kb_copy
    for path in rules.glob("*.yaml"):
        text = path.read_text()
        # each rule only derives a fact that no rule tests any more: no weight, no rule-out
        text = re.sub(
            r"\n    then:\n(      .*\n)+",
            "\n    then:\n      derive: [cost_sensitive]\n",
            text + "\n",
        )
        path.write_text(text)
    args = ("--rules", str(rules), "--facts", str(facts))
    result = invoke("rules", "check", *args, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["distribution"] == {"undetermined": 1.0}
    failed = {i["id"] for i in report["invariants"] if not i["holds"]}
    assert failed == {
        "career-acceleration-gets-micromasters",
        "cost-reduction-gets-micromasters",
        "exploring-gets-micromasters",
        "working-professional-gets-micromasters",
        "full-masters-paragraph-gets-full-masters",
        "stepping-stone-gets-pathway",
    }
    vacuous = {i["id"] for i in report["invariants"] if i["vacuous"]}
    assert "degree-goal-toward-full-masters" in vacuous and "unknown-is-never-evidence" in vacuous


VACUOUS = """\
invariants:
  - id: credit-never-away-from-pathway
    statement: Credit that counts never moves the recommendation away from the stepping stone.
    source:
      section: Stackable Credentials
      quote: successful completion can earn you credits toward a full master's degree
    change: {fact: program_offers_credit_pathway, from: no, to: yes}
    then: {never_away_from: micromasters_pathway}
  - id: anything-goes
    statement: Every result is allowed.
    source:
      section: Stackable Credentials
      quote: successful completion can earn you credits toward a full master's degree
    then:
      recommendation_in: [micromasters, full_masters, micromasters_pathway, undetermined]
"""


def test_an_invariant_that_cannot_fail_is_reported_vacuous(tmp_path):
    """The 0.3.0 stacking invariant: without credit the stepping stone is ruled out, so it is
    never the result before the change, and the statement is never tested."""
    path = tmp_path / "v.yaml"
    path.write_text(VACUOUS)
    result = invoke("rules", "check", *KB_ARGS, str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:5] == [
        "VACUOUS  credit-never-away-from-pathway  "
        f"({rulebase.display_path(path)}:2, 19,131,876 profiles)",
        "       It cannot fail: no profile gives the result it protects on the side it",
        "       protects it, so the change is never tested.",
        f"VACUOUS  anything-goes  ({rulebase.display_path(path)}:9, 19,131,876 profiles)",
        "       It cannot fail: no profile meets its 'when', or every result is allowed.",
    ]
    assert "2 invariants: 0 hold, 0 fail, 2 hold vacuously" in result.stdout


@pytest.mark.parametrize(
    ("results", "broken"),
    [
        (["o1", "o1", "o1"], False),  # every answer agrees, and so does not knowing
        (["o1", "o1", "undetermined"], False),  # not knowing may leave it undecided
        (["o1", "o1", "o2"], True),  # not knowing is evidence for o2
        (["undetermined", "undetermined", "o2"], True),  # not knowing decides what no answer does
        (["o1", "o2", "o3"], False),  # the answers disagree: nothing is claimed
    ],
)
def test_what_counts_as_unknown_being_evidence(small, results, broken):
    """One question with two known classes and unknown last: the comparisons the checker makes
    for `unknown_is_never_evidence` on one profile of the other answers."""
    _, found = small
    inv = next(inv for inv in found if inv.id == "unknown")
    shown = list(checker._violations(inv, [], results, 2))
    assert shown == ([(2, 0, 1)] if broken else [])


CHANGES = [
    (fact, direction, mode, option)
    for fact in ("n", "c")
    for direction in ("up", "down")
    for mode in ("never_away_from", "never_toward")
    for option in ("o1", "o2", "o3")
]


def test_every_direction_and_mode_agrees_with_brute_force(small, tmp_path):
    """Each change of a number or a choice, up and down, never away from or toward each option,
    against every value of every answer: the verdict, and a counterexample that really is one,
    in the stated direction, with as few answers as possible, shown with the first values a
    person would try (the lowest of a class going up, the highest going down)."""
    kb, _ = small
    source = "{section: Flexibility, quote: Designed for working professionals}"
    path = tmp_path / "changes.yaml"
    path.write_text(
        "invariants:\n"
        f"  - id: c-when-a\n    statement: s\n    source: {source}\n"
        "    when: [{fact: a, is: yes}]\n"
        "    change: {fact: c, direction: down}\n"
        "    then: {never_away_from: o2}\n"
        f"  - id: n-within-a-class\n    statement: s\n    source: {source}\n"
        "    change: {fact: n, from: 13, to: 14}\n"
        "    then: {never_away_from: o1}\n"
        + "".join(
            f"  - id: {fact}-{direction}-{mode.replace('_', '-')}-{option}\n    statement: s\n    source: {source}\n"
            f"    change: {{fact: {fact}, direction: {direction}}}\n"
            f"    then: {{{mode}: {option}}}\n"
            for fact, direction, mode, option in CHANGES
        )
    )
    report = checker.Checker(kb, invariants.load([path], kb)).run()
    when_a = report.findings.pop(0)  # compared on c, on only some profiles, before the others
    assert 0 < when_a.cases < report.space and not when_a.holds
    within = report.findings.pop(0)  # 13 and 14 are alike to every rule: nothing to compare
    assert (within.holds, within.premises, within.vacuous) == (True, 0, True)
    advisor = Advisor(kb)
    ordered = {"n": list(range(1, 31)), "c": ["low", "mid", "high"]}
    domain = {"a": [True, False, None], "b": [True, False, None], **ordered}
    domain = {f: v + [None] if f in ordered else v for f, v in domain.items()}
    facts = list(domain)
    rec = {
        combo: advisor.recommend(dict(zip(facts, combo)))
        for combo in itertools.product(*domain.values())
    }
    for finding, (fact, direction, mode, option) in zip(report.findings, CHANGES):
        i, values = facts.index(fact), ordered[fact]
        pairs = [(v, w) for v in values for w in values if (v < w if fact == "n" else
                 values.index(v) < values.index(w))]  # fmt: skip
        pairs = pairs if direction == "up" else [(w, v) for v, w in pairs]
        costs, premises = [], 0
        for combo in rec:
            for v, w in pairs:
                if combo[i] != v:
                    continue
                before, after = rec[combo], rec[(*combo[:i], w, *combo[i + 1 :])]
                premises += (before if mode == "never_away_from" else after) == option
                if (
                    (before == option != after)
                    if mode == "never_away_from"
                    else (after == option != before)
                ):
                    costs.append(sum(x is not None for x in combo))
        assert finding.holds == (not costs), finding.invariant.id
        assert (finding.premises > 0) == (premises > 0), finding.invariant.id  # not vacuous
        assert finding.cases == report.space  # no `when`: every profile is a case
        if costs:
            (first, was), (then, now) = finding.examples
            assert (advisor.recommend(first), advisor.recommend(then)) == (was, now)
            assert {k: x for k, x in first.items() if k != fact} == {
                k: x for k, x in then.items() if k != fact
            }
            assert (first[fact], then[fact]) in pairs and len(first) == min(costs)
    shown = [tuple(e[0][f] for e in x.examples) for x, (f, *_) in zip(report.findings, CHANGES)]
    assert shown == [
        (1, 12), (1, 12), (5, 6), (5, 6), (1, 12), (1, 12),
        (11, 5), (19, 11), (19, 11), (19, 11), (19, 11), (11, 5),
        ("low", "mid"), ("low", "high"), ("low", "high"), ("low", "high"), ("low", "mid"), (),
        ("high", "low"), ("mid", "low"), (), ("mid", "low"), ("high", "low"), ("high", "low"),
    ]  # fmt: skip


def test_evidence_against_and_vacuity_against_brute_force(tmp_path):
    """One more rule, so that some recommendations have weight against them: the check counts
    them as brute force does; an outcome that allows every result holds vacuously."""
    top = tmp_path / "kb"
    (top / "rules").mkdir(parents=True)
    (top / "facts" / "invariants").mkdir(parents=True)
    extra = small_rule("r10", 20, "- {fact: b, is: no}", "{score: {o1: -1, o2: 1}}")
    (top / "rules" / "r.yaml").write_text(SMALL_RULES + extra)
    (top / "facts" / "f.yaml").write_text(SMALL_FACTS)
    shutil.copytree(REPO / "sources", top / "sources")
    (top / "facts" / "invariants" / "i.yaml").write_text(
        "invariants:\n"
        "  - id: anything\n    statement: s\n"
        "    source: {section: Flexibility, quote: Designed for working professionals}\n"
        "    when: [{fact: a, is: yes}]\n"
        "    then: {recommendation_in: [o1, o2, o3, undetermined]}\n"
        "  - id: never-three\n    statement: s\n"
        "    source: {section: Flexibility, quote: Designed for working professionals}\n"
        "    then: {recommendation_in: [o1, o2, undetermined]}\n"
        "  - id: anything-both\n    statement: s\n"
        "    source: {section: Flexibility, quote: Designed for working professionals}\n"
        "    when: [{fact: a, is: yes}, {fact: b, is: no}]\n"
        "    then: {recommendation_in: [o1, o2, o3]}\n"
        "  - id: unknown-a-when-a\n    statement: s\n"
        "    source: {section: Flexibility, quote: Designed for working professionals}\n"
        "    when: [{fact: a, is: yes}]\n"
        "    unknown_is_never_evidence: [a]\n"
    )
    kb = rulebase.load(Layout.of(top / "rules", top / "facts", top / "sources"))
    found = invariants.load(invariants.default_files(top / "facts" / "invariants"), kb)
    report = checker.Checker(kb, found).run()
    check = checker.Checker(kb, found)
    advisor = Advisor(kb)
    facts = list(kb.schema.facts)
    against = with_a = both = both_undetermined = 0
    for combo in itertools.product(*(check.classes.values[f] for f in facts)):
        consulted = advisor.consult(dict(zip(facts, combo)))
        fired = [f.rule for f in consulted.run.firings]
        rec = consulted.recommendation
        against += any(w < 0 for r in fired for o, w in r.score if o == rec)
        with_a += combo[0] is True
        both += combo[0] is True and combo[1] is False
        both_undetermined += combo[0] is True and combo[1] is False and rec == "undetermined"
    assert report.against == against > 0
    ids = [f.invariant.id for f in report.findings]
    assert ids == ["anything", "never-three", "anything-both", "unknown-a-when-a"]
    anything, never_three, anything_both, nothing = report.findings
    assert anything_both.cases == anything_both.premises == both  # both conditions hold
    assert anything_both.holds == (both_undetermined == 0)
    assert (nothing.cases, nothing.premises, nothing.holds) == (0, 0, True)  # compares no fact
    assert (anything.cases, anything.premises, anything.vacuous) == (with_a, 0, True)
    assert never_three.cases == never_three.premises == report.space
