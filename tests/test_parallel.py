"""The process pool under batch and bulk verification: order, errors, and stopping at any
moment without leaving a process behind or the parent waiting."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from mm_advisor.parallel import WorkerLost, ordered_map

_setting: list[int] = []


def _set(value: int) -> None:
    _setting.append(value)


def _scaled(chunk: list[int]) -> list[tuple[int, int, int]]:
    """Each number with the initializer's setting and the worker that did it."""
    return [(n * _setting[-1], n, os.getpid()) for n in chunk]


def _broken(chunk: list[int]) -> list[int]:
    if 13 in chunk:
        raise LookupError(f"no {13} here")
    return chunk


def _dies(chunk: list[int]) -> list[int]:
    if 13 in chunk:
        os._exit(9)
    return chunk


def _fails_to_start() -> None:
    raise ValueError("cannot start")


def _unpicklable(chunk: list[int]) -> object:
    return lambda: chunk


def _no_workers_left() -> None:
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("jobs", [1, 2, 3])
@pytest.mark.parametrize("count", [0, 1, 2, 7, 40])
def test_results_come_in_the_order_of_the_chunks(jobs, count):
    chunks = [[i, i + 1000] for i in range(count)]
    results = list(ordered_map(_scaled, chunks, jobs, _set, (3,)))
    assert [[(value, n) for value, n, _ in result] for result in results] == [
        [(3 * i, i), (3 * (i + 1000), i + 1000)] for i in range(count)
    ]
    workers = {pid for result in results for _, _, pid in result}
    if jobs == 1:
        assert workers == ({os.getpid()} if count else set())
    else:
        assert len(workers) == min(jobs, count) and os.getpid() not in workers
    _no_workers_left()


def test_an_error_in_the_work_is_raised_in_the_parent_and_the_workers_stop():
    with pytest.raises(LookupError, match="^no 13 here$"):
        list(ordered_map(_broken, ([i] for i in range(40)), 2))
    _no_workers_left()


def test_results_before_the_error_are_given():
    given = []
    with pytest.raises(LookupError):
        for result in ordered_map(_broken, ([i] for i in range(40)), 3):
            given.append(result)
    assert given == [[i] for i in range(13)]


def test_an_initializer_that_fails_is_raised_at_the_first_chunk():
    with pytest.raises(ValueError, match="^cannot start$"):
        list(ordered_map(_scaled, [[1]], 2, _fails_to_start))
    _no_workers_left()


def test_a_worker_that_dies_is_an_error_not_a_wait():
    with pytest.raises(WorkerLost) as caught:
        list(ordered_map(_dies, ([i] for i in range(40)), 2))
    assert str(caught.value) == (
        "a worker process ended (exit code 9) before it gave back its results; "
        "--jobs 1 works without workers"
    )
    _no_workers_left()


def test_a_result_that_cannot_go_back_is_an_error():
    with pytest.raises(WorkerLost, match="^a worker could not give back its result: "):
        list(ordered_map(_unpicklable, [[1]], 2))
    _no_workers_left()


def test_a_consumer_that_stops_early_stops_the_workers():
    results = ordered_map(_scaled, ([i] for i in range(1000)), 2, _set, (1,))
    assert next(results)[0][:2] == (0, 0)
    assert len(multiprocessing.active_children()) == 2
    results.close()
    _no_workers_left()


PARENT_KILLED = """
import os, time
from mm_advisor.parallel import ordered_map

def pid(chunk):
    return os.getpid()

for worker in ordered_map(pid, [[0], [1]], 2):
    print(worker, flush=True)
time.sleep(600)  # the workers are idle now, waiting for a chunk
"""


@pytest.mark.slow
def test_the_workers_leave_when_the_parent_is_killed():
    """Regression: each forked worker held a copy of the parent's end of its own pipe (and of
    the pipes made before it), so it never saw the pipe end: the workers stayed, and a finished
    batch waited for them for ever."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_KILLED], stdout=subprocess.PIPE, text=True
    )
    workers = [int(parent.stdout.readline()), int(parent.stdout.readline())]
    parent.kill()
    parent.wait()
    for pid in workers:
        _wait_gone(pid)


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:  # gone, or a zombie that nobody has reaped yet
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"worker {pid} was still there a minute after its parent was killed")
