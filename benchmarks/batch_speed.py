"""Measure `mm-advisor batch` on a generated cohort: wall time, rows per second and peak memory,
on one process and on every core, side by side on the same file.

Targets: a million rows in under 25 s on the development machine (2 cores), with peak memory
(all of the command's processes together) under 200 MiB; on 2 cores, `--jobs 2` at least 1.7x
as fast as `--jobs 1`.
The cohort is generated first (not timed): random profiles of the shipped questions, as JSON
Lines with an id. Then the command runs as a user would run it, in its own process; its memory
is sampled from /proc (Linux) every 50 ms, summed over the process and its workers. The runs
alternate (--rounds of each) and the median is compared.
Run: python benchmarks/batch_speed.py [--rows N] [--jobs J ...] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mm_advisor.knowledge import layout, rulebase, synthetic


def tree_rss(pid: int) -> tuple[int, int]:
    """(sum, largest) resident memory in bytes of `pid` and its descendants, from /proc."""
    sizes = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm") as fh:
                sizes.append(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
            with open(f"/proc/{current}/task/{current}/children") as fh:
                pending += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return sum(sizes), max(sizes, default=0)


def run(cohort: Path, out: Path, jobs: int) -> tuple[float, int, int, int]:
    """(seconds, peak memory of all processes, of the largest, results written) of one batch."""
    command = [sys.executable, "-m", "mm_advisor", "batch", str(cohort), "--out", str(out),
               "--jobs", str(jobs), "--quiet"]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    peak_sum = peak_one = 0
    while process.poll() is None:
        total, largest = tree_rss(process.pid)
        peak_sum, peak_one = max(peak_sum, total), max(peak_one, largest)
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"batch --jobs {jobs} exited {process.returncode}")
    with out.open() as fh:
        written = sum(1 for _ in fh)
    return seconds, peak_sum, peak_one, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, action="append", help="default: 1 and every core")
    parser.add_argument("--rounds", type=int, default=1)
    options = parser.parse_args()
    jobs = options.jobs or sorted({1, os.cpu_count() or 1})
    kb = rulebase.load(layout.shipped())
    with tempfile.TemporaryDirectory() as tmp:
        cohort, out = Path(tmp) / "cohort.jsonl", Path(tmp) / "out.jsonl"
        start = time.perf_counter()
        with cohort.open("w") as fh:
            done = 0
            while done < options.rows:  # in slices, so generating stays small too
                size = min(100_000, options.rows - done)
                for i, profile in enumerate(synthetic.random_profiles(kb.schema, size, done)):
                    fh.write(json.dumps({"id": f"p{done + i}", **profile}) + "\n")
                done += size
        print(
            f"cohort: {options.rows:,} rows, {cohort.stat().st_size / 2**20:,.0f} MiB "
            f"(generated in {time.perf_counter() - start:.0f} s, not timed)",
            flush=True,
        )
        seen: dict[int, list[tuple[float, int, int, int]]] = {j: [] for j in jobs}
        for _ in range(options.rounds):
            for j in jobs:
                seen[j].append(run(cohort, out, j))
        for j in jobs:
            seconds = statistics.median(s for s, *_ in seen[j])
            peak_sum = max(p for _, p, _, _ in seen[j])
            peak_one = max(p for _, _, p, _ in seen[j])
            written = min(w for *_, w in seen[j])
            print(f"mm-advisor batch --jobs {j}: {written:,} results")
            print(
                f"  {options.rows:,} rows in {seconds:.1f} s: {options.rows / seconds:,.0f} rows/s"
                f"   (target: 1,000,000 in under 25 s)"
            )
            print(
                f"  peak memory: {peak_sum / 2**20:.0f} MiB for all processes together, "
                f"{peak_one / 2**20:.0f} MiB the largest one   (target: under 200 MiB)"
            )
        base = statistics.median(s for s, *_ in seen[jobs[0]])
        for j in jobs[1:]:
            ratio = base / statistics.median(s for s, *_ in seen[j])
            print(f"--jobs {j} / --jobs {jobs[0]}: {ratio:.2f}x faster   (target on 2 cores: 1.7x)")


if __name__ == "__main__":
    main()
