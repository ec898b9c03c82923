"""Scenario tests for a knowledge base: answers with expectations, a diff on failure, coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import KnowledgeBaseError, Problem, did_you_mean
from ..explanation.render import stopped
from ..knowledge.conditions import describe, evaluate
from ..knowledge.layout import display_path
from ..knowledge.rulebase import RuleBase
from ..knowledge.schema import UNDETERMINED
from ..knowledge.yamlsrc import Mark, Node, check_keys, expect, load_file, text
from .advisor import Advisor, Result


@dataclass(frozen=True)
class Scenario:
    name: str
    answers: dict[str, Any]
    recommendation: str | None
    fires: tuple[str, ...]
    not_fires: tuple[str, ...]
    mark: Mark

    @property
    def where(self) -> str:
        return f"{self.mark.path}:{self.mark.line}"


@dataclass
class Outcome:
    scenario: Scenario
    result: Result
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


def default_files(folder: Path) -> list[Path]:
    """The scenario files of a knowledge base's scenarios folder."""
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def load(paths: list[Path], rb: RuleBase) -> list[Scenario]:
    """Parse scenario files, checking facts, values, rule ids and options against `rb`."""
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    for path in paths:
        try:
            root = load_file(str(path), display_path(path))
        except KnowledgeBaseError as exc:
            problems.extend(exc.problems)
            continue
        if root is None or not expect(root, "map", "a scenario file", problems):
            continue
        check_keys(root, ("scenarios",), ("scenarios",), "a scenario file", problems)
        items = root.value.get("scenarios")
        if items is not None and expect(items, "seq", "'scenarios'", problems):
            for node in items.value:
                scenario = _scenario(node, rb, problems)
                if scenario is not None:
                    scenarios.append(scenario)
    if problems:
        raise KnowledgeBaseError(problems)
    return scenarios


def _scenario(node: Node, rb: RuleBase, problems: list[Problem]) -> Scenario | None:
    if not expect(node, "map", "a scenario", problems):
        return None
    check_keys(
        node, ("name", "answers", "expect"), ("name", "answers", "expect"), "a scenario", problems
    )
    name = text(node.value.get("name"), "'name'", problems)
    answers = _answers(node.value.get("answers"), rb, problems)
    expected = node.value.get("expect")
    if expected is None or not expect(expected, "map", "'expect'", problems):
        return None
    check_keys(expected, ("recommendation", "fires", "not_fires"), (), "'expect'", problems)
    recommendation = None
    if "recommendation" in expected.value:
        rec_node = expected.value["recommendation"]
        recommendation = rec_node.value
        options = [*rb.schema.options, UNDETERMINED]
        if recommendation not in options:
            problems.append(
                rec_node.mark.problem(
                    f"unknown recommendation {rec_node.describe()}"
                    f"{did_you_mean(str(recommendation), options)}; expected one of: "
                    f"{', '.join(options)}",
                    "unknown-option",
                )
            )
            return None
    fires = _rule_ids(expected.value.get("fires"), rb, problems)
    not_fires = _rule_ids(expected.value.get("not_fires"), rb, problems)
    if None in (name, answers, fires, not_fires):
        return None
    return Scenario(name, answers, recommendation, fires, not_fires, node.mark)


def _answers(node: Node | None, rb: RuleBase, problems: list[Problem]) -> dict[str, Any] | None:
    if node is None or not expect(node, "map", "'answers'", problems):
        return None
    answers = {}
    for name, value in node.value.items():
        if name not in rb.schema.facts:
            problems.append(
                node.key_marks[name].problem(
                    f"unknown fact '{name}'{did_you_mean(name, rb.schema.facts)}", "unknown-fact"
                )
            )
            return None
        try:
            answers[name] = rb.schema.facts[name].parse(value.plain())
        except ValueError as exc:
            problems.append(value.mark.problem(f"fact '{name}': {exc}", "type-mismatch"))
            return None
    return answers


def _rule_ids(node: Node | None, rb: RuleBase, problems: list[Problem]) -> tuple[str, ...] | None:
    if node is None:
        return ()
    if not expect(node, "seq", "a list of rule ids", problems):
        return None
    ids = {rule.id for rule in rb.rules}
    found = []
    for item in node.value:
        if item.value not in ids:
            problems.append(
                item.mark.problem(
                    f"unknown rule {item.describe()}{did_you_mean(str(item.value), ids)}",
                    "unknown-rule",
                )
            )
            return None
        found.append(item.value)
    return tuple(found)


def run(scenarios: list[Scenario], advisor: Advisor) -> tuple[list[Outcome], Coverage]:
    """Run every scenario; collect differences and which rules and conditions were exercised."""
    rb = advisor.rulebase
    coverage = Coverage(
        rules={rule.id: False for rule in rb.rules},
        conditions={(rule.id, i): set() for rule in rb.rules for i in range(len(rule.when))},
    )
    outcomes = []
    for scenario in scenarios:
        result = advisor.consult(scenario.answers)
        fired = {f.rule.id: f for f in result.run.firings}
        derived = set(result.run.derived)
        for rule in rb.rules:
            coverage.rules[rule.id] |= rule.id in fired
            for i, cond in enumerate(rule.when):
                coverage.conditions[(rule.id, i)].add(
                    evaluate(cond, result.answers, derived, rb.schema.background)
                )
        outcomes.append(Outcome(scenario, result, _differences(scenario, result)))
    return outcomes, coverage


def _differences(scenario: Scenario, result: Result) -> list[str]:
    lines = []
    if scenario.recommendation and scenario.recommendation != result.recommendation:
        lines.append(
            f"recommendation: expected {scenario.recommendation}, got {result.recommendation}"
        )
    fired = {f.rule.id: f for f in result.run.firings}
    blocked = {b.rule.id: b for b in result.blocked}
    for rule_id in scenario.fires:
        if rule_id not in fired:
            lines.append(f"missing firing: {rule_id}: {stopped(blocked[rule_id].record())}")
    for rule_id in scenario.not_fires:
        if rule_id in fired:
            lines.append(f"unexpected firing: {rule_id} (step {fired[rule_id].seq})")
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
