"""The advisor's guide and the pre-commit hooks do what they say, followed to the letter."""

from __future__ import annotations

import re
import shlex
import shutil
import textwrap

import pytest
import yaml
from conftest import REPO, invoke

GUIDE = (REPO / "docs" / "authoring.md").read_text()


def _block(marker: str) -> str:
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", GUIDE, re.S) if marker in b)
    return "\n" + textwrap.indent(textwrap.dedent(block), "  ")


def clone_kb(tmp_path, monkeypatch) -> None:
    """The repository's knowledge base as a fresh clone has it, the working directory in it."""
    for folder in ("rules", "facts", "sources"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    shutil.copy(REPO / "mm-advisor.toml", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MM_ADVISOR_KB", raising=False)


def test_the_worked_change_in_the_guide(tmp_path, monkeypatch):
    clone_kb(tmp_path, monkeypatch)
    kb = ()  # no --rules/--facts: the guide's commands find the knowledge base themselves
    with open("facts/scenarios/1-smart-investment.yaml", "a") as fh:
        fh.write(_block("flexibility counts twice"))
    before = invoke("rules", "test", *kb)
    assert before.exit_code == 2
    assert before.stderr.strip() in GUIDE
    with open("rules/2-smart-investment.yaml", "a") as fh:
        fh.write(_block("id: flexibility-both"))
    assert invoke("rules", "lint", "--strict", *kb).stderr == "0 errors, 0 warnings.\n"
    after = invoke("rules", "test", *kb, "--min-coverage", "100")
    assert after.exit_code == 0
    assert "PASS  Working and balancing commitments, flexibility counts twice" in after.stdout
    rules = tmp_path / "rules" / "2-smart-investment.yaml"
    text = rules.read_text()
    cut = text.index("id: flexibility-both")
    rules.write_text(
        text[:cut]
        + text[cut:].replace("fact: needs_flexible_schedule", "fact: needs_flexible_schedul", 1)
    )
    typo = invoke("rules", "lint", *kb).stdout.strip()
    assert f"`{typo[:60]}" in GUIDE.replace("\n   ", " ")


@pytest.mark.slow
def test_the_broken_invariant_in_the_guide(tmp_path, monkeypatch, shipped_check):
    clone_kb(tmp_path, monkeypatch)
    kb = ()
    assert "28 invariants: 28 hold, 0 fail, 0 hold vacuously" in shipped_check.stdout
    with open("rules/3-full-masters.yaml", "a") as fh:
        fh.write(_block("id: research-online"))
    assert invoke("rules", "lint", "--strict", *kb).exit_code == 0
    scenarios = invoke("rules", "test", *kb)
    assert scenarios.exit_code == 1
    failed = re.search(r"```\n(FAIL.*?)```", GUIDE, re.S).group(1)
    assert failed in scenarios.stdout
    result = invoke("rules", "check", *kb)
    assert result.exit_code == 1
    shown = re.search(r"```\n(FAILS.*?)```", GUIDE, re.S).group(1)
    start = result.stdout.index("FAILS")
    assert result.stdout[start : start + len(shown)] == shown


def test_the_hooks_are_defined_once_for_this_repository_and_for_init():
    """`.pre-commit-hooks.yaml` is generated from the definitions `init` writes as local hooks."""
    from mm_advisor.knowledge import scaffold

    assert (REPO / ".pre-commit-hooks.yaml").read_text() == scaffold.hook_definitions()
    ours = yaml.safe_load(scaffold.hook_definitions())
    local = yaml.safe_load(scaffold.pre_commit_config(None))["repos"][0]["hooks"]
    assert [{**h, "language": "system"} for h in ours] == local

    pinned = yaml.safe_load(scaffold.pre_commit_config("mm-advisor==1.2.3"))["repos"][0]["hooks"]
    assert [
        {**h, "language": "python", "additional_dependencies": ["mm-advisor==1.2.3"]} for h in ours
    ] == pinned


class _Installed:
    """importlib.metadata's view of an installed mm-advisor, with the direct_url.json given."""

    version = "1.2.3"

    def __init__(self, direct_url):
        self.direct_url = direct_url

    def read_text(self, name):
        assert name == "direct_url.json"
        return self.direct_url


COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("direct_url", "requirement"),
    [
        (None, "mm-advisor==1.2.3"),  # from a package index
        (
            '{"url": "https://git.example.edu/mm-advisor.git", "vcs_info": {"vcs": "git", '
            f'"commit_id": "{COMMIT}", "requested_revision": "v1.2.3"}}}}',
            f"mm-advisor @ git+https://git.example.edu/mm-advisor.git@{COMMIT}",
        ),
        (
            '{"url": "https://files.example.edu/mm_advisor-1.2.3.tar.gz", "archive_info": {}}',
            "mm-advisor @ https://files.example.edu/mm_advisor-1.2.3.tar.gz",
        ),
        # Nobody else has this machine's folders, and nothing odd is written into a config.
        ('{"url": "file:///work/main", "dir_info": {"editable": true}}', None),
        ('{"url": "https://x.edu/a b", "archive_info": {}}', None),
        ('{"url": "https://x.edu/a\\n- id: evil", "archive_info": {}}', None),
        ('{"url": "https://x.edu/a.git", "vcs_info": {"vcs": "hg", "commit_id": "abc"}}', None),
        ('{"url": "https://x.edu/a.git", "vcs_info": {"vcs": "git", "commit_id": "main"}}', None),
        ('{"url": 3}', None),
        ("not json", None),
    ],
)
def test_init_pins_the_mm_advisor_it_was_installed_from(monkeypatch, direct_url, requirement):
    from importlib import metadata

    from mm_advisor.knowledge import scaffold

    monkeypatch.setattr(metadata, "distribution", lambda name: _Installed(direct_url))
    assert scaffold.installed_from() == requirement


@pytest.mark.slow
def test_pre_commit_hooks_run_clean_on_the_shipped_files(monkeypatch):
    monkeypatch.chdir(REPO)
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["mm-advisor-lint", "mm-advisor-test", "mm-advisor-check"]
    for hook in hooks:
        program, *args = shlex.split(hook["entry"])
        assert program == "mm-advisor" and hook["pass_filenames"] is False
        assert invoke(*args).exit_code == 0, hook["id"]
