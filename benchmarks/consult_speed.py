"""Measure, side by side in one run: engine time per consultation with (a) a fresh experta engine
each time and (b) the project's reused engine, and the whole-process time of a JSON consultation.

Targets: (b) at least 5x faster than (a); the whole process under 150 ms, and at most 1.5x the
bare import of its dependencies (measured interleaved with it).
Run: python benchmarks/consult_speed.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mm_advisor.knowledge import answers as answers_mod
from mm_advisor.knowledge import layout, rulebase
from mm_advisor.reasoning.engine import CompiledRuleBase

TOP = Path(__file__).resolve().parents[1]
PROFILES = sorted((TOP / "facts" / "profiles").glob("*.yaml"))


def per_consultation(run, profiles, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for answers in profiles:
            run(answers)
    return (time.perf_counter() - start) / (rounds * len(profiles))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    kb = rulebase.load(layout.read(TOP, "the repository"))
    profiles = [answers_mod.read_file(str(p), kb.schema).values for p in PROFILES]
    reused = CompiledRuleBase(kb)
    fresh = per_consultation(lambda a: CompiledRuleBase(kb).run(a), profiles, args.rounds)
    warm = per_consultation(reused.run, profiles, args.rounds)

    command = [
        sys.executable,
        "-c",
        "from mm_advisor.cli import main; main()",
        "consult",
        "--answers",
        str(TOP / "facts" / "profiles" / "career-accelerator.yaml"),
        "--format",
        "json",
    ]
    # As an installed tool runs: with its bytecode cached (pip compiles it on install; a
    # PYTHONDONTWRITEBYTECODE set in a development shell would make every start compile it).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # What any program using experta, click and PyYAML pays to start (experta needs the alias
    # that compat.py adds while it loads on Python 3.10+).
    bare = [
        sys.executable,
        "-c",
        "import collections, collections.abc; collections.Mapping = collections.abc.Mapping; "
        "import experta, click, yaml",
    ]
    times: dict[str, list[float]] = {"consult": [], "bare": []}
    for argv in (command, bare):  # warm the caches
        subprocess.run(argv, check=True, capture_output=True, env=env)
    for _ in range(10):  # interleaved, so both see the machine alike
        for name, argv in (("consult", command), ("bare", bare)):
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            times[name].append(time.perf_counter() - start)
    whole = statistics.median(times["consult"])
    imports = statistics.median(times["bare"])

    print(f"profiles: {len(profiles)}, rounds: {args.rounds}, rules: {len(kb.rules)}")
    print(f"(a) fresh engine per consultation: {fresh * 1000:8.2f} ms")
    print(f"(b) reused engine (reset):         {warm * 1000:8.2f} ms")
    print(f"    speed-up (a)/(b):              {fresh / warm:8.1f}x   (target >= 5x)")
    print(
        f"whole process, consult --format json (median of 10): {whole * 1000:.0f} ms"
        f"   (target < 150 ms)"
    )
    print(
        f"bare import of experta, click and PyYAML (median of 10): {imports * 1000:.0f} ms;"
        f" consult / bare import: {whole / imports:.2f}x   (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
