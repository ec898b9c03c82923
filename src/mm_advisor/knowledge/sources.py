"""The source documents rules cite: a sources/ folder of plain-text files listed in sources.yaml.

Each source has an id, a title and optionally a URL and a date. A citation's quote must appear in
its document, and its section must be a heading the quote stands under: the document's title,
the section heading above it, or the label of the bullet it is in ("Flexibility: Designed
for ..."). Headings are found from the text's shape: a paragraph of one short line, not ending
like a sentence, is a heading; the first line is the document's title.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import KnowledgeBaseError, Problem
from .layout import display_path
from .yamlsrc import Node, check_keys, expect, load_file, text

INDEX = "sources.yaml"
LEGACY = "article.txt"  # where the article was before knowledge bases had a sources folder
_SOURCE_KEYS = ("id", "title", "file", "url", "date")
_BULLET = re.compile(r"^\s*[\u2022*\-]\s+([^:]{2,80}):\s+(.*)$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_PLAIN = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)


def normalise(words: str) -> str:
    """Text compared for citations: one space between words, plain quotes and dashes, lower case."""
    return " ".join(words.translate(_PLAIN).split()).lower()


@dataclass(frozen=True)
class Source:
    """One document rules may cite."""

    id: str
    title: str
    file: str  # its file name in the sources folder
    url: str | None
    date: str | None
    text: str  # normalised
    starts: tuple[int, ...]  # offsets in `text` where a run of lines under the same headings starts
    headings: tuple[tuple[str, ...], ...]  # the headings (normalised) over each run
    names: tuple[tuple[str, str], ...]  # (normalised heading, as written)

    def quote_problem(self, section: str, quote: str) -> tuple[str, str] | None:
        """None when `quote` stands in the document under the heading `section`; else which of
        the two is wrong ("section" or "quote") and why."""
        wanted = normalise(quote)
        offsets = _occurrences(self.text, wanted) if wanted else []
        if not offsets:
            return "quote", f"the quote '{quote}' does not appear in {self.describe()}"
        heading = normalise(section)
        found: list[str] = []
        for offset in offsets:
            over = self.headings[bisect.bisect_right(self.starts, offset) - 1]
            if heading in over:
                return None
            found.extend(h for h in over if h not in found)
        return "section", (
            f"the quote does not stand under the heading '{section}' in {self.describe()}; it "
            f"stands under: {'; '.join(self._display(h) for h in found)}"
        )

    def _display(self, heading: str) -> str:
        return dict(self.names).get(heading, heading)

    def describe(self) -> str:
        return f"the source '{self.id}' ({self.file})"


def _occurrences(text: str, wanted: str) -> list[int]:
    """Where `wanted` starts in `text`, each occurrence after the end of the one before."""
    found, start = [], text.find(wanted)
    while start != -1:
        found.append(start)
        start = text.find(wanted, start + len(wanted))
    return found


def parse_document(raw: str) -> tuple[str, tuple, tuple, tuple]:
    """The normalised text of a document, where each run of lines starts, the headings over each
    run, and each heading as written."""
    lines = raw.replace("\r\n", "\n").split("\n")
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    title = None
    section = None
    text_parts: list[str] = []
    starts: list[int] = []
    headings: list[tuple[str, ...]] = []
    originals: dict[str, str] = {}
    offset = 0

    def emit(words: str, over: tuple[str, ...]) -> None:
        nonlocal offset
        piece = normalise(words)
        if not piece:
            return
        if text_parts:
            offset += 1  # the space that joins it to what came before
        starts.append(offset)
        headings.append(over)
        text_parts.append(piece)
        offset += len(piece)

    def remember(heading: str) -> str:
        key = normalise(heading)
        originals.setdefault(key, " ".join(heading.split()))
        return key

    for paragraph in paragraphs:
        if not paragraph:
            continue
        first = paragraph[0].strip()
        if (
            len(paragraph) == 1
            and len(first) <= 100
            and not _BULLET.match(first)
            and not (first.endswith((".", ":", ",", ";")) and title is not None)
        ):
            if title is None:
                title = remember(first)
            else:
                section = remember(first)
            emit(first, tuple(h for h in (title, section) if h))
            continue
        for line in paragraph:
            over = tuple(h for h in (title, section) if h)
            bullet = _BULLET.match(line)
            if bullet:
                label = remember(bullet.group(1).strip())
                emit(line, over + (label,))
            else:
                emit(line, over)
    return " ".join(text_parts), tuple(starts), tuple(headings), tuple(originals.items())


def load(folder: Path, problems: list[Problem], files: list | None = None) -> dict[str, Source]:
    """The sources listed in `folder`/sources.yaml, each read and indexed; problems recorded.

    `files`, when given, receives (logical path, bytes) for every file read, for digests.
    """
    index = folder / INDEX
    legacy = folder / LEGACY
    if not index.is_file() and legacy.is_file():
        # A knowledge base from before sources/: its one article, in the facts folder.
        data = legacy.read_bytes()
        if files is not None:
            files.append((f"facts/{LEGACY}", data))
        raw = data.decode("utf-8", errors="replace")
        title = raw.strip().split("\n", 1)[0].strip() or "The article"
        return {"article": Source("article", title, LEGACY, None, None, *parse_document(raw))}
    if not index.is_file():
        problems.append(
            Problem(
                display_path(index),
                1,
                1,
                f"no sources index: the sources folder needs {INDEX} listing its documents",
                "missing-file",
            )  # fmt: skip
        )
        return {}
    if files is not None:
        files.append((f"sources/{INDEX}", index.read_bytes()))
    try:
        root = load_file(str(index), display_path(index))
    except KnowledgeBaseError as exc:
        problems.extend(exc.problems)
        return {}
    sources: dict[str, Source] = {}
    if root is None or not expect(root, "map", "a sources index", problems):
        return sources
    check_keys(root, ("sources",), ("sources",), "a sources index", problems)
    items = root.value.get("sources")
    if items is None or not expect(items, "seq", "'sources'", problems):
        return sources
    for node in items.value:
        source = _source(node, folder, problems, sources, files)
        if source is not None:
            sources[source.id] = source
    if not sources and not problems:
        problems.append(root.mark.problem("the sources index lists no source", "missing-file"))
    return sources


def _source(
    node: Node, folder: Path, problems: list[Problem], seen: dict[str, Source], files: list | None
) -> Source | None:
    if not expect(node, "map", "a source", problems):
        return None
    check_keys(node, _SOURCE_KEYS, ("id", "title", "file"), "a source", problems)
    ident = text(node.value.get("id"), "'id'", problems)
    title = text(node.value.get("title"), "'title'", problems)
    name = text(node.value.get("file"), "'file'", problems)
    url = text(node.value.get("url"), "'url'", problems) if "url" in node.value else None
    date = node.value.get("date")
    when = None
    if date is not None:
        when = text(date, "'date'", problems) if isinstance(date.value, str) else None
        if when is None:
            problems.append(
                date.mark.problem(
                    "'date' is text such as \"2024-05-01\" (quote it)", "type-mismatch"
                )
            )
            return None
    if None in (ident, title, name):
        return None
    if not _ID.match(ident):
        problems.append(
            node.value["id"].mark.problem(
                f"source id '{ident}' must be lower-case letters, digits and -", "bad-id"
            )
        )
        return None
    if ident in seen:
        problems.append(
            node.value["id"].mark.problem(f"duplicate source id '{ident}'", "duplicate-id")
        )
        return None
    path = folder / name
    if Path(name).name != name or not path.is_file():
        problems.append(
            node.value["file"].mark.problem(
                f"no such document '{name}' in {display_path(folder)}", "missing-file"
            )
        )
        return None
    refused = _unreadable(path)
    if refused:  # a link could show (in a quote's message) a file that is not the document
        problems.append(node.value["file"].mark.problem(f"'{name}' {refused}", "bad-source"))
        return None
    with open(path, "rb") as fh:
        data = fh.read(MAX_SOURCE + 1)
    if len(data) > MAX_SOURCE:
        problems.append(  # it grew while being read
            node.value["file"].mark.problem(f"'{name}' {_too_big(len(data), True)}", "bad-source")
        )
        return None
    if files is not None:
        files.append((f"sources/{name}", data))
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(display_path(path), 1, 1, f"not UTF-8 text ({exc.reason})"))
        return None
    return Source(ident, title, name, url, when, *parse_document(raw))


MAX_SOURCE = 10 * 2**20  # bytes in a source document (the article is 20 KB)


def _too_big(size: int, at_least: bool = False) -> str:
    return (
        f"is {'at least ' if at_least else ''}{size:,} bytes, larger than {MAX_SOURCE // 2**20} MB, the most a source document "
        "may be"
    )


def _unreadable(path: Path) -> str | None:
    """Why a source document is not read: a link, or a file too large; None when it is fine."""
    if path.is_symlink():
        return "is a symbolic link; a source document must be a file in the sources folder"
    size = path.stat().st_size
    if size > MAX_SOURCE:
        return _too_big(size)
    return None
