"""Load and validate a knowledge base: the fact files, then the rule files that use them."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from ..errors import KnowledgeBaseError, Problem, did_you_mean
from . import sources
from .conditions import Condition, ConditionParser
from .layout import Layout, display_path, not_linked
from .schema import Citation, Schema, SchemaBuilder
from .sources import Source
from .yamlsrc import Mark, Node, check_keys, expect, load_file, text

T = TypeVar("T")
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_RULE_KEYS = ("id", "title", "source", "salience", "when", "then")
_THEN_KEYS = ("derive", "score", "conclude", "rule_out")


@dataclass(frozen=True)
class Rule:
    """One rule: conditions over facts, and what it adds when they all hold."""

    id: str
    title: str
    source: Citation
    salience: int
    when: tuple[Condition, ...]
    derive: tuple[str, ...]
    score: tuple[tuple[str, int], ...]
    conclude: str | None
    rule_out: tuple[str, ...]  # options this rule makes impossible to recommend
    mark: Mark
    location: str  # "rules/<file>:<line>", the same wherever the rule base is installed
    order: int  # position in the rule base: breaks salience ties, earlier first


@dataclass(frozen=True)
class SourceFile:
    logical: str  # "rules/<name>", "facts/<name>" or "sources/<name>"
    digest: str
    meaning: str | None = None  # a YAML file's data, comments and layout left out


@dataclass(frozen=True)
class RuleBase:
    """A validated knowledge base, ready to compile."""

    schema: Schema
    rules: tuple[Rule, ...]
    files: tuple[SourceFile, ...]
    digest: str
    sources: Mapping[str, Source]  # the documents rules may cite, the default first
    layout: Layout  # where its files are

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def once(cache: dict[tuple, T], rulebase: RuleBase, build: Callable[[RuleBase], T]) -> T:
    """What `build` makes of `rulebase`, made once per process for each content of a rule base
    (the few latest kept in `cache`): a process that consults many times builds it once."""
    key = (rulebase.digest, rulebase.rules)
    if key not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = build(rulebase)
    return cache[key]


def load(where: Layout) -> RuleBase:
    """Load, parse and type-check a knowledge base; KnowledgeBaseError lists every problem."""
    rulebase, problems = check(where)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise KnowledgeBaseError(errors)
    return rulebase


_CHECKED: dict[tuple, tuple[RuleBase, tuple[Problem, ...]]] = {}  # by everything they read


def check(where: Layout) -> tuple[RuleBase, list[Problem]]:
    """Load what can be loaded and return it with every problem found (for lint).

    Every file is read, and its documents checked, on every call; the rules and facts are
    parsed and type-checked again only when what was read differs from a call before (a
    process that consults many times, such as a test suite or a service, pays for it once)."""
    document_problems: list[Problem] = []
    read: list[tuple[str, bytes]] = []
    documents = sources.load(where.sources, document_problems, read)
    fact_problems: list[Problem] = []
    fact_files = [(p, p.read_bytes()) for p in _yaml_files(where.facts, "facts", fact_problems)]
    problems: list[Problem] = []
    rule_files = [(p, p.read_bytes()) for p in _yaml_files(where.rules, "rules", problems)]
    key = (
        where,
        os.getcwd(),  # problems name files as the user would type them, from here
        tuple((logical, file_digest(data)) for logical, data in read),
        tuple(document_problems),
        tuple((path, file_digest(data)) for path, data in fact_files + rule_files),
        tuple(fact_problems + problems),
    )
    if key not in _CHECKED:
        if len(_CHECKED) >= 16:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = _build(
            where, documents, read, document_problems, fact_files, fact_problems, rule_files,
            problems,
        )  # fmt: skip
    rulebase, found = _CHECKED[key]
    return rulebase, list(found)


def _build(
    where: Layout,
    documents: dict[str, Source],
    read: list[tuple[str, bytes]],
    document_problems: list[Problem],
    fact_files: list[tuple[Path, bytes]],
    fact_problems: list[Problem],
    rule_files: list[tuple[Path, bytes]],
    problems: list[Problem],
) -> tuple[RuleBase, tuple[Problem, ...]]:
    files = [SourceFile(logical, file_digest(data)) for logical, data in read]
    problems += document_problems
    builder = SchemaBuilder(fact_problems)
    for path, data in fact_files:
        builder.add_file(_load(path, data, fact_problems, files, "facts"), display_path(path))
    schema = builder.build()
    problems += fact_problems

    # One mistake, one message: while the facts do not load, every rule naming a fact they
    # would have declared would be reported too, so the rules are only read, not checked; and
    # without its documents no citation can be checked.
    parser = RuleParser(schema, documents if not document_problems else None, problems)
    for path, data in rule_files:
        node = _load(path, data, problems, files, "rules")
        if not any(p.severity == "error" for p in fact_problems):
            parser.add_file(node, path.name)
    files.sort(key=lambda f: f.logical)
    digest = hashlib.sha256(
        "".join(f"{f.digest}  {f.logical}\n" for f in files).encode()
    ).hexdigest()
    problems.sort()
    rulebase = RuleBase(
        schema, tuple(parser.rules), tuple(files), f"sha256:{digest}", documents, where
    )
    return rulebase, tuple(problems)


def _yaml_files(folder: Path, what: str, problems: list[Problem]) -> list[Path]:
    if not folder.is_dir():
        problems.append(
            Problem(display_path(folder), 1, 1, f"the {what} folder does not exist", "missing-file")
        )
        return []
    found, linked = not_linked(
        sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    )
    problems += linked
    if not found and not linked:
        problems.append(
            Problem(display_path(folder), 1, 1, f"no {what} files (*.yaml) here", "missing-file")
        )
    return found


def file_digest(data: bytes) -> str:
    """sha256 of a file's canonical form: its bytes with line endings normalised to LF."""
    return "sha256:" + hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def _load(
    path: Path, data: bytes, problems: list[Problem], files: list[SourceFile], kind: str
) -> Node | None:
    digest = file_digest(data)
    try:
        node = load_file(str(path), display_path(path))
    except KnowledgeBaseError as exc:
        problems.extend(exc.problems)
        node = None
    files.append(SourceFile(f"{kind}/{path.name}", digest, meaning_digest(node, digest)))
    return node


_MEANINGS: dict[str, str] = {}  # a file's digest -> its meaning digest, for files read again


def meaning_digest(node: Node | None, digest: str) -> str | None:
    """sha256 of what a YAML file says (its data as canonical JSON): the same when only its
    comments or its layout changed. `digest` is its bytes' (the same bytes mean the same)."""
    if node is None:
        return None
    if digest not in _MEANINGS:
        text = json.dumps(node.plain(), sort_keys=True, separators=(",", ":"), default=str)
        if len(_MEANINGS) >= 1024:
            _MEANINGS.clear()
        _MEANINGS[digest] = (
            "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        )
    return _MEANINGS[digest]


def citation(
    node: Node | None, documents: Mapping[str, Source] | None, problems: list[Problem]
) -> Citation | None:
    """The `source` in `node`: section, quote and optional document, checked against the
    document's text (the first source listed, when no document is named). With `documents`
    None (they could not be read), only the shape is checked."""
    if node is None:
        return None
    if not expect(node, "map", "'source'", problems):
        return None
    check_keys(node, ("section", "quote", "document"), ("section", "quote"), "'source'", problems)
    section = text(node.value.get("section"), "'section'", problems)
    quote = text(node.value.get("quote"), "'quote'", problems)
    document = None
    if "document" in node.value:
        document = text(node.value["document"], "'document'", problems)
        if document is None:
            return None
    if section is None or quote is None:
        return None
    if documents is None:
        return Citation(section, quote, document or "")
    if not documents:
        return None
    name = document or next(iter(documents))
    source = documents.get(name)
    if source is None:
        problems.append(
            node.value["document"].mark.problem(
                f"unknown source '{name}'{did_you_mean(name, documents)}; expected one of: "
                f"{', '.join(documents)}",
                "citation",
            )
        )
        return None
    wrong = source.quote_problem(section, quote)
    if wrong is not None:
        key, message = wrong
        problems.append(node.value[key].mark.problem(message, "citation"))
        return None
    return Citation(section, quote, name)


class RuleParser:
    """Parses rule files against a schema, recording every problem found."""

    def __init__(
        self, schema: Schema, documents: Mapping[str, Source] | None, problems: list[Problem]
    ):
        self.schema = schema
        self.documents = documents
        self.problems = problems
        self.conditions = ConditionParser(schema, problems)
        self.rules: list[Rule] = []
        self.seen: dict[str, Mark] = {}

    def add_file(self, root: Node | None, name: str) -> None:
        if root is None:
            return
        if not expect(root, "map", "a rule file", self.problems):
            return
        check_keys(root, ("rules",), ("rules",), "a rule file", self.problems)
        rules = root.value.get("rules")
        if rules is not None and expect(rules, "seq", "'rules'", self.problems):
            for node in rules.value:
                self._rule(node, name)

    def _rule(self, node: Node, file_name: str) -> None:
        if not expect(node, "map", "a rule", self.problems):
            return
        check_keys(node, _RULE_KEYS, ("id", "title", "when", "then"), "a rule", self.problems)
        v = node.value
        if "source" not in v:
            self.problems.append(
                node.mark.problem(
                    "a rule has no citation: add 'source' with a section and a quote of a source",
                    "no-citation",
                )
            )
        rule_id = self._id(v.get("id"))
        title = text(v.get("title"), "'title'", self.problems)
        source = self._citation(v.get("source"))
        salience = self._salience(v.get("salience"))
        when = self._when(v.get("when"))
        then = self._then(v.get("then"))
        if None in (rule_id, title, source, salience, when, then):
            return
        self.seen[rule_id] = node.mark
        self.rules.append(
            Rule(
                rule_id,
                title,
                source,
                salience,
                when,
                *then,
                node.mark,
                f"rules/{file_name}:{node.mark.line}",
                len(self.rules),
            )
        )

    def _id(self, node: Node | None) -> str | None:
        rule_id = text(node, "'id'", self.problems)
        if rule_id is None:
            return None
        if not RULE_ID.match(rule_id):
            self.problems.append(
                node.mark.problem(
                    f"rule id '{rule_id}' must be lower-case letters, digits and -", "bad-id"
                )
            )
            return None
        if rule_id in self.seen:
            first = self.seen[rule_id]
            self.problems.append(
                node.mark.problem(
                    f"duplicate rule id '{rule_id}' (first at {first.path}:{first.line})",
                    "duplicate-id",
                )
            )
            return None
        return rule_id

    def _citation(self, node: Node | None) -> Citation | None:
        return citation(node, self.documents, self.problems)

    def _salience(self, node: Node | None) -> int | None:
        if node is None:
            return 0
        if (
            isinstance(node.value, int)
            and not isinstance(node.value, bool)
            and -1000 <= node.value <= 1000
        ):
            return node.value
        self.problems.append(
            node.mark.problem(
                f"'salience' must be a whole number from -1000 to 1000, not {node.describe()}",
                "type-mismatch",
            )
        )
        return None

    def _when(self, node: Node | None) -> tuple[Condition, ...] | None:
        if node is None or not expect(node, "seq", "'when'", self.problems):
            return None
        if not node.value:
            self.problems.append(
                node.mark.problem("'when' needs at least one condition", "condition-shape")
            )
            return None
        parsed = [self.conditions.parse(item) for item in node.value]
        return None if None in parsed else tuple(parsed)

    def _then(self, node: Node | None) -> tuple[Any, Any, Any, Any] | None:
        if node is None or not expect(node, "map", "'then'", self.problems):
            return None
        check_keys(node, _THEN_KEYS, (), "'then'", self.problems)
        if not set(_THEN_KEYS) & set(node.value):
            self.problems.append(
                node.mark.problem(
                    "'then' needs at least one of: derive, score, conclude, rule_out",
                    "condition-shape",
                )
            )
            return None
        derive = self._derive(node.value.get("derive"))
        score = self._score(node.value.get("score"))
        conclude = self._option(node.value.get("conclude"), "'conclude'")
        rule_out = self._rule_out(node.value.get("rule_out"))
        if derive is None or score is None or conclude is False or rule_out is None:
            return None
        return derive, score, conclude, rule_out

    def _rule_out(self, node: Node | None) -> tuple[str, ...] | None:
        if node is None:
            return ()
        items = node.value if node.kind == "seq" else [node]
        names = [self._option(item, "'rule_out'") for item in items]
        if False in names:
            return None
        if not names:
            self.problems.append(
                node.mark.problem("'rule_out' needs at least one option", "type-mismatch")
            )
            return None
        return tuple(dict.fromkeys(names))

    def _derive(self, node: Node | None) -> tuple[str, ...] | None:
        if node is None:
            return ()
        items = node.value if node.kind == "seq" else [node]
        names = []
        for item in items:
            name = item.value if item.kind == "scalar" else None
            if not isinstance(name, str) or name not in self.schema.derived:
                hint = did_you_mean(name, self.schema.derived) if isinstance(name, str) else ""
                self.problems.append(
                    item.mark.problem(
                        f"'derive' names an undeclared derived fact {item.describe()}{hint}; "
                        f"declare it under 'derived' in facts/",
                        "unknown-fact",
                    )
                )
                return None
            names.append(name)
        return tuple(names)

    def _score(self, node: Node | None) -> tuple[tuple[str, int], ...] | None:
        if node is None:
            return ()
        if not expect(node, "map", "'score'", self.problems):
            return None
        scores = []
        for name, weight in node.value.items():
            if self._option(Node("scalar", name, node.key_marks[name]), "'score'") is False:
                return None
            if (
                not isinstance(weight.value, int)
                or isinstance(weight.value, bool)
                or weight.value == 0
                or abs(weight.value) > 100
            ):
                self.problems.append(
                    weight.mark.problem(
                        f"a weight is a non-zero whole number from -100 to 100, not {weight.describe()}",
                        "type-mismatch",
                    )
                )
                return None
            scores.append((name, weight.value))
        return tuple(scores)

    def _option(self, node: Node | None, what: str) -> str | None | bool:
        """The option named by `node`, None when absent, False after a problem."""
        if node is None:
            return None
        name = node.value
        if isinstance(name, str) and name in self.schema.options:
            return name
        options = self.schema.options
        self.problems.append(
            node.mark.problem(
                f"{what} names an unknown option {node.describe()}"
                f"{did_you_mean(name, options) if isinstance(name, str) else ''}; "
                f"expected one of: {', '.join(options)}",
                "unknown-option",
            )
        )
        return False
