"""Files read within limits, and written whole or not at all.

Every file a user gives is read here: only a regular file (a FIFO, a device or a directory is
refused before anything is opened for reading, so nothing blocks or never ends), at most a size
limit, as UTF-8. Standard input is read with the same limit. Writing goes to a temporary name in
the target's folder, then a rename; a target that exists and is not a regular file is refused.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile

from .errors import AdvisorError

LIMIT = 16 * 1024 * 1024  # bytes: far above any knowledge base, answers file or trace
TEMP_PREFIX = ".mm-advisor-"


class InputError(AdvisorError):
    """A file or standard input cannot be read as text."""


def read_text(path: str, display: str | None = None, limit: int = LIMIT) -> str:
    """The text of the regular file `path`; InputError names `display` and what is wrong."""
    shown = display or path
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such file") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{shown}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{shown}: not a regular file (a pipe, a device or a socket)")
    if info.st_size > limit:
        raise InputError(f"{shown}: larger than {limit // (1024 * 1024)} MiB")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{shown}: cannot read: {exc.strerror}") from None
    return _decode(data, shown, limit)


def read_stdin(limit: int = LIMIT) -> str:
    """Standard input as text, within the same limit."""
    stream = sys.stdin
    if stream is None or stream.closed:
        raise InputError("<stdin>: standard input is closed")
    buffer = getattr(stream, "buffer", None)
    try:
        data = buffer.read(limit + 1) if buffer is not None else stream.read(limit + 1).encode()
    except (OSError, ValueError) as exc:
        raise InputError(f"<stdin>: cannot read: {exc}") from None
    return _decode(data, "<stdin>", limit)


def _decode(data: bytes, shown: str, limit: int) -> str:
    if len(data) > limit:
        raise InputError(f"{shown}: larger than {limit // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def check_target(path: str) -> None:
    """Refuse to write over something that is not a regular file (a FIFO, a device, a folder)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AdvisorError(f"{path}: cannot write: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise AdvisorError(f"{path}: cannot write: it is {kind}")


def write_atomic(path: str, text: str, private: bool = True) -> None:
    """Write `text` to `path` through a temporary file and a rename: never half-written.

    A private file (traces, answers, reports: personal data) is readable by its owner only;
    otherwise the usual permissions apply (the umask's).
    """
    check_target(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise AdvisorError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise AdvisorError(f"{path}: cannot write: {exc.strerror}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
