"""Another version of a knowledge base: a folder, or a git revision of the current one."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path

from ..errors import AdvisorError
from ..explanation import render
from . import layout
from .layout import Layout


def from_folder(folder: Path) -> Layout:
    """The knowledge base in `folder`: its mm-advisor.toml, else rules/, facts/ and sources/."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AdvisorError(f"{folder}: no such folder")
    if (folder / layout.MARKER).is_file():
        return layout.read(folder.resolve(), layout.display_path(folder))
    sources = folder / "sources"
    if not sources.is_dir():  # from before sources/: the article sat in the facts folder
        sources = folder / "facts"
    return layout.Layout.of(folder / "rules", folder / "facts", sources)


def at_revision(current: Layout, revision: str, into: Path) -> Layout:
    """The current knowledge base as it was at git `revision`, written under `into`: its
    marker and folders only, streamed from `git archive` (never the whole repository)."""
    if revision.startswith("-") or not revision.isprintable():
        raise AdvisorError(f"'{render.line(revision)}' is not a git revision")
    try:
        top = Path(_git(current.root, "rev-parse", "--show-toplevel").strip()).resolve()
        commit = _git(top, "rev-parse", "--verify", "--end-of-options", f"{revision}^{{commit}}")
        wanted = [p for p in _kb_paths(current, top) if _holds(top, commit.strip(), p)]
        if not wanted:
            raise AdvisorError(f"revision {revision} has no knowledge base at {current.root}")
        archive = subprocess.Popen(
            ["git", "-C", str(top), "archive", "--format=tar", commit.strip(), "--", *wanted],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise AdvisorError("git is not installed: give the base as a folder instead") from None
    assert archive.stdout is not None
    try:
        with archive, tarfile.open(fileobj=archive.stdout, mode="r|") as stream:
            _extract(stream, Path(into))
    except (tarfile.TarError, OSError) as exc:
        raise AdvisorError(f"cannot read revision {revision}: {exc}") from None
    if archive.returncode != 0:
        raise AdvisorError(f"cannot read revision {revision}: git archive failed")
    inside = Path(into) / current.root.resolve().relative_to(top)
    return replace(from_folder(inside), found=f"git revision {revision}")


def _kb_paths(current: Layout, top: Path) -> list[str]:
    """The knowledge base's marker and folders, as paths in the repository: where they are
    now, and where a revision without a marker would keep them."""
    root = current.root.resolve()
    places = [root / layout.MARKER, *(root / name for name in layout.DEFAULTS.values())]
    places += [Path(getattr(current, name)).resolve() for name in layout.FOLDERS]
    found = []
    for place in places:
        if place.is_relative_to(top):
            found.append(place.relative_to(top).as_posix())
    return sorted(set(found))


def _holds(top: Path, commit: str, path: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(top), "cat-file", "-e", f"{commit}:{path}"], capture_output=True
    )
    return result.returncode == 0


def _extract(archive: tarfile.TarFile, into: Path) -> None:
    """Extract plain files and folders only, and only inside `into`, as they stream by."""
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.10.12 and later
    for member in archive:
        target = (into / member.name).resolve()
        if (member.isfile() or member.isdir()) and target.is_relative_to(into.resolve()):
            archive.extract(member, into, set_attrs=False, **safe)


def temporary() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="mm-advisor-base-")


def _git(where: Path, *args: str) -> str:
    return _git_bytes(where, *args).decode("utf-8", errors="replace")


def _git_bytes(where: Path, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", str(where), *args], capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise AdvisorError(f"git {args[0]}: {message[-1] if message else 'failed'}")
    return result.stdout
