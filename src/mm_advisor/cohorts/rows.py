"""A cohort's rows, read as they come: CSV with a header (one column per fact) or JSON Lines (one
object per line), from a file or standard input; and the batch's results and made-up cohorts,
written the same ways.

Each row is (its id, its raw answers) or (its id, why it cannot be read): the `id` column or key
when there is one, else the row's number. A row that cannot be read does not stop the others.

Reading is in two steps, so that a batch can spread the second over its processes: `records`
splits the input into numbered raw records (a CSV row's cells, a JSON line), which is cheap and
must go in order; `Shape.row` makes a Row of one, wherever it runs.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from dataclasses import dataclass
from typing import IO, Any, Collection, Iterable, Iterator

from .. import files
from ..errors import AdvisorError, did_you_mean
from ..explanation import render

CSV, JSONL = "csv", "jsonl"
MAX_LINE = 1024 * 1024  # characters in one row: far above any profile
ID = "id"


class CohortError(AdvisorError):
    """The cohort file as a whole cannot be read (a bad header, not text)."""


@dataclass(frozen=True)
class Row:
    number: int  # 1-based, among the data rows
    id: str
    answers: dict[str, Any] | None  # None when the row could not be read
    problem: str | None = None


def format_of(path: str, given: str | None = None) -> str:
    """The format a file's name says (.csv, .jsonl, .ndjson, .json), unless one is given."""
    if given:
        return given
    lowered = path.lower()
    if lowered.endswith(".csv"):
        return CSV
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return JSONL
    return ""


Record = tuple[int, Any]  # (row number, raw): a CSV row's cells or why it is not CSV; a line


@dataclass(frozen=True)
class Shape:
    """What makes Rows of an input's records: its format and, for CSV, the header's names."""

    fmt: str
    names: tuple[str, ...] = ()

    def row(self, number: int, raw: Any) -> Row:
        if self.fmt == JSONL:
            return _json_row(number, raw)
        if isinstance(raw, str):  # what the CSV reader said of it
            return Row(number, str(number), None, raw)
        row_id = _row_id(dict(zip(self.names, raw)).get(ID), number)
        if len(raw) != len(self.names):
            return Row(
                number, row_id, None, f"{len(raw)} cells, but the header has {len(self.names)}"
            )
        return Row(number, row_id, {n: c for n, c in zip(self.names, raw) if n != ID})


def read(
    path: str, fmt: str | None = None, known: Collection[str] | None = None
) -> tuple[Iterator[Row], int | None, IO[bytes]]:
    """The rows of `path` ('-' is standard input) as they are read, the input's size in bytes
    when known, and the byte stream (whose position tells how far the reading has come).
    With `known` (the fact names), a CSV header naming anything else is refused at once: one
    misspelt column would otherwise make every row an error row."""
    shape, found, size, raw = records(path, fmt, known)
    return (shape.row(number, record) for number, record in found), size, raw


def records(
    path: str, fmt: str | None = None, known: Collection[str] | None = None
) -> tuple[Shape, Iterator[Record], int | None, IO[bytes]]:
    """As `read`, the input's records with what makes rows of them."""
    raw, size = files.open_stream(path)
    shown = files.shown(path)
    chosen = format_of(path, fmt)
    if not chosen:  # standard input, or a name that says nothing: look at the first byte
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)
        chosen = JSONL if raw.peek(1)[:1] in (b"{", b"[") else CSV
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    if chosen == JSONL:
        return Shape(JSONL), _jsonl(text, shown), size, raw
    shape, found = _csv(text, shown, known)  # the header now: its mistakes before any work
    return shape, found, size, raw


def _csv(
    text: IO[str], shown: str, known: Collection[str] | None = None
) -> tuple[Shape, Iterator[Record]]:
    reader = csv.reader(_bounded(text, shown))
    try:
        header = next(reader)
    except StopIteration:
        return Shape(CSV), iter(())
    except csv.Error as exc:
        raise CohortError(f"{shown}:1: not CSV: {exc}") from None
    names = [name.strip() for name in header]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})[0]
        raise CohortError(f"{shown}:1: the column '{twice}' appears twice")
    unknown = [n for n in names if known is not None and n and n != ID and n not in known]
    if unknown:
        raise CohortError(
            f"{shown}:1: the column '{unknown[0]}' is not a question of this knowledge base"
            + did_you_mean(unknown[0], known or ())
        )
    return Shape(CSV, tuple(names)), _csv_records(reader)


def _csv_records(reader: Iterator[list[str]]) -> Iterator[Record]:
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, f"not CSV: {exc}"
            continue
        if not "".join(cells).strip():
            continue  # a blank line: no cell holds anything but white space
        number += 1
        yield number, cells


def _jsonl(text: IO[str], shown: str) -> Iterator[Record]:
    number = 0
    for line in _bounded(text, shown):
        if line.strip():
            number += 1
            yield number, line


def _json_row(number: int, line: str) -> Row:
    try:
        value = json.loads(line, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        return Row(number, str(number), None, f"not JSON: {str(exc).split(':')[0]}")
    if not isinstance(value, dict):
        return Row(number, str(number), None, "not a JSON object of answers")
    row_id = _row_id(value.get(ID), number)
    return Row(number, row_id, {k: _shallow(v) for k, v in value.items() if k != ID})


def _shallow(value: Any) -> Any:
    """An answer as it is passed on: a list or object (never an answer) emptied, so that one
    nested however deep costs nothing to send to another process and is refused the same."""
    if isinstance(value, list):
        return []
    return {} if isinstance(value, dict) else value


def _bounded(text: IO[str], shown: str) -> Iterator[str]:
    lines = iter(functools.partial(text.readline, MAX_LINE + 1), "")
    try:
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_LINE:
                raise CohortError(f"{shown}:{number}: a line longer than {MAX_LINE:,} characters")
            yield line
    except UnicodeDecodeError as exc:
        raise CohortError(f"{shown}: not UTF-8 text ({exc.reason})") from None


def _row_id(value: Any, number: int) -> str:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()[:200]
    return str(number)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --- results -------------------------------------------------------------------------------

COLUMNS = ("id", "recommendation", "scores", "fired", "rulebase", "error")


class Writer:
    """Results written one by one, as JSON Lines or CSV (scores and fired rules in one cell);
    a CSV's header is written by `header`, once, where the results begin."""

    def __init__(self, stream: IO[str], fmt: str):
        self.stream, self.fmt = stream, fmt
        self.csv = csv.writer(stream, lineterminator="\n") if fmt == CSV else None

    def header(self) -> None:
        if self.csv is not None:
            self.csv.writerow(COLUMNS)

    def write(self, record: dict[str, Any]) -> None:
        if self.csv is None:
            self.stream.write(render.json_text(record) + "\n")
            return
        scores = record.get("scores")
        self.csv.writerow(
            [
                render.cell(record["id"]),
                record.get("recommendation", ""),
                " ".join(f"{k}={v}" for k, v in scores.items()) if scores else "",
                " ".join(record.get("fired", ())),
                record.get("rulebase", ""),
                render.cell(record.get("error", "")),
            ]
        )


def write_profiles(
    stream: IO[str], fmt: str, schema: Any, profiles: Iterable[dict[str, Any]]
) -> None:
    """Answers documents as a cohort `read` reads: in CSV one column per fact, in its schema's
    order, a yes/no as yes or no and an unknown answer as an empty cell; in JSON Lines one
    object per line, an unknown answer left out."""
    if fmt == JSONL:
        for profile in profiles:
            stream.write(render.json_text(profile) + "\n")
        return
    names = list(schema.facts)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    for profile in profiles:
        writer.writerow(
            "" if profile.get(n) is None else schema.facts[n].render(profile[n]) for n in names
        )
