"""The browser consultations in progress: one row per visitor, kept on the server (the browser
holds only a random id), shared by every worker process, forgotten when idle too long.

A consultation's state is small JSON: its answers, their order, what `back` returns to, the
form token, and the finished trace. Nothing here is the advice: `reasoning.session.Session`
is rebuilt from it on each request.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from typing import Any, Callable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS visits (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  touched REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_touched ON visits (touched);
"""


class Full(Exception):
    """No room for another consultation in progress."""


class Store:
    """Consultations in progress in one SQLite file, each idle at most `idle_seconds`."""

    def __init__(
        self,
        path: str,
        idle_seconds: float,
        most: int = 10_000,
        clock: Callable[[], float] | None = None,
    ):
        self.idle = idle_seconds
        self.most = most
        self.clock = clock or time.time
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # lost on a power cut: a visit, not advice
        self.db.executescript(_SCHEMA)

    def create(self) -> tuple[str, dict[str, Any]]:
        """A new consultation: its id (what the cookie holds) and its empty state."""
        now = self.clock()
        self.db.execute("DELETE FROM visits WHERE touched < ?", (now - self.idle,))
        (live,) = self.db.execute("SELECT count(*) FROM visits").fetchone()
        if live >= self.most:
            raise Full
        visit = secrets.token_urlsafe(32)
        state: dict[str, Any] = {
            "token": secrets.token_urlsafe(32),
            "values": {},
            "order": [],
            "history": [],
        }
        self.db.execute(
            "INSERT INTO visits (id, state, touched) VALUES (?, ?, ?)",
            (visit, json.dumps(state), now),
        )
        return visit, state

    def load(self, visit: str | None) -> dict[str, Any] | None:
        """The state of a consultation, or None when there is none by that id or it has been
        idle too long (then it is forgotten)."""
        if not visit or len(visit) > 64:
            return None
        row = self.db.execute("SELECT state, touched FROM visits WHERE id = ?", (visit,)).fetchone()
        if row is None:
            return None
        if row[1] < self.clock() - self.idle:
            self.forget(visit)
            return None
        return json.loads(row[0])

    def save(self, visit: str, state: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE visits SET state = ?, touched = ? WHERE id = ?",
            (json.dumps(state), self.clock(), visit),
        )

    def forget(self, visit: str) -> None:
        self.db.execute("DELETE FROM visits WHERE id = ?", (visit,))

    def close(self) -> None:
        self.db.close()
