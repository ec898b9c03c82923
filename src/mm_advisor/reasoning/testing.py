"""Run scenario tests: what differed for each failure, and which rules and conditions the
scenarios exercised (coverage).

A scenario suite is a bulk job: each scenario runs on the fast evaluator (certified equal to the
engine), and only a failing scenario that expected a firing is consulted in full, to say which
condition stopped the rule. A suite of 100 scenarios on 2,000 rules takes seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..explanation.render import stopped
from ..knowledge.conditions import describe, evaluate
from ..knowledge.rulebase import RuleBase
from ..knowledge.scenarios import Scenario
from .advisor import Advisor
from .evaluator import Outcome as Run


@dataclass
class Outcome:
    scenario: Scenario
    run: Run
    differences: list[str]

    @property
    def passed(self) -> bool:
        return not self.differences


@dataclass
class Coverage:
    rules: dict[str, bool] = field(default_factory=dict)  # rule id -> fired in some scenario
    conditions: dict[tuple[str, int], set] = field(default_factory=dict)  # -> values seen

    @property
    def rule_percent(self) -> float:
        return 100.0 * sum(self.rules.values()) / len(self.rules) if self.rules else 100.0

    def both_ways(self) -> int:
        return sum(True in seen and False in seen for seen in self.conditions.values())

    @property
    def condition_percent(self) -> float:
        total = len(self.conditions)
        return 100.0 * self.both_ways() / total if total else 100.0


def run(scenarios: list[Scenario], advisor: Advisor) -> tuple[list[Outcome], Coverage]:
    """Run every scenario; collect differences and which rules and conditions were exercised."""
    rb = advisor.rulebase
    coverage = Coverage(
        rules={rule.id: False for rule in rb.rules},
        conditions={(rule.id, i): set() for rule in rb.rules for i in range(len(rule.when))},
    )
    outcomes = []
    for scenario in scenarios:
        answers = {name: scenario.answers.get(name) for name in rb.schema.facts}
        run = advisor.fast.outcome(answers)
        fired = {rule.id for rule in run.fired}
        derived = set(run.derived)
        for rule in rb.rules:
            coverage.rules[rule.id] |= rule.id in fired
            for i, cond in enumerate(rule.when):
                coverage.conditions[(rule.id, i)].add(
                    evaluate(cond, answers, derived, rb.schema.background)
                )
        outcomes.append(Outcome(scenario, run, differences(scenario, run, advisor)))
    return outcomes, coverage


def differences(scenario: Scenario, run: Run, advisor: Advisor | None = None) -> list[str]:
    """What `run` did otherwise than `scenario` expects; with an `advisor`, a missing firing also
    says which condition stopped the rule (that takes a full consultation)."""
    lines = []
    if scenario.recommendation and scenario.recommendation != run.recommendation:
        lines.append(
            f"recommendation: expected {scenario.recommendation}, got {run.recommendation}"
        )
    ruled_out = run.decision.ruled_out
    if scenario.ruled_out is not None and set(scenario.ruled_out) != set(ruled_out):
        expected = ", ".join(scenario.ruled_out) or "none"
        lines.append(f"ruled out: expected {expected}, got {', '.join(ruled_out) or 'none'}")
    step = {rule.id: seq for seq, rule in enumerate(run.fired, 1)}
    missing = [rule_id for rule_id in scenario.fires if rule_id not in step]
    if missing and advisor is None:
        lines += [f"missing firing: {rule_id}" for rule_id in missing]
    elif missing:
        blocked = {b.rule.id: b for b in advisor.consult(scenario.answers).blocked}
        for rule_id in missing:
            lines.append(f"missing firing: {rule_id}: {stopped(blocked[rule_id].record())}")
    for rule_id in scenario.not_fires:
        if rule_id in step:
            lines.append(f"unexpected firing: {rule_id} (step {step[rule_id]})")
    return lines


def uncovered_conditions(coverage: Coverage, rb: RuleBase) -> list[str]:
    """The conditions never seen both true and false, with what was seen."""
    lines = []
    words = {True: "true", False: "false", None: "unknown"}
    for rule in rb.rules:
        for i, cond in enumerate(rule.when):
            seen = coverage.conditions[(rule.id, i)]
            if not (True in seen and False in seen):
                shown = ", ".join(words[v] for v in (True, False, None) if v in seen) or "never"
                lines.append(
                    f"{rule.id} #{i + 1} ({rule.location}): "
                    f"{describe(cond, rb.schema)}: seen {shown}"
                )
    return lines


def junit(outcomes: list[Outcome]) -> str:
    """The outcomes as JUnit XML: one test suite, one test case per scenario."""
    from xml.etree import ElementTree as ET

    failed = sum(not o.passed for o in outcomes)
    suite = ET.Element(
        "testsuite",
        name="mm-advisor scenarios",
        tests=str(len(outcomes)),
        failures=str(failed),
        errors="0",
    )
    for outcome in outcomes:
        scenario = outcome.scenario
        case = ET.SubElement(
            suite, "testcase", classname=scenario.mark.path, name=_xml_text(scenario.name)
        )
        if not outcome.passed:
            failure = ET.SubElement(case, "failure", message=_xml_text(outcome.differences[0]))
            failure.text = _xml_text("\n".join(outcome.differences))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _xml_text(text: str) -> str:
    """Text XML can hold: characters XML 1.0 forbids (most control characters) made visible."""
    return "".join(
        ch
        if ch in "\t\n\r"
        or (" " <= ch <= "\ud7ff")
        or ("\ue000" <= ch <= "\ufffd")
        or "\U00010000" <= ch
        else f"\\x{ord(ch):02x}"
        for ch in text
    )
