"""The command line: a thin layer that parses options, calls the library and prints.

Each command's module is imported only when it runs (`base.COMMANDS`), and commands import
what they need when they run, so a consultation starts fast.
"""

from __future__ import annotations

from .base import cli


def main() -> None:
    cli(prog_name="mm-advisor")
