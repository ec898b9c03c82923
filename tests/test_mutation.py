"""`rules mutate`: mutation testing of a knowledge base by its own scenarios and invariants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import KB_ARGS, invoke

from mm_advisor.reasoning import mutation

RULES = """\
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
      score: {micromasters: 2}
  - id: research
    title: Research favours a full master's
    source:
      section: When a Full Master's Degree Might Be Better
      quote: research opportunities
    salience: 20
    when:
      - fact: wants_research_experience
        is: yes
    then:
      score: {full_masters: 2}
"""

SCENARIO = """\
scenarios:
  - name: A working professional
    answers: {working_professional: yes}
    expect: {recommendation: micromasters}
"""


def small_kb(broken_kb):
    rules, facts = broken_kb(RULES)
    (facts / "scenarios").mkdir()
    (facts / "scenarios" / "s.yaml").write_text(SCENARIO)
    return ("--rules", str(rules), "--facts", str(facts))


@pytest.mark.slow
def test_the_shipped_knowledge_base_kills_every_rule_effect_mutant():
    result = invoke("rules", "mutate", *KB_ARGS, "--kind", "effect", "--min-score", "100")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.endswith(
        "52 mutants: 52 killed (100.0%), 52 by scenarios and 0 by invariants; 0 survived, 0 of "
        "them changing no recommendation.\nBy kind: effect 52/52.\n"
    )


def test_survivors_are_named_where_they_stand_with_the_profile_they_change(broken_kb):
    args = small_kb(broken_kb)
    result = invoke("rules", "mutate", *args, "--kind", "effect", "--kind", "condition")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "rules/bad.yaml:2:5: survived: flexible: condition 1 dropped (working_professional is "
        "yes); no scenario or invariant notices, yet it changes (no answers) from undetermined "
        "to micromasters",
        "rules/bad.yaml:13:5: survived: research: its effect removed; no scenario or invariant "
        "notices, yet it changes --set wants_research_experience=yes from full_masters to "
        "undetermined",
        "rules/bad.yaml:13:5: survived: research: its weights negated; no scenario or invariant "
        "notices, yet it changes --set wants_research_experience=yes from full_masters to "
        "undetermined",
        "rules/bad.yaml:13:5: survived: research: condition 1 negated (wants_research_experience "
        "is yes); no scenario or invariant notices, yet it changes --set "
        "wants_research_experience=yes from full_masters to undetermined",
        "",
        "8 mutants: 4 killed (50.0%), 4 by scenarios and 0 by invariants; 4 survived, 0 of them "
        "changing no recommendation.",
        "By kind: effect 2/4, condition 2/4.",
    ]
    # dropping research's condition makes it fire for the working professional too: a tie
    assert "research: condition 1 dropped" not in result.stdout
    low = invoke("rules", "mutate", *args, "--kind", "effect", "--min-score", "60")
    assert (low.exit_code, low.stderr) == (1, "Mutation score 50.0% is below --min-score 60.\n")


def test_json_and_github_formats(broken_kb):
    args = small_kb(broken_kb)
    data = json.loads(
        invoke("rules", "mutate", *args, "--kind", "effect", "--format", "json").stdout
    )
    assert (data["mutants"], data["killed"], data["score"]) == (4, 2, 50.0)
    survivor = next(r for r in data["results"] if r["killed_by"] is None)
    assert survivor["changes"] == {
        "set": "--set wants_research_experience=yes",
        "answers": {"wants_research_experience": True},
        "from": "full_masters",
        "to": "undetermined",
    }
    killed = next(r for r in data["results"] if r["killed_by"])
    assert killed["killed_by"] == "scenario 'A working professional' (facts/scenarios/s.yaml:2)"
    github = invoke("rules", "mutate", *args, "--kind", "effect", "--format", "github").stdout
    assert github.startswith(
        "::error file=rules/bad.yaml,line=13,col=5,title=surviving mutant::research: its effect "
        "removed;"
    )


def test_a_salience_change_that_changes_no_recommendation_is_equivalent(broken_kb):
    args = small_kb(broken_kb)
    rules = args[1]
    path = Path(rules) / "bad.yaml"
    path.write_text(path.read_text().replace("salience: 20", "salience: 30", 1))
    out = invoke("rules", "mutate", *args, "--kind", "salience").stdout
    assert out.splitlines()[0] == (
        "rules/bad.yaml:2:5: equivalent: flexible: salience 30 moved to 10 (it changes no "
        "recommendation: no advice depends on this)"
    )


def test_a_failing_scenario_stops_mutation_testing_before_it_starts(broken_kb):
    args = small_kb(broken_kb)
    scenario = args[3] + "/scenarios/s.yaml"
    with open(scenario, "w") as fh:
        fh.write(SCENARIO.replace("micromasters", "full_masters"))
    result = invoke("rules", "mutate", *args)
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: scenario 'A working professional' (facts/scenarios/s.yaml:2) fails on the rules "
        "as they are; mutation testing needs passing checks (see `mm-advisor rules test`)\n",
    )


def test_mutants_of_every_kind(kb):
    rule = kb.rule("cost-row-budget")  # a rule with a score and a negated derived fact
    made = [m for m in mutation.mutants(kb) if m.rule is rule]
    assert [m.change for m in made] == [
        "its effect removed",
        "its weights negated",
        "condition 1 dropped (budget is low)",
        "condition 1 negated (budget is low)",
        "condition 2 dropped (cost_sensitive has not been derived)",
        "condition 2 negated (cost_sensitive has not been derived)",
        "salience 20 moved to 40",
    ]
    assert made[1].mutated.score == (("full_masters", 2),)
    assert made[5].mutated.when[1] == rule.when[1].part  # not(not derived) is derived
