"""The experta engine with mm-advisor's speedups against experta as published, side by side.

For the shipped rules and synthetic bases of 500 and 2,000 rules: both engines run the same
random profiles, which must fire the same rules in the same order, deriving the same facts (the
run stops at the first difference); then the median time per consultation of each, interleaved
in rounds, and their ratio.
Targets: at least 4x faster on the shipped rules, at least 10x at 2,000 rules.
Run: python benchmarks/engine_speed.py [--profiles N] [--sizes 500,2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mm_advisor.knowledge import layout, rulebase, synthetic
from mm_advisor.reasoning import engine, speedups

TARGETS = {"shipped": 4, "2000": 10}


def firings(compiled: engine.CompiledRuleBase, answers: dict) -> tuple:
    run = compiled.run(answers)
    return tuple(f.rule.id for f in run.firings), run.derived


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=10_000, help="for the shipped rules")
    parser.add_argument("--sizes", default="500,2000")
    options = parser.parse_args()
    print(f"{'rules':>8} {'profiles':>9} {'same':>6} {'experta':>12} {'patched':>12} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        bases = [("shipped", layout.shipped(), options.profiles)]
        for size in (int(s) for s in options.sizes.split(",") if s):
            where = synthetic.write(Path(tmp) / str(size), size, seed=5)
            bases.append((str(size), where, max(40, options.profiles // size)))
        for name, where, count in bases:
            kb = rulebase.load(where)
            profiles = synthetic.random_profiles(kb.schema, count, seed=21)
            speedups.speedups(False)
            plain = engine.CompiledRuleBase(kb)
            expected = [firings(plain, a) for a in profiles]
            speedups.speedups(True)
            fast = engine.CompiledRuleBase(kb)
            for number, (answers, want) in enumerate(zip(profiles, expected), 1):
                if firings(fast, answers) != want:
                    print(f"{name}: DIFFERENT firings on profile {number}: {answers}")
                    sys.exit(1)
            times: dict[bool, list[float]] = {False: [], True: []}
            for answers in profiles[:300]:
                for on, compiled in ((False, plain), (True, fast)):
                    speedups.speedups(on)
                    start = time.perf_counter()
                    compiled.run(answers)
                    times[on].append(time.perf_counter() - start)
            speedups.speedups(True)
            before, after = (statistics.median(times[on]) for on in (False, True))
            target, verdict = TARGETS.get(name), ""
            if target is not None:
                met = "met" if before / after >= target else "NOT met"
                verdict = f"   (target >= {target}x: {met})"
            print(
                f"{name:>8} {count:>9,} {'yes':>6} {before * 1000:>9.2f} ms {after * 1000:>9.2f} ms "
                f"{before / after:>6.1f}x{verdict}"
            )


if __name__ == "__main__":
    main()
