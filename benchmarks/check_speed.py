"""Measure `rules check`: the shipped invariants proved over the whole answer space, on one core.

Target: under 30 s. Prints the time beside the number of profiles covered.
Run: python benchmarks/check_speed.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from mm_advisor.knowledge import invariants, layout, rulebase
from mm_advisor.reasoning import checker

TOP = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kb = rulebase.load(layout.read(TOP, "the repository"))
    found = invariants.load(invariants.default_files(TOP / "facts" / "invariants"), kb)
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        report = checker.Checker(kb, found).run()  # a fresh checker: nothing cached between rounds
        times.append(time.perf_counter() - start)
    held = len(report.findings) - len(report.failed)
    cases = sum(f.cases for f in report.findings)
    median = statistics.median(times)
    print(f"rules: {len(kb.rules)}, questions: {len(kb.schema.facts)}, invariants: {len(found)}")
    print(f"answer space: {report.space:,} profiles (every class of every answer)")
    print(f"invariants holding: {held}/{len(report.findings)}; profile checks: {cases:,}")
    print(
        f"full check, one core (median of {args.rounds}): {median:.2f} s   (target < 30 s, "
        f"{30 / median:.1f}x under)"
    )
    print(f"profile checks per second: {cases / median:,.0f}")


if __name__ == "__main__":
    main()
