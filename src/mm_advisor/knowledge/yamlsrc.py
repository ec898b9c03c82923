"""Read YAML safely into nodes that remember where each key and value stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import KnowledgeBaseError, Problem, did_you_mean


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a file."""

    path: str
    line: int
    col: int

    def problem(self, message: str, code: str = "syntax", severity: str = "error") -> Problem:
        return Problem(self.path, self.line, self.col, message, code, severity)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Node:
    """A YAML value with its position: `value` is a scalar, a dict of Nodes or a list of Nodes."""

    kind: str  # "map", "seq" or "scalar"
    value: Any
    mark: Mark
    key_marks: dict[str, Mark] = field(default_factory=dict)

    def plain(self) -> Any:
        """The value as plain Python data, positions dropped."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value

    def describe(self) -> str:
        return {"map": "a mapping", "seq": "a list"}.get(self.kind, f"{self.value!r}")


# libyaml's parser, when PyYAML was built with it, is the same safe loader at a fraction of the cost.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# What most often causes each of PyYAML's problems, said as what to do about it.
_HINTS = (
    (
        "mapping values are not allowed here",
        "a value that contains ': ' must be quoted, or this line is indented too far",
    ),
    ("cannot start any token", "indent with spaces, not tabs"),
    ("expected <block end>", "check this line's indentation against the lines above it"),
    ("did not find expected key", "check this line's indentation against the lines above it"),
    (
        "did not find expected '-' indicator",
        "check this line's indentation against the lines above it",
    ),
    ("found unexpected end of stream", "a quote or bracket is not closed"),
    ("while scanning a quoted scalar", "a quote is not closed"),
    ("found undefined alias", "'*' starts an alias: quote the value"),
    ("expected alphabetic or numeric character", "'*' and '&' start aliases: quote the value"),
)


def _hint(problem: str) -> str:
    return next((f" ({hint})" for known, hint in _HINTS if known in problem), "")


def load_text(text: str, path: str) -> Node | None:
    """Compose `text` with the safe loader; raise KnowledgeBaseError with a position on any fault."""
    try:
        try:
            root = yaml.compose(text, Loader=_LOADER)
        except yaml.YAMLError:
            # Report with the pure-Python parser's wording, the same on every machine.
            root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = str(exc.problem)
        raise KnowledgeBaseError(
            [
                Problem(
                    path, line, col, f"invalid YAML: {problem}{_hint(f'{problem} {exc.context}')}"
                )
            ]
        ) from exc
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError([Problem(path, 1, 1, f"invalid YAML: {exc}")]) from exc
    if root is None:
        return None
    problems: list[Problem] = []
    node = _convert(root, path, yaml.constructor.SafeConstructor(), problems)
    if problems:
        raise KnowledgeBaseError(problems)
    return node


def load_file(path: str, display: str) -> Node | None:
    """Read and compose the file at `path`, naming it `display` in every message."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise KnowledgeBaseError([Problem(display, 1, 1, "no such file")]) from None
    except IsADirectoryError:
        raise KnowledgeBaseError([Problem(display, 1, 1, "is a directory, not a file")]) from None
    except UnicodeDecodeError as exc:
        raise KnowledgeBaseError(
            [Problem(display, 1, 1, f"not UTF-8 text ({exc.reason})")]
        ) from None
    except OSError as exc:
        raise KnowledgeBaseError([Problem(display, 1, 1, f"cannot read: {exc.strerror}")]) from None
    return load_text(text, display)


def _mark(node: yaml.Node, path: str) -> Mark:
    return Mark(path, node.start_mark.line + 1, node.start_mark.column + 1)


_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
}


def _convert(node: yaml.Node, path: str, constructor, problems: list[Problem]) -> Node:
    mark = _mark(node, path)
    if node.tag not in _PLAIN_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        problems.append(
            mark.problem(f"the tag '{tag}' is not allowed: these files hold plain data")
        )
        return Node("scalar", None, mark)
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Node] = {}
        key_marks: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            key_mark = _mark(key_node, path)
            key = (
                constructor.construct_object(key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str):
                problems.append(key_mark.problem(f"keys must be names, not {key!r}"))
                continue
            if key in items:
                first = key_marks[key]
                problems.append(
                    key_mark.problem(f"duplicate key '{key}' (first at line {first.line})")
                )
                continue
            items[key] = _convert(value_node, path, constructor, problems)
            key_marks[key] = key_mark
        return Node("map", items, mark, key_marks)
    if isinstance(node, yaml.SequenceNode):
        return Node("seq", [_convert(v, path, constructor, problems) for v in node.value], mark)
    return Node("scalar", constructor.construct_object(node), mark)


def expect(node: Node, kind: str, what: str, problems: list[Problem]) -> bool:
    """True when `node` is of `kind`; otherwise record a problem naming `what` it should be."""
    if node.kind == kind:
        return True
    wanted = {"map": "a mapping", "seq": "a list", "scalar": "a single value"}[kind]
    problems.append(node.mark.problem(f"{what} must be {wanted}, not {node.describe()}"))
    return False


def check_keys(
    node: Node,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    what: str,
    problems: list[Problem],
) -> None:
    """Record unknown keys (with a suggestion) and missing required keys of a mapping node."""
    for key, key_mark in node.key_marks.items():
        if key not in allowed:
            problems.append(
                key_mark.problem(
                    f"unknown key '{key}' in {what}{did_you_mean(key, allowed)}; "
                    f"expected one of: {', '.join(allowed)}"
                )
            )
    for key in required:
        if key not in node.value:
            problems.append(node.mark.problem(f"{what} is missing '{key}'"))


def text(node: Node | None, what: str, problems: list[Problem]) -> str | None:
    """The non-empty string held by `node`, or None after recording why not."""
    if node is None:
        return None
    if node.kind != "scalar" or not isinstance(node.value, str) or not node.value.strip():
        problems.append(node.mark.problem(f"{what} must be non-empty text, not {node.describe()}"))
        return None
    return node.value.strip()
