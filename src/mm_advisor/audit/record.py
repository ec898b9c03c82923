"""Keeping consultations: each trace sealed (and signed), appended to the log, written to a file
and, for one person, as a report. `consult`, `batch` and a web page keep them with this one
class, so a consultation is recorded the same way wherever it was made."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from ..files import write_atomic
from . import trace

if TYPE_CHECKING:  # signing loads the cryptography library, the log SQLite: only when asked
    from ..reasoning.advisor import Advisor
    from .log import ConsultationLog
    from .signing import Signer


def signer_from(key_path: str | None) -> "Signer | None":
    """The signer for the private key in `key_path`; None (traces sealed, not signed) without."""
    if not key_path:
        return None
    from .signing import load_signer

    return load_signer(key_path)


class Keeper:
    """Records consultations as the options ask; a context manager that closes the log."""

    def __init__(self, signer: Signer | None = None, log_path: str | None = None):
        self.signer = signer
        self.log: ConsultationLog | None = None
        if log_path:
            from .log import ConsultationLog

            self.log = ConsultationLog(log_path, write=True)

    def keep(
        self,
        doc: dict[str, Any],
        trace_to: str | None = None,
        report_to: str | None = None,
        advisor: Advisor | None = None,
    ) -> int | None:
        """Seal (and sign) the trace `doc`, append it to the log, then write it to `trace_to`
        and its report to `report_to` (for which `advisor` is needed). The log comes first:
        when it cannot be written, nothing else is. Returns the log's id for it, if logged."""
        stamped, entry = self.seal(doc)
        if trace_to:
            write_atomic(trace_to, trace.dumps(stamped))
        if report_to:
            from ..explanation import report

            assert advisor is not None, "a report needs the advisor that reached the result"
            kept = [shlex.quote(trace_to)] if trace_to else []
            if self.log is not None:
                kept.append(f"--log {shlex.quote(self.log.path)} {entry}")
            write_atomic(report_to, report.build(stamped, advisor, kept))
        return entry

    def seal(self, doc: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        """The trace `doc` sealed (and signed), and its id in the log, if there is one."""
        stamped = trace.stamped(doc, self.signer)
        return stamped, (self.log.append(stamped) if self.log is not None else None)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def __enter__(self) -> "Keeper":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
