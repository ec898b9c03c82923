"""The pre-commit hooks, run through pre-commit itself on a scratch repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = [
    pytest.mark.skipif(
        shutil.which("git") is None
        or shutil.which("pre-commit", path=str(Path(sys.executable).parent)) is None,
        reason="needs git and pre-commit (a test extra)",
    ),
    pytest.mark.slow,  # pre-commit runs mm-advisor in other processes
]

BIN = Path(sys.executable).parent


def run(where: Path, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(home),
        "GIT_AUTHOR_NAME": "Advisor",
        "GIT_AUTHOR_EMAIL": "advisor@example.edu",
        "GIT_COMMITTER_NAME": "Advisor",
        "GIT_COMMITTER_EMAIL": "advisor@example.edu",
        "NO_COLOR": "1",
    }
    env.pop("MM_ADVISOR_KB", None)
    return subprocess.run(args, cwd=where, env=env, capture_output=True, text=True, check=False)


@pytest.fixture
def scratch(tmp_path):
    kb = tmp_path / "kb"
    subprocess.run([BIN / "mm-advisor", "init", str(kb)], check=True, capture_output=True)
    home = tmp_path / "pre-commit-home"
    for args in (
        ("git", "init", "-q"),
        ("git", "add", "-A"),
        ("git", "commit", "-q", "-m", "start"),
    ):
        assert run(kb, *args, home=home).returncode == 0
    return kb, home


def misspell(kb: Path) -> None:
    rules = kb / "rules" / "2-smart-investment.yaml"
    rules.write_text(
        rules.read_text().replace("fact: skill_in_high_demand", "fact: skill_in_demand", 1)
    )


def test_the_hooks_init_writes_block_a_commit_with_a_misspelt_fact(scratch):
    kb, home = scratch
    clean = run(kb, BIN / "pre-commit", "run", "--all-files", home=home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "mm-advisor rules lint" in clean.stdout and "Passed" in clean.stdout
    assert run(kb, BIN / "pre-commit", "install", home=home).returncode == 0
    misspell(kb)
    run(kb, "git", "add", "-A", home=home)
    blocked = run(kb, "git", "commit", "-q", "-m", "typo", home=home)
    assert blocked.returncode != 0
    said = blocked.stdout + blocked.stderr
    assert "mm-advisor rules lint" in said and "Failed" in said
    assert (
        "rules/2-smart-investment.yaml:16:15: error: unknown fact 'skill_in_demand' (did you mean "
        "'skill_in_high_demand'?) [unknown-fact]"
    ) in said
    assert run(kb, "git", "log", "--oneline", home=home).stdout.count("\n") == 1  # not committed


def test_this_projects_hooks_through_pre_commit(scratch):
    """.pre-commit-hooks.yaml, as a repository that pins this project would use it."""
    kb, home = scratch
    ok = run(
        kb, BIN / "pre-commit", "try-repo", str(REPO), "mm-advisor-lint", "--all-files", home=home
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    misspell(kb)
    run(kb, "git", "add", "-A", home=home)
    failed = run(
        kb, BIN / "pre-commit", "try-repo", str(REPO), "mm-advisor-lint", "--all-files", home=home
    )
    assert failed.returncode == 1
    assert "unknown fact 'skill_in_demand'" in failed.stdout
