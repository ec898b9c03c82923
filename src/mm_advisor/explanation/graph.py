"""See the rule base: facts -> rules -> derived facts -> options, as Mermaid or Graphviz dot."""

from __future__ import annotations

from typing import Callable

from ..knowledge.conditions import DerivedTest, derived_read, describe, facts_read
from ..knowledge.rulebase import Rule, RuleBase

Node = tuple[str, str]  # (kind, name): kind is fact, rule, derived or option


def edges(rb: RuleBase) -> list[tuple[Node, Node, str]]:
    """Every edge of the graph, in rule-file order: reads, derives, scores and decisions."""
    found: list[tuple[Node, Node, str]] = []
    for rule in rb.rules:
        node = ("rule", rule.id)
        for cond in rule.when:
            found += [(("fact", f), node, "") for f in facts_read(cond)]
            found += [
                (("derived", d), node, "not" if d not in _positive(rule) else "")
                for d in derived_read(cond)
            ]
        found += [(node, ("derived", d), "") for d in rule.derive]
        found += [(node, ("option", o), f"{w:+d}") for o, w in rule.score]
        if rule.conclude:
            found.append((node, ("option", rule.conclude), "decides"))
        found += [(node, ("option", o), "rules out") for o in rule.rule_out]
    return list(dict.fromkeys(found))


def _positive(rule: Rule) -> set[str]:
    return {c.name for c in rule.when if isinstance(c, DerivedTest)}


def _id(node: Node) -> str:
    return f"{node[0][0]}_{node[1].replace('-', '_')}"


_MERMAID_SHAPE = {
    "fact": '[/"{}"/]',
    "rule": '["{}"]',
    "derived": '(["{}"])',
    "option": '{{{{"{}"}}}}',
}
_DOT_SHAPE = {"fact": "parallelogram", "rule": "box", "derived": "ellipse", "option": "hexagon"}


def _draw(rb: RuleBase, node: Callable[[Node], str], edge: Callable[[Node, Node, str], str]):
    """Each node the first time it appears, then each edge, in rule-file order."""
    lines: list[str] = []
    seen: set[Node] = set()
    for src, dst, label in edges(rb):
        for n in (src, dst):
            if n not in seen:
                seen.add(n)
                lines.append(node(n))
        lines.append(edge(src, dst, label))
    return lines


def mermaid(rb: RuleBase) -> str:
    lines = _draw(
        rb,
        lambda n: f"  {_id(n)}{_MERMAID_SHAPE[n[0]].format(n[1])}",
        lambda s, d, label: f"  {_id(s)}" + (f' -- "{label}" --> ' if label else " --> ") + _id(d),
    )
    return "\n".join(["flowchart LR", *lines]) + "\n"


def dot(rb: RuleBase) -> str:
    lines = _draw(
        rb,
        lambda n: f'  {_id(n)} [label="{n[1]}", shape={_DOT_SHAPE[n[0]]}];',
        lambda s, d, label: (
            f"  {_id(s)} -> {_id(d)}" + (f' [label="{label}"]' if label else "") + ";"
        ),
    )
    return "\n".join(["digraph rulebase {", "  rankdir=LR;", *lines, "}"]) + "\n"


def dependents(rb: RuleBase, rule: Rule) -> list[tuple[str, str]]:
    """(rule id, derived fact) for every rule that tests a fact `rule` derives."""
    return [
        (other.id, name)
        for other in rb.rules
        for name in rule.derive
        if any(name in derived_read(c) for c in other.when)
    ]


def show_data(rb: RuleBase, rule: Rule) -> dict:
    """One rule in full, as data."""
    schema = rb.schema
    derived = list(dict.fromkeys(d for c in rule.when for d in derived_read(c)))
    return {
        "id": rule.id,
        "title": rule.title,
        "location": rule.location,
        "salience": rule.salience,
        "source": {
            "document": rule.source.document,
            "title": rb.sources[rule.source.document].title,
            "section": rule.source.section,
            "quote": rule.source.quote,
        },
        "when": [describe(c, schema) for c in rule.when],
        "then": {
            "derive": list(rule.derive),
            "score": dict(rule.score),
            "conclude": rule.conclude,
            "rule_out": list(rule.rule_out),
        },
        "reads_facts": list(dict.fromkeys(f for c in rule.when for f in facts_read(c))),
        "reads_derived": {d: [r.id for r in rb.rules if d in r.derive] for d in derived},
        "dependents": [{"rule": rid, "via": name} for rid, name in dependents(rb, rule)],
    }


def _document(rb: RuleBase, rule: Rule) -> str:
    """The document a rule cites, by its title and its id in sources.yaml."""
    source = rb.sources.get(rule.source.document)
    return f'"{source.title}" ({source.id})' if source else rule.source.document


def show(rb: RuleBase, rule: Rule) -> str:
    """One rule in full: citation, conditions, conclusions, what it reads and who depends on it."""
    schema = rb.schema
    out = [
        f"{rule.id}: {rule.title}",
        f"  at {rule.location}, salience {rule.salience}",
        f"  cites {_document(rb, rule)}, {rule.source}",
        "  when:",
    ]
    out += [f"    {i}. {describe(c, schema)}" for i, c in enumerate(rule.when, 1)]
    out.append("  then:")
    if rule.derive:
        out.append(f"    derive {', '.join(rule.derive)}")
    if rule.score:
        out.append(f"    score {', '.join(f'{o} {w:+d}' for o, w in rule.score)}")
    if rule.conclude:
        out.append(f"    conclude {rule.conclude}")
    if rule.rule_out:
        out.append(f"    rule out {', '.join(rule.rule_out)}")
    facts = list(dict.fromkeys(f for c in rule.when for f in facts_read(c)))
    derived = list(dict.fromkeys(d for c in rule.when for d in derived_read(c)))
    producers = [
        f"{d} (from {', '.join(r.id for r in rb.rules if d in r.derive) or 'no rule'})"
        for d in derived
    ]
    out.append(f"  reads facts: {', '.join(facts) or 'none'}")
    out.append(f"  reads derived facts: {', '.join(producers) or 'none'}")
    deps = dependents(rb, rule)
    out.append(
        "  rules that depend on it: "
        + (", ".join(f"{rid} (via {name})" for rid, name in deps) or "none")
    )
    return "\n".join(out) + "\n"
