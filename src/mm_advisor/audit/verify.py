"""Verify a trace: is it intact (digest, signature), and do today's rules reach it again?

What is found, worst first, and its exit code:
  1  tampered: the digest does not match, the signature fails, a signed trace was expected, the
     log's columns say otherwise than the trace, or the same rule files (and the same version
     of mm-advisor) reach anything else than the trace says: they cannot, so it was edited
  5  not verified: signed, but by a key not given, or no key was given to check it
  3  intact, but today's rules reach a different recommendation (or cannot consult its answers)
  4  intact, the same recommendation, but the reasoning differs (rules fired, scores, derived
     facts, the decision's reason)
  0  intact, and today's rules reproduce it
The replay uses the fast evaluator (the engine's semantics, certified by a differential test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import AnswerError
from ..explanation.render import safe, weight
from ..knowledge.answers import parse_recorded
from ..knowledge.rulebase import RuleBase
from ..reasoning.advisor import Advisor
from . import signing, trace, validation

REPRODUCED, TAMPERED, CHANGED, REASONING = "reproduced", "tampered", "changed", "reasoning"
UNVERIFIED = "unverified"
EXIT = {REPRODUCED: 0, TAMPERED: 1, UNVERIFIED: 5, CHANGED: 3, REASONING: 4}
WORDS = {
    REPRODUCED: "intact, and today's rules reproduce it",
    TAMPERED: "TAMPERED: it was changed after it was written",
    UNVERIFIED: "NOT VERIFIED: signed, but not by a key given to check it",
    CHANGED: "intact, but today's rules reach a DIFFERENT RECOMMENDATION",
    REASONING: "intact, the same recommendation, but the REASONING DIFFERS",
}


@dataclass
class Verification:
    where: str
    digest_ok: bool
    signature: str  # signing.VALID, INVALID, UNSIGNED, OTHER_KEY, MALFORMED, or "not checked"
    key_id: str | None
    expected_signature: bool  # a public key was given: the trace must be signed with it
    invalid: str | None = None  # the first way the trace breaks its schema
    changed_files: list[tuple[str, str]] = field(default_factory=list)
    recorded: str = ""
    replayed: str | None = None
    replay_error: str | None = None
    now_fire: list[str] = field(default_factory=list)
    no_longer_fire: list[str] = field(default_factory=list)
    order_changed: bool = False
    score_changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    log_columns: list[str] = field(default_factory=list)  # what of a log entry was edited
    same_rules: bool = False  # the same rule files and the same mm-advisor as when it was made
    other_changes: list[str] = field(default_factory=list)  # derived facts, the decision

    @property
    def differs(self) -> bool:
        """Whether today's replay reaches anything else than the trace says."""
        return bool(
            self.replay_error
            or self.replayed != self.recorded
            or self.now_fire
            or self.no_longer_fire
            or self.order_changed
            or self.score_changes
            or self.other_changes
        )

    @property
    def edited(self) -> bool:
        """The same rules reach something else: only an edit of the trace can explain it."""
        return self.same_rules and self.differs

    @property
    def tampered(self) -> bool:
        if self.invalid or not self.digest_ok or self.log_columns or self.edited:
            return True
        if self.signature in (signing.INVALID, signing.MALFORMED, signing.NOT_THEN):
            return True
        return self.expected_signature and self.signature == signing.UNSIGNED

    @property
    def status(self) -> str:
        if self.tampered:
            return TAMPERED
        if self.signature in ("not checked", signing.OTHER_KEY):
            return UNVERIFIED
        if self.replay_error or self.replayed != self.recorded:
            return CHANGED
        if self.differs:
            return REASONING
        return REPRODUCED

    @property
    def exit_code(self) -> int:
        return EXIT[self.status]


def integrity(
    doc: Any, where: str, verifier: signing.Verifier | None = None, digest: str | None = None
) -> Verification:
    """The digest, signature and schema checks only: what explain needs before it reads.
    (`digest`: the digest of the trace's canonical form, when its reader has computed it.)

    A trace whose digest matches and whose signature is valid is exactly what the key's holder
    signed, and mm-advisor signs only traces it built, so it is valid by construction: the
    schema check, the slowest part, is then skipped (this is what makes bulk checks fast)."""
    recorded = doc.get("content_digest") if isinstance(doc, dict) else None
    digest_ok = isinstance(recorded, str) and (digest or trace.content_digest(doc)) == recorded
    signature = doc.get("signature") if isinstance(doc, dict) else None
    key = signature.get("key_id") if isinstance(signature, dict) else None
    if verifier is not None:
        status = verifier.check(doc)
    else:
        status = signing.UNSIGNED if signature is None else "not checked"
    found = Verification(
        where, digest_ok, status, key if isinstance(key, str) else None, verifier is not None
    )
    if not (digest_ok and status == signing.VALID):
        found.invalid = validation.problem(doc)
    return found


def verify(
    doc: Any,
    rulebase: RuleBase,
    advisor: Advisor,
    where: str,
    verifier: signing.Verifier | None = None,
    digest: str | None = None,
) -> Verification:
    """Check `doc` whole: integrity first, then a replay of its answers on today's rules."""
    result = integrity(doc, where, verifier, digest)
    if result.invalid:
        return result
    result.recorded = doc["recommendation"]
    recorded_files = {f["path"]: f for f in doc["rulebase"]["files"]}
    current_files = {f.logical: f for f in rulebase.files}
    result.changed_files = sorted(
        [(p, _change(recorded_files[p], current_files[p]))
         for p in recorded_files.keys() & current_files.keys()
         if recorded_files[p]["digest"] != current_files[p].digest]
        + [(p, "removed") for p in recorded_files.keys() - current_files.keys()]
        + [(p, "added") for p in current_files.keys() - recorded_files.keys()]
    )  # fmt: skip
    try:
        answers = parse_recorded(doc["answers"], rulebase.schema).completed(rulebase.schema)
    except AnswerError as exc:
        result.replay_error = str(exc)
        return result
    outcome, not_fired = advisor.replay(answers.values)
    result.replayed = outcome.recommendation
    before = [f["rule"] for f in doc["fired"]]
    after = [r.id for r in outcome.fired]
    result.now_fire = [r for r in after if r not in before]
    result.no_longer_fire = [r for r in before if r not in after]
    kept = [r for r in before if r in after]
    result.order_changed = kept != [r for r in after if r in before]
    recorded_scores, scores = doc["scores"], dict(outcome.decision.scores)
    result.score_changes = [
        (option, recorded_scores.get(option), scores.get(option))
        for option in dict.fromkeys([*recorded_scores, *scores])
        if recorded_scores.get(option) != scores.get(option)
    ]
    result.same_rules = (
        all(change == REFORMATTED for _, change in result.changed_files)
        and doc["tool"]["version"] == __version__
    )
    if result.same_rules:  # then everything the rules derive must be as recorded
        decision = outcome.decision
        reason = {
            "reason": decision.reason,
            "rule": decision.rule.id if decision.rule else None,
            "ruled_out": list(decision.ruled_out),
        }
        result.other_changes = [
            name
            for name, recorded, replayed in (
                ("derived facts", doc["derived"], list(outcome.derived)),
                ("the decision's reason", doc["decision"], reason),
                ("why the other rules did not fire", doc["not_fired"], not_fired),
            )
            if recorded != replayed and _placeless(recorded) != _placeless(replayed)
        ]
    return result


REFORMATTED = "comments or layout only"


def _placeless(records: Any) -> Any:
    """Why-not records without the rule's line in its file, which a comment moves (compared
    only when the records differ: most often nothing moved)."""
    if not isinstance(records, list):
        return records
    return [
        {k: v for k, v in r.items() if k != "location"} if isinstance(r, dict) else r
        for r in records
    ]


def _change(recorded: dict[str, Any], current: Any) -> str:
    """How a file whose bytes differ changed: in what it says, or only in comments or layout."""
    meaning = recorded.get("meaning")
    return REFORMATTED if meaning and meaning == current.meaning else "changed"


# Reports.


def _signature_words(v: Verification) -> str:
    if v.signature == signing.VALID:
        return f"valid, by key {v.key_id}"
    if v.signature == signing.UNSIGNED:
        if v.expected_signature:
            return "MISSING: the trace is not signed, so anyone could have written it"
        return "none: the trace is not signed, and anyone can recompute a digest"
    if v.signature == "not checked":
        return f"NOT CHECKED: signed by key {v.key_id}; give its --public-key to check it"
    if v.signature == signing.OTHER_KEY:
        return f"NOT CHECKED: signed by key {v.key_id}, a key you did not give (not trusted)"
    if v.signature == signing.INVALID:
        return "FAILED: the trace was changed after it was signed"
    if v.signature == signing.NOT_THEN:
        return (
            f"FAILED: signed by key {v.key_id}, which was not trusted on the date the trace "
            "bears (before it was trusted, after its last day, or after it was revoked)"
        )
    return "FAILED: the signature is malformed"


def report(v: Verification, problems_only: bool = False) -> str:
    """The verification in words; every value from the trace is made safe. With
    `problems_only`, only what is wrong or has changed (a log's findings), without the verdict."""
    if v.invalid:
        return (
            f"not a valid trace: {safe(v.invalid)}\n"
            if problems_only
            else (
                f"{safe(v.where)}: not a valid trace: {safe(v.invalid)}\nverdict: {WORDS[TAMPERED]}\n"
            )
        )
    out: list[tuple[str, bool]] = [  # (a line, whether it says that all is well)
        (
            "content digest: "
            + ("ok" if v.digest_ok else "MISMATCH: the trace was edited after it was written"),
            v.digest_ok,
        ),
        (f"signature: {_signature_words(v)}", v.signature == signing.VALID),
    ]
    if v.log_columns:
        out.append((f"log entry: EDITED outside mm-advisor: {', '.join(v.log_columns)}", False))
    if v.changed_files and all(change == REFORMATTED for _, change in v.changed_files):
        out.append(("rule files: only comments or layout changed since the consultation", True))
        out += [(f"  {status}: {safe(path)}", True) for path, status in v.changed_files]
    elif v.changed_files:
        out.append(("rule files: changed since the consultation", False))
        out += [(f"  {status}: {safe(path)}", False) for path, status in v.changed_files]
    else:
        out.append(("rule files: the same as when the consultation was made", True))
    if v.replay_error:
        out.append(
            (f"replay: today's rules cannot consult these answers: {safe(v.replay_error)}", False)
        )
    elif v.replayed == v.recorded:
        out.append((f"recommendation: reproduced ({safe(v.recorded)})", False))
    else:
        out.append(
            (f"recommendation: recorded {safe(v.recorded)}, today {safe(v.replayed)}", False)
        )
    if v.now_fire:
        out.append((f"rules that now fire: {', '.join(safe(r) for r in v.now_fire)}", False))
    if v.no_longer_fire:
        out.append(
            (f"rules that no longer fire: {', '.join(safe(r) for r in v.no_longer_fire)}", False)
        )
    if v.order_changed:
        out.append(("rules fire in another order", False))
    for option, before, after in v.score_changes:
        changed = f"score of {safe(option)}: recorded {_score(before)}, today {_score(after)}"
        out.append((changed, False))
    out += [(f"{what}: recorded otherwise than today", False) for what in v.other_changes]
    if not v.differs:
        out.append(
            ("reasoning: the same rules fired in the same order, with the same scores", False)
        )
    if v.edited:
        out.append(
            (
                "EDITED: the same rule files and the same mm-advisor cannot reach anything else "
                "than they did; the trace says otherwise, so it was changed",
                False,
            )
        )
    if not problems_only:
        out.append((f"verdict: {WORDS[v.status]} (exit {v.exit_code})", False))
    return "".join(f"{line}\n" for line, fine in out if not (problems_only and fine))


SHORT = {
    TAMPERED: "TAMPERED",
    UNVERIFIED: "NOT VERIFIED",
    CHANGED: "DIFFERENT RECOMMENDATION",
    REASONING: "REASONING DIFFERS",
    REPRODUCED: "reproduced",
}


def brief(v: Verification) -> str:
    """What is wrong or changed, on one line (the changed rule files left to the caller)."""
    if v.invalid:
        return f"not a valid trace: {safe(v.invalid)}"
    parts = [] if v.digest_ok else ["content digest MISMATCH"]
    if v.signature != signing.VALID and (v.signature != signing.UNSIGNED or v.expected_signature):
        parts.append(f"signature {_signature_words(v)}")
    if v.log_columns:
        parts.append(f"log entry edited outside mm-advisor ({', '.join(v.log_columns)})")
    if v.replay_error:
        parts.append(f"today's rules cannot consult it: {safe(v.replay_error)}")
    elif v.replayed != v.recorded:
        parts.append(f"recommendation {safe(v.recorded)}, today {safe(v.replayed)}")
    if v.now_fire:
        parts.append(f"now fire: {', '.join(safe(r) for r in v.now_fire)}")
    if v.no_longer_fire:
        parts.append(f"no longer fire: {', '.join(safe(r) for r in v.no_longer_fire)}")
    if v.order_changed:
        parts.append("another firing order")
    parts += [
        f"score of {safe(o)}: recorded {_score(b)}, today {_score(a)}"
        for o, b, a in v.score_changes
    ]
    parts += [f"{what} otherwise" for what in v.other_changes]
    if v.edited:
        parts.append("EDITED: the same rules cannot reach anything else")
    return "; ".join(parts)


def _score(value: Any) -> str:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return weight(value) if number else "none"


def as_json(v: Verification) -> dict[str, Any]:
    return {
        "trace": v.where,
        "status": v.status,
        "exit_code": v.exit_code,
        "invalid": v.invalid,
        "digest": "ok" if v.digest_ok else "mismatch",
        "signature": v.signature,
        "key_id": v.key_id,
        "changed_files": [{"path": p, "change": c} for p, c in v.changed_files],
        "recommendation": {"recorded": v.recorded or None, "today": v.replayed},
        "replay_error": v.replay_error,
        "now_fire": v.now_fire,
        "no_longer_fire": v.no_longer_fire,
        "order_changed": v.order_changed,
        "score_changes": {o: {"recorded": b, "today": a} for o, b, a in v.score_changes},
        "log_columns_edited": v.log_columns,
        "other_changes": v.other_changes,
        "same_rules": v.same_rules,
    }
