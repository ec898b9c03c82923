"""The interview: which questions it asks, why/back/skip/help, review, resuming, and that the
shortened interview always reaches the full questionnaire's recommendation."""

from __future__ import annotations

import os
import pty
import random
import re
import select
import signal
import statistics
import sys
import time

import pytest
import yaml
from conftest import KB_ARGS, PROFILES, invoke

from mm_advisor.cli import advise as cli_module
from mm_advisor.reasoning.relevance import Planner


@pytest.fixture(scope="module")
def planner(kb):
    return Planner(kb)


def asked(kb, stderr: str) -> list[str]:
    """The facts asked, in order, read from the interview's prompts."""
    by_question = {" ".join(spec.question.split()): name for name, spec in kb.schema.facts.items()}
    prompts = re.findall(r"^\d+\. (.+?)\n   \[", stderr, re.M | re.S)
    found = [by_question[" ".join(text.split())] for text in prompts]
    return [f for i, f in enumerate(found) if i == 0 or found[i - 1] != f]


# The stepping-stone profile's answers, in the order the interview asks for them.
STEPPING = ["yes", "", "yes", "12", "", "medium", "yes", ""]
STEPPING_ASKED = [
    "program_offers_credit_pathway",
    "career_requires_masters_degree",
    "wants_complete_degree",
    "months_available",
    "wants_to_reduce_cost",
    "budget",
    "working_professional",
    "wants_extensive_coursework",
]


def replies(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_a_stepping_stone_is_asked_eight_questions(kb):
    result = invoke("consult", *KB_ARGS, input=replies(*STEPPING, ""))
    assert result.exit_code == 0, result.stderr
    assert asked(kb, result.stderr) == STEPPING_ASKED
    assert result.stdout.startswith("We recommend a MicroMasters as a stepping stone")
    assert "\nNot asked (7), because no answer could change the recommendation:\n" in result.stderr
    assert "  wants_research_experience: the recommendation can no longer change\n" in result.stderr


def test_a_career_accelerator_is_asked_twelve_questions(kb):
    answers = ["", "12", "no", "no", "", "", "", "", "", "", "yes", ""]
    result = invoke("consult", *KB_ARGS, input=replies(*answers, ""))
    assert asked(kb, result.stderr) == [
        "program_offers_credit_pathway",
        "months_available",
        "career_requires_masters_degree",
        "wants_complete_degree",
        "meets_traditional_admission",
        "unsure_about_graduate_degree",
        "wants_to_reduce_cost",
        "budget",
        "working_professional",
        "needs_flexible_schedule",
        "wants_career_acceleration",
        "wants_extensive_coursework",
    ]
    assert result.stdout.startswith("We recommend a MicroMasters program.")


def test_ask_all_asks_every_question_in_order(kb):
    result = invoke("consult", *KB_ARGS, "--ask-all", input="\n" * 15)
    assert asked(kb, result.stderr) == list(kb.schema.facts)


def test_why_names_the_rules_this_answer_decides_with_citations():
    result = invoke("consult", *KB_ARGS, input=replies("why", *STEPPING, ""))
    err = result.stderr
    assert "[yes/no/unknown; why/back/skip/help]" in err
    assert (
        "  Still possible: full_masters, micromasters, micromasters_pathway,\n    undetermined."
        in err
    )
    assert (
        "    - Without credit that counts toward a master's, a MicroMasters is no\n"
        "      stepping stone to one (credit-row-no-stack): if\n"
        "      program_offers_credit_pathway is no, it rules out micromasters_pathway.\n"
        "        cites MicroMasters vs. Full Master's Degree: A Comparison: \"Can count as\n"
        "          a portion (e.g., 25-50%) of a master's\"\n"
    ) in err


def test_why_under_ask_all_says_when_no_rule_needs_the_answer():
    # once acceleration is ruled out, no rule can still use whether the skill is in demand
    result = invoke("consult", *KB_ARGS, "--ask-all", input="no\nwhy\n" + "\n" * 20)
    assert "2. Is the skill area you are targeting in high demand?" in result.stderr
    assert (
        "    undetermined. No rule that can still fire needs this answer; it is asked\n"
        "    because every question was requested (--ask-all).\n"
    ) in result.stderr


def test_back_changes_the_previous_answer(kb):
    result = invoke(
        "consult",
        *KB_ARGS,
        "--format",
        "json",
        input=replies("yes", "yes", "back", "no") + "\n" * 20,
    )
    assert asked(kb, result.stderr)[:5] == [
        "program_offers_credit_pathway",
        "career_requires_masters_degree",
        "months_available",
        "career_requires_masters_degree",
        "wants_complete_degree",
    ]
    assert result.stderr.count("\n2. Does your career path or academic aspiration") == 2
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["career_requires_masters_degree"]["value"] is False


def test_back_at_the_first_question_says_so():
    result = invoke("consult", *KB_ARGS, input=replies("back", *STEPPING, ""))
    assert "  There is no earlier answer to go back to.\n" in result.stderr


def test_skip_and_enter_are_unknown_and_help_explains():
    result = invoke("consult", *KB_ARGS, "--format", "json", input="help\nskip\n" + "\n" * 20)
    assert (
        '  "Stackable" MicroMasters earn credit toward a full master\'s at the same\n'
        "    institution or partner universities; check the program's page.\n"
        "  Allowed answers: yes/no, or unknown.\n"
    ) in result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["program_offers_credit_pathway"] == {"value": None, "origin": "prompt"}
    assert doc["recommendation"] == "undetermined"


def test_review_lets_the_person_change_an_answer_before_the_conclusion(kb):
    result = invoke(
        "consult",
        *KB_ARGS,
        "--format",
        "json",
        input=replies(*STEPPING, "9", "1", "no") + "\n" * 20,
    )
    err = result.stderr
    assert (
        "Your answers:\n  1. program_offers_credit_pathway = yes\n"
        "  2. career_requires_masters_degree = unknown\n  3. wants_complete_degree = yes\n"
    ) in err
    assert "  Not accepted: type a number from 1 to 8, or press Enter.\n" in err
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["program_offers_credit_pathway"]["value"] is False
    assert doc["recommendation"] == "full_masters"


def test_interrupted_interview_saves_the_answers_and_resumes(kb, tmp_path, monkeypatch):
    saved = tmp_path / "answers.yaml"
    result = invoke("consult", *KB_ARGS, "--save-answers", str(saved), input=replies(*STEPPING[:3]))
    assert result.exit_code == 130
    assert yaml.safe_load(saved.read_text()) == {
        "program_offers_credit_pathway": True,
        "career_requires_masters_degree": "unknown",
        "wants_complete_degree": True,
    }
    assert [p.name for p in tmp_path.iterdir()] == ["answers.yaml"]
    monkeypatch.setattr(cli_module, "stdin_is_terminal", lambda: True)
    resumed = invoke("consult", *KB_ARGS, "--answers", str(saved), input=replies(*STEPPING[3:], ""))
    assert asked(kb, resumed.stderr) == STEPPING_ASKED[3:]
    assert resumed.stdout.startswith("We recommend a MicroMasters as a stepping stone")
    settled = invoke("consult", *KB_ARGS, "--answers", str(PROFILES / "stepping-stone.yaml"))
    assert settled.stderr == "" and settled.exit_code == 0


def test_answers_files_are_not_completed_without_a_terminal_or_with_no_input(tmp_path, monkeypatch):
    partial = tmp_path / "p.yaml"
    partial.write_text("months_available: 12\n")
    quiet = invoke("consult", *KB_ARGS, "--answers", str(partial))
    assert quiet.stderr == "" and quiet.exit_code == 0
    monkeypatch.setattr(cli_module, "stdin_is_terminal", lambda: True)
    scripted = invoke("consult", *KB_ARGS, "--answers", str(partial), "--no-input")
    assert scripted.stderr == "" and scripted.exit_code == 0
    assert invoke("consult", *KB_ARGS, "--no-input").stderr == ""


def test_no_colour_off_a_terminal():
    result = invoke("consult", *KB_ARGS, input=replies(*STEPPING, ""))
    assert "\x1b" not in result.stdout + result.stderr


def _interview(planner, advisor, full: dict) -> tuple[list[str], str]:
    answers: dict = {}
    free = frozenset(planner.schema.facts)
    order = []
    while (fact := planner.next_question(answers, free)) is not None:
        answers[fact] = full[fact]
        free -= {fact}
        order.append(fact)
    return order, advisor.recommend(answers)


def test_shortened_interview_reaches_the_full_questionnaires_recommendation(
    planner, advisor, kb, capsys
):
    rng = random.Random(20261128)
    facts = list(kb.schema.facts)
    lengths = []
    for _ in range(300):
        full = {}
        for name in facts:
            spec = kb.schema.facts[name]
            values = (
                list(spec.domain())
                if spec.type != "number"
                else [rng.randint(spec.minimum, spec.maximum), rng.randint(1, 24)]
            )
            full[name] = rng.choice(values + [None])
        order, recommendation = _interview(planner, advisor, full)
        assert recommendation == advisor.recommend(full), (full, order)
        lengths.append(len(order))
    mean = statistics.mean(lengths)
    with capsys.disabled():
        print(
            f"\ninterview length over 300 random profiles: mean {mean:.2f}, max {max(lengths)},"
            f" min {min(lengths)} of {len(facts)} questions"
        )
    assert mean < 0.7 * len(facts) and max(lengths) <= len(facts)


def test_interview_in_a_real_terminal():
    """Drive the installed program in a pseudo-terminal: colour on, why, back, finish."""
    transcript = _run_in_pty(["why", "yes", "back", *STEPPING, ""], {})
    assert "Still possible:" in transcript
    # asked, asked again after `why`, and again after `back`
    assert transcript.count("1. \x1b[1mDoes the MicroMasters you are considering count as") == 3
    assert "\x1b[1mWe recommend a MicroMasters as a stepping stone" in transcript
    plain = _run_in_pty([*STEPPING, ""], {"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "We recommend a MicroMasters as a stepping stone" in plain


def _run_in_pty(lines: list[str], env: dict) -> str:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real terminal on stdin, stdout and stderr
        os.environ.update({"COLUMNS": "80", "LINES": "40", "TERM": "xterm", **env})
        if "NO_COLOR" not in env:
            os.environ.pop("NO_COLOR", None)
        os.execv(
            sys.executable,
            [sys.executable, "-c", "from mm_advisor.cli import main; main()", "consult", *KB_ARGS],
        )
    output = b""
    pending = list(lines)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if pending and output.rstrip().endswith((b"help]:", b"recommendation:")):
                os.write(fd, pending.pop(0).encode() + b"\r")
    os.close(fd)
    if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still running after the deadline: never hang CI
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return output.decode(errors="replace").replace("\r\n", "\n")
