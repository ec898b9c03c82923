"""Another version of a knowledge base: a folder, or a git revision of the current one."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path

from ..errors import AdvisorError
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
    """The current knowledge base as it was at git `revision`, written under `into`."""
    if revision.startswith("-"):
        raise AdvisorError(f"{revision!r} is not a git revision")
    try:
        top = _git(current.root, "rev-parse", "--show-toplevel").strip()
        data = _git_bytes(Path(top), "archive", "--format=tar", revision)
    except FileNotFoundError:
        raise AdvisorError("git is not installed: give the base as a folder instead") from None
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            _extract(archive, Path(into))
    except (tarfile.TarError, OSError) as exc:
        raise AdvisorError(f"cannot read revision {revision}: {exc}") from None
    inside = Path(into) / current.root.resolve().relative_to(Path(top).resolve())
    return replace(from_folder(inside), found=f"git revision {revision}")


def _extract(archive: tarfile.TarFile, into: Path) -> None:
    """Extract plain files and folders only, and only inside `into`."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(into, filter="data")
        return
    for member in archive.getmembers():  # Python 3.10 before 3.10.12
        target = (into / member.name).resolve()
        if (member.isfile() or member.isdir()) and target.is_relative_to(into.resolve()):
            archive.extract(member, into)


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
