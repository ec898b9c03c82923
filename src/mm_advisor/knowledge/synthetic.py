"""Synthetic knowledge bases of any size, for differential tests and benchmarks, and random
profiles, for those and for made-up cohorts (`mm-advisor sample`).

The rules are random but valid: they use the shipped questions and options, cite real passages of
the article, and exercise every operator, derived facts (positive and negated), salience ties,
decision rules and rule-outs. The same seed always writes the same files and profiles.
"""

from __future__ import annotations

import itertools
import random
import shutil
from pathlib import Path
from typing import Any, Iterator

import yaml

from . import layout
from . import rulebase as rulebase_mod
from .layout import Layout
from .schema import CHOICE, NUMBER, YESNO

_TIERS = 4  # tiers of rules that derive facts; one more tier only weighs and decides


def random_profiles(schema: Any, count: int, seed: int = 0) -> list[dict[str, Any]]:
    """`count` random answers documents (see `profiles`): for differential tests and benchmarks."""
    return list(itertools.islice(profiles(schema, seed), count))


def profiles(schema: Any, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Random answers documents without end (fact name -> typed value, each within what its
    question accepts; about 30% left unknown), the same for the same seed: for generated
    cohorts (`mm-advisor sample`), differential tests and benchmarks. A number is drawn half
    the time from its whole range and half the time from 1 to 30 (kept within the range), so
    that small values are well represented."""
    rng = random.Random(seed)
    while True:
        profile = {}
        for name, spec in schema.facts.items():
            if rng.random() < 0.3:
                continue  # unknown
            if spec.type == NUMBER:
                low, high = max(spec.minimum, 1), min(spec.maximum, 30)
                if low > high:
                    low, high = spec.minimum, spec.maximum
                profile[name] = rng.choice(
                    [rng.randint(spec.minimum, spec.maximum), rng.randint(low, high)]
                )
            else:
                profile[name] = rng.choice(spec.domain())
        yield profile


def write(target: Path, rules: int, seed: int = 0, derived: int = 40) -> Layout:
    """Write a knowledge base of `rules` random rules under `target` and say where it is."""
    shipped = layout.shipped()
    base = rulebase_mod.load(shipped)
    rules_dir, facts_dir = target / "rules", target / "facts"
    rules_dir.mkdir(parents=True, exist_ok=True)
    facts_dir.mkdir(parents=True, exist_ok=True)
    for item in shipped.facts.iterdir():
        if item.is_file():
            shutil.copy(item, facts_dir / item.name)
    shutil.copytree(shipped.sources, target / "sources", dirs_exist_ok=True)
    names = [f"d{i:03d}" for i in range(derived)]
    extra = {"derived": [{"name": n, "description": f"Synthetic fact {n}."} for n in names]}
    (facts_dir / "zz-synthetic.yaml").write_text(yaml.safe_dump(extra, sort_keys=False))
    generator = _Generator(base, names, random.Random(seed))
    chunk = 250
    for start in range(0, rules, chunk):
        batch = [generator.rule(i) for i in range(start, min(rules, start + chunk))]
        text = yaml.safe_dump({"rules": batch}, sort_keys=False, width=1000)
        (rules_dir / f"synthetic-{start // chunk:04d}.yaml").write_text(text)
    return Layout.of(rules_dir, facts_dir, target / "sources")


class _Generator:
    def __init__(self, base: rulebase_mod.RuleBase, derived: list[str], rng: random.Random):
        self.schema = base.schema
        self.citations = list(dict.fromkeys(r.source for r in base.rules))
        self.tiers = [derived[t::_TIERS] for t in range(_TIERS)]
        self.options = list(base.schema.options)
        self.numbers = [k for k, v in base.schema.background.items() if type(v) is int]
        self.rng = rng

    def rule(self, index: int) -> dict[str, Any]:
        """A rule of a random tier: tier t has salience 40 - 10t, tests derived facts of lower
        tiers only and derives facts of its own, so there are no cycles and every `not` runs
        after the rules that could derive what it negates (clean under `rules lint`)."""
        rng = self.rng
        tier = rng.randint(0, _TIERS)
        source = rng.choice(self.citations)
        when = [self.condition(depth=0) for _ in range(rng.randint(1, 3))]
        lower = [n for t in range(tier) for n in self.tiers[t]]
        if lower and rng.random() < 0.6:
            name = rng.choice(lower)
            when.append({"derived": name} if rng.random() < 0.7 else {"not": {"derived": name}})
        then: dict[str, Any] = {}
        if tier < _TIERS and rng.random() < 0.6:
            then["derive"] = rng.sample(self.tiers[tier], rng.randint(1, 2))
        roll = rng.random()
        if tier >= 2 and roll < 0.05:
            then["conclude"] = rng.choice(self.options)
        elif roll < 0.08:
            then["rule_out"] = [rng.choice(self.options)]
        if not then or rng.random() < 0.7:
            then["score"] = {
                o: rng.choice([-3, -2, -1, 1, 2, 3])
                for o in rng.sample(self.options, rng.randint(1, 2))
            }
        return {
            "id": f"r{index:05d}",
            "title": f"Synthetic rule {index}",
            "source": {"section": source.section, "quote": source.quote},
            "salience": 40 - 10 * tier,
            "when": when,
            "then": then,
        }

    def condition(self, depth: int) -> dict[str, Any]:
        rng = self.rng
        if depth < 2 and rng.random() < 0.15:
            kind = rng.choice(["all", "any", "not"])
            if kind == "not":
                return {"not": self.condition(depth + 1)}
            return {kind: [self.condition(depth + 1) for _ in range(rng.randint(2, 3))]}
        spec = rng.choice(list(self.schema.facts.values()))
        if rng.random() < 0.05:
            return {"fact": spec.name, "known": rng.random() < 0.5}
        if spec.type == YESNO:
            return {"fact": spec.name, rng.choice(["is", "is_not"]): rng.choice(["yes", "no"])}
        if spec.type == CHOICE:
            op = rng.choice(["is", "is_not", "in", "not_in"])
            if op in ("in", "not_in"):
                return {"fact": spec.name, op: rng.sample(spec.choices, rng.randint(1, 2))}
            return {"fact": spec.name, op: rng.choice(spec.choices)}
        assert spec.type == NUMBER
        op = rng.choice(["lt", "le", "gt", "ge", "is", "in"])
        if op in ("lt", "le", "gt", "ge") and rng.random() < 0.4:
            return {"fact": spec.name, op: {"background": rng.choice(self.numbers)}}
        if op == "in":
            return {"fact": spec.name, op: [rng.randint(spec.minimum, 30) for _ in range(2)]}
        return {"fact": spec.name, op: rng.randint(spec.minimum, 30)}
