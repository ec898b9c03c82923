"""The command group, its error boundary, and the options every command spells alike."""

from __future__ import annotations

import errno
import functools
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from .. import __version__
from ..errors import AdvisorError
from ..explanation import render
from ..knowledge import layout
from ..knowledge.rulebase import RuleBase


class UserError(click.ClickException):
    """An AdvisorError shown as one line on stderr, with its exit code."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


EXIT_CODES = {
    0: "success",
    2: "a mistake in the input, a file or an option (one line on stderr)",
    130: "interrupted (Ctrl-C)",
}


def _debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["mm_advisor.debug"] = True


_DEBUG = click.Option(
    ["--debug"],
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug,
    help="Show a traceback for errors in your input.",
)


class AdvisorCommand(click.Command):
    """A command whose help ends with its exit codes, and which accepts --debug too."""

    def __init__(self, *args: Any, exit_codes: dict[int, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        codes = {**EXIT_CODES, **(exit_codes or {})}
        self.exit_codes = dict(sorted(codes.items()))
        self.params.append(_DEBUG)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text("Exit codes:")
        with formatter.indentation():
            formatter.write_dl([(str(code), text) for code, text in self.exit_codes.items()])


# Which module of this package defines each top-level command: a command's module is imported
# only when that command runs (or help lists them all), so `consult` does not import what
# `audit`, `batch` or `serve` need. A test checks that every command is named here.
COMMANDS = {
    "consult": "advise", "questions": "advise", "schema": "advise",
    "explain": "auditing", "audit": "auditing", "keys": "auditing",
    "kb": "authoring", "init": "authoring", "rules": "authoring",
    "batch": "cohorts", "impact": "cohorts", "sample": "cohorts",
    "serve": "serving",
}  # fmt: skip


class AdvisorGroup(click.Group):
    """The error boundary: user mistakes become one line and exit 2; Ctrl-C exits 130; nothing
    read from the user reaches the terminal raw; output that cannot be written is an error."""

    command_class = AdvisorCommand

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.params.append(_DEBUG)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            try:
                importlib.import_module(f"{__package__}.{COMMANDS[name]}")  # it registers itself
            except ImportError as exc:  # another version of experta (reasoning/compat.py)
                if exc.name != "experta" or not str(exc).startswith("mm-advisor needs"):
                    raise
                raise UserError(str(exc)) from None
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AdvisorError as exc:
            if ctx.meta.get("mm_advisor.debug"):
                raise
            raise UserError(render.line(exc), exc.exit_code) from None
        except (KeyboardInterrupt, click.Abort):
            click.echo("\nInterrupted.", err=True)
            raise click.exceptions.Exit(130) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        code = 0
        try:
            if sys.stdout is None or sys.stdout.closed:
                raise UserError("standard output is closed: there is nowhere to write the result")
            result = super().main(*args, standalone_mode=False, **kwargs)
            code = result if isinstance(result, int) else 0
            sys.stdout.flush()
        except click.UsageError as exc:
            if isinstance(exc, _HELP_INSTEAD):  # a group run without a command shows its help
                exc.show()
            else:  # one line, like every other mistake, saying where the help is
                where = exc.ctx.command_path if exc.ctx else "mm-advisor"
                message = render.line(exc.format_message())
                click.echo(f"Error: {message} (see '{where} --help')", err=True)
            code = exc.exit_code
        except click.ClickException as exc:
            exc.message = render.line(exc.message)
            exc.show()
            code = exc.exit_code
        except (click.Abort, KeyboardInterrupt, EOFError):
            click.echo("\nInterrupted.", err=True)
            code = 130
        except OSError as exc:
            _silence_stdout()
            if exc.errno != errno.EPIPE:  # a reader that stopped reading needs no message
                click.echo(f"Error: cannot write the output: {exc.strerror}", err=True)
            code = 2 if exc.errno != errno.EPIPE else 1
        sys.exit(code)


_HELP_INSTEAD = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _silence_stdout() -> None:
    """Point standard output at nowhere, so the unwritten rest is not retried at exit."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass


AdvisorGroup.group_class = AdvisorGroup


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """mm-advisor's version, then the knowledge base the commands here would use: where it is
    found and its rule-base digest (what a trace records), as a bug report needs both."""
    if not value or ctx.resilient_parsing:
        return
    from ..knowledge import rulebase

    click.echo(f"mm-advisor, version {__version__}")
    try:
        where = layout.locate(None, None, None)
        rb = rulebase.load(where)
        about = f"{where.describe()}, {len(rb.rules)} rules, rule base {rb.digest}"
    except AdvisorError as error:
        about = f"cannot be read: {error}"
    click.echo(render.line(f"Knowledge base: {about}"))
    ctx.exit()


@click.group(cls=AdvisorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the version and the knowledge base found here, and exit.",
)
def cli() -> None:
    """Advise whether a MicroMasters, a full master's degree, or a MicroMasters as a stepping
    stone to a master's fits a person's goals, citing the article behind every step."""


def kb_options(command: Callable) -> Callable:
    """--kb, --rules and --facts, spelt alike on every command that reads the knowledge base;
    the command receives the knowledge base found as `where`."""

    @click.option(
        "--kb",
        "kb_dir",
        metavar="DIR",
        type=click.Path(path_type=Path, file_okay=False),
        help="The knowledge base: a folder with a mm-advisor.toml (default: $MM_ADVISOR_KB, "
        "else the nearest such folder at or above the working directory, else the shipped one).",
    )
    @click.option(
        "--rules",
        "rules_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Use this folder of rule files instead of the knowledge base's.",
    )
    @click.option(
        "--facts",
        "facts_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Use this folder of fact files instead of the knowledge base's.",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any, kb_dir: Path | None, rules_dir: Path | None, facts_dir: Path | None, **kw: Any
    ) -> Any:
        return command(*args, where=layout.locate(kb_dir, rules_dir, facts_dir), **kw)

    return wrapper


def announce(where: layout.Layout) -> None:
    """Say which knowledge base a command uses, on stderr (what goes to stdout, or to a file,
    is the result alone), unless it is the one shipped with mm-advisor: the person consulting
    it needs no word of it, an advisor trying their own needs to see it is theirs."""
    if where.found == layout.SHIPPED:
        return
    line = render.line(f"Knowledge base: {where.describe()}")  # one line, never wrapped
    colour = render.use_color(sys.stderr)
    click.echo(click.style(line, dim=True) if colour else line, err=True, color=colour)


def format_option(*choices: str) -> Callable:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def jobs_option(help_text: str) -> Callable:
    """--jobs N: the processes a bulk command works with; every core by default."""
    return click.option(
        "--jobs",
        type=click.IntRange(1, 64),
        default=os.cpu_count() or 1,
        show_default="every core",
        help=help_text,
    )


def log_option(help_text: str, environment: bool = True) -> Callable:
    """--log PATH; from MM_ADVISOR_LOG too, unless giving it changes what the command does."""
    return click.option(
        "--log",
        "log_path",
        metavar="PATH",
        envvar="MM_ADVISOR_LOG" if environment else None,
        type=click.Path(dir_okay=False),
        help=help_text + (" [env: MM_ADVISOR_LOG]" if environment else ""),
    )


def sign_key_option(help_text: str) -> Callable:
    """--sign-key FILE, also from MM_ADVISOR_SIGNING_KEY, spelt alike on every command that
    keeps traces."""
    return click.option(
        "--sign-key",
        metavar="FILE",
        envvar="MM_ADVISOR_SIGNING_KEY",
        type=click.Path(dir_okay=False),
        help=help_text + " [env: MM_ADVISOR_SIGNING_KEY]",
    )


def echo_json(data: Any) -> None:
    click.echo(render.json_text(data, indent=2))


def labels(rb: RuleBase) -> dict[str, str]:
    return {name: option.label for name, option in rb.schema.options.items()}


class Progress:
    """One line on a terminal's stderr: how many `unit` are done, how many per second, and the
    time left when the share done is known (`total` items, or `share()` of the input read).
    Shown only when `enabled`: never in a pipe, nor with --quiet."""

    def __init__(
        self,
        unit: str,
        enabled: bool,
        total: int | None = None,
        share: Callable[[], float | None] | None = None,
    ):
        self.unit, self.enabled = unit, enabled
        self.share = share or (lambda: None)
        self.total = total
        self.start = self.shown = time.monotonic()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.shown < 0.25:
            return
        self.shown = now
        rate = done / max(now - self.start, 1e-9)
        line = f"{done:,} {self.unit}  {rate:,.0f} {self.unit}/s"
        share = done / self.total if self.total else self.share()
        if share:
            left = (now - self.start) * (1 - share) / share
            line += f"  about {int(left) // 60}:{int(left) % 60:02d} left"
        click.echo(f"\r{line}\x1b[K", err=True, nl=False)

    def done(self, done: int) -> None:
        if self.enabled:
            seconds = time.monotonic() - self.start
            click.echo(f"\r{done:,} {self.unit} in {seconds:.1f} s\x1b[K", err=True)


def check_subject(subject: str | None) -> str | None:
    """The subject reference as kept (see `trace.reference`), or a one-line refusal."""
    from ..audit.trace import reference

    if subject is None:
        return None
    try:
        return reference(subject)
    except ValueError as exc:
        raise UserError(f"--subject {render.safe(subject)[:60]!r}: {exc}") from None
