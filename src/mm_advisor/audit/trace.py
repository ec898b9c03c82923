"""The trace document: everything a consultation did, as versioned, digest-sealed JSON."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any

from .. import __version__
from ..errors import EditedTrace, TraceError
from ..files import InputError, read_stdin, read_text, shown
from ..knowledge.answers import Answers
from ..knowledge.rulebase import RuleBase
from ..knowledge.schema import UNDETERMINED, Schema
from ..reasoning.advisor import Result
from ..reasoning.compat import EXPERTA_VERSION
from ..reasoning.decision import EXPLAINED

TRACE_VERSION = 2
SUBJECT_LIMIT = 200  # characters in a subject reference
VERSIONS = (1, 2)  # traces this version reads: 1 kept created_at outside its digest
_UNSEALED = {1: ("content_digest", "created_at", "signature"), 2: ("content_digest", "signature")}


def reference(subject: str) -> str:
    """`subject` as kept: trimmed and in Unicode's composed form (NFC), so that references
    that look the same are the same. ValueError says why one cannot be kept: blank, too long,
    or with a character that cannot be seen or that looks like a space (control and format
    characters, a zero-width or non-breaking space, a soft hyphen, a byte-order mark)."""
    kept = unicodedata.normalize("NFC", subject).strip()
    if not kept:
        raise ValueError("a reference cannot be blank")
    if len(kept) > SUBJECT_LIMIT:
        raise ValueError(f"a reference is at most {SUBJECT_LIMIT} characters")
    for char in kept:
        if char != " " and unicodedata.category(char)[0] in "CZ":
            raise ValueError(
                f"a reference cannot hold U+{ord(char):04X}: "
                "a control character, or one that cannot be seen or looks like a space"
            )
    return kept


def build(
    rulebase: RuleBase, answers: Answers, result: Result, subject: str | None = None
) -> dict[str, Any]:
    """The trace of one consultation; identical inputs give an identical document."""
    schema = rulebase.schema
    decision = result.decision
    doc: dict[str, Any] = {
        "trace_version": TRACE_VERSION,
        "tool": {"name": "mm-advisor", "version": __version__, "experta": EXPERTA_VERSION},
        "rulebase": {
            "digest": rulebase.digest,
            "path": str(rulebase.layout.root),
            "files": [
                {
                    "path": f.logical,
                    "digest": f.digest,
                    **({"meaning": f.meaning} if f.meaning else {}),
                }
                for f in rulebase.files
            ],
            "sources": {
                s.id: {k: v for k, v in (("title", s.title), ("url", s.url), ("date", s.date)) if v}
                for s in rulebase.sources.values()
            },
        },
        "recommendation": decision.recommendation,
        "summary": summary(schema, result),
        "decision": {
            "reason": decision.reason,
            "rule": decision.rule.id if decision.rule else None,
            "ruled_out": list(decision.ruled_out),
        },
        "scores": dict(decision.scores),
        "answers": {
            name: {"value": answers.values[name], "origin": answers.origins[name]}
            for name in schema.facts
        },
        "fired": [_firing(f) for f in result.run.firings],
        "derived": list(result.run.derived),
        "not_fired": [b.record() for b in result.blocked],
        "deciders": [
            {"fact": c.fact, "value": c.value, "recommendation": c.recommendation}
            for c in result.deciders
        ],
        "expect": expectations(schema, decision.recommendation),
        "subject": subject,
    }
    doc["content_digest"] = content_digest(doc)
    return doc


def _firing(firing) -> dict[str, Any]:
    rule = firing.rule
    return {
        "seq": firing.seq,
        "rule": rule.id,
        "title": rule.title,
        "source": {
            "section": rule.source.section,
            "quote": rule.source.quote,
            "document": rule.source.document,
        },
        "location": rule.location,
        "salience": rule.salience,
        "matched": [
            {"kind": m.kind, "fact": m.name, "value": m.value, "id": m.id} for m in firing.matched
        ],
        "bindings": dict(firing.bindings),
        "derived": list(firing.derived),
        "already_derived": list(firing.already),
        "score": dict(rule.score),
        "concluded": rule.conclude,
        "ruled_out": list(rule.rule_out),
    }


def expectations(schema: Schema, recommendation: str) -> dict[str, dict[str, Any]]:
    """What to expect of the recommended option: its columns of the comparison table."""
    option = schema.options.get(recommendation)
    if option is None:
        return {}
    return {
        kind: {
            attr: value for attr, value in schema.rows(kind) if not isinstance(value, (int, float))
        }
        for kind in option.expect
    }


def summary(schema: Schema, result: Result) -> str:
    """One paragraph that says what was recommended and the reasons that weighed most."""
    decision = result.decision
    scores = ", ".join(f"{name} {score:+d}" for name, score in decision.scores.items())
    fired = [f.rule for f in result.run.firings]
    label = {name: option.label for name, option in schema.options.items()}
    excluded = {
        option: next(rule for rule in fired if option in rule.rule_out)
        for option in decision.ruled_out
    }
    ruled = " ".join(
        f"{label[o]} is ruled out: {rule.title[0].lower()}{rule.title[1:]}."
        for o, rule in excluded.items()
    )
    if decision.recommendation == UNDETERMINED:
        why = EXPLAINED[decision.reason]
        text = f"There is not enough evidence to recommend an option: {why} ({scores})."
        if ruled:
            text += " " + ruled
        if result.deciders:
            firsts = list(dict.fromkeys(c.fact for c in result.deciders))
            text += f" Answering {_join(firsts[:4])} would decide it."
        return text
    chosen = label[decision.recommendation]
    if decision.reason == "rule":
        text = (
            f"{chosen} is recommended: the decision rule '{decision.rule.id}' settled it "
            f"({decision.rule.title})."
        )
        if decision.overruled:
            text += (
                f" It is recommended although {_join([label[o] for o in decision.overruled])} "
                f"gathered more weight ({scores}), because the decision rule takes precedence "
                "over the weighed evidence."
            )
        else:
            text += f" Weighed evidence: {scores}."
    elif decision.reason == "only-option":
        text = f"{chosen} is recommended by elimination: it is the only option left ({scores})."
    else:
        mine = decision.scores[decision.recommendation]
        among = (
            " of the options not ruled out"
            if any(decision.scores[o] >= mine for o in decision.ruled_out)
            else ""
        )
        text = f"{chosen} is recommended: it gathered the most weighed evidence{among} ({scores})."
    if ruled:
        text += " " + ruled
    weights = [(dict(rule.score).get(decision.recommendation, 0), rule.title) for rule in fired]
    support = [title for weight, title in sorted(weights, key=lambda w: -w[0]) if weight > 0]
    if support:
        text += " The strongest reasons: " + "; ".join(support[:3]) + "."
    against = [title for weight, title in sorted(weights, key=lambda w: w[0]) if weight < 0]
    if against:
        text += " Weighing against it: " + "; ".join(against) + "."
    return text


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def canonical(doc: dict[str, Any]) -> bytes:
    """The digested form of a trace: sorted keys, no spaces, UTF-8, sealed fields left out."""
    version = doc.get("trace_version")
    unsealed = _UNSEALED[version if version in VERSIONS else TRACE_VERSION]
    content = {k: v for k, v in doc.items() if k not in unsealed}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_digest(doc: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(doc)).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps(doc: dict[str, Any]) -> str:
    from ..explanation.render import json_text

    return json_text(doc, indent=2) + "\n"


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def stamped(doc: dict[str, Any], signer: Any = None, at: str | None = None) -> dict[str, Any]:
    """The document as it is kept: with the time it was made (inside its digest), signed when
    a `signer` (signing.Signer) is given."""
    kept = {k: v for k, v in doc.items() if k not in ("content_digest", "signature")}
    kept["created_at"] = at or now()
    kept["content_digest"] = content_digest(kept)
    return signer.sign(kept) if signer is not None else kept


def loads(text: str, where: str) -> dict[str, Any]:
    """A trace from JSON text; TraceError names `where` and what is wrong, in one line."""
    try:
        doc = json.loads(text, parse_constant=_constant, object_pairs_hook=_unique)
    except _Twice as exc:
        raise EditedTrace(
            f"{where}: TAMPERED: the key {exc.args[0]!r} appears twice in one object "
            "(readers may see either value)"
        ) from None
    except json.JSONDecodeError as exc:
        raise TraceError(f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise TraceError(f"{where}: not a trace: nested too deeply") from None
    except ValueError as exc:  # NaN or Infinity, or a number too long to be read
        raise TraceError(f"{where}: not a trace: {str(exc).split(';')[0]}") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(doc):
        raise EditedTrace(
            f"{where}: TAMPERED: it holds half of a surrogate pair (\\ud800-\\udfff), "
            "which no text can contain"
        )
    if not isinstance(doc, dict) or doc.get("trace_version") not in VERSIONS:
        raise TraceError(
            f"{where}: not an mm-advisor trace (trace_version "
            f"{' or '.join(map(str, VERSIONS))} expected)"
        )
    return doc


def load(path: str) -> dict[str, Any]:
    """Read a trace file ('-' reads standard input); TraceError says what is wrong."""
    try:
        text = read_stdin() if path == "-" else read_text(path)
    except InputError as exc:
        raise TraceError(str(exc)) from None
    return loads(text, shown(path))


class _Twice(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _Twice(twice[:60])
    return obj


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class Reader:
    """Reads many traces, as bulk verification does, each with its digest recomputed.

    Everything a trace holds before its subject (the rules, answers, firings and reasons) is the
    same for every consultation with the same answers under the same rules; only who, when
    and the seals differ. That part is parsed, checked and put in canonical form once, and
    whatever the shortcut cannot vouch for (a key twice, half a surrogate pair, which has no
    canonical form, anything malformed) is read by `loads`, whose verdict stands. The
    documents share what they have in common: they are read-only."""

    SIZE = 4096  # the distinct leading parts kept
    _CUTS = (', "subject": ', ', "created_at": ')

    def __init__(self) -> None:
        self._leads: dict[str, tuple[dict[str, Any], dict[str, bytes]]] = {}

    def read(self, text: str, where: str) -> tuple[dict[str, Any], str]:
        """(the trace, the digest of its canonical form): what `loads` and `content_digest`
        give, or the error `loads` raises."""
        found = self._shortcut(text)
        if found is None:
            doc = loads(text, where)
            return doc, content_digest(doc)
        return found

    def _shortcut(self, text: str) -> tuple[dict[str, Any], str] | None:
        cut = next((at for at in map(text.rfind, self._CUTS) if at > 0), -1)
        if cut < 0:
            return None
        try:
            lead = self._lead(text[:cut])
            rest = _DECODER.decode("{" + text[cut + 2 :])
            if lead is None or lead[0].keys() & rest.keys():
                return None  # a key twice at the top: `loads` says so
            doc = {**lead[0], **rest}
            version = doc.get("trace_version")
            if version not in VERSIONS:
                return None
            members = {**lead[1], **{key: _member(key, value) for key, value in rest.items()}}
        except (ValueError, RecursionError):  # a UnicodeEncodeError too: no canonical form
            return None
        unsealed = _UNSEALED[version]
        content = b",".join(members[key] for key in sorted(members) if key not in unsealed)
        return doc, "sha256:" + hashlib.sha256(b"{" + content + b"}").hexdigest()

    def _lead(self, head: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
        """The members before the cut, parsed as an object of their own: when that is valid
        JSON with at least one member, the trace's text begins with exactly those members."""
        found = self._leads.get(head)
        if found is None:
            doc = _DECODER.decode(head + "}")
            if not isinstance(doc, dict) or not doc:
                return None
            found = (doc, {key: _member(key, value) for key, value in doc.items()})
            if len(self._leads) >= self.SIZE:
                self._leads.clear()
            self._leads[head] = found
        return found


def _member(key: str, value: Any) -> bytes:
    """One member of a canonical object, as `canonical` writes it."""
    return (json.dumps(key, ensure_ascii=False) + ":" + _CANONICAL.encode(value)).encode()


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_constant, object_pairs_hook=_unique)  # as `loads`
