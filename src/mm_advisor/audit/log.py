"""The consultation log: traces kept in a SQLite database, one transaction each (WAL mode).

It holds personal data (a person's answers and the office's case reference), so it is created
readable by its owner only, keeps entries only as long as its retention setting says, and can
forget a subject or everything before a date, leaving nothing recoverable in the file. Reading
commands open it read-only: a file that is not a consultation log is never changed; a damaged
entry is named and skipped; a log written by a newer mm-advisor is refused.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from ..errors import AdvisorError

SCHEMA_VERSION = 2  # 1: before subjects, signatures and retention (read, migrated on write)
_CREATE = """
CREATE TABLE IF NOT EXISTS consultations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    rulebase_digest TEXT NOT NULL,
    content_digest TEXT NOT NULL,
    trace TEXT NOT NULL,
    subject TEXT,
    key_id TEXT
);
CREATE INDEX IF NOT EXISTS consultations_created ON consultations (created_at);
CREATE INDEX IF NOT EXISTS consultations_subject ON consultations (subject);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = {"id", "created_at", "recommendation", "rulebase_digest", "content_digest", "trace"}


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
        if not write and not Path(path).is_file():
            raise LogError(f"{path}: no such consultation log")
        try:
            if write:
                with _private_files():
                    self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
                try:
                    os.chmod(path, 0o600)  # a log made by an older version was not private
                except OSError:
                    pass
            else:
                uri = Path(path).resolve().as_uri() + "?mode=ro"
                self.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 30000")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            self._check(version)
            if write:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA secure_delete = ON")
                with _private_files():
                    self.db.executescript(_CREATE)
                self._migrate()
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{path}: not a consultation log ({exc})") from None

    def _check(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise LogError(
                f"{self.path}: a consultation log of schema version {version}, written by a newer "
                f"mm-advisor (this one reads up to {SCHEMA_VERSION})"
            )
        tables = {
            row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not tables and self.writable:
            return  # a new log
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(consultations)")}
        if not _COLUMNS <= columns:
            raise LogError(f"{self.path}: not a consultation log (it has no consultations table)")

    def _migrate(self) -> None:
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(consultations)")}
        for name in ("subject", "key_id"):
            if name not in columns:
                self.db.execute(f"ALTER TABLE consultations ADD COLUMN {name} TEXT")
        self.db.executescript(_CREATE)
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "ConsultationLog":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # Writing.

    def append(self, doc: dict[str, Any]) -> int:
        """Store one trace in its own transaction, dropping what the retention setting expires;
        return its id."""
        signature = doc.get("signature") or {}
        row = (
            doc["created_at"],
            doc["recommendation"],
            doc["rulebase"]["digest"],
            doc["content_digest"],
            json.dumps(doc, ensure_ascii=False),
            doc.get("subject"),
            signature.get("key_id"),
        )
        try:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute(
                "INSERT INTO consultations (created_at, recommendation, rulebase_digest, "
                "content_digest, trace, subject, key_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            days = self.retention()
            if days is not None:
                cutoff = _iso(datetime.now(timezone.utc) - timedelta(days=days))
                self.db.execute("DELETE FROM consultations WHERE created_at < ?", (cutoff,))
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise LogError(f"{self.path}: cannot write the consultation log: {exc}") from None
        return cursor.lastrowid

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

    def delete(self, before: str | None = None, subject: str | None = None) -> int:
        """Delete the entries made before a time, or about a subject; leave nothing of them in
        the file (secure delete, the write-ahead log emptied, the file vacuumed)."""
        if (before is None) == (subject is None):
            raise ValueError("give before or subject")
        with self._transaction():
            if before is not None:
                cursor = self.db.execute(
                    "DELETE FROM consultations WHERE created_at < ?", (before,)
                )
            else:
                cursor = self.db.execute("DELETE FROM consultations WHERE subject = ?", (subject,))
        try:
            self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: cannot clean the consultation log: {exc}") from None
        return cursor.rowcount

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

    def retention(self) -> int | None:
        try:
            row = self.db.execute(
                "SELECT value FROM settings WHERE name = 'retention_days'"
            ).fetchone()
        except sqlite3.DatabaseError:
            return None  # a log from before retention settings
        return int(row[0]) if row and str(row[0]).isdigit() else None

    def entries(
        self,
        recommendation: str | None = None,
        since: str | None = None,
        subject: str | None = None,
        ids: list[int] | None = None,
    ) -> list[Entry]:
        """The matching entries, oldest first."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(consultations)")}
        subject_col = "subject" if "subject" in columns else "NULL"
        key_col = "key_id" if "key_id" in columns else "NULL"
        query = (
            f"SELECT id, created_at, {subject_col}, recommendation, content_digest, {key_col} "
            "FROM consultations"
        )
        clauses, args = [], []
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
        """The trace of one entry; LogError names it when it is damaged."""
        rows = self._read("SELECT trace FROM consultations WHERE id = ?", [entry_id])
        if not rows:
            raise LogError(f"{self.path}: no consultation with id {entry_id}")
        return self.decode(entry_id, rows[0][0])

    def traces(self, ids: list[int]) -> Iterator[tuple[int, Any]]:
        """(id, trace or LogError) for each id, streamed in id order."""
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = f"SELECT id, trace FROM consultations WHERE id IN ({', '.join('?' * len(chunk))}) ORDER BY id"
            for entry_id, text in self._read(query, chunk):
                try:
                    yield int(entry_id), self.decode(int(entry_id), text)
                except LogError as exc:
                    yield int(entry_id), exc

    def decode(self, entry_id: int, text: Any) -> dict[str, Any]:
        from .trace import loads

        if not isinstance(text, str):
            raise LogError(f"{self.path}: consultation {entry_id} is damaged (no trace text)")
        try:
            return loads(text, f"{self.path}: consultation {entry_id}")
        except AdvisorError as exc:
            raise LogError(f"{exc} (the entry is damaged)") from None

    def _read(self, query: str, args: list[Any]) -> list[tuple]:
        try:
            return self.db.execute(query, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: cannot read the consultation log: {exc}") from None


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
