"""The fact vocabulary: fact types, how answers parse, background knowledge and the options."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import Problem, did_you_mean
from .yamlsrc import Mark, Node, check_keys, expect, text

YESNO, NUMBER, CHOICE = "yesno", "number", "choice"
FACT_TYPES = (YESNO, NUMBER, CHOICE)
UNDETERMINED = "undetermined"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_YES = {"yes", "true", "y"}
_NO = {"no", "false", "n"}


@dataclass(frozen=True)
class Citation:
    """Where in a source document a rule or invariant comes from."""

    section: str
    quote: str
    document: str  # the source's id

    def __str__(self) -> str:
        return f'{self.section}: "{self.quote}"'


@dataclass(frozen=True)
class FactSpec:
    """One question the advisor can ask, and the values its answer may take."""

    name: str
    type: str
    question: str
    help: str
    mark: Mark
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    unit: str | None = None  # a number's unit in words, e.g. "months"

    def allowed(self) -> str:
        """The allowed answers in a prompt's words."""
        if self.type == YESNO:
            return "yes/no"
        if self.type == NUMBER:
            return f"a whole number {self.minimum}-{self.maximum}"
        return "/".join(self.choices)

    def parse(self, raw: Any) -> Any:
        """The typed value of an answer (None when unknown); ValueError says why it is refused."""
        if raw is None or (isinstance(raw, str) and raw.strip().lower() == "unknown"):
            return None
        if isinstance(raw, (list, tuple, dict)):
            kind = "a mapping" if isinstance(raw, dict) else "a list"
            raise ValueError(f"expected a single value, not {kind}")
        if self.type == YESNO:
            return self._parse_yesno(raw)
        if self.type == NUMBER:
            return self._parse_number(raw)
        return self._parse_choice(raw)

    def _parse_yesno(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        raise ValueError(f"'{raw}' is not an answer to a yes/no question; use yes, no or unknown")

    def _parse_number(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError(f"expected {self.allowed()}, not a yes/no answer")
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
            raw = int(raw)
        if not isinstance(raw, int):
            raise ValueError(f"'{raw}' is not a whole number; expected {self.allowed()}")
        if not self.minimum <= raw <= self.maximum:
            raise ValueError(f"{raw} is outside the allowed range {self.minimum}-{self.maximum}")
        return raw

    def _parse_choice(self, raw: Any) -> str:
        word = str(raw).strip().lower() if not isinstance(raw, bool) else ("yes" if raw else "no")
        if word in self.choices:
            return word
        raise ValueError(
            f"'{raw}' is not one of {', '.join(self.choices)}{did_you_mean(word, self.choices)}"
        )

    def render(self, value: Any) -> str:
        """A value as a person reads it: yes/no, the number, the choice, or unknown."""
        if value is None:
            return "unknown"
        if self.type == YESNO:
            return "yes" if value else "no"
        return str(value)

    def domain(self) -> tuple[Any, ...]:
        """The known answers of a yes/no or choice fact; for a number, its least and greatest."""
        if self.type == YESNO:
            return (True, False)
        if self.type == CHOICE:
            return self.choices
        return (self.minimum, self.maximum)


@dataclass(frozen=True)
class DerivedSpec:
    """An intermediate conclusion that rules add and other rules match."""

    name: str
    description: str
    mark: Mark


@dataclass(frozen=True)
class OptionSpec:
    """A recommendation the rules can support, and which background rows describe it."""

    name: str
    label: str
    expect: tuple[str, ...]
    mark: Mark


@dataclass(frozen=True)
class Schema:
    """Everything in facts/: questions, derived facts, background knowledge and options."""

    facts: Mapping[str, FactSpec]
    derived: Mapping[str, DerivedSpec]
    background: Mapping[str, Any]  # "kind.attribute" -> scalar, in file order
    background_marks: Mapping[str, Mark]
    options: Mapping[str, OptionSpec]

    def rows(self, kind: str) -> list[tuple[str, Any]]:
        """The background attributes of one programme kind, in file order."""
        prefix = kind + "."
        return [(k[len(prefix) :], v) for k, v in self.background.items() if k.startswith(prefix)]


_FACT_KEYS = ("name", "type", "question", "help", "min", "max", "unit", "choices")
_SECTIONS = ("facts", "derived", "background", "options")


class SchemaBuilder:
    """Collects the sections of every fact file, recording problems instead of stopping."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.facts: dict[str, FactSpec] = {}
        self.derived: dict[str, DerivedSpec] = {}
        self.background: dict[str, Any] = {}
        self.background_marks: dict[str, Mark] = {}
        self.options: dict[str, OptionSpec] = {}

    def add_file(self, root: Node | None, path: str) -> None:
        if root is None:
            return
        if not expect(root, "map", "a fact file", self.problems):
            return
        check_keys(root, _SECTIONS, (), "a fact file", self.problems)
        sections = root.value
        if "facts" in sections and expect(sections["facts"], "seq", "'facts'", self.problems):
            for item in sections["facts"].value:
                self._fact(item)
        if "derived" in sections and expect(sections["derived"], "seq", "'derived'", self.problems):
            for item in sections["derived"].value:
                self._derived(item)
        if "background" in sections and expect(
            sections["background"], "map", "'background'", self.problems
        ):
            self._background(sections["background"])
        if "options" in sections and expect(sections["options"], "map", "'options'", self.problems):
            for name, node in sections["options"].value.items():
                self._option(name, node, sections["options"].key_marks[name])

    def _name(self, node: Node, what: str, taken: Mapping[str, Any]) -> str | None:
        name = text(node.value.get("name"), f"the {what}'s name", self.problems)
        if name is None:
            return None
        where = node.value["name"].mark
        if not NAME.match(name):
            self.problems.append(
                where.problem(f"'{name}' is not a valid name: use lower-case letters, digits and _")
            )
            return None
        for existing in (self.facts, self.derived):
            if name in existing:
                first = existing[name].mark
                self.problems.append(
                    where.problem(f"'{name}' is defined twice (first at {first.path}:{first.line})")
                )
                return None
        return name

    def _fact(self, node: Node) -> None:
        if not expect(node, "map", "a fact", self.problems):
            return
        check_keys(node, _FACT_KEYS, ("name", "type", "question", "help"), "a fact", self.problems)
        name = self._name(node, "fact", self.facts)
        kind = text(node.value.get("type"), "'type'", self.problems)
        question = text(node.value.get("question"), "'question'", self.problems)
        help_text = text(node.value.get("help"), "'help'", self.problems)
        if kind is not None and kind not in FACT_TYPES:
            self.problems.append(
                node.value["type"].mark.problem(
                    f"unknown fact type '{kind}'{did_you_mean(kind, FACT_TYPES)}; "
                    f"expected one of: {', '.join(FACT_TYPES)}"
                )
            )
            return
        extra: dict[str, Any] = {}
        if kind == NUMBER:
            extra = self._range(node)
        elif kind == CHOICE:
            extra = self._choices(node)
        applies = {NUMBER: ("min", "max", "unit"), CHOICE: ("choices",)}.get(kind, ())
        for key in ("min", "max", "unit", "choices"):
            if key in node.value and key not in applies:
                self.problems.append(
                    node.key_marks[key].problem(
                        f"'{key}' does not apply to a fact of type '{kind}'"
                    )
                )
        if None in (name, kind, question, help_text) or extra is None:
            return
        self.facts[name] = FactSpec(name, kind, question, help_text, node.mark, **extra)

    def _range(self, node: Node) -> dict[str, Any] | None:
        bounds = {}
        for key, attr in (("min", "minimum"), ("max", "maximum")):
            value = node.value.get(key)
            if value is None:
                self.problems.append(node.mark.problem(f"a number fact needs '{key}'"))
                return None
            if not isinstance(value.value, int) or isinstance(value.value, bool):
                self.problems.append(value.mark.problem(f"'{key}' must be a whole number"))
                return None
            bounds[attr] = value.value
        if bounds["minimum"] > bounds["maximum"]:
            self.problems.append(node.value["min"].mark.problem("'min' is greater than 'max'"))
            return None
        if "unit" in node.value:
            unit = text(node.value["unit"], "'unit'", self.problems)
            if unit is None:
                return None
            bounds["unit"] = unit
        return bounds

    def _choices(self, node: Node) -> dict[str, tuple[str, ...]] | None:
        value = node.value.get("choices")
        if value is None:
            self.problems.append(node.mark.problem("a choice fact needs 'choices'"))
            return None
        if not expect(value, "seq", "'choices'", self.problems) or not value.value:
            return None
        choices = []
        for item in value.value:
            word = text(item, "a choice", self.problems)
            if word is None:
                return None
            if not NAME.match(word) or word == "unknown" or word in choices:
                self.problems.append(
                    item.mark.problem(
                        f"'{word}' cannot be a choice: use a distinct lower-case name other than 'unknown'"
                    )
                )
                return None
            choices.append(word)
        return {"choices": tuple(choices)}

    def _derived(self, node: Node) -> None:
        if not expect(node, "map", "a derived fact", self.problems):
            return
        check_keys(
            node, ("name", "description"), ("name", "description"), "a derived fact", self.problems
        )
        name = self._name(node, "derived fact", self.derived)
        description = text(node.value.get("description"), "'description'", self.problems)
        if name and description:
            self.derived[name] = DerivedSpec(name, description, node.mark)

    def _background(self, node: Node) -> None:
        for kind, rows in node.value.items():
            if not NAME.match(kind):
                self.problems.append(node.key_marks[kind].problem(f"'{kind}' is not a valid name"))
                continue
            if not expect(rows, "map", f"background '{kind}'", self.problems):
                continue
            for attr, value in rows.value.items():
                if not expect(value, "scalar", f"background '{kind}.{attr}'", self.problems):
                    continue
                key = f"{kind}.{attr}"
                if key in self.background:
                    first = self.background_marks[key]
                    self.problems.append(
                        rows.key_marks[attr].problem(
                            f"background '{key}' is defined twice (first at {first.path}:{first.line})"
                        )
                    )
                    continue
                self.background[key] = value.value
                self.background_marks[key] = rows.key_marks[attr]

    def _option(self, name: str, node: Node, mark: Mark) -> None:
        if name == UNDETERMINED or not NAME.match(name):
            self.problems.append(mark.problem(f"'{name}' cannot name an option"))
            return
        if not expect(node, "map", f"option '{name}'", self.problems):
            return
        check_keys(node, ("label", "expect"), ("label",), f"option '{name}'", self.problems)
        label = text(node.value.get("label"), "'label'", self.problems)
        expects: list[str] = []
        if "expect" in node.value and expect(
            node.value["expect"], "seq", "'expect'", self.problems
        ):
            expects = [
                w
                for w in (
                    text(i, "'expect' entry", self.problems) for i in node.value["expect"].value
                )
                if w
            ]
        if label:
            self.options[name] = OptionSpec(name, label, tuple(expects), mark)

    def build(self) -> Schema:
        kinds = {key.split(".", 1)[0] for key in self.background}
        for option in self.options.values():
            for kind in option.expect:
                if kind not in kinds:
                    self.problems.append(
                        option.mark.problem(
                            f"option '{option.name}' expects background '{kind}', which is not defined"
                            f"{did_you_mean(kind, kinds)}"
                        )
                    )
        return Schema(
            self.facts, self.derived, self.background, self.background_marks, self.options
        )
