"""How `rules lint`, `rules test` and `consult` grow with the number of rules.

For synthetic knowledge bases (valid under `rules lint`) of increasing size, each command runs as
a user would run it, in its own process, and its wall time is printed beside the time per rule
relative to the smallest base: a column near 1.0 means linear growth. `rules test` runs 100
scenarios written from the fast evaluator's answers.
Run: python benchmarks/scale.py [--sizes 500,1000,2000,5000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from mm_advisor.knowledge import rulebase, synthetic
from mm_advisor.reasoning.evaluator import Evaluator


def scenarios(kb: rulebase.RuleBase, count: int, seed: int) -> dict:
    evaluator = Evaluator(kb)
    profiles = synthetic.random_profiles(kb.schema, count, seed)
    return {
        "scenarios": [
            {
                "name": f"profile {i}",
                "answers": answers,
                "expect": {"recommendation": evaluator.recommend(answers)},
            }
            for i, answers in enumerate(profiles)
        ]
    }


def timed(*args: str) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from mm_advisor.cli import main; main()", *args],
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,5000")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    print(f"{'rules':>6}  {'command':<12} {'seconds':>8}  {'per rule vs smallest':>21}  exit")
    first: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            where = synthetic.write(Path(tmp) / str(size), size, seed=size)
            kb = rulebase.load(where)
            suite = Path(tmp) / f"{size}-scenarios.yaml"
            suite.write_text(yaml.safe_dump(scenarios(kb, 100, size), sort_keys=False))
            folders = ("--rules", str(where.rules), "--facts", str(where.facts))
            commands = {
                "rules lint": ("rules", "lint", *folders),
                "rules test": ("rules", "test", *folders, str(suite)),
                "consult": ("consult", *folders, "--no-input", "--set", "budget=low"),
            }
            for name, args in commands.items():
                seconds, code = timed(*args)
                per_rule = seconds / size
                first.setdefault(name, per_rule)
                ratio = per_rule / first[name]
                print(f"{size:>6}  {name:<12} {seconds:>8.2f}  {ratio:>21.2f}  {code}", flush=True)


if __name__ == "__main__":
    main()
