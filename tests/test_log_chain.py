"""The consultation log as an auditor can defend it: a hash chain that finds entries edited,
removed, inserted or reordered outside the tool; columns checked against the sealed trace;
erasure that finds every entry about a subject and says when a reader keeps the data; a log
that is the user's own or refused."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from conftest import KB_ARGS, PROFILES, invoke

from mm_advisor.audit import log as log_mod
from mm_advisor.audit import trace
from mm_advisor.audit.log import ConsultationLog

STEPPING = str(PROFILES / "stepping-stone.yaml")


def log_of(tmp_path: Path, *subjects: str) -> Path:
    log = tmp_path / "log.db"
    for subject in subjects:
        result = invoke(
            "consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log), "--subject", subject
        )
        assert result.exit_code == 0, result.stderr
    return log


def verify_all(log: Path, *args: str):
    return invoke("audit", "verify", *KB_ARGS, "--log", str(log), "--all", "--jobs", "1", *args)


def sql(log: Path, *statements: str) -> None:
    db = sqlite3.connect(log)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def tampered_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if "TAMPERED:" in line and ": " in line]


def test_an_intact_log_verifies_and_names_its_head(tmp_path):
    log = log_of(tmp_path, "S0", "S1", "S2")
    result = verify_all(log)
    with ConsultationLog(str(log)) as kept:
        head = kept.head()
    assert head.startswith("sha256:") and len(head) == 71
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == f"chain of entries: intact; its head: {head}"


@pytest.mark.parametrize(
    ("statements", "found"),
    [
        (  # removed
            ["DELETE FROM consultations WHERE id = 2"],
            ["3: TAMPERED: the chain breaks here: an entry before it was removed, inserted or "
             "reordered"],
        ),
        (  # reordered: two entries swap places
            ["UPDATE consultations SET id = -1 WHERE id = 1",
             "UPDATE consultations SET id = 1 WHERE id = 2",
             "UPDATE consultations SET id = 2 WHERE id = -1"],
            ["1: TAMPERED: the chain breaks here: an entry before it was removed, inserted or "
             "reordered",
             "2: TAMPERED: the chain breaks here: an entry before it was removed, inserted or "
             "reordered",
             "3: TAMPERED: the chain breaks here: an entry before it was removed, inserted or "
             "reordered"],
        ),
        (  # inserted: a copy of an entry, between two others
            ["UPDATE consultations SET id = 4 WHERE id = 3",
             "INSERT INTO consultations SELECT 3, created_at, recommendation, rulebase_digest, "
             "content_digest, trace, subject, key_id, nonce, seal, link, erased "
             "FROM consultations WHERE id = 1"],
            ["3: TAMPERED: the chain breaks here: an entry before it was removed, inserted or "
             "reordered",
             "4: TAMPERED: the chain breaks here: an entry before it was removed, inserted or "
             "reordered"],
        ),
    ],
    ids=["removed", "reordered", "inserted"],
)  # fmt: skip
def test_the_chain_finds_entries_changed_outside_the_tool(tmp_path, statements, found):
    log = log_of(tmp_path, "S0", "S1", "S2")
    sql(log, *statements)
    result = verify_all(log)
    assert result.exit_code == 1
    chain = [
        line
        for line in result.stdout.splitlines()
        if "TAMPERED: the chain" in line or "(the seal" in line or line.startswith("chain of")
    ]
    assert chain[:-1] == found
    assert chain[-1].startswith("chain of entries: BROKEN (see above); its head: sha256:")


def test_a_trace_text_edited_in_place_does_not_match_its_seal(tmp_path):
    log = log_of(tmp_path, "S0", "S1", "S2")
    db = sqlite3.connect(log)
    doc = json.loads(db.execute("SELECT trace FROM consultations WHERE id = 2").fetchone()[0])
    doc["created_at"] = "1999-01-01T00:00:00Z"  # back-dated, its digest recomputed as anyone can
    doc["content_digest"] = trace.content_digest(doc)
    db.execute("UPDATE consultations SET trace = ? WHERE id = 2", (json.dumps(doc),))
    db.commit()
    db.close()
    result = verify_all(log)
    assert result.exit_code == 1
    line = result.stdout.splitlines()[0]
    assert line.endswith(
        "  S1  TAMPERED: log entry edited outside mm-advisor (trace, created_at, content_digest)"
    )
    assert result.stdout.splitlines()[-1].startswith("chain of entries: intact; its head:")


def test_columns_that_disagree_with_the_sealed_trace_are_tampering(tmp_path):
    """Regression: an edited subject or recommendation column verified as intact, was listed,
    and hid the entry from `forget`."""
    log = log_of(tmp_path, "S0", "S1", "S2")
    sql(
        log,
        "UPDATE consultations SET subject = 'X' WHERE id = 2",
        "UPDATE consultations SET recommendation = 'phd' WHERE id = 3",
    )
    result = verify_all(log)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split("  ", 2)[::2] for line in lines[:2]] == [
        ["2", "X  TAMPERED: log entry edited outside mm-advisor (subject)"],
        ["3", "S2  TAMPERED: log entry edited outside mm-advisor (recommendation)"],
    ]
    data = json.loads(verify_all(log, "--format", "json").stdout)
    assert [(f["id"], f["log_columns_edited"]) for f in data["findings"]] == [
        (2, ["subject"]),
        (3, ["recommendation"]),
    ]
    forgot = invoke("audit", "forget", "--log", str(log), "--subject", "S1")
    assert (forgot.exit_code, forgot.stdout) == (0, "Erased 1 consultation about S1.\n")
    data = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*"))
    assert b'"S1"' not in data and b'"S0"' in data


def test_erasure_leaves_tombstones_that_keep_the_chain(tmp_path):
    log = log_of(tmp_path, "S0", "S1", "S2")
    assert invoke("audit", "forget", "--log", str(log), "--subject", "S1").exit_code == 0
    pruned = invoke("audit", "prune", "--log", str(log), "--before", "2100-01-01")
    assert pruned.stdout == "Erased 2 consultations made before 2100-01-01T00:00:00Z.\n"
    result = verify_all(log)
    assert (result.exit_code, result.stdout.splitlines()[-1][:40]) == (
        0,
        "chain of entries: intact; its head: sha2",
    )
    db = sqlite3.connect(log)
    rows = db.execute(
        "SELECT id, created_at, recommendation, content_digest, trace, subject, nonce, erased "
        "FROM consultations ORDER BY id"
    ).fetchall()
    db.close()
    assert [(r[0], r[1:7], json.loads(r[7])["reason"]) for r in rows] == [
        (1, ("", "", "", "", None, None), "prune"),
        (2, ("", "", "", "", None, None), "forget"),
        (3, ("", "", "", "", None, None), "prune"),
    ]
    shown = invoke("audit", "show", *KB_ARGS, "--log", str(log), "2")
    assert (shown.exit_code, shown.stderr) == (2, f"Error: {log}: consultation 2 was erased\n")
    assert invoke("audit", "list", "--log", str(log), "--format", "json").stdout == "[]\n"


def test_a_head_recorded_earlier_finds_a_chain_rewritten_after_it(tmp_path):
    log = log_of(tmp_path, "S0", "S1")
    with ConsultationLog(str(log)) as kept:
        head = kept.head()
    log_of(tmp_path, "S2")
    assert verify_all(log, "--head", head).exit_code == 0
    # Whoever can write the file can remove an entry and recompute every link after it.
    sql(log, "DELETE FROM consultations WHERE id = 1")
    db = sqlite3.connect(log)
    previous = log_mod.GENESIS
    for entry_id, seal in db.execute("SELECT id, seal FROM consultations ORDER BY id").fetchall():
        previous = log_mod._link(previous, seal)
        db.execute("UPDATE consultations SET link = ? WHERE id = ?", (previous, entry_id))
    db.commit()
    db.close()
    assert verify_all(log).exit_code == 0  # the chain alone cannot know
    result = verify_all(log, "--head", head)
    assert result.exit_code == 1
    assert (
        f"TAMPERED: no entry ends the chain at the head given ({head}): entries were changed"
        in result.stdout.splitlines()
    )
    alone = invoke("audit", "verify", *KB_ARGS, "--log", str(log), "1", "--head", head)
    assert (alone.exit_code, alone.stderr) == (
        2,
        "Error: --head goes with --log DB --all: it checks the whole chain\n",
    )


def test_forget_with_a_reader_says_the_data_is_still_there_and_the_next_write_finishes(tmp_path):
    """Regression: "Deleted 1 consultation", exit 0, and the row stayed in the file."""
    log = log_of(tmp_path, "S0", "S1")
    reader = sqlite3.connect(log)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM consultations").fetchone() == (2,)
    result = invoke("audit", "forget", "--log", str(log), "--subject", "S1")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "Erased 1 consultation about S1.\n",
        f"Error: another program is reading {log}: the erased data stays in its write-ahead "
        "file until it stops. Run the command again then (the next write to the log also "
        "finishes it).\n",
    )
    reader.close()
    log_of(tmp_path, "S2")  # the next write
    data = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*"))
    assert b'"S1"' not in data and b'"S2"' in data
    with ConsultationLog(str(log)) as kept:
        assert kept._setting("erasure_pending") is None


@pytest.mark.parametrize(
    "variant",
    ["S1 ", " S1", "S1\u200b", "S\u00ad1", "\ufeffS1", "S\u00a01", "Ame\u0301lie"],
    ids=["trailing-space", "leading-space", "zero-width", "soft-hyphen", "bom", "nbsp", "nfd"],
)
def test_references_that_look_alike_are_one_reference_or_refused(tmp_path, variant):
    """Regression: each was stored as given, looked the same in `audit list`, and was left
    behind when the plain reference was forgotten."""
    log = tmp_path / "log.db"
    args = ("consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log), "--subject", variant)
    result = invoke(*args)
    if variant in ("S1 ", " S1", "Ame\u0301lie"):
        assert result.exit_code == 0
        plain = "Amélie" if variant.startswith("A") else "S1"
        forgot = invoke("audit", "forget", "--log", str(log), "--subject", plain)
        assert forgot.stdout == f"Erased 1 consultation about {plain}.\n"
    else:
        code = ord(next(c for c in variant if c not in "S1 "))
        assert (result.exit_code, result.stderr.split(": a ref")[1]) == (
            2,
            f"erence cannot hold U+{code:04X}: a control character, or one that cannot be seen "
            "or looks like a space\n",
        )


def test_forget_dry_run_lists_and_erases_nothing(tmp_path):
    log = log_of(tmp_path, "S0", "S1", "S1")
    dry = invoke("audit", "forget", "--log", str(log), "--subject", "S1", "--dry-run")
    assert (dry.exit_code, dry.stdout) == (0, "Would erase 2 consultations about S1: 2, 3.\n")
    none = invoke("audit", "forget", "--log", str(log), "--subject", "S7", "--dry-run")
    assert none.stdout == "Would erase 0 consultations about S7.\n"
    assert (
        len(json.loads(invoke("audit", "list", "--log", str(log), "--format", "json").stdout)) == 3
    )


def test_a_log_someone_else_made_or_others_can_read_is_refused(tmp_path, monkeypatch):
    """Regression: an empty log.db made by another user with mode 666, in a shared folder,
    received answers and subjects; the failed chmod was ignored."""
    log = tmp_path / "log.db"
    log.touch()
    os.chmod(log, 0o666)
    args = ("consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log), "--subject", "S1")
    result = invoke(*args)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {log}: others can read or write it (mode 666); make it private first: "
        f"chmod 600 {log}\n",
    )
    assert log.read_bytes() == b""
    os.chmod(log, 0o600)
    wal = tmp_path / "log.db-wal"
    wal.touch()
    monkeypatch.chdir(tmp_path)  # no knowledge base to discover here, whose owner would differ too
    monkeypatch.setattr(log_mod.os, "getuid", lambda: os.stat(log).st_uid + 1)
    result = invoke(*args)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {log}: owned by another user; refusing to write personal data to it\n",
    )
    monkeypatch.undo()
    os.remove(wal)
    assert invoke(*args).exit_code == 0
    missing = invoke("audit", "retention", "--log", str(tmp_path / "nope.db"), "30")
    assert (missing.exit_code, missing.stderr) == (
        2,
        f"Error: {tmp_path / 'nope.db'}: no such consultation log\n",
    )
    assert not (tmp_path / "nope.db").exists()


def test_a_log_from_before_the_chain_is_sealed_when_next_written(tmp_path):
    log = tmp_path / "log.db"
    doc = json.loads(invoke("consult", *KB_ARGS, "--answers", STEPPING, "--format", "json").stdout)
    db = sqlite3.connect(log)
    db.executescript(
        "CREATE TABLE consultations (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT "
        "NULL, recommendation TEXT NOT NULL, rulebase_digest TEXT NOT NULL, content_digest TEXT "
        "NOT NULL, trace TEXT NOT NULL, subject TEXT, key_id TEXT);"
        "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "PRAGMA user_version = 2;"
    )
    for _ in range(2):
        stamped = trace.stamped(doc)
        db.execute(
            "INSERT INTO consultations (created_at, recommendation, rulebase_digest, "
            "content_digest, trace) VALUES (?, ?, ?, ?, ?)",
            (stamped["created_at"], stamped["recommendation"], stamped["rulebase"]["digest"],
             stamped["content_digest"], json.dumps(stamped)),
        )  # fmt: skip
    db.commit()
    db.close()
    os.chmod(log, 0o600)
    before = verify_all(log)
    assert before.exit_code == 1 and (
        f"TAMPERED: {log}: a log from before the chain (it is added at the next write)"
        in before.stdout.splitlines()
    )
    log_of(tmp_path, "S2")
    after = verify_all(log)
    assert after.exit_code == 0, after.stdout
    assert "3 consultations checked:" in after.stdout


def test_the_list_as_csv_for_a_spreadsheet(tmp_path):
    log = log_of(tmp_path, "S0", "=cmd|' /C calc'!A0")
    listed = invoke("audit", "list", "--log", str(log), "--format", "csv")
    lines = listed.stdout.splitlines()
    assert lines[0] == "id,created_at,subject,recommendation,key_id,content_digest"
    assert [line.split(",")[2] for line in lines[1:]] == ["S0", "'=cmd|' /C calc'!A0"]
    one = invoke("audit", "list", "--log", str(log), "--subject", " S0 ", "--format", "csv")
    assert len(one.stdout.splitlines()) == 2  # the reference as kept: trimmed


def test_opening_a_current_log_to_write_reads_no_entry(tmp_path, monkeypatch):
    """Regression: every `consult --log` looked for entries to seal, reading the whole file
    (12.7 s on a 100,000-entry log); only a log an older mm-advisor wrote needs it."""
    log = log_of(tmp_path, "S0")
    said: list[str] = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        db = connect(*args, **kwargs)
        db.set_trace_callback(said.append)
        return db

    monkeypatch.setattr(log_mod.sqlite3, "connect", traced)
    with ConsultationLog(str(log), write=True):
        pass
    assert said and not [s for s in said if "FROM consultations" in s]


def test_a_writer_waits_while_another_holds_a_new_log(tmp_path, monkeypatch):
    """Fixed bug (CI): processes creating one new log at once met "database is locked", since
    SQLite does not wait for a busy file when switching it to write-ahead logging. (And a log
    of schema version 1, without a subject column, could not be opened to write at all.)"""
    log = tmp_path / "log.db"
    other = sqlite3.connect(log, isolation_level=None)
    other.execute(  # as the first writer left it, before write-ahead logging
        "CREATE TABLE consultations (id INTEGER PRIMARY KEY, created_at, recommendation, "
        "rulebase_digest, content_digest, trace)"
    )
    other.execute("BEGIN IMMEDIATE")  # another writer holds the file
    waits: list[float] = []

    def wait(seconds: float) -> None:  # instead of sleeping, the other writer finishes
        waits.append(seconds)
        other.execute("COMMIT")

    monkeypatch.setattr(log_mod.time, "sleep", wait)
    os.chmod(log, 0o600)
    with ConsultationLog(str(log), write=True) as kept:
        assert kept.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert kept.head() == log_mod.GENESIS  # a log of schema version 1, now current
        assert kept.db.execute("PRAGMA user_version").fetchone()[0] == log_mod.SCHEMA_VERSION
    assert len(waits) == 1


def test_the_traces_of_a_log_come_with_their_digests(tmp_path):
    log = log_of(tmp_path, "S0", "S1", "S0")
    with ConsultationLog(str(log)) as kept:
        read = list(kept.traces([1, 2, 3]))
    assert [(entry_id, edited) for entry_id, _, edited, _ in read] == [(1, []), (2, []), (3, [])]
    assert [digest for _, doc, _, digest in read] == [
        trace.content_digest(doc) for _, doc, _, _ in read
    ]


def test_an_id_too_large_for_the_log_is_one_line(tmp_path):
    """Fixed bug (found by the fuzz suite): `audit show 999999999999999999999999999999` and
    `verify --log DB` with such an id gave an OverflowError traceback."""
    log = log_of(tmp_path, "S0")
    huge = "9" * 30
    for command in ("show", "export"):
        shown = invoke("audit", command, huge, "--log", str(log))
        assert (shown.exit_code, shown.stderr) == (
            2,
            f"Error: Invalid value for 'ID': {huge} is not in the range 1<=x<=9223372036854775807."
            f" (see 'cli audit {command} --help')\n",  # 'cli': the test runner's name
        )
    for given in (huge, "9" * 4400, "²"):
        checked = invoke("audit", "verify", "--log", str(log), given)
        assert (checked.exit_code, checked.stderr) == (
            2,
            "Error: with --log, give consultation ids (whole numbers up to 9223372036854775807), "
            "--all or --since\n",
        )
    kept = invoke("audit", "retention", "9" * 4400, "--log", str(log))
    assert kept.exit_code == 2
    assert kept.stderr.endswith("9': give a number of days from 1 to 36500, or off\n")
