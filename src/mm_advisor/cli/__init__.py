"""The command line: a thin layer that parses options, calls the library and prints.

Commands import the modules only they need, so a consultation starts fast.
"""

from __future__ import annotations

from . import advise, auditing, authoring, cohorts, serving  # noqa: F401  (each registers its commands)
from .base import cli


def main() -> None:
    cli(prog_name="mm-advisor")
