"""Read YAML safely into nodes that remember where each key and value stands."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import KnowledgeBaseError, Problem, did_you_mean
from ..files import InputError, read_text


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


# libyaml's parser, when PyYAML was built with it, is the same parser at a fraction of the cost.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 32  # mappings and lists inside each other: far deeper than any of our files
MAX_DIGITS = 15  # an integer longer than this is no answer, weight or figure

_TAG = "tag:yaml.org,2002:"
_ALLOWED = {f"{_TAG}{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null")}

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


class _Refused(Exception):
    """Something these files may not hold: stops reading at once, before it can grow."""

    def __init__(self, mark: yaml.Mark, message: str):
        super().__init__(message)
        self.mark, self.message = mark, message


_READ: OrderedDict[tuple[str, str], Node | None] = OrderedDict()  # what was read lately
_READ_ENTRIES, _READ_TEXT = 256, 64 * 1024  # files read again unchanged (by a long-running
# process, a batch worker, a test suite) are not parsed again; their Nodes are never modified


def load_text(text: str, path: str) -> Node | None:
    """Read YAML text into Nodes; KnowledgeBaseError gives each fault as one positioned line.

    Only plain data is accepted: string keys, scalars (text, whole and decimal numbers, yes/no,
    null), lists and mappings, at most MAX_DEPTH deep. Anchors and aliases, merge keys, complex
    keys, tags, dates and binary are refused as they are met, so nothing is ever expanded.
    """
    key = (path, text)
    if key in _READ:
        _READ.move_to_end(key)
        return _READ[key]
    node = _parse(text, path)
    if len(text) <= _READ_TEXT:
        _READ[key] = node
        if len(_READ) > _READ_ENTRIES:
            _READ.popitem(last=False)
    return node


def _parse(text: str, path: str) -> Node | None:
    try:
        try:
            return _Builder(path).build(yaml.parse(text, Loader=_LOADER))
        except yaml.YAMLError as first:
            # Report with the pure-Python parser's wording, the same on every machine; where that
            # parser itself fails (an escape such as "\U99999999"), with the first one's.
            try:
                return _Builder(path).build(yaml.parse(text, Loader=yaml.SafeLoader))
            except (ValueError, OverflowError):
                raise first from None
    except (ValueError, OverflowError):  # the pure-Python parser alone, on such an escape
        message = "invalid YAML: a character escape or a value out of range"
        raise KnowledgeBaseError([Problem(path, 1, 1, message)]) from None
    except _Refused as exc:
        raise KnowledgeBaseError([_problem(path, exc.mark, exc.message)]) from None
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position)
        what = (
            f"unacceptable character #x{exc.character:04x}: control characters are not allowed"
            if isinstance(exc.character, int)
            else f"cannot decode: {exc.reason}"
        )
        raise KnowledgeBaseError([Problem(path, line, col, f"invalid YAML: {what}")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem).split())
        message = f"invalid YAML: {problem}{_hint(f'{problem} {exc.context}')}"
        opened, found = exc.context_mark, exc.problem_mark
        flow = str(exc.context or "").removeprefix("while parsing a flow ")
        if flow in ("mapping", "sequence") and opened and found and opened.line < found.line:
            # Said where the bracket opens, not lines below where the parser gave up on it.
            pair = "{}" if flow == "mapping" else "[]"
            mark, message = (
                opened,
                (
                    f"invalid YAML: this '{pair[0]}' is not closed with '{pair[1]}' "
                    f"(at line {found.line + 1}: {problem})"
                ),
            )
        raise KnowledgeBaseError([_problem(path, mark, message)]) from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().split("\n", 1)[0]
        raise KnowledgeBaseError([Problem(path, 1, 1, f"invalid YAML: {first}")]) from None
    except RecursionError:  # a parser's own recursion, on input built to exhaust it
        raise KnowledgeBaseError([Problem(path, 1, 1, "invalid YAML: nested too deeply")]) from None


def _problem(path: str, mark: yaml.Mark | None, message: str) -> Problem:
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(path, line, col, message)


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def load_file(path: str, display: str) -> Node | None:
    """Read the file at `path` (see files.read_text), naming it `display` in every message."""
    try:
        text = read_text(path, display)
    except InputError as exc:  # "DISPLAY: what went wrong"; the name itself may hold ": "
        message = str(exc).removeprefix(f"{display}: ")
        raise KnowledgeBaseError([Problem(display, 1, 1, message)]) from None
    return load_text(text, display)


class _Builder:
    """Nodes from a stream of parser events, checked as they come."""

    def __init__(self, path: str):
        self.path = path
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.problems: list[Problem] = []

    def build(self, events) -> Node | None:
        events = iter(events)
        root = None
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Refused(event.start_mark, "one document per file: remove this '---'")
            elif isinstance(event, yaml.NodeEvent):
                root = self.node(event, events, 1)
        if self.problems:
            raise KnowledgeBaseError(self.problems)
        return root

    def mark(self, event: yaml.Event) -> Mark:
        return Mark(self.path, event.start_mark.line + 1, event.start_mark.column + 1)

    def node(self, event: yaml.Event, events, depth: int) -> Node:
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, "aliases (*name) are not allowed: write the value out")
        if event.anchor is not None:
            raise _Refused(
                event.start_mark, "anchors (&name) are not allowed: these files hold plain data"
            )
        if depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(event, yaml.ScalarEvent):
            return Node("scalar", self.scalar(event), self.mark(event))
        self.check_tag(event)
        if isinstance(event, yaml.SequenceStartEvent):
            items = []
            for item in events:
                if isinstance(item, yaml.SequenceEndEvent):
                    return Node("seq", items, self.mark(event))
                items.append(self.node(item, events, depth + 1))
        return self.mapping(event, events, depth)

    def mapping(self, event: yaml.Event, events, depth: int) -> Node:
        values: dict[str, Node] = {}
        key_marks: dict[str, Mark] = {}
        for key_event in events:
            if isinstance(key_event, yaml.MappingEndEvent):
                return Node("map", values, self.mark(event), key_marks)
            key_mark = self.mark(key_event)
            if not isinstance(key_event, yaml.ScalarEvent):
                raise _Refused(key_event.start_mark, "keys must be names, not a list or a mapping")
            if key_event.anchor is not None:
                raise _Refused(
                    key_event.start_mark,
                    "anchors (&name) are not allowed: these files hold plain data",
                )
            tag = self.tag_of(key_event)
            if tag == f"{_TAG}merge":
                raise _Refused(
                    key_event.start_mark, "merge keys (<<) are not allowed: write the keys out"
                )
            key = self.scalar(key_event)
            value = self.node(next(events), events, depth + 1)
            if not isinstance(key, str):
                self.problems.append(key_mark.problem(f"keys must be names, not {key!r}"))
            elif key in values:
                first = key_marks[key]
                self.problems.append(
                    key_mark.problem(f"duplicate key '{key}' (first at line {first.line})")
                )
            else:
                values[key] = value
                key_marks[key] = key_mark
        raise _Refused(event.start_mark, "the mapping is not closed")  # pragma: no cover

    def check_tag(self, event: yaml.Event) -> None:
        tag = event.tag
        if tag not in (None, "!") and tag not in _ALLOWED:
            raise _Refused(
                event.start_mark,
                f"the tag '{_short(tag)}' is not allowed: these files hold plain data",
            )

    def tag_of(self, event: yaml.ScalarEvent) -> str:
        if event.tag not in (None, "!"):
            return event.tag
        return self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = self.tag_of(event)
        value = event.value
        if tag == f"{_TAG}timestamp":
            raise _Refused(event.start_mark, f"a date must be quoted: write '{value}' in quotes")
        if tag not in _ALLOWED - {f"{_TAG}map", f"{_TAG}seq"}:
            raise _Refused(
                event.start_mark,
                f"the tag '{_short(tag)}' is not allowed: these files hold plain data",
            )
        if tag == f"{_TAG}int" and sum(ch.isdigit() for ch in value) > MAX_DIGITS:
            raise _Refused(
                event.start_mark, f"a number this long ({len(value)} characters) is not allowed"
            )
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _Refused(
                event.start_mark, f"cannot read {value!r} as {_short(tag)[2:]}: {exc}"
            ) from None


def _short(tag: str) -> str:
    return tag.replace(_TAG, "!!")


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
) -> bool:
    """Record unknown keys (with a suggestion) and missing required keys of a mapping node;
    whether every required key is there."""
    for key, key_mark in node.key_marks.items():
        if key not in allowed:
            problems.append(
                key_mark.problem(
                    f"unknown key '{key}' in {what}{did_you_mean(key, allowed)}; "
                    f"expected one of: {', '.join(allowed)}"
                )
            )
    missing = [key for key in required if key not in node.value]
    for key in missing:
        problems.append(node.mark.problem(f"{what} is missing '{key}'"))
    return not missing


def text(node: Node | None, what: str, problems: list[Problem]) -> str | None:
    """The non-empty string held by `node`, or None after recording why not."""
    if node is None:
        return None
    if node.kind != "scalar" or not isinstance(node.value, str) or not node.value.strip():
        problems.append(node.mark.problem(f"{what} must be non-empty text, not {node.describe()}"))
        return None
    return node.value.strip()
