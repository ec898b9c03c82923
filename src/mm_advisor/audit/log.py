"""The consultation log: traces appended to a SQLite database, one transaction each (WAL mode)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..errors import AdvisorError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS consultations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    rulebase_digest TEXT NOT NULL,
    content_digest TEXT NOT NULL,
    trace TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consultations_created ON consultations (created_at);
"""


class LogError(AdvisorError):
    """The log cannot be opened or read."""


class ConsultationLog:
    """A log at `path`; concurrent writers wait for each other instead of losing traces."""

    def __init__(self, path: str):
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 30000")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{path}: cannot open the consultation log: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def append(self, doc: dict[str, Any]) -> int:
        """Store one trace in its own transaction; return its id."""
        row = (
            doc["created_at"],
            doc["recommendation"],
            doc["rulebase"]["digest"],
            doc["content_digest"],
            json.dumps(doc, ensure_ascii=False),
        )
        try:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute(
                "INSERT INTO consultations (created_at, recommendation, rulebase_digest, "
                "content_digest, trace) VALUES (?, ?, ?, ?, ?)",
                row,
            )
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise LogError(f"{self.path}: cannot write the consultation log: {exc}") from None
        return cursor.lastrowid

    def entries(
        self, recommendation: str | None = None, since: str | None = None
    ) -> list[tuple[int, str, str, str]]:
        """(id, created_at, recommendation, content_digest) of matching entries, oldest first."""
        query = "SELECT id, created_at, recommendation, content_digest FROM consultations"
        clauses, args = [], []
        if recommendation:
            clauses.append("recommendation = ?")
            args.append(recommendation)
        if since:
            clauses.append("created_at >= ?")
            args.append(since)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        return self._read(query + " ORDER BY id", args)

    def trace(self, entry_id: int) -> dict[str, Any]:
        rows = self._read("SELECT trace FROM consultations WHERE id = ?", [entry_id])
        if not rows:
            raise LogError(f"{self.path}: no consultation with id {entry_id}")
        return json.loads(rows[0][0])

    def _read(self, query: str, args: list[Any]) -> list[tuple]:
        try:
            return self.db.execute(query, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: cannot read the consultation log: {exc}") from None
