"""Outputs that would destroy data are refused (the consultation log, a command's own input);
a comparison that cannot compare anything is an error, not a pass; hostile rows are rows, and
nothing of them reaches an output raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import KB_ARGS, PROFILES, invoke, retitle_cost_rule

STEPPING = str(PROFILES / "stepping-stone.yaml")


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log.db"
    result = invoke("consult", *KB_ARGS, "--answers", STEPPING, "--log", str(path))
    assert result.exit_code == 0, result.stderr
    return path


@pytest.mark.parametrize("option", ["--trace-out", "--report", "--save-answers"])
def test_a_consultation_never_writes_over_the_log(log, option):
    """Regression: --trace-out log.db replaced the whole SQLite log with one JSON file."""
    before = log.read_bytes()
    result = invoke("consult", *KB_ARGS, "--answers", STEPPING, option, str(log))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {log}: will not write there: it is a SQLite database (a consultation log?), "
        "which the output would replace; choose another file\n",
    )
    assert log.read_bytes() == before


def test_batch_never_writes_over_its_cohort_or_the_log(tmp_path, log):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,budget\na,low\n")
    same = invoke("batch", *KB_ARGS, str(cohort), "--out", str(cohort))
    assert (same.exit_code, same.stderr) == (
        2,
        f"Error: {cohort}: will not write the output over a file the command reads (its input, "
        "or a file of the knowledge base); choose another file\n",
    )
    assert cohort.read_text() == "id,budget\na,low\n"
    into_log = invoke("batch", *KB_ARGS, str(cohort), "--out", str(log))
    assert into_log.exit_code == 2 and "it is a SQLite database" in into_log.stderr
    assert invoke("audit", "list", "--log", str(log), "--format", "json").exit_code == 0


def test_impact_with_an_empty_base_is_an_error_not_a_pass(tmp_path):
    """Regression: --base "" (an unset CI variable) compared the knowledge base with itself,
    and --fail-on-change passed whatever the change."""
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,budget\na,low\n")
    for base in ("", "  "):
        result = invoke("impact", *KB_ARGS, "--base", base, "--cohort", str(cohort))
        assert (result.exit_code, result.stderr) == (
            2,
            "Error: --base is empty: give a git revision, or another knowledge base's folder\n",
        )
    # Fixed bug (found by the fuzz suite): a NUL in --base reached git: ValueError traceback.
    for base in ("\x00", "HEAD\x1b[2J"):
        result = invoke("impact", *KB_ARGS, "--base", base, "--cohort", str(cohort))
        shown = base.replace("\x00", "\\x00").replace("\x1b", "\\x1b")
        assert (result.exit_code, result.stderr) == (
            2, f"Error: '{shown}' is not a git revision\n"
        )  # fmt: skip


HOSTILE = (
    '{"id": "a", "budget": "low"}\n'
    '{"id": "deep", "budget": ' + "[" * 500 + "]" * 500 + "}\n"
    '{"id": "\\ud800", "budget": "\\ud800"}\n'
    '{"id": "=HYPERLINK(\\"http://x\\")", "budget": "low"}\n'
    '{"id": "x\\u009by\\u202e\\u001b", "budget": "low"}\n'
)


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_hostile_rows_are_rows_and_nothing_reaches_an_output_raw(tmp_path, jobs):
    """Regression: a row nested 500 deep sank a batch on several cores (RecursionError); half
    a surrogate pair crashed the output; ESC, C1 controls and U+202E came out raw; an id that
    a spreadsheet runs as a formula went into CSV as one."""
    cohort = tmp_path / "cohort.jsonl"
    cohort.write_text(HOSTILE)
    out = tmp_path / "out.jsonl"
    result = invoke("batch", *KB_ARGS, str(cohort), "--jobs", jobs, "--out", str(out))
    assert result.exit_code == 1
    text = out.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(r["id"], r.get("error")) for r in lines] == [
        ("a", None),
        ("deep", "row 2: fact 'budget': expected a single value, not a list"),
        ("\ud800", "row 3: fact 'budget': '\ud800' is not one of low, medium, high"),
        ('=HYPERLINK("http://x")', None),
        ("x\x9by\u202e\x1b", None),
    ]
    assert "\\ud800" in text and "x\\u009by\\u202e\\u001b" in text
    assert not any(c in text for c in "\x1b\x9b\u202e")
    table = tmp_path / "out.csv"
    invoke("batch", *KB_ARGS, str(cohort), "--jobs", jobs, "--out", str(table))
    ids = [line.split(",")[0] for line in table.read_text().splitlines()[1:]]
    assert ids == ["a", "deep", "\\ud800", '"\'=HYPERLINK(""http://x"")"', "x\\x9by\\u202e\\x1b"]


def test_paths_with_control_characters_are_never_printed_raw(tmp_path, monkeypatch):
    """Regression: the "Knowledge base" line, keys generate, audit retention and "Logged as"
    printed paths raw: a folder named with ESC sequences could rewrite the terminal."""
    odd = tmp_path / "a\x1b[2Jb"
    odd.mkdir()
    keys = invoke("keys", "generate", str(odd / "k"))
    assert keys.exit_code == 0 and "\x1b" not in keys.stdout and "a\\x1b[2Jb" in keys.stdout
    log = odd / "log.db"
    made = invoke("consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log))
    assert made.exit_code == 0 and "\x1b" not in made.stderr and "Logged as" in made.stderr
    kept = invoke("audit", "retention", "--log", str(log), "30")
    assert kept.exit_code == 0 and "\x1b" not in kept.stdout
    assert invoke("init", str(odd / "kb")).exit_code == 0
    monkeypatch.chdir(tmp_path)
    shown = invoke("kb", "--kb", str(odd / "kb"), kb_line=True)
    assert shown.stdout.splitlines()[0] == "Knowledge base: a\\x1b[2Jb/kb (--kb)"


def test_rule_text_never_reaches_the_terminal_raw(kb_copy):
    """Regression: U+009B and U+202E in a rule's title came out raw in `rules show` and in
    every --format json to a terminal."""
    rules, facts = kb_copy
    retitle_cost_rule(rules, '"Cost \\u009b2J and \\u202e reversed"')
    args = ("--rules", str(rules), "--facts", str(facts))
    text = invoke("rules", "show", *args, "cost-sensitive-by-goal").stdout
    assert text.splitlines()[0] == "cost-sensitive-by-goal: Cost \\x9b2J and \\u202e reversed"
    data = invoke("rules", "show", *args, "cost-sensitive-by-goal", "--format", "json").stdout
    assert "\x9b" not in data and "\u202e" not in data and "Cost \\u009b2J" in data


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (
            ("consult", "--no-input", "--set", "budget=low", "--trace-out"),
            "rules/5-comparison.yaml",
        ),
        (("consult", "--no-input", "--set", "budget=low", "--report"), "mm-advisor.toml"),
        (("consult", "--no-input", "--save-answers"), "facts/questions.yaml"),
        (("sample", "3", "--out"), "sources/sources.yaml"),
    ],
)
def test_no_output_replaces_a_file_of_the_knowledge_base(tmp_path, monkeypatch, args, target):
    """Regression (found trying the walk-through): `consult --trace-out rules/x.yaml` replaced
    a rule file with a trace, exit 0; every later command then failed on the knowledge base."""
    assert invoke("init", str(tmp_path / "kb")).exit_code == 0
    monkeypatch.chdir(tmp_path / "kb")
    before = Path(target).read_bytes()
    result = invoke(*args, target)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {target}: will not write the output over a file the command reads (its input, "
        "or a file of the knowledge base); choose another file\n",
    )
    assert Path(target).read_bytes() == before
