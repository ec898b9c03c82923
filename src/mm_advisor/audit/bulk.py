"""Re-verify the consultations of a log in bulk, on every core, in id order.

Each worker opens the log read-only and loads the knowledge base once; entries are verified in
chunks and yielded in id order, so the output is the same whatever the number of workers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import AdvisorError
from ..knowledge import rulebase as rulebase_mod
from ..knowledge.layout import Layout
from ..parallel import ordered_map
from ..reasoning.advisor import Advisor
from . import signing
from .log import ConsultationLog
from .verify import (
    CHANGED,
    EXIT,
    REASONING,
    SHORT,
    TAMPERED,
    UNVERIFIED,
    Verification,
    brief,
    verify,
)

CHUNK = 500


@dataclass
class Summary:
    counts: Counter = field(default_factory=Counter)  # status -> entries
    damaged: list[tuple[int, str]] = field(default_factory=list)  # (id, why)
    breaks: list[tuple[int, str]] = field(default_factory=list)  # where the chain breaks (id, why)

    @property
    def exit_code(self) -> int:
        """The worst finding's code: tampered, damaged or a broken chain 1, then 3, then 4,
        then 5 (signed, but by no key given or trusted), else 0: what one trace would give."""
        if self.damaged or self.breaks or self.counts[TAMPERED]:
            return 1
        for status in (CHANGED, REASONING, UNVERIFIED):
            if self.counts[status]:
                return EXIT[status]
        return 0


class _Worker:
    """What one process needs: the log, the rules and the key, loaded once."""

    def __init__(self, log_path: str, where: Layout, public_key: str | None):
        self.log = ConsultationLog(log_path)
        self.rulebase = rulebase_mod.load(where)
        self.advisor = Advisor(self.rulebase)
        self.verifier = signing.verifier_for(public_key, where.trust)

    def chunk(self, ids: list[int]) -> list[tuple[int, Verification | str]]:
        out: list[tuple[int, Verification | str]] = []
        for entry_id, doc, disagreeing, digest in self.log.traces(ids):
            if isinstance(doc, AdvisorError):
                out.append((entry_id, str(doc)))
            else:
                where = f"{self.log.path}#{entry_id}"
                found = verify(doc, self.rulebase, self.advisor, where, self.verifier, digest)
                found.log_columns = disagreeing
                out.append((entry_id, found))
        found = {i for i, _ in out}
        out += [(i, f"{self.log.path}: consultation {i} is gone") for i in ids if i not in found]
        return sorted(out, key=lambda item: item[0])


_worker: _Worker | None = None  # one per worker process, set by its initializer


def _start(log_path: str, where: Layout, public_key: str | None) -> None:
    global _worker
    _worker = _Worker(log_path, where, public_key)


def _run(ids: list[int]) -> list[tuple[int, Verification | str]]:
    assert _worker is not None
    return _worker.chunk(ids)


def verify_log(
    log_path: str, ids: list[int], where: Layout, public_key: str | None, jobs: int
) -> Iterator[tuple[int, Verification | str]]:
    """(id, Verification, or why the entry is damaged) for each id, in id order."""
    chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    jobs = jobs if len(chunks) > 1 else 1
    for results in ordered_map(_run, chunks, jobs, _start, (log_path, where, public_key)):
        yield from results


def summarise(results: list[tuple[int, Any]]) -> Summary:
    summary = Summary()
    for entry_id, found in results:
        if isinstance(found, str):
            summary.damaged.append((entry_id, found))
        else:
            summary.counts[found.status] += 1
    return summary


def findings(flagged: list[tuple[int, Verification | str]], entries: dict[int, Any]) -> list[str]:
    """The findings of a bulk verification for a reader: each set of changed rule files once,
    with the entries it concerns, then one line per entry (id, time, subject, verdict, what)."""
    from ..explanation.render import safe

    groups: dict[tuple, list[int]] = {}
    for entry_id, found in flagged:
        if not isinstance(found, str) and found.changed_files:
            groups.setdefault(tuple(found.changed_files), []).append(entry_id)
    lines = []
    for files, ids in groups.items():
        lines.append(f"Rule files changed since {_ids(ids)} were made:")
        lines += [f"  {status}: {safe(path)}" for path, status in files]
    if lines:
        lines.append("")
    for entry_id, found in flagged:
        entry = entries.get(entry_id)
        when = entry.created_at if entry else "?"
        who = safe(entry.subject) if entry and entry.subject else "-"
        if isinstance(found, str):
            lines.append(f"{entry_id}  {when}  {who}  DAMAGED: {safe(found)}")
        else:
            lines.append(f"{entry_id}  {when}  {who}  {SHORT[found.status]}: {brief(found)}")
    return lines


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:5])) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return f"consultation{'s' * (len(ids) != 1)} {shown}"
