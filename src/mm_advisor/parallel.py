"""Work spread over processes: results in the order the work came, with only a few chunks in
flight, so an input of any length streams through in flat memory.

Each worker has a pipe of its own, and the parent shares nothing else with it: no lock, no
queue, no thread of its own. So a worker can be killed at any moment (Ctrl-C, an error, the consumer stopping) without leaving
the parent waiting for ever, and a worker that dies is an error here, not a hang. (With
`multiprocessing.Pool`, terminating while its task thread was writing a large chunk could
wait for ever for a reader that was gone: the test suite hung on it under load.)
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Callable, Iterable, Iterator, TypeVar

from .errors import AdvisorError

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")
Worker = tuple[BaseProcess, Connection]
_END = object()
IN_FLIGHT = 2  # chunks given to each process at a time: the next is there when one is done


class WorkerLost(AdvisorError):
    """A worker process ended without giving back its chunk's result (killed, out of memory)."""


def ordered_map(
    work: Callable[[Chunk], Result],
    chunks: Iterable[Chunk],
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[Result]:
    """`work(chunk)` for every chunk, on `jobs` processes (each set up once by `initializer`),
    yielded in the chunks' order. With one job, everything runs in this process. An exception
    in `work` or `initializer` is raised here, with the chunk's place in the order."""
    if jobs <= 1:
        if initializer is not None:
            initializer(*initargs)
        for chunk in chunks:
            yield work(chunk)
        return
    workers: list[Worker] = []
    finished = False
    try:
        _spawn(workers, jobs, work, initializer, initargs)
        chunks = iter(chunks)
        busy: deque[Worker] = deque()
        for worker in workers * IN_FLIGHT:  # chunks for each, then one per result given back
            chunk = next(chunks, _END)
            if chunk is _END:
                break
            _give(worker, chunk)
            busy.append(worker)
        while busy:
            chunk = next(chunks, _END)  # read while the workers work
            worker = busy.popleft()
            result = _result(*worker)
            if chunk is not _END:
                _give(worker, chunk)
                busy.append(worker)
            yield result
        finished = True
    finally:  # all done: each worker reads the end of its pipe and leaves; else they are killed
        for process, pipe in workers:
            pipe.close()
            if not finished:
                process.kill()
            process.join()


def _spawn(workers: list[Worker], jobs: int, work, initializer, initargs) -> None:
    # Ctrl-C goes to the whole process group. The workers are made with it held back, so that
    # none dies of it before `_serve` makes it ignore it; the parent stops them all.
    context = multiprocessing.get_context()
    forked = context.get_start_method() == "fork"
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for _ in range(jobs):
            ours, theirs = context.Pipe()
            # A forked worker has copies of the parent's ends of the pipes made so far, its own
            # among them: it closes them, or it would never see its pipe end.
            inherited = [pipe for _, pipe in workers] + [ours] if forked else []
            process = context.Process(
                target=_serve, args=(theirs, inherited, work, initializer, initargs), daemon=True
            )
            process.start()
            theirs.close()
            workers.append((process, ours))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _give(worker: Worker, chunk: Any) -> None:
    try:
        worker[1].send(chunk)
    except OSError:  # the worker is gone: waiting for its result says so (WorkerLost)
        pass


def _result(process: BaseProcess, pipe: Connection) -> Any:
    try:
        ok, value = pipe.recv()
    except (EOFError, OSError):  # OSError: it died with a chunk of ours unread
        process.join()
        raise WorkerLost(
            f"a worker process ended (exit code {process.exitcode}) before it gave back its "
            "results; --jobs 1 works without workers"
        ) from None
    if not ok:
        raise value
    return value


def _serve(pipe: Connection, inherited: list[Connection], work, initializer, initargs) -> None:
    """A worker: set up once, then a result for each chunk until the pipe closes (the parent
    is done, or gone). Chunks are read by a thread of their own as they come, so the parent's
    writing never waits on this process's writing (with large chunks and results both ways,
    that would be a deadlock). Ctrl-C is left to the parent; one that came while this process
    started is dropped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    for other in inherited:
        other.close()
    failed: BaseException | None = None
    try:
        if initializer is not None:
            initializer(*initargs)
    except Exception as error:
        failed = error
    pending: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_read, args=(pipe, pending), daemon=True).start()
    while True:
        chunk = pending.get()
        if chunk is _END:
            return
        try:
            if failed is not None:
                raise failed
            reply = (True, work(chunk))
        except Exception as error:
            reply = (False, error)
        try:
            pipe.send(reply)
        except OSError:  # the parent is gone
            return
        except Exception as error:  # a result or an error that cannot be pickled
            pipe.send((False, WorkerLost(f"a worker could not give back its result: {error!r}")))


def _read(pipe: Connection, pending: queue.SimpleQueue) -> None:
    try:
        while True:
            pending.put(pipe.recv())
    except Exception:  # the end of the pipe, or a chunk that cannot be read: the worker ends
        pending.put(_END)
