"""Commands for the auditor: explain a trace, verify it, read and tend the consultation log,
and make the keys that sign traces."""

from __future__ import annotations

import csv
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from ..audit import trace
from ..errors import did_you_mean
from ..explanation import render
from ..files import shown
from ..knowledge import rulebase as rulebase_mod
from ..knowledge.layout import Layout
from ..knowledge.schema import UNDETERMINED
from ..reasoning.advisor import Advisor
from .base import (
    Progress,
    UserError,
    announce,
    check_subject,
    cli,
    echo_json,
    format_option,
    jobs_option,
    kb_options,
    log_option,
)

MAX_ID = 2**63 - 1  # the largest id SQLite can hold
ENTRY_ID = click.IntRange(1, MAX_ID)
VERIFY_CODES = {
    1: "tampered: the digest, the signature, the log's chain or columns fail, the trace is not "
    "valid, or the same rules reach anything else than it records",
    3: "intact, but today's rules reach a different recommendation",
    4: "intact, the same recommendation, but the reasoning differs (rules fired or scores)",
    5: "not verified: signed, but no key given or trusted to check it",
}


class When(click.ParamType):
    """A date, a date and time, or a span back from now (7d)."""

    name = "WHEN"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from ..audit.log import parse_when

        try:
            return parse_when(str(value))
        except ValueError as exc:
            self.fail(f"{render.safe(value)!r}: {exc}", param, ctx)


def public_key_option(command):
    return click.option(
        "--public-key",
        metavar="FILE",
        envvar="MM_ADVISOR_PUBLIC_KEY",
        type=click.Path(dir_okay=False),
        help="Check signatures with this public key (from `keys generate`); an unsigned trace "
        "then fails too. [env: MM_ADVISOR_PUBLIC_KEY]",
    )(command)


def _verifier(public_key: str | None, where: Layout):
    """The public key given, else the knowledge base's trusted keys ([trust]), else none."""
    from ..audit import signing

    if not public_key and os.environ.get("MM_ADVISOR_PUBLIC_KEY") == "":
        raise UserError(
            "MM_ADVISOR_PUBLIC_KEY is set but empty: name a public key file, or unset it"
        )
    if public_key == "":
        raise UserError("--public-key is empty: name a public key file")
    return signing.verifier_for(public_key, where.trust)


@cli.command(exit_codes={1: "the trace fails its integrity check (without --force)"})
@kb_options
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--rule", "rule_id", metavar="ID", help="Explain one rule: did it fire, on what, or why not."
)
@public_key_option
@click.option("--force", is_flag=True, help="Explain even a trace that fails its integrity check.")
@format_option("text", "markdown", "html", "json")
def explain(
    where: Layout,
    trace_file: str,
    rule_id: str | None,
    public_key: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Explain a trace: how it was reached, why not the other options, and what if.

    The trace is checked first (schema, digest, signature): one that fails is not explained,
    unless --force, and then the failure is said at the top. --format html prints a
    self-contained report to keep (redirect it to a .html file)."""
    from ..audit import verify
    from ..explanation.explain import Explainer, to_json, to_markdown, to_text

    doc = trace.load(trace_file)
    named = shown(trace_file)
    checked = verify.integrity(doc, named, _verifier(public_key, where))
    if checked.invalid:  # valid JSON, but not as mm-advisor writes a trace: refused, as tampered
        raise UserError(f"{named}: not a valid trace: {checked.invalid}", 1)
    warning = None
    if checked.tampered:
        warning = (
            f"WARNING: this trace fails its integrity check (digest "
            f"{'ok' if checked.digest_ok else 'MISMATCH'}, signature {checked.signature}): it was "
            "changed after it was written, and what follows may not be what was advised."
        )
        if not force:
            click.echo(render.para(warning, 0), err=True)
            click.echo("Not explained; --force explains it anyway.", err=True)
            raise click.exceptions.Exit(1)
    advisor = Advisor(rulebase_mod.load(where))
    announce(where)
    if warning:
        click.echo(render.para(warning, 0), err=fmt != "text")
    if fmt == "html":
        from ..explanation import report

        kept = [shlex.quote(trace_file) if trace_file != "-" else "TRACE"]
        click.echo(report.build(doc, advisor, kept), nl=False)
        return
    explainer = Explainer(doc, advisor)
    sections = explainer.sections(rule_id)
    if fmt == "json":
        echo_json(to_json(explainer.header(), sections))
        return
    click.echo(
        (to_markdown if fmt == "markdown" else to_text)(explainer.header(), sections), nl=False
    )


@cli.group()
def audit() -> None:
    """Verify past traces, and read and tend the consultation log."""


@audit.command("verify", exit_codes=VERIFY_CODES)
@kb_options
@click.argument("targets", nargs=-1, metavar="[TRACE | - | ID...]")
@log_option(
    "Verify consultations stored in this log (give IDs, or --all, or --since).", environment=False
)
@click.option("--all", "every", is_flag=True, help="With --log: every consultation in the log.")
@click.option(
    "--since", type=When(), help="With --log: the consultations since a date or span (7d)."
)
@click.option(
    "--head",
    metavar="DIGEST",
    help="With --log --all: a chain head recorded earlier; the chain must still pass through it.",
)
@public_key_option
@jobs_option("With --log: processes to verify with.")
@click.option("--quiet", is_flag=True, help="No progress line.")
@format_option("text", "json")
def audit_verify(
    where: Layout,
    targets: tuple[str, ...],
    log_path: str | None,
    every: bool,
    since: str | None,
    head: str | None,
    public_key: str | None,
    jobs: int,
    quiet: bool,
    fmt: str,
) -> None:
    """Check that a trace is intact (digest and, with --public-key, signature) and that today's
    rules reach it again: the recommendation, the rules that fire and the scores.

    Give a trace file, or - for standard input; or --log DB with IDs, --all or --since to check
    the stored consultations in bulk (with a summary). The exit code says what was found."""
    from ..audit import verify

    rb = rulebase_mod.load(where)
    if head is not None and not (log_path and every):
        raise UserError("--head goes with --log DB --all: it checks the whole chain")
    if log_path and (targets or every or since):
        _verify_log(where, rb, targets, log_path, since, head, public_key, jobs, quiet, fmt)
        return
    if len(targets) != 1 or every or since:
        raise UserError("give one trace file (or -), or --log DB with IDs, --all or --since")
    doc = trace.load(targets[0])  # not JSON, or no trace at all: exit 2; invalid: tampered, 1
    named = shown(targets[0])
    found = verify.verify(doc, rb, Advisor(rb), named, _verifier(public_key, where))
    if fmt == "json":
        echo_json({**verify.as_json(found), "knowledge_base": _named(where, rb)})
    else:
        announce(where)
        click.echo(verify.report(found), nl=False)
    raise click.exceptions.Exit(found.exit_code)


def _whole(text: str) -> bool:
    """Whether `text` is a whole number int() reads at once (ASCII digits, not too many)."""
    return text.isascii() and text.isdigit() and len(text) <= 30


def _named(where: Layout, rb: Any) -> dict[str, str]:
    """The knowledge base a verification replayed on, as JSON names it."""
    return {"name": where.describe(), "digest": rb.digest}


def _verify_log(
    where: Layout,
    rb: Any,
    targets: tuple[str, ...],
    log_path: str,
    since: str | None,
    head: str | None,
    public_key: str | None,
    jobs: int,
    quiet: bool,
    fmt: str,
) -> None:
    from ..audit import bulk, verify
    from ..audit.log import ConsultationLog

    if not all(_whole(t) and int(t) <= MAX_ID for t in targets):
        raise UserError(
            f"with --log, give consultation ids (whole numbers up to {MAX_ID}), --all or --since"
        )
    _verifier(public_key, where)  # a bad key is said before any work
    with ConsultationLog(log_path) as log:
        chosen = [int(t) for t in targets] or None
        entries = {e.id: e for e in log.entries(since=since, ids=chosen)}
        ids = list(entries)
        breaks = list(log.chain(head)) if not chosen and not since else []
        chain_head = log.head()
    if chosen:
        missing = sorted(set(chosen) - set(ids))
        if missing:
            raise UserError(f"{log_path}: no consultation with id {missing[0]}")
    results = bulk.verify_log(log_path, ids, where, public_key, jobs)
    progress = Progress("consultations", not quiet and sys.stderr.isatty(), total=len(ids))
    collected = []
    for item in results:
        collected.append(item)
        progress.update(len(collected))
    progress.done(len(collected))
    summary = bulk.summarise(collected)
    summary.breaks = breaks
    flagged = [(i, v) for i, v in collected if isinstance(v, str) or v.status != verify.REPRODUCED]
    if fmt == "json":
        echo_json(
            {
                "log": log_path,
                "knowledge_base": _named(where, rb),
                "checked": len(ids),
                "summary": {status: summary.counts[status] for status in verify.EXIT},
                "damaged": [{"id": i, "problem": why} for i, why in summary.damaged],
                "chain": {
                    "checked": not chosen and not since,
                    "head": chain_head,
                    "breaks": [{"id": i or None, "problem": why} for i, why in breaks],
                },
                "findings": [
                    {"id": i, **verify.as_json(v)} for i, v in flagged if not isinstance(v, str)
                ],
            }
        )
    else:
        announce(where)
        for line in bulk.findings(flagged, entries):
            click.echo(line)
        for entry_id, why in breaks:
            said = f"TAMPERED: {render.safe(why)}"
            click.echo(f"{entry_id}: {said}" if entry_id else said)
        click.echo(f"\n{len(ids)} consultation{'s' * (len(ids) != 1)} checked:")
        for status in verify.EXIT:
            click.echo(f"  {summary.counts[status]:>7}  {verify.WORDS[status]}")
        if summary.damaged:
            click.echo(f"  {len(summary.damaged):>7}  DAMAGED: the entry cannot be read")
        if not chosen and not since:
            state = "BROKEN (see above)" if breaks else "intact"
            click.echo(f"chain of entries: {state}; its head: {chain_head}")
    raise click.exceptions.Exit(summary.exit_code)


def _open_log(log_path: str | None, write: bool = False):
    """The log named; one that is not there is refused (writing never starts a new one)."""
    from ..audit.log import ConsultationLog

    if not log_path:
        raise UserError("no consultation log: give --log PATH or set MM_ADVISOR_LOG")
    if write and not Path(log_path).is_file():
        raise UserError(f"{render.safe(log_path)}: no such consultation log")
    return ConsultationLog(log_path, write=write)


def _recommendation(value: str | None, where: Layout) -> str | None:
    """A --recommendation filter, checked against the options (with a suggestion)."""
    if value is None:
        return None
    options = [*rulebase_mod.load(where).schema.options, UNDETERMINED]
    if value not in options:
        raise UserError(
            f"--recommendation {render.safe(value)!r} is not an option"
            f"{did_you_mean(value, options)}; expected one of: {', '.join(options)}"
        )
    return value


@audit.command("list")
@kb_options
@log_option("The consultation log to read.")
@click.option("--recommendation", help="Only consultations with this recommendation.")
@click.option(
    "--since", type=When(), help="Only consultations since a date or span: 2026-11-01, 7d."
)
@click.option("--subject", metavar="REF", help="Only the consultations about this subject.")
@format_option("text", "json", "csv")
def audit_list(
    where: Layout,
    log_path: str | None,
    recommendation: str | None,
    since: str | None,
    subject: str | None,
    fmt: str,
) -> None:
    """List the logged consultations: id, time, subject, recommendation, signing key, digest."""
    chosen = _recommendation(recommendation, where)
    with _open_log(log_path) as log:
        rows = log.entries(chosen, since, check_subject(subject))
    fields = ("id", "created_at", "subject", "recommendation", "key_id", "content_digest")
    if fmt == "json":
        echo_json([{name: getattr(e, name) for name in fields} for e in rows])
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows([render.cell(getattr(e, name) or "") for name in fields] for e in rows)
        return
    header = ("ID", "TIME (UTC)", "SUBJECT", "RECOMMENDATION", "SIGNED BY", "DIGEST")
    body = [
        (str(e.id), e.created_at, e.subject or "-", e.recommendation, e.key_id or "-",
         e.content_digest[:19])
        for e in rows
    ]  # fmt: skip
    click.echo(render.table([header, *body]), nl=False)
    click.echo(f"{len(rows)} consultation{'' if len(rows) == 1 else 's'}.", err=True)


@audit.command("show")
@kb_options
@log_option("The consultation log to read.")
@click.argument("entry_id", metavar="ID", type=ENTRY_ID)
@click.option("--detail", is_flag=True, help="Show the full reasoning, every rule that fired.")
@format_option("text", "json")
def audit_show(where: Layout, log_path: str | None, entry_id: int, detail: bool, fmt: str) -> None:
    """Show one logged consultation as the person saw it (--format json: its trace)."""
    from ..audit import validation
    from .advise import echo_result

    with _open_log(log_path) as log:
        doc = log.trace(entry_id)
    validation.validate(doc, f"{log_path}: consultation {entry_id}")
    if fmt == "json":
        click.echo(trace.dumps(doc), nl=False)
        return
    advisor = Advisor(rulebase_mod.load(where))
    announce(where)
    subject = f", subject {doc['subject']}" if doc.get("subject") else ""
    click.echo(render.safe(f"Consultation {entry_id}, {doc.get('created_at', '')}{subject}\n"))
    echo_result(doc, advisor, detail)


@audit.command("export")
@log_option("The consultation log to read.")
@click.argument("entry_id", metavar="ID", type=ENTRY_ID)
def audit_export(log_path: str | None, entry_id: int) -> None:
    """Print one logged consultation's trace JSON (which `audit verify` accepts)."""
    with _open_log(log_path) as log:
        click.echo(trace.dumps(log.trace(entry_id)), nl=False)


_ERASE_CODES = {1: "erased, but another program reading the log holds the data in its file"}


@audit.command("prune", exit_codes=_ERASE_CODES)
@log_option("The consultation log to prune.")
@click.option(
    "--before",
    type=When(),
    required=True,
    help="Erase what was made before this: a date or a span (90d).",
)
def audit_prune(log_path: str | None, before: str) -> None:
    """Erase the consultations made before a date, leaving nothing of them in the file but a
    tombstone each (the time of erasure and why), which keeps the log's chain whole."""
    with _open_log(log_path, write=True) as log:
        erasure = log.delete(before=before)
    _said(erasure, f"made before {before}", log_path)


@audit.command("forget", exit_codes=_ERASE_CODES)
@log_option("The consultation log to erase from.")
@click.option("--subject", metavar="REF", required=True, help="The subject whose consultations go.")
@click.option("--dry-run", is_flag=True, help="List what would be erased, and erase nothing.")
def audit_forget(log_path: str | None, subject: str, dry_run: bool) -> None:
    """Erase every consultation about a subject (a request to be forgotten), as its sealed trace
    names it, leaving nothing of them in the file but a tombstone each."""
    subject = check_subject(subject)
    if dry_run:
        with _open_log(log_path) as log:
            ids = log.about(subject)
        listed = f": {', '.join(map(str, ids))}" if ids else ""
        click.echo(render.safe(f"Would erase {_count(len(ids))} about {subject}{listed}."))
        return
    with _open_log(log_path, write=True) as log:
        erasure = log.delete(subject=subject)
    _said(erasure, f"about {subject}", log_path)


def _count(n: int) -> str:
    return f"{n} consultation{'s' * (n != 1)}"


def _said(erasure, what: str, log_path: str) -> None:
    click.echo(render.safe(f"Erased {_count(erasure.count)} {what}."))
    if not erasure.complete:
        click.echo(
            render.line(
                f"Error: another program is reading {log_path}: the erased data stays in its "
                "write-ahead file until it stops. Run the command again then (the next write "
                "to the log also finishes it)."
            ),
            err=True,
        )
        raise click.exceptions.Exit(1)


@audit.command("retention")
@log_option("The consultation log to set.")
@click.argument("days", metavar="DAYS|off")
def audit_retention(log_path: str | None, days: str) -> None:
    """Keep consultations only DAYS days: every write to the log then deletes older ones."""
    if days != "off" and not (_whole(days) and 1 <= int(days) <= 36500):
        raise UserError(f"{render.safe(days)!r}: give a number of days from 1 to 36500, or off")
    with _open_log(log_path, write=True) as log:
        log.set_retention(None if days == "off" else int(days))
    said = "kept for ever" if days == "off" else f"kept {days} days"
    click.echo(render.safe(f"Consultations in {log_path} are {said} (applied at every write)."))


@cli.group()
def keys() -> None:
    """Make the key pair that signs traces."""


@keys.command("generate")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Replace a key pair already there.")
@click.option(
    "--passphrase",
    is_flag=True,
    help="Encrypt the private key with a passphrase: from MM_ADVISOR_KEY_PASSPHRASE, else asked "
    "for; signing then needs MM_ADVISOR_KEY_PASSPHRASE.",
)
def keys_generate(folder: Path, force: bool, passphrase: bool) -> None:
    """Create an Ed25519 key pair in DIR: the private key signs traces (consult --sign-key, or
    MM_ADVISOR_SIGNING_KEY) and stays with the office; the public key checks them (audit verify
    --public-key, or [trust] in mm-advisor.toml) and can go to anyone."""
    from ..audit import signing

    secret = None
    if passphrase:
        secret = os.environ.get(signing.PASSPHRASE_ENV) or click.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=True
        )
        if len(secret) < 8:
            raise UserError("the passphrase is too short: use at least 8 characters")
    private, public, key_id = signing.generate(folder, force, secret)
    click.echo(render.line(f"Private key: {private} (readable by you only; keep it safe)"))
    click.echo(render.line(f"Public key:  {public}"))
    click.echo(f"Key id:      {key_id}")
