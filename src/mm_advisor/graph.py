"""See the rule base: facts -> rules -> derived facts -> options, as Mermaid or Graphviz dot."""

from __future__ import annotations

from .conditions import DerivedTest, derived_read, describe, facts_read
from .rulebase import Rule, RuleBase

Node = tuple[str, str]  # (kind, name): kind is fact, rule, derived or option


def edges(rb: RuleBase) -> list[tuple[Node, Node, str]]:
    """Every edge of the graph, in rule-file order: reads, derives, scores and decisions."""
    found: list[tuple[Node, Node, str]] = []
    for rule in rb.rules:
        node = ("rule", rule.id)
        for cond in rule.when:
            found += [(("fact", f), node, "") for f in facts_read(cond)]
            found += [(("derived", d), node, "not" if d not in _positive(rule) else "")
                      for d in derived_read(cond)]
        found += [(node, ("derived", d), "") for d in rule.derive]
        found += [(node, ("option", o), f"{w:+d}") for o, w in rule.score]
        if rule.conclude:
            found.append((node, ("option", rule.conclude), "decides"))
    return list(dict.fromkeys(found))


def _positive(rule: Rule) -> set[str]:
    return {c.name for c in rule.when if isinstance(c, DerivedTest)}


def _id(node: Node) -> str:
    return f"{node[0][0]}_{node[1].replace('-', '_')}"


_MERMAID_SHAPE = {"fact": '[/"{}"/]', "rule": '["{}"]', "derived": '(["{}"])', "option": '{{{{"{}"}}}}'}
_DOT_SHAPE = {"fact": "parallelogram", "rule": "box", "derived": "ellipse", "option": "hexagon"}


def mermaid(rb: RuleBase) -> str:
    lines = ["flowchart LR"]
    seen: set[Node] = set()
    for src, dst, label in edges(rb):
        for node in (src, dst):
            if node not in seen:
                seen.add(node)
                lines.append(f"  {_id(node)}{_MERMAID_SHAPE[node[0]].format(node[1])}")
        arrow = f' -- "{label}" --> ' if label else " --> "
        lines.append(f"  {_id(src)}{arrow}{_id(dst)}")
    return "\n".join(lines) + "\n"


def dot(rb: RuleBase) -> str:
    lines = ["digraph rulebase {", "  rankdir=LR;"]
    seen: set[Node] = set()
    for src, dst, label in edges(rb):
        for node in (src, dst):
            if node not in seen:
                seen.add(node)
                lines.append(f'  {_id(node)} [label="{node[1]}", shape={_DOT_SHAPE[node[0]]}];')
        attr = f' [label="{label}"]' if label else ""
        lines.append(f"  {_id(src)} -> {_id(dst)}{attr};")
    return "\n".join(lines + ["}"]) + "\n"


def dependents(rb: RuleBase, rule: Rule) -> list[tuple[str, str]]:
    """(rule id, derived fact) for every rule that tests a fact `rule` derives."""
    return [(other.id, name) for other in rb.rules for name in rule.derive
            if any(name in derived_read(c) for c in other.when)]


def show(rb: RuleBase, rule: Rule) -> str:
    """One rule in full: citation, conditions, conclusions, what it reads and who depends on it."""
    schema = rb.schema
    out = [f"{rule.id}: {rule.title}",
           f"  at {rule.location}, salience {rule.salience}",
           f"  cites {rule.source}",
           "  when:"]
    out += [f"    {i}. {describe(c, schema)}" for i, c in enumerate(rule.when, 1)]
    out.append("  then:")
    if rule.derive:
        out.append(f"    derive {', '.join(rule.derive)}")
    if rule.score:
        out.append(f"    score {', '.join(f'{o} {w:+d}' for o, w in rule.score)}")
    if rule.conclude:
        out.append(f"    conclude {rule.conclude}")
    facts = list(dict.fromkeys(f for c in rule.when for f in facts_read(c)))
    derived = list(dict.fromkeys(d for c in rule.when for d in derived_read(c)))
    producers = [f"{d} (from {', '.join(r.id for r in rb.rules if d in r.derive) or 'no rule'})"
                 for d in derived]
    out.append(f"  reads facts: {', '.join(facts) or 'none'}")
    out.append(f"  reads derived facts: {', '.join(producers) or 'none'}")
    deps = dependents(rb, rule)
    out.append("  rules that depend on it: "
               + (", ".join(f"{rid} (via {name})" for rid, name in deps) or "none"))
    return "\n".join(out) + "\n"
