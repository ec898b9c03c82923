"""Our own fuzz suite: hostile answers documents, `--set` values, rule and fact files and traces,
driven through the CLI in process. Every case must keep the promise the README makes:

- the exit code is one of the documented ones, and no exception escapes (no traceback);
- a mistake (exit 2) is one line on stderr starting "Error: " (`rules test` gives one such line
  for each problem in the scenario files; `explain --force` warns first that it reads a trace
  that failed its integrity check);
- nothing from the input reaches the terminal raw: no control character, lone surrogate or
  bidirectional override in stdout or stderr, and both are valid UTF-8;
- a JSON result is JSON, and a re-sealed trace that breaks its schema is never accepted.

CI runs the "ci" profile: derandomised (the same cases on every run), 10,000 cases in all.
`MM_ADVISOR_FUZZ=long pytest tests/test_fuzz.py` runs twenty times as many, with fresh seeds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import FACTS, PROFILES, REPO, RULES, cases, invoke, json_paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mm_advisor.audit import trace
from mm_advisor.knowledge import rulebase


def fuzz(n: int) -> settings:
    """`n` cases of the "ci" profile (see conftest), every health check off: the cases are slow
    and their inputs deliberately odd."""
    return cases(n, suppress_health_check=list(HealthCheck))


KB = rulebase.load(rulebase.Layout.of(RULES, FACTS))
FACT_NAMES = sorted(KB.schema.facts)
TRACE_SCHEMA = json.loads((REPO / "src/mm_advisor/schemas/trace.schema.json").read_text())
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)


def keeps_the_promise(
    result, exits: set[int], json_out: bool = False, allow_many: bool = False
) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"an exception escaped: {result.exception!r}") from result.exception
    assert result.exit_code in exits, (result.exit_code, result.stderr[-300:])
    stdout = result.stdout_bytes.decode("utf-8")  # strict: no lone surrogate was written
    stderr = result.stderr_bytes.decode("utf-8")
    for stream in (stdout, stderr):
        assert not UNSAFE.search(stream), UNSAFE.search(stream)
    assert "Traceback" not in stderr
    if result.exit_code == 2:
        lines = stderr.splitlines()
        assert lines and lines[-1].startswith("Error: "), stderr[:500]
        assert len(lines) == 1 or allow_many, stderr[:500]
    if json_out and result.exit_code == 0:
        json.loads(stdout)


# Fragments a hostile file holds: each once broke the reader or reached the terminal.
NASTY = [
    "&a [1, 2]",
    "*a",
    "<<: {x: 1}",
    "? [a, b]\n: c",
    "!!binary aGVsbG8=",
    "!tag x",
    "!!python/object:os.system x",
    "2026-11-29",
    "2026-11-29T10:00:00Z",
    "9" * 4400,
    "-" + "1" * 30,
    "1e999",
    ".nan",
    '"\\x1b]0;pwned\\x07"',
    '"\\u202e evil"',
    '"\\ud800"',
    "\x1b[31mred\x1b[0m",
    "\x00",
    "\x85",
    "\ufeff",
    "[" * 200 + "]" * 200,
    "{a: " * 60 + "1" + "}" * 60,
    "- " * 80 + "x",
    "%YAML 1.1\n---",
    "--- a\n--- b",
    "...",
    "'unterminated",
    '"unterminated',
    "\t",
    "key: [1,\n",
    "@",
    "`",
    "|\n  text",
    ">-\n  folded",
    "null",
    "~",
    "yes",
    "No",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["yes", "no", "unknown", "low", "medium", "high", "12", "not sure"]),
)


def nested(leaves, key_size: int):
    """A leaf, or lists and mappings of them two deep. (Deeper nesting is NASTY's job; drawing
    it with `st.recursive` cost more than running the case.)"""
    inner = st.one_of(leaves, st.lists(leaves, max_size=3))
    return st.one_of(
        leaves,
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=key_size), inner, max_size=4),
    )


values = nested(scalars, 8)
keys = st.one_of(st.sampled_from(FACT_NAMES), st.text(max_size=20))


def _yaml_text(data, style: int) -> str:
    if style == 0:
        return json.dumps(data, ensure_ascii=style == 1, allow_nan=True)
    return yaml.safe_dump(data, default_flow_style=style == 2, allow_unicode=True)


@st.composite
def answers_documents(draw) -> str:
    """A mapping of (mostly) fact names to values, as YAML or JSON, maybe with a nasty splice."""
    data = draw(st.dictionaries(keys, values, max_size=6))
    text = _yaml_text(data, draw(st.integers(0, 3)))
    for _ in range(draw(st.integers(0, 2))):
        fragment = draw(st.sampled_from(NASTY))
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "\n", "x: ", "- "])) + fragment + text[at:]
    return text


@pytest.mark.slow
@fuzz(2600)
@given(answers_documents(), st.sampled_from(["text", "json"]))
def test_any_answers_document_keeps_the_promise(document, fmt):
    result = invoke("consult", "--answers", "-", "--no-input", "--format", fmt, input=document)
    keeps_the_promise(result, {0, 2}, json_out=fmt == "json")


set_values = st.one_of(
    st.text(max_size=40),  # every category: controls, surrogates (argv's surrogateescape), bidi
    st.sampled_from(NASTY),
    st.sampled_from(["yes", "no", "unknown", "low", "high", "0", "-1", "999999999999", "1.5"]),
)


@pytest.mark.slow
@fuzz(2800)
@given(st.lists(st.tuples(keys, set_values, st.sampled_from(["=", ""])), min_size=1, max_size=4))
def test_any_set_values_keep_the_promise(pairs):
    args = [arg for name, value, eq in pairs for arg in ("--set", f"{name}{eq}{value}")]
    result = invoke("consult", "--no-input", "--format", "json", *args)
    keeps_the_promise(result, {0, 2}, json_out=True)


replies = st.lists(
    st.one_of(
        st.sampled_from(["yes", "no", "", "back", "why", "?", "help", "skip", "not sure", "12"]),
        st.sampled_from(["0", "-1", "99", "1e9", "quit", "1", "2", "abc", "\x1b[31m"]),
        st.text(max_size=12).filter(lambda t: "\n" not in t and "\r" not in t),
        st.sampled_from(NASTY).filter(lambda t: "\n" not in t),
    ),
    max_size=40,
)


@pytest.mark.slow
@fuzz(400)
@given(replies, st.booleans())
def test_any_replies_to_the_interview_keep_the_promise(lines, ask_all):
    """Whatever a person types at the questions and in the review: a result, or a clean stop."""
    extra = ["--ask-all"] if ask_all else []
    result = invoke("consult", *extra, input="\n".join(lines) + "\n")
    # The test runner echoes each reply after its prompt, as a terminal would show what was
    # typed; that echo is not ours, so it is taken out before the output is judged.
    for stream in ("stdout_bytes", "stderr_bytes"):
        text = getattr(result, stream).decode("utf-8", "surrogateescape")
        for line in lines:
            text = text.replace(f": {line}\n", ": \n")
        setattr(result, stream, text.encode("utf-8", "surrogateescape"))
    keeps_the_promise(result, {0, 130})


# --- rule and fact files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch_kb(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-kb") / "kb"
    assert invoke("init", str(root)).exit_code == 0
    return root


KB_FILES = sorted(str(p.relative_to(REPO)) for p in [*RULES.glob("*.yaml"), *FACTS.glob("*.yaml")])
ORIGINALS = {name: (REPO / name).read_text() for name in KB_FILES}


@st.composite
def mutations(draw, text: str) -> str:
    """A file after one to three of the slips or attacks an editor or an intruder makes."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        lines = lines or [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 6))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            lines[i] = draw(st.sampled_from(["  ", ""])) + lines[i][draw(st.integers(0, 2)) :]
        elif op == 4:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.sampled_from(NASTY)) + lines[i][at:]
        elif op == 5:
            words = re.findall(r"[A-Za-z_]+", text)
            if words and re.search(r"[A-Za-z_]+", lines[i]):
                lines[i] = re.sub(r"[A-Za-z_]+", draw(st.sampled_from(words)), lines[i], count=1)
        else:
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
    return "\n".join(lines)


@st.composite
def mutated_files(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(KB_FILES))
    return name, draw(mutations(ORIGINALS[name]))


@pytest.mark.slow
@fuzz(1200)
@given(mutated_files(), st.sampled_from(["lint", "consult", "test"]))
def test_any_edit_of_a_rule_or_fact_file_keeps_the_promise(scratch_kb, edit, command):
    name, text = edit
    target = scratch_kb / name
    target.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        if command == "lint":
            result = invoke("rules", "lint", "--kb", str(scratch_kb), "--format", "json")
            keeps_the_promise(result, {0, 1, 2})
        elif command == "consult":
            args = ["--set", "wants_complete_degree=yes", "--set", "budget=low"]
            result = invoke("consult", "--kb", str(scratch_kb), "--no-input", *args)
            keeps_the_promise(result, {0, 2})
        else:
            result = invoke("rules", "test", "--kb", str(scratch_kb))
            keeps_the_promise(result, {0, 1, 2}, allow_many=True)
    finally:
        target.write_text(ORIGINALS[name])


# --- traces --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traces() -> list[dict]:
    found = []
    for path in sorted(PROFILES.glob("*.yaml"))[:4]:
        result = invoke("consult", "--answers", str(path), "--no-input", "--format", "json")
        found.append(json.loads(result.stdout))
    return found


json_values = nested(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(NASTY),
    6,
)


@st.composite
def tampered_traces(draw, base: list[dict]) -> tuple[str, bool]:
    """A trace with fields deleted or replaced by nonsense, re-sealed or not, or its text cut."""
    doc = json.loads(json.dumps(draw(st.sampled_from(base))))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in json_paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    resealed = draw(st.booleans())
    if resealed:
        doc["content_digest"] = trace.content_digest(doc)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:
        text, resealed = text[: draw(st.integers(0, len(text)))], False
    return text, resealed


@pytest.mark.slow
@fuzz(3000)
@given(st.data(), st.sampled_from(["verify", "explain", "explain-json", "explain-html"]))
def test_any_tampered_trace_keeps_the_promise(traces, data, command):
    text, resealed = data.draw(tampered_traces(traces))
    args = {
        "verify": ["audit", "verify", "-"],
        "explain": ["explain", "-"],
        "explain-json": ["explain", "-", "--format", "json"],
        "explain-html": ["explain", "-", "--format", "html", "--force"],
    }[command]
    result = invoke(*args, input=text)
    forced = command == "explain-html"
    keeps_the_promise(result, {0, 1, 2, 3, 4}, command == "explain-json", allow_many=forced)
    if resealed and command == "verify":
        doc = json.loads(text)
        if not jsonschema.Draft202012Validator(TRACE_SCHEMA).is_valid(doc):
            # refused as tampered or invalid (1), or as no trace at all (2): never read as one
            assert result.exit_code in (1, 2), "a re-sealed trace that breaks its schema passed"


# --- cohorts -------------------------------------------------------------------------------

cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from(NASTY),
    st.sampled_from(["yes", "no", "", "low", "high", "12", "-1", "=1+1", "@SUM(A1)", "\ufeff"]),
)
jsonl_rows = st.one_of(
    st.dictionaries(st.sampled_from([*FACT_NAMES, "id", "x"]), json_values, max_size=6).map(
        json.dumps
    ),
    st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
    st.sampled_from(["[]", "null", "{", '{"id": ' + "[" * 600 + "]" * 600 + "}"]),
)
csv_tables = st.tuples(
    st.lists(st.sampled_from([*FACT_NAMES, "id", "id", "", "x"]), min_size=1, max_size=5),
    st.lists(st.lists(cells, max_size=6), max_size=6),
)


@pytest.mark.slow
@fuzz(1500)
@given(st.one_of(st.lists(jsonl_rows, max_size=6).map(lambda r: ("jsonl", r)),
                 csv_tables.map(lambda t: ("csv", t))))  # fmt: skip
def test_any_cohort_keeps_the_promise(tmp_path_factory, cohort):
    """Every row of any cohort is a result or an error row, in order; the results, as JSON
    Lines and as CSV, carry nothing raw; or the whole input is refused in one line."""
    import csv
    import io

    from mm_advisor.cohorts import batch, rows
    from mm_advisor.errors import AdvisorError

    kind, content = cohort
    folder = tmp_path_factory.mktemp("cohort")
    path = folder / f"c.{kind}"
    if kind == "jsonl":
        path.write_text("\n".join(content) + "\n", encoding="utf-8", errors="surrogatepass")
    else:
        header, body = content
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *body])
        path.write_text(buffer.getvalue(), encoding="utf-8", errors="surrogatepass")
    try:
        read, _, stream = rows.read(str(path))
        results = list(batch.run(read, KB.layout, 1))
        stream.close()
    except AdvisorError as exc:
        assert "\n" not in str(exc).strip() and str(exc).startswith(str(path))
        return
    numbers = [int(r["error"].split(":")[0][4:]) for r in results if "error" in r]
    assert all(("recommendation" in r) != ("error" in r) for r in results)
    assert numbers == sorted(numbers)
    for fmt in (rows.JSONL, rows.CSV):
        out = io.StringIO()
        writer = rows.Writer(out, fmt)
        for record in results:
            writer.write(record)
        assert not UNSAFE.search(out.getvalue().replace("\n", "").replace("\r", "")), fmt
        if fmt == rows.CSV:
            for line in list(csv.reader(io.StringIO(out.getvalue())))[1:]:
                assert line[0][:1] not in ("=", "+", "-", "@"), line
