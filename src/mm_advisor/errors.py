"""Domain errors: every mistake a user can make becomes one of these, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a file, with a 1-based position, as yamllint reports them."""

    path: str
    line: int
    col: int
    message: str
    code: str = "syntax"
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class AdvisorError(Exception):
    """An error caused by the user's input; its text is one line a person can act on."""

    exit_code = 2


class KnowledgeBaseError(AdvisorError):
    """The rule or fact files are invalid; carries every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__(str(self.problems[0]) + _more(len(self.problems) - 1))


class AnswerError(AdvisorError):
    """An answer (from a file, --set or a trace) is not valid for its fact."""


class TraceError(AdvisorError):
    """A trace file cannot be read as a trace."""


class EditedTrace(TraceError):
    """A trace whose text only an edit can explain (a key twice, half a surrogate pair): two
    readers could see two different documents, so it is tampered with, exit 1."""

    exit_code = 1


def _more(count: int) -> str:
    if not count:
        return ""
    return f" (and {count} more problem{'s' if count > 1 else ''}; run `mm-advisor rules lint`)"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix when a close match exists, else ''.

    A word that begins exactly one choice is taken as that choice cut short; otherwise the
    closest choice by difflib's similarity ratio, if any is close enough.
    """
    import difflib  # only when something is wrong: not at every start

    choices = sorted(choices)
    extended = [c for c in choices if c.startswith(str(word)) and c != word]
    match = (
        extended
        if len(extended) == 1
        else difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    )
    return f" (did you mean '{match[0]}'?)" if match else ""
