"""The interview: which questions it asks, why/back/skip/help, review, resuming, and that the
shortened interview always reaches the full questionnaire's recommendation."""

from __future__ import annotations

import fcntl
import os
import pty
import random
import re
import select
import signal
import statistics
import struct
import sys
import termios
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
STEPPING = ["yes", "", "yes", "", "", "12", "", "yes", "yes", "no", ""]
STEPPING_ASKED = [
    "program_offers_credit_pathway",
    "career_requires_masters_degree",
    "wants_complete_degree",
    "meets_traditional_admission",
    "wants_to_reduce_cost",
    "months_available",
    "unsure_about_graduate_degree",
    "wants_career_acceleration",
    "skill_in_high_demand",
    "wants_extensive_coursework",
    "wants_research_experience",
]


def replies(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_a_stepping_stone_is_asked_eleven_questions(kb):
    result = invoke("consult", *KB_ARGS, input=replies(*STEPPING, ""))
    assert result.exit_code == 0, result.stderr
    assert asked(kb, result.stderr) == STEPPING_ASKED
    assert result.stdout.startswith("We recommend a MicroMasters as a stepping stone")
    assert result.stderr.endswith(
        "\nNot asked, because no answer could change the recommendation any more (4):\n"
        "  - Will you be working while you study?\n"
        "  - Do you need to balance study with work and personal commitments?\n"
        "  - Do you want networking within a traditional academic structure?\n"
        "  - How large is your education budget?\n"
    )
    # a question the person was not sure of, whose answer would change the result, is named
    assert (
        "It depends on what is not known yet:\n"
        "  - Does your career path or academic aspiration need the full breadth, depth\n"
    ) in result.stdout


def test_a_career_accelerator_is_asked_eleven_questions(kb):
    answers = ["", "no", "no", "", "", "12", "", "", "", "yes", "yes", "", ""]
    result = invoke("consult", *KB_ARGS, input=replies(*answers, ""))
    assert asked(kb, result.stderr) == [
        "program_offers_credit_pathway",
        "career_requires_masters_degree",
        "wants_complete_degree",
        "meets_traditional_admission",
        "wants_to_reduce_cost",
        "months_available",
        "unsure_about_graduate_degree",
        "working_professional",
        "needs_flexible_schedule",
        "wants_career_acceleration",
        "skill_in_high_demand",
    ]
    assert result.stdout.startswith("We recommend a MicroMasters program.")


def test_ask_all_asks_every_question_in_order(kb):
    result = invoke("consult", *KB_ARGS, "--ask-all", input="\n" * 15)
    assert asked(kb, result.stderr) == list(kb.schema.facts)


def test_why_names_what_this_answer_decides_with_the_articles_words():
    result = invoke("consult", *KB_ARGS, input=replies("why", *STEPPING, ""))
    err = result.stderr
    assert "[yes/no; Enter: not sure; why, back, help, quit]" in err
    assert (
        "  Your answer decides whether these can still count:\n"
        "    - The MicroMasters' credit counts toward the master's degree you aim for.\n"
        '      The article: "successful completion can earn you credits toward a full\n'
        "      master's degree\"\n"
    ) in err
    assert (
        "  Still possible: a MicroMasters program, a full master's degree, a MicroMasters\n"
        "    as a stepping stone to a master's or not enough to decide yet.\n"
    ) in err


def test_why_under_ask_all_says_when_no_rule_needs_the_answer():
    # once acceleration is ruled out, no rule can still use whether the skill is in demand
    result = invoke("consult", *KB_ARGS, "--ask-all", input="no\nwhy\n" + "\n" * 20)
    assert "2. Is the skill area you are targeting in high demand?" in result.stderr
    assert (
        "  No rule that can still count needs this answer; it is asked because you asked\n"
        "    for every question (--ask-all).\n"
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
        "meets_traditional_admission",
        "career_requires_masters_degree",
        "wants_complete_degree",
    ]
    assert result.stderr.count("\n2. Does your career path or academic aspiration") == 2
    assert "  Back to question 2; you had answered: yes (Enter keeps it).\n" in result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["career_requires_masters_degree"]["value"] is False


def test_after_back_enter_keeps_the_earlier_answer(kb):
    """Regression: after `back`, Enter (which means "not sure" for a new question) cleared the
    earlier answer instead of keeping it."""
    result = invoke(
        "consult", *KB_ARGS, "--format", "json", input=replies("yes", "yes", "back", "") + "\n" * 20
    )  # fmt: skip
    assert "[yes/no; Enter: keep yes; why, back, help, quit]" in result.stderr
    assert result.stderr.count("[yes/no; Enter: not sure; why, back, help, quit]") >= 2
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["career_requires_masters_degree"]["value"] is True


def test_back_at_the_first_question_says_so():
    result = invoke("consult", *KB_ARGS, input=replies("back", *STEPPING, ""))
    assert "  There is no earlier answer to go back to.\n" in result.stderr


def test_skip_and_enter_are_unknown_and_help_explains():
    result = invoke("consult", *KB_ARGS, "--format", "json", input="help\nskip\n" + "\n" * 20)
    assert (
        '  "Stackable" MicroMasters earn credit toward a full master\'s at the same\n'
        "    institution or partner universities; check the program's page.\n"
        "  Answers: yes/no; press Enter if you are not sure.\n"
    ) in result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["program_offers_credit_pathway"] == {"value": None, "origin": "prompt"}
    assert doc["recommendation"] == "undetermined"


@pytest.mark.parametrize("word", ["?", "help", "HELP"])
def test_question_mark_is_help(word):
    result = invoke("consult", *KB_ARGS, input=replies(word, *STEPPING, ""))
    assert "  Answers: yes/no; press Enter if you are not sure.\n" in result.stderr


@pytest.mark.parametrize(
    "word", ["not sure", "Not  Sure", "don't know", "dont know", "unknown", "skip"]
)
def test_ways_of_saying_not_sure(word):
    result = invoke("consult", *KB_ARGS, "--format", "json", input=replies(word) + "\n" * 20)
    assert "Not accepted" not in result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["program_offers_credit_pathway"] == {"value": None, "origin": "prompt"}


def test_review_lets_the_person_change_an_answer_and_keeps_its_number(kb):
    result = invoke(
        "consult",
        *KB_ARGS,
        "--format",
        "json",
        input=replies(*STEPPING, "12", "1", "no") + "\n" * 20,
    )
    err = result.stderr
    assert (
        "Your answers:\n"
        "   1. If you took a MicroMasters, could its credit count toward a master's you\n"
        "      would want? (yes)\n"
        "   2. Does your career path or academic aspiration need the full breadth, depth\n"
        "      and traditional recognition of a master's degree? (not sure)\n"
        "   3. Is your ultimate goal a complete graduate (master's) degree? (yes)\n"
        "   4. Would you meet the admission requirements of a traditional master's\n"
        "      program? (not sure)\n"
    ) in err
    assert "  Not accepted: type a number from 1 to 11, or press Enter.\n" in err
    after = err[err.index("Not accepted: type a number") :]
    assert "\n1. If you took a MicroMasters, could its credit" in after  # asked as number 1
    assert (
        "   1. If you took a MicroMasters, could its credit count toward a master's you\n"
        "      would want? (no)\n"
    ) in after
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["program_offers_credit_pathway"]["value"] is False
    # a full master's is the one path left, and the 12 months weigh as much against it
    assert (doc["recommendation"], doc["decision"]["reason"]) == ("undetermined", "no-fit")


def test_quit_stops_like_ctrl_c_and_keeps_the_answers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short path: the message wraps the same wherever tests run
    result = invoke(
        "consult", *KB_ARGS, "--save-answers", "saved.yaml", input=replies("yes", "", "quit")
    )
    assert result.exit_code == 130
    assert result.stderr.endswith(
        ": quit\nStopped. Your answers so far are in saved.yaml; resume with --answers\n"
        "saved.yaml.\n"
    )
    assert yaml.safe_load((tmp_path / "saved.yaml").read_text()) == {
        "program_offers_credit_pathway": True,
        "career_requires_masters_degree": "unknown",
    }
    plain = invoke("consult", *KB_ARGS, input=replies("q"))
    assert (plain.exit_code, plain.stderr.splitlines()[-1]) == (130, "Stopped.")


def test_in_the_review_enter_keeps_the_answer_being_changed(kb):
    result = invoke(
        "consult", *KB_ARGS, "--format", "json", input=replies(*STEPPING, "1", "") + "\n" * 20
    )  # fmt: skip
    after = result.stderr[result.stderr.index("Your answers:") :]
    assert "\n   [yes/no; Enter: keep yes; why, back, help, quit]" in after
    assert yaml.safe_load(result.stdout)["answers"]["program_offers_credit_pathway"]["value"]


def test_answers_from_a_file_can_be_changed_in_the_review(tmp_path, monkeypatch):
    partial = tmp_path / "p.yaml"
    partial.write_text("program_offers_credit_pathway: yes\nwants_complete_degree: yes\n")
    monkeypatch.setattr(cli_module, "stdin_is_terminal", lambda: True)
    result = invoke(
        "consult",
        *KB_ARGS,
        "--answers",
        str(partial),
        "--format",
        "json",
        input="\n" * 9 + replies("2", "no") + "\n" * 20,
    )
    err = result.stderr
    assert (
        "Your answers:\n"
        "   1. If you took a MicroMasters, could its credit count toward a master's you\n"
        "      would want? (yes)\n"
        "   2. Is your ultimate goal a complete graduate (master's) degree? (yes)\n"
    ) in err
    assert "  11. How large is your education budget? (not sure)\n" in err
    doc = yaml.safe_load(result.stdout)
    assert doc["answers"]["wants_complete_degree"] == {"value": False, "origin": "prompt"}


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_interview_in_a_real_terminal():
    """Drive the installed program in a pseudo-terminal: colour on, why, back, finish."""
    transcript = _run_in_pty(["why", "yes", "back", *STEPPING, ""], {})
    assert "Still possible:" in transcript
    # asked, asked again after `why`, and again after `back`
    assert transcript.count("1. \x1b[1mIf you took a MicroMasters, could its credit") == 3
    assert "\x1b[1mWe recommend a MicroMasters as a stepping stone" in transcript
    plain = _run_in_pty([*STEPPING, ""], {"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "We recommend a MicroMasters as a stepping stone" in plain


@pytest.mark.slow
@pytest.mark.parametrize("columns", [60, 100])
def test_every_line_fits_the_terminal(columns):
    """At 60 and 100 columns: the intro, questions, why, review, not-asked list and result."""
    transcript = _run_in_pty(["why", *STEPPING, ""], {"NO_COLOR": "1"}, columns)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", transcript).splitlines()
    named = [line for line in lines if line.startswith("Knowledge base: ")]
    assert len(named) == 1  # it names a path, which is never broken
    lines.remove(named[0])
    assert max(len(line) for line in lines) <= columns, max(lines, key=len)
    text = " ".join(transcript.split())
    assert "Answer each question, or press Enter if you are not sure." in text
    assert "Your answers: 1. If you took a MicroMasters" in text
    assert "Not asked, because no answer could change the recommendation any more (4):" in text
    assert "We recommend a MicroMasters as a stepping stone to a master's." in text
    assert "Still possible:" in text


def _run_in_pty(lines: list[str], env: dict, columns: int = 80) -> str:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real terminal on stdin, stdout and stderr
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        os.environ.update({"COLUMNS": str(columns), "LINES": "40", "TERM": "xterm", **env})
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
            if pending and output.rstrip().endswith((b"quit]:", b"recommendation:")):
                os.write(fd, pending.pop(0).encode() + b"\r")
    os.close(fd)
    if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still running after the deadline: never hang CI
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return output.decode(errors="replace").replace("\r\n", "\n")
