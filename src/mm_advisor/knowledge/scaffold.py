"""Create a knowledge base of one's own: a copy of the shipped one, ready to edit and to version.

It holds the rules, facts, sources, scenarios, invariants and profiles; the marker file that makes
every mm-advisor command run inside it use it; the JSON Schemas its files name, so an editor
checks them as they are typed; a pre-commit configuration; and a short README for advisors.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ..errors import AdvisorError
from ..files import PACKAGE, write_atomic
from .layout import MARKER, Layout, read, shipped

SCHEMA_LINE = "# yaml-language-server: $schema="
KINDS = ("rules", "facts", "sources", "scenarios", "invariants")

MARKER_TEXT = """\
# This folder is an mm-advisor knowledge base: every mm-advisor command run in it, or in a
# folder below it, uses the rules, facts and sources named here.
[knowledge-base]
rules = "rules"
facts = "facts"
sources = "sources"
scenarios = "facts/scenarios"
invariants = "facts/invariants"
profiles = "facts/profiles"

[lint]
# Warning codes to silence everywhere; `mm-advisor rules lint --show-ignored` still lists them.
ignore = []
"""

# The pre-commit hooks, defined once: `init` writes them as local hooks into a new knowledge
# base, and the repository's `.pre-commit-hooks.yaml` (for others' repositories) is this text
# (`hook_definitions()`; a test keeps the two equal). They run on a knowledge base anywhere in
# the repository.
HOOKS = (
    ("mm-advisor-lint", "rules lint --strict",
     "Check every file of the knowledge base; warnings fail too (--strict)."),
    ("mm-advisor-test", "rules test --min-coverage 100",
     "Run the scenario tests and require every rule to fire in some scenario."),
    ("mm-advisor-check", "rules check", "Prove the invariants over every possible answer."),
)  # fmt: skip
HOOK_FILES = r"^(.*/)?(rules|facts|sources|schemas)/|(^|/)mm-advisor\.toml$"


def _hooks(indent: str, language: str, requirement: str | None = None) -> str:
    needs = (
        f"{indent}  additional_dependencies: [{json.dumps(requirement)}]\n" if requirement else ""
    )
    return "".join(
        f"{indent}- id: {hook_id}\n"
        f"{indent}  name: mm-advisor {command.split(' --')[0]}\n"
        f"{indent}  description: {description}\n"
        f"{indent}  entry: mm-advisor {command}\n"
        f"{indent}  language: {language}\n"
        f"{needs}"
        f"{indent}  pass_filenames: false\n"
        f"{indent}  files: {HOOK_FILES}\n"
        for hook_id, command, description in HOOKS
    )


def hook_definitions() -> str:
    """The text of this project's `.pre-commit-hooks.yaml`."""
    return (
        "# Hooks for a repository that holds an mm-advisor knowledge base (a folder with\n"
        "# mm-advisor.toml; `mm-advisor init DIR` creates one). Each runs on the knowledge base\n"
        "# found from the repository's top, as every mm-advisor command does. Generated from\n"
        "# src/mm_advisor/knowledge/scaffold.py (HOOKS): edit it there.\n"
    ) + _hooks("", "python")


def pre_commit_config(requirement: str | None) -> str:
    """The `.pre-commit-config.yaml` `init` writes. With `requirement` (where this mm-advisor
    can be installed from again), pre-commit installs that mm-advisor itself, the same for
    everyone who commits; without, the hooks run the mm-advisor installed where one commits."""
    if requirement is None:
        how = (
            "# The hooks run the mm-advisor installed where you commit (the one you consult with);\n"
            "# to have pre-commit install a pinned one itself, see GUIDE.md.\n"
        )
    else:
        how = (
            "# pre-commit installs this mm-advisor itself (the one that wrote this file), the same\n"
            "# for everyone who commits; change the pin to move everyone to another.\n"
        )
    return (
        "# Check the knowledge base before every commit: pip install pre-commit && pre-commit "
        "install\n"
        + how
        + "repos:\n  - repo: local\n    hooks:\n"
        + _hooks("      ", "system" if requirement is None else "python", requirement)
    )


_REQUIREMENT_URL = re.compile(r"[A-Za-z0-9+.-]+://[\x21-\x7e]+")


def installed_from() -> str | None:
    """How this mm-advisor was installed, as a requirement others can install the same from:
    `mm-advisor==X.Y.Z` from a package index, `mm-advisor @ git+URL@COMMIT` from a repository;
    none from a folder on this machine (an editable checkout), which nobody else has."""
    from importlib import metadata

    try:
        dist = metadata.distribution("mm-advisor")
        direct = dist.read_text("direct_url.json")
    except (metadata.PackageNotFoundError, OSError):
        return None
    if direct is None:
        return f"mm-advisor=={dist.version}"
    try:
        origin = json.loads(direct)
        url, vcs = origin["url"], origin.get("vcs_info")
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(url, str) or url.startswith("file:") or not _REQUIREMENT_URL.fullmatch(url):
        return None
    if vcs is None:
        return f"mm-advisor @ {url}"  # an archive, by its URL
    commit = vcs.get("commit_id") if isinstance(vcs, dict) else None
    if (
        vcs.get("vcs") != "git"
        or not isinstance(commit, str)
        or not re.fullmatch(r"[0-9a-f]{40}", commit)
    ):
        return None
    return f"mm-advisor @ git+{url}@{commit}"


README = """\
# Our mm-advisor knowledge base

This folder is a knowledge base for mm-advisor: the
rules, questions and sources it advises with. Every `mm-advisor` command run here, or in a
folder below, uses these files (`mm-advisor kb` says so); nothing else needs configuring.

| folder | holds |
|---|---|
| `rules/` | the rules: conditions on answers, what they weigh, and the passage each cites |
| `facts/questions.yaml`, `facts/background.yaml` | the questions, and the options with their figures |
| `sources/` | the documents rules cite (`sources/sources.yaml` lists them; add your own) |
| `facts/scenarios/`, `facts/invariants/` | scenario tests, and what must hold for every answer |
| `facts/profiles/` | example answers |
| `schemas/` | the JSON Schemas each file names on its first line, for your editor |

After an edit, run the three checks (pre-commit runs them for you once installed:
`pip install pre-commit && pre-commit install`):

```sh
mm-advisor rules lint --strict      # the files are well-formed and mean what they say
mm-advisor rules test               # the scenarios give what they expect
mm-advisor rules check              # the invariants hold for every possible answer
```

Then try it: `mm-advisor consult`. The full guide, for the mm-advisor that wrote this folder,
is `GUIDE.md`, here.
"""
GUIDE = "GUIDE.md"  # the advisor's guide (docs/authoring.md), written beside the README


def create(target: Path, force: bool = False) -> Layout:
    """Write a new knowledge base into `target` (refusing a non-empty folder without `force`)."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise AdvisorError(f"{target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise AdvisorError(f"{target}: the folder is not empty (add --force to write into it)")
    source = shipped()
    target.mkdir(parents=True, exist_ok=True)
    copies = {
        "rules": source.rules,
        "facts": source.facts,
        "sources": source.sources,
    }
    for name, folder in copies.items():
        shutil.copytree(folder, target / name, dirs_exist_ok=True)
    schemas = target / "schemas"
    schemas.mkdir(exist_ok=True)
    for kind in KINDS:
        text = (Path(PACKAGE) / "schemas" / f"{kind}.schema.json").read_text()
        write_atomic(str(schemas / f"{kind}.schema.json"), text, private=False)
    for path in sorted(target.rglob("*.yaml")):
        _point_at_schema(path, schemas)
    write_atomic(str(target / MARKER), MARKER_TEXT, private=False)
    config = pre_commit_config(installed_from())
    write_atomic(str(target / ".pre-commit-config.yaml"), config, private=False)
    write_atomic(str(target / "README.md"), README, private=False)
    guide = (source.root / "docs" / "authoring.md").read_text(encoding="utf-8")
    write_atomic(str(target / GUIDE), guide, private=False)
    return read(target.resolve(), "created")


def _point_at_schema(path: Path, schemas: Path) -> None:
    """Make a YAML file's first line name its schema inside the knowledge base."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if not lines or not lines[0].startswith(SCHEMA_LINE):
        return
    kind = Path(lines[0][len(SCHEMA_LINE) :]).name.split(".")[0]
    if kind not in KINDS:
        return
    relative = os.path.relpath(schemas / f"{kind}.schema.json", path.parent)
    lines[0] = SCHEMA_LINE + Path(relative).as_posix()
    path.write_text("\n".join(lines), encoding="utf-8")
