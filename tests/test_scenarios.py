"""Scenario tests, coverage, the rule graph and the JSON Schemas of the files advisors edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FACTS, KB_ARGS, REPO_KB, invoke

from mm_advisor.knowledge import rulebase, scenarios
from mm_advisor.reasoning import testing

KB = rulebase.load(REPO_KB)
SHIPPED = scenarios.load(scenarios.default_files(FACTS / "scenarios"), KB)


@pytest.mark.parametrize("scenario", SHIPPED, ids=[s.name for s in SHIPPED])
def test_shipped_scenario(advisor, scenario):
    [outcome], _ = testing.run([scenario], advisor)
    assert outcome.differences == []


def test_shipped_scenarios_cover_every_rule_and_condition(advisor):
    _, coverage = testing.run(SHIPPED, advisor)
    assert coverage.rule_percent == 100.0
    assert coverage.condition_percent == 100.0
    recommendations = {s.recommendation for s in SHIPPED}
    assert recommendations >= {
        "micromasters",
        "full_masters",
        "micromasters_pathway",
        "undetermined",
    }


def test_rules_test_command_reports_pass_and_coverage():
    result = invoke("rules", "test", *KB_ARGS, "--min-coverage", "100")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    where = rulebase.display_path(FACTS / "scenarios" / "1-smart-investment.yaml")
    assert lines[0] == f"PASS  Career acceleration in a high-demand area  ({where}:4)"
    assert lines[-3:] == [
        f"{len(SHIPPED)} scenarios: {len(SHIPPED)} passed, 0 failed.",
        "Rule coverage: 30/30 rules fired (100.0%)",
        "Condition coverage: 39/39 conditions seen both true and false (100.0%)",
    ]


FAILING = """\
scenarios:
  - name: Wrong on purpose
    answers:
      wants_career_acceleration: yes
      skill_in_high_demand: no
      wants_research_experience: yes
    expect:
      recommendation: micromasters
      fires: [career-acceleration]
      not_fires: [research-opportunities]
"""


def test_a_scenario_pins_the_options_ruled_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(
        "scenarios:\n  - name: by elimination\n    answers: {wants_complete_degree: yes}\n"
        "    expect: {ruled_out: [micromasters, micromasters_pathway]}\n"
    )
    result = invoke("rules", "test", *KB_ARGS, "s.yaml")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "FAIL  by elimination  (s.yaml:2)",
        "      ruled out: expected micromasters, micromasters_pathway, got micromasters",
    ]


def test_a_failing_scenario_shows_what_differed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(FAILING)
    result = invoke("rules", "test", *KB_ARGS, "s.yaml")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:5] == [
        "FAIL  Wrong on purpose  (s.yaml:2)",
        "      recommendation: expected micromasters, got full_masters",
        "      missing firing: career-acceleration: stopped by condition 2, skill_in_high_demand "
        "is yes: false (skill_in_high_demand was no)",
        "      unexpected firing: research-opportunities (step 1)",
        "",
    ]
    assert (
        "Rules fired by no scenario:\n  cost-sensitive-by-goal (rules/1-derived.yaml:5)\n"
        in result.stdout
    )


def test_low_coverage_fails_with_min_coverage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(
        "scenarios:\n  - name: one\n    answers: {budget: low}\n"
        "    expect: {recommendation: undetermined}\n"
    )
    assert invoke("rules", "test", *KB_ARGS, "s.yaml").exit_code == 0
    low = invoke("rules", "test", *KB_ARGS, "s.yaml", "--min-coverage", "50")
    assert low.exit_code == 1
    assert low.stderr == "Rule coverage 3.3% is below --min-coverage 50.\n"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "scenarios:\n  - name: x\n    answers: {budjet: low}\n    expect: {}\n",
            "Error: s.yaml:3:15: unknown fact 'budjet' (did you mean 'budget'?)",
        ),
        (
            "scenarios:\n  - name: x\n    answers: {budget: lots}\n    expect: {}\n",
            "Error: s.yaml:3:23: fact 'budget': 'lots' is not one of low, medium, high",
        ),
        (
            "scenarios:\n  - name: x\n    answers: {}\n    expect: {fires: [career-acceleraton]}\n",
            "Error: s.yaml:4:22: unknown rule 'career-acceleraton' (did you mean 'career-acceleration'?)",
        ),
        (
            "scenarios:\n  - name: x\n    answers: {}\n    expect: {recommendation: masters}\n",
            "Error: s.yaml:4:30: unknown recommendation 'masters' (did you mean 'micromasters'?); "
            "expected one of: micromasters, full_masters, micromasters_pathway, undetermined",
        ),
        (
            "scenarios:\n  - name: x\n    answers: {}\n    expect: {ruled_out: [undetermined]}\n",
            "Error: s.yaml:4:26: unknown option 'undetermined'; expected one of: micromasters, "
            "full_masters, micromasters_pathway",
        ),
        (
            "scenarios:\n  - name: x\n    answers: {}\n    expect: {ruled_out: micromasters}\n",
            "Error: s.yaml:4:25: a list of options must be a list, not 'micromasters'",
        ),
    ],
)
def test_bad_scenario_files_are_one_line_and_exit_2(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(text)
    result = invoke("rules", "test", *KB_ARGS, "s.yaml")
    assert (result.exit_code, result.stderr) == (2, message + "\n")


def test_rules_show():
    result = invoke("rules", "show", *KB_ARGS, "credit-stacks")
    assert result.stdout == (
        "credit-stacks: The MicroMasters' credit counts toward the master's degree you aim for\n"
        "  at rules/1-derived.yaml:70, salience 30\n"
        '  cites "Are MicroMasters Worth It?" (article), Stackable Credentials: "successful '
        "completion can earn you credits toward a full master's degree\"\n"
        "  when:\n"
        "    1. program_offers_credit_pathway is yes\n"
        "    2. full_degree_goal has been derived\n"
        "  then:\n"
        "    derive credit_stacks_into_degree\n"
        "  reads facts: program_offers_credit_pathway\n"
        "  reads derived facts: full_degree_goal (from degree-goal, degree-required)\n"
        "  rules that depend on it: cost-reduction-credit (via credit_stacks_into_degree), "
        "stackable-credentials (via credit_stacks_into_degree), stepping-stone "
        "(via credit_stacks_into_degree)\n"
    )
    rule_out = invoke("rules", "show", *KB_ARGS, "credential-row-degree").stdout
    assert "  then:\n    rule out micromasters\n" in rule_out
    missing = invoke("rules", "show", *KB_ARGS, "credit-stack")
    assert (missing.exit_code, missing.stderr) == (
        2,
        "Error: no rule 'credit-stack' (did you mean 'credit-stacks'?)\n",
    )


def test_rules_graph_mermaid_and_dot():
    mermaid = invoke("rules", "graph", *KB_ARGS).stdout.splitlines()
    assert mermaid[0] == "flowchart LR"
    assert "  f_budget --> r_cost_row_budget" in mermaid
    assert '  d_cost_sensitive -- "not" --> r_cost_row_budget' in mermaid
    assert "  r_cost_sensitive_by_goal --> d_cost_sensitive" in mermaid
    assert '  r_career_acceleration -- "+3" --> o_micromasters' in mermaid
    assert '  r_credential_row_degree -- "rules out" --> o_micromasters' in mermaid
    assert "  d_full_degree_goal --> r_credit_stacks" in mermaid
    dot = invoke("rules", "graph", *KB_ARGS, "--format", "dot").stdout
    assert dot.startswith("digraph rulebase {\n  rankdir=LR;\n") and dot.endswith("}\n")
    assert '  r_career_acceleration -> o_micromasters [label="+3"];\n' in dot


def test_every_problem_of_a_scenario_file_is_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(
        "scenarios:\n"
        "  - name: one\n    answers: {budjet: low}\n    expect: {}\n"
        "  - name: two\n    answers: {}\n    expect: {fires: [career-acceleraton]}\n"
    )
    result = invoke("rules", "test", *KB_ARGS, "s.yaml")
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        [
            "Error: s.yaml:3:15: unknown fact 'budjet' (did you mean 'budget'?)",
            "Error: s.yaml:7:22: unknown rule 'career-acceleraton' (did you mean "
            "'career-acceleration'?)",
        ],
    )
    assert "rules lint" not in result.stderr


def test_junit_for_ci_systems(tmp_path, monkeypatch):
    from xml.etree import ElementTree as ET

    monkeypatch.chdir(tmp_path)
    # a control character, by YAML's own escape, and markup: both must come out as text
    Path("s.yaml").write_text(FAILING.replace("Wrong on purpose", '"Wrong \\aon <purpose>"'))
    result = invoke("rules", "test", *KB_ARGS, "s.yaml", "--junit", "r.xml")
    assert result.exit_code == 1
    suite = ET.parse("r.xml").getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "1", "1")
    case = suite.find("testcase")
    assert (case.get("classname"), case.get("name")) == ("s.yaml", "Wrong \\x07on <purpose>")
    failure = case.find("failure")
    assert failure.get("message") == "recommendation: expected micromasters, got full_masters"
    assert "unexpected firing: research-opportunities (step 1)" in failure.text
