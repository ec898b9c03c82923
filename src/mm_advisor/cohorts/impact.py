"""Whose recommendation a change of the knowledge base changes, and which rules' change did it.

Both knowledge bases run, on the fast evaluator, over the same profiles. A profile whose
recommendation differs is a transition (from -> to); its causes are the rules that changed
between the two (added, removed or edited) and fired for it under either one. A change that no
rule explains (a background figure, an option) is said as such.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..knowledge import diff
from ..knowledge.answers import set_options
from ..knowledge.rulebase import RuleBase
from ..knowledge.schema import Schema
from ..reasoning.evaluator import Evaluator
from .batch import parse
from .rows import Row

EXAMPLES = 5
HIDDEN = (
    "Examples are left out: they would show the answers of the people in the log "
    "(--show-answers shows them)."
)


@dataclass
class Transition:
    before: str
    after: str
    count: int = 0
    causes: Counter = field(default_factory=Counter)  # rule id -> profiles it explains
    examples: list[str] = field(default_factory=list)  # as consult lines to paste


@dataclass
class Impact:
    base: str  # the two rule-base digests
    current: str
    profiles: int = 0
    unchanged: Counter = field(default_factory=Counter)  # recommendation -> profiles
    transitions: dict[tuple[str, str], Transition] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # rows that could not be compared
    rule_changes: dict[str, str] = field(default_factory=dict)  # rule id -> its change in words

    @property
    def changed(self) -> int:
        return sum(t.count for t in self.transitions.values())

    def ordered(self) -> list[Transition]:
        return sorted(self.transitions.values(), key=lambda t: (-t.count, t.before, t.after))


def measure(
    base: RuleBase, current: RuleBase, rows: Iterable[Row], examples: bool = True
) -> Impact:
    """Run both knowledge bases over `rows` and gather what changed (with a few of the rows
    whose recommendation changes as `examples`, unless they are not to be shown)."""
    changes = {c.name: c for c in diff.compare(base, current) if c.kind == "rule"}
    impact = Impact(base.digest, current.digest)
    impact.rule_changes = {name: _words(change) for name, change in changes.items()}
    old, new = Evaluator(base), Evaluator(current)
    for row in rows:
        before_answers, _, problem = parse(row, base.schema)
        after_answers, _, problem_now = parse(row, current.schema)
        if before_answers is None or after_answers is None:
            impact.problems.append(problem or problem_now or f"row {row.number}")
            continue
        impact.profiles += 1
        before = old.outcome(before_answers.values)
        after = new.outcome(after_answers.values)
        if before.recommendation == after.recommendation:
            impact.unchanged[before.recommendation] += 1
            continue
        key = (before.recommendation, after.recommendation)
        transition = impact.transitions.setdefault(key, Transition(*key))
        transition.count += 1
        fired = {r.id for r in before.fired} | {r.id for r in after.fired}
        for rule_id in sorted(fired & changes.keys()) or ["(no rule)"]:
            transition.causes[rule_id] += 1
        if examples and len(transition.examples) < EXAMPLES:
            transition.examples.append(set_line(after_answers.values, current.schema))
    return impact


def _words(change: diff.Change) -> str:
    if change.status != "changed":
        return change.status
    return "changed: " + "; ".join(change.details) if change.details else "changed"


def set_line(answers: dict[str, Any], schema: Schema) -> str:
    """A consultation with these answers, ready to paste: the facts not given stay unknown (on a
    terminal, consult would otherwise ask for them)."""
    return f"mm-advisor consult --no-input {set_options(answers, schema)}".rstrip()


def matrix(impact: Impact, options: list[str]) -> dict[str, dict[str, int]]:
    """from -> to -> profiles, the diagonal being the unchanged ones; `options` gives the order
    (any recommendation not in it comes after)."""
    seen = set(impact.unchanged) | {k for key in impact.transitions for k in key}
    order = [o for o in options if o in seen] + sorted(seen - set(options))
    table = {a: {b: 0 for b in order} for a in order}
    for option, count in impact.unchanged.items():
        table[option][option] = count
    for (before, after), transition in impact.transitions.items():
        table[before][after] = transition.count
    return table


def to_json(
    impact: Impact,
    base_name: str,
    current_name: str,
    cohort: str,
    options: list[str],
    answers_shown: bool = True,
) -> dict[str, Any]:
    return {
        "base": {"name": base_name, "digest": impact.base},
        "current": {"name": current_name, "digest": impact.current},
        "cohort": cohort,
        "answers_shown": answers_shown,
        "profiles": impact.profiles,
        "changed": impact.changed,
        "not_compared": len(impact.problems),
        "problems": impact.problems[:EXAMPLES],
        "matrix": matrix(impact, options),
        "transitions": [
            {
                "from": t.before,
                "to": t.after,
                "count": t.count,
                "causes": [
                    {"rule": rule, "profiles": n, "change": impact.rule_changes.get(rule, "")}
                    for rule, n in sorted(t.causes.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
                "examples": t.examples,
            }
            for t in impact.ordered()
        ],
    }


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def to_text(report: dict[str, Any]) -> str:
    lines = [
        f"Impact of {report['current']['name']} against {report['base']['name']}, "
        f"over {report['profiles']:,} profiles ({report['cohort']}):",
        f"  {_count(report['changed'], 'recommendation changes', 'recommendations change')} "
        f"({_percent(report['changed'], report['profiles'])}).",
    ]
    if report["not_compared"]:
        lines.append(
            f"  {_count(report['not_compared'], 'row', 'rows')} could not be compared "
            f"(the first: {report['problems'][0]})."
        )
    lines += ["", *_grid(report["matrix"])]
    for t in report["transitions"]:
        lines += ["", f"{t['from']} -> {t['to']}: {_count(t['count'], 'profile', 'profiles')}"]
        for cause in t["causes"]:
            change = f" ({cause['change']})" if cause["change"] else ""
            what = (
                "a change that no rule explains (a figure, a fact or an option)"
                if cause["rule"] == "(no rule)"
                else f"{cause['rule']}{change}"
            )
            lines.append(f"  because of {what}: {cause['profiles']:,}")
        if t["examples"]:
            lines.append("  for example:")
            lines += [f"    {example}" for example in t["examples"]]
    if report["transitions"] and not report["answers_shown"]:
        lines += ["", HIDDEN]
    return "\n".join(lines) + "\n"


def _grid(table: dict[str, dict[str, int]]) -> list[str]:
    """The matrix as aligned text: a row for each recommendation before, a column for after."""
    names = list(table)
    width = max([len("before \\ after"), *(len(n) for n in names)])
    columns = [max(len(n), 6) for n in names]
    head = "before \\ after".ljust(width) + "".join(f"  {n:>{w}}" for n, w in zip(names, columns))
    rows = [
        name.ljust(width) + "".join(f"  {table[name][n]:>{w},}" for n, w in zip(names, columns))
        for name in names
    ]
    return [head, *rows]


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"### Impact of {report['current']['name']} against {report['base']['name']}",
        "",
        f"{report['changed']:,} of {report['profiles']:,} recommendations change "
        f"({_percent(report['changed'], report['profiles'])}) over {report['cohort']}.",
    ]
    names = list(report["matrix"])
    if names:
        lines += ["", "| before \\ after | " + " | ".join(names) + " |"]
        lines.append("|---|" + "---:|" * len(names))
        for name in names:
            cells = " | ".join(f"{report['matrix'][name][n]:,}" for n in names)
            lines.append(f"| {name} | {cells} |")
    if report["transitions"]:
        lines += ["", "| from | to | profiles | because of |", "|---|---|---:|---|"]
        for t in report["transitions"]:
            causes = ", ".join(f"`{c['rule']}` ({c['profiles']:,})" for c in t["causes"])
            lines.append(f"| {t['from']} | {t['to']} | {t['count']:,} | {causes} |")
        for t in report["transitions"]:
            if t["examples"]:
                lines += ["", f"**{t['from']} → {t['to']}**, for example:", "", "```sh"]
                lines += t["examples"] + ["```"]
        if not report["answers_shown"]:
            lines += ["", HIDDEN]
    return "\n".join(lines) + "\n"
