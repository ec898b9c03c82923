"""Measure how many questions the shortened interview asks, against the full questionnaire, over
random profiles (fixed seed), and check it always reaches the same recommendation.

Run: python benchmarks/interview_length.py [--profiles N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from pathlib import Path

from mm_advisor.knowledge import layout, rulebase
from mm_advisor.reasoning.advisor import Advisor
from mm_advisor.reasoning.relevance import Planner

TOP = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    kb = rulebase.load(layout.read(TOP, "the repository"))
    planner, advisor = Planner(kb), Advisor(kb)
    rng = random.Random(args.seed)
    lengths, mismatches, outcomes = [], 0, Counter()
    start = time.perf_counter()
    for _ in range(args.profiles):
        full = {}
        for name, spec in kb.schema.facts.items():
            values = (
                list(spec.domain())
                if spec.type != "number"
                else [rng.randint(spec.minimum, spec.maximum), rng.randint(1, 24)]
            )
            full[name] = rng.choice(values + [None])
        answers: dict = {}
        free = frozenset(kb.schema.facts)
        while (fact := planner.next_question(answers, free)) is not None:
            answers[fact] = full[fact]
            free -= {fact}
        recommendation = advisor.recommend(answers)
        mismatches += recommendation != advisor.recommend(full)
        outcomes[recommendation] += 1
        lengths.append(len(answers))
    elapsed = time.perf_counter() - start
    total = len(kb.schema.facts)
    print(f"profiles: {args.profiles} (seed {args.seed}); full questionnaire: {total} questions")
    print(
        f"shortened interview: mean {statistics.mean(lengths):.2f}, median "
        f"{statistics.median(lengths):g}, max {max(lengths)}, min {min(lengths)} questions"
    )
    print(
        f"same recommendation as the full questionnaire: {args.profiles - mismatches}"
        f"/{args.profiles}"
    )
    print(f"recommendations: {dict(sorted(outcomes.items()))}")
    print(f"planning time per interview: {elapsed / args.profiles * 1000:.1f} ms")


if __name__ == "__main__":
    main()
