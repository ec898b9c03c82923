"""The invariant checker's report for a person (text), a program (JSON) or a pull request (GitHub)."""

from __future__ import annotations

from typing import Any

from ..knowledge.answers import set_options
from ..knowledge.rulebase import RuleBase
from ..knowledge.schema import UNDETERMINED
from ..reasoning.checker import Report
from ..reasoning.decision import ONLY_OPTION, UNDETERMINED_WHY
from . import render


def share(report: Report) -> str:
    """The recommendations over the whole answer space, and how they were reached, in words."""
    total = report.space or 1
    parts = [f"{rec} {n / total:.1%}" for rec, n in report.distribution.most_common()]
    why: dict[str, int] = {}
    for reason, n in report.reasons.items():
        if reason in UNDETERMINED_WHY:
            why[UNDETERMINED_WHY[reason]] = why.get(UNDETERMINED_WHY[reason], 0) + n
    undetermined = ", ".join(f"{n / total:.1%} {words}" for words, n in sorted(why.items()))
    recommended = total - report.distribution.get(UNDETERMINED, 0) or 1
    return (
        ", ".join(parts)
        + (f" (undetermined: {undetermined})" if undetermined else "")
        + f". Reached by elimination: {report.reasons.get(ONLY_OPTION, 0) / total:.1%} of all"
        + f" profiles; recommendations with evidence against them: {report.against / recommended:.1%}"
    )


_VACUOUS = {
    "outcome": "It cannot fail: no profile meets its 'when', or every result is allowed.",
    "monotone": "It cannot fail: no profile gives the result it protects on the side it "
    "protects it, so the change is never tested.",
    "unknown": "It cannot fail: no question's known answers ever agree on a recommendation.",
}


def to_text(report: Report, rulebase: RuleBase) -> str:
    out = []
    for f in report.findings:
        inv = f.invariant
        word = "VACUOUS" if f.vacuous else "holds" if f.holds else "FAILS"
        out.append(
            f"{word}  {render.safe(inv.id)}  ({render.safe(inv.where)}, {f.cases:,} profiles)"
        )
        if not f.holds:
            out.append(render.para(inv.statement, 7))
            out.append("       counterexample (mm-advisor consult --no-input ...):")
            for answers, recommendation in f.examples:
                out.append(f"         {set_options(answers, rulebase.schema) or '(no answers)'}")
                out.append(f"           gives {recommendation}")
        if f.vacuous:
            out.append(render.para(_VACUOUS[inv.kind], 7))
    failed, vacuous = len(report.failed), len(report.vacuous)
    out.append("")
    out.append(
        f"{len(report.findings)} invariants: {len(report.findings) - failed - vacuous} hold, "
        f"{failed} fail, {vacuous} hold vacuously, over the whole answer space of "
        f"{report.space:,} profiles (every class of every answer)."
    )
    out.append(f"Recommendations over the answer space: {share(report)}.")
    return "\n".join(out) + "\n"


def to_json(report: Report, rulebase: RuleBase) -> dict[str, Any]:
    total = report.space or 1
    return {
        "space": report.space,
        "distribution": {rec: n / total for rec, n in sorted(report.distribution.items())},
        "reasons": {reason: n / total for reason, n in sorted(report.reasons.items())},
        "with_evidence_against": report.against
        / (total - report.distribution.get(UNDETERMINED, 0) or 1),
        "invariants": [
            {
                "id": f.invariant.id,
                "statement": f.invariant.statement,
                "location": f.invariant.where,
                "holds": f.holds,
                "vacuous": f.vacuous,
                "cases": f.cases,
                "premises": f.premises,
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
    for f in report.vacuous:
        inv = f.invariant
        out.append(
            f"::error file={inv.mark.path},line={inv.mark.line},col={inv.mark.col},"
            f"title=invariant {inv.id}::{inv.statement} {_VACUOUS[inv.kind]}"
        )
    for f in report.failed:
        inv = f.invariant
        shown = "; ".join(f"{set_options(a, rulebase.schema)} gives {rec}" for a, rec in f.examples)
        out.append(
            f"::error file={inv.mark.path},line={inv.mark.line},col={inv.mark.col},"
            f"title=invariant {inv.id}::{inv.statement} Counterexample: {shown}"
        )
    return "".join(line + "\n" for line in out)
