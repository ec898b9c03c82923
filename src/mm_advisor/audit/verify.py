"""Verify a trace: is it intact, is the rule base the same, and does it still replay the same?"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from ..errors import AnswerError, TraceError
from ..explanation.render import safe, value
from ..knowledge.answers import parse_recorded
from ..knowledge.rulebase import RuleBase
from ..reasoning.advisor import Advisor
from . import trace

_REQUIRED = {
    "answers": dict,
    "fired": list,
    "recommendation": str,
    "rulebase": dict,
    "content_digest": str,
}


@dataclass
class Verification:
    content_ok: bool
    changed_files: list[tuple[str, str]]  # (logical path, "changed" | "added" | "removed")
    rulebase_ok: bool
    replayed: str | None  # the recommendation on replay, None when the answers no longer load
    replay_error: str | None = None
    firing_diff: list[str] = field(default_factory=list)
    recorded: str = ""
    score_change: tuple[dict, dict] | None = None  # (recorded, replayed) when they differ

    @property
    def reproduced(self) -> bool:
        return self.replayed == self.recorded and not self.firing_diff and not self.score_change

    @property
    def ok(self) -> bool:
        return self.content_ok and self.rulebase_ok and self.reproduced


def check_shape(doc: dict[str, Any], path: str) -> None:
    for key, kind in _REQUIRED.items():
        if not isinstance(doc.get(key), kind):
            raise TraceError(f"{path}: not an mm-advisor trace: '{key}' is missing or malformed")


def _firing_lines(fired: list[dict[str, Any]]) -> list[str]:
    lines = []
    for f in fired:
        on = ", ".join(f"{m['fact']}={value(m['value'])}" for m in f.get("matched", []))
        lines.append(f"{f.get('rule')} on {on}")
    return lines


def verify(doc: dict[str, Any], rulebase: RuleBase, advisor: Advisor) -> Verification:
    """Check the content digest, compare the rule-base files and replay the recorded answers."""
    content_ok = trace.content_digest(doc) == doc["content_digest"]
    recorded_files = {f.get("path"): f.get("digest") for f in doc["rulebase"].get("files", [])}
    current_files = {f.logical: f.digest for f in rulebase.files}
    changed = sorted(
        [
            (p, "changed")
            for p in recorded_files.keys() & current_files.keys()
            if recorded_files[p] != current_files[p]
        ]
        + [(p, "removed") for p in recorded_files.keys() - current_files.keys()]
        + [(p, "added") for p in current_files.keys() - recorded_files.keys()]
    )
    rulebase_ok = doc["rulebase"].get("digest") == rulebase.digest
    result = Verification(content_ok, changed, rulebase_ok, None, recorded=doc["recommendation"])
    try:
        answers = parse_recorded(doc["answers"], rulebase.schema).completed(rulebase.schema)
    except AnswerError as exc:
        result.replay_error = str(exc)
        return result
    replay = trace.build(rulebase, answers, advisor.consult(answers.values))
    result.replayed = replay["recommendation"]
    if replay["scores"] != doc.get("scores"):
        result.score_change = (doc.get("scores"), replay["scores"])
    result.firing_diff = list(
        difflib.unified_diff(
            _firing_lines(doc["fired"]),
            _firing_lines(replay["fired"]),
            "recorded firings",
            "replayed on the current rules",
            n=1,
            lineterm="",
        )
    )
    return result


def report(v: Verification) -> str:
    """The verification as lines a person reads; every line from the trace is made safe."""
    out = [
        "content digest: "
        + ("ok" if v.content_ok else "MISMATCH: the trace was edited after it was written")
    ]
    if v.rulebase_ok:
        out.append("rule base: same as the current rule and fact files")
    else:
        out.append("rule base: DIFFERENT from the current files")
        out += [f"  {status}: {safe(path)}" for path, status in v.changed_files]
    if v.replay_error:
        out.append(f"replay: impossible on the current rules: {safe(v.replay_error)}")
    elif v.replayed == v.recorded:
        out.append(f"replay: recommendation reproduced ({safe(v.recorded)})")
    else:
        out.append(
            f"replay: recommendation CHANGED: recorded {safe(v.recorded)}, now {safe(v.replayed)}"
        )
    if v.score_change:
        before, after = (
            ", ".join(f"{safe(k)} {w:+d}" for k, w in scores.items()) for scores in v.score_change
        )
        out.append(f"replay: scores CHANGED: recorded {before}; now {after}")
    if v.firing_diff:
        out.append("replay: firings differ:")
        out += ["  " + safe(line) for line in v.firing_diff]
    elif not v.replay_error:
        out.append("replay: same rules fired in the same order on the same facts")
    out.append("verified: trace intact and reproduced" if v.ok else "verification FAILED")
    return "\n".join(out) + "\n"
