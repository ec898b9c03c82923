"""Work spread over processes: results in the order the work came, with only a few chunks in
flight, so an input of any length streams through in flat memory."""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from typing import Any, Callable, Iterable, Iterator, TypeVar

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")
IN_FLIGHT = 3  # chunks queued per process: enough to keep every core busy


def ordered_map(
    work: Callable[[Chunk], Result],
    chunks: Iterable[Chunk],
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[Result]:
    """`work(chunk)` for every chunk, on `jobs` processes (each set up once by `initializer`),
    yielded in the chunks' order. With one job, everything runs in this process."""
    if jobs <= 1:
        if initializer is not None:
            initializer(*initargs)
        for chunk in chunks:
            yield work(chunk)
        return
    # Ctrl-C goes to the whole process group. The workers are made with it held back, so that
    # none dies of it before `_start` makes it ignore it: a worker killed while starting can hold
    # the pool's lock, and the pool then waits for ever. Here it is delivered once they exist.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = multiprocessing.Pool(jobs, _start, (initializer, initargs))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    with pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(work, (chunk,)))
            if len(pending) >= jobs * IN_FLIGHT:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _start(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """A worker leaves Ctrl-C to the parent, which stops them all (a worker that died of it
    would leave the pool waiting for its chunk for ever). One that came while it started is
    dropped: the parent has it too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if initializer is not None:
        initializer(*initargs)
