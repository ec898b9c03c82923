"""Commands for the auditor: explain a trace, verify it, read the consultation log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..audit import trace
from ..explanation import render
from ..knowledge import rulebase as rulebase_mod
from ..knowledge.layout import Layout
from ..reasoning.advisor import Advisor
from .base import UserError, announce, cli, format_option, kb_options, log_option


@cli.command()
@kb_options
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--rule", "rule_id", metavar="ID", help="Explain one rule: did it fire, on what, or why not."
)
@format_option("text", "markdown", "html")
def explain(where: Layout, trace_file: str, rule_id: str | None, fmt: str) -> None:
    """Explain a trace: how it was reached, why not the other options, and what if.

    --format html prints a self-contained report to keep (redirect it to a .html file)."""
    from ..audit import verify
    from ..explanation.explain import Explainer, to_markdown, to_text

    doc = trace.load(trace_file)
    verify.check_shape(doc, trace_file)
    advisor = Advisor(rulebase_mod.load(where))
    announce(where, machine=fmt != "text")
    if fmt == "html":
        from ..explanation import report

        click.echo(report.build(doc, advisor), nl=False)
        return
    explainer = Explainer(doc, advisor)
    sections = explainer.sections(rule_id)
    click.echo(
        (to_markdown if fmt == "markdown" else to_text)(explainer.header(), sections), nl=False
    )


@cli.group()
def audit() -> None:
    """Verify past traces and read the consultation log."""


@audit.command(
    "verify",
    exit_codes={1: "the trace was edited, or the current rules replay it differently"},
)
@kb_options
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False))
def audit_verify(where: Layout, trace_file: str) -> None:
    """Check a trace for tampering, compare its rule base and replay it; exit 1 if anything differs."""
    from ..audit import verify

    doc = trace.load(trace_file)
    verify.check_shape(doc, trace_file)
    rb = rulebase_mod.load(where)
    outcome = verify.verify(doc, rb, Advisor(rb))
    announce(where)
    click.echo(verify.report(outcome), nl=False)
    if not outcome.ok:
        raise click.exceptions.Exit(1)


def _open_log(log_path: str | None):
    from ..audit.log import ConsultationLog

    if not log_path:
        raise UserError("no consultation log: give --log PATH or set MM_ADVISOR_LOG")
    if not Path(log_path).is_file():
        raise UserError(f"{log_path}: no such consultation log")
    return ConsultationLog(log_path)


@audit.command("list")
@log_option("The consultation log to read.")
@click.option("--recommendation", help="Only consultations with this recommendation.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Only consultations at or after this date (UTC), YYYY-MM-DD[THH:MM:SS].",
)
def audit_list(log_path: str | None, recommendation: str | None, since: Any) -> None:
    """List the logged consultations: id, time, recommendation and content digest."""
    log = _open_log(log_path)
    since_text = since.strftime("%Y-%m-%dT%H:%M:%S") if since else None
    rows = log.entries(recommendation, since_text)
    click.echo(
        render.table((str(i), at, rec, digest[:19]) for i, at, rec, digest in rows), nl=False
    )
    click.echo(f"{len(rows)} consultation{'' if len(rows) == 1 else 's'}.", err=True)


@audit.command("show")
@kb_options
@log_option("The consultation log to read.")
@click.argument("entry_id", metavar="ID", type=int)
@click.option("--detail", is_flag=True, help="Show the full reasoning, every rule that fired.")
def audit_show(
    where: Layout,
    log_path: str | None,
    entry_id: int,
    detail: bool,
) -> None:
    """Show one logged consultation as the person saw it."""
    from .advise import echo_result

    doc = _open_log(log_path).trace(entry_id)
    advisor = Advisor(rulebase_mod.load(where))
    announce(where)
    click.echo(f"Consultation {entry_id}, {render.safe(doc.get('created_at', ''))}\n")
    echo_result(doc, advisor, detail)


@audit.command("export")
@log_option("The consultation log to read.")
@click.argument("entry_id", metavar="ID", type=int)
def audit_export(log_path: str | None, entry_id: int) -> None:
    """Print one logged consultation's trace JSON (which `audit verify` accepts)."""
    click.echo(trace.dumps(_open_log(log_path).trace(entry_id)), nl=False)
