"""The command line, driven through click's CliRunner: output, prompts and every bad input."""

from __future__ import annotations

import importlib
import inspect
import json
import re

import conftest
import pytest
from click.testing import CliRunner
from conftest import KB_ARGS, PROFILES, invoke

from mm_advisor.cli import cli
from mm_advisor.cli.base import COMMANDS
from mm_advisor.errors import AnswerError

for _module in sorted(set(COMMANDS.values())):  # every command registered, to walk them all
    importlib.import_module(f"mm_advisor.cli.{_module}")

CAREER = str(PROFILES / "career-accelerator.yaml")
STEPPING = str(PROFILES / "stepping-stone.yaml")

pytest_plugins = ["pytester"]  # runs a scratch suite in a subprocess


CAREER_PLAIN = """\
We recommend a MicroMasters program.

Why
  - Quick, specialised skills in a high-demand area favour a MicroMasters. The
    article: "If you're looking to accelerate your career track by quickly
    acquiring specialized skills in a high-demand ..."
  - For career acceleration in a high-demand area without a degree requirement,
    the credential itself makes you more marketable. The article: "The
    credential signals to employers that you possess advanced skills in a
    specialized area, making you more ..."
  - A professional certificate serves a MicroMasters goal when no degree is
    required. The article: "Professional certificate"

What to expect (the article's comparison table)
  Duration     Typically 6 months to 1.5 years
  Cost         Significantly lower
  Credit       Can count as a portion (e.g., 25-50%) of a master's
  Flexibility  High (online, self-paced elements)
  Credential   Professional certificate, pathway to master's

What would change it
  - Do you want to accelerate your career by quickly gaining specialised skills?
    (you said yes)
    No or not sure: not enough to decide yet.
  - Is the skill area you are targeting in high demand? (you said yes)
    No or not sure: not enough to decide yet.
  - Is your ultimate goal a complete graduate (master's) degree? (you said no)
    Yes: not enough to decide yet.
  - Does your career path or academic aspiration need the full breadth, depth
    and traditional recognition of a master's degree? (you said no)
    Yes: not enough to decide yet.

The full reasoning, every rule with its source: add --detail.
"""


def test_consult_says_the_result_in_plain_words():
    result = invoke("consult", *KB_ARGS, "--answers", CAREER)
    assert (result.exit_code, result.stdout) == (0, CAREER_PLAIN)


@pytest.mark.parametrize("profile", sorted(p.stem for p in PROFILES.glob("*.yaml")))
def test_the_plain_view_has_no_internal_names_and_fits_a_screen(kb, profile):
    out = invoke("consult", *KB_ARGS, "--answers", str(PROFILES / f"{profile}.yaml")).stdout
    words = set(re.findall(r"[a-z_][a-z0-9_-]+", out))
    names = {*kb.schema.facts, *kb.schema.derived, *kb.schema.options, "undetermined"}
    internal = {n for n in names if "_" in n or n == "undetermined"}  # 'budget' is English too
    internal |= {r.id for r in kb.rules if "-" in r.id}
    assert not words & internal, words & internal
    assert not re.search(r"[+-]\d\b|derived", out)
    assert len(out.splitlines()) <= 36 and max(map(len, out.splitlines())) <= 80


def test_detail_prints_every_rule_that_fired():
    result = invoke("consult", *KB_ARGS, "--answers", CAREER, "--detail")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("Recommendation: A MicroMasters program (micromasters)\n")
    assert "Rules fired, in order:\n  1. full-degree-exceeds-time:" in out
    assert "cites: Career Acceleration and Skill Enhancement: \"If you're looking" in out
    assert "at rules/2-smart-investment.yaml:5" in out
    assert "    duration     Typically 6 months to 1.5 years" in out


@pytest.mark.parametrize("columns", [60, 100])
def test_detail_fits_the_terminal(monkeypatch, columns):
    """Regression: a fired rule's title line ran to 128 characters on a 100-column terminal."""
    monkeypatch.setenv("COLUMNS", str(columns))
    out = invoke("consult", *KB_ARGS, "--answers", STEPPING, "--detail").stdout
    assert max(map(len, out.splitlines())) <= columns
    assert (
        "  8. stepping-stone: A goal a MicroMasters serves and a degree goal meet in a MicroMasters whose\n"
        "       credit counts toward the degree\n"
    ) in out or columns != 100


def test_json_output_has_the_contracted_fields():
    result = invoke("consult", *KB_ARGS, "--answers", CAREER, "--format", "json")
    doc = json.loads(result.stdout)
    for key in ("recommendation", "summary", "fired", "answers", "derived", "scores", "rulebase"):
        assert key in doc
    assert doc["recommendation"] == "micromasters"
    first = doc["fired"][0]
    assert first["rule"] == "full-degree-exceeds-time"
    assert first["location"] == "rules/1-derived.yaml:58"
    assert first["matched"] == [
        {"kind": "answer", "fact": "months_available", "value": 12, "id": 1},
        {"kind": "background", "fact": "full_masters.duration_min_months", "value": 18, "id": 3},
    ]  # fact 1 holds every answer (fact 0 is experta's initial fact), then the figures
    assert doc["answers"]["months_available"] == {"value": 12, "origin": "answers-file"}
    assert doc["answers"]["budget"] == {"value": None, "origin": "default"}
    assert doc["rulebase"]["digest"].startswith("sha256:")
    assert "micromasters_goal" in doc["derived"]


def test_json_is_byte_identical_for_identical_inputs():
    outputs = {
        invoke("consult", *KB_ARGS, "--answers", CAREER, "--format", "json").stdout
        for _ in range(3)
    }
    assert len(outputs) == 1


def test_set_overrides_the_answers_file():
    result = invoke(
        "consult",
        *KB_ARGS,
        "--answers",
        CAREER,
        "--set",
        "wants_complete_degree=yes",
        "--set",
        "career_requires_masters_degree=yes",
        "--format",
        "json",
    )
    doc = json.loads(result.stdout)
    assert doc["answers"]["wants_complete_degree"] == {"value": True, "origin": "set"}


def test_answers_from_stdin():
    result = invoke(
        "consult",
        *KB_ARGS,
        "--answers",
        "-",
        "--format",
        "json",
        input='{"unsure_about_graduate_degree": "yes"}',
    )
    assert json.loads(result.stdout)["recommendation"] == "micromasters"


def test_undetermined_says_which_questions_would_decide():
    result = invoke("consult", *KB_ARGS, "--set", "budget=medium")
    assert result.stdout.startswith(
        "Not enough to decide yet.\nWhy: your answers do not yet point to any option.\n\n"
        "What would decide it\n"
    )
    assert (
        "What would decide it\n  - Is keeping the overall cost of your education low a priority? "
        "(not answered\n    yet)\n    Yes: a MicroMasters program.\n"
    ) in result.stdout
    detail = invoke("consult", *KB_ARGS, "--set", "budget=medium", "--detail").stdout
    assert detail.startswith("Recommendation: not enough to decide yet (undetermined)\n")
    assert "Answers that would decide:\n" in detail
    assert "  wants_complete_degree = yes  ->  full_masters\n" in detail


@pytest.mark.parametrize(
    "text, message",
    [
        ("budjet: low\n", "Error: {f}:1:1: unknown fact 'budjet' (did you mean 'budget'?)"),
        (
            "months_available: -3\n",
            "Error: {f}:1:19: fact 'months_available': -3 is outside the allowed range 1-120",
        ),
        ("budget: lots\n", "Error: {f}:1:9: fact 'budget': 'lots' is not one of low, medium, high"),
        (
            "working_professional: perhaps\n",
            "Error: {f}:1:23: fact 'working_professional': 'perhaps' is not an answer to a yes/no "
            "question; use yes, no or unknown",
        ),
        (
            "budget: [low, high]\n",
            "Error: {f}:1:9: fact 'budget': expected a single value, not a list",
        ),
        (
            "budget: low\n  oops: [\n",
            "Error: {f}:2:7: invalid YAML: mapping values are not allowed here (a value that "
            "contains ': ' must be quoted, or this line is indented too far)",
        ),
        (
            "- budget\n",
            "Error: {f}:1:1: an answers file is a mapping from fact name to answer, not a list",
        ),
        (
            "months_available: 2.5\n",
            "Error: {f}:1:19: fact 'months_available': '2.5' is not a whole number; expected a whole "
            "number 1-120",
        ),
    ],
)
def test_bad_answers_are_one_line_and_exit_2(tmp_path, text, message):
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    result = invoke("consult", *KB_ARGS, "--answers", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == message.format(f=path) + "\n"


def test_missing_answers_file(tmp_path):
    result = invoke("consult", *KB_ARGS, "--answers", str(tmp_path / "none.yaml"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {tmp_path}/none.yaml:1:1: no such file\n",
    )


@pytest.mark.parametrize(
    "setting, message",
    [
        ("budget", "Error: --set 'budget': expected NAME=VALUE"),
        ("budgt=low", "Error: --set budgt=low: unknown fact 'budgt' (did you mean 'budget'?)"),
        (
            "months_available=abc",
            "Error: --set months_available=abc: fact 'months_available': 'abc' is not a whole number; "
            "expected a whole number 1-120",
        ),
    ],
)
def test_bad_set_values(setting, message):
    result = invoke("consult", *KB_ARGS, "--set", setting)
    assert (result.exit_code, result.stderr) == (2, message + "\n")


def test_bad_option_value_is_a_usage_error():
    result = invoke("consult", *KB_ARGS, "--format", "xml")
    assert result.exit_code == 2 and "Invalid value for '--format'" in result.stderr


def test_broken_rule_file_stops_consult_with_its_position(broken_kb):
    rules, facts = broken_kb(
        "rules:\n  - id: x\n    title: t\n    source: {section: Flexibility, "
        "quote: Flexibility}\n    when: [{fact: budjet, is: low}]\n"
        "    then: {score: {micromasters: 1}}\n"
    )
    result = invoke("consult", "--rules", str(rules), "--facts", str(facts))
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: rules/bad.yaml:5:19: unknown fact 'budjet' (did you mean 'budget'?)\n"
    )


def test_debug_shows_the_traceback(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["--debug", "consult", *KB_ARGS, "--set", "x=1"])
    assert isinstance(result.exception, AnswerError)


def test_interactive_consultation_asks_every_question_and_re_asks_invalid_answers():
    lines = [
        "yes",
        "yes",
        "",
        "maybe",
        "no",
        "",
        "yes",
        "no",
        "no",
        "",
        "",
        "",
        "",
        "",
        "500",
        "12",
        "lots",
        "low",
        "",
    ]
    result = invoke("consult", *KB_ARGS, "--ask-all", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    assert (
        result.stderr.count("[yes/no; Enter: not sure; why, back, help, quit]") == 14
    )  # one re-asked
    said = " ".join(result.stderr.split())
    assert "Not accepted: 'maybe' is not yes or no; press Enter if you are not sure." in said
    assert "Not accepted: 500 is outside the allowed range 1-120." in said
    assert (
        "How large is your education budget?\n   [low/medium/high; Enter: not sure; why, back, help, quit]:"
        in result.stderr
    )
    assert result.stdout.startswith("We recommend a MicroMasters program.")


def test_end_of_input_during_questions_exits_130_and_writes_nothing(tmp_path):
    trace = tmp_path / "t.json"
    result = invoke("consult", *KB_ARGS, "--trace-out", str(trace), input="yes\n")
    assert result.exit_code == 130
    assert result.stderr.endswith("Interrupted.\n")
    assert not trace.exists() and list(tmp_path.iterdir()) == []


def test_trace_out_writes_the_json_with_a_timestamp(tmp_path):
    trace = tmp_path / "t.json"
    result = invoke(
        "consult", *KB_ARGS, "--answers", CAREER, "--trace-out", str(trace), "--format", "json"
    )
    written = json.loads(trace.read_text())
    printed = json.loads(result.stdout)
    assert "created_at" in written and "created_at" not in printed
    # the time the trace was kept is sealed inside its digest: back-dating it shows
    assert written["content_digest"] != printed["content_digest"]
    assert {k: v for k, v in written.items() if k not in ("created_at", "content_digest")} == {
        k: v for k, v in printed.items() if k != "content_digest"
    }


def test_questions_lists_the_vocabulary():
    result = invoke("questions", *KB_ARGS)
    assert result.stdout.splitlines()[0].split()[:2] == ["wants_career_acceleration", "yes/no"]
    assert "months_available" in result.stdout and "a whole number 1-120" in result.stdout
    names = [
        q["name"] for q in json.loads(invoke("questions", *KB_ARGS, "--format", "json").stdout)
    ]
    assert len(names) == 15 and names[-1] == "budget"


def test_rules_list():
    result = invoke("rules", "list", *KB_ARGS)
    assert result.stdout.splitlines()[0].startswith("cost-sensitive-by-goal")
    assert "[Are MicroMasters Worth It?: Cost Reduction]" in result.stdout.splitlines()[0]


def test_rules_lint_is_clean_on_the_shipped_files():
    result = invoke("rules", "lint", *KB_ARGS)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "0 errors, 0 warnings.\n")


def test_rules_lint_prints_every_problem_and_exits_1(broken_kb):
    rules, facts = broken_kb("rules:\n  - id: Bad\n")
    result = invoke("rules", "lint", "--rules", str(rules), "--facts", str(facts))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "rules/bad.yaml:2:5: error: a rule has no citation: add 'source' with a section and a "
        "quote of a source [no-citation]"
    )
    assert result.stderr == "5 errors, 0 warnings.\n"


def test_every_command_has_help():
    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, path + [name])

    for path, command in walk(cli, []):
        assert command.help, f"{' '.join(path)} has no help text"
        assert invoke(*path, "--help").exit_code == 0


def test_default_knowledge_base_is_the_repositorys():
    """Without --rules/--facts the shipped copy is used; it must match the repository's files."""
    default = json.loads(invoke("consult", "--answers", CAREER, "--format", "json").stdout)
    explicit = json.loads(
        invoke("consult", *KB_ARGS, "--answers", CAREER, "--format", "json").stdout
    )
    assert default["rulebase"] == explicit["rulebase"]


def test_an_unwritable_trace_path_is_one_line(tmp_path):
    target = tmp_path / "missing" / "t.json"
    result = invoke("consult", *KB_ARGS, "--answers", CAREER, "--trace-out", str(target))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {target}: cannot write: No such file or directory\n",
    )


def _commands(group, prefix=()):
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


@pytest.mark.parametrize(
    "path, command", list(_commands(cli)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_explains_itself_and_its_exit_codes(path, command):
    result = invoke(*path, "--help")
    assert result.exit_code == 0
    assert command.help and len(command.help) > 20
    assert "\nExit codes:\n  0    success\n" in result.stdout
    assert "  2    a mistake in the input, a file or an option" in result.stdout
    assert "--debug" in result.stdout


def test_debug_works_before_and_after_the_command():
    for args in (("--debug", "consult"), ("consult", "--debug")):
        with pytest.raises(AnswerError):
            CliRunner().invoke(cli, [*args, "--set", "budget=lots"], catch_exceptions=False)
    quiet = invoke("consult", "--set", "budget=lots")
    assert quiet.exit_code == 2 and "Traceback" not in quiet.stderr


def test_consult_help_says_missing_answers_are_asked_on_a_terminal():
    text = " ".join(invoke("consult", "--help").stdout.split())
    assert "On a terminal, the questions it leaves out are asked when they can still change" in text
    assert "130 interrupted (Ctrl-C), or stopped by typing quit" in text


README = (PROFILES.parents[1] / "README.md").read_text()


@pytest.mark.parametrize("profile", ["career-accelerator", "undecided"])
def test_the_readme_shows_what_a_person_really_reads(profile, monkeypatch):
    monkeypatch.chdir(PROFILES.parents[1])  # a clone's root, as the README's reader stands
    answers = f"facts/profiles/{profile}.yaml"
    result = invoke("consult", "--answers", answers, kb_line=True)
    # The terminal shows both streams: which knowledge base on stderr, then the advice alone on
    # stdout (so that `consult ... > advice.txt` keeps only the advice).
    assert result.stderr == "Knowledge base: . (mm-advisor.toml found)\n"
    assert f"```\n{result.stderr}{result.stdout}```\n" in README


def test_what_would_change_it_says_numbers_as_ranges_in_words():
    out = invoke(
        "consult", *KB_ARGS, "--no-input", "--set", "wants_complete_degree=yes",
        "--set", "program_offers_credit_pathway=yes", "--set", "months_available=3",
    ).stdout  # fmt: skip
    assert (
        "What would decide it\n"
        "  - How many months can you commit to study? (you said 3 months)\n"
        "    6 to 17 months: a MicroMasters as a stepping stone to a master's.\n"
        "    18 months or more, or not sure: a full master's degree.\n"
    ) in out


@pytest.mark.slow
def test_a_skipped_test_fails_the_run_where_no_skips_are_allowed(pytester, monkeypatch):
    """`.ci/run` sets MM_ADVISOR_NO_SKIPS: a missing optional piece must turn the run red."""
    hook = inspect.getsource(conftest.pytest_sessionfinish)  # the suite's own hook, alone
    pytester.makeconftest("import os\n\nimport pytest\n\n\n" + hook)
    pytester.makepyfile(test_one="import pytest\n\ndef test_x():\n    pytest.skip('no clips')\n")
    monkeypatch.delenv("MM_ADVISOR_NO_SKIPS", raising=False)
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider").ret == 0
    monkeypatch.setenv("MM_ADVISOR_NO_SKIPS", "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["MM_ADVISOR_NO_SKIPS: 1 skipped; install what they need", "SKIPPED * no clips"]
    )


def test_the_progress_line_says_what_is_done_its_rate_and_the_time_left(monkeypatch, capsys):
    """The one progress display of `batch` and `audit verify --log`."""
    from mm_advisor.cli import base

    for enabled in (True, False):
        clock = iter([0.0, 0.1, 1.0, 2.0])
        monkeypatch.setattr(base.time, "monotonic", clock.__next__)
        progress = base.Progress("consultations", enabled, total=400)
        progress.update(10)  # at 0.1 s: too soon to redraw
        progress.update(100)  # at 1 s: 100 a second, a quarter done, so 3 s left
        progress.done(400)
        assert capsys.readouterr().err == (  # click drops the erase-line code off a terminal
            "\r100 consultations  100 consultations/s  about 0:03 left"
            "\r400 consultations in 2.0 s\n"
            if enabled
            else ""
        )


def test_version_names_the_knowledge_base_found_and_its_digest(tmp_path, monkeypatch):
    from mm_advisor import __version__
    from mm_advisor.knowledge import layout, rulebase

    monkeypatch.chdir(tmp_path)  # no mm-advisor.toml here or above: the shipped one
    monkeypatch.delenv("MM_ADVISOR_KB", raising=False)
    shipped = rulebase.load(layout.shipped())
    result = invoke("--version", kb_line=True)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"mm-advisor, version {__version__}",
        f"Knowledge base: {layout.shipped().describe()}, {len(shipped.rules)} rules, "
        f"rule base {shipped.digest}",
    ]
    monkeypatch.setenv("MM_ADVISOR_KB", str(tmp_path / "none\x1b[2J"))
    result = invoke("--version", kb_line=True)
    assert result.exit_code == 0  # the version is still said; what is wrong is named
    assert result.stdout.splitlines()[1] == (
        "Knowledge base: cannot be read: none\\x1b[2J:1:1: not a knowledge base: "
        "no mm-advisor.toml here"
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("mm-advisor con", ["consult"]),
        ("mm-advisor consult --for", ["--format"]),
        ("mm-advisor consult --format ", ["text", "json"]),
        ("mm-advisor rules ch", ["check"]),
    ],
)
def test_shell_completion_offers_commands_options_and_choices(words, expected):
    """What the README's `eval "$(_MM_ADVISOR_COMPLETE=bash_source mm-advisor)"` line uses."""
    env = {
        "_MM_ADVISOR_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    result = CliRunner().invoke(cli, [], env=env, prog_name="mm-advisor")
    assert result.exit_code == 0
    assert [line.split(",", 1)[1] for line in result.stdout.splitlines()] == expected


def test_each_command_is_found_where_the_lazy_table_says():
    """`base.COMMANDS` names the module of every top-level command (each imported only when it
    runs): a command missing from it could not be run; a name there with no command, neither."""
    assert sorted(cli.commands) == sorted(COMMANDS)
    for name, command in cli.commands.items():
        assert command.callback.__module__ == f"mm_advisor.cli.{COMMANDS[name]}", name


def test_a_consultation_imports_no_other_commands_module_nor_what_it_does_not_use():
    """No other command's module, and none of signing, the log's SQLite, the HTML report or the
    schema validator, which a consultation without a key, a log or a report never uses."""
    import subprocess
    import sys

    unused = ["cryptography", "sqlite3", "mm_advisor.audit.log", "mm_advisor.audit.signing",
              "mm_advisor.explanation.report", "mm_advisor.audit.validation", "tempfile",
              "difflib"]  # fmt: skip
    code = (
        "import sys; from mm_advisor.cli import main; sys.argv = ['mm-advisor', 'consult', "
        "'--no-input']; import atexit; atexit.register(lambda: print(sorted(m for m in "
        f"sys.modules if m.startswith('mm_advisor.cli.') or m in {unused!r}), file=sys.stderr)); "
        "main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.strip().splitlines()[-1]
    assert loaded == "['mm_advisor.cli.advise', 'mm_advisor.cli.base']"
