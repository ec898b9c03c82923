"""Files read within limits, and written whole or not at all.

Every file a user gives is read here: only a regular file (a FIFO, a device or a directory is
refused before anything is opened for reading, so nothing blocks or never ends), at most a size
limit, as UTF-8. Standard input is read with the same limit. Writing goes to a temporary name in
the target's folder, then a rename; a target that exists and is not a regular file is refused.
What a killed run left behind (our temporary names, their writer gone) is swept away on the next
write to that folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import time
from typing import IO, Iterator

from .errors import AdvisorError

PACKAGE = os.path.dirname(os.path.abspath(__file__))  # what the package carries: schemas, kb
LIMIT = 16 * 1024 * 1024  # bytes: far above any knowledge base, answers file or trace
TEMP_PREFIX = ".mm-advisor-"


class InputError(AdvisorError):
    """A file or standard input cannot be read as text."""


STDIN = "<stdin>"  # how standard input ('-') is named in every message


def shown(path: str) -> str:
    """The name a file given as `path` goes by in messages ('-' is standard input)."""
    return STDIN if path == "-" else path


def _regular(path: str, name: str) -> os.stat_result:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{name}: not a regular file (a pipe, a device or a socket)")
    return info


def open_stream(path: str) -> tuple[IO[bytes], int | None]:
    """A regular file ('-': standard input) opened to be read as it goes, with its size when
    known: for inputs too large to hold (a cohort of a million rows)."""
    if path == "-":
        return _stdin(), None
    info = _regular(path, path)
    try:
        return open(path, "rb"), info.st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def read_text(path: str, display: str | None = None, limit: int = LIMIT) -> str:
    """The text of the regular file `path`; InputError names `display` and what is wrong."""
    name = display or path
    info = _regular(path, name)
    if info.st_size > limit:
        raise InputError(f"{name}: larger than {limit // (1024 * 1024)} MiB")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from None
    return _decode(data, name, limit)


def read_stdin(limit: int = LIMIT) -> str:
    """Standard input as text, within the same limit."""
    stream = _stdin()
    try:
        data = stream.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise InputError(f"{STDIN}: cannot read: {exc}") from None
    return _decode(data.encode() if isinstance(data, str) else data, STDIN, limit)


def _stdin() -> IO[bytes]:
    """Standard input's bytes (its text, where it has no byte buffer); a closed one is refused."""
    stream = sys.stdin
    if stream is None or stream.closed:
        raise InputError(f"{STDIN}: standard input is closed")
    return getattr(stream, "buffer", stream)


def _decode(data: bytes, name: str, limit: int) -> str:
    if len(data) > limit:
        raise InputError(f"{name}: larger than {limit // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def someone_elses(info: os.stat_result) -> bool:
    """Whether a file (as `os.stat` gives it) belongs to another user; never on systems
    without owners."""
    return hasattr(os, "getuid") and info.st_uid != os.getuid()


def check_target(path: str, inputs: tuple[str, ...] = ()) -> None:
    """Refuse to write over something that is not a regular file (a FIFO, a device, a folder),
    over a SQLite database (a consultation log: an output would replace every consultation in
    it), or over one of the command's `inputs`."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AdvisorError(f"{shown(path)}: cannot write: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise AdvisorError(f"{shown(path)}: cannot write: it is {kind}")
    try:
        with open(path, "rb") as fh:
            database = fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        database = False
    if database:
        raise AdvisorError(
            f"{shown(path)}: will not write there: it is a SQLite database (a consultation "
            "log?), which the output would replace; choose another file"
        )
    for given in inputs:
        if given != "-" and os.path.exists(given) and os.path.samefile(path, given):
            raise AdvisorError(
                f"{shown(path)}: will not write the output over a file the command reads (its "
                "input, or a file of the knowledge base); choose another file"
            )


def write_atomic(path: str, text: str, private: bool = True) -> None:
    """Write `text` to `path` through a temporary file and a rename: never half-written.

    A private file (traces, answers, reports: personal data) is readable by its owner only;
    otherwise the usual permissions apply (the umask's).
    """
    with atomic(path, private) as fh:
        fh.write(text)


@contextlib.contextmanager
def atomic(path: str, private: bool = True) -> Iterator[IO[str]]:
    """A file to write `path` through, as it goes: renamed into place only when the block ends
    without an error, removed otherwise (see write_atomic)."""
    check_target(path)
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in _SWEPT:  # once per folder and process: a batch writes thousands of traces
        _SWEPT.add(folder)
        sweep(folder)
    import tempfile  # only when writing: not at every start

    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise AdvisorError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
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


_OURS = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-[^/]*\.tmp")
IDLE_SECONDS = 600  # untouched this long, and its writer gone: left by a killed run
STALE_SECONDS = 24 * 3600  # untouched this long: left, whoever wrote it
_SWEPT: set[str] = set()  # the folders this process has swept


def sweep(folder: str) -> list[str]:
    """Remove what a killed run of ours left in `folder`: temporary files of our naming, owned by
    this user, untouched for ten minutes with their writing process gone, or for a day (a writer
    in another process namespace may look gone, but it keeps its file fresh). Returns what went."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = _OURS.fullmatch(entry.name)
        if not found:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            continue
        idle = time.time() - info.st_mtime
        if idle < IDLE_SECONDS or (idle < STALE_SECONDS and _alive(int(found.group(1)))):
            continue
        _remove(entry.path)
        removed.append(entry.name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process, or no process number at all
    return True


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
