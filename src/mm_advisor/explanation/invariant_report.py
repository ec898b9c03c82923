"""The invariant checker's report for a person (text), a program (JSON) or a pull request (GitHub)."""

from __future__ import annotations

from typing import Any

from ..knowledge.answers import set_options
from ..knowledge.rulebase import RuleBase
from ..reasoning.checker import Report
from . import render


def share(report: Report) -> str:
    """The recommendations over the whole answer space, in words."""
    total = report.space or 1
    parts = [f"{rec} {n / total:.1%}" for rec, n in report.distribution.most_common()]
    ties, none = report.reasons.get("tie", 0), report.reasons.get("no-evidence", 0)
    return (
        ", ".join(parts)
        + f" (undetermined: {none / total:.1%} without evidence, {ties / total:.1%} ties)"
    )


def to_text(report: Report, rulebase: RuleBase) -> str:
    out = []
    for f in report.findings:
        inv = f.invariant
        word = "holds" if f.holds else "FAILS"
        out.append(
            f"{word}  {render.safe(inv.id)}  ({render.safe(inv.where)}, {f.cases:,} profiles)"
        )
        if not f.holds:
            out.append(render.para(inv.statement, 7))
            out.append("       counterexample (mm-advisor consult --no-input ...):")
            for answers, recommendation in f.examples:
                out.append(f"         {set_options(answers, rulebase.schema) or '(no answers)'}")
                out.append(f"           gives {recommendation}")
    failed = len(report.failed)
    out.append("")
    out.append(
        f"{len(report.findings)} invariants: {len(report.findings) - failed} hold, {failed} "
        f"fail, over the whole answer space of {report.space:,} profiles (every class of every "
        "answer)."
    )
    out.append(f"Recommendations over the answer space: {share(report)}.")
    return "\n".join(out) + "\n"


def to_json(report: Report, rulebase: RuleBase) -> dict[str, Any]:
    total = report.space or 1
    return {
        "space": report.space,
        "distribution": {rec: n / total for rec, n in sorted(report.distribution.items())},
        "reasons": {reason: n / total for reason, n in sorted(report.reasons.items())},
        "invariants": [
            {
                "id": f.invariant.id,
                "statement": f.invariant.statement,
                "location": f.invariant.where,
                "holds": f.holds,
                "cases": f.cases,
                "counterexample": [
                    {
                        "set": set_options(answers, rulebase.schema),
                        "answers": answers,
                        "recommendation": recommendation,
                    }
                    for answers, recommendation in f.examples
                ],
            }
            for f in report.findings
        ],
    }


def to_github(report: Report, rulebase: RuleBase) -> str:
    out = []
    for f in report.failed:
        inv = f.invariant
        shown = "; ".join(f"{set_options(a, rulebase.schema)} gives {rec}" for a, rec in f.examples)
        out.append(
            f"::error file={inv.mark.path},line={inv.mark.line},col={inv.mark.col},"
            f"title=invariant {inv.id}::{inv.statement} Counterexample: {shown}"
        )
    return "".join(line + "\n" for line in out)
