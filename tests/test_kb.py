"""A knowledge base of one's own: found where the advisor works, created by init, citing its own
sources."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import REPO, invoke

from mm_advisor import __version__
from mm_advisor.knowledge import layout, sources
from mm_advisor.knowledge.layout import MARKER


@pytest.fixture
def own_kb(tmp_path, monkeypatch):
    """A knowledge base made by `mm-advisor init`, with the working directory inside it."""
    result = invoke("init", str(tmp_path / "kb"))
    assert result.exit_code == 0, result.stderr
    monkeypatch.chdir(tmp_path / "kb")
    monkeypatch.delenv(layout.ENV, raising=False)
    return tmp_path / "kb"


def first_line(*args: str) -> str:
    return invoke(*args, kb_line=True).stdout.splitlines()[0]


def test_the_repository_is_a_knowledge_base(monkeypatch):
    monkeypatch.chdir(REPO / "facts" / "profiles")  # below the root: found by walking up
    monkeypatch.delenv(layout.ENV, raising=False)
    assert first_line("kb") == f"Knowledge base: {REPO} (mm-advisor.toml found)"


def test_outside_any_knowledge_base_the_shipped_one_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(layout.ENV, raising=False)
    assert first_line("kb").endswith("(shipped with mm-advisor)")


def test_the_knowledge_base_is_named_on_stderr_and_only_when_it_is_not_the_shipped_one(
    own_kb, tmp_path, monkeypatch
):
    """The person consulting the shipped knowledge base reads the advice alone, and
    `consult ... > advice.txt` keeps only the advice; an advisor trying their own knowledge
    base sees, on the terminal, that it is theirs."""
    args = ("consult", "--no-input", "--set", "budget=low")
    own = invoke(*args, kb_line=True)
    assert own.stderr == "Knowledge base: . (mm-advisor.toml found)\n"
    assert own.stdout.startswith("Not enough to decide yet.\n")
    monkeypatch.chdir(tmp_path)
    shipped = invoke(*args, kb_line=True)
    assert (shipped.stderr, shipped.stdout) == ("", own.stdout)


def test_a_long_path_is_named_on_one_line_and_never_wrapped(tmp_path, monkeypatch):
    """CI installs the package under a long site-packages path: the line once wrapped there."""
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 6)
    assert invoke("init", str(deep)).exit_code == 0
    monkeypatch.delenv(layout.ENV, raising=False)
    lines = invoke("rules", "lint", "--kb", str(deep), kb_line=True).stderr.splitlines()
    assert lines[0] == f"Knowledge base: {deep} (--kb)"
    assert lines[1].endswith("warnings.")


def test_kb_option_then_environment_then_discovery(own_kb, tmp_path, monkeypatch):
    assert first_line("kb") == "Knowledge base: . (mm-advisor.toml found)"
    monkeypatch.setenv(layout.ENV, str(REPO))
    assert first_line("kb") == f"Knowledge base: {REPO} (MM_ADVISOR_KB)"
    assert first_line("kb", "--kb", str(own_kb)) == "Knowledge base: . (--kb)"


def test_an_edit_in_ones_own_knowledge_base_takes_effect_without_flags(own_kb):
    rules = own_kb / "rules" / "2-smart-investment.yaml"
    rules.write_text(
        rules.read_text().replace("fact: skill_in_high_demand", "fact: skill_in_demand", 1)
    )
    result = invoke("rules", "test")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: rules/2-smart-investment.yaml:16:15: unknown fact 'skill_in_demand' (did you mean "
        "'skill_in_high_demand'?)"
    )
    assert invoke("consult", "--no-input").exit_code == 2


def test_kb_reports_what_the_knowledge_base_holds(own_kb):
    facts = json.loads(invoke("kb", "--format", "json").stdout)
    assert {k: facts[k] for k in ("rules", "questions", "sources", "scenarios", "invariants")} == {
        "rules": 30,
        "questions": 15,
        "sources": 1,
        "scenarios": 47,
        "invariants": 28,
    }
    assert facts["path"] == str(own_kb.resolve()) and facts["digest"].startswith("sha256:")


def test_the_trace_records_the_knowledge_base(own_kb):
    doc = json.loads(invoke("consult", "--no-input", "--format", "json").stdout)
    assert doc["rulebase"]["path"] == str(own_kb.resolve())
    assert doc["rulebase"]["sources"] == {"article": {"title": "Are MicroMasters Worth It?"}}


@pytest.mark.slow
def test_init_gives_a_clean_knowledge_base_whose_schemas_resolve(own_kb):
    assert invoke("rules", "lint", "--strict").exit_code == 0
    assert invoke("rules", "test").exit_code == 0
    assert invoke("rules", "check").exit_code == 0
    files = sorted(own_kb.rglob("*.yaml"))
    named = 0
    for path in files:
        line = path.read_text().splitlines()[0]
        if not line.startswith("# yaml-language-server: $schema="):
            continue
        schema_path = (path.parent / line.split("=", 1)[1]).resolve()
        assert schema_path.is_file() and schema_path.parent == (own_kb / "schemas").resolve()
        schema = json.loads(schema_path.read_text())
        assert "invalid" not in schema["$id"]
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
        named += 1
    assert named >= 14
    assert (own_kb / "README.md").read_text().startswith("# Our mm-advisor knowledge base")
    assert "id: mm-advisor-lint" in (own_kb / ".pre-commit-config.yaml").read_text()


def test_the_readme_init_writes_names_only_what_is_there(own_kb):
    """Regression: the README `init` wrote sent the advisor to `docs/authoring.md`, which the
    installed package does not hold; the guide is now written beside it."""
    readme = (own_kb / "README.md").read_text()
    named = set(re.findall(r"`([\w./-]+(?:/|\.md|\.yaml))`", readme))
    assert {"GUIDE.md", "rules/", "sources/", "facts/questions.yaml", "schemas/"} <= named
    assert [n for n in named if not (own_kb / n).exists()] == []
    assert (own_kb / "GUIDE.md").read_text() == (REPO / "docs" / "authoring.md").read_text()


DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "CHANGELOG.md"]


def test_ci_runs_the_readmes_test_command():
    """What CI runs is what the README tells a newcomer to run (pip's -q aside)."""
    readme = (REPO / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "pip install '.[test]'" in line)
    ci = (REPO / ".ci" / "run").read_text().replace("pip install -q ", "pip install ")
    assert command in ci.splitlines()
    assert command in (REPO / "docs" / "testing.md").read_text().splitlines()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_path_the_docs_name_exists_and_every_pin_is_this_version(document):
    """Regression: the README named `facts/article.txt` (the article is in sources/), and the
    docs pinned `rev:` and `--base` to tags that do not exist."""
    text = document.read_text()
    paths = re.findall(r"(?<![\w/.-])((?:docs|facts|rules|sources|benchmarks|tests|src|\.ci)/"
                       r"[\w./*-]*[\w*])", text)  # fmt: skip
    placeholders = re.compile(r"[A-Z]{3,}|\.\.\.")  # benchmarks/NAME.py, rules/2-...5-*.yaml
    missing = [p for p in paths if not placeholders.search(p) and not list(REPO.glob(p))]
    assert missing == []
    if document.name != "CHANGELOG.md":  # which tells of earlier releases
        for pin in re.findall(r"(?:rev: |--base )(v\d[\w.]*)", text):
            assert pin == f"v{__version__}", pin


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    refused = invoke("init", str(tmp_path / "x"))
    assert (refused.exit_code, refused.stderr) == (
        2,
        f"Error: {tmp_path / 'x'}: the folder is not empty (add --force to write into it)\n",
    )
    assert invoke("init", str(tmp_path / "x"), "--force").exit_code == 0
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"


def test_a_broken_marker_file_is_one_line(own_kb):
    (own_kb / MARKER).write_text('[knowledge-base]\nrules = "rules\n')
    result = invoke("kb")
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        ["Error: mm-advisor.toml:2:15: invalid TOML: Illegal character '\\n'"],
    )
    (own_kb / MARKER).write_text('[knowledge-base]\nrulez = "rules"\n')
    assert invoke("kb").stderr == (
        "Error: mm-advisor.toml:1:1: unknown key 'rulez' in [knowledge-base]; expected one of: "
        "rules, facts, sources, scenarios, invariants, profiles\n"
    )


CREDIT_POLICY = """\
Credit Transfer Policy

Applies to the Master of Science in Data Analytics

Eligible Programs

Learners who complete the MicroMasters program in Statistics and Data Science with a grade of B or better may apply it toward the master's degree.

Limits

No more than 40 percent of the degree's credits may come from a MicroMasters program.
"""

CITING_IT = """
  - id: policy-limits-credit
    title: At most 40% of the degree can come from the MicroMasters, so the pathway saves less
    source:
      document: credit-policy
      section: Limits
      quote: No more than 40 percent of the degree's credits may come from a MicroMasters program
    salience: 20
    when:
      - derived: credit_stacks_into_degree
    then:
      score: {full_masters: 1}
"""


def add_credit_policy(kb: Path) -> None:
    (kb / "sources" / "credit-policy.txt").write_text(CREDIT_POLICY)
    with open(kb / "sources" / "sources.yaml", "a") as fh:
        fh.write(
            "  - id: credit-policy\n    title: Credit Transfer Policy (MS in Data Analytics)\n"
            "    file: credit-policy.txt\n    url: https://example.edu/credit-policy\n"
            '    date: "2026-09-01"\n'
        )
    with open(kb / "rules" / "4-benefits.yaml", "a") as fh:
        fh.write(CITING_IT)


def test_a_rule_citing_a_second_source_works_end_to_end(own_kb, tmp_path):
    add_credit_policy(own_kb)
    assert invoke("rules", "lint").exit_code == 0
    listed = invoke("rules", "list").stdout
    assert "[Credit Transfer Policy (MS in Data Analytics): Limits]" in listed
    answers = ["--set", "wants_complete_degree=yes", "--set", "program_offers_credit_pathway=yes"]
    trace = tmp_path / "t.json"
    report = tmp_path / "r.html"
    result = invoke(
        "consult",
        "--no-input",
        *answers,
        "--detail",
        "--trace-out",
        str(trace),
        "--report",
        str(report),
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(trace.read_text())
    firing = next(f for f in doc["fired"] if f["rule"] == "policy-limits-credit")
    assert firing["source"]["document"] == "credit-policy"
    assert doc["rulebase"]["sources"]["credit-policy"] == {
        "title": "Credit Transfer Policy (MS in Data Analytics)",
        "url": "https://example.edu/credit-policy",
        "date": "2026-09-01",
    }
    assert "sources/credit-policy.txt" in [f["path"] for f in doc["rulebase"]["files"]]
    explained = " ".join(
        invoke("explain", str(trace), "--rule", "policy-limits-credit").stdout.split()
    )
    assert (
        'cites Credit Transfer Policy (MS in Data Analytics), Limits: "No more than 40 percent'
        in explained
    )
    page = report.read_text()
    assert "Credit Transfer Policy (MS in Data Analytics), &ldquo;Limits&rdquo;" in page
    plain = " ".join(invoke("consult", "--no-input", *answers).stdout.split())
    assert 'Credit Transfer Policy (MS in Data Analytics): "No more than 40 percent' in plain


@pytest.mark.parametrize(
    "section, quote, message",
    [
        (
            "Eligible Programs",
            "No more than 40 percent",
            "rules/4-benefits.yaml:{line}:16: error: the quote does not stand under the heading 'Eligible "
            "Programs' in the source 'credit-policy' (credit-policy.txt); it stands under: Credit "
            "Transfer Policy; Limits",
        ),
        (
            "Limits",
            "No more than 50 percent",
            "rules/4-benefits.yaml:{line}:14: error: the quote 'No more than 50 percent' does not "
            "appear in "
            "the source 'credit-policy' (credit-policy.txt)",
        ),
    ],
)
def test_a_quote_must_stand_under_its_section_in_its_document(own_kb, section, quote, message):
    add_credit_policy(own_kb)
    rules = own_kb / "rules" / "4-benefits.yaml"
    text = rules.read_text()
    text = text.replace("      section: Limits\n", f"      section: {section}\n").replace(
        "      quote: No more than 40 percent of the degree's credits may come from a MicroMasters program",
        f"      quote: {quote}",
    )
    rules.write_text(text)
    line = (
        text.splitlines().index("      document: credit-policy")
        + 2
        + (quote != "No more than 40 percent")
    )
    result = invoke("rules", "lint")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == message.format(line=line) + " [citation]"


def test_the_article_quote_filed_under_the_wrong_section_is_refused(broken_kb):
    from conftest import problems_of

    text = textwrap.dedent(
        """
        rules:
          - id: misfiled
            title: Misfiled
            source:
              section: Cost Reduction
              quote: allowing you to balance your studies with work and personal commitments
            when:
              - fact: working_professional
                is: yes
            then:
              score: {micromasters: 1}
        """
    )
    assert problems_of(*broken_kb(text)) == [
        "rules/bad.yaml:5:16: the quote does not stand under the heading 'Cost Reduction' in the "
        "source 'article' (are-micromasters-worth-it.txt); it stands under: Are MicroMasters Worth "
        "It?; When MicroMasters Are a Smart Investment; Flexibility"
    ]


def test_unknown_document_is_named(broken_kb):
    from conftest import problems_of

    text = textwrap.dedent(
        """
        rules:
          - id: x
            title: X
            source:
              document: artcle
              section: Flexibility
              quote: Designed for working professionals
            when:
              - fact: working_professional
                is: yes
            then:
              score: {micromasters: 1}
        """
    )
    assert problems_of(*broken_kb(text)) == [
        "rules/bad.yaml:5:17: unknown source 'artcle' (did you mean 'article'?); expected one of: "
        "article"
    ]


def test_headings_are_found_from_the_texts_shape():
    from mm_advisor.knowledge.sources import parse_document

    text, starts, headings, names = parse_document(CREDIT_POLICY)
    assert [written for _, written in names] == [
        "Credit Transfer Policy",
        "Applies to the Master of Science in Data Analytics",
        "Eligible Programs",
        "Limits",
    ]
    limit = text.index("no more than 40 percent")
    over = headings[max(i for i, start in enumerate(starts) if start <= limit)]
    assert over == ("credit transfer policy", "limits")


def git(where: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        [
            "git",
            "-C",
            str(where),
            "-c",
            "user.name=Advisor",
            "-c",
            "user.email=a@example.edu",
            *args,
        ],
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
def test_rules_diff_against_a_git_revision_says_each_change_in_words(own_kb):
    git(own_kb, "init", "-q")
    git(own_kb, "add", "-A")
    git(own_kb, "commit", "-q", "-m", "start")
    assert invoke("rules", "diff", "--base", "HEAD").stdout.startswith("No differences between")
    benefits = own_kb / "rules" / "4-benefits.yaml"
    benefits.write_text(
        benefits.read_text()
        .replace("score: {micromasters_pathway: 3}", "score: {micromasters_pathway: 4}")
        .replace("      - fact: meets_traditional_admission\n        is: no\n",
                 "      - fact: meets_traditional_admission\n        is: no\n"
                 "      - fact: wants_campus_networking\n        is: no\n", 1)
    )  # fmt: skip
    out = invoke("rules", "diff", "--base", "HEAD").stdout
    assert out == (
        "From git revision HEAD to . (mm-advisor.toml found):\n\n"
        "Rules\n"
        "  changed stepping-stone: A goal a MicroMasters serves and a degree goal meet in a "
        "MicroMasters whose credit counts toward the degree\n"
        "            weight for micromasters_pathway changed from +3 to +4\n"
        "  changed lower-barrier-to-entry: Without a traditional program's admission "
        "requirements, a MicroMasters is open\n"
        "            condition added: wants_campus_networking is no\n\n"
        "2 differences.\n"
    )
    markdown = invoke("rules", "diff", "--base", "HEAD", "--format", "markdown").stdout
    assert "- changed `stepping-stone`: A goal" in markdown
    assert "  - weight for micromasters_pathway changed from +3 to +4" in markdown
    data = json.loads(invoke("rules", "diff", "--base", "HEAD", "--format", "json").stdout)
    assert [(c["kind"], c["name"], c["status"]) for c in data["changes"]] == [
        ("rule", "stepping-stone", "changed"),
        ("rule", "lower-barrier-to-entry", "changed"),
    ]


def test_a_revision_is_read_for_its_knowledge_base_only(own_kb, tmp_path):
    """Regression: `--base REV` extracted the whole repository (any size, any file) to read
    the knowledge base; now only its marker and folders, and no link."""
    from mm_advisor.knowledge import revisions

    (own_kb / "data").mkdir()
    (own_kb / "data" / "cohort.csv").write_text("id,budget\n1,low\n")
    (own_kb / "rules" / "link.yaml").symlink_to("/etc/passwd")
    git(own_kb, "init", "-q")
    git(own_kb, "add", "-A")
    git(own_kb, "commit", "-q", "-m", "start")
    into = tmp_path / "base"
    into.mkdir()
    base = revisions.at_revision(layout.read(own_kb, "t"), "HEAD", into)
    written = sorted(p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file())
    assert written == sorted(
        p.relative_to(own_kb).as_posix()
        for p in own_kb.rglob("*")
        if p.is_file() and not p.is_symlink() and p.parts[len(own_kb.parts)] in
        ("mm-advisor.toml", "rules", "facts", "sources")
    )  # fmt: skip
    assert base.found == "git revision HEAD" and base.root == into
    missing = invoke("rules", "diff", "--base", "HEAD~3")
    assert (missing.exit_code, missing.stderr.splitlines()[-1][:25]) == (
        2,
        "Error: git rev-parse: fat",
    )


def test_rules_diff_of_two_folders(own_kb, tmp_path):
    add_credit_policy(own_kb)
    out = invoke("rules", "diff", str(REPO), str(own_kb)).stdout
    assert "  added   policy-limits-credit: At most 40% of the degree can come from the" in out
    assert (
        "Sources\n  added   credit-policy: Credit Transfer Policy (MS in Data Analytics)\n" in out
    )
    # Regression: the scenarios were left out of the comparison.
    scenario = own_kb / "facts" / "scenarios" / "1-smart-investment.yaml"
    scenario.write_text(
        scenario.read_text().replace(
            "      skill_in_high_demand: yes\n    expect:\n      recommendation: micromasters\n",
            "      skill_in_high_demand: no\n    expect:\n      recommendation: undetermined\n",
            1,
        )
    )
    out = invoke("rules", "diff", str(REPO), str(own_kb)).stdout
    assert (
        "Scenarios\n"
        "  changed Career acceleration in a high-demand area: facts/scenarios/"
        "1-smart-investment.yaml:4\n"
        "            answer skill_in_high_demand changed from True to False\n"
        "            recommendation changed from 'micromasters' to 'undetermined'\n"
    ) in out
    refused = invoke("rules", "diff", str(REPO))
    assert (refused.exit_code, refused.stderr) == (
        2,
        "Error: give two folders, OLD and NEW, or --base REV (not both)\n",
    )
    missing = invoke("rules", "diff", "--base", "no-such-rev")
    assert missing.exit_code == 2 and missing.stderr.startswith("Error: git ")


def test_a_knowledge_base_file_that_is_a_link_is_refused_without_being_read(own_kb, tmp_path):
    """Regression: a rule, scenario or profile file linked to a file outside the knowledge base
    was read, and its content could reach an error message (and CI logs, through the hook)."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("token-0123456789: {\n")
    for link in ("rules/zz.yaml", "facts/scenarios/zz.yaml", "facts/profiles/zz.yaml"):
        (own_kb / link).symlink_to(secret)
    said = (
        ": is a symbolic link: a knowledge base's files are read from inside it only "
        "(put the file itself here)"
    )
    linted = invoke("rules", "lint")
    assert (linted.exit_code, linted.stdout) == (1, f"rules/zz.yaml:1:1: error{said} [link]\n")
    consulted = invoke("consult", "--no-input")
    assert (consulted.exit_code, consulted.stderr) == (2, f"Error: rules/zz.yaml:1:1{said}\n")
    (own_kb / "rules/zz.yaml").unlink()
    linted = invoke("rules", "lint")
    assert linted.stdout.splitlines() == [
        f"facts/profiles/zz.yaml:1:1: error{said} [link]",
        f"facts/scenarios/zz.yaml:1:1: error{said} [link]",
    ]
    tested = invoke("rules", "test")
    assert (tested.exit_code, tested.stderr) == (2, f"Error: facts/scenarios/zz.yaml:1:1{said}\n")
    assert "token" not in linted.output + tested.output + consulted.output


def test_a_source_that_is_a_link_or_too_large_is_refused_without_being_read(own_kb, tmp_path):
    """Regression: a source linked to a private file, and a rule citing it under a wrong
    section, made lint and consult print the private file's first line; a 300 MB source made
    every command use 1.25 GB."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=hunter2\n")
    article = own_kb / "sources" / "are-micromasters-worth-it.txt"
    text = article.read_text()
    article.unlink()
    article.symlink_to(secret)
    result = invoke("rules", "lint")
    assert result.exit_code == 1 and "hunter2" not in result.stdout + result.stderr
    assert result.stdout == (
        "sources/sources.yaml:8:11: error: 'are-micromasters-worth-it.txt' is a symbolic link; "
        "a source document must be a file in the sources folder [bad-source]\n"
    )
    article.unlink()
    article.write_text(text + "x" * sources.MAX_SOURCE)
    size = article.stat().st_size
    result = invoke("rules", "lint")
    assert result.stdout == (
        f"sources/sources.yaml:8:11: error: 'are-micromasters-worth-it.txt' is {size:,} bytes, "
        "larger than 10 MB, the most a source document may be [bad-source]\n"
    )


def test_a_marker_found_by_discovery_must_be_ours_and_not_writable_by_others(own_kb, monkeypatch):
    """Regression: an mm-advisor.toml another user left in a shared folder above the working
    directory silently changed the advice (git refuses such folders: safe.directory)."""
    (own_kb / "work").mkdir()
    monkeypatch.chdir(own_kb / "work")
    os.chmod(own_kb / MARKER, 0o666)
    refused = invoke("consult", "--no-input", "--set", "budget=low")
    marker = own_kb / MARKER
    assert (refused.exit_code, refused.stderr) == (
        2,
        f"Error: {marker}:1:1: found by looking up from here, but {marker} can be changed by "
        f"anyone (world-writable); it is not used. To use it anyway, name it: --kb {own_kb} (or "
        "MM_ADVISOR_KB)\n",
    )
    assert invoke("consult", "--kb", "..", "--no-input", "--set", "budget=low").exit_code == 0
    os.chmod(own_kb / MARKER, 0o644)
    assert invoke("consult", "--no-input", "--set", "budget=low").exit_code == 0
    monkeypatch.setattr(layout.os, "getuid", lambda: os.stat(own_kb).st_uid + 1)
    other = invoke("consult", "--no-input", "--set", "budget=low")
    assert other.exit_code == 2 and f"but {marker} is owned by another user;" in other.stderr
