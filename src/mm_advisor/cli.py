"""The command line: a thin layer that parses options, calls the library and prints."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__, answers as answers_mod, render, rulebase as rulebase_mod, trace
from .advisor import Advisor
from .errors import AdvisorError
from .rulebase import RuleBase


class UserError(click.ClickException):
    """An AdvisorError shown as one line on stderr, with its exit code."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class AdvisorGroup(click.Group):
    """The error boundary: user mistakes become one line and exit 2; Ctrl-C exits 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AdvisorError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            raise UserError(str(exc), exc.exit_code) from None
        except (KeyboardInterrupt, click.Abort):
            click.echo("\nInterrupted.", err=True)
            raise click.exceptions.Exit(130) from None


@click.group(cls=AdvisorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mm-advisor")
@click.option("--debug", is_flag=True, help="Show a traceback for errors in your input.")
def cli(debug: bool) -> None:
    """Advise whether a MicroMasters, a full master's degree, or a MicroMasters as a stepping
    stone to a master's fits a person's goals, citing the article behind every step."""


def kb_options(command: Callable) -> Callable:
    """--rules and --facts, spelt alike on every command that reads the knowledge base."""

    @click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False),
                  help="Folder of rule files (default: the shipped rules).")
    @click.option("--facts", "facts_dir", type=click.Path(path_type=Path, file_okay=False),
                  help="Folder of fact files (default: the shipped facts).")
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


def format_option(*choices: str) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True, help="Output format.")


def labels(rb: RuleBase) -> dict[str, str]:
    return {name: option.label for name, option in rb.schema.options.items()}


@cli.command()
@kb_options
@click.option("--answers", "answers_file", metavar="FILE",
              help="YAML or JSON file of answers ('-' reads standard input); no questions asked.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Answer one fact; repeatable. Overrides --answers.")
@click.option("--trace-out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write the trace of this consultation to FILE (atomically).")
@format_option("text", "json")
def consult(rules_dir: Path | None, facts_dir: Path | None, answers_file: str | None,
            settings: tuple[str, ...], trace_out: str | None, fmt: str) -> None:
    """Run a consultation: ask the questions (or read answers) and recommend an option."""
    rb = rulebase_mod.load(rules_dir, facts_dir)
    schema = rb.schema
    given = answers_mod.Answers()
    if answers_file:
        answers_mod.read_file(answers_file, schema, given)
    answers_mod.parse_set(settings, schema, given)
    if not answers_file and not settings:
        ask_all(schema, given)
    answers = given.completed(schema)
    result = Advisor(rb).consult(answers.values)
    doc = trace.build(rb, answers, result)
    if trace_out:
        trace.write_atomic(trace_out, trace.dumps(trace.stamped(doc)))
    if fmt == "json":
        click.echo(trace.dumps(doc), nl=False)
    else:
        click.echo(render.consultation(doc, labels(rb)), nl=False)


def ask_all(schema, given: answers_mod.Answers) -> None:
    """Ask every question in order, re-asking with the reason when an answer is invalid."""
    click.echo("Answer each question; press Enter (or type 'unknown') if you do not know.\n",
               err=True)
    for name, spec in schema.facts.items():
        while True:
            raw = click.prompt(f"{spec.question} [{spec.allowed()}/unknown]", default="unknown",
                               show_default=False, err=True)
            try:
                given.give(name, spec.parse(raw), answers_mod.PROMPT)
                break
            except ValueError as exc:
                click.echo(f"  Not accepted: {exc}.", err=True)


@cli.command()
@kb_options
@format_option("text", "json")
def questions(rules_dir: Path | None, facts_dir: Path | None, fmt: str) -> None:
    """List the fact vocabulary: every question, its type and allowed answers."""
    schema = rulebase_mod.load(rules_dir, facts_dir).schema
    if fmt == "json":
        click.echo(json.dumps([{"name": s.name, "type": s.type, "allowed": s.allowed(),
                                "question": s.question, "help": s.help}
                               for s in schema.facts.values()], indent=2))
        return
    click.echo(render.table((s.name, s.allowed(), s.question) for s in schema.facts.values()),
               nl=False)


@cli.group()
def rules() -> None:
    """Inspect and check the rule base."""


@rules.command("list")
@kb_options
@format_option("text", "json")
def rules_list(rules_dir: Path | None, facts_dir: Path | None, fmt: str) -> None:
    """List the rules with id, title and source."""
    rb = rulebase_mod.load(rules_dir, facts_dir)
    if fmt == "json":
        click.echo(json.dumps([{"id": r.id, "title": r.title, "location": r.location,
                                "salience": r.salience,
                                "source": {"section": r.source.section, "quote": r.source.quote}}
                               for r in rb.rules], indent=2, ensure_ascii=False))
        return
    click.echo(render.table((r.id, r.title, f"[{r.source.section}]") for r in rb.rules), nl=False)


@rules.command("lint")
@kb_options
def rules_lint(rules_dir: Path | None, facts_dir: Path | None) -> None:
    """Validate the rule and fact files; print every problem as path:line:col: message."""
    _, problems = rulebase_mod.check(rules_dir, facts_dir)
    for p in problems:
        click.echo(f"{p.path}:{p.line}:{p.col}: {p.severity}: {render.safe(p.message)} [{p.code}]")
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found.", err=True)
        raise click.exceptions.Exit(1)
    click.echo("No problems found.", err=True)


def main() -> None:
    cli(prog_name="mm-advisor")
