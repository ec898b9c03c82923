"""Commands for the person being advised: consult, questions, schema."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..audit import trace
from ..explanation import render
from ..explanation.render import use_color
from ..files import PACKAGE, check_target
from ..knowledge import answers as answers_mod
from ..knowledge import rulebase as rulebase_mod
from ..knowledge.layout import Layout
from ..reasoning.advisor import Advisor
from .base import (
    announce,
    check_subject,
    cli,
    echo_json,
    format_option,
    kb_options,
    labels,
    log_option,
    sign_key_option,
)


@cli.command(exit_codes={130: "interrupted (Ctrl-C), or stopped by typing quit"})
@kb_options
@click.option(
    "--answers",
    "answers_file",
    metavar="FILE",
    help="YAML or JSON file of answers ('-' reads standard input). On a terminal, the questions "
    "it leaves out are asked when they can still change the recommendation.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Answer one fact; repeatable. Overrides --answers.",
)
@click.option(
    "--trace-out",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write the trace of this consultation to FILE (atomically).",
)
@log_option("Append the trace to this SQLite consultation log (off unless given).")
@click.option(
    "--ask-all",
    is_flag=True,
    help="Ask every question in order, not only those that can change the result.",
)
@click.option(
    "--no-input",
    is_flag=True,
    help="Never ask: facts not given by --answers or --set are unknown (for scripts).",
)
@click.option(
    "--save-answers",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Save the answers given to FILE (atomically, also on Ctrl-C) to resume later "
    "with --answers.",
)
@click.option(
    "--report",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write a report to keep: one self-contained HTML file (atomically).",
)
@click.option(
    "--subject",
    metavar="REF",
    help="The office's own reference for the person (a case number): kept, as given, in the trace "
    "and the log, to find and to forget their consultations. Never required.",
)
@sign_key_option(
    "Sign every trace written (--trace-out, --log) with this private key (from `keys generate`)."
)
@click.option(
    "--detail",
    is_flag=True,
    help="Show the full reasoning: every rule that fired, what it matched, its source and weight.",
)
@format_option("text", "json")
def consult(
    where: Layout,
    answers_file: str | None,
    settings: tuple[str, ...],
    trace_out: str | None,
    log_path: str | None,
    ask_all: bool,
    no_input: bool,
    save_answers: str | None,
    report: str | None,
    subject: str | None,
    sign_key: str | None,
    detail: bool,
    fmt: str,
) -> None:
    """Run a consultation: ask what matters (or read answers) and recommend an option.

    Interactive by default: only the questions whose answer can still change the recommendation
    are asked, most decisive first. With --answers or --set, the missing ones are asked the same
    way, but only on a terminal; --no-input never asks (for scripts). The result is in plain
    words; --detail gives every rule that fired, --format json the trace."""
    from ..audit.record import Keeper, signer_from

    subject = check_subject(subject)
    for target in (trace_out, report, save_answers):
        if target:
            check_target(target, where.inputs())
    signer = signer_from(sign_key)
    rb = rulebase_mod.load(where)
    schema = rb.schema
    given = answers_mod.Answers()
    if answers_file:
        answers_mod.read_file(answers_file, schema, given)
    answers_mod.parse_set(settings, schema, given)
    supplied = bool(answers_file or settings)
    ask = not no_input and answers_file != "-" and (not supplied or stdin_is_terminal())
    if ask:
        from ..reasoning.relevance import Planner
        from .interview import Interview, Stopped

        announce(where)  # before the first question
        try:
            Interview(rb, Planner(rb), given, ask_all=ask_all, save_to=save_answers).run()
        except Stopped:
            kept = (
                f" Your answers so far are in {save_answers}; resume with --answers {save_answers}."
                if save_answers
                else ""
            )
            click.echo(render.para(f"Stopped.{kept}", 0), err=True)
            raise click.exceptions.Exit(130) from None
    elif save_answers:
        answers_mod.save(save_answers, given)
    answers = given.completed(schema)
    advisor = Advisor(rb)
    result = advisor.consult(answers.values)
    doc = trace.build(rb, answers, result, subject)
    entry = None
    if trace_out or log_path or report:
        with Keeper(signer, log_path) as keeper:
            entry = keeper.keep(doc, trace_out, report, advisor)
    if not ask:
        announce(where)  # with the result: a mistake before it stays one line
    if entry is not None:
        click.echo(render.line(f"Logged as consultation {entry} in {log_path}."), err=True)
    if fmt == "json":
        click.echo(trace.dumps(doc), nl=False)
    else:
        echo_result(doc, advisor, detail)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@cli.command()
@kb_options
@format_option("text", "json")
def questions(where: Layout, fmt: str) -> None:
    """List the fact vocabulary: every question, its type and allowed answers."""
    schema = rulebase_mod.load(where).schema
    announce(where)
    if fmt == "json":
        echo_json(
            [
                {
                    "name": s.name,
                    "type": s.type,
                    "allowed": s.allowed(),
                    "question": s.question,
                    "help": s.help,
                }
                for s in schema.facts.values()
            ]
        )
        return
    click.echo(
        render.table((s.name, s.allowed(), s.question) for s in schema.facts.values()), nl=False
    )


@cli.command("schema")
@click.argument(
    "kind",
    type=click.Choice(["rules", "facts", "sources", "scenarios", "invariants", "trace"]),
)
def schema_command(kind: str) -> None:
    """Print the JSON Schema of a rule, fact, sources, scenario, invariant or trace file (for
    editors and checks)."""
    click.echo((Path(PACKAGE) / "schemas" / f"{kind}.schema.json").read_text(), nl=False)


DETAIL_HINT = "The full reasoning, every rule with its source: add --detail."


def echo_result(doc: dict, advisor: Advisor, detail: bool) -> None:
    """A consultation for a person: in plain words, or in full with `detail`."""
    from ..explanation import plain

    if detail:
        text = render.consultation(doc, labels(advisor.rulebase))
    else:
        text = plain.to_text(plain.build(doc, advisor), render.width(), DETAIL_HINT)
    if use_color(sys.stdout):
        head, rest = text.split("\n", 1)
        text = click.style(head, bold=True) + "\n" + rest
    click.echo(text, nl=False, color=use_color(sys.stdout))
