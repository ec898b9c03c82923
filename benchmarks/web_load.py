"""`mm-advisor serve` under load: concurrent simulated people completing consultations, each
page timed, beside what one consultation costs on the command line.

Starts the README's command (`mm-advisor serve`, with a log) on a free port, then N users
(asyncio, one HTTP client each, with its own cookie) each complete consultations as a browser
without JavaScript would: GET the question, POST the answer (random, from a fixed seed; "not
sure" one time in five), follow the redirect, until the review; then POST for the result and
GET it. Each person takes `--think` seconds on average before sending a form (0: no pause,
which measures how many requests the server can take). Prints the p50/p95/p99 latency of every request, the throughput, and checks the log
holds exactly one entry per consultation completed (nothing lost).

Run: python benchmarks/web_load.py [--users 50] [--consultations 4] [--workers 1] [--think 1]
Needs the web extra and httpx (both in the test extra).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import httpx2 as httpx
except ImportError:
    import httpx

from mm_advisor.knowledge import layout, rulebase
from mm_advisor.reasoning.advisor import Advisor

TOP = Path(__file__).resolve().parents[1]
FACT = re.compile(r'name="fact" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
SLOW: list = []
BEGUN = [time.perf_counter()]


def answer_for(spec, rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.2:
        return {"action": "skip"}
    if spec.type == "yesno":
        return {"action": "next", "answer": rng.choice(["yes", "no"])}
    if spec.type == "number":
        return {"action": "next", "answer": str(rng.randint(spec.minimum, spec.maximum))}
    return {"action": "next", "answer": rng.choice(spec.choices)}


async def person(
    client, schema, consultations: int, seed: int, think: float, times: list[float]
) -> int:
    rng = random.Random(seed)
    done = 0

    async def timed(method: str, path: str, **kw):
        if think and method == "POST":  # reading the page, choosing an answer
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
        start = time.perf_counter()
        response = await client.request(method, path, **kw)
        times.append(time.perf_counter() - start)
        SLOW.append((times[-1], start - BEGUN[0], method, path))
        return response

    await timed("GET", "/")
    for _ in range(consultations):
        while True:
            page = await timed("GET", "/question")
            if page.status_code == 303:
                break
            fact = FACT.search(page.text).group(1)
            token = TOKEN.search(page.text).group(1)
            sent = {"token": token, "fact": fact, **answer_for(schema.facts[fact], rng)}
            answered = await timed("POST", "/question", data=sent)
            assert answered.status_code == 303, answered.status_code
        review = await timed("GET", "/review")
        token = TOKEN.search(review.text).group(1)
        concluded = await timed("POST", "/result", data={"token": token})
        assert concluded.status_code == 303
        result = await timed("GET", "/result")
        assert result.status_code == 200 and "<h2>The full reasoning</h2>" in result.text
        done += 1
        token = TOKEN.search(result.text).group(1)
        await timed("POST", "/restart", data={"token": token})
    return done


def start_server(workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "mm-advisor"), "serve", "--kb", str(TOP),
               "--port", str(port), "--log", str(log), "--workers", str(workers),
               "--rate-limit", "1000000"]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.05)


def cli_cost(rounds: int = 5) -> tuple[float, float]:
    """One consultation on the command line: a whole process, and the library call alone."""
    answers = TOP / "facts" / "profiles" / "stepping-stone.yaml"
    command = [str(Path(sys.executable).parent / "mm-advisor"), "consult", "--kb", str(TOP),
               "--answers", str(answers), "--no-input"]  # fmt: skip
    spent = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        spent.append(time.perf_counter() - start)
    advisor = Advisor(rulebase.load(layout.read(TOP, "the repository")))
    values = {name: None for name in advisor.rulebase.schema.facts}
    start = time.perf_counter()
    for _ in range(200):
        advisor.consult(values)
    return statistics.median(spent), (time.perf_counter() - start) / 200


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--consultations", type=int, default=4, help="per user")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean seconds a person takes before sending each form (0: as fast as possible)",
    )
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    schema = rulebase.load(layout.read(TOP, "the repository")).schema
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "log.db"
        server, address = start_server(args.workers, log)
        try:
            times: list[float] = []

            async def everyone() -> tuple[int, float]:
                # Every client made first: making one takes the loop ~20 ms (its TLS context),
                # which would otherwise be counted as the server's time.
                clients = [
                    httpx.AsyncClient(base_url=address, timeout=60) for _ in range(args.users)
                ]
                start = BEGUN[0] = time.perf_counter()
                done = await asyncio.gather(
                    *(
                        person(c, schema, args.consultations, args.seed + i, args.think, times)
                        for i, c in enumerate(clients)
                    )  # fmt: skip
                )
                wall = time.perf_counter() - start
                for c in clients:
                    await c.aclose()
                return sum(done), wall

            done, wall = asyncio.run(everyone())
        finally:
            server.terminate()
            server.wait(timeout=30)
        (logged,) = sqlite3.connect(log).execute("SELECT count(*) FROM consultations").fetchone()
    cut = statistics.quantiles(times, n=100)
    process, library = cli_cost()
    print(f"mm-advisor serve, {args.workers} worker(s), on {os.cpu_count()} cores: "
          f"{args.users} users at once (thinking {args.think:g} s before each form), "
          f"{done} consultations, {len(times)} requests in {wall:.1f} s")  # fmt: skip
    print(f"  page latency: p50 {ms(cut[49])}, p95 {ms(cut[94])}, p99 {ms(cut[98])}, "
          f"max {ms(max(times))}")  # fmt: skip
    print(f"  throughput: {len(times) / wall:.0f} requests/s, {done / wall:.1f} consultations/s")
    print(f"  log: {logged} entries for {done} consultations ({'nothing lost' if logged == done else 'LOST'})")  # fmt: skip
    print(f"  the command line, one consultation: {ms(process)} a process "
          f"(`consult --answers FILE --no-input`), {ms(library)} the library call")  # fmt: skip
    print(
        "  slowest:",
        ", ".join(f"{m} {p} {ms(t)} at {at:.1f} s" for t, at, m, p in sorted(SLOW)[-5:]),
    )
    print(f"  target p95 < 50 ms: {'met' if cut[94] < 0.050 else 'NOT met'}")
    if logged != done:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
