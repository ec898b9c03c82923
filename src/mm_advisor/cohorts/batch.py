"""The batch core: recommendations for many profiles, on the fast evaluator.

`consult_partition` takes one partition of rows and gives one result per row, in order. It is a
plain module-level function of picklable arguments, so the same code runs under Dask
(`dask.bag.map_partitions`) or under Spark (`rdd.mapPartitions`); each process loads and
compiles the knowledge base once. See docs/cohorts.md.

`run` spreads a file over this machine's cores the same way, but does less in the process that
reads it, which would otherwise hold the others back: it only splits the input into numbered
records (`rows.records`); each worker makes rows of them, consults and formats the results, and
gives back their text.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..audit import trace
from ..knowledge import rulebase as rulebase_mod
from ..knowledge.answers import FILE, Answers, unknown_fact
from ..knowledge.layout import Layout
from ..knowledge.schema import Schema
from ..parallel import ordered_map
from ..reasoning.advisor import Advisor
from ..reasoning.evaluator import Evaluator
from .rows import Record, Row, Shape, Writer

if TYPE_CHECKING:
    from ..audit.record import Keeper

CHUNK = 2000  # rows a process takes at a time
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class _Worker:
    """What one process keeps: the rule base, compiled once (the experta engine only when full
    traces are asked for)."""

    def __init__(self, where: Layout):
        self.rulebase = rulebase_mod.load(where)
        self.fast = Evaluator(self.rulebase)
        self._advisor: Advisor | None = None

    @property
    def advisor(self) -> Advisor:
        if self._advisor is None:
            self._advisor = Advisor(self.rulebase)
        return self._advisor

    def consult(self, row: Row, traces: bool, subject: str | None) -> dict[str, Any]:
        """One row's result: recommendation, scores, fired rules and the rule-base digest; with
        `traces`, its full trace too (made on the experta engine, as `consult` makes it)."""
        answers, who, problem = parse(row, self.rulebase.schema, subject)
        if answers is None:
            return {"id": row.id, "error": problem}
        outcome = self.fast.outcome(answers.values)
        record: dict[str, Any] = {
            "id": row.id,
            "recommendation": outcome.recommendation,
            "scores": dict(outcome.decision.scores),
            "fired": [rule.id for rule in outcome.fired],
            "rulebase": self.rulebase.digest,
        }
        if traces:
            complete = answers.completed(self.rulebase.schema)
            result = self.advisor.consult(complete.values)
            record["trace"] = trace.build(self.rulebase, complete, result, subject=who)
        return record


def parse(
    row: Row, schema: Schema, subject: str | None = None
) -> tuple[Answers | None, str | None, str | None]:
    """A row's answers checked against `schema`, the subject it names, or why it cannot be
    consulted ("row N: ..." naming the fact and the reason)."""
    if row.answers is None:
        return None, None, f"row {row.number}: {row.problem}"
    answers = Answers()
    who = None
    for name, raw in row.answers.items():
        if name == subject:
            try:
                who = None if raw in (None, "") else trace.reference(str(raw))
            except ValueError as exc:
                return None, None, f"row {row.number}: the subject: {exc}"
            continue
        if name not in schema.facts:
            return None, None, f"row {row.number}: {unknown_fact(name, schema)}"
        if raw is None or raw == "":
            continue  # unknown
        try:
            answers.give(name, schema.facts[name].parse(raw), FILE)
        except ValueError as exc:
            return None, None, f"row {row.number}: fact '{name}': {exc}"
    if subject is not None and who is None:  # kept without one, nobody could ever erase it
        return None, None, f"row {row.number}: no subject ('{subject}' is missing or empty)"
    return answers, who, None


_workers: dict[Layout, _Worker] = {}  # per process: one per knowledge base it has served


def _worker(where: Layout) -> _Worker:
    if where not in _workers:
        _workers[where] = _Worker(where)
    return _workers[where]


def consult_partition(
    rows: Iterable[Row], where: Layout, traces: bool = False, subject: str | None = None
) -> list[dict[str, Any]]:
    """The results for one partition of rows, in their order (see the module's text)."""
    worker = _worker(where)
    return [worker.consult(row, traces, subject) for row in rows]


@dataclass
class Tally:
    """Rows given, error rows among them, the first error."""

    rows: int = 0
    errors: int = 0
    first_error: str = ""

    def count(self, record: dict[str, Any]) -> None:
        self.rows += 1
        if "error" in record:
            self.errors += 1
            self.first_error = self.first_error or record["error"]

    def add(self, other: Tally) -> None:
        self.rows += other.rows
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error


@dataclass(frozen=True)
class Done:
    """One chunk's results: their text as the output takes it, the traces to keep (row number,
    row id, trace), and its tally."""

    text: str
    traces: list[tuple[int, str, dict[str, Any]]]
    tally: Tally


def consult_chunk(
    records: list[Record], shape: Shape, where: Layout, fmt: str, traces: bool, subject: str | None
) -> Done:
    """One chunk of an input's records, consulted and formatted as `fmt` (without the header)."""
    worker = _worker(where)
    buffer = io.StringIO()
    writer = Writer(buffer, fmt)
    kept, tally = [], Tally()
    for number, raw in records:
        record = worker.consult(shape.row(number, raw), traces, subject)
        doc = record.pop("trace", None)
        tally.count(record)
        if doc is not None:
            kept.append((number, record["id"], doc))
        writer.write(record)
    return Done(buffer.getvalue(), kept, tally)


def _chunk(job: tuple) -> Done:
    return consult_chunk(*job)


def run(
    shape: Shape,
    records: Iterable[Record],
    where: Layout,
    jobs: int,
    fmt: str,
    traces: bool = False,
    subject: str | None = None,
) -> Iterator[Done]:
    """Every chunk's results, in input order, on `jobs` processes; records are read as they
    are needed, so memory stays flat however long the input."""
    chunks = ((chunk, shape, where, fmt, traces, subject) for chunk in _chunks(records, CHUNK))
    return ordered_map(_chunk, chunks, jobs, _worker, (where,))


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    records = iter(records)
    while chunk := list(itertools.islice(records, size)):
        yield chunk


def trace_name(row_id: str, number: int, taken: set[str]) -> str:
    """The file name of row `number`'s trace: its id made safe; when that is taken, the row
    number too (and a counter, should an id already end so). Names given are added to `taken`,
    so no trace replaces another's."""
    stem = _SAFE_NAME.sub("_", row_id).lstrip(".")[:100] or f"row-{number}"
    name, extra = f"{stem}.json", 0
    while name in taken:
        extra += 1
        name = f"{stem}-{number}.json" if extra == 1 else f"{stem}-{number}-{extra}.json"
    taken.add(name)
    return name


def deliver(
    results: Iterable[Done],
    write: Callable[[str], Any],
    keeper: Keeper,
    traces_dir: Path | None = None,
) -> Iterator[Tally]:
    """Each chunk's traces kept by `keeper` (and written under `traces_dir`), then its results
    written by `write`; the tally after each chunk."""
    tally = Tally()
    names: set[str] = set()
    for done in results:
        for number, row_id, doc in done.traces:
            to = None
            if traces_dir is not None:
                to = str(traces_dir / trace_name(row_id, number, names))
            keeper.keep(doc, trace_to=to)
        write(done.text)
        tally.add(done.tally)
        yield tally
