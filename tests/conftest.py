"""Shared fixtures: the repository's knowledge base, and small broken copies of it."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from mm_advisor.cli import cli
from mm_advisor.knowledge import layout, rulebase
from mm_advisor.knowledge.layout import Layout
from mm_advisor.reasoning.advisor import Advisor

REPO = Path(__file__).resolve().parents[1]

# Property tests draw the same cases on every run (profile "ci", the default), so a failure comes
# back when the test is run again; `MM_ADVISOR_FUZZ=long` draws twenty times as many, with
# fresh seeds, for a campaign.
LONG = os.environ.get("MM_ADVISOR_FUZZ") == "long"
for _name, _fresh in (("ci", False), ("long", True)):
    settings.register_profile(
        _name,
        derandomize=not _fresh,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
settings.load_profile("long" if LONG else "ci")


def cases(n: int, **options) -> settings:
    """Settings for a property test: `n` cases (twenty times as many in the long profile)."""
    return settings(max_examples=n * (20 if LONG else 1), **options)


def pytest_sessionstart(session):
    """Under mutation testing, each run is forked from a process that has read every file
    already: what it read is forgotten, so that the code under test reads it again."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        from mm_advisor.knowledge import rulebase, yamlsrc

        yamlsrc._READ.clear()
        rulebase._CHECKED.clear()
        rulebase._MEANINGS.clear()


def pytest_sessionfinish(session, exitstatus):
    """With MM_ADVISOR_NO_SKIPS set (as `.ci/run` does), a skipped test fails the run: an
    optional piece the README promises (Chromium, CLIPS, Dask) is missing, and the claim its
    test makes would go unchecked."""
    if not os.environ.get("MM_ADVISOR_NO_SKIPS") or exitstatus not in (0, 1):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"MM_ADVISOR_NO_SKIPS: {len(skipped)} skipped; install what they need", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    """Text is wrapped to the terminal; tests read it at 80 columns, wherever they run."""
    monkeypatch.setenv("COLUMNS", "80")


RULES = REPO / "rules"
FACTS = REPO / "facts"
SOURCES = REPO / "sources"
REPO_KB = layout.read(REPO, "the repository")
PROFILES = FACTS / "profiles"


@pytest.fixture(scope="session")
def kb() -> rulebase.RuleBase:
    return rulebase.load(REPO_KB)


@pytest.fixture(scope="session")
def advisor(kb) -> Advisor:
    return Advisor(kb)


KB_ARGS = ("--rules", str(RULES), "--facts", str(FACTS))


def invoke(*args: str, input: str | None = None, kb_line: bool = False, env: dict | None = None):
    """Run the CLI in-process; stdout and stderr are kept apart.

    Every command first says which knowledge base it uses; tests about something else read the
    output without that line (`kb_line=True` keeps it).
    """
    result = CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
    if not kb_line:
        for stream in ("stdout_bytes", "stderr_bytes"):
            data = getattr(result, stream)
            if data and data.startswith(b"Knowledge base: "):
                setattr(result, stream, data.partition(b"\n")[2])
    return result


@pytest.fixture(scope="session")
def shipped_check():
    """`rules check` on the shipped knowledge base, run once for the tests that read it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "80")
        return invoke("rules", "check", *KB_ARGS)


@pytest.fixture
def kb_copy(tmp_path) -> tuple[Path, Path]:
    """A copy of the repository's rules and facts that a test may edit."""
    shutil.copytree(RULES, tmp_path / "kb" / "rules")
    shutil.copytree(FACTS, tmp_path / "kb" / "facts")
    return tmp_path / "kb" / "rules", tmp_path / "kb" / "facts"


@pytest.fixture
def broken_kb(tmp_path, monkeypatch):
    """A copy of the shipped facts plus one rule file with the given text; paths shown relative."""

    def make(rule_text: str, name: str = "bad.yaml") -> tuple[Path, Path]:
        facts = tmp_path / "facts"
        shutil.copytree(
            FACTS,
            facts,
            ignore=shutil.ignore_patterns("profiles", "scenarios", "invariants"),
            dirs_exist_ok=True,
        )
        rules = tmp_path / "rules"
        rules.mkdir(exist_ok=True)
        (rules / name).write_text(textwrap.dedent(rule_text).lstrip("\n"), encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        return Path("rules"), Path("facts")

    return make


def retitle_cost_rule(rules: Path, title: str) -> None:
    """Give the rule `cost-sensitive-by-goal`, in a copy of the rules, another title (YAML)."""
    derived = rules / "1-derived.yaml"
    derived.write_text(
        derived.read_text().replace(
            "title: Wanting to keep the cost low makes you cost-sensitive",
            f"title: {title}",
        )
    )


def problems_of(rules: Path, facts: Path) -> list[str]:
    return [str(p) for p in rulebase.check(Layout.of(rules, facts))[1]]


def json_paths(value, prefix=()):
    """The path of every value inside a JSON document (a tuple of keys and indexes), root first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from json_paths(item, (*prefix, i))


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright: one launch (about a second) per test module."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian package chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test extra")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
