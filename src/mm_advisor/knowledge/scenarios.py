"""Scenario files: answers with what must follow from them, for `mm-advisor rules test`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import KnowledgeBaseError, Problem, did_you_mean
from .answers import from_node
from .layout import display_path, not_linked
from .rulebase import RuleBase
from .schema import UNDETERMINED
from .yamlsrc import Mark, Node, check_keys, expect, load_file, text


@dataclass(frozen=True)
class Scenario:
    name: str
    answers: dict[str, Any]
    recommendation: str | None
    fires: tuple[str, ...]
    not_fires: tuple[str, ...]
    mark: Mark
    ruled_out: tuple[str, ...] | None = None  # exactly the options ruled out; None: not checked

    @property
    def where(self) -> str:
        return f"{self.mark.path}:{self.mark.line}"


def default_files(folder: Path) -> list[Path]:
    """The scenario files of a knowledge base's scenarios folder (none may be a link)."""
    found, linked = not_linked(sorted(folder.glob("*.yaml")) if folder.is_dir() else [])
    if linked:
        raise KnowledgeBaseError(linked)
    return found


def load(paths: list[Path], rb: RuleBase) -> list[Scenario]:
    """Parse scenario files; KnowledgeBaseError lists every problem."""
    scenarios, problems = check(paths, rb)
    if problems:
        raise KnowledgeBaseError(problems)
    return scenarios


def check(paths: list[Path], rb: RuleBase) -> tuple[list[Scenario], list[Problem]]:
    """Parse scenario files, checking facts, values, rule ids and options against `rb`; return
    the scenarios that parse and every problem found (for lint)."""
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
    return scenarios, sorted(problems)


def _scenario(node: Node, rb: RuleBase, problems: list[Problem]) -> Scenario | None:
    if not expect(node, "map", "a scenario", problems):
        return None
    check_keys(
        node, ("name", "answers", "expect"), ("name", "answers", "expect"), "a scenario", problems
    )
    name = text(node.value.get("name"), "'name'", problems)
    given = node.value.get("answers")
    answers = (
        from_node(given, rb.schema, problems)
        if given is not None and expect(given, "map", "'answers'", problems)
        else None
    )
    expected = node.value.get("expect")
    if expected is None or not expect(expected, "map", "'expect'", problems):
        return None
    check_keys(
        expected, ("recommendation", "fires", "not_fires", "ruled_out"), (), "'expect'", problems
    )
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
    ruled_out = _options(expected.value.get("ruled_out"), rb, problems)
    if None in (name, answers, fires, not_fires) or ruled_out is False:
        return None
    return Scenario(name, answers, recommendation, fires, not_fires, node.mark, ruled_out)


def _options(node: Node | None, rb: RuleBase, problems: list[Problem]) -> tuple | None | bool:
    """The options a scenario expects ruled out; None when it says nothing, False when wrong."""
    if node is None:
        return None
    if not expect(node, "seq", "a list of options", problems):
        return False
    options = list(rb.schema.options)
    for item in node.value:
        if item.kind != "scalar":
            problems.append(item.mark.problem(f"expected an option, not {item.describe()}"))
            return False
        if item.value not in options:
            problems.append(
                item.mark.problem(
                    f"unknown option {item.describe()}{did_you_mean(str(item.value), options)}; "
                    f"expected one of: {', '.join(options)}",
                    "unknown-option",
                )
            )
            return False
    return tuple(item.value for item in node.value)


def _rule_ids(node: Node | None, rb: RuleBase, problems: list[Problem]) -> tuple[str, ...] | None:
    if node is None:
        return ()
    if not expect(node, "seq", "a list of rule ids", problems):
        return None
    ids = {rule.id for rule in rb.rules}
    found = []
    for item in node.value:
        if item.kind != "scalar":
            problems.append(item.mark.problem(f"expected a rule id, not {item.describe()}"))
            return None
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
