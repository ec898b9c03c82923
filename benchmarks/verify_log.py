"""Measure bulk re-verification: `audit verify --log DB --all` over a log of signed consultations.

Target: 100,000 logged consultations in under a minute on this machine.
The log is built first (not timed): traces of distinct random profiles, made the normal way, each
stored many times under its own subject and time, signed. Then the whole command runs, as a user
would run it, and its time is printed beside the count.
Run: python benchmarks/verify_log.py [--consultations N] [--profiles K] [--jobs J]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mm_advisor.audit import signing, trace
from mm_advisor.audit.log import ConsultationLog
from mm_advisor.knowledge import layout, rulebase
from mm_advisor.knowledge.answers import Answers
from mm_advisor.reasoning.advisor import Advisor

TOP = Path(__file__).resolve().parents[1]


def build_log(path: Path, keys: Path, consultations: int, profiles: int, seed: int) -> None:
    where = layout.read(TOP, "the repository")
    kb = rulebase.load(where)
    advisor = Advisor(kb)
    signer = signing.load_signer(str(keys / signing.PRIVATE))
    rng = random.Random(seed)
    docs = []
    for _ in range(profiles):
        answers = Answers()
        for name, spec in kb.schema.facts.items():
            value = None
            if rng.random() < 0.7:
                value = rng.randint(1, 36) if spec.type == "number" else rng.choice(spec.domain())
            answers.give(name, value, "answers-file")
        docs.append(trace.build(kb, answers, advisor.consult(answers.values)))
    with ConsultationLog(str(path), write=True):
        pass  # creates the log with its schema
    db = sqlite3.connect(path)
    rows = []
    for i in range(consultations):
        doc = {**docs[i % len(docs)], "subject": f"case-{i:06d}"}
        stamp = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
        kept = trace.stamped(doc, signer, at=stamp)
        rows.append(
            (kept["created_at"], kept["recommendation"], kept["rulebase"]["digest"],
             kept["content_digest"], json.dumps(kept, ensure_ascii=False), kept["subject"],
             kept["signature"]["key_id"])
        )  # fmt: skip
    db.executemany(
        "INSERT INTO consultations (created_at, recommendation, rulebase_digest, content_digest, "
        "trace, subject, key_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute("PRAGMA user_version = 2")  # a log from before the chain: sealed when opened
    db.commit()
    db.close()
    with ConsultationLog(str(path), write=True):
        pass  # seals and links the entries written directly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consultations", type=int, default=100_000)
    parser.add_argument("--profiles", type=int, default=2_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        signing.generate(folder / "keys")
        log = folder / "log.db"
        started = time.perf_counter()
        build_log(log, folder / "keys", args.consultations, args.profiles, args.seed)
        print(
            f"log: {args.consultations:,} signed consultations of {args.profiles:,} distinct "
            f"profiles, {log.stat().st_size / 2**20:.0f} MiB (built in "
            f"{time.perf_counter() - started:.0f} s, not timed)"
        )
        command = [
            sys.executable, "-c", "from mm_advisor.cli import main; main()",
            "audit", "verify", "--kb", str(TOP), "--log", str(log), "--all",
            "--public-key", str(folder / "keys" / signing.PUBLIC), "--jobs", str(args.jobs),
            "--format", "json", "--quiet",
        ]  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        summary = json.loads(result.stdout)["summary"]
        print(f"audit verify --log --all --jobs {args.jobs}: exit {result.returncode}, {summary}")
        print(
            f"{args.consultations:,} consultations verified in {elapsed:.1f} s: "
            f"{args.consultations / elapsed:,.0f} per second   (target: 100,000 in under 60 s)"
        )


if __name__ == "__main__":
    main()
