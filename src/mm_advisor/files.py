"""Files written whole or not at all: a temporary name in the same folder, then a rename."""

from __future__ import annotations

import os
import tempfile

from .errors import AdvisorError


def write_atomic(path: str, text: str, private: bool = True) -> None:
    """Write `text` to `path` through a temporary file and a rename: never half-written.

    A private file (traces, answers, reports: personal data) is readable by its owner only;
    otherwise the usual permissions apply (the umask's).
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mm-advisor-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise AdvisorError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
