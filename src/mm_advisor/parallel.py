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
    with multiprocessing.Pool(jobs, _start, (initializer, initargs)) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(work, (chunk,)))
            if len(pending) >= jobs * IN_FLIGHT:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _start(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """A worker leaves Ctrl-C to the parent, which stops them all (a worker that died of it
    would leave the pool waiting for its chunk for ever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)
