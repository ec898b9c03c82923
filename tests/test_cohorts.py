"""Cohorts: batch consultations (CSV and JSON Lines, in input order on any number of processes,
error rows, traces and the log) and the impact of a rule change."""

from __future__ import annotations

import csv
import io
import json
import pickle
import shutil
import subprocess

import pytest
from conftest import FACTS, KB_ARGS, REPO, RULES, invoke

from mm_advisor.cohorts import batch, rows
from mm_advisor.knowledge import rulebase, synthetic
from mm_advisor.knowledge.layout import Layout

COHORT = """\
id,budget,wants_complete_degree,career_requires_masters_degree,program_offers_credit_pathway
ana,low,yes,,yes
ben,,no,no,
cy,lots,yes,,
dee,high,yes,yes,no
"""


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_csv_cohort_gives_one_result_per_row_in_order(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(COHORT)
    result = invoke("batch", *KB_ARGS, str(path), "--jobs", "1")
    assert result.exit_code == 1
    out = records(result.stdout)
    assert [r["id"] for r in out] == ["ana", "ben", "cy", "dee"]
    assert out[2] == {
        "id": "cy",
        "error": "row 3: fact 'budget': 'lots' is not one of low, medium, high",
    }
    assert result.stderr == (
        "1 of 4 rows could not be consulted (the first: row 3: fact 'budget': 'lots' is not one "
        "of low, medium, high)\n"
    )
    kb = rulebase.load(Layout.of(RULES, FACTS))
    for record, args in zip(
        (out[0], out[3]),
        (
            ["budget=low", "wants_complete_degree=yes", "program_offers_credit_pathway=yes"],
            ["budget=high", "wants_complete_degree=yes", "career_requires_masters_degree=yes",
             "program_offers_credit_pathway=no"],
        ),
    ):  # fmt: skip
        single = json.loads(
            invoke("consult", *KB_ARGS, "--no-input", "--format", "json",
                   *[a for s in args for a in ("--set", s)]).stdout
        )  # fmt: skip
        assert record["recommendation"] == single["recommendation"]
        assert record["scores"] == single["scores"]
        assert record["fired"] == [f["rule"] for f in single["fired"]]
        assert record["rulebase"] == kb.digest == single["rulebase"]["digest"]


def test_unknown_facts_bad_lines_and_ragged_rows_are_error_rows(tmp_path):
    path = tmp_path / "cohort.jsonl"
    path.write_text(
        '{"id": "x1", "budgett": "low"}\n'
        "not json\n"
        "\n"
        '["a list"]\n'
        '{"budget": "low", "months_available": 500}\n'
    )
    out = records(invoke("batch", *KB_ARGS, str(path)).stdout)
    assert out == [
        {"id": "x1", "error": "row 1: unknown fact 'budgett' (did you mean 'budget'?)"},
        {"id": "2", "error": "row 2: not JSON: Expecting value"},
        {"id": "3", "error": "row 3: not a JSON object of answers"},
        {
            "id": "4",
            "error": "row 4: fact 'months_available': 500 is outside the allowed range 1-120",
        },
    ]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,budget\nr1,low,extra\n")
    assert records(invoke("batch", *KB_ARGS, str(ragged)).stdout) == [
        {"id": "r1", "error": "row 1: 3 cells, but the header has 2"}
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("budget,budget\nlow,low\n", "{p}:1: the column 'budget' appears twice"),
        (b"budget\n\xff\xfe\n", "{p}: not UTF-8 text (invalid start byte)"),
        (b"\xff\xfe,budget\n", "{p}: not UTF-8 text (invalid start byte)"),
        # Regression: a misspelt column made every row an error row, exit 1.
        (
            "id,budgte,working_professional\n1,low,yes\n2,high,no\n",
            "{p}:1: the column 'budgte' is not a question of this knowledge base (did you mean "
            "'budget'?)",
        ),
    ],
)
def test_a_cohort_file_that_cannot_be_read_is_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    out = tmp_path / "out.jsonl"
    result = invoke("batch", *KB_ARGS, str(path), "--out", str(out))
    assert (result.exit_code, result.stderr) == (2, f"Error: {message.format(p=path)}\n")
    assert not out.exists()  # nothing half-written


def test_a_header_may_name_the_subject_column_and_impact_reads_it_the_same(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text("id,case,budget\n1,C-1,low\n")
    named = invoke("batch", *KB_ARGS, str(path), "--subject", "case")
    assert named.exit_code == 0 and records(named.stdout)[0]["recommendation"] == "undetermined"
    refused = invoke("batch", *KB_ARGS, str(path))
    assert (
        refused.stderr
        == f"Error: {path}:1: the column 'case' is not a question of this knowledge base\n"
    )
    impact = invoke("impact", *KB_ARGS, "--base", str(REPO), "--cohort", str(path))
    assert (impact.exit_code, impact.stderr) == (2, refused.stderr)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated cohort of 4,500 profiles, more than two chunks."""
    kb = rulebase.load(Layout.of(RULES, FACTS))
    path = tmp_path_factory.mktemp("cohort") / "cohort.jsonl"
    with path.open("w") as fh:
        for i, profile in enumerate(synthetic.random_profiles(kb.schema, 4500, seed=11)):
            fh.write(json.dumps({"id": f"p{i}", **profile}) + "\n")
    return path


def test_the_same_output_on_one_process_or_several_in_input_order(generated, tmp_path):
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}.csv"
        result = invoke("batch", *KB_ARGS, str(generated), "--jobs", jobs, "--out", str(out))
        assert result.exit_code == 0 and result.stderr == ""  # no progress line in a pipe
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    table = list(csv.DictReader(io.StringIO(outputs[0].decode())))
    assert [r["id"] for r in table] == [f"p{i}" for i in range(4500)]
    assert set(table[0]) == {"id", "recommendation", "scores", "fired", "rulebase", "error"}


def test_the_batch_core_is_a_picklable_function_of_a_partition(generated):
    """What Dask's map_partitions or Spark's mapPartitions would call, on a partition of rows."""
    where = Layout.of(RULES, FACTS)
    read, _, _ = rows.read(str(generated))
    partition = [row for row, _ in zip(read, range(50))]
    function = pickle.loads(pickle.dumps(batch.consult_partition))
    results = function(pickle.loads(pickle.dumps(partition)), where)
    via_cli = records(invoke("batch", *KB_ARGS, str(generated), "--jobs", "1").stdout)[:50]
    assert results == via_cli


@pytest.mark.parametrize("fmt", [rows.JSONL, rows.CSV])
def test_a_worker_given_records_writes_what_the_rows_would_give(tmp_path, fmt):
    """`batch` hands its workers raw records, numbered where the file is read (blank lines are
    no rows, a quoted line break no new row); what a worker makes of them is what the rows make,
    formatted, with its tally."""
    path = tmp_path / "c.csv"
    path.write_text(COHORT.replace("ben,", "\n ,  ,,,\nben,") + 'ed,"low\n' + "fay,low\n")
    shape, found, _, stream = rows.records(str(path))
    job = (list(found), shape, Layout.of(RULES, FACTS), fmt, False, None)
    stream.close()
    assert [number for number, _ in job[0]] == [1, 2, 3, 4, 5]
    done = batch.consult_chunk(*pickle.loads(pickle.dumps(job)))
    read, _, stream = rows.read(str(path))
    expected = io.StringIO()
    writer = rows.Writer(expected, fmt)
    for result in batch.consult_partition(read, Layout.of(RULES, FACTS)):
        writer.write(result)
    stream.close()
    assert done.text == expected.getvalue() and done.traces == []
    assert done.tally == batch.Tally(
        5, 2, "row 3: fact 'budget': 'lots' is not one of low, medium, high"
    )
    assert "row 5: 2 cells, but the header has 5" in done.text  # a quoted line break is in a cell


def test_traces_and_the_log_hold_each_consultation_with_its_subject(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text("id,student,budget\n../evil,S-1,low\nb,S-2,high\nb,S-3,\n")
    log = tmp_path / "log.db"
    traces = tmp_path / "traces"
    result = invoke("batch", *KB_ARGS, str(path), "--traces", str(traces), "--log", str(log),
                    "--subject", "student")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in traces.iterdir()) == ["_evil.json", "b-3.json", "b.json"]
    doc = json.loads((traces / "_evil.json").read_text())
    assert doc["subject"] == "S-1" and doc["answers"]["budget"]["value"] == "low"
    verified = invoke("audit", "verify", *KB_ARGS, str(traces / "b.json"))
    assert verified.exit_code == 0, verified.stdout
    listed = json.loads(invoke("audit", "list", "--log", str(log), "--format", "json").stdout)
    assert [e["subject"] for e in listed] == ["S-1", "S-2", "S-3"]


def test_standard_input_is_read_and_its_format_recognised():
    result = invoke("batch", *KB_ARGS, "-", input='{"id": "a", "budget": "low"}\n')
    assert [r["id"] for r in records(result.stdout)] == ["a"]
    result = invoke("batch", *KB_ARGS, "-", "--format", "csv", input="budget\nlow\n")
    assert result.stdout.splitlines()[0] == "id,recommendation,scores,fired,rulebase,error"
    assert result.stdout.splitlines()[1].startswith("1,undetermined,")


# --- impact --------------------------------------------------------------------------------


@pytest.fixture
def changed_kb(tmp_path):
    """A copy of the knowledge base with the stepping-stone weight raised from 3 to 6."""
    root = tmp_path / "kb"
    assert invoke("init", str(root)).exit_code == 0
    rules = root / "rules" / "4-benefits.yaml"
    text = rules.read_text()
    assert text.count("score: {micromasters_pathway: 3}") == 1
    rules.write_text(
        text.replace("score: {micromasters_pathway: 3}", "score: {micromasters_pathway: 6}")
    )
    return root


def test_impact_names_the_transitions_their_rules_and_examples(changed_kb, generated):
    base = changed_kb.parent / "base"
    assert invoke("init", str(base)).exit_code == 0
    result = invoke("impact", "--kb", str(changed_kb), "--base", str(base), "--cohort",
                    str(generated), "--format", "json")  # fmt: skip
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["profiles"] == 4500 and report["changed"] > 0
    assert sum(sum(row.values()) for row in report["matrix"].values()) == 4500
    first = report["transitions"][0]
    assert first["to"] == "micromasters_pathway"
    assert first["causes"][0] == {
        "rule": "stepping-stone",
        "profiles": first["count"],
        "change": "changed: weight for micromasters_pathway changed from +3 to +6",
    }
    assert 1 <= len(first["examples"]) <= 5
    example = first["examples"][0].split()  # pasted as it is: the facts not given stay unknown
    assert example[:3] == ["mm-advisor", "consult", "--no-input"]
    before = invoke(*example[1:], "--kb", str(base), "--format", "json")
    after = invoke(*example[1:], "--kb", str(changed_kb), "--format", "json")
    assert json.loads(before.stdout)["recommendation"] == first["from"]
    assert json.loads(after.stdout)["recommendation"] == first["to"]
    failing = invoke("impact", "--kb", str(changed_kb), "--base", str(base), "--cohort",
                     str(generated), "--fail-on-change", "--format", "markdown")  # fmt: skip
    assert failing.exit_code == 1
    assert "| micromasters_pathway |" in failing.stdout and "`stepping-stone`" in failing.stdout
    same = invoke("impact", "--kb", str(base), "--base", str(base), "--cohort", str(generated),
                  "--fail-on-change")  # fmt: skip
    assert same.exit_code == 0
    assert same.stdout.splitlines()[1] == "  0 recommendations change (0.0%)."


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_impact_against_a_git_revision_over_the_log(changed_kb, tmp_path):
    original = (changed_kb / "rules" / "4-benefits.yaml").read_text()
    subprocess.run(["git", "init", "-q", str(changed_kb)], check=True)
    git = ["git", "-C", str(changed_kb), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "weights"], check=True)
    log = tmp_path / "log.db"
    for profile in sorted((REPO / "facts" / "profiles").glob("*.yaml")):
        invoke("consult", "--kb", str(changed_kb), "--answers", str(profile), "--log", str(log))
    rules = changed_kb / "rules" / "4-benefits.yaml"
    rules.write_text(original.replace("micromasters_pathway: 6}", "micromasters_pathway: -3}"))
    result = invoke("impact", "--kb", str(changed_kb), "--base", "HEAD", "--log", str(log))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        f"Impact of {changed_kb} (--kb) against git revision HEAD, over 7 profiles (the log "
        f"{log}):",
        "  1 recommendation changes (14.3%).",
    ]
    assert lines[9:] == [
        "micromasters_pathway -> undetermined: 1 profile",
        "  because of stepping-stone (changed: weight for micromasters_pathway changed from +6 "
        "to -3): 1",
        "",
        "Examples are left out: they would show the answers of the people in the log "
        "(--show-answers shows them).",
    ]
    args = ("impact", "--kb", str(changed_kb), "--base", "HEAD", "--log", str(log))
    markdown = invoke(*args, "--format", "markdown").stdout
    assert "```" not in markdown and "consult --no-input" not in markdown
    assert markdown.endswith("(--show-answers shows them).\n")
    data = json.loads(invoke(*args, "--format", "json").stdout)
    assert (data["answers_shown"], data["transitions"][0]["examples"]) == (False, [])
    shown = invoke(*args, "--format", "markdown", "--show-answers").stdout
    assert "```sh\nmm-advisor consult --no-input --set " in shown and "left out" not in shown


def test_impact_needs_one_source_of_profiles(changed_kb):
    result = invoke("impact", "--kb", str(changed_kb), "--base", str(changed_kb))
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: give the profiles to run: --cohort FILE or --log DB (one of them)\n",
    )


@pytest.mark.slow
def test_a_partitioned_batch_runs_on_a_dask_cluster(generated):
    """The same core under Dask's distributed scheduler, on a local cluster of two processes
    (dask is a test extra; CI fails if this skips)."""
    distributed = pytest.importorskip("dask.distributed")
    bag = pytest.importorskip("dask.bag")
    read, _, _ = rows.read(str(generated))
    cohort = list(read)
    where = Layout.of(RULES, FACTS)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        results = (
            bag.from_sequence(cohort, npartitions=4)
            .map_partitions(batch.consult_partition, where)
            .compute()
        )
    assert results == records(invoke("batch", *KB_ARGS, str(generated), "--jobs", "1").stdout)


@pytest.mark.slow
def test_progress_shows_on_a_terminal_and_never_with_quiet(generated, tmp_path):
    """A pipe gets nothing (tested above); a terminal gets the rows, their rate and the time."""
    import os
    import pty
    import sys

    outputs = []
    for quiet in ([], ["--quiet"]):
        leader, follower = pty.openpty()
        done = subprocess.run(
            [sys.executable, "-m", "mm_advisor", "batch", *KB_ARGS, str(generated), "--jobs", "1",
             "--out", str(tmp_path / "out.jsonl"), *quiet],
            stderr=follower, stdout=subprocess.DEVNULL, check=False, timeout=120,
        )  # fmt: skip
        os.close(follower)
        text = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            text += chunk
        os.close(leader)
        assert done.returncode == 0
        outputs.append(text.decode())
    assert "4,500 rows in " in outputs[0]
    assert "rows in" not in outputs[1]


def test_a_subject_is_held_to_the_same_rule_as_consult_subject(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text('id,student,budget\na," ",low\nb,"x\x1by",low\nc,S-3,low\n')
    out = records(invoke("batch", *KB_ARGS, str(path), "--subject", "student").stdout)
    assert out[0] == {"id": "a", "error": "row 1: the subject: a reference cannot be blank"}
    assert out[1] == {
        "id": "b",
        "error": "row 2: the subject: a reference cannot hold U+001B: a control character, "
        "or one that cannot be seen or looks like a space",
    }
    assert out[2]["recommendation"] == "undetermined"
    refused = invoke("consult", *KB_ARGS, "--no-input", "--subject", " ")
    assert (refused.exit_code, refused.stderr) == (
        2,
        "Error: --subject ' ': a reference cannot be blank\n",
    )


def test_a_subject_column_that_is_not_there_is_an_error_not_a_log_nobody_can_erase(tmp_path):
    """Regression: every row was consulted and logged without a subject, exit 0."""
    rows = tmp_path / "cohort.jsonl"
    rows.write_text('{"id": "a", "budget": "low"}\n')
    log = tmp_path / "log.db"
    result = invoke("batch", *KB_ARGS, str(rows), "--subject", "ref", "--log", str(log))
    assert (result.exit_code, records(result.stdout)) == (
        1,
        [{"id": "a", "error": "row 1: no subject ('ref' is missing or empty)"}],
    )
    assert invoke("audit", "list", "--log", str(log), "--format", "json").stdout == "[]\n"
    path = tmp_path / "cohort.csv"
    path.write_text("id,student,budget\na,S-1,low\nb,,low\n")
    empty = invoke("batch", *KB_ARGS, str(path), "--subject", "student", "--log", str(log))
    assert [r.get("error") for r in records(empty.stdout)] == [
        None,
        "row 2: no subject ('student' is missing or empty)",
    ]
    refused = invoke("batch", *KB_ARGS, str(path), "--subject", "id")
    assert (refused.exit_code, refused.stderr) == (
        2,
        "Error: --subject id: the id names the row in the results; give the column that holds "
        "each person's reference\n",
    )


def test_impact_names_the_rows_it_could_not_compare(changed_kb, tmp_path):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("budget\nlow\nlots\n")
    result = invoke("impact", "--kb", str(changed_kb), "--base", str(changed_kb), "--cohort",
                    str(cohort))  # fmt: skip
    assert result.stdout.splitlines()[1:3] == [
        "  0 recommendations change (0.0%).",
        "  1 row could not be compared (the first: row 2: fact 'budget': 'lots' is not one of "
        "low, medium, high).",
    ]


def test_sample_writes_a_made_up_cohort_that_batch_reads_whole():
    result = invoke("sample", *KB_ARGS, "3", "--seed", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "wants_career_acceleration,skill_in_high_demand,wants_to_reduce_cost,"
        "unsure_about_graduate_degree,working_professional,needs_flexible_schedule,"
        "wants_complete_degree,career_requires_masters_degree,wants_extensive_coursework,"
        "wants_research_experience,wants_campus_networking,meets_traditional_admission,"
        "program_offers_credit_pathway,months_available,budget\n"
        "yes,,yes,no,,,,no,no,no,yes,no,no,55,low\n"
        ",,,no,yes,no,no,no,no,,no,yes,no,26,medium\n"
        "no,no,yes,yes,no,no,no,yes,no,yes,no,yes,yes,,medium\n"
    )
    cohort = invoke("sample", *KB_ARGS, "500", "--seed", "9").stdout
    assert invoke("sample", *KB_ARGS, "500", "--seed", "9").stdout == cohort
    out = records(invoke("batch", *KB_ARGS, "-", "--jobs", "1", input=cohort).stdout)
    assert [r["id"] for r in out] == [str(n) for n in range(1, 501)]
    assert all("error" not in r for r in out)
    assert len({r["recommendation"] for r in out}) == 4  # every recommendation occurs


def test_sample_as_json_lines_gives_the_same_profiles(tmp_path):
    kb = rulebase.load(Layout.of(RULES, FACTS))
    read = {}
    for name in ("cohort.jsonl", "cohort.csv"):
        path = tmp_path / name
        assert invoke("sample", *KB_ARGS, "40", "--seed", "5", "--out", str(path)).exit_code == 0
        found, _, stream = rows.read(str(path))
        read[name] = [batch.parse(row, kb.schema)[0].values for row in found]
        stream.close()
    assert read["cohort.jsonl"] == read["cohort.csv"] and len(read["cohort.csv"]) == 40
    assert '"id"' not in (tmp_path / "cohort.jsonl").read_text()  # the row number is its id


def test_sample_keeps_every_number_within_its_question(kb_copy):
    """Regression: numbers were drawn up to 30 whatever the question's maximum, so a cohort made
    for a knowledge base whose number question stops lower had rows batch refused."""
    rules, facts = kb_copy
    questions = facts / "questions.yaml"
    questions.write_text(questions.read_text().replace("max: 120", "max: 12", 1))
    made = invoke("sample", "--rules", str(rules), "--facts", str(facts), "300", "--format",
                  "jsonl")  # fmt: skip
    months = [json.loads(line).get("months_available") for line in made.stdout.splitlines()]
    assert max(m for m in months if m is not None) == 12
    checked = invoke("batch", "--rules", str(rules), "--facts", str(facts), "-", "--jobs", "1",
                     input=made.stdout)  # fmt: skip
    assert checked.exit_code == 0, checked.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sample"], "Error: Missing argument 'COUNT'."),
        (["sample", "many"], "Error: Invalid value for 'COUNT': 'many' is not a valid integer range."),
        (["sample", "3", "--format", "xml"],
         "Error: Invalid value for '--format': 'xml' is not one of 'csv', 'jsonl'."),
    ],
)  # fmt: skip
def test_sample_refuses_a_mistake_in_one_line(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_an_example_line_keeps_a_number_one_a_number():
    """Regression: examples spelled yes/no through {True: "yes", False: "no"}.get(value), and
    since 1 == True, a 1-month answer was printed as --set months_available=yes."""
    from mm_advisor.cohorts import impact

    kb = rulebase.load(Layout.of(RULES, FACTS))
    line = impact.set_line({"months_available": 1, "working_professional": True}, kb.schema)
    assert line == (
        "mm-advisor consult --no-input --set months_available=1 --set working_professional=yes"
    )
    result = invoke(*line.split()[1:], *KB_ARGS, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["answers"]["months_available"]["value"] == 1


def test_no_trace_file_replaces_another(tmp_path):
    """Regression: row ids x-3, x, x gave three rows and two files, the third row's trace in
    x-3.json over the first's."""
    from mm_advisor.cohorts.batch import trace_name

    taken: set[str] = set()
    names = [trace_name(i, n, taken) for n, i in enumerate(["x-3", "x", "x", "x-3", "", "."], 1)]
    assert names == ["x-3.json", "x.json", "x-3-2.json", "x-3-4.json", "row-5.json", "row-6.json"]
    cohort = tmp_path / "c.jsonl"
    cohort.write_text(
        '{"id": "x-3", "budget": "low"}\n{"id": "x", "budget": "high"}\n'
        '{"id": "x", "budget": "medium"}\n'
    )
    out = tmp_path / "traces"
    result = invoke("batch", *KB_ARGS, str(cohort), "--traces", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    kept = {p.name: json.loads(p.read_text())["answers"]["budget"]["value"] for p in out.iterdir()}
    assert kept == {"x-3.json": "low", "x.json": "high", "x-3-2.json": "medium"}
