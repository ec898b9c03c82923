"""One named regression test for each class of failure the fuzzing campaign found (issue 13's
table): each input once gave a traceback, a hang, a stray byte or a half-written file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import KB_ARGS, PROFILES, invoke

from mm_advisor import files
from mm_advisor.audit import trace
from mm_advisor.cohorts import batch
from mm_advisor.knowledge import synthetic

STEPPING = str(PROFILES / "stepping-stone.yaml")


def laughs(levels: int) -> str:
    """The "billion laughs": each level nine aliases of the one before."""
    lines = ['l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def one_error(result, message: str) -> None:
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


# --- YAML aliases ("billion laughs") -------------------------------------------------------


def test_aliases_in_an_answers_file_are_refused_before_they_expand(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(laughs(9))  # expanded, 387 million strings
    result = invoke("consult", "--answers", str(path), "--no-input")
    one_error(result, f"{path}:1:5: anchors (&name) are not allowed: these files hold plain data")


def test_aliases_in_a_rule_file_are_refused_by_lint_and_consult(broken_kb):
    rules, facts = broken_kb(laughs(9))
    args = ["--rules", str(rules), "--facts", str(facts)]
    lint = invoke("rules", "lint", *args)
    assert lint.exit_code == 1
    assert lint.stdout.startswith(
        "rules/bad.yaml:1:5: error: anchors (&name) are not allowed: these files hold plain data"
    )
    consult = invoke("consult", *args, "--no-input")
    assert consult.exit_code == 2 and "anchors (&name) are not allowed" in consult.stderr


def test_aliases_in_a_fact_file_are_refused(kb_copy):
    rules, facts = kb_copy
    (facts / "extra.yaml").write_text(laughs(9))
    result = invoke("consult", "--rules", str(rules), "--facts", str(facts), "--no-input")
    assert result.exit_code == 2
    assert "extra.yaml:1:5: anchors (&name) are not allowed" in result.stderr


# --- answers files and --set ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<<: {budget: low}\n", "1:1: merge keys (<<) are not allowed: write the keys out"),
        ("? [budget]\n: low\n", "1:3: keys must be names, not a list or a mapping"),
        (
            "budget: !!binary aGk=\n",
            "1:9: the tag '!!binary' is not allowed: these files hold plain data",
        ),
        ("budget: !low x\n", "1:9: the tag '!low' is not allowed: these files hold plain data"),
        ("budget: " + "[" * 40 + "]" * 40 + "\n", "1:40: nested more than 32 levels deep"),
        (
            'budget: "\\ud800"\n',
            "1:9: fact 'budget': '\\ud800' is not one of low, medium, high",
        ),
        (
            "budget: [1,\n",
            "2:1: invalid YAML: expected the node content, but found '<stream end>'",
        ),
        (
            "months_available: " + "9" * 4301 + "\n",
            "1:19: a number this long (4301 characters) is not allowed",
        ),
        (
            "months_available: 2026-11-29\n",
            "1:19: a date must be quoted: write '2026-11-29' in quotes",
        ),
        ("1: yes\n", "1:1: keys must be names, not 1"),
    ],
    ids=[
        "merge-key",
        "complex-key",
        "binary",
        "tag",
        "deep",
        "lone-surrogate",
        "two-line-pyyaml-error",
        "4301-digits",
        "date",
        "integer-key",
    ],
)
def test_answers_that_broke_the_reader_are_one_line(tmp_path, text, message):
    path = tmp_path / "a.yaml"
    path.write_text(text)
    one_error(invoke("consult", "--answers", str(path), "--no-input"), f"{path}:{message}")


def test_escape_sequences_in_a_set_value_and_a_key_are_made_visible(tmp_path):
    one_error(
        invoke("consult", "--no-input", "--set", "budget=\x1b]0;pwned\x07"),
        "--set budget=\\x1b]0;pwned\\x07: fact 'budget': '\\x1b]0;pwned\\x07' is not one of "
        "low, medium, high",
    )
    path = tmp_path / "a.yaml"
    path.write_text('"\\e[31mkey": yes\n')
    one_error(
        invoke("consult", "--answers", str(path), "--no-input"),
        f"{path}:1:1: unknown fact '\\x1b[31mkey'",
    )


@pytest.mark.parametrize(
    ("separator", "shown"), [("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\x85")]
)
def test_a_unicode_line_separator_stays_on_the_one_line(separator, shown):
    """Found by the long fuzz run: U+2028 in a --set name split the error line in two."""
    one_error(
        invoke("consult", "--no-input", "--set", f"bud{separator}get=low"),
        f"--set bud{shown}get=low: unknown fact 'bud{shown}get' (did you mean 'budget'?)",
    )


def test_a_newline_in_a_key_stays_on_the_one_line():
    """Found by the fuzz suite: the error quoted the key with its newline, on two lines."""
    result = invoke("consult", "--answers", "-", "--no-input", input='{"\\n": null}')
    one_error(result, "<stdin>:1:2: unknown fact '\\n'")


# --- special inputs ------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_before_it_is_read(device):
    one_error(
        invoke("consult", "--answers", device, "--no-input"),
        f"{device}:1:1: not a regular file (a pipe, a device or a socket)",
    )


def test_a_fifo_with_no_writer_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "answers"
    os.mkfifo(fifo)
    one_error(
        invoke("consult", "--answers", str(fifo), "--no-input"),
        f"{fifo}:1:1: not a regular file (a pipe, a device or a socket)",
    )


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mm_advisor", *args],
        capture_output=True,
        check=False,
        timeout=60,
        **kwargs,
    )


@pytest.mark.slow
def test_closed_stdin_closed_stdout_and_a_full_disk_are_one_line():
    closed_stdin = run_cli(
        "consult", "--answers", "-", "--no-input", preexec_fn=lambda: os.close(0)
    )
    assert closed_stdin.returncode == 2
    assert closed_stdin.stderr.decode() == "Error: <stdin>: standard input is closed\n"
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "mm_advisor", "consult", "--no-input", "--set", "budget=low"],
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.decode().splitlines()[-1] == (
        "Error: cannot write the output: No space left on device"
    )
    closed = subprocess.run(
        [sys.executable, "-m", "mm_advisor", "consult", "--no-input", "--set", "budget=low"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=False,
        timeout=60,
        preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 2
    assert closed.stderr.decode().splitlines()[-1] == (
        "Error: standard output is closed: there is nowhere to write the result"
    )


# --- traces --------------------------------------------------------------------------------


@pytest.fixture
def sealed(tmp_path) -> dict:
    result = invoke("consult", *KB_ARGS, "--answers", STEPPING, "--format", "json")
    return json.loads(result.stdout)


def test_a_trace_version_that_is_a_list_is_not_a_trace(sealed):
    """Found by the fuzz suite: computing the digest of such a document raised TypeError."""
    sealed["trace_version"] = [2]
    assert trace.content_digest(sealed).startswith("sha256:")
    result = invoke("audit", "verify", "-", input=json.dumps(sealed))
    one_error(result, "<stdin>: not an mm-advisor trace (trace_version 1 or 2 expected)")


def test_a_re_sealed_trace_with_nonsense_in_it_is_refused(sealed):
    sealed["scores"]["micromasters"] = "lots"
    sealed["content_digest"] = trace.content_digest(sealed)
    result = invoke("audit", "verify", "-", input=json.dumps(sealed))
    assert (result.exit_code, result.stdout) == (
        1,
        "<stdin>: not a valid trace: $.scores.micromasters: expected integer, found text\n"
        "verdict: TAMPERED: it was changed after it was written\n",
    )


def test_a_missing_field_is_one_line_for_explain(sealed):
    del sealed["fired"][0]["rule"]
    sealed["content_digest"] = trace.content_digest(sealed)
    result = invoke("explain", "-", input=json.dumps(sealed))
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: <stdin>: not a valid trace: $.fired[0]: missing 'rule'\n",
    )


def test_a_deeply_nested_trace_is_one_line():
    text = '{"trace_version": 2, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    result = invoke("audit", "verify", "-", input=text)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


# --- kills, interrupts and odd paths -------------------------------------------------------


@pytest.mark.slow
def test_what_a_killed_run_left_is_swept_on_the_next_write(tmp_path):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = tmp_path / f"{files.TEMP_PREFIX}{gone.stdout.strip()}-x1.tmp"  # its writer has exited
    live = tmp_path / f"{files.TEMP_PREFIX}{os.getpid()}-x2.tmp"  # a write still going on
    other = tmp_path / ".someone-else-123-x3.tmp"
    fresh = tmp_path / f"{files.TEMP_PREFIX}{gone.stdout.strip()}-x4.tmp"  # maybe still written
    for path in (dead, live, other, fresh):
        path.write_text("{")
    hour_ago = time.time() - 3600
    for path in (dead, live, other):
        os.utime(path, (hour_ago, hour_ago))
    out = tmp_path / "trace.json"
    result = invoke("consult", *KB_ARGS, "--answers", STEPPING, "--trace-out", str(out))
    assert result.exit_code == 0
    kept = [live.name, other.name, fresh.name, out.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_a_target_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for option in ("--trace-out", "--report", "--save-answers"):
        result = invoke("consult", *KB_ARGS, "--answers", STEPPING, option, str(fifo))
        one_error(result, f"{fifo}: cannot write: it is not a regular file")
        assert fifo.is_fifo()


def test_an_unwritable_log_means_nothing_else_is_written(tmp_path):
    log = tmp_path / "log.db"
    log.write_text("these are somebody's notes, not a consultation log")
    out = tmp_path / "trace.json"
    result = invoke(
        "consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log), "--trace-out", str(out)
    )
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
    assert not out.exists()


# Runs `mm-advisor ARGS` and presses Ctrl-C at POINT, as a terminal does (SIGINT to the whole
# process group), from inside the process: the same moment on every run, however busy the
# machine. Points: while the program is still importing, once the rules are loaded, once the
# engine has run, once a batch's workers exist, and once it has its first results back.
CTRL_C_AT = r"""
import importlib.abc, os, signal, sys

point = sys.argv.pop(1)
signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal: a job started
# in the background (as CI may start the tests) inherits SIGINT ignored


def ctrl_c():
    os.killpg(os.getpgrp(), signal.SIGINT)


def after(owner, name):
    original = getattr(owner, name)

    def call(*args, **kwargs):
        result = original(*args, **kwargs)
        ctrl_c()
        return result

    setattr(owner, name, call)


if point == "importing":
    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "mm_advisor.cli":
                ctrl_c()

    sys.meta_path.insert(0, Finder())
elif point == "loading":
    from mm_advisor.knowledge import rulebase
    after(rulebase, "check")
elif point == "running":
    from mm_advisor.reasoning.engine import CompiledRuleBase
    after(CompiledRuleBase, "run")
elif point == "starting":  # the workers exist, but none has started yet
    from mm_advisor import parallel

    gate, opened = os.pipe()
    serve, spawn = parallel._serve, parallel._spawn

    def gated_serve(*args):
        os.read(gate, 1)  # each worker waits here until Ctrl-C has been pressed
        serve(*args)

    def spawn_then_ctrl_c(workers, jobs, *args):
        spawn(workers, jobs, *args)
        ctrl_c()
        os.write(opened, b"x" * jobs)

    parallel._serve, parallel._spawn = gated_serve, spawn_then_ctrl_c
else:
    from mm_advisor import parallel
    ordered_map = parallel.ordered_map

    def first_results_then_ctrl_c(*args, **kwargs):
        for i, results in enumerate(ordered_map(*args, **kwargs)):
            yield results
            if i == 0:
                ctrl_c()

    parallel.ordered_map = first_results_then_ctrl_c

from mm_advisor.__main__ import main
sys.argv[0] = "mm-advisor"
main()
"""


def ctrl_c_at(point: str, *args: str) -> tuple[int, bytes, bytes]:
    process = subprocess.run(
        [sys.executable, "-c", CTRL_C_AT, point, *args],
        capture_output=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        timeout=120,
    )
    return process.returncode, process.stdout, process.stderr


@pytest.mark.slow
@pytest.mark.parametrize("point", ["importing", "loading", "running"])
def test_ctrl_c_during_a_consultation_without_questions_is_one_line(tmp_path, point):
    out = tmp_path / "trace.json"
    args = ["consult", *KB_ARGS, "--no-input", "--set", "budget=low", "--trace-out", str(out)]
    assert ctrl_c_at(point, *args) == (130, b"", b"\nInterrupted.\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["consult", "--format", "xml"],
            "Invalid value for '--format': 'xml' is not one of 'text', 'json'. "
            "(see 'cli consult --help')",
        ),
        (["consul"], "No such command 'consul'. Did you mean 'consult'? (see 'cli --help')"),
        (
            ["consult", "--nope"],
            "No such option '--nope'. Did you mean '--no-input'? (see 'cli consult --help')",
        ),
    ],
)
def test_a_usage_mistake_is_one_line_too(args, message):
    """click's usage errors took four lines (usage, hint, blank, error)."""
    one_error(invoke(*args), message)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["starting", "batch"])
def test_ctrl_c_on_a_terminal_stops_a_batch_on_every_core(kb, tmp_path, point):
    """Regression: Ctrl-C reaches the whole process group; the workers died of it and the
    parent waited for their chunks for ever. Now the workers leave it to the parent, even when
    it comes before they have started (under load, the suite once hung there)."""
    cohort = tmp_path / "cohort.jsonl"
    profiles = synthetic.random_profiles(kb.schema, 12 * batch.CHUNK, 1)
    cohort.write_text("".join(json.dumps(p) + "\n" for p in profiles))
    out = tmp_path / "out.jsonl"
    args = ["batch", str(cohort), *KB_ARGS, "--jobs", "2", "--out", str(out)]
    code, stdout, stderr = ctrl_c_at(point, *args)
    said = b"Knowledge base: . (mm-advisor.toml found, with --rules/--facts)\n\nInterrupted.\n"
    assert (code, stdout, stderr) == (130, b"", said)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.jsonl"]


def test_an_unquoted_date_in_a_fact_file_is_refused_where_it_stands(kb_copy):
    """Regression: it passed lint, then consult failed with "date is not JSON serializable"."""
    rules, facts = kb_copy
    background = facts / "background.yaml"
    text = background.read_text()
    background.write_text(
        text.replace("duration_min_months: 18", "duration_min_months: 2026-11-29", 1)
    )
    line = (
        text.splitlines().index(
            next(x for x in text.splitlines() if "duration_min_months: 18" in x)
        )
        + 1
    )
    args = ["--rules", str(rules), "--facts", str(facts)]
    lint = invoke("rules", "lint", *args)
    assert lint.exit_code == 1
    assert (
        f"background.yaml:{line}:26: error: a date must be quoted: write '2026-11-29' in quotes"
        in lint.stdout
    )
    assert invoke("consult", *args, "--no-input").exit_code == 2


def test_conditions_nested_too_deeply_are_refused_not_recursed(broken_kb):
    """Regression: RecursionError in lint's redundancy check on deep all/any/not."""
    cond = "{fact: budget, is: low}"
    for i in range(40):
        cond = f"{{not: {cond}}}" if i % 3 == 0 else f"{{{'all' if i % 2 else 'any'}: [{cond}]}}"
    text = (
        "rules:\n  - id: deep\n    title: Deep\n    source:\n      section: Cost Reduction\n"
        "      quote: cost\n    when:\n      - "
        + cond
        + "\n    then:\n      score: {micromasters: 1}\n"
    )
    rules, facts = broken_kb(text)
    result = invoke("rules", "lint", "--rules", str(rules), "--facts", str(facts))
    assert result.exit_code == 1
    assert (
        "rules/bad.yaml:8:" in result.stdout and "nested more than 32 levels deep" in result.stdout
    )


@pytest.mark.parametrize("escape", ["\\U99999999", "\\U0099999999999999999999999999"])
@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_a_unicode_escape_out_of_range_is_one_line(tmp_path, monkeypatch, escape, libyaml):
    """Found by the long fuzz run: libyaml refused it, then PyYAML's own parser, asked for its
    wording, raised ValueError or OverflowError."""
    from mm_advisor.knowledge import yamlsrc

    if not libyaml:
        monkeypatch.setattr(yamlsrc, "_LOADER", __import__("yaml").SafeLoader)
    path = tmp_path / "a.yaml"
    path.write_text(f'budget: "{escape}"\n')
    result = invoke("consult", "--answers", str(path), "--no-input")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: {path}:")
    assert "invalid YAML" in result.stderr


def test_a_control_character_in_a_trace_is_shown_in_the_html_report(sealed):
    """Found by the long fuzz run: the HTML report escaped markup but let \\x1f through."""
    sealed["expect"] = {sealed["recommendation"]: {"\x1f\x1b[31m": None}}
    result = invoke("explain", "-", "--format", "html", "--force", input=json.dumps(sealed))
    assert result.exit_code == 0
    assert "\x1f" not in result.stdout and "\x1b" not in result.stdout


def test_a_whole_float_score_in_a_trace_reads_as_the_number_it_is(sealed):
    """Found by the long fuzz run: JSON's 0.0 is an integer to the trace's schema, and the
    explanation's "+d" formatting then raised ValueError."""
    sealed["scores"] = {option: float(score) for option, score in sealed["scores"].items()}
    for fired in sealed["fired"]:
        fired["score"] = {option: float(w) for option, w in fired["score"].items()}
    for args in (["explain", "-", "--force"], ["explain", "-", "--format", "markdown", "--force"]):
        result = invoke(*args, input=json.dumps(sealed))
        assert result.exit_code == 0, result.stderr
        assert "+4" in result.stdout and "+4.0" not in result.stdout
