"""Invariants: what the article implies about every possible consultation, stated as data.

Three kinds, each with an id, a plain-language statement and a citation like a rule's, and an
optional `when` (conditions on answers, as in rules) limiting where it applies:

- outcome:  `then: {recommendation_in: [...]}`: the recommendation is always one of these;
- monotone: `change: {fact, from, to}` or `change: {fact, direction: up|down}` with
  `then: {never_away_from: OPTION}` or `then: {never_toward: OPTION}`: changing that one answer,
  all else equal, never moves the recommendation away from (or toward) the option;
- unknown:  `unknown_is_never_evidence: all` (or a list of facts): when every known answer to a
  question gives the same recommendation R, leaving it unknown gives R or `undetermined`.

`mm-advisor rules check` proves them over the whole answer space (see `checker`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import KnowledgeBaseError, Problem, did_you_mean
from .conditions import Condition, ConditionParser, derived_read, facts_read
from .layout import not_linked
from .rulebase import RULE_ID, RuleBase, citation, display_path
from .schema import CHOICE, NUMBER, UNDETERMINED, Citation
from .yamlsrc import Mark, Node, check_keys, expect, load_file, text

OUTCOME, MONOTONE, UNKNOWN = "outcome", "monotone", "unknown"
UP, DOWN = "up", "down"
AWAY, TOWARD = "never_away_from", "never_toward"
_KEYS = ("id", "statement", "source", "when", "then", "change", "unknown_is_never_evidence")


@dataclass(frozen=True)
class Invariant:
    id: str
    statement: str
    source: Citation
    when: tuple[Condition, ...]
    kind: str  # OUTCOME, MONOTONE or UNKNOWN
    mark: Mark
    allowed: tuple[str, ...] = ()  # outcome: the recommendations allowed
    fact: str | None = None  # monotone: the answer that changes
    change: tuple[Any, Any] | str | None = None  # monotone: (from, to) values, or UP / DOWN
    mode: str | None = None  # monotone: AWAY or TOWARD
    option: str | None = None  # monotone: the option it is about
    facts: tuple[str, ...] = ()  # unknown: the facts it covers

    @property
    def where(self) -> str:
        return f"{self.mark.path}:{self.mark.line}"


def default_files(folder: Path) -> list[Path]:
    """The invariant files of a knowledge base's invariants folder (none may be a link)."""
    found, linked = not_linked(sorted(folder.glob("*.yaml")) if folder.is_dir() else [])
    if linked:
        raise KnowledgeBaseError(linked)
    return found


def load(paths: list[Path], rb: RuleBase) -> list[Invariant]:
    """Parse invariant files against `rb`; KnowledgeBaseError lists every problem."""
    invariants, problems = check(paths, rb)
    if problems:
        raise KnowledgeBaseError(problems)
    return invariants


def check(paths: list[Path], rb: RuleBase) -> tuple[list[Invariant], list[Problem]]:
    """Every invariant that parses, and every problem found (for lint)."""
    parser = _Parser(rb)
    for path in paths:
        try:
            root = load_file(str(path), display_path(path))
        except KnowledgeBaseError as exc:
            parser.problems.extend(exc.problems)
            continue
        if root is None or not expect(root, "map", "an invariant file", parser.problems):
            continue
        check_keys(root, ("invariants",), ("invariants",), "an invariant file", parser.problems)
        items = root.value.get("invariants")
        if items is not None and expect(items, "seq", "'invariants'", parser.problems):
            for node in items.value:
                parser.invariant(node)
    return parser.invariants, sorted(parser.problems)


class _Parser:
    def __init__(self, rb: RuleBase):
        self.rb = rb
        self.schema = rb.schema
        self.problems: list[Problem] = []
        self.conditions = ConditionParser(rb.schema, self.problems)
        self.invariants: list[Invariant] = []
        self.seen: dict[str, Mark] = {}

    def problem(self, mark: Mark, message: str, code: str = "invariant") -> None:
        self.problems.append(mark.problem(message, code))

    def invariant(self, node: Node) -> None:
        if not expect(node, "map", "an invariant", self.problems):
            return
        check_keys(node, _KEYS, ("id", "statement", "source"), "an invariant", self.problems)
        v = node.value
        ident = self._id(v.get("id"))
        statement = text(v.get("statement"), "'statement'", self.problems)
        source = citation(v.get("source"), self.rb.sources, self.problems)
        when = self._when(v.get("when"))
        kinds = [k for k in ("change", "unknown_is_never_evidence") if k in v]
        if len(kinds) > 1:
            self.problem(
                node.mark, "an invariant has either 'change' or 'unknown_is_never_evidence'"
            )
            return
        if kinds == ["unknown_is_never_evidence"]:
            if "then" in v:
                self.problem(node.key_marks["then"], "'unknown_is_never_evidence' takes no 'then'")
                return
            details = self._unknown(v["unknown_is_never_evidence"])
        elif "then" not in v:
            self.problem(node.mark, "an invariant needs 'then' (or 'unknown_is_never_evidence')")
            return
        elif kinds == ["change"]:
            details = self._monotone(v["change"], v["then"], when)
        else:
            details = self._outcome(v["then"])
        if None in (ident, statement, source, when, details):
            return
        self.invariants.append(Invariant(ident, statement, source, when, mark=node.mark, **details))

    def _id(self, node: Node | None) -> str | None:
        ident = text(node, "'id'", self.problems)
        if ident is None:
            return None
        if not RULE_ID.match(ident):
            self.problem(
                node.mark, f"invariant id '{ident}' must be lower-case letters, digits and -"
            )
            return None
        if ident in self.seen:
            first = self.seen[ident]
            self.problem(
                node.mark, f"duplicate invariant id '{ident}' (first at line {first.line})"
            )
            return None
        self.seen[ident] = node.mark
        return ident

    def _when(self, node: Node | None) -> tuple[Condition, ...] | None:
        if node is None:
            return ()
        if not expect(node, "seq", "'when'", self.problems):
            return None
        parsed = []
        for item in node.value:
            cond = self.conditions.parse(item)
            if cond is not None and derived_read(cond):
                self.problem(
                    item.mark,
                    "an invariant's 'when' tests answers only, not derived facts "
                    "(those are the rules' business)",
                )
                return None
            parsed.append(cond)
        return None if None in parsed else tuple(parsed)

    def _option(self, node: Node, allow_undetermined: bool) -> str | None:
        options = [*self.schema.options] + ([UNDETERMINED] if allow_undetermined else [])
        if node.kind == "scalar" and node.value in options:
            return node.value
        word = str(node.value) if node.kind == "scalar" else ""
        self.problem(
            node.mark,
            f"unknown recommendation {node.describe()}{did_you_mean(word, options)}; "
            f"expected one of: {', '.join(options)}",
            "unknown-option",
        )
        return None

    def _outcome(self, node: Node) -> dict[str, Any] | None:
        if not expect(node, "map", "'then'", self.problems):
            return None
        check_keys(node, ("recommendation_in",), ("recommendation_in",), "'then'", self.problems)
        allowed = node.value.get("recommendation_in")
        if allowed is None or not expect(allowed, "seq", "'recommendation_in'", self.problems):
            return None
        names = [self._option(item, True) for item in allowed.value]
        if None in names or not names:
            if not names:
                self.problem(allowed.mark, "'recommendation_in' needs at least one option")
            return None
        return {"kind": OUTCOME, "allowed": tuple(dict.fromkeys(names))}

    def _monotone(self, change: Node, then: Node, when: tuple | None) -> dict[str, Any] | None:
        if not expect(change, "map", "'change'", self.problems):
            return None
        has_fact = check_keys(
            change, ("fact", "from", "to", "direction"), ("fact",), "'change'", self.problems
        )
        if not expect(then, "map", "'then'", self.problems) or not has_fact:
            return None
        check_keys(then, (AWAY, TOWARD), (), "'then'", self.problems)
        modes = [k for k in (AWAY, TOWARD) if k in then.value]
        if len(modes) != 1:
            self.problem(then.mark, f"a change's 'then' holds exactly one of: {AWAY}, {TOWARD}")
            return None
        option = self._option(then.value[modes[0]], False)
        fact = self._fact(change.value["fact"])
        if fact is None or option is None:
            return None
        spec = self.schema.facts[fact]
        if when and fact in {f for c in when for f in facts_read(c)}:
            self.problem(
                change.value["fact"].mark, f"'when' cannot test '{fact}', the fact that changes"
            )
            return None
        keys = set(change.value) - {"fact"}
        if keys == {"direction"}:
            node = change.value["direction"]
            if node.value not in (UP, DOWN):
                self.problem(node.mark, f"'direction' is up or down, not {node.describe()}")
                return None
            if spec.type not in (NUMBER, CHOICE):
                self.problem(
                    node.mark,
                    f"'{fact}' is a yes/no fact, which has no direction: use 'from' and 'to'",
                )
                return None
            moved: Any = node.value
        elif keys == {"from", "to"}:
            ends = [self._value(spec, change.value[k]) for k in ("from", "to")]
            if None in ends:
                return None
            if ends[0] == ends[1]:
                self.problem(change.mark, "'from' and 'to' are the same answer")
                return None
            moved = tuple(ends)
        else:
            self.problem(change.mark, "a change has 'from' and 'to', or 'direction' (up or down)")
            return None
        return {"kind": MONOTONE, "fact": fact, "change": moved, "mode": modes[0], "option": option}

    def _fact(self, node: Node) -> str | None:
        name = node.value if node.kind == "scalar" else None
        if isinstance(name, str) and name in self.schema.facts:
            return name
        hint = did_you_mean(name, self.schema.facts) if isinstance(name, str) else ""
        self.problem(node.mark, f"unknown fact {node.describe()}{hint}", "unknown-fact")
        return None

    def _value(self, spec, node: Node) -> Any:
        if node.kind != "scalar":
            self.problem(node.mark, f"expected a value of '{spec.name}', not {node.describe()}")
            return None
        try:
            value = spec.parse(node.value)
        except ValueError as exc:
            self.problem(node.mark, f"'{spec.name}': {exc}", "type-mismatch")
            return None
        if value is None:
            self.problem(
                node.mark,
                "a change is between known answers ('unknown_is_never_evidence' covers unknown)",
            )
        return value

    def _unknown(self, node: Node) -> dict[str, Any] | None:
        if node.kind == "scalar" and node.value == "all":
            return {"kind": UNKNOWN, "facts": tuple(self.schema.facts)}
        if node.kind != "seq" or not node.value:
            self.problem(node.mark, "'unknown_is_never_evidence' is 'all' or a list of facts")
            return None
        facts = [self._fact(item) for item in node.value]
        if None in facts:
            return None
        return {"kind": UNKNOWN, "facts": tuple(dict.fromkeys(facts))}
