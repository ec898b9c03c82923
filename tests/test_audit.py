"""Audit traces: schema, determinism, explain (how / why not / what if), verify, and the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import FACTS, KB_ARGS, PROFILES, RULES, invoke, retitle_cost_rule

from mm_advisor import __version__
from mm_advisor.audit import trace
from mm_advisor.knowledge.schema import UNDETERMINED

SCHEMA = json.loads((resources.files("mm_advisor") / "schemas" / "trace.schema.json").read_text())
STEPPING = str(PROFILES / "stepping-stone.yaml")


def consult_trace(tmp_path: Path, *args: str, name: str = "t.json") -> Path:
    out = tmp_path / name
    result = invoke("consult", *KB_ARGS, *args, "--trace-out", str(out), "--format", "json")
    assert result.exit_code == 0, result.stderr
    return out


@pytest.mark.parametrize("profile", sorted(p.name for p in PROFILES.glob("*.yaml")))
def test_every_trace_validates_against_the_shipped_schema(tmp_path, profile):
    doc = json.loads(consult_trace(tmp_path, "--answers", str(PROFILES / profile)).read_text())
    jsonschema.validate(doc, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_interactive_and_empty_traces_validate(tmp_path):
    empty = json.loads(consult_trace(tmp_path, "--set", "budget=unknown").read_text())
    jsonschema.validate(empty, SCHEMA)
    out = tmp_path / "i.json"
    invoke(
        "consult",
        *KB_ARGS,
        "--ask-all",
        "--trace-out",
        str(out),
        input="yes\n" * 13 + "12\nlow\n\n",
    )
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    assert {a["origin"] for a in doc["answers"].values()} == {"prompt"}


def test_trace_records_everything_the_auditor_needs(tmp_path):
    doc = json.loads(
        consult_trace(tmp_path, "--answers", STEPPING, "--set", "budget=high").read_text()
    )
    assert doc["tool"] == {"name": "mm-advisor", "version": __version__, "experta": "1.9.4"}
    assert doc["answers"]["budget"] == {"value": "high", "origin": "set"}
    assert doc["answers"]["months_available"] == {"value": 12, "origin": "answers-file"}
    assert doc["answers"]["wants_research_experience"] == {"value": None, "origin": "default"}
    firing = next(f for f in doc["fired"] if f["rule"] == "full-degree-exceeds-time")
    assert firing["bindings"] == {
        "v_months_available": 12,
        "b_full_masters__duration_min_months": 18,
    }
    assert firing["derived"] == ["full_degree_exceeds_time"] and firing["salience"] == 30
    research = next(b for b in doc["not_fired"] if b["rule"] == "research-opportunities")
    assert research == {
        "rule": "research-opportunities",
        "title": "Research opportunities come with a full master's",
        "location": "rules/3-full-masters.yaml:36",
        "condition": "wants_research_experience is yes",
        "index": 0,
        "result": "unknown",
        "seen": {"wants_research_experience": None},
    }
    assert doc["content_digest"] == trace.content_digest(doc)


def _trace_in_process(tmp_path: Path, seed: str) -> dict:
    out = tmp_path / f"trace-{seed}.json"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from mm_advisor.cli import main; main()",
            "consult",
            *KB_ARGS,
            "--answers",
            STEPPING,
            "--trace-out",
            str(out),
        ],
        env={**os.environ, "PYTHONHASHSEED": seed},
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text())


@pytest.mark.slow
def test_traces_are_identical_across_processes_but_for_created_at(tmp_path):
    docs = [_trace_in_process(tmp_path, seed) for seed in ("1", "77")]
    for doc in docs:
        doc.pop("created_at"), doc.pop("content_digest")
    assert trace.dumps(docs[0]) == trace.dumps(docs[1])


def test_explain_tells_how_why_not_and_what_if(tmp_path):
    path = consult_trace(tmp_path, "--answers", STEPPING)
    out = invoke("explain", *KB_ARGS, str(path)).stdout
    assert out.startswith(
        "Recommendation: A MicroMasters as a stepping stone to a master's\n(micromasters_pathway)\n"
    )
    how = out[out.index("How it was reached") : out.index("Why not the other options")]
    assert (
        "  Ruled out micromasters:\n"
        "    step 13, credential-row-degree: A degree goal needs a degree, and a\n"
    ) in how
    assert "        derived micromasters_goal, from:\n          step 5, career-acceleration:" in how
    why_not = out[out.index("Why not the other options") : out.index("What if an answer changed")]
    assert (
        "      research-opportunities (+2): Research opportunities come with a full\n"
        "          master's\n"
        "        stopped by condition 1, wants_research_experience is yes: unknown\n"
        "            (wants_research_experience was unknown)\n"
    ) in why_not
    what_if = out[out.index("What if an answer changed") :]
    assert "    wants_complete_degree = no or unknown (was yes) -> micromasters\n" in what_if


def test_what_if_changes_are_real_reruns(tmp_path, advisor, kb):
    doc = json.loads(consult_trace(tmp_path, "--answers", STEPPING).read_text())
    answers = {name: entry["value"] for name, entry in doc["answers"].items()}
    changes = advisor.what_if(answers)
    assert changes
    for change in changes:
        assert (
            advisor.consult({**answers, change.fact: change.value}).recommendation
            == change.recommendation
            != doc["recommendation"]
        )


def test_explain_one_rule_fired_or_not(tmp_path):
    path = str(consult_trace(tmp_path, "--answers", STEPPING))
    fired = invoke("explain", *KB_ARGS, path, "--rule", "credit-stacks").stdout
    assert "Rule credit-stacks\n------------------\n  Fired as step 4:\n" in fired
    assert (
        "      on program_offers_credit_pathway = yes\n      derived full_degree_goal, from:\n"
        in fired
    )
    blocked = invoke("explain", *KB_ARGS, path, "--rule", "cost-reduction-credit").stdout
    assert "    stopped by condition 1, cost_sensitive has been derived: false\n" in blocked
    missing = invoke("explain", *KB_ARGS, path, "--rule", "credit-stack")
    assert (missing.exit_code, missing.stderr) == (
        2,
        "Error: the trace has no rule 'credit-stack' (did you mean 'credit-stacks'?)\n",
    )


def test_explain_markdown(tmp_path):
    path = str(consult_trace(tmp_path, "--answers", STEPPING))
    out = invoke("explain", *KB_ARGS, path, "--format", "markdown").stdout
    assert out.startswith(
        "# Recommendation: A MicroMasters as a stepping stone to a master's "
        "(micromasters_pathway)\n"
    )
    assert (
        "\n## How it was reached\n\n- micromasters_pathway gathered the most weighed evidence"
    ) in out
    assert "\n## What if an answer changed\n" in out


def test_explain_undetermined_trace(tmp_path):
    path = str(consult_trace(tmp_path, "--set", "budget=medium"))
    out = invoke("explain", *KB_ARGS, path).stdout
    assert "  Undetermined: no option gathered positive evidence" in out
    assert "  No rule fired: the answers given meet no rule's conditions.\n" in out


def test_terminal_control_sequences_never_reach_the_screen(tmp_path):
    doc = json.loads(consult_trace(tmp_path, "--answers", STEPPING).read_text())
    doc["summary"] = "evil \x1b[2J\x1b]0;pwned\x07 text"
    next(f for f in doc["fired"] if f["rule"] == "degree-goal")["title"] = "\x1b[31mred\x1b[0m"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    for args in (
        ["explain", *KB_ARGS, str(path), "--force"],
        ["explain", *KB_ARGS, str(path)],
        ["audit", "verify", *KB_ARGS, str(path)],
    ):
        result = invoke(*args)
        out = result.stdout + result.stderr
        assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31mred\\x1b[0m" in invoke("explain", *KB_ARGS, str(path), "--force").stdout


def test_verify_intact_trace(tmp_path):
    path = str(consult_trace(tmp_path, "--answers", STEPPING))
    result = invoke("audit", "verify", *KB_ARGS, path)
    assert (result.exit_code, result.stdout) == (
        0,
        (
            "content digest: ok\n"
            "signature: none: the trace is not signed, and anyone can recompute a digest\n"
            "rule files: the same as when the consultation was made\n"
            "recommendation: reproduced (micromasters_pathway)\n"
            "reasoning: the same rules fired in the same order, with the same scores\n"
            "verdict: intact, and today's rules reproduce it (exit 0)\n"
        ),
    )


def test_verify_names_a_changed_rule_file_and_the_changed_firing(tmp_path, kb_copy):
    path = str(consult_trace(tmp_path, "--answers", STEPPING))
    rules, facts = kb_copy
    full = rules / "3-full-masters.yaml"
    full.write_text(
        full.read_text().replace(
            "      - fact: wants_research_experience\n        is: yes\n",
            "      - fact: wants_extensive_coursework\n        is: no\n",
        )
    )
    result = invoke("audit", "verify", "--rules", str(rules), "--facts", str(facts), path)
    assert result.exit_code == 4
    assert result.stdout.splitlines() == [
        "content digest: ok",
        "signature: none: the trace is not signed, and anyone can recompute a digest",
        "rule files: changed since the consultation",
        "  changed: rules/3-full-masters.yaml",
        "recommendation: reproduced (micromasters_pathway)",
        "rules that now fire: research-opportunities",
        "score of full_masters: recorded -1, today +1",
        "verdict: intact, the same recommendation, but the REASONING DIFFERS (exit 4)",
    ]


def test_verify_shows_a_weight_change_that_fires_the_same_rules(tmp_path, kb_copy):
    path = str(consult_trace(tmp_path, "--answers", STEPPING))
    rules, facts = kb_copy
    benefits = rules / "4-benefits.yaml"
    benefits.write_text(
        benefits.read_text().replace(
            "score: {micromasters_pathway: 3}", "score: {micromasters_pathway: 4}"
        )
    )
    result = invoke("audit", "verify", "--rules", str(rules), "--facts", str(facts), path)
    assert result.exit_code == 4
    assert result.stdout.splitlines()[2:] == [
        "rule files: changed since the consultation",
        "  changed: rules/4-benefits.yaml",
        "recommendation: reproduced (micromasters_pathway)",
        "score of micromasters_pathway: recorded +4, today +5",
        "verdict: intact, the same recommendation, but the REASONING DIFFERS (exit 4)",
    ]


def test_verify_detects_a_flipped_byte(tmp_path):
    path = consult_trace(tmp_path, "--answers", STEPPING)
    data = bytearray(path.read_bytes())
    where = data.index(b'"value": 12')
    data[where + len('"value": 1')] = ord("3")
    path.write_bytes(bytes(data))
    result = invoke("audit", "verify", *KB_ARGS, str(path))
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "content digest: MISMATCH: the trace was edited after it was written\n"
    )


def test_verify_accepts_the_stdout_json_too(tmp_path):
    path = tmp_path / "out.json"
    path.write_text(invoke("consult", *KB_ARGS, "--answers", STEPPING, "--format", "json").stdout)
    assert invoke("audit", "verify", *KB_ARGS, str(path)).exit_code == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "{nope",
            "Error: {p}:1:2: not valid JSON: Expecting property name enclosed in double quotes",
        ),
        ("[]", "Error: {p}: not an mm-advisor trace (trace_version 1 or 2 expected)"),
    ],
)
def test_bad_trace_files_are_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    for command in (["audit", "verify"], ["explain"]):
        result = invoke(*command, *KB_ARGS, str(path))
        assert (result.exit_code, result.stderr) == (2, message.format(p=path) + "\n")


def test_a_trace_that_breaks_its_schema_is_refused_as_tampered(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"trace_version": 1}')
    verified = invoke("audit", "verify", *KB_ARGS, str(path))
    assert (verified.exit_code, verified.stdout) == (
        1,
        f"{path}: not a valid trace: $: missing 'tool'\n"
        "verdict: TAMPERED: it was changed after it was written\n",
    )
    explained = invoke("explain", *KB_ARGS, str(path))
    assert (explained.exit_code, explained.stderr) == (
        1,
        f"Error: {path}: not a valid trace: $: missing 'tool'\n",
    )


def test_log_is_off_by_default_and_written_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    invoke("consult", *KB_ARGS, "--answers", STEPPING)
    assert list(tmp_path.iterdir()) == []
    log = tmp_path / "log.db"
    result = invoke("consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log))
    assert result.stderr == f"Logged as consultation 1 in {log}.\n"
    monkeypatch.setenv("MM_ADVISOR_LOG", str(log))
    invoke("consult", *KB_ARGS, "--set", "budget=medium")
    listing = invoke("audit", "list")
    assert listing.stderr == "2 consultations.\n"
    rows = listing.stdout.splitlines()
    assert rows[0].split() == [
        "ID", "TIME", "(UTC)", "SUBJECT", "RECOMMENDATION", "SIGNED", "BY", "DIGEST",
    ]  # fmt: skip
    assert rows[1].split()[0::3] == ["1", "micromasters_pathway"]
    assert rows[2].split()[3] == UNDETERMINED
    only = invoke("audit", "list", "--recommendation", UNDETERMINED).stdout.splitlines()
    assert [r.split()[0] for r in only[1:]] == ["2"]
    assert invoke("audit", "list", "--since", "2999-01-01").stdout.splitlines()[1:] == []
    assert invoke("audit", "list", "--since", "2000-01-01").stderr == "2 consultations.\n"
    exported = tmp_path / "e.json"
    exported.write_text(invoke("audit", "export", "1").stdout)
    verified = invoke("audit", "verify", *KB_ARGS, str(exported))
    assert verified.exit_code == 0, verified.stderr
    shown = invoke("audit", "show", *KB_ARGS, "1").stdout
    assert shown.startswith("Consultation 1, 20") and "We recommend a MicroMasters as a" in shown
    missing = invoke("audit", "show", "9")
    assert (missing.exit_code, missing.stderr) == (2, f"Error: {log}: no consultation with id 9\n")


def test_log_errors(tmp_path):
    assert invoke("audit", "list").stderr == (
        "Error: no consultation log: give --log PATH or set MM_ADVISOR_LOG\n"
    )
    not_db = tmp_path / "x.db"
    not_db.write_text("hello, this is not a database" * 10)
    result = invoke("audit", "list", "--log", str(not_db))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {not_db}: not a consultation log (file is not a database)\n",
    )


@pytest.mark.slow
def test_parallel_processes_lose_no_consultation(tmp_path):
    log = tmp_path / "log.db"
    script = (
        "import sys\nfrom mm_advisor.cli import main\n"
        "sys.argv = ['mm-advisor', 'consult', '--rules', sys.argv[1], '--facts', sys.argv[2],"
        " '--answers', sys.argv[3], '--log', sys.argv[4], '--format', 'json']\n"
        "for _ in range(5):\n"
        "    try:\n        main()\n    except SystemExit as e:\n"
        "        assert not e.code, e.code\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(RULES), str(FACTS), STEPPING, str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(6)
    ]
    errors = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    listing = json.loads(invoke("audit", "list", "--log", str(log), "--format", "json").stdout)
    assert [row["id"] for row in listing] == list(range(1, 31))


def test_explain_names_every_rule_that_fired(tmp_path):
    """The issue's case: needs-flexibility fired, yet bore on nothing the explanation showed."""
    path = consult_trace(
        tmp_path, "--no-input", "--set", "wants_career_acceleration=yes",
        "--set", "working_professional=yes", "--set", "needs_flexible_schedule=yes",
        "--set", "wants_to_reduce_cost=yes", "--set", "wants_complete_degree=yes",
        "--set", "program_offers_credit_pathway=yes",
    )  # fmt: skip
    doc = json.loads(path.read_text())
    for fmt in ("text", "markdown", "json"):
        out = invoke("explain", *KB_ARGS, str(path), "--format", fmt).stdout
        for firing in doc["fired"]:
            assert firing["rule"] in out, (fmt, firing["rule"])
    text = invoke("explain", *KB_ARGS, str(path)).stdout
    assert "  Also fired, without bearing on the result above:\n" in text
    assert (
        "    step 2, needs-flexibility: Working while studying, or fitting study around\n" in text
    )


def test_explain_markdown_keeps_rule_text_inert(tmp_path, kb_copy):
    """Regression: `<img onerror>` in a rule's title came out as live HTML in Markdown."""
    rules, facts = kb_copy
    retitle_cost_rule(rules, "'Cost <img src=x onerror=alert(1)> [click](http://x) | a'")
    args = ("--rules", str(rules), "--facts", str(facts))
    path = str(tmp_path / "t.json")
    made = invoke("consult", *args, "--set", "wants_to_reduce_cost=yes", "--trace-out", path)
    assert made.exit_code == 0, made.stderr
    out = invoke("explain", *args, path, "--format", "markdown").stdout
    assert out.count("<img") == out.count("\\<img") > 0 and out.count("](") == out.count("\\](")
    assert "Cost \\<img src=x onerror=alert(1)\\> \\[click\\](http://x) \\| a" in out


def test_a_change_of_comments_only_is_named_as_such_and_keeps_edits_detectable(tmp_path, kb_copy):
    """Regression: a knowledge base copied by init (only a comment line differs) showed every
    file as changed, while `rules diff` said nothing changed in meaning."""
    path = consult_trace(tmp_path, "--answers", STEPPING)
    rules, facts = kb_copy
    benefits = rules / "4-benefits.yaml"
    benefits.write_text("# A comment an advisor added.\n" + benefits.read_text())
    args = ("--rules", str(rules), "--facts", str(facts))
    result = invoke("audit", "verify", *args, str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[2:4] == [
        "rule files: only comments or layout changed since the consultation",
        "  comments or layout only: rules/4-benefits.yaml",
    ]
    doc = json.loads(path.read_text())
    doc["derived"].append("cost_sensitive")  # an edit the same rules cannot explain
    doc["content_digest"] = trace.content_digest(doc)
    path.write_text(json.dumps(doc))
    assert invoke("audit", "verify", *args, str(path)).exit_code == 1
