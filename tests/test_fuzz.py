"""Our own fuzz suite: hostile answers documents, `--set` values, rule and fact files, traces,
interview replies, cohorts, key files, knowledge-base markers and trees, the log's settings and
`impact --base`, driven through the CLI in process. Every case must keep the promise the README makes:

- the exit code is one of the documented ones, and no exception escapes (no traceback);
- a mistake (exit 2) is one line on stderr starting "Error: " (`rules test` gives one such line
  for each problem in the scenario files; `explain --force` warns first that it reads a trace
  that failed its integrity check);
- nothing from the input reaches the terminal raw: no control character, lone surrogate or
  bidirectional override in stdout or stderr, and both are valid UTF-8;
- a JSON result is JSON, and a re-sealed trace that breaks its schema is never accepted.

CI runs the "ci" profile: derandomised (the same cases on every run), 20,000 cases in all.
`MM_ADVISOR_FUZZ=long pytest tests/test_fuzz.py` runs twenty times as many, with fresh seeds.
"""

from __future__ import annotations

import io
import json
import os
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


_PATHS: dict[int, list[tuple]] = {}  # the paths inside each base trace, found once


@st.composite
def tampered_traces(draw, base: list[dict]) -> tuple[str, bool]:
    """A trace with fields deleted or replaced by nonsense, re-sealed or not, or its text cut."""
    original = draw(st.sampled_from(base))
    paths = _PATHS.get(id(original))
    if paths is None:
        paths = _PATHS[id(original)] = [p for p in json_paths(original) if p]
    doc = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = doc
        try:  # an earlier edit may have removed or replaced what the path leads through
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, (dict, list)):
            continue
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
        results = batch.consult_partition(read, KB.layout)
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
        writer.header()
        for record in results:
            writer.write(record)
        assert not UNSAFE.search(out.getvalue().replace("\n", "").replace("\r", "")), fmt
        if fmt == rows.CSV:
            for line in list(csv.reader(io.StringIO(out.getvalue())))[1:]:
                assert line[0][:1] not in ("=", "+", "-", "@"), line


# --- keys, knowledge-base markers and trees, the log's settings, cohort files, impact -------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory) -> dict[str, Path]:
    """A key pair, a trace signed with it, and a log of three consultations."""
    folder = tmp_path_factory.mktemp("keyed")
    assert invoke("keys", "generate", str(folder / "keys")).exit_code == 0
    signed = folder / "signed.json"
    private = folder / "keys" / "mm-advisor-signing.key"
    log = folder / "log.db"
    for subject in ("S0", "S1", "S2"):
        result = invoke("consult", "--no-input", "--set", "budget=low", "--sign-key",
                        str(private), "--trace-out", str(signed), "--log", str(log),
                        "--subject", subject)  # fmt: skip
        assert result.exit_code == 0, result.stderr
    public = (folder / "keys" / "mm-advisor-signing.pub").read_text()
    return {"folder": folder, "signed": signed, "log": log, "public": public,
            "private": private.read_text()}  # fmt: skip


key_texts = st.one_of(
    st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
    st.sampled_from(NASTY),
    st.sampled_from(["-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", ""]),
)


@pytest.mark.slow
@fuzz(2000)
@given(st.data(), st.sampled_from(["verify", "sign"]), st.booleans())
def test_any_key_file_keeps_the_promise(keyed, data, command, passphrase):
    """A key file of any content: verify with it as the public key, or sign with it."""
    kind = data.draw(st.sampled_from(["public", "private", "junk"]))
    text = keyed[kind] if kind != "junk" else data.draw(key_texts)
    if kind != "junk" and data.draw(st.booleans()):
        text = data.draw(mutations(text))
    key = keyed["folder"] / "fuzzed.key"
    key.write_text(text, encoding="utf-8", errors="surrogatepass")
    env = {}
    if passphrase:  # any value an environment can hold: no NUL, no half surrogate pair
        allowed = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
        env["MM_ADVISOR_KEY_PASSPHRASE"] = data.draw(st.text(allowed, max_size=8))
    if command == "verify":
        args = ["audit", "verify", str(keyed["signed"]), "--public-key", str(key)]
        keeps_the_promise(invoke(*args, env=env), {0, 1, 2, 3, 4, 5})
    else:
        args = ["consult", "--no-input", "--set", "budget=low", "--sign-key", str(key)]
        args += ["--trace-out", str(keyed["folder"] / "out.json")]
        keeps_the_promise(invoke(*args, env=env), {0, 2})


when_values = st.one_of(
    st.text(max_size=24),
    st.sampled_from(NASTY),
    st.sampled_from(["90d", "12h", "2w", "0d", "-1d", "2026-11-01", "2026-13-40", "9" * 30,
                     "2026-11-01T09:30:00", "1e9d", "now", "today", "", " ", "off", "0", "-5"]),
)  # fmt: skip


@pytest.mark.slow
@fuzz(2500)
@given(st.sampled_from(["retention", "list-since", "list-subject", "forget", "show", "export"]),
       when_values)  # fmt: skip
def test_any_log_setting_or_selection_keeps_the_promise(keyed, command, value):
    """The log's settings and selections with any value: set, listed, or refused in one line
    (forget only looks: --dry-run; prune reads its --before as list reads --since)."""
    log = ["--log", str(keyed["log"])]
    args = {
        "retention": ["audit", "retention", value, *log],
        "list-since": ["audit", "list", "--since", value, *log, "--format", "json"],
        "list-subject": ["audit", "list", "--subject", value, *log],
        "forget": ["audit", "forget", "--subject", value, "--dry-run", *log],
        "show": ["audit", "show", value, *log],
        "export": ["audit", "export", value, *log],
    }[command]
    result = invoke(*args)
    keeps_the_promise(result, {0, 2}, json_out=command == "list-since")
    if command == "retention":
        invoke("audit", "retention", "off", *log)


MARKERS: dict[Path, str] = {}
TOML_NASTY = ['rules = "../../etc"', 'rules = "/"', "[trust]", 'keys = ["x.pub"]',
              "[knowledge-base]", 'facts = ""', "ignore = [1, 2]", "[lint]", "x = 1e999",
              '"\\u0000" = 1', "= 1", "[[a]]", 'sources = "sources/../../.."']  # fmt: skip


@pytest.mark.slow
@fuzz(1500)
@given(st.data(), st.sampled_from(["lint", "consult", "discover"]))
def test_any_marker_or_knowledge_base_tree_keeps_the_promise(scratch_kb, data, command):
    """An mm-advisor.toml of any content, a folder that is a link or writable by anyone: the
    knowledge base is read, or refused in one line, whether named (--kb) or discovered."""
    marker = scratch_kb / "mm-advisor.toml"
    original = MARKERS.setdefault(marker, marker.read_text())  # as `init` wrote it
    text = data.draw(mutations(original))
    for _ in range(data.draw(st.integers(0, 2))):
        text += "\n" + data.draw(st.sampled_from(TOML_NASTY + NASTY))
    marker.write_text(text, encoding="utf-8", errors="surrogatepass")
    tree = data.draw(st.sampled_from(["as is", "writable marker", "writable folder", "linked"]))
    sources = scratch_kb / "sources"
    moved = scratch_kb.parent / "elsewhere"
    if tree == "writable marker":
        marker.chmod(0o666)
    elif tree == "writable folder":
        scratch_kb.chmod(0o777)
    elif tree == "linked":
        sources.rename(moved)
        sources.symlink_to(moved)
    cwd = os.getcwd()
    try:
        if command == "lint":
            keeps_the_promise(invoke("rules", "lint", "--kb", str(scratch_kb)), {0, 1, 2})
        elif command == "consult":
            args = ["consult", "--kb", str(scratch_kb), "--no-input", "--set", "budget=low"]
            keeps_the_promise(invoke(*args), {0, 2})
        else:
            os.chdir(scratch_kb / "rules")
            keeps_the_promise(invoke("consult", "--no-input", "--format", "json"), {0, 2}, True)
    finally:
        os.chdir(cwd)
        marker.write_text(original)
        marker.chmod(0o644)
        scratch_kb.chmod(0o755)
        if tree == "linked":
            sources.unlink()
            moved.rename(sources)


def _encoded(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    return text.encode(encoding, "replace" if encoding != "utf-8" else "surrogatepass")


@pytest.mark.slow
@fuzz(1900)
@given(
    st.one_of(csv_tables.map(lambda t: ("csv", t)), st.lists(jsonl_rows, max_size=5).map(
        lambda r: ("jsonl", r))),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]),
    st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["\x00", "\r", "\ufeff", '"', "\n"])),
             max_size=2),
    st.sampled_from(["csv", "jsonl"]),
)  # fmt: skip
def test_any_cohort_file_keeps_the_promise_through_batch(
    tmp_path_factory, cohort, encoding, splices, out_format
):
    """A cohort file as bytes (encodings, BOMs, NULs, stray quotes and line breaks): batch
    gives a result or an error row for each row, or refuses the file in one line."""
    import csv

    kind, content = cohort
    if kind == "csv":
        header, body = content
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(body)
        text = buffer.getvalue()
    else:
        text = "\n".join(content) + "\n"
    for at, what in splices:
        text = text[:at] + what + text[at:]
    path = tmp_path_factory.getbasetemp() / f"cohort.{kind}"
    path.write_bytes(_encoded(text, encoding))
    result = invoke("batch", str(path), "--format", out_format, "--jobs", "1", "--quiet")
    keeps_the_promise(result, {0, 1, 2})  # 1: some rows are error rows
    if result.exit_code != 2 and out_format == "jsonl":
        for line in result.stdout.splitlines():
            assert set(json.loads(line)) >= {"id"}, line


@pytest.mark.slow
@fuzz(600)
@given(
    st.one_of(st.sampled_from(["HEAD", "HEAD~1000", "-rf", " ", "/", str(REPO), "no-such-rev",
                               "HEAD:rules", "..", "@{-1}", "HEAD^{tree}"]),
              st.text(max_size=16), st.sampled_from(NASTY)),
    st.sampled_from(["text", "json", "markdown"]),
    st.booleans(),
)  # fmt: skip
def test_any_impact_base_keeps_the_promise(keyed, base, fmt, fail_on_change):
    """impact with any --base: a report (exit 0, or 1 when told to fail on a change), or one
    line."""
    args = ["impact", "--base", base, "--log", str(keyed["log"]), "--format", fmt]
    result = invoke(*args, *(["--fail-on-change"] if fail_on_change else []))
    keeps_the_promise(result, {0, 1, 2}, json_out=fmt == "json")
