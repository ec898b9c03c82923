"""mm-advisor beside CLIPS, on the same rules: first proved to fire the same rules in the same
order, then timed side by side in one run.

The loaded rule base is translated into CLIPS (through clipspy, the benchmark-only extra
`pip install -e '.[bench]'`): the answers become one `answers` fact with a slot per question
(`nil` when unknown), each condition on the answers a `test` in three-valued logic (a rule fires
only when its conditions are true), each derived-fact test a pattern (`not` a negated one), the
agenda order (salience, then the rule's place) a CLIPS salience, and each firing is recorded in a
global. Scores and the recommendation then come from the same decision policy for every engine.

The differential check runs every engine on random profiles and stops at the first difference in
the fired rules or their order; `--break-salience` translates one rule with a wrong salience, to
show that the check catches it. Timings: the median time per consultation, and the throughput of
a batch on one core, for CLIPS, the experta engine and the fast evaluator, on the shipped rules
and on synthetic bases (valid under `rules lint`) of 500 and 2,000 rules.
Run: python benchmarks/vs_clips.py [--check N] [--batch N] [--sizes 500,2000] [--break-salience]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import clips

from mm_advisor.knowledge import layout, lint, rulebase, synthetic
from mm_advisor.knowledge.conditions import (
    All,
    Any_,
    BackgroundRef,
    DerivedTest,
    FactTest,
    Not,
    facts_read,
)
from mm_advisor.knowledge.schema import CHOICE, YESNO
from mm_advisor.reasoning.engine import CompiledRuleBase
from mm_advisor.reasoning.evaluator import Evaluator

NIL = "nil"
CMP = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class ClipsRuleBase:
    """The rule base as a CLIPS environment; `fired(answers)` runs one consultation."""

    def __init__(self, kb: rulebase.RuleBase, break_salience: bool = False):
        self.kb = kb
        self.schema = kb.schema
        self.env = clips.Environment()
        self.facts = list(self.schema.facts)
        slots = " ".join(f"(slot {name} (default nil))" for name in self.facts)
        self.env.build(f"(deftemplate answers {slots})")
        self.env.build("(deftemplate derived (slot name))")
        self.env.build("(deftemplate conclusion)")
        self.env.build("(defglobal ?*fired* = (create$))")
        ranked = sorted(kb.rules, key=lambda r: (-r.salience, r.order))
        self.names = {f"r{i}": rule for i, rule in enumerate(kb.rules)}
        by_rule = {id(rule): name for name, rule in self.names.items()}
        for rank, rule in enumerate(ranked):
            salience = 10000 - rank
            if break_salience and rank == len(ranked) // 2:
                salience = 10000 - len(ranked) - 1  # one rule now comes after all the others
            self.env.build(self._rule(by_rule[id(rule)], rule, salience))
        self.template = self.env.find_template("answers")

    def _rule(self, name: str, rule: Any, salience: int) -> str:
        used = sorted({f for cond in rule.when for f in facts_read(cond)})
        patterns = [f"(answers {' '.join(f'({f} ?{f})' for f in used)})"] if used else []
        for cond in rule.when:
            if isinstance(cond, DerivedTest):
                patterns.append(f"(derived (name {cond.name}))")
            elif isinstance(cond, Not) and isinstance(cond.part, DerivedTest):
                patterns.append(f"(not (derived (name {cond.part.name})))")
            else:
                patterns.append(f"(test {self._true(cond)})")
        if rule.conclude:
            patterns.append("(not (conclusion))")
        if not patterns or patterns[0].startswith(("(test", "(not")):
            patterns.insert(0, "(initial-fact)")
        actions = [f"(bind ?*fired* (create$ ?*fired* {name}))"]
        actions += [f"(assert (derived (name {d})))" for d in rule.derive]
        if rule.conclude:
            actions.append("(assert (conclusion))")
        return (
            f"(defrule {name} (declare (salience {salience})) {' '.join(patterns)} "
            f"=> {' '.join(actions)})"
        )

    def _literal(self, fact: str, value: Any) -> str:
        if isinstance(value, BackgroundRef):
            return str(self.schema.background[value.key])
        kind = self.schema.facts[fact].type
        if kind == YESNO:
            return "yes" if value else "no"
        if kind == CHOICE:
            return f'"{value}"'
        return str(value)

    def _true(self, cond: Any) -> str:
        """A CLIPS expression that is TRUE exactly when `cond` is true (not false, not unknown)."""
        if isinstance(cond, All):
            return f"(and {' '.join(self._true(p) for p in cond.parts)})"
        if isinstance(cond, Any_):
            return f"(or {' '.join(self._true(p) for p in cond.parts)})"
        if isinstance(cond, Not):
            return self._false(cond.part)
        return self._fact(cond, True)

    def _false(self, cond: Any) -> str:
        """TRUE exactly when `cond` is false."""
        if isinstance(cond, All):
            return f"(or {' '.join(self._false(p) for p in cond.parts)})"
        if isinstance(cond, Any_):
            return f"(and {' '.join(self._false(p) for p in cond.parts)})"
        if isinstance(cond, Not):
            return self._true(cond.part)
        return self._fact(cond, False)

    def _fact(self, test: FactTest, wanted: bool) -> str:
        var = f"?{test.fact}"
        if test.op == "known":
            return f"({'neq' if test.value == wanted else 'eq'} {var} {NIL})"
        if test.op in ("in", "not_in"):
            values = " ".join(self._literal(test.fact, v) for v in test.value)
            holds = f"(member$ {var} (create$ {values}))"
            positive = test.op == "in"
        elif test.op in ("is", "is_not"):
            holds = f"(eq {var} {self._literal(test.fact, test.value)})"
            positive = test.op == "is"
        else:
            holds = f"({CMP[test.op]} {var} {self._literal(test.fact, test.value)})"
            positive = True
        body = holds if positive == wanted else f"(not {holds})"
        return f"(and (neq {var} {NIL}) {body})"

    def fired(self, answers: dict[str, Any]) -> tuple[str, ...]:
        env = self.env
        env.reset()
        slots = {}
        for name, value in answers.items():
            if value is None:
                continue
            kind = self.schema.facts[name].type
            slots[name] = clips.Symbol("yes" if value else "no") if kind == YESNO else value
        self.template.assert_fact(**slots)
        env.run()
        return tuple(self.names[str(s)].id for s in env.eval("?*fired*"))


def per_call(run: Callable, profiles: list[dict]) -> float:
    times = []
    for answers in profiles:
        start = time.perf_counter()
        run(answers)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def throughput(run: Callable, profiles: list[dict]) -> float:
    start = time.perf_counter()
    for answers in profiles:
        run(answers)
    return len(profiles) / (time.perf_counter() - start)


def check(name: str, engines: dict[str, Callable], profiles: list[dict]) -> bool:
    for number, answers in enumerate(profiles, 1):
        seen = {label: run(answers) for label, run in engines.items()}
        if len(set(seen.values())) > 1:
            print(f"  {name}: DIFFERENCE on profile {number}: {answers}")
            for label, fired in seen.items():
                print(f"    {label:>10}: {' '.join(fired)}")
            return False
    print(f"  {name}: {' = '.join(engines)} on {len(profiles):,}/{len(profiles):,} profiles")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=int, default=2000, help="profiles in the check")
    parser.add_argument("--batch", type=int, default=10_000, help="profiles in the batch")
    parser.add_argument("--sizes", default="500,2000", help="synthetic rule-base sizes")
    parser.add_argument("--break-salience", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bases = [("shipped", layout.shipped())]
        for size in (int(s) for s in options.sizes.split(",") if s):
            bases.append((f"{size} rules", synthetic.write(Path(tmp) / str(size), size, seed=7)))
        print("Differential check: the rules fired, in order")
        loaded = []
        for name, where in bases:
            kb = rulebase.load(where)
            errors = [p for p in lint.lint(where).problems if p.severity == "error"]
            assert not errors, errors[0]
            cl = ClipsRuleBase(kb, options.break_salience)
            experta = CompiledRuleBase(kb)
            fast = Evaluator(kb)
            engines = {
                "CLIPS": cl.fired,
                "fast": lambda a, fast=fast: tuple(r.id for r in fast.outcome(a).fired),
            }
            profiles = synthetic.random_profiles(kb.schema, options.check, seed=len(kb.rules))
            ok = check(f"{name} ({len(kb.rules)} rules)", engines, profiles)
            few = profiles[: 200 if len(kb.rules) > 100 else len(profiles)]
            engines["experta"] = lambda a, e=experta: tuple(f.rule.id for f in e.run(a).firings)
            ok = check(f"{name}, with experta", engines, few) and ok
            if not ok:
                sys.exit(1)
            loaded.append((name, kb, cl, experta))
        print()
        print(f"{'':>18} {'per consultation (median)':>44}   {'batch on one core, rows/s':>36}")
        print(f"{'rules':>18} {'CLIPS':>12} {'experta':>12} {'fast':>12}   "
              f"{'CLIPS':>10} {'experta':>10} {'fast':>10}  fast/CLIPS")  # fmt: skip
        for name, kb, cl, experta in loaded:
            profiles = synthetic.random_profiles(kb.schema, options.batch, seed=99)
            experta_profiles = profiles[: max(50, options.batch // (len(kb.rules) // 10 + 1))]
            fresh = Evaluator(kb)  # no memory of the check's profiles
            timings = [
                per_call(cl.fired, profiles[:1000]),
                per_call(experta.run, experta_profiles[:200]),
                per_call(Evaluator(kb).outcome, profiles[:1000]),
            ]
            rates = [
                throughput(cl.fired, profiles),
                throughput(experta.run, experta_profiles),
                throughput(fresh.outcome, profiles),
            ]
            print(
                f"{name:>18} " + " ".join(f"{t * 1000:>9.3f} ms" for t in timings) + "   "
                + " ".join(f"{r:>10,.0f}" for r in rates) + f"  {rates[2] / rates[0]:>9.1f}x"
            )  # fmt: skip
        print()
        print(
            f"experta's batch uses fewer profiles at larger sizes (it is slow); the fast "
            f"evaluator starts each batch with an empty memo. Machine: {machine()}"
        )


def machine() -> str:
    import os
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model or platform.processor()}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
