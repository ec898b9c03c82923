"""Commands for cohorts: batch (recommendations for many profiles), impact (whose
recommendation a change of the knowledge base would change) and sample (a made-up cohort to
try them on)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import click

from ..explanation import render
from ..files import atomic, check_target, shown
from ..knowledge.layout import Layout
from .base import (
    Progress,
    UserError,
    announce,
    cli,
    echo_json,
    jobs_option,
    kb_options,
    log_option,
    sign_key_option,
)


def _output_options(what: str, formats: tuple[str, str]) -> Callable:
    """--out FILE and --format, for a command that writes `what` as rows (the first of
    `formats` is the default)."""

    def decorate(command: Callable) -> Callable:
        command = click.option(
            "--format",
            "fmt",
            type=click.Choice(list(formats)),
            help=f"The {what}' format (default: from --out's extension, else {formats[0]}).",
        )(command)
        return click.option(
            "--out",
            metavar="FILE",
            type=click.Path(dir_okay=False),
            help=f"Write the {what} to FILE (atomically), not standard output.",
        )(command)

    return decorate


@cli.command(exit_codes={1: "some rows could not be consulted (each is an error row)"})
@kb_options
@click.argument("input_path", metavar="INPUT")
@_output_options("results", ("jsonl", "csv"))
@click.option(
    "--input-format",
    type=click.Choice(["jsonl", "csv"]),
    help="The input's format (default: from its extension, else from its first character).",
)
@click.option(
    "--traces",
    "traces_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each row's full trace to DIR/<id>.json.",
)
@log_option("Also append each row's trace to this consultation log.", environment=False)
@click.option(
    "--subject",
    "subject_column",
    metavar="COLUMN",
    help="The column (or key) holding each person's reference, kept in their trace and log entry.",
)
@sign_key_option("Sign the traces written (--traces, --log).")
@jobs_option("Processes to work with; each compiles the knowledge base once.")
@click.option("--quiet", is_flag=True, help="No progress line.")
def batch(
    where: Layout,
    input_path: str,
    out: str | None,
    fmt: str | None,
    input_format: str | None,
    traces_dir: Path | None,
    log_path: str | None,
    subject_column: str | None,
    sign_key: str | None,
    jobs: int,
    quiet: bool,
) -> None:
    """Recommend for every profile in INPUT: a CSV file with a header (one column per fact, and
    optionally `id`) or JSON Lines (one object of answers per line); - reads standard input.

    Each result gives the row's id (its `id`, else its number), the recommendation, the scores,
    the rules that fired and the rule-base digest, in input order. A row that cannot be consulted
    becomes an error row naming the row, the fact and the reason; the others go on, and the exit
    code is then 1. Rows are read as they are needed, so memory stays flat on any input."""
    from ..audit.record import Keeper, signer_from
    from ..cohorts import batch as batch_mod
    from ..cohorts import rows as rows_mod
    from ..knowledge import rulebase as rulebase_mod

    fmt = fmt or rows_mod.format_of(out or "", None) or rows_mod.JSONL
    if subject_column == "id":
        raise UserError(
            "--subject id: the id names the row in the results; "
            "give the column that holds each person's reference"
        )
    if out:
        check_target(out, (input_path, *where.inputs()))
    signer = signer_from(sign_key)
    schema = rulebase_mod.load(where).schema  # a broken knowledge base: one line, before any row
    if traces_dir is not None:
        try:
            traces_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{traces_dir}: cannot create the folder: {exc.strerror}") from None
    keeper = Keeper(signer, log_path)
    known = {*schema.facts, *([subject_column] if subject_column else [])}
    shape, found, size, stream = rows_mod.records(input_path, input_format, known)
    announce(where)
    keep_traces = traces_dir is not None or log_path is not None
    results = batch_mod.run(shape, found, where, jobs, fmt, keep_traces, subject_column)

    def read() -> float | None:  # the share of the input read so far, when its size is known
        try:
            return stream.tell() / size if size else None
        except (OSError, ValueError, AttributeError):
            return None

    progress = Progress("rows", not quiet and sys.stderr.isatty(), share=read)
    tally = batch_mod.Tally()
    with _output(out) as target, contextlib.ExitStack() as stack:
        if input_path != "-":
            stack.callback(stream.close)
        stack.enter_context(keeper)
        rows_mod.Writer(target, fmt).header()
        for tally in batch_mod.deliver(results, target.write, keeper, traces_dir):
            progress.update(tally.rows)
    progress.done(tally.rows)
    if tally.errors:
        click.echo(
            render.line(
                f"{tally.errors} of {tally.rows} rows could not be consulted "
                f"(the first: {tally.first_error})"
            ),
            err=True,
        )
        raise click.exceptions.Exit(1)


@contextlib.contextmanager
def _output(out: str | None) -> Iterator[IO[str]]:
    if out is None:
        yield sys.stdout
    else:
        with atomic(out, private=True) as fh:
            yield fh


@cli.command(exit_codes={1: "with --fail-on-change: some recommendation changes"})
@kb_options
@click.option(
    "--base",
    required=True,
    metavar="REV|DIR",
    help="What to compare with: a git revision of this knowledge base (HEAD: what is not "
    "committed yet), or another knowledge base's folder.",
)
@click.option(
    "--cohort",
    "cohort_path",
    metavar="FILE",
    help="The profiles to run: CSV or JSON Lines, as batch reads them (- is standard input).",
)
@log_option("Run the answers stored in this consultation log.", environment=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format (markdown: to paste into a review).",
)
@click.option("--fail-on-change", is_flag=True, help="Exit 1 when any recommendation changes.")
@click.option(
    "--show-answers",
    is_flag=True,
    help="With --log: show example answers of people whose recommendation changes (left out "
    "otherwise: they are personal).",
)
def impact(
    where: Layout,
    base: str,
    cohort_path: str | None,
    log_path: str | None,
    fmt: str,
    fail_on_change: bool,
    show_answers: bool,
) -> None:
    """Say whose recommendation a change would change: run this knowledge base and a base (a
    git revision of it, or another folder) over a cohort or the consultation log, and show how
    many recommendations change, from what to what, the rules whose change did it, and example
    profiles ready to paste."""
    from ..cohorts import impact as impact_mod
    from ..cohorts import rows as rows_mod
    from ..knowledge import revisions
    from ..knowledge import rulebase as rulebase_mod

    if (cohort_path is None) == (log_path is None):
        raise UserError("give the profiles to run: --cohort FILE or --log DB (one of them)")
    if not base.strip():  # an unset CI variable: comparing with itself would find no change
        raise UserError("--base is empty: give a git revision, or another knowledge base's folder")
    current = rulebase_mod.load(where)
    with revisions.temporary() as scratch:
        base_where = (
            revisions.from_folder(Path(base))
            if Path(base).is_dir()
            else revisions.at_revision(where, base, Path(scratch))
        )
        old = rulebase_mod.load(base_where)
    if cohort_path is not None:
        rows, _, stream = rows_mod.read(cohort_path, known=current.schema.facts)
        cohort = shown(cohort_path)
        found = impact_mod.measure(old, current, rows)
        if cohort_path != "-":
            stream.close()
    else:
        found = impact_mod.measure(old, current, _logged(log_path), examples=show_answers)
        cohort = f"the log {log_path}"
    options = [*current.schema.options, "undetermined"]
    shown_answers = log_path is None or show_answers
    report = impact_mod.to_json(
        found, base_where.found, where.describe(), cohort, options, shown_answers
    )
    announce(where)
    if fmt == "json":
        echo_json(report)
    elif fmt == "markdown":
        click.echo(render.safe(impact_mod.to_markdown(report)), nl=False)
    else:
        click.echo(render.safe(impact_mod.to_text(report)), nl=False)
    if fail_on_change and found.changed:
        raise click.exceptions.Exit(1)


def _logged(log_path: str) -> Iterator[Any]:
    """The answers stored in a consultation log, as rows (numbered by consultation id)."""
    from ..audit.log import ConsultationLog
    from ..cohorts.rows import Row

    with ConsultationLog(log_path) as log:
        ids = [entry.id for entry in log.entries()]
        for entry_id, doc, _, _ in log.traces(ids):
            if isinstance(doc, Exception):
                yield Row(entry_id, str(entry_id), None, str(doc))
                continue
            answers = {
                name: entry.get("value") if isinstance(entry, dict) else entry
                for name, entry in (doc.get("answers") or {}).items()
            }
            yield Row(entry_id, str(entry_id), answers)


@cli.command()
@kb_options
@click.argument("count", type=click.IntRange(0, 100_000_000))
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="The same seed writes the same profiles.",
)
@_output_options("profiles", ("csv", "jsonl"))
def sample(where: Layout, count: int, seed: int, out: str | None, fmt: str | None) -> None:
    """Write COUNT made-up profiles, a cohort to try batch and impact on: each answer drawn at
    random from what its question accepts, about 3 in 10 left unknown. They are no one's
    answers, nor a fair picture of any real cohort."""
    import itertools

    from ..cohorts import rows as rows_mod
    from ..knowledge import rulebase as rulebase_mod
    from ..knowledge import synthetic

    fmt = fmt or rows_mod.format_of(out or "", None) or rows_mod.CSV
    if out:
        check_target(out, where.inputs())
    schema = rulebase_mod.load(where).schema
    announce(where)
    profiles = itertools.islice(synthetic.profiles(schema, seed), count)
    with _output(out) as target:
        rows_mod.write_profiles(target, fmt, schema, profiles)
