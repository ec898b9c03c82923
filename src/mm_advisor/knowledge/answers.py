"""Answers from files, --set options and prompts: parsed against the schema, each with its origin."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from ..errors import AnswerError, KnowledgeBaseError, did_you_mean
from ..files import write_atomic
from .schema import Schema
from .yamlsrc import load_file, load_text

PROMPT, FILE, SET, DEFAULT = "prompt", "answers-file", "set", "default"


@dataclass
class Answers:
    """Typed answers (None when unknown) and where each came from, in schema order when complete."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def give(self, name: str, value: Any, origin: str) -> None:
        self.values[name] = value
        self.origins[name] = origin

    def completed(self, schema: Schema) -> "Answers":
        """Every fact of the schema, in its order; those never given are unknown by default."""
        done = Answers()
        for name in schema.facts:
            if name in self.values:
                done.give(name, self.values[name], self.origins[name])
            else:
                done.give(name, None, DEFAULT)
        return done


def _unknown_fact(name: Any, schema: Schema) -> str:
    return f"unknown fact '{name}'{did_you_mean(str(name), schema.facts)}"


def read_file(path: str, schema: Schema, into: Answers | None = None) -> Answers:
    """Answers from a YAML or JSON mapping file ('-' reads standard input)."""
    answers = into or Answers()
    try:
        if path == "-":
            root = load_text(sys.stdin.read(), "<stdin>")
        else:
            root = load_file(path, path)
    except KnowledgeBaseError as exc:
        raise AnswerError(str(exc.problems[0])) from None
    display = "<stdin>" if path == "-" else path
    if root is None:
        return answers
    if root.kind != "map":
        raise AnswerError(
            f"{display}:{root.mark.line}:{root.mark.col}: an answers file is a "
            f"mapping from fact name to answer, not {root.describe()}"
        )
    for name, node in root.value.items():
        key = root.key_marks[name]
        if name not in schema.facts:
            raise AnswerError(f"{display}:{key.line}:{key.col}: {_unknown_fact(name, schema)}")
        try:
            value = schema.facts[name].parse(node.plain())
        except ValueError as exc:
            raise AnswerError(
                f"{display}:{node.mark.line}:{node.mark.col}: fact '{name}': {exc}"
            ) from None
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
            raise AnswerError(f"--set {item}: {_unknown_fact(name, schema)}")
        try:
            answers.give(name, schema.facts[name].parse(raw), SET)
        except ValueError as exc:
            raise AnswerError(f"--set {item}: fact '{name}': {exc}") from None
    return answers


def save(path: str, answers: Answers) -> None:
    """Write the answers given as a YAML answers file, atomically, to resume with --answers."""
    data = {name: "unknown" if value is None else value for name, value in answers.values.items()}
    write_atomic(path, yaml.safe_dump(data, sort_keys=False))


def parse_recorded(recorded: Mapping[str, Any], schema: Schema) -> Answers:
    """Answers recorded in a trace: {name: {"value": v, "origin": o}}, re-checked against `schema`."""
    answers = Answers()
    for name, entry in recorded.items():
        if name not in schema.facts:
            raise AnswerError(f"the trace answers {_unknown_fact(name, schema)}")
        if not isinstance(entry, dict) or "value" not in entry:
            raise AnswerError(f"the trace's answer to '{name}' has no value")
        try:
            answers.give(name, schema.facts[name].parse(entry["value"]), entry.get("origin", FILE))
        except ValueError as exc:
            raise AnswerError(f"the trace's answer to '{name}': {exc}") from None
    return answers
