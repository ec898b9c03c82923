"""The mutation report for an advisor (text), a program (JSON) or a pull request (GitHub)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..knowledge.answers import set_options
from ..knowledge.schema import Schema
from ..reasoning.mutation import EFFECT, KINDS, SCENARIO, Verdict
from . import render


@dataclass(frozen=True)
class Score:
    """Killed mutants over all mutants, in all and per kind."""

    verdicts: Sequence[Verdict]

    def of(self, kind: str | None = None) -> tuple[int, int]:
        chosen = [v for v in self.verdicts if kind is None or v.mutant.kind == kind]
        return sum(v.killed for v in chosen), len(chosen)

    @property
    def percent(self) -> float:
        killed, total = self.of()
        return 100.0 * killed / total if total else 100.0


def _where(verdict: Verdict) -> str:
    mark = verdict.mutant.rule.mark
    return f"{mark.path}:{mark.line}:{mark.col}"


def _survivor(verdict: Verdict, schema: Schema) -> str:
    mutant = verdict.mutant
    text = f"{mutant.rule.id}: {mutant.change}"
    if verdict.equivalent:
        return text + " (it changes no recommendation: no advice depends on this)"
    answers, before, after = verdict.example
    return (
        f"{text}; no scenario or invariant notices, yet it changes "
        f"{set_options(answers, schema) or '(no answers)'} from {before} to {after}"
    )


def to_text(verdicts: Sequence[Verdict], schema: Schema) -> str:
    out = []
    for v in verdicts:
        if not v.killed:
            word = "equivalent" if v.equivalent else "survived"
            out.append(f"{_where(v)}: {word}: {render.safe(_survivor(v, schema))}")
    score = Score(verdicts)
    killed, total = score.of()
    by_scenario = sum(v.check == SCENARIO for v in verdicts)
    equivalent = sum(v.equivalent for v in verdicts)
    if out:
        out.append("")
    out.append(
        f"{total} mutants: {killed} killed ({score.percent:.1f}%), {by_scenario} by scenarios and "
        f"{killed - by_scenario} by invariants; {total - killed} survived, {equivalent} of them "
        "changing no recommendation."
    )
    kinds = [k for k in KINDS if score.of(k)[1]]
    out.append(
        "By kind: " + ", ".join(f"{k} {score.of(k)[0]}/{score.of(k)[1]}" for k in kinds) + "."
    )
    return "\n".join(out) + "\n"


def to_json(verdicts: Sequence[Verdict], schema: Schema) -> dict[str, Any]:
    score = Score(verdicts)
    killed, total = score.of()
    return {
        "mutants": total,
        "killed": killed,
        "score": score.percent,
        "by_kind": {k: dict(zip(("killed", "mutants"), score.of(k))) for k in KINDS},
        "results": [
            {
                "rule": v.mutant.rule.id,
                "location": _where(v),
                "kind": v.mutant.kind,
                "change": v.mutant.change,
                "killed_by": v.killed_by,
                "equivalent": v.equivalent,
                "changes": None
                if v.example is None
                else {
                    "set": set_options(v.example[0], schema),
                    "answers": v.example[0],
                    "from": v.example[1],
                    "to": v.example[2],
                },
            }
            for v in verdicts
        ],
    }


def to_github(verdicts: Sequence[Verdict], schema: Schema) -> str:
    out = []
    for v in verdicts:
        if not v.killed:
            mark = v.mutant.rule.mark
            level = "error" if v.mutant.kind == EFFECT else "warning"
            out.append(
                f"::{level} file={mark.path},line={mark.line},col={mark.col},"
                f"title=surviving mutant::{_survivor(v, schema)}"
            )
    return "".join(render.safe(line) + "\n" for line in out)
