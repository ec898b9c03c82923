"""The consultation log: traces kept in a SQLite database, one transaction each (WAL mode).

It holds personal data (a person's answers and the office's case reference), so it is created
readable by its owner only, and one that another user owns or others can read is refused. It
keeps entries only as long as its retention setting says, and can forget a subject or everything
before a date, leaving nothing recoverable in the file. Reading commands open it read-only: a
file that is not a consultation log is never changed; a damaged entry is named and skipped; a log
written by a newer mm-advisor is refused.

Tamper evidence: each entry is sealed (a digest of a random nonce and its trace text) and linked
to the entry before it (a digest of the previous link and its seal), a hash chain as transparency
logs keep. An entry edited, removed, inserted or reordered outside the tool breaks the chain at
that point. An erased entry stays as a tombstone: its seal and link, the time and the reason, and
nothing about the person (the nonce goes with the trace, so the seal reveals nothing). The chain
proves the order and completeness of what it links; a change made by rewriting every link after
it is caught by comparing the chain's head with one recorded earlier (`head()`), and a change to a
trace by its signature.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import AdvisorError
from ..files import someone_elses

if TYPE_CHECKING:
    from .trace import Reader

SCHEMA_VERSION = 3  # 1: before subjects, signatures and retention; 2: before the chain
# (both read, and migrated on write: the entries already there are sealed and linked then)
_CREATE = """
CREATE TABLE IF NOT EXISTS consultations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    rulebase_digest TEXT NOT NULL,
    content_digest TEXT NOT NULL,
    trace TEXT NOT NULL,
    subject TEXT,
    key_id TEXT,
    nonce TEXT,
    seal TEXT,
    link TEXT,
    erased TEXT
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS consultations_created ON consultations (created_at)",
    "CREATE INDEX IF NOT EXISTS consultations_subject ON consultations (subject)",
)
_COLUMNS = {"id", "created_at", "recommendation", "rulebase_digest", "content_digest", "trace"}
_ADDED = ("subject", "key_id", "nonce", "seal", "link", "erased")  # after schema version 1
GENESIS = "sha256:" + "0" * 64  # the link before the first entry
BUSY_WAIT_MS = 30000  # how long a writer waits for another
CHECKPOINT_WAIT_MS = 2000  # how long an erasure waits for readers before saying they hold it


class LogError(AdvisorError):
    """The log cannot be opened, read or written."""


@dataclass(frozen=True)
class Entry:
    """One logged consultation, as listed."""

    id: int
    created_at: str
    subject: str | None
    recommendation: str
    content_digest: str
    key_id: str | None


@contextmanager
def _private_files() -> Iterator[None]:
    """Files SQLite creates meanwhile (the log, its -wal and -shm) are readable by their owner only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


class ConsultationLog:
    """A log at `path`; concurrent writers wait for each other instead of losing traces."""

    def __init__(self, path: str, write: bool = False):
        self.path = path
        self.writable = write
        self._reader: Reader | None = None
        if not write and not Path(path).is_file():
            raise LogError(f"{path}: no such consultation log")
        try:
            if write:
                _refuse_if_not_private(path)
                with _private_files():
                    self.db = sqlite3.connect(
                        path, timeout=BUSY_WAIT_MS / 1000, isolation_level=None
                    )
            else:
                uri = Path(path).resolve().as_uri() + "?mode=ro"
                self.db = sqlite3.connect(
                    uri, uri=True, timeout=BUSY_WAIT_MS / 1000, isolation_level=None
                )
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            self._check(version)
            if write:
                self._use_wal()
                self.db.execute("PRAGMA secure_delete = ON")
                with _private_files():
                    self.db.executescript(_CREATE)
                if version < SCHEMA_VERSION:  # a new log, or one an older mm-advisor wrote
                    self._migrate()
                    self.columns = self._columns()
                if self._setting("erasure_pending"):
                    self._checkpoint()  # an erasure a reader held up finishes now, if it can
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{path}: not a consultation log ({exc})") from None

    def _use_wal(self) -> None:
        """Switch to write-ahead logging. SQLite does not wait for a busy file on this pragma
        (writers creating the same new log at once met "database is locked"), so it is retried."""
        deadline = time.monotonic() + BUSY_WAIT_MS / 1000
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _check(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise LogError(
                f"{self.path}: a consultation log of schema version {version}, written by a newer "
                f"mm-advisor (this one reads up to {SCHEMA_VERSION})"
            )
        tables = {
            row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        self.columns = self._columns()
        if not tables and self.writable:
            return  # a new log
        if not _COLUMNS <= self.columns:
            raise LogError(f"{self.path}: not a consultation log (it has no consultations table)")

    def _columns(self) -> set[str]:
        return {row[1] for row in self.db.execute("PRAGMA table_info(consultations)")}

    def _migrate(self) -> None:
        """Bring a log to the current schema in one transaction (another writer may be at it
        too): add the columns, and seal and link the entries from before the chain."""
        with self._transaction():
            if self.db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return  # another writer has just done it
            columns = self._columns()
            for name in _ADDED:
                if name not in columns:
                    self.db.execute(f"ALTER TABLE consultations ADD COLUMN {name} TEXT")
            for statement in _INDEXES:
                self.db.execute(statement)
            unlinked = self.db.execute(
                "SELECT id, trace FROM consultations WHERE link IS NULL ORDER BY id"
            ).fetchall()
            for entry_id, text in unlinked:
                nonce = secrets.token_hex(16)
                seal = _seal(nonce, str(text))
                link = _link(self._head(before=entry_id), seal)
                self.db.execute(
                    "UPDATE consultations SET nonce = ?, seal = ?, link = ? WHERE id = ?",
                    (nonce, seal, link, entry_id),
                )
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _head(self, before: int | None = None) -> str:
        query = "SELECT link FROM consultations WHERE link IS NOT NULL"
        if before is not None:
            query += f" AND id < {int(before)}"
        row = self.db.execute(query + " ORDER BY id DESC LIMIT 1").fetchone()
        return str(row[0]) if row else GENESIS

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "ConsultationLog":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # Writing.

    def append(self, doc: dict[str, Any]) -> int:
        """Store one trace in its own transaction, sealed and linked to the entry before it,
        turning what the retention setting expires into tombstones; return its id."""
        signature = doc.get("signature") or {}
        text = json.dumps(doc, ensure_ascii=False)
        nonce = secrets.token_hex(16)
        seal = _seal(nonce, text)
        try:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute(
                "INSERT INTO consultations (created_at, recommendation, rulebase_digest, "
                "content_digest, trace, subject, key_id, nonce, seal, link) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc["created_at"],
                    doc["recommendation"],
                    doc["rulebase"]["digest"],
                    doc["content_digest"],
                    text,
                    doc.get("subject"),
                    signature.get("key_id"),
                    nonce,
                    seal,
                    _link(self._head(), seal),
                ),
            )
            days = self.retention()
            if days is not None:
                cutoff = _iso(datetime.now(timezone.utc) - timedelta(days=days))
                self._erase("created_at < ?", [cutoff], "retention")
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise LogError(f"{self.path}: cannot write the consultation log: {exc}") from None
        return cursor.lastrowid

    def _erase(self, where: str, args: list[Any], reason: str) -> int:
        """Turn the live entries matching `where` into tombstones; how many."""
        tombstone = json.dumps({"at": _iso(datetime.now(timezone.utc)), "reason": reason})
        cursor = self.db.execute(
            "UPDATE consultations SET created_at = '', recommendation = '', "
            "rulebase_digest = '', content_digest = '', trace = '', subject = NULL, "
            f"key_id = NULL, nonce = NULL, erased = ? WHERE erased IS NULL AND ({where})",
            [tombstone, *args],
        )
        return cursor.rowcount

    def _rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def set_retention(self, days: int | None) -> None:
        """Keep entries `days` days (None: for ever); applied from the next write on."""
        with self._transaction():
            if days is None:
                self.db.execute("DELETE FROM settings WHERE name = 'retention_days'")
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO settings (name, value) VALUES ('retention_days', ?)",
                    (str(days),),
                )

    def delete(self, before: str | None = None, subject: str | None = None) -> Erasure:
        """Erase the entries made before a time, or about a subject (as its sealed trace names
        it, or its column does), leaving tombstones; leave nothing of them in the file (secure
        delete, the file vacuumed, the write-ahead log emptied). When another program reading
        the log prevents the last step, the erasure says so; the next write finishes it."""
        if (before is None) == (subject is None):
            raise ValueError("give before or subject")
        with self._transaction():
            if before is not None:
                count = self._erase("created_at < ?", [before], "prune")
            else:
                ids = self.about(subject)
                count = self._erase(f"id IN ({', '.join(map(str, ids)) or 'NULL'})", [], "forget")
            self.db.execute(
                "INSERT OR REPLACE INTO settings (name, value) VALUES ('erasure_pending', '1')"
            )
        try:
            self.db.execute("VACUUM")
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: cannot clean the consultation log: {exc}") from None
        return Erasure(count, self._checkpoint())

    def about(self, subject: str | None) -> list[int]:
        """The live entries whose sealed trace, or whose subject column, names `subject`."""
        found = []
        subject_col = "subject" if self._has("subject") else "NULL"
        live = " WHERE erased IS NULL" if self._has("erased") else ""
        query = f"SELECT id, {subject_col}, trace FROM consultations{live} ORDER BY id"
        for entry_id, column, text in self._read(query, []):
            if column == subject:
                found.append(entry_id)
                continue
            try:
                sealed = json.loads(text).get("subject")
            except (ValueError, TypeError, AttributeError, RecursionError):
                continue
            if isinstance(sealed, str) and _same_reference(sealed, subject):
                found.append(entry_id)
        return found

    def _checkpoint(self) -> bool:
        """Empty the write-ahead log into the file; whether it could (a reader may hold it)."""
        try:
            self.db.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")  # for the readers
            busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                return False
            self.db.execute("DELETE FROM settings WHERE name = 'erasure_pending'")
            return not self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: cannot clean the consultation log: {exc}") from None
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise LogError(f"{self.path}: cannot write the consultation log: {exc}") from None

    # Reading.

    def _setting(self, name: str) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        except sqlite3.DatabaseError:
            return None  # a log from before settings
        return str(row[0]) if row else None

    def retention(self) -> int | None:
        value = self._setting("retention_days")
        return int(value) if value is not None and value.isdigit() else None

    def head(self) -> str:
        """The last link of the chain: recorded elsewhere, it shows later that nothing up to
        that entry was changed (`chain(head=...)`)."""
        return self._head() if self._has("link") else GENESIS

    def chain(self, head: str | None = None) -> Iterator[tuple[int, str]]:
        """(id, what is wrong) wherever the chain breaks, in id order; with `head`, also when
        no entry ends a chain at that head. (Each entry's seal, which covers its trace text, is
        checked where the trace is read: `traces`.)"""
        if not self._has("link"):
            yield 0, f"{self.path}: a log from before the chain (it is added at the next write)"
            return
        previous, seen = GENESIS, head is None
        for entry_id, seal, link in self._read(
            "SELECT id, seal, link FROM consultations ORDER BY id", []
        ):
            if link != _link(previous, str(seal)):
                yield (
                    entry_id,
                    (
                        "the chain breaks here: an entry before it was removed, inserted or reordered"
                    ),
                )
            previous = str(link)
            seen = seen or link == head
        if not seen:
            yield 0, f"no entry ends the chain at the head given ({head}): entries were changed"

    def _has(self, column: str) -> bool:
        return column in self.columns

    def entries(
        self,
        recommendation: str | None = None,
        since: str | None = None,
        subject: str | None = None,
        ids: list[int] | None = None,
    ) -> list[Entry]:
        """The matching entries, oldest first."""
        subject_col = "subject" if self._has("subject") else "NULL"
        key_col = "key_id" if self._has("key_id") else "NULL"
        query = (
            f"SELECT id, created_at, {subject_col}, recommendation, content_digest, {key_col} "
            "FROM consultations"
        )
        clauses: list[str] = ["erased IS NULL"] if self._has("erased") else []
        args: list[Any] = []
        if recommendation:
            clauses.append("recommendation = ?")
            args.append(recommendation)
        if since:
            clauses.append("created_at >= ?")
            args.append(since)
        if subject is not None:
            clauses.append(f"{subject_col} = ?")
            args.append(subject)
        if ids:
            clauses.append(f"id IN ({', '.join('?' * len(ids))})")
            args.extend(ids)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        return [
            Entry(int(r[0]), str(r[1]), r[2], str(r[3]), str(r[4]), r[5])
            for r in self._read(query + " ORDER BY id", args)
        ]

    def trace(self, entry_id: int) -> dict[str, Any]:
        """The trace of one entry; LogError names it when it is damaged or erased."""
        erased = "erased" if self._has("erased") else "NULL"
        rows = self._read(f"SELECT trace, {erased} FROM consultations WHERE id = ?", [entry_id])
        if not rows:
            raise LogError(f"{self.path}: no consultation with id {entry_id}")
        if rows[0][1] is not None:
            raise LogError(f"{self.path}: consultation {entry_id} was erased")
        return self.decode(entry_id, rows[0][0])

    def traces(self, ids: list[int]) -> Iterator[tuple[int, Any, list[str], str | None]]:
        """(id, trace or LogError, what of the entry was edited, the digest of the trace's
        canonical form) for each id, streamed in id order. What was edited: "trace" when the
        text does not match its seal, and each column (they repeat the sealed trace for
        listing and searching) that says otherwise than the trace."""
        from .trace import Reader

        if self._reader is None:
            self._reader = Reader()  # kept: entries read later share what it has read
        subject = "subject" if self._has("subject") else "NULL"
        key_id = "key_id" if self._has("key_id") else "NULL"
        sealed = self._has("seal")
        seal = "nonce, seal" if sealed else "NULL, NULL"
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = (
                f"SELECT id, trace, {seal}, created_at, recommendation, rulebase_digest, "
                f"content_digest, {subject}, {key_id} FROM consultations "
                f"WHERE id IN ({', '.join('?' * len(chunk))}) ORDER BY id"
            )
            for entry_id, text, nonce, kept_seal, *columns in self._read(query, chunk):
                edited = ["trace"] if sealed and _seal(str(nonce), str(text)) != kept_seal else []
                try:
                    doc, digest = self._decoded(int(entry_id), text, self._reader)
                except LogError as exc:
                    yield int(entry_id), exc, edited, None
                    continue
                yield (
                    int(entry_id), doc, edited + _disagreeing(columns, doc, subject != "NULL"),
                    digest,
                )  # fmt: skip

    def decode(self, entry_id: int, text: Any) -> dict[str, Any]:
        """An entry's trace; LogError when it is damaged."""
        return self._decoded(entry_id, text, None)[0]

    def _decoded(
        self, entry_id: int, text: Any, reader: Reader | None
    ) -> tuple[dict[str, Any], str | None]:
        from .trace import loads

        if not isinstance(text, str):
            raise LogError(f"{self.path}: consultation {entry_id} is damaged (no trace text)")
        where = f"{self.path}: consultation {entry_id}"
        try:
            return reader.read(text, where) if reader else (loads(text, where), None)
        except AdvisorError as exc:
            raise LogError(f"{exc} (the entry is damaged)") from None

    def _read(self, query: str, args: list[Any]) -> list[tuple]:
        try:
            return self.db.execute(query, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: cannot read the consultation log: {exc}") from None


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: entries erased, and whether their data has left the file."""

    count: int
    complete: bool


_REPEATED = (
    "created_at",
    "recommendation",
    "rulebase_digest",
    "content_digest",
    "subject",
    "key_id",
)


def _disagreeing(columns: list[Any], doc: dict[str, Any], has_subject: bool) -> list[str]:
    """The names of the columns whose value is not the trace's."""
    rulebase = doc.get("rulebase")
    signature = doc.get("signature")
    sealed = (
        doc.get("created_at"),
        doc.get("recommendation"),
        rulebase.get("digest") if isinstance(rulebase, dict) else None,
        doc.get("content_digest"),
        doc.get("subject") if has_subject else None,
        signature.get("key_id") if isinstance(signature, dict) and has_subject else None,
    )
    return [name for name, kept, true in zip(_REPEATED, columns, sealed) if kept != true]


def _seal(nonce: str, text: str) -> str:
    return (
        "sha256:" + hashlib.sha256(f"{nonce}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()
    )


def _link(previous: str, seal: str) -> str:
    return "sha256:" + hashlib.sha256(f"{previous}\n{seal}".encode()).hexdigest()


def _same_reference(sealed: str, asked: str | None) -> bool:
    from .trace import reference

    try:
        return asked is not None and reference(sealed) == asked
    except ValueError:
        return False


def _refuse_if_not_private(path: str) -> None:
    """A log (or its -wal, -shm) that is there already must be this user's, readable by them
    only: one made by someone else, in a shared folder, would receive personal data."""
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            info = os.lstat(name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise LogError(f"{name}: cannot check the file: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise LogError(f"{name}: not a regular file; refusing to write personal data to it")
        if someone_elses(info):
            raise LogError(f"{name}: owned by another user; refusing to write personal data to it")
        if info.st_mode & 0o077:
            raise LogError(
                f"{name}: others can read or write it (mode {stat.S_IMODE(info.st_mode):o}); "
                f"make it private first: chmod 600 {name}"
            )


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


_SPAN = re.compile(r"^(\d{1,5})([hdw])$")


def parse_when(text: str) -> str:
    """A time given as a date (2026-11-01), a date and time (2026-11-01T09:30:00), or a span
    back from now (12h, 7d, 2w), as the log's ISO form in UTC; ValueError says what is wrong."""
    text = text.strip()
    span = _SPAN.match(text)
    if span:
        amount, unit = int(span.group(1)), span.group(2)
        delta = {
            "h": timedelta(hours=amount),
            "d": timedelta(days=amount),
            "w": timedelta(weeks=amount),
        }
        return _iso(datetime.now(timezone.utc) - delta[unit])
    for form in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return _iso(datetime.strptime(text, form).replace(tzinfo=timezone.utc))
        except ValueError:
            continue
    raise ValueError(
        "expected a date (2026-11-01), a date and time (2026-11-01T09:30:00) or a span back from now (12h, 7d, 2w)"
    )
