"""Where a knowledge base is, found the way pre-commit and ruff find their configuration.

In order: `--kb DIR`; else the environment variable MM_ADVISOR_KB; else the nearest folder at or
above the working directory that holds a `mm-advisor.toml`; else the knowledge base shipped with
the package. The marker file names the folders; `--rules`/`--facts` still override two of them.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import KnowledgeBaseError, Problem
from ..files import PACKAGE, InputError, read_text, someone_elses

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib

MARKER = "mm-advisor.toml"
SHIPPED = "shipped with mm-advisor"  # how the knowledge base that comes with the tool is found
ENV = "MM_ADVISOR_KB"
SECTION = "knowledge-base"
FOLDERS = ("rules", "facts", "sources", "scenarios", "invariants", "profiles")
DEFAULTS = {
    "rules": "rules",
    "facts": "facts",
    "sources": "sources",
    "scenarios": "facts/scenarios",
    "invariants": "facts/invariants",
    "profiles": "facts/profiles",
}


@dataclass(frozen=True)
class TrustedKey:
    """A public key the office trusts ([trust] in mm-advisor.toml), and when: traces dated
    before `valid_from`, from `until` on, or from `revoked` on, are not trusted (dates, ISO)."""

    path: Path
    valid_from: str | None = None
    until: str | None = None
    revoked: str | None = None


@dataclass(frozen=True)
class Layout:
    """The folders of one knowledge base, and how it was found."""

    root: Path
    found: str  # in words: "--kb", "MM_ADVISOR_KB", "mm-advisor.toml", "shipped", ...
    rules: Path
    facts: Path
    sources: Path
    scenarios: Path
    invariants: Path
    profiles: Path
    ignore: tuple[str, ...] = ()  # lint warnings silenced for the whole knowledge base
    trust: tuple["TrustedKey", ...] = ()  # the public keys whose signatures verify accepts

    def inputs(self) -> tuple[str, ...]:
        """The files every command reads from this knowledge base (its marker, rule and fact
        files, and sources), which no output may replace."""
        found = [self.root / MARKER]
        for folder in (self.rules, self.facts, self.sources):
            if folder.is_dir():
                found += [p for p in sorted(folder.iterdir()) if p.is_file()]
        return tuple(str(p) for p in found)

    def describe(self) -> str:
        """One line naming the knowledge base, as every command reports it."""
        return f"{display_path(self.root)} ({self.found})"

    @classmethod
    def of(cls, rules: Path, facts: Path, sources: Path | None = None) -> "Layout":
        """A knowledge base given only by its rule and fact folders (as --rules/--facts do)."""
        return shipped().with_folders(rules, facts, sources)

    def with_folders(
        self, rules: Path | None, facts: Path | None, sources: Path | None = None
    ) -> "Layout":
        """This layout with other rule or fact folders: what they hold comes with them."""
        if rules is None and facts is None:
            return self
        changed = replace(self, found=f"{self.found}, with --rules/--facts")
        if rules is not None:
            changed = replace(changed, rules=Path(rules))
        if facts is not None:
            facts = Path(facts)
            beside = facts.parent / "sources"
            changed = replace(
                changed,
                facts=facts,
                scenarios=facts / "scenarios",
                invariants=facts / "invariants",
                profiles=facts / "profiles",
                sources=Path(sources) if sources else beside if beside.is_dir() else self.sources,
            )
        return changed


def not_linked(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """`paths` without the symbolic links among them, and a problem for each: a knowledge base
    is read from inside it only (a link could show, in an error, a file that is not its own)."""
    kept, problems = [], []
    for path in paths:
        if path.is_symlink():
            problems.append(
                Problem(
                    display_path(path),
                    1,
                    1,
                    "is a symbolic link: a knowledge base's files are read from inside it "
                    "only (put the file itself here)",
                    "link",
                )  # fmt: skip
            )
        else:
            kept.append(path)
    return kept, problems


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def read(root: Path, found: str) -> Layout:
    """The layout described by `root`/mm-advisor.toml; KnowledgeBaseError says what is wrong."""
    marker = root / MARKER
    where = display_path(marker)
    if not marker.exists():
        raise KnowledgeBaseError(
            [Problem(display_path(root), 1, 1, f"not a knowledge base: no {MARKER} here")]
        )
    try:
        data = tomllib.loads(read_text(str(marker), where, limit=1024 * 1024))
    except InputError as exc:
        raise KnowledgeBaseError([Problem(where, 1, 1, str(exc).partition(": ")[2])]) from None
    except RecursionError:
        raise KnowledgeBaseError(
            [Problem(where, 1, 1, "invalid TOML: nested too deeply")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, col = (int(at.group(1)), int(at.group(2))) if at else (1, 1)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise KnowledgeBaseError([Problem(where, line, col, f"invalid TOML: {message}")]) from None
    problems: list[Problem] = []
    unknown = set(data) - {SECTION, "lint", "trust"}
    if unknown:
        problems.append(
            Problem(
                where,
                1,
                1,
                f"unknown table [{sorted(unknown)[0]}]; expected [{SECTION}], [lint] and [trust]",
            )
        )
    folders = _table(data.get(SECTION, {}), SECTION, FOLDERS, where, problems)
    lint = _table(data.get("lint", {}), "lint", ("ignore",), where, problems)
    paths = {}
    for name in FOLDERS:
        value = folders.get(name, DEFAULTS[name])
        if not isinstance(value, str) or not value or Path(value).is_absolute():
            problems.append(
                Problem(where, 1, 1, f"[{SECTION}] {name} must be a relative folder path")
            )
            continue
        paths[name] = root / value
    ignore = lint.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
        problems.append(Problem(where, 1, 1, "[lint] ignore must be a list of warning codes"))
        ignore = []
    trust = _trusted(_table(data.get("trust", {}), "trust", ("keys",), where, problems), root)
    if isinstance(trust, str):
        problems.append(Problem(where, 1, 1, trust))
        trust = ()
    if problems:
        raise KnowledgeBaseError(problems)
    return Layout(root, found, **paths, ignore=tuple(ignore), trust=trust)


_KEY_FIELDS = ("file", "from", "until", "revoked")


def _trusted(table: Mapping[str, Any], root: Path) -> tuple[TrustedKey, ...] | str:
    """The [trust] keys, or what is wrong with them."""
    keys = table.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        return '[trust] keys must be a list of tables: { file = "keys/office.pub", ... }'
    trusted = []
    for key in keys:
        unknown = sorted(set(key) - set(_KEY_FIELDS))
        if unknown:
            return (
                f"unknown key '{unknown[0]}' in a [trust] key; expected: {', '.join(_KEY_FIELDS)}"
            )
        file = key.get("file")
        if not isinstance(file, str) or not file or Path(file).is_absolute():
            return "each [trust] key needs file = a relative path to a public key"
        dates = {}
        for name in ("from", "until", "revoked"):
            value = key.get(name)
            text = value.isoformat() if hasattr(value, "isoformat") else value
            if text is not None and not (isinstance(text, str) and _DATE.match(text)):
                return f"[trust] {name} must be a date such as 2026-01-31"
            dates[name] = text[:10] if text else None
        trusted.append(TrustedKey(root / file, dates["from"], dates["until"], dates["revoked"]))
    return tuple(trusted)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _table(
    value: Any, name: str, keys: tuple[str, ...], where: str, problems: list[Problem]
) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        problems.append(Problem(where, 1, 1, f"[{name}] must be a table"))
        return {}
    for key in value:
        if key not in keys:
            problems.append(
                Problem(
                    where,
                    1,
                    1,
                    f"unknown key '{key}' in [{name}]; expected one of: {', '.join(keys)}",
                )
            )
    return value


def shipped() -> Layout:
    """The knowledge base shipped with the package (the source tree's, in a checkout)."""
    packaged = Path(PACKAGE) / "kb"
    if (packaged / MARKER).is_file():
        return read(packaged, SHIPPED)
    return read(Path(__file__).resolve().parents[3], SHIPPED)


def discover(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a knowledge-base marker."""
    for folder in (start, *start.parents):
        if (folder / MARKER).is_file():
            return folder
    return None


def locate(
    kb: Path | None = None,
    rules: Path | None = None,
    facts: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Layout:
    """The knowledge base a command uses (see the module docstring for the order)."""
    environ = os.environ if environ is None else environ
    if kb is not None:
        layout = read(Path(kb).resolve(), "--kb")
    elif environ.get(ENV):
        layout = read(Path(environ[ENV]).resolve(), ENV)
    else:
        found = discover((cwd or Path.cwd()).resolve())
        if found is not None:
            _refuse_if_not_trusted(found)
        layout = read(found, f"{MARKER} found") if found else shipped()
    return layout.with_folders(rules, facts)


def _refuse_if_not_trusted(folder: Path) -> None:
    """A marker found by walking up is taken only when this user owns it and its folder, and
    others cannot write them (as git treats a repository owned by someone else): in a shared
    folder, anyone could otherwise change the advice. Naming it (--kb, MM_ADVISOR_KB) trusts it."""
    for path in (folder / MARKER, folder):
        info = path.stat()
        if someone_elses(info):
            why = "is owned by another user"
        elif info.st_mode & 0o002:
            why = "can be changed by anyone (world-writable)"
        else:
            continue
        raise KnowledgeBaseError(
            [
                Problem(
                    display_path(folder / MARKER),
                    1,
                    1,
                    f"found by looking up from here, but {display_path(path)} {why}; it is not "
                    f"used. To use it anyway, name it: --kb {display_path(folder)} (or {ENV})",
                )
            ]
        )
