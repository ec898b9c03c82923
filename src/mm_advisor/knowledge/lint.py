"""Semantic checks of a rule base that loads: rules that can never fire, redundancy, gaps, cycles.

Each check is a function yielding Problems (severity "warning": the rule base still runs, but it
does not mean what its author wants). `CHECKS` lists them with their codes, as yamllint does.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from ..errors import KnowledgeBaseError, Problem
from . import rulebase as rulebase_mod
from .conditions import DerivedTest, Not, derived_read, evaluate, facts_read
from .domains import ValueClasses
from .layout import Layout, not_linked
from .rulebase import Rule, RuleBase

_MAX_ASSIGNMENTS = 50_000


def _warn(mark, message: str, code: str) -> Problem:
    return mark.problem(message, code, "warning")


def _positive_derived(rule: Rule) -> list[DerivedTest]:
    return [c for c in rule.when if isinstance(c, DerivedTest)]


def _negated_derived(rule: Rule) -> list[DerivedTest]:
    return [c.part for c in rule.when if isinstance(c, Not) and isinstance(c.part, DerivedTest)]


def unsatisfiable(rb: RuleBase) -> Iterator[Problem]:
    """Conditions that contradict each other, so the rule can never fire."""
    schema = rb.schema
    classes = ValueClasses(schema, [c for rule in rb.rules for c in rule.when]).values
    for rule in rb.rules:
        negated = {d.name for d in _negated_derived(rule)}
        clash = [d.name for d in _positive_derived(rule) if d.name in negated]
        if clash:
            yield _warn(
                rule.mark,
                f"rule '{rule.id}' can never fire: it needs '{clash[0]}' both "
                "derived and not derived",
                "unsatisfiable",
            )
            continue
        conds = [c for c in rule.when if not derived_read(c)]
        facts = list(dict.fromkeys(f for c in conds for f in facts_read(c)))
        domains = [classes[f] for f in facts]
        size = 1
        for d in domains:
            size *= len(d)
        if not facts or size > _MAX_ASSIGNMENTS:
            continue
        if not any(
            all(evaluate(c, dict(zip(facts, values)), (), schema.background) is True for c in conds)
            for values in itertools.product(*domains)
        ):
            yield _warn(
                rule.mark,
                f"rule '{rule.id}' can never fire: its conditions on "
                f"{', '.join(facts)} contradict each other",
                "unsatisfiable",
            )


def underived(rb: RuleBase) -> Iterator[Problem]:
    """A rule needs a derived fact that no rule derives."""
    produced = {name for rule in rb.rules for name in rule.derive}
    for rule in rb.rules:
        for test in _positive_derived(rule):
            if test.name not in produced:
                yield _warn(
                    test.mark,
                    f"rule '{rule.id}' can never fire: no rule derives '{test.name}'",
                    "underived-fact",
                )


_SUBSETS_UP_TO = 12  # conditions in a rule: its subsets are looked up, not every other rule
# Partial profiles the proof that a rule is redundant may enumerate, and that times the rules
# (each profile is tested by about all of them): a few seconds at most, however many rules.
_PROOF_STATES = 100_000
_PROOF_WORK = 20_000_000


def redundant(rb: RuleBase) -> Iterator[Problem]:
    """Rules with the same conclusion whose conditions are identical or include another's, and
    whose removal changes no recommendation over the whole answer space.

    Rules are grouped by conclusion, and within a group by their set of conditions, so each
    rule's smaller sets are looked up instead of comparing every pair of rules; each candidate is
    then confirmed by meaning, since two rules that add the same weight add it twice."""
    groups: dict[tuple, list[int]] = {}
    for i, rule in enumerate(rb.rules):
        groups.setdefault((rule.derive, rule.score, rule.conclude, rule.rule_out), []).append(i)
    found: list[tuple[int, int, Problem]] = []
    for members in groups.values():
        by_set: dict[frozenset, list[int]] = {}
        for i in members:
            by_set.setdefault(frozenset(rb.rules[i].when), []).append(i)
        for i in members:
            conds = frozenset(rb.rules[i].when)
            found += [
                (j, i, _duplicate(rb.rules[j], rb.rules[i]), rb.rules[i])
                for j in by_set[conds]
                if j < i
            ]
            for smaller in _proper_subsets(conds, by_set):
                found += [
                    (min(i, j), max(i, j), _subsumed(rb.rules[j], rb.rules[i]), rb.rules[i])
                    for j in by_set.get(smaller, ())
                ]
    if not found:
        return
    from ..reasoning.checker import WITNESS_SAMPLE, Checker  # needs the evaluator: a layer up

    # A rule that looks redundant by its conditions may still add weight that decides: it is
    # reported only when removing it changes no recommendation over the whole answer space, or,
    # where that space is too large to enumerate in a lint's time, on every sampled profile
    # (and the warning says so).
    checker = Checker(rb, [], states=min(_PROOF_STATES, _PROOF_WORK // len(rb.rules)))
    proved, unproved = checker.removable(list(dict.fromkeys(rule for *_, rule in found)))
    for _, _, problem, narrow in sorted(found, key=lambda item: item[:2]):
        if narrow.id in proved:
            yield problem
        elif narrow.id in unproved:
            yield replace(
                problem,
                message=f"{problem.message} (removing it changed no recommendation on "
                f"{WITNESS_SAMPLE} sampled profiles; the whole answer space is too large to "
                "prove it)",
            )


def _proper_subsets(conds: frozenset, known: dict[frozenset, list[int]]) -> Iterator[frozenset]:
    if len(conds) > _SUBSETS_UP_TO:  # rare: test the known sets instead
        yield from (other for other in known if other < conds)
        return
    items = list(conds)
    for size in range(len(items)):
        for subset in itertools.combinations(items, size):
            yield frozenset(subset)


def _duplicate(first: Rule, again: Rule) -> Problem:
    return _warn(
        again.mark,
        f"rule '{again.id}' has the same conditions and conclusion as '{first.id}' "
        f"({first.mark.path}:{first.mark.line})",
        "duplicate-rule",
    )


def _subsumed(wide: Rule, narrow: Rule) -> Problem:
    return _warn(
        narrow.mark,
        f"rule '{narrow.id}' is subsumed by '{wide.id}' ({wide.mark.path}:{wide.mark.line}): "
        f"whenever it fires, '{wide.id}' fires too with the same conclusion",
        "subsumed-rule",
    )


def unused(rb: RuleBase) -> Iterator[Problem]:
    """Questions no rule reads, and derived facts no rule tests or derives."""
    read = {f for rule in rb.rules for c in rule.when for f in facts_read(c)}
    for spec in rb.schema.facts.values():
        if spec.name not in read:
            yield _warn(
                spec.mark, f"fact '{spec.name}' is asked but no rule uses it", "unused-fact"
            )
    tested = {d for rule in rb.rules for c in rule.when for d in derived_read(c)}
    produced = {name for rule in rb.rules for name in rule.derive}
    for spec in rb.schema.derived.values():
        if spec.name not in tested:
            what = "tested" if spec.name in produced else "derived or tested"
            yield _warn(
                spec.mark,
                f"derived fact '{spec.name}' is never {what} by any rule",
                "unused-derived",
            )


def unreachable(rb: RuleBase) -> Iterator[Problem]:
    """Options that no rule can recommend."""
    for option in rb.schema.options.values():
        if not any(
            rule.conclude == option.name or dict(rule.score).get(option.name, 0) > 0
            for rule in rb.rules
        ):
            yield _warn(
                option.mark,
                f"no rule can recommend '{option.name}': none concludes it "
                "or gives it a positive score",
                "unreachable-option",
            )


def cycles(rb: RuleBase) -> Iterator[Problem]:
    """Derived facts that depend on each other, so none of their rules can fire first."""
    edges: dict[str, set[str]] = {}
    origin: dict[tuple[str, str], Rule] = {}
    for rule in rb.rules:
        for test in _positive_derived(rule):
            for name in rule.derive:
                edges.setdefault(test.name, set()).add(name)
                origin.setdefault((test.name, name), rule)
    # One warning for each group of facts that depend on each other (a strongly connected
    # component), naming its shortest cycle: linear in the rules, however dense the graph.
    for group in _components(edges):
        start = min(group)
        path = _shortest_cycle(start, group, edges)
        if path:
            yield _warn(
                origin[(path[-1], start)].mark,
                "derived facts form a cycle: "
                f"{' -> '.join(path + [start])}; no rule in it can fire first",
                "derived-cycle",
            )


def _components(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of a graph (Kosaraju's algorithm, without recursion)."""
    nodes = sorted(set(edges) | {n for targets in edges.values() for n in targets})
    order: list[str] = []
    seen: set[str] = set()
    for root in nodes:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(sorted(edges.get(root, ()))))]
        while stack:
            node, children = stack[-1]
            child = next((c for c in children if c not in seen), None)
            if child is None:
                order.append(node)
                stack.pop()
            else:
                seen.add(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    reverse: dict[str, set[str]] = {}
    for source, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    groups, assigned = [], set()
    for root in reversed(order):
        if root in assigned:
            continue
        group, stack = {root}, [root]
        assigned.add(root)
        while stack:
            for prev in reverse.get(stack.pop(), ()):
                if prev not in assigned:
                    assigned.add(prev)
                    group.add(prev)
                    stack.append(prev)
        groups.append(group)
    return sorted(groups, key=min)


def _shortest_cycle(start: str, group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest path from `start` back to itself inside `group` (empty when there is none)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges.get(node, ())):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if nxt in group and nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return []


def negation_order(rb: RuleBase) -> Iterator[Problem]:
    """A rule tests that a fact is not derived, but may run before the rule that derives it."""
    for rule in rb.rules:
        for test in _negated_derived(rule):
            for other in rb.rules:
                if test.name in other.derive and other.salience <= rule.salience:
                    yield _warn(
                        test.mark,
                        f"rule '{rule.id}' tests that '{test.name}' is not "
                        f"derived, but '{other.id}', which derives it, has salience "
                        f"{other.salience}, not above {rule.salience}: '{rule.id}' may "
                        "fire before it",
                        "negation-order",
                    )


CHECKS: tuple[tuple[str, Callable[[RuleBase], Iterator[Problem]]], ...] = (
    ("unsatisfiable", unsatisfiable),
    ("underived-fact", underived),
    ("duplicate-rule, subsumed-rule", redundant),
    ("unused-fact, unused-derived", unused),
    ("unreachable-option", unreachable),
    ("derived-cycle", cycles),
    ("negation-order", negation_order),
)


@dataclass
class Findings:
    """What lint found: the problems to report, and the warnings silenced where intended."""

    problems: list[Problem]
    ignored: list[Problem]


_IGNORE = re.compile(r"#\s*mm-advisor:\s*ignore\[([a-z, -]+)\]")
_ITEM = re.compile(r"^\s*-\s+(id|name):")


def lint(where: Layout) -> Findings:
    """Every problem of a knowledge base: load errors, then (when it loads) the semantic warnings
    and the problems of its invariant, scenario and profile files.

    A warning is silenced by the marker file's `[lint] ignore` list, or by a comment
    `# mm-advisor: ignore[code]` on its line, on the line above, or on (or above) the first line
    of the rule or fact it is about. Errors cannot be silenced.
    """
    from . import answers, invariants, scenarios

    rb, problems = rulebase_mod.check(where)
    if any(p.severity == "error" for p in problems):
        return Findings(problems, [])
    for kind, folder in ((invariants, where.invariants), (scenarios, where.scenarios)):
        try:
            problems += kind.check(kind.default_files(folder), rb)[1]
        except KnowledgeBaseError as exc:  # a link among them
            problems += exc.problems
    profiles, linked = not_linked(
        sorted(where.profiles.glob("*.yaml")) if where.profiles.is_dir() else []
    )
    problems += linked
    for path in profiles:
        problems += answers.check_file(path, rb.schema)
    problems += [p for _, check in CHECKS for p in check(rb)]
    kept, ignored = [], []
    lines: dict[str, list[str]] = {}
    for problem in sorted(problems):
        if problem.severity == "warning" and _silenced(problem, where, lines):
            ignored.append(problem)
        else:
            kept.append(problem)
    return Findings(kept, ignored)


def _silenced(problem: Problem, where: Layout, cache: dict[str, list[str]]) -> bool:
    if problem.code in where.ignore:
        return True
    if problem.path not in cache:
        try:
            cache[problem.path] = Path(problem.path).read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            cache[problem.path] = []
    text = cache[problem.path]
    at = problem.line - 1
    candidates = {at, at - 1}
    start = next((i for i in range(min(at, len(text) - 1), -1, -1) if _ITEM.match(text[i])), None)
    if start is not None:
        candidates |= {start, start - 1}
    for i in candidates:
        if 0 <= i < len(text):
            found = _IGNORE.search(text[i])
            if found and problem.code in {c.strip() for c in found.group(1).split(",")}:
                return True
    return False
