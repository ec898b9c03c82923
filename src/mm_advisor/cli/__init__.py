"""The command line: a thin layer that parses options, calls the library and prints."""

from __future__ import annotations

import functools
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import click

from .. import __version__
from ..audit import trace
from ..errors import AdvisorError, did_you_mean
from ..explanation import render
from ..explanation.render import use_color
from ..files import write_atomic
from ..knowledge import answers as answers_mod
from ..knowledge import rulebase as rulebase_mod
from ..knowledge.rulebase import RuleBase
from ..reasoning.advisor import Advisor

# Commands import the modules only they need, so a consultation starts fast.


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

    @click.option(
        "--rules",
        "rules_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder of rule files (default: the shipped rules).",
    )
    @click.option(
        "--facts",
        "facts_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder of fact files (default: the shipped facts).",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


def format_option(*choices: str) -> Callable:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def log_option(help_text: str) -> Callable:
    return click.option(
        "--log",
        "log_path",
        metavar="PATH",
        envvar="MM_ADVISOR_LOG",
        type=click.Path(dir_okay=False),
        help=help_text + " [env: MM_ADVISOR_LOG]",
    )


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def labels(rb: RuleBase) -> dict[str, str]:
    return {name: option.label for name, option in rb.schema.options.items()}


@cli.command()
@kb_options
@click.option(
    "--answers",
    "answers_file",
    metavar="FILE",
    help="YAML or JSON file of answers ('-' reads standard input); no questions asked.",
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
@format_option("text", "json")
def consult(
    rules_dir: Path | None,
    facts_dir: Path | None,
    answers_file: str | None,
    settings: tuple[str, ...],
    trace_out: str | None,
    log_path: str | None,
    ask_all: bool,
    no_input: bool,
    save_answers: str | None,
    fmt: str,
) -> None:
    """Run a consultation: ask what matters (or read answers) and recommend an option.

    Interactive by default. With --answers or --set, only the missing questions that can still
    change the recommendation are asked, and only on a terminal."""
    rb = rulebase_mod.load(rules_dir, facts_dir)
    schema = rb.schema
    given = answers_mod.Answers()
    if answers_file:
        answers_mod.read_file(answers_file, schema, given)
    answers_mod.parse_set(settings, schema, given)
    supplied = bool(answers_file or settings)
    ask = not no_input and answers_file != "-" and (not supplied or stdin_is_terminal())
    if ask:
        from ..reasoning.relevance import Planner
        from .interview import Interview

        Interview(rb, Planner(rb), given, ask_all=ask_all, save_to=save_answers).run()
    elif save_answers:
        answers_mod.save(save_answers, given)
    answers = given.completed(schema)
    result = Advisor(rb).consult(answers.values)
    doc = trace.build(rb, answers, result)
    if trace_out or log_path:
        stamped = trace.stamped(doc)
        if trace_out:
            write_atomic(trace_out, trace.dumps(stamped))
        if log_path:
            from ..audit.log import ConsultationLog

            log = ConsultationLog(log_path)
            entry = log.append(stamped)
            log.close()
            click.echo(f"Logged as consultation {entry} in {log_path}.", err=True)
    if fmt == "json":
        click.echo(trace.dumps(doc), nl=False)
    else:
        text = render.consultation(doc, labels(rb))
        if use_color(sys.stdout):
            head, rest = text.split("\n", 1)
            text = click.style(head, bold=True) + "\n" + rest
        click.echo(text, nl=False, color=use_color(sys.stdout))


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@cli.command()
@kb_options
@format_option("text", "json")
def questions(rules_dir: Path | None, facts_dir: Path | None, fmt: str) -> None:
    """List the fact vocabulary: every question, its type and allowed answers."""
    schema = rulebase_mod.load(rules_dir, facts_dir).schema
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
@click.argument("kind", type=click.Choice(["rules", "facts", "scenarios", "invariants", "trace"]))
def schema_command(kind: str) -> None:
    """Print the JSON Schema of a rule, fact, scenario, invariant or trace file (for editors and
    checks)."""
    click.echo(
        (resources.files("mm_advisor") / "schemas" / f"{kind}.schema.json").read_text(), nl=False
    )


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
        echo_json(
            [
                {
                    "id": r.id,
                    "title": r.title,
                    "location": r.location,
                    "salience": r.salience,
                    "source": {"section": r.source.section, "quote": r.source.quote},
                }
                for r in rb.rules
            ]
        )
        return
    click.echo(render.table((r.id, r.title, f"[{r.source.section}]") for r in rb.rules), nl=False)


@rules.command("lint")
@kb_options
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@format_option("parsable", "github", "json")
def rules_lint(rules_dir: Path | None, facts_dir: Path | None, strict: bool, fmt: str) -> None:
    """Check the rule and fact files: errors stop them loading, warnings flag rules that cannot
    fire, redundancy and gaps. Each problem is printed as path:line:col: severity: message [code]."""
    from ..knowledge import lint

    problems = lint.lint(rules_dir, facts_dir)
    if fmt == "json":
        echo_json(
            [
                {
                    "path": p.path,
                    "line": p.line,
                    "column": p.col,
                    "severity": p.severity,
                    "code": p.code,
                    "message": p.message,
                }
                for p in problems
            ]
        )
    for p in problems if fmt != "json" else ():
        message = render.safe(p.message)
        if fmt == "github":
            click.echo(
                f"::{p.severity} file={p.path},line={p.line},col={p.col},title={p.code}::{message}"
            )
        else:
            click.echo(f"{p.path}:{p.line}:{p.col}: {p.severity}: {message} [{p.code}]")
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    click.echo(
        f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}.", err=True
    )
    if errors or (strict and warnings):
        raise click.exceptions.Exit(1)


@rules.command("graph")
@kb_options
@format_option("mermaid", "dot")
def rules_graph(rules_dir: Path | None, facts_dir: Path | None, fmt: str) -> None:
    """Draw facts -> rules -> derived facts -> options (Mermaid for Markdown, or Graphviz dot)."""
    from ..explanation import graph

    rb = rulebase_mod.load(rules_dir, facts_dir)
    click.echo((graph.dot if fmt == "dot" else graph.mermaid)(rb), nl=False)


@rules.command("show")
@kb_options
@click.argument("rule_id", metavar="ID")
def rules_show(rules_dir: Path | None, facts_dir: Path | None, rule_id: str) -> None:
    """Show one rule: citation, conditions, conclusions, what it reads and what depends on it."""
    from ..explanation import graph

    rb = rulebase_mod.load(rules_dir, facts_dir)
    try:
        rule = rb.rule(rule_id)
    except KeyError:
        raise UserError(
            f"no rule '{rule_id}'{did_you_mean(rule_id, [r.id for r in rb.rules])}"
        ) from None
    click.echo(graph.show(rb, rule), nl=False)


@rules.command("check")
@kb_options
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@format_option("text", "json", "github")
def rules_check(
    rules_dir: Path | None, facts_dir: Path | None, files: tuple[Path, ...], fmt: str
) -> None:
    """Prove the invariants (default: the facts folder's invariants/*.yaml) over every possible
    combination of answers; print a counterexample to paste after `consult --no-input` for any
    that fails. Exit 1 when one fails."""
    from ..explanation import invariant_report
    from ..knowledge import invariants
    from ..reasoning import checker

    rb = rulebase_mod.load(rules_dir, facts_dir)
    paths = list(files) or invariants.default_files(
        Path(facts_dir or rulebase_mod.shipped_dirs()[1])
    )
    if not paths:
        raise UserError("no invariant files: give FILES or add facts/invariants/*.yaml")
    report = checker.Checker(rb, invariants.load(paths, rb)).run()
    if fmt == "json":
        echo_json(invariant_report.to_json(report, rb))
    elif fmt == "github":
        click.echo(invariant_report.to_github(report, rb), nl=False)
    else:
        click.echo(invariant_report.to_text(report, rb), nl=False)
    click.echo(f"Checked in {report.seconds:.1f} s.", err=True)
    if report.failed:
        raise click.exceptions.Exit(1)


@rules.command("test")
@kb_options
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="N",
    help="Also fail when fewer than N% of the rules fire in some scenario.",
)
def rules_test(
    rules_dir: Path | None,
    facts_dir: Path | None,
    files: tuple[Path, ...],
    min_coverage: float | None,
) -> None:
    """Run scenario tests (default: the facts folder's scenarios/*.yaml) and report coverage."""
    from ..reasoning import scenarios as scenarios_mod

    rb = rulebase_mod.load(rules_dir, facts_dir)
    paths = list(files) or scenarios_mod.default_files(
        Path(facts_dir or rulebase_mod.shipped_dirs()[1])
    )
    if not paths:
        raise UserError("no scenario files: give FILES or add facts/scenarios/*.yaml")
    outcomes, coverage = scenarios_mod.run(scenarios_mod.load(paths, rb), Advisor(rb))
    for outcome in outcomes:
        sc = outcome.scenario
        click.echo(f"{'PASS' if outcome.passed else 'FAIL'}  {render.safe(sc.name)}  ({sc.where})")
        for line in outcome.differences:
            click.echo(f"      {render.safe(line)}")
    failed = sum(not o.passed for o in outcomes)
    click.echo(f"\n{len(outcomes)} scenarios: {len(outcomes) - failed} passed, {failed} failed.")
    fired = sum(coverage.rules.values())
    click.echo(
        f"Rule coverage: {fired}/{len(coverage.rules)} rules fired ({coverage.rule_percent:.1f}%)"
    )
    click.echo(
        f"Condition coverage: {coverage.both_ways()}/{len(coverage.conditions)} conditions "
        f"seen both true and false ({coverage.condition_percent:.1f}%)"
    )
    idle = [r for r in rb.rules if not coverage.rules[r.id]]
    if idle:
        click.echo("Rules fired by no scenario:")
        for rule in idle:
            click.echo(f"  {rule.id} ({rule.location})")
    uncovered = scenarios_mod.uncovered_conditions(coverage, rb)
    if uncovered:
        click.echo("Conditions never seen both true and false:")
        for line in uncovered:
            click.echo(f"  {render.safe(line)}")
    low = min_coverage is not None and coverage.rule_percent < min_coverage
    if low:
        click.echo(
            f"Rule coverage {coverage.rule_percent:.1f}% is below --min-coverage {min_coverage:g}.",
            err=True,
        )
    if failed or low:
        raise click.exceptions.Exit(1)


@cli.command()
@kb_options
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--rule", "rule_id", metavar="ID", help="Explain one rule: did it fire, on what, or why not."
)
@format_option("text", "markdown")
def explain(
    rules_dir: Path | None, facts_dir: Path | None, trace_file: str, rule_id: str | None, fmt: str
) -> None:
    """Explain a trace: how it was reached, why not the other options, and what if."""
    from ..audit import verify
    from ..explanation.explain import Explainer, to_markdown, to_text

    doc = trace.load(trace_file)
    verify.check_shape(doc, trace_file)
    explainer = Explainer(doc, Advisor(rulebase_mod.load(rules_dir, facts_dir)))
    sections = explainer.sections(rule_id)
    click.echo(
        (to_markdown if fmt == "markdown" else to_text)(explainer.header(), sections), nl=False
    )


@cli.group()
def audit() -> None:
    """Verify past traces and read the consultation log."""


@audit.command("verify")
@kb_options
@click.argument("trace_file", metavar="TRACE", type=click.Path(dir_okay=False))
def audit_verify(rules_dir: Path | None, facts_dir: Path | None, trace_file: str) -> None:
    """Check a trace for tampering, compare its rule base and replay it; exit 1 if anything differs."""
    from ..audit import verify

    doc = trace.load(trace_file)
    verify.check_shape(doc, trace_file)
    rb = rulebase_mod.load(rules_dir, facts_dir)
    outcome = verify.verify(doc, rb, Advisor(rb))
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
def audit_show(
    rules_dir: Path | None, facts_dir: Path | None, log_path: str | None, entry_id: int
) -> None:
    """Show one logged consultation as the person saw it."""
    doc = _open_log(log_path).trace(entry_id)
    rb_labels = labels(rulebase_mod.load(rules_dir, facts_dir))
    click.echo(f"Consultation {entry_id}, {render.safe(doc.get('created_at', ''))}\n")
    click.echo(render.consultation(doc, rb_labels), nl=False)


@audit.command("export")
@log_option("The consultation log to read.")
@click.argument("entry_id", metavar="ID", type=int)
def audit_export(log_path: str | None, entry_id: int) -> None:
    """Print one logged consultation's trace JSON (which `audit verify` accepts)."""
    click.echo(trace.dumps(_open_log(log_path).trace(entry_id)), nl=False)


def main() -> None:
    cli(prog_name="mm-advisor")
