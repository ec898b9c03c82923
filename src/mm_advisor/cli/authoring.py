"""Commands for the advisor who maintains the rules: rules list, lint, test, check, show, graph."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import did_you_mean
from ..explanation import render
from ..files import write_atomic
from ..knowledge import layout as layout_mod
from ..knowledge import rulebase as rulebase_mod
from ..knowledge.layout import Layout
from ..reasoning.advisor import Advisor
from .base import UserError, announce, cli, echo_json, format_option, kb_options


@cli.command("kb")
@kb_options
@format_option("text", "json")
def kb_command(where: Layout, fmt: str) -> None:
    """Say which knowledge base the commands here use, and what it holds: its folder, how it
    was found, its digest, and how many rules, questions, sources, scenarios and invariants."""
    from ..knowledge import invariants
    from ..knowledge import scenarios as scenarios_mod

    rb = rulebase_mod.load(where)
    scenario_files = scenarios_mod.default_files(where.scenarios)
    invariant_files = invariants.default_files(where.invariants)
    facts = {
        "path": str(where.root),
        "found": where.found,
        "digest": rb.digest,
        "rules": len(rb.rules),
        "questions": len(rb.schema.facts),
        "sources": len(rb.sources),
        "scenarios": len(scenarios_mod.load(scenario_files, rb)),
        "invariants": len(invariants.load(invariant_files, rb)),
        "profiles": len(sorted(where.profiles.glob("*.yaml"))) if where.profiles.is_dir() else 0,
    }
    if fmt == "json":
        echo_json(facts)
        return
    click.echo(render.line(f"Knowledge base: {where.describe()}"))
    click.echo(f"Digest:     {rb.digest}")
    for name in ("rules", "questions", "sources", "scenarios", "invariants", "profiles"):
        click.echo(f"{name.capitalize() + ':':<11} {facts[name]}")
    for source in rb.sources.values():
        click.echo(render.safe(f"  source {source.id}: {source.title} ({source.file})"))


@cli.command("init")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
def init_command(folder: Path, force: bool) -> None:
    """Create a knowledge base of your own in DIR: a copy of the shipped rules, facts, sources,
    scenarios, invariants and profiles, with the marker file that makes every command run in DIR
    use it, the JSON Schemas its files name, a pre-commit configuration and a README."""
    from ..knowledge import scaffold

    where = scaffold.create(folder, force)
    click.echo(
        render.para(f"Created a knowledge base in {layout_mod.display_path(where.root)}.", 0)
    )
    click.echo(
        render.para(
            "Edit its rules, facts and sources; run mm-advisor rules lint, test and check there; "
            "consult with mm-advisor consult from inside it (mm-advisor kb says which knowledge "
            "base is in use).",
            0,
        )
    )


@cli.group()
def rules() -> None:
    """Inspect and check the rule base."""


@rules.command("list")
@kb_options
@format_option("text", "json")
def rules_list(where: Layout, fmt: str) -> None:
    """List the rules with id, title and source."""
    rb = rulebase_mod.load(where)
    announce(where)
    if fmt == "json":
        echo_json(
            [
                {
                    "id": r.id,
                    "title": r.title,
                    "location": r.location,
                    "salience": r.salience,
                    "source": {
                        "section": r.source.section,
                        "quote": r.source.quote,
                        "document": r.source.document,
                        "title": rb.sources[r.source.document].title,
                    },
                }
                for r in rb.rules
            ]
        )
        return
    titles = {s.id: s.title for s in rb.sources.values()}
    click.echo(
        render.table(
            (
                r.id,
                r.title,
                f"[{titles.get(r.source.document, r.source.document)}: {r.source.section}]",
            )
            for r in rb.rules
        ),
        nl=False,
    )


@rules.command("lint", exit_codes={1: "errors were found (or warnings, with --strict)"})
@kb_options
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option(
    "--show-ignored",
    is_flag=True,
    help="Also list the warnings silenced by '# mm-advisor: ignore[code]' comments or the marker "
    "file's [lint] ignore list.",
)
@format_option("parsable", "github", "json")
def rules_lint(where: Layout, strict: bool, show_ignored: bool, fmt: str) -> None:
    """Check every file of the knowledge base (rules, facts, sources, invariants, scenarios and
    profiles): errors stop them loading, warnings flag rules that cannot fire, redundancy and
    gaps. Each problem is printed as path:line:col: severity: message [code]."""
    from ..knowledge import lint

    announce(where)
    found = lint.lint(where)
    problems = found.problems
    shown = [(p, False) for p in problems] + [(p, True) for p in found.ignored if show_ignored]
    shown.sort(key=lambda item: item[0])
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
                    **({"ignored": True} if ignored else {}),
                }
                for p, ignored in shown
            ]
        )
    for p, ignored in shown if fmt != "json" else ():
        message = render.line(p.message)
        if fmt == "github":
            if not ignored:
                click.echo(
                    f"::{p.severity} file={p.path},line={p.line},col={p.col},title={p.code}::{message}"
                )
        else:
            note = " (ignored)" if ignored else ""
            click.echo(f"{p.path}:{p.line}:{p.col}: {p.severity}: {message} [{p.code}]{note}")
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    summary = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    if found.ignored:
        summary += f", {len(found.ignored)} ignored"
    click.echo(summary + ".", err=True)
    if errors or (strict and warnings):
        raise click.exceptions.Exit(1)


@rules.command("diff")
@kb_options
@click.argument(
    "folders", nargs=-1, metavar="[OLD NEW]", type=click.Path(path_type=Path, file_okay=False)
)
@click.option(
    "--base",
    metavar="REV|DIR",
    help="Compare the current knowledge base with this git revision of it (or this folder).",
)
@format_option("text", "json", "markdown")
def rules_diff(where: Layout, folders: tuple[Path, ...], base: str | None, fmt: str) -> None:
    """Say what changed between two knowledge bases: rules, questions, derived facts, options,
    background figures, invariants and sources added, removed and changed, each change in words.

    Give two folders, OLD and NEW, or --base REV to compare the current knowledge base with a
    git revision of it (--base HEAD: what you have not committed yet)."""
    from ..knowledge import diff, invariants, revisions, scenarios

    if not ((base is not None and not folders) or (base is None and len(folders) == 2)):
        raise UserError("give two folders, OLD and NEW, or --base REV (not both)")
    with revisions.temporary() as scratch:
        if base is not None:
            old_where = (
                revisions.from_folder(Path(base))
                if Path(base).is_dir()
                else revisions.at_revision(where, base, Path(scratch))
            )
            new_where = where
        else:
            old_where, new_where = (revisions.from_folder(f) for f in folders)
        old, new = rulebase_mod.load(old_where), rulebase_mod.load(new_where)
        changes = diff.compare(
            old,
            new,
            invariants.load(invariants.default_files(old_where.invariants), old),
            invariants.load(invariants.default_files(new_where.invariants), new),
            scenarios.load(scenarios.default_files(old_where.scenarios), old),
            scenarios.load(scenarios.default_files(new_where.scenarios), new),
        )
    names = (
        old_where.found if base else str(folders[0]),
        where.describe() if base else str(folders[1]),
    )
    if fmt == "json":
        echo_json(diff.to_json(changes, *names))
    elif fmt == "markdown":
        click.echo(render.safe(diff.to_markdown(changes, *names)), nl=False)
    else:
        click.echo(render.safe(diff.to_text(changes, *names)), nl=False)


@rules.command("graph")
@kb_options
@format_option("mermaid", "dot")
def rules_graph(where: Layout, fmt: str) -> None:
    """Draw facts -> rules -> derived facts -> options (Mermaid for Markdown, or Graphviz dot)."""
    from ..explanation import graph

    rb = rulebase_mod.load(where)
    announce(where)
    click.echo((graph.dot if fmt == "dot" else graph.mermaid)(rb), nl=False)


@rules.command("show")
@kb_options
@click.argument("rule_id", metavar="ID")
@format_option("text", "json")
def rules_show(where: Layout, rule_id: str, fmt: str) -> None:
    """Show one rule: citation, conditions, conclusions, what it reads and what depends on it."""
    from ..explanation import graph

    rb = rulebase_mod.load(where)
    announce(where)
    try:
        rule = rb.rule(rule_id)
    except KeyError:
        raise UserError(
            f"no rule '{rule_id}'{did_you_mean(rule_id, [r.id for r in rb.rules])}"
        ) from None
    if fmt == "json":
        echo_json(graph.show_data(rb, rule))
        return
    click.echo(render.safe(graph.show(rb, rule)), nl=False)


@rules.command(
    "check",
    exit_codes={
        1: "an invariant fails (its smallest counterexample is printed), or holds vacuously"
    },
)
@kb_options
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@format_option("text", "json", "github")
def rules_check(where: Layout, files: tuple[Path, ...], fmt: str) -> None:
    """Prove the invariants (default: the facts folder's invariants/*.yaml) over every possible
    combination of answers; print a counterexample to paste after `consult --no-input` for any
    that fails, and flag any that holds vacuously (it could not fail). Exit 1 when one fails or
    holds vacuously."""
    from ..explanation import invariant_report
    from ..knowledge import invariants
    from ..reasoning import checker

    rb = rulebase_mod.load(where)
    paths = list(files) or invariants.default_files(where.invariants)
    if not paths:
        raise UserError("no invariant files: give FILES or add facts/invariants/*.yaml")
    report = checker.Checker(rb, invariants.load(paths, rb)).run()
    announce(where)
    if fmt == "json":
        echo_json(invariant_report.to_json(report, rb))
    elif fmt == "github":
        click.echo(invariant_report.to_github(report, rb), nl=False)
    else:
        click.echo(invariant_report.to_text(report, rb), nl=False)
    click.echo(f"Checked in {report.seconds:.1f} s.", err=True)
    if report.failed or report.vacuous:
        raise click.exceptions.Exit(1)


@rules.command(
    "mutate",
    exit_codes={
        1: "the mutation score is below --min-score, or the rules as they are fail a scenario "
        "or an invariant"
    },
)
@kb_options
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(["effect", "condition", "salience"]),
    multiple=True,
    help="Only mutants of this kind (repeatable; default: all): a rule's effect removed or its "
    "weights negated, a condition dropped or negated, its salience moved.",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 100),
    metavar="N",
    help="Fail when fewer than N% of the mutants are killed.",
)
@format_option("text", "json", "github")
def rules_mutate(where: Layout, kinds: tuple[str, ...], min_score: float | None, fmt: str) -> None:
    """Mutation testing of the knowledge base: change one rule at a time as a careless edit
    would, and see whether its own scenarios and invariants notice. Print every surviving mutant
    with its file:line, and for each the smallest profile whose recommendation it changes (add
    it as a scenario), or that it changes none (no advice depends on that part of the rule)."""
    from ..explanation import mutation_report
    from ..knowledge import invariants, scenarios
    from ..reasoning import mutation

    rb = rulebase_mod.load(where)
    loaded = scenarios.load(scenarios.default_files(where.scenarios), rb)
    proofs = invariants.load(invariants.default_files(where.invariants), rb)
    verdicts = mutation.run(rb, loaded, proofs, kinds or mutation.KINDS)
    announce(where)
    if fmt == "json":
        echo_json(mutation_report.to_json(verdicts, rb.schema))
    elif fmt == "github":
        click.echo(mutation_report.to_github(verdicts, rb.schema), nl=False)
    else:
        click.echo(mutation_report.to_text(verdicts, rb.schema), nl=False)
    score = mutation_report.Score(verdicts).percent
    if min_score is not None and score < min_score:
        click.echo(f"Mutation score {score:.1f}% is below --min-score {min_score:g}.", err=True)
        raise click.exceptions.Exit(1)


@rules.command("test", exit_codes={1: "a scenario failed, or coverage is below --min-coverage"})
@kb_options
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="N",
    help="Also fail when fewer than N% of the rules fire in some scenario.",
)
@click.option(
    "--junit",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write the results as JUnit XML, for CI systems (atomically).",
)
def rules_test(
    where: Layout,
    files: tuple[Path, ...],
    min_coverage: float | None,
    junit: str | None,
) -> None:
    """Run scenario tests (default: the knowledge base's scenarios folder) and report coverage.

    A scenario file that does not parse is reported with every problem in it, one per line."""
    from ..knowledge import scenarios as scenarios_mod
    from ..reasoning import testing

    rb = rulebase_mod.load(where)
    paths = list(files) or scenarios_mod.default_files(where.scenarios)
    if not paths:
        raise UserError("no scenario files: give FILES or add some to the scenarios folder")
    loaded, problems = scenarios_mod.check(paths, rb)
    if problems:
        for problem in problems:
            click.echo(f"Error: {render.line(problem)}", err=True)
        raise click.exceptions.Exit(2)
    outcomes, coverage = testing.run(loaded, Advisor(rb))
    if junit:
        write_atomic(junit, testing.junit(outcomes), private=False)
    announce(where)
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
    uncovered = testing.uncovered_conditions(coverage, rb)
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
