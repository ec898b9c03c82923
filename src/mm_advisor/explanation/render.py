"""Render a trace document as text for a person, safely: no control sequence reaches the screen."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from typing import Any, Iterable

# Terminal controls (C0 but tab and newline, DEL, C1: escape sequences start with one), lone
# surrogates (they cannot be written), the bidirectional marks and overrides that reorder what a
# terminal shows, and the Unicode line and paragraph separators (a "line" that splits in two).
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069]"
)


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: Any) -> str:
    """`text` with terminal control characters (escape sequences included) made visible."""
    return _CONTROL.sub(_visible, str(text))


def json_text(data: Any, **options: Any) -> str:
    """`data` as JSON, non-ASCII text kept readable, but every character `safe` would make
    visible escaped (\\u009b, \\u202e, half a surrogate pair): JSON escapes only the C0
    controls, and the rest would reach a terminal raw, or fail to encode."""
    text = json.dumps(data, ensure_ascii=False, **options)
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_MARKDOWN = re.compile(r"([\\`\[\]|<>])")


def markdown(text: Any) -> str:
    """`text` made safe (see `safe`) and inert in Markdown: no link, image, table cell, code or
    HTML (a rule's text with `<img onerror=...>` stays text; emphasis is harmless and left)."""
    return _MARKDOWN.sub(r"\\\1", safe(text).replace("&", "&amp;"))


def cell(text: Any) -> str:
    """Text for a CSV cell, safe to open in a spreadsheet: control characters made visible, and
    a cell a spreadsheet would run as a formula (=, +, -, @) quoted with ' (as OWASP advises)."""
    shown = safe(text)
    return f"'{shown}" if shown[:1] in ("=", "+", "-", "@", "\t", "\r") else shown


def line(text: Any) -> str:
    """`text` made safe and kept on one line: newlines and tabs are shown as \\n and \\t (an
    error is one line, whatever the value it quotes)."""
    return safe(text).replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def weight(number: Any) -> str:
    """A weight or score with its sign (+3, -1, +0), as a trace records it. A trace's integers
    may arrive as whole floats (JSON's 3.0 is an integer to its schema): they read the same."""
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    return f"{number:+d}" if isinstance(number, int) else f"{number:+g}"


def value(v: Any) -> str:
    if v is None:
        return "unknown"
    if v is True:
        return "yes"
    if v is False:
        return "no"
    return safe(v)


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return (stream or sys.stderr).isatty() and not os.environ.get("NO_COLOR")


def width() -> int:
    import shutil  # only for text: not for JSON, nor at every start

    return max(40, min(100, shutil.get_terminal_size((80, 24)).columns))


def para(text: str, indent: int = 2) -> str:
    pad = " " * indent
    return textwrap.fill(
        safe(text), width(), initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False
    )


def scores(doc: dict[str, Any]) -> str:
    return ", ".join(f"{safe(k)} {weight(v)}" for k, v in doc["scores"].items())


def field(label: str, text: str, indent: int = 7) -> str:
    """One labelled line of a block, wrapped under its own indent."""
    pad = " " * indent
    return textwrap.fill(
        safe(text),
        width(),
        initial_indent=f"{pad}{label}: ",
        subsequent_indent=pad + "  ",
        break_on_hyphens=False,
    )


def firing(f: dict[str, Any], number: int | None = None) -> list[str]:
    """A fired rule: what it matched, what it added, what it cites and where it stands."""
    head = f"{number if number is not None else f['seq']:>3}. {safe(f['rule'])}: {safe(f['title'])}"
    lines = [textwrap.fill(head, width(), subsequent_indent=" " * 7, break_on_hyphens=False)]
    on = ", ".join(
        f"{safe(m['fact'])} = {value(m['value'])}"
        if m["kind"] != "derived"
        else f"derived {safe(m['fact'])}"
        for m in f["matched"]
    )
    if on:
        lines.append(field("on", on))
    adds = [f"derived {safe(d)}" for d in f["derived"]]
    adds += [f"{safe(k)} {weight(w)}" for k, w in f["score"].items()]
    if f["concluded"]:
        adds.append(f"decision: {safe(f['concluded'])}")
    adds += [f"rules out {safe(o)}" for o in f.get("ruled_out", [])]
    if adds:
        lines.append(field("adds", ", ".join(adds)))
    lines.append(field("cites", f'{f["source"]["section"]}: "{f["source"]["quote"]}"'))
    lines.append(f"       at {safe(f['location'])}")
    return lines


def stopped(b: dict[str, Any]) -> str:
    """Why a rule did not fire, from its trace record: the condition, its value, what it saw."""
    if b["index"] < 0:
        return f"stopped: {safe(b['condition'])}"
    seen = ", ".join(f"{safe(k)} was {value(v)}" for k, v in b["seen"].items())
    verdict = "unknown" if b["result"] == "unknown" else "false"
    return f"stopped by condition {b['index'] + 1}, {safe(b['condition'])}: {verdict}" + (
        f" ({seen})" if seen else ""
    )


def group_changes(changes: Iterable[tuple[str, Any, str]]) -> dict[tuple[str, str], str]:
    """(fact, value, recommendation) triples as {(fact, recommendation): "v1 or v2"}, in order."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for fact, v, recommendation in changes:
        grouped.setdefault((fact, recommendation), []).append(value(v))
    return {key: " or ".join(values) for key, values in grouped.items()}


def deciders(doc: dict[str, Any]) -> list[str]:
    grouped = group_changes((c["fact"], c["value"], c["recommendation"]) for c in doc["deciders"])
    return [
        f"  {safe(fact)} = {values}  ->  {safe(rec)}" for (fact, rec), values in grouped.items()
    ]


def expectations(doc: dict[str, Any]) -> list[str]:
    """The recommended option's columns of the comparison table."""
    lines = []
    for kind, rows in doc["expect"].items():
        lines.append(f"  {safe(rows.get('column', kind))}")
        shown = {k: v for k, v in rows.items() if k != "column"}
        pad = max((len(k) for k in shown), default=0)
        lines += [
            textwrap.fill(
                f"    {safe(k).ljust(pad)}  {safe(v)}",
                width(),
                subsequent_indent=" " * (pad + 6),
                break_on_hyphens=False,
            )  # fmt: skip
            for k, v in shown.items()
        ]
    return lines


def consultation(doc: dict[str, Any], labels: dict[str, str]) -> str:
    """The text a person reads after a consultation."""
    rec = doc["recommendation"]
    out = [
        para(f"Recommendation: {labels.get(rec, 'not enough to decide yet')} ({rec})", 0),
        "",
        para(doc["summary"]),
        "",
    ]
    out.append("Rules fired, in order:" if doc["fired"] else "No rule fired.")
    for f in doc["fired"]:
        out += firing(f)
    out += ["", para(f"Weighed evidence: {scores(doc)}", 0)]
    if doc["deciders"]:
        out += ["", "Answers that would decide:"] + deciders(doc)
    if doc["expect"]:
        out += ["", "What to expect (the article's comparison table):"] + expectations(doc)
    return "\n".join(out) + "\n"


def table(rows: Iterable[tuple[str, ...]]) -> str:
    rows = [tuple(safe(c) for c in r) for r in rows]
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return (
        "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows)
        + "\n"
    )
