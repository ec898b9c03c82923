"""Answers from files, --set options and prompts: parsed against the schema, each with its origin."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..errors import AnswerError, KnowledgeBaseError, Problem, did_you_mean
from ..files import read_stdin, shown, write_atomic
from .layout import display_path
from .schema import Schema
from .yamlsrc import Node, load_file, load_text

PROMPT, FILE, SET, DEFAULT = "prompt", "answers-file", "set", "default"


@dataclass
class Answers:
    """Typed answers (None when unknown) and where each came from, in schema order when complete."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def give(self, name: str, value: Any, origin: str) -> None:
        self.values[name] = value
        self.origins[name] = origin

    def forget(self, name: str) -> None:
        """Take back the answer to `name` (it is open again)."""
        del self.values[name], self.origins[name]

    def completed(self, schema: Schema) -> "Answers":
        """Every fact of the schema, in its order; those never given are unknown by default."""
        done = Answers()
        for name in schema.facts:
            if name in self.values:
                done.give(name, self.values[name], self.origins[name])
            else:
                done.give(name, None, DEFAULT)
        return done


def unknown_fact(name: Any, schema: Schema) -> str:
    return f"unknown fact '{name}'{did_you_mean(str(name), schema.facts)}"


def from_node(root: Node, schema: Schema, problems: list[Problem]) -> dict[str, Any] | None:
    """The answers in a mapping node (fact name -> parsed value), or None after recording, with
    its position, every problem found."""
    if root.kind != "map":
        problems.append(
            root.mark.problem(
                f"an answers file is a mapping from fact name to answer, not {root.describe()}",
                "type-mismatch",
            )
        )
        return None
    answers: dict[str, Any] = {}
    ok = True
    for name, node in root.value.items():
        if name not in schema.facts:
            problems.append(
                root.key_marks[name].problem(unknown_fact(name, schema), "unknown-fact")
            )
            ok = False
            continue
        try:
            answers[name] = schema.facts[name].parse(node.plain())
        except ValueError as exc:
            problems.append(node.mark.problem(f"fact '{name}': {exc}", "type-mismatch"))
            ok = False
    return answers if ok else None


def check_file(path: Path, schema: Schema) -> list[Problem]:
    """Every problem of an answers file (for lint, on the knowledge base's profiles)."""
    problems: list[Problem] = []
    try:
        root = load_file(str(path), display_path(path))
    except KnowledgeBaseError as exc:
        return list(exc.problems)
    if root is not None:
        from_node(root, schema, problems)
    return problems


def read_file(path: str, schema: Schema, into: Answers | None = None) -> Answers:
    """Answers from a YAML or JSON mapping file ('-' reads standard input)."""
    answers = into or Answers()
    display = shown(path)
    try:
        root = load_text(read_stdin(), display) if path == "-" else load_file(path, path)
    except KnowledgeBaseError as exc:
        raise AnswerError(str(exc.problems[0])) from None
    if root is None:
        return answers
    problems: list[Problem] = []
    found = from_node(root, schema, problems)
    if found is None:
        raise AnswerError(str(problems[0]))
    for name, value in found.items():
        answers.give(name, value, FILE)
    return answers


def parse_set(items: tuple[str, ...], schema: Schema, into: Answers | None = None) -> Answers:
    """Answers from repeated `--set NAME=VALUE` options."""
    answers = into or Answers()
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep:
            raise AnswerError(f"--set '{item}': expected NAME=VALUE")
        if name not in schema.facts:
            raise AnswerError(f"--set {item}: {unknown_fact(name, schema)}")
        try:
            answers.give(name, schema.facts[name].parse(raw), SET)
        except ValueError as exc:
            raise AnswerError(f"--set {item}: fact '{name}': {exc}") from None
    return answers


def set_options(values: Mapping[str, Any], schema: Schema) -> str:
    """Answers as the `--set NAME=VALUE` options `parse_set` reads back (each value as its fact
    renders it: a yes/no as yes or no, a number as itself)."""
    return " ".join(f"--set {name}={schema.facts[name].render(v)}" for name, v in values.items())


def save(path: str, answers: Answers) -> None:
    """Write the answers given as a YAML answers file, atomically, to resume with --answers."""
    data = {name: "unknown" if value is None else value for name, value in answers.values.items()}
    write_atomic(path, yaml.safe_dump(data, sort_keys=False))


def parse_recorded(recorded: Mapping[str, Any], schema: Schema) -> Answers:
    """Answers recorded in a trace: {name: {"value": v, "origin": o}}, re-checked against `schema`."""
    answers = Answers()
    for name, entry in recorded.items():
        if name not in schema.facts:
            raise AnswerError(f"the trace answers {unknown_fact(name, schema)}")
        if not isinstance(entry, dict) or "value" not in entry:
            raise AnswerError(f"the trace's answer to '{name}' has no value")
        try:
            answers.give(name, schema.facts[name].parse(entry["value"]), entry.get("origin", FILE))
        except ValueError as exc:
            raise AnswerError(f"the trace's answer to '{name}': {exc}") from None
    return answers
