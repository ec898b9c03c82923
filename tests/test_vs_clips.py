"""The CLIPS translation of benchmarks/vs_clips.py fires what the fast evaluator fires, and its
check catches a wrong salience (clipspy is a test extra; CI fails if this skips)."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO

from mm_advisor.knowledge import synthetic
from mm_advisor.reasoning.evaluator import Evaluator

pytest.importorskip("clips")
spec = importlib.util.spec_from_file_location("vs_clips", REPO / "benchmarks" / "vs_clips.py")
vs_clips = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vs_clips)


def engines(kb, broken: bool = False) -> dict:
    fast = Evaluator(kb)
    return {
        "CLIPS": vs_clips.ClipsRuleBase(kb, broken).fired,
        "fast": lambda a: tuple(r.id for r in fast.outcome(a).fired),
    }


def test_clips_fires_the_same_rules_in_the_same_order(kb, capsys):
    profiles = synthetic.random_profiles(kb.schema, 500, seed=3)
    assert vs_clips.check("shipped", engines(kb), profiles)
    assert capsys.readouterr().out == "  shipped: CLIPS = fast on 500/500 profiles\n"


def test_the_check_catches_a_wrong_salience(kb, capsys):
    profiles = synthetic.random_profiles(kb.schema, 500, seed=3)
    assert not vs_clips.check("shipped", engines(kb, broken=True), profiles)
    assert "DIFFERENCE on profile" in capsys.readouterr().out


def test_clips_fires_the_same_on_a_synthetic_base_that_uses_every_operator(tmp_path, capsys):
    """The translation into slot constraints (`low|medium`, `~nil&~yes`, `:(< ?m 18)`), with
    compound conditions as tests and patterns CLIPS finds unmatchable as tests too."""
    from mm_advisor.knowledge import rulebase

    kb = rulebase.load(synthetic.write(tmp_path / "s", 500, seed=7))
    profiles = synthetic.random_profiles(kb.schema, 300, seed=5)
    assert vs_clips.check("synthetic", engines(kb), profiles), capsys.readouterr().out
