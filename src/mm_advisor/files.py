"""Files written whole or not at all: a temporary name in the same folder, then a rename."""

from __future__ import annotations

import os
import tempfile

from .errors import AdvisorError


def write_atomic(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename: never half-written."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mm-advisor-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise AdvisorError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
