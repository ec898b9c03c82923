"""What changed between two versions of a knowledge base, in words.

Rules, questions, derived facts, options, background figures, invariants and sources are matched
by their id or name; each change is said the way a reviewer would: "condition added: ...",
"weight for full_masters changed from +2 to +3", "citation changed".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .conditions import describe
from .invariants import Invariant
from .rulebase import Rule, RuleBase

if TYPE_CHECKING:
    from .scenarios import Scenario

HEADINGS = {
    "rule": "Rules",
    "question": "Questions",
    "derived fact": "Derived facts",
    "option": "Options",
    "background": "Background figures",
    "invariant": "Invariants",
    "scenario": "Scenarios",
    "source": "Sources",
}
KINDS = tuple(HEADINGS)


@dataclass
class Change:
    kind: str  # one of KINDS
    name: str
    status: str  # "added", "removed" or "changed"
    title: str  # what it is, in a few words
    details: list[str] = field(default_factory=list)  # for a change: each difference in words


def compare(
    old: RuleBase,
    new: RuleBase,
    old_invariants: Iterable[Invariant] = (),
    new_invariants: Iterable[Invariant] = (),
    old_scenarios: Iterable[Scenario] = (),
    new_scenarios: Iterable[Scenario] = (),
) -> list[Change]:
    """Every difference between `old` and `new`, kind by kind, in the new files' order."""
    changes: list[Change] = []
    changes += _match(
        "rule",
        {r.id: r for r in old.rules},
        {r.id: r for r in new.rules},
        lambda r: r.title,
        lambda a, b: _rule(a, b, old, new),
    )
    changes += _match(
        "question",
        old.schema.facts,
        new.schema.facts,
        lambda f: f.question,
        _question,
    )
    changes += _match(
        "derived fact",
        old.schema.derived,
        new.schema.derived,
        lambda d: d.description,
        lambda a, b: _fields(a, b, ("description",)),
    )
    changes += _match(
        "option",
        old.schema.options,
        new.schema.options,
        lambda o: o.label,
        lambda a, b: _fields(a, b, ("label", "expect")),
    )
    changes += _match(
        "background",
        old.schema.background,
        new.schema.background,
        lambda v: str(v),
        lambda a, b: [] if a == b else [f"value changed from {a!r} to {b!r}"],
    )
    changes += _match(
        "invariant",
        {i.id: i for i in old_invariants},
        {i.id: i for i in new_invariants},
        lambda i: i.statement,
        lambda a, b: _invariant(a, b, old, new),
    )
    changes += _match(
        "scenario",
        {sc.name: sc for sc in old_scenarios},
        {sc.name: sc for sc in new_scenarios},
        lambda sc: sc.where,
        _scenario,
    )
    changes += _match(
        "source",
        old.sources,
        new.sources,
        lambda s: s.title,
        lambda a, b: (
            _fields(a, b, ("title", "file", "url", "date"))
            + (["its text changed"] if a.text != b.text else [])
        ),
    )
    return changes


def _match(
    kind: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    title,
    details,
) -> list[Change]:
    found = []
    for name, item in new.items():
        if name not in old:
            found.append(Change(kind, name, "added", title(item)))
        else:
            said = details(old[name], item)
            if said:
                found.append(Change(kind, name, "changed", title(item), said))
    found += [Change(kind, name, "removed", title(old[name])) for name in old if name not in new]
    return found


def _scenario(a: Scenario, b: Scenario) -> list[str]:
    """What a scenario now gives or expects otherwise (where it stands in its file aside)."""
    said = [
        f"answer {name} changed from {a.answers.get(name)!r} to {b.answers.get(name)!r}"
        for name in dict.fromkeys([*a.answers, *b.answers])
        if a.answers.get(name) != b.answers.get(name)
    ]
    return said + _fields(a, b, ("recommendation", "fires", "not_fires", "ruled_out"))


def _fields(a: Any, b: Any, names: tuple[str, ...]) -> list[str]:
    return [
        f"{name} changed from {getattr(a, name)!r} to {getattr(b, name)!r}"
        for name in names
        if getattr(a, name) != getattr(b, name)
    ]


def _conditions(old: Iterable, new: Iterable, old_rb: RuleBase, new_rb: RuleBase) -> list[str]:
    before = Counter(describe(c, old_rb.schema) for c in old)
    after = Counter(describe(c, new_rb.schema) for c in new)
    said = [f"condition removed: {c}" for c in (before - after).elements()]
    said += [f"condition added: {c}" for c in (after - before).elements()]
    return said


def _citation(a, b) -> list[str]:
    said = []
    if a.document != b.document:
        said.append(f"citation now from source '{b.document}' (was '{a.document}')")
    if a.section != b.section:
        said.append(f"citation section changed from '{a.section}' to '{b.section}'")
    if a.quote != b.quote:
        said.append(f'citation quote changed from "{a.quote}" to "{b.quote}"')
    return said


def _rule(a: Rule, b: Rule, old: RuleBase, new: RuleBase) -> list[str]:
    said = []
    if a.title != b.title:
        said.append(f'title changed from "{a.title}" to "{b.title}"')
    said += _citation(a.source, b.source)
    if a.salience != b.salience:
        said.append(f"salience changed from {a.salience} to {b.salience}")
    said += _conditions(a.when, b.when, old, new)
    said += [f"now derives {d}" for d in b.derive if d not in a.derive]
    said += [f"no longer derives {d}" for d in a.derive if d not in b.derive]
    before, after = dict(a.score), dict(b.score)
    for option in dict.fromkeys([*after, *before]):
        if option not in before:
            said.append(f"weight for {option} added: {after[option]:+d}")
        elif option not in after:
            said.append(f"weight for {option} removed (was {before[option]:+d})")
        elif before[option] != after[option]:
            said.append(
                f"weight for {option} changed from {before[option]:+d} to {after[option]:+d}"
            )
    if a.conclude != b.conclude:
        said.append(f"decides {b.conclude or 'nothing'} (was {a.conclude or 'nothing'})")
    said += [f"now rules out {o}" for o in b.rule_out if o not in a.rule_out]
    said += [f"no longer rules out {o}" for o in a.rule_out if o not in b.rule_out]
    file_a, file_b = a.location.rsplit(":", 1)[0], b.location.rsplit(":", 1)[0]
    if file_a != file_b:
        said.append(f"moved from {file_a} to {file_b}")
    return said


def _question(a, b) -> list[str]:
    said = _fields(a, b, ("type", "question", "unit", "choices", "minimum", "maximum"))
    if a.help != b.help:
        said.append("help text changed")
    return said


def _invariant(a: Invariant, b: Invariant, old: RuleBase, new: RuleBase) -> list[str]:
    said = _fields(
        a, b, ("statement", "kind", "allowed", "fact", "change", "mode", "option", "facts")
    )
    said += _citation(a.source, b.source)
    said += _conditions(a.when, b.when, old, new)
    return said


# Reports.


def to_text(changes: list[Change], old_name: str, new_name: str) -> str:
    if not changes:
        return f"No differences between {old_name} and {new_name}.\n"
    out = [f"From {old_name} to {new_name}:"]
    for kind in KINDS:
        these = [c for c in changes if c.kind == kind]
        if not these:
            continue
        out += ["", HEADINGS[kind]]
        for c in these:
            out.append(f"  {c.status:<8}{c.name}: {c.title}")
            out += [f"            {d}" for d in c.details]
    count = len(changes)
    out += ["", f"{count} difference{'s' * (count != 1)}."]
    return "\n".join(out) + "\n"


def to_markdown(changes: list[Change], old_name: str, new_name: str) -> str:
    out = [f"### Knowledge-base changes: `{old_name}` → `{new_name}`", ""]
    if not changes:
        return "\n".join(out + ["No differences."]) + "\n"
    for kind in KINDS:
        these = [c for c in changes if c.kind == kind]
        if not these:
            continue
        out += [f"**{HEADINGS[kind]}**", ""]
        for c in these:
            out.append(f"- {c.status} `{c.name}`: {c.title}")
            out += [f"  - {d}" for d in c.details]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def to_json(changes: list[Change], old_name: str, new_name: str) -> dict[str, Any]:
    return {
        "from": old_name,
        "to": new_name,
        "changes": [
            {
                "kind": c.kind,
                "name": c.name,
                "status": c.status,
                "title": c.title,
                "details": c.details,
            }
            for c in changes
        ],
    }
