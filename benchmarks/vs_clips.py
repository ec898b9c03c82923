"""mm-advisor beside CLIPS, on the same rules: first proved to fire the same rules in the same
order, then timed side by side in one run, with CLIPS driven as a CLIPS user drives it.

The loaded rule base is translated into CLIPS (through clipspy, the benchmark-only extra
`pip install -e '.[bench]'`): the answers become one `answers` fact with a slot per question
(`nil` when unknown); each condition on one answer a constraint in the pattern's slot (`(budget
low|medium)`, `(months ?months&~nil&:(< ?months 18))`), so CLIPS's network filters and joins
it; only a compound condition (all/any/not over answers) a `test`, in three-valued logic (a
rule fires only when its conditions are true); each derived-fact test a pattern (`not` a negated
one); the agenda order (salience, then the rule's place) a CLIPS salience; each firing recorded
in a global. Per consultation CLIPS does what a CLIPS program does: `(reset)`, assert the
answers fact through its template (its slot values made before the clock starts, as a program
reads its input first; clipspy's `assert_string` would add ~0.3 ms of parsing), `(run)`, and
read the global; the Python engines are given their answers as dicts made before the clock
starts too. Scores and the recommendation come from the same decision policy.

The differential check runs every engine on random profiles and stops at the first difference in
the fired rules or their order; `--break-salience` translates one rule with a wrong salience, to
show that the check catches it. Timings: the median [min-max] time per consultation over
`--rounds` interleaved rounds, and the throughput of a batch on one core, for CLIPS, the experta
engine and the fast evaluator, on the shipped rules and on synthetic bases (valid under `rules
lint`) of 500 and 2,000 rules. Then a cohort file, as `mm-advisor batch` reads it: a plain CLIPS
loop over the CSV (parse each row, assert, run, decide, one JSON line out) beside `mm-advisor
batch --jobs 1` and `--jobs 2` on the same file.
Run: python benchmarks/vs_clips.py [--check N] [--batch N] [--sizes 500,2000] [--rounds 5]
       [--cohort 20000] [--break-salience]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ctypes
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import clips

from mm_advisor.knowledge import layout, rulebase, synthetic
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

TOP = Path(__file__).resolve().parents[1]

NIL = "nil"
CMP = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Standard output and error closed at the file descriptors, where C code writes."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    try:
        yield
    finally:
        ctypes.CDLL(None).fflush(None)  # what C buffered goes to /dev/null too
        for fd, kept in zip((1, 2), saved):
            os.dup2(kept, fd)
            os.close(kept)
        os.close(null)


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
        with _quiet():  # CLIPS prints each pattern it refuses (see below), from C
            self._build(ranked, by_rule, break_salience)
        self.template = self.env.find_template("answers")
        self.fired_global = self.env.find_global("fired")

    def _build(self, ranked: list, by_rule: dict, break_salience: bool) -> None:
        for rank, rule in enumerate(ranked):
            salience = 10000 - rank
            if break_salience and rank == len(ranked) // 2:
                salience = 10000 - len(ranked) - 1  # one rule now comes after all the others
            try:
                self.env.build(self._rule(by_rule[id(rule)], rule, salience))
            except clips.CLIPSError:  # CLIPS refuses a pattern no fact can match: as tests
                self.env.build(self._rule(by_rule[id(rule)], rule, salience, in_tests=True))

    def _rule(self, name: str, rule: Any, salience: int, in_tests: bool = False) -> str:
        constraints: dict[str, list] = {}
        patterns, tests, read = [], [], set()
        for cond in rule.when:
            if isinstance(cond, DerivedTest):
                patterns.append(f"(derived (name {cond.name}))")
            elif isinstance(cond, Not) and isinstance(cond.part, DerivedTest):
                patterns.append(f"(not (derived (name {cond.part.name})))")
            elif isinstance(cond, FactTest) and not in_tests:
                constraints.setdefault(cond.fact, []).append(cond)
            else:
                tests.append(f"(test {self._true(cond)})")
                read.update(facts_read(cond))
        bound = sorted(read)
        slots = []
        for fact in sorted(set(constraints) | set(bound)):
            slots.append(f"({fact} {self._slot(fact, constraints.get(fact, []), fact in bound)})")
        if slots:
            patterns.insert(0, f"(answers {' '.join(slots)})")
        patterns += tests
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

    def _slot(self, fact: str, tests: list, bind: bool) -> str:
        """The constraint a slot puts on its value: true only when every test is (unknown,
        `nil`, fails every test but `known: false`)."""
        if not bind and len(tests) == 1 and tests[0].op in ("is", "in"):
            values = (tests[0].value,) if tests[0].op == "is" else tests[0].value
            return "|".join(self._literal(fact, v) for v in values)  # (budget low|medium)
        terms = [f"?{fact}"] if bind or any(t.op in CMP or t.op in ("in",) for t in tests) else []
        for t in tests:
            if t.op == "known":
                terms.append("~nil" if t.value else "nil")
            elif t.op == "is":
                terms.append(self._literal(fact, t.value))
            elif t.op == "is_not":
                terms += ["~nil", f"~{self._literal(fact, t.value)}"]
            elif t.op == "not_in":
                terms += ["~nil", *(f"~{self._literal(fact, v)}" for v in t.value)]
            elif t.op == "in":
                values = " ".join(self._literal(fact, v) for v in t.value)
                terms.append(f":(member$ ?{fact} (create$ {values}))")
            else:
                terms += ["~nil", f":({CMP[t.op]} ?{fact} {self._literal(fact, t.value)})"]
        terms = list(dict.fromkeys(terms))  # CLIPS matches nothing with `yes&yes`
        return "&".join(terms) if terms else f"?{fact}"

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

    def fact(self, answers: dict[str, Any]) -> dict[str, Any]:
        """The answers as the slots of an `answers` fact (yes/no as symbols, unknown left to
        the slot's default `nil`): what a CLIPS program asserts through the template."""
        slots = {}
        for name, value in answers.items():
            if value is not None:
                yesno = self.schema.facts[name].type == YESNO
                slots[name] = clips.Symbol("yes" if value else "no") if yesno else value
        return slots

    def run(self, slots: dict[str, Any]) -> Any:
        """One consultation: reset, assert the answers, run; the rules fired, as CLIPS holds
        them. (Through the template: clipspy's `assert_string` parses for ~0.3 ms a call.)"""
        self.env.reset()
        self.template.assert_fact(**slots)
        self.env.run()
        return self.fired_global.value

    def fired(self, answers: dict[str, Any]) -> tuple[str, ...]:
        return tuple(self.names[str(s)].id for s in self.run(self.fact(answers)))


def per_call(run: Callable, inputs: list) -> float:
    """The median time of one call over `inputs`."""
    times = []
    for one in inputs:
        start = time.perf_counter()
        run(one)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def throughput(run: Callable, inputs: list) -> float:
    start = time.perf_counter()
    for one in inputs:
        run(one)
    return len(inputs) / (time.perf_counter() - start)


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


def spread(values: list[float], scale: float = 1.0, form: str = "{:.3f}") -> str:
    """median [min-max]"""
    low, mid, high = (
        form.format(v * scale) for v in (min(values), statistics.median(values), max(values))
    )
    return f"{mid} [{low}-{high}]"


def renewal(kb, facts: list) -> int:
    """How many consultations a CLIPS environment should serve before a fresh one replaces it.

    Through clipspy an environment slows down as facts are asserted in it (on the shipped rules
    0.085 ms a consultation at first, 0.25 ms after 20,000), which is not CLIPS's own cost but
    what a program embedding it must live with: it starts a fresh environment now and then.
    Building one takes `b` seconds and each consultation adds `s` to the next one's time, so
    serving N consultations per environment costs b/N + s*N/2 each on average, least at
    N = sqrt(2b/s). Both are measured here: b by building one, s from the first and the last
    500 of 2,000 consultations in it."""
    start = time.perf_counter()
    clips_kb = ClipsRuleBase(kb)
    build = time.perf_counter() - start
    times = []
    for slots in itertools.islice(itertools.cycle(facts), 2000):
        start = time.perf_counter()
        clips_kb.run(slots)
        times.append(time.perf_counter() - start)
    slope = (statistics.fmean(times[-500:]) - statistics.fmean(times[:500])) / 1500
    return (
        1_000_000 if slope <= 0 else max(100, min(1_000_000, round(math.sqrt(2 * build / slope))))
    )


def renewing(kb, every: int) -> Callable[[dict[str, Any]], Any]:
    """`ClipsRuleBase(kb).run`, in a fresh environment every `every` consultations (the time to
    build it counted wherever it falls)."""
    current: list = []

    def run(slots: dict[str, Any]) -> Any:
        if not current or current[1] == every:
            current[:] = [ClipsRuleBase(kb), 0]
        current[1] += 1
        return current[0].run(slots)

    return run


def timings(kb, experta, batch: int, rounds: int) -> tuple[dict, int]:
    """Per consultation and per batch, each engine in turn within every round (interleaved),
    its input made before the clock starts; CLIPS in a fresh environment each round and then
    every `renewal` consultations (returned with the timings), the fast evaluator with an empty
    memo."""
    profiles = synthetic.random_profiles(kb.schema, batch, seed=99)
    translated = ClipsRuleBase(kb)
    facts = [translated.fact(p) for p in profiles]
    every = renewal(kb, facts)
    few = profiles[: max(50, batch // (len(kb.rules) // 10 + 1))]  # experta is slow at size
    engines = [
        ("CLIPS", lambda: renewing(kb, every), facts, 1000),
        ("experta", lambda: experta.run, few, 200),
        ("fast", lambda: Evaluator(kb).outcome, profiles, 1000),
    ]
    seen: dict[str, list[float]] = {}
    for turn in range(rounds):
        for label, make, inputs, single in engines[turn % 3 :] + engines[: turn % 3]:
            seen.setdefault(f"{label} call", []).append(per_call(make(), inputs[:single]))
            seen.setdefault(f"{label} batch", []).append(throughput(make(), inputs))
    return seen, every


def cohort_loop(kb, path: Path, out: Path, every: int) -> float:
    """A CLIPS program's loop over a cohort file: parse each CSV row, assert it, run, decide,
    write one JSON line, in a fresh environment every `every` rows. Rows per second."""
    from mm_advisor.reasoning.decision import decide

    cl = ClipsRuleBase(kb)  # its translation of each answer; `run` renews the environment
    run = renewing(kb, every)
    specs = kb.schema.facts
    rules = cl.names
    count = 0
    start = time.perf_counter()
    with path.open(newline="") as rows, out.open("w") as sink:
        for row in csv.DictReader(rows):
            count += 1
            answers = {}
            for name, text in row.items():
                if name in specs and text not in ("", "unknown"):
                    answers[name] = specs[name].parse(text)
            fired = [rules[str(s)] for s in run(cl.fact(answers))]
            conclusion = next((r for r in fired if r.conclude), None)
            decision = decide(kb.schema.options, fired, conclusion)
            sink.write(
                json.dumps({"id": row.get("id"), "recommendation": decision.recommendation}) + "\n"
            )
    return count / (time.perf_counter() - start)


def batch_command(path: Path, out: Path, jobs: int) -> float:
    """`mm-advisor batch` on the cohort file, a whole process; rows per second."""
    rows = sum(1 for _ in path.open()) - 1
    command = [str(Path(sys.executable).parent / "mm-advisor"), "batch", "--kb", str(TOP), str(path),
               "--jobs", str(jobs), "--quiet", "--out", str(out)]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True)
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=int, default=2000, help="profiles in the check")
    parser.add_argument("--batch", type=int, default=10_000, help="profiles in the batch")
    parser.add_argument("--sizes", default="500,2000", help="synthetic rule-base sizes")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of timings")
    parser.add_argument("--cohort", type=int, default=20_000, help="rows of the cohort file")
    parser.add_argument("--break-salience", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bases = [("shipped", layout.shipped())]
        for size in (int(s) for s in options.sizes.split(",") if s):
            bases.append((f"{size} rules", synthetic.write(Path(tmp) / str(size), size, seed=7)))
        print("Differential check: the rules fired, in order")
        loaded = []
        for name, where in bases:
            kb = rulebase.load(
                where
            )  # refuses a base with an error (the synthetic ones lint clean)
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
            loaded.append((name, kb, experta))
        print()
        print(f"Per consultation, ms: median [min-max] of {options.rounds} interleaved rounds "
              "(each round's figure the median over 1,000 profiles; 200 for experta)")  # fmt: skip
        print(
            f"{'rules':>10}  {'CLIPS':>22} {'experta':>22} {'fast':>22}  experta/CLIPS  fast/CLIPS"
        )
        rates = []
        for name, kb, experta in loaded:
            seen, every = timings(kb, experta, options.batch, options.rounds)
            mid = {k: statistics.median(v) for k, v in seen.items()}
            print(
                f"{name:>10}  " + " ".join(f"{spread(seen[f'{e} call'], 1000):>22}" for e in ("CLIPS", "experta", "fast"))
                + f"  {mid['experta call'] / mid['CLIPS call']:>12.1f}x {mid['CLIPS call'] / mid['fast call']:>9.1f}x faster"
            )  # fmt: skip
            rates.append((name, mid, every))
        intervals = ", ".join(f"{every:,} on {name}" for name, _, every in rates)
        print(f"  (consultations per CLIPS environment, see `renewal`: {intervals})")
        for name, mid, _ in rates:
            limit = 3 if name == "shipped" else 8
            ratio = mid["experta call"] / mid["CLIPS call"]
            print(f"  target experta/CLIPS <= {limit}x on {name}: {ratio:.1f}x, "
                  f"{'met' if ratio <= limit else 'NOT met'}")  # fmt: skip
        print()
        print("A batch on one core, profiles/s (median of the rounds; the input made beforehand)")
        for name, mid, _ in rates:
            print(f"{name:>10}  CLIPS {mid['CLIPS batch']:>9,.0f}  experta {mid['experta batch']:>9,.0f}  "
                  f"fast {mid['fast batch']:>9,.0f}")  # fmt: skip
        if options.cohort:
            print()
            path, out = Path(tmp) / "cohort.csv", Path(tmp) / "out.jsonl"
            kb = loaded[0][1]
            sample = [str(Path(sys.executable).parent / "mm-advisor"), "sample", "--kb", str(TOP),
                      str(options.cohort), "--seed", "11", "--out", str(path)]  # fmt: skip
            subprocess.run(sample, check=True, capture_output=True)
            translated = ClipsRuleBase(kb)
            every = renewal(
                kb, [translated.fact(p) for p in synthetic.random_profiles(kb.schema, 2000, seed=5)]
            )
            seen = {}
            for _ in range(3):
                seen.setdefault("CLIPS", []).append(cohort_loop(kb, path, out, every))
                for jobs in (1, 2):
                    seen.setdefault(f"batch --jobs {jobs}", []).append(
                        batch_command(path, out, jobs)
                    )
            print(f"A cohort file of {options.cohort:,} rows (CSV in, one JSON line per row out), "
                  f"rows/s, median [min-max] of 3 interleaved rounds (CLIPS in a fresh environment "
                  f"every {every:,} rows):")  # fmt: skip
            for label, values in seen.items():
                print(f"  {label:>16}  {spread(values, 1, '{:,.0f}')}")
            clips_rate = statistics.median(seen["CLIPS"])
            for jobs in (1, 2):
                ratio = statistics.median(seen[f"batch --jobs {jobs}"]) / clips_rate
                print(
                    f"  mm-advisor batch --jobs {jobs} / the CLIPS loop: {ratio:.1f}x (a whole process, startup included)"
                    f"   (target >= 4x: {'met' if ratio >= 4 else 'NOT met'})"
                )
        print()
        print(f"Machine: {machine()}")


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
