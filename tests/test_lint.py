"""`rules lint`: each semantic check on a small broken file, with the exact line it prints."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import FACTS, KB_ARGS, REPO, RULES, invoke

from mm_advisor.knowledge import lint
from mm_advisor.knowledge.layout import Layout

HEAD = """\
rules:
  - id: {id}
    title: A sample rule
    source:
      section: Flexibility
      quote: Designed for working professionals
    salience: {salience}
    when:
{when}
    then:
      {then}
"""


def rule(
    when: str, then: str = "score: {micromasters: 1}", id: str = "sample", salience: int = 0
) -> str:
    body = HEAD.format(id=id, when=when.rstrip("\n"), then=then, salience=salience)
    return body if id == "sample" else body.split("rules:\n", 1)[1]


def lines(rules, facts, code: str) -> list[str]:
    return [
        f"{p.path}:{p.line}:{p.col}: {p.severity}: {p.message} [{p.code}]"
        for p in lint.lint(Layout.of(rules, facts)).problems
        if p.code == code
    ]


def test_shipped_knowledge_base_is_clean_under_strict():
    result = invoke("rules", "lint", *KB_ARGS, "--strict")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "0 errors, 0 warnings.\n")


def test_contradictory_constraints_on_one_fact(broken_kb):
    kb = broken_kb(
        rule("      - fact: budget\n        is: low\n      - fact: budget\n        is: high")
    )
    assert lines(*kb, "unsatisfiable") == [
        "rules/bad.yaml:2:5: warning: rule 'sample' can never fire: its conditions on budget "
        "contradict each other [unsatisfiable]"
    ]


def test_contradictory_numeric_range(broken_kb):
    kb = broken_kb(
        rule(
            "      - fact: months_available\n        lt: 6\n"
            "      - fact: months_available\n        ge: {background: "
            "micromasters.duration_min_months}"
        )
    )
    assert lines(*kb, "unsatisfiable") == [
        "rules/bad.yaml:2:5: warning: rule 'sample' can never fire: its conditions on "
        "months_available contradict each other [unsatisfiable]"
    ]


def test_a_satisfiable_range_is_not_flagged(broken_kb):
    kb = broken_kb(
        rule(
            "      - fact: months_available\n        gt: 6\n"
            "      - fact: months_available\n        lt: 8"
        )
    )
    assert lines(*kb, "unsatisfiable") == []


def test_derived_and_not_derived(broken_kb):
    kb = broken_kb(
        rule("      - derived: cost_sensitive\n      - not:\n          derived: cost_sensitive")
        + rule("      - fact: budget\n        is: low", "derive: [cost_sensitive]", id="maker")
    )
    assert lines(*kb, "unsatisfiable") == [
        "rules/bad.yaml:2:5: warning: rule 'sample' can never fire: it needs 'cost_sensitive' "
        "both derived and not derived [unsatisfiable]"
    ]


def test_a_derived_fact_no_rule_derives(broken_kb):
    kb = broken_kb(rule("      - derived: cost_sensitive"))
    assert lines(*kb, "underived-fact") == [
        "rules/bad.yaml:9:18: warning: rule 'sample' can never fire: no rule derives "
        "'cost_sensitive' [underived-fact]"
    ]


def test_identical_rules(broken_kb):
    when = "      - fact: budget\n        is: low"
    kb = broken_kb(rule(when) + rule(when, id="copy"))
    assert lines(*kb, "duplicate-rule") == [
        "rules/bad.yaml:13:5: warning: rule 'copy' has the same conditions and conclusion as "
        "'sample' (rules/bad.yaml:2) [duplicate-rule]"
    ]


def test_subsumed_rule(broken_kb):
    wide = "      - fact: budget\n        is: low"
    narrow = wide + "\n      - fact: working_professional\n        is: yes"
    kb = broken_kb(rule(wide) + rule(narrow, id="narrow"))
    assert lines(*kb, "subsumed-rule") == [
        "rules/bad.yaml:13:5: warning: rule 'narrow' is subsumed by 'sample' (rules/bad.yaml:2): "
        "whenever it fires, 'sample' fires too with the same conclusion [subsumed-rule]"
    ]


def test_a_rule_whose_weight_decides_is_not_redundant(broken_kb):
    """The issue's case: equal weights look subsumed, yet deleting the narrow rule turns a
    recommendation into a tie. Lint confirms redundancy over the whole answer space."""
    wide = "      - fact: budget\n        is: low"
    narrow = wide + "\n      - fact: working_professional\n        is: yes"
    rival = rule(wide, "score: {full_masters: 1}", id="rival")
    kb = broken_kb(rule(wide) + rival + rule(narrow, id="narrow"))
    assert lines(*kb, "subsumed-rule") == []
    kb = broken_kb(rule(wide) + rule(narrow, id="narrow"))  # without the rival it changes nothing
    assert len(lines(*kb, "subsumed-rule")) == 1


def test_a_rule_that_decides_on_one_rare_profile_is_proved_not_redundant(broken_kb):
    """Sampled profiles almost never meet eight conditions at once: that the narrow rule decides
    there is found by the sweep over the whole answer space, not by the sample."""
    wide = "      - fact: budget\n        is: low"
    facts = [
        "working_professional", "needs_flexible_schedule", "wants_complete_degree",
        "wants_extensive_coursework", "wants_research_experience", "wants_campus_networking",
        "meets_traditional_admission", "program_offers_credit_pathway",
    ]  # fmt: skip
    narrow = wide + "".join(f"\n      - fact: {f}\n        is: yes" for f in facts)
    rival = rule(wide, "score: {full_masters: 1}", id="rival")
    kb = broken_kb(rule(wide) + rival + rule(narrow, id="narrow"))
    assert lines(*kb, "subsumed-rule") == []
    kb = broken_kb(rule(wide) + rule(narrow, id="narrow"))
    assert len(lines(*kb, "subsumed-rule")) == 1
    # the same with the narrow rule first, so that rules after it shift when it is taken out
    kb = broken_kb(rule(narrow) + rule(wide, id="wide") + rival)
    assert lines(*kb, "subsumed-rule") == []
    high = "      - fact: budget\n        is: high"
    other = rule(high, "score: {full_masters: 1}", id="other")
    kb = broken_kb(rule(wide) + rule(narrow, id="narrow") + other)
    assert [line.split(": ", 2)[2] for line in lines(*kb, "subsumed-rule")] == [
        "rule 'narrow' is subsumed by 'sample' (rules/bad.yaml:2): whenever it fires, 'sample' "
        "fires too with the same conclusion [subsumed-rule]"
    ]  # in the middle: the rules after it move down one place when it is taken out
    kb = broken_kb(rule(narrow) + rule(wide, id="wide") + rule(high, id="other"))
    assert [line.split(": ", 2)[2] for line in lines(*kb, "subsumed-rule")] == [
        "rule 'sample' is subsumed by 'wide' (rules/bad.yaml:29): whenever it fires, 'wide' "
        "fires too with the same conclusion [subsumed-rule]"
    ]


def test_where_the_answer_space_is_too_large_a_redundant_rule_says_it_was_only_sampled(
    broken_kb, monkeypatch
):
    """A large rule base keeps too many profiles apart for the proof in a lint's time: the rule
    that no sampled profile needs is still reported, saying that it was not proved; a rule that
    a sampled profile needs is not. (Lint on a synthetic 500-rule base waited for ever here.)"""
    monkeypatch.setattr(lint, "_PROOF_STATES", 1)
    wide = "      - fact: budget\n        is: low"
    narrow = wide + "\n      - fact: working_professional\n        is: yes"
    kb = broken_kb(rule(wide) + rule(narrow, id="narrow"))
    assert [line.split(": ", 2)[2] for line in lines(*kb, "subsumed-rule")] == [
        "rule 'narrow' is subsumed by 'sample' (rules/bad.yaml:2): whenever it fires, 'sample' "
        "fires too with the same conclusion (removing it changed no recommendation on 256 "
        "sampled profiles; the whole answer space is too large to prove it) [subsumed-rule]"
    ]
    rival = rule(wide, "score: {full_masters: 1}", id="rival")
    assert lines(*broken_kb(rule(wide) + rival + rule(narrow, id="narrow")), "subsumed-rule") == []


def test_different_conclusions_are_not_redundant(broken_kb):
    wide = "      - fact: budget\n        is: low"
    narrow = wide + "\n      - fact: working_professional\n        is: yes"
    kb = broken_kb(rule(wide) + rule(narrow, "score: {micromasters: 2}", id="narrow"))
    assert lines(*kb, "subsumed-rule") == []


def test_a_question_no_rule_uses(broken_kb):
    kb = broken_kb(rule("      - fact: budget\n        is: low"))
    found = lines(*kb, "unused-fact")
    assert found[0] == (
        "facts/questions.yaml:5:5: warning: fact 'wants_career_acceleration' is "
        "asked but no rule uses it [unused-fact]"
    )
    assert len(found) == 14 and not any("'budget'" in line for line in found)


def test_derived_facts_never_tested(broken_kb):
    kb = broken_kb(rule("      - fact: budget\n        is: low", "derive: [cost_sensitive]"))
    found = lines(*kb, "unused-derived")
    assert found[0] == (
        "facts/questions.yaml:99:5: warning: derived fact 'cost_sensitive' is "
        "never tested by any rule [unused-derived]"
    )
    assert found[1] == (
        "facts/questions.yaml:101:5: warning: derived fact 'needs_flexibility' is "
        "never derived or tested by any rule [unused-derived]"
    )


def test_an_option_no_rule_can_reach(broken_kb):
    kb = broken_kb(rule("      - fact: budget\n        is: low"))
    assert lines(*kb, "unreachable-option") == [
        "facts/background.yaml:32:3: warning: no rule can recommend 'full_masters': none "
        "concludes it or gives it a positive score [unreachable-option]",
        "facts/background.yaml:35:3: warning: no rule can recommend 'micromasters_pathway': none "
        "concludes it or gives it a positive score [unreachable-option]",
    ]


def test_a_cycle_of_derived_facts(broken_kb):
    kb = broken_kb(
        rule("      - derived: cost_sensitive", "derive: [needs_flexibility]")
        + rule("      - derived: needs_flexibility", "derive: [cost_sensitive]", id="back")
    )
    assert lines(*kb, "derived-cycle") == [
        "rules/bad.yaml:12:5: warning: derived facts form a cycle: cost_sensitive -> "
        "needs_flexibility -> cost_sensitive; no rule in it can fire first [derived-cycle]"
    ]


DERIVED = [
    "cost_sensitive",
    "credit_stacks_into_degree",
    "full_degree_exceeds_time",
    "full_degree_goal",
    "micromasters_goal",
    "needs_flexibility",
]


def test_facts_that_all_depend_on_each_other_are_one_warning(broken_kb):
    """Regression: every simple cycle was enumerated and reported (409 warnings for these six
    facts, and exponential time as they grow); now one per group, naming its shortest cycle."""
    text = "".join(
        rule(f"      - derived: {a}", f"derive: [{b}]", id=f"r{i}-{j}")
        for i, a in enumerate(DERIVED)
        for j, b in enumerate(DERIVED)
        if a != b
    )
    kb = broken_kb(rule("      - fact: budget\n        is: low") + text)
    assert [line.split(": ", 2)[2] for line in lines(*kb, "derived-cycle")] == [
        "derived facts form a cycle: cost_sensitive -> credit_stacks_into_degree -> "
        "cost_sensitive; no rule in it can fire first [derived-cycle]"
    ]


def test_a_negation_that_may_run_before_its_fact_is_derived(broken_kb):
    kb = broken_kb(
        rule(
            "      - fact: budget\n        is: low\n      - not:\n          derived: "
            "cost_sensitive",
            salience=20,
        )
        + rule(
            "      - fact: budget\n        is: low",
            "derive: [cost_sensitive]",
            id="maker",
            salience=10,
        )
    )
    assert lines(*kb, "negation-order") == [
        "rules/bad.yaml:12:20: warning: rule 'sample' tests that 'cost_sensitive' is not "
        "derived, but 'maker', which derives it, has salience 10, not above 20: 'sample' may "
        "fire before it [negation-order]"
    ]


def test_errors_stop_the_semantic_checks(broken_kb):
    kb = broken_kb(rule("      - fact: budjet\n        is: low"))
    assert [p.code for p in lint.lint(Layout.of(*kb)).problems] == ["unknown-fact"]


def test_warnings_exit_0_unless_strict(broken_kb):
    rules, facts = broken_kb(rule("      - fact: budget\n        is: low"))
    args = ["rules", "lint", "--rules", str(rules), "--facts", str(facts)]
    assert invoke(*args).exit_code == 0
    strict = invoke(*args, "--strict")
    assert strict.exit_code == 1
    assert strict.stderr == "0 errors, 22 warnings.\n"


def test_github_and_json_formats(broken_kb):
    rules, facts = broken_kb(rule("      - fact: budjet\n        is: low"))
    args = ["rules", "lint", "--rules", str(rules), "--facts", str(facts)]
    github = invoke(*args, "--format", "github")
    assert github.stdout == (
        "::error file=rules/bad.yaml,line=9,col=15,title=unknown-fact::"
        "unknown fact 'budjet' (did you mean 'budget'?)\n"
    )
    as_json = json.loads(invoke(*args, "--format", "json").stdout)
    assert as_json == [
        {
            "path": "rules/bad.yaml",
            "line": 9,
            "column": 15,
            "severity": "error",
            "code": "unknown-fact",
            "message": "unknown fact 'budjet' (did you mean 'budget'?)",
        }
    ]


def test_every_check_is_listed_with_a_docstring():
    assert all(check.__doc__ for _, check in lint.CHECKS)
    codes = {code.strip() for names, _ in lint.CHECKS for code in names.split(",")}
    assert codes == {
        "unsatisfiable",
        "underived-fact",
        "duplicate-rule",
        "subsumed-rule",
        "unused-fact",
        "unused-derived",
        "unreachable-option",
        "derived-cycle",
        "negation-order",
    }


@pytest.mark.parametrize("kb_dir", [RULES])
def test_lint_on_the_repository_rules_has_no_problem(kb_dir):
    assert lint.lint(Layout.of(kb_dir, FACTS)).problems == []


def test_one_mistake_one_message_an_indentation_slip_in_the_questions(kb_copy, monkeypatch):
    rules, facts = kb_copy
    questions = facts / "questions.yaml"
    questions.write_text(
        questions.read_text().replace(
            "  - name: skill_in_high_demand\n    type: yesno",
            "  - name: skill_in_high_demand\n   type: yesno",
        )
    )
    monkeypatch.chdir(facts.parent)
    result = invoke("rules", "lint", "--rules", "rules", "--facts", "facts")
    assert (result.exit_code, result.stdout) == (
        1,
        "facts/questions.yaml:12:4: error: invalid YAML: expected <block end>, but found "
        "'<block mapping start>' (check this line's indentation against the lines above it) "
        "[syntax]\n",
    )


def test_an_unquoted_colon_gets_a_hint(kb_copy, monkeypatch):
    rules, facts = kb_copy
    questions = facts / "questions.yaml"
    questions.write_text(
        questions.read_text().replace(
            "question: Is the skill area you are targeting in high demand?",
            "question: Is the skill area: in high demand?",
        )
    )
    monkeypatch.chdir(facts.parent)
    out = invoke("rules", "lint", "--rules", "rules", "--facts", "facts").stdout
    assert out == (
        "facts/questions.yaml:13:32: error: invalid YAML: mapping values are not allowed here (a "
        "value that contains ': ' must be quoted, or this line is indented too far) [syntax]\n"
    )


def test_lint_reads_scenarios_and_profiles_too(kb_copy, monkeypatch):
    rules, facts = kb_copy
    scenario = facts / "scenarios" / "1-smart-investment.yaml"
    scenario.write_text(
        scenario.read_text().replace(
            "fires: [career-acceleration]", "fires: [career-acceleraton]", 1
        )
    )
    (facts / "profiles" / "zz-bad.yaml").write_text("budget: lots\nmonths_avaliable: 3\n")
    monkeypatch.chdir(facts.parent)
    result = invoke("rules", "lint", "--rules", "rules", "--facts", "facts")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "facts/profiles/zz-bad.yaml:1:9: error: fact 'budget': 'lots' is not one of low, medium, "
        "high [type-mismatch]",
        "facts/profiles/zz-bad.yaml:2:1: error: unknown fact 'months_avaliable' (did you mean "
        "'months_available'?) [unknown-fact]",
        "facts/scenarios/1-smart-investment.yaml:10:15: error: unknown rule 'career-acceleraton' "
        "(did you mean 'career-acceleration'?) [unknown-rule]",
    ]


UNUSED = "      - fact: budget\n        is: low"


def test_a_warning_can_be_silenced_where_it_is_intended(broken_kb):
    rules, facts = broken_kb(rule(UNUSED))
    questions = facts / "questions.yaml"
    questions.write_text(
        questions.read_text().replace(
            "  - name: wants_career_acceleration\n",
            "  # mm-advisor: ignore[unused-fact]  (asked for the record only)\n"
            "  - name: wants_career_acceleration\n",
        )
    )
    args = ["rules", "lint", "--rules", str(rules), "--facts", str(facts)]
    plain = invoke(*args)
    assert "'wants_career_acceleration'" not in plain.stdout
    assert plain.stderr == "0 errors, 21 warnings, 1 ignored.\n"
    shown = invoke(*args, "--show-ignored").stdout
    assert (
        "facts/questions.yaml:6:5: warning: fact 'wants_career_acceleration' is asked but no rule "
        "uses it [unused-fact] (ignored)\n"
    ) in shown
    data = json.loads(invoke(*args, "--show-ignored", "--format", "json").stdout)
    assert [d["code"] for d in data if d.get("ignored")] == ["unused-fact"]


def test_the_marker_file_silences_a_warning_everywhere(broken_kb, tmp_path):
    rules, facts = broken_kb(rule(UNUSED))
    (tmp_path / "mm-advisor.toml").write_text(
        '[knowledge-base]\nrules = "rules"\nfacts = "facts"\n\n[lint]\nignore = ["unused-fact"]\n'
    )
    shutil.copytree(REPO / "sources", tmp_path / "sources")
    result = invoke("rules", "lint", "--strict")
    assert result.exit_code == 1  # the other warnings still count
    assert "[unused-fact]" not in result.stdout
    assert result.stderr == "0 errors, 8 warnings, 14 ignored.\n"
    errors_stay = invoke("rules", "lint", "--show-ignored").stdout
    assert errors_stay.count("(ignored)") == 14
