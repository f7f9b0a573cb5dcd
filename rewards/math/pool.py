"""Run a function on many inputs, each call under a hard time limit, from any thread.

A symbolic check can run for hours (``9^{9^{9^{9}}}``, deep nesting) and sympy offers no way to stop it
from outside. SIGALRM interrupts Python code but only in the main thread, and not inside a long C call;
a process can always be killed. So:

- `WorkerPool` runs calls in worker processes. Inside a worker a timer interrupts a call at `timeout`
  (cheap: the worker survives); if the worker does not answer by `timeout + grace` the parent kills it
  and starts a replacement. Works from any thread of the parent and never uses signals there.
- `InProcessRunner` runs calls in the calling process under the same timer when it is the main thread,
  and otherwise hands them to a one-process `WorkerPool`, because no timer can interrupt another thread.

Functions are named as ``"module:function"`` so the parent need not import the module (and its heavy
dependencies) when the work happens in workers.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """The result of one call: its value, or that it timed out, or the error it raised."""

    value: Any = None
    timed_out: bool = False
    error: str | None = None
    seconds: float = 0.0


class _TimedOut(BaseException):
    """Raised by the timer. A BaseException, so the `except Exception` blocks inside libraries don't eat it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _TimedOut


def resolve(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def can_use_timer() -> bool:
    """SIGALRM timers only work in the main thread of the main interpreter, on POSIX."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def run_with_timer(func: Callable[..., Any], args: Sequence[Any], timeout: float) -> Outcome:
    """Call `func(*args)` in this (main) thread, interrupted after `timeout` seconds.

    A timer someone else had set (a test runner's, say) is put back afterwards with its remaining time.
    """
    start = time.perf_counter()
    previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
    outer_delay, outer_interval = 0.0, 0.0
    try:
        outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            value = func(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _TimedOut:
        return Outcome(timed_out=True, seconds=time.perf_counter() - start)
    except Exception as error:  # a crash in the checker is a verdict, not a crash of the caller
        return Outcome(error=f"{type(error).__name__}: {error}"[:500], seconds=time.perf_counter() - start)
    finally:
        signal.signal(signal.SIGALRM, previous_handler)
        if outer_delay > 0:
            remaining = outer_delay - (time.perf_counter() - start)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3), outer_interval)
    return Outcome(value=value, seconds=time.perf_counter() - start)


_READY = ("ready",)


def _worker_main(func_ref: str, timeout: float, read_fd: int, write_fd: int) -> None:
    """Loop of a worker process: announce readiness, then answer each (id, args) with
    (id, value, timed_out, error, seconds), in order."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    func = resolve(func_ref)
    warm_up = getattr(importlib.import_module(func_ref.partition(":")[0]), "warm_up", None)
    if warm_up is not None:
        warm_up()
    outbox.send(_READY)
    while True:
        try:
            task = inbox.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if task is None:
            return
        task_id, args = task
        outcome = run_with_timer(func, args, timeout)
        outbox.send((task_id, outcome.value, outcome.timed_out, outcome.error, outcome.seconds))


@dataclass
class _Worker:
    process: subprocess.Popen
    inbox: Connection  # results from the worker
    outbox: Connection  # tasks to the worker
    started: float = field(default_factory=time.monotonic)
    ready: bool = False  # imported and warmed up: its clock for tasks may start
    inflight: collections.deque[int] = field(default_factory=collections.deque)
    head_since: float = 0.0  # when the oldest task in flight began

    def discard(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.inbox.close()
        self.outbox.close()


class WorkerPool:
    """`workers` processes running `func_ref` with a hard limit of `timeout + grace` seconds per call.

    Workers are plain subprocesses (``python -m rewards.math.pool``) talking over two pipes, not
    `multiprocessing` children: those re-import the caller's main script in every child, which breaks
    any script without an ``if __name__ == "__main__"`` guard. Each worker holds up to `depth` tasks so
    it never waits for the parent between checks; its clock runs on the oldest one.
    """

    #: Seconds a new worker may take to import its module and warm up (a loaded machine is slow).
    startup_timeout = 120.0

    def __init__(self, func_ref: str, workers: int, timeout: float, *, grace: float = 0.5, depth: int = 4):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.func_ref = func_ref
        self.workers = workers
        self.timeout = timeout
        self.grace = grace
        self.depth = depth
        self._pool: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def _start(self) -> _Worker:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        # The worker imports what this process imports: same interpreter, same import path.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
        command = [sys.executable, "-m", __name__, self.func_ref, repr(self.timeout), str(task_read), str(result_write)]
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, env=env, pass_fds=(task_read, result_write), close_fds=True
            )
        finally:
            os.close(task_read)
            os.close(result_write)
        return _Worker(process, Connection(result_read, writable=False), Connection(task_write, readable=False))

    def _replace(self, worker: _Worker, pending: collections.deque[int]) -> None:
        """Kill `worker`, hand its unanswered tasks back to `pending`, start another in its place."""
        pending.extendleft(reversed(worker.inflight))
        worker.inflight.clear()
        self._pool.remove(worker)
        worker.discard()
        self._pool.append(self._start())

    def start(self) -> None:
        """Start every worker now and wait until all are ready (they also start on first use)."""
        with self._lock:
            while len(self._pool) < self.workers:
                self._pool.append(self._start())
            self._run([])

    def run(self, tasks: Sequence[Sequence[Any]]) -> list[Outcome]:
        """One `Outcome` per task (a tuple of arguments), in order."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            return self._run(tasks)

    def _run(self, tasks: Sequence[Sequence[Any]]) -> list[Outcome]:
        results: list[Outcome | None] = [None] * len(tasks)
        pending = collections.deque(range(len(tasks)))
        while len(self._pool) < min(self.workers, len(tasks)):
            self._pool.append(self._start())
        limit = self.timeout + self.grace
        try:
            while pending or any(worker.inflight or not worker.ready for worker in self._pool):
                for worker in list(self._pool):
                    while worker.ready and pending and len(worker.inflight) < self.depth:
                        index = pending.popleft()
                        try:
                            worker.outbox.send((index, tuple(tasks[index])))
                        except OSError:  # it died while idle: retry the task elsewhere
                            pending.appendleft(index)
                            self._replace(worker, pending)
                            break
                        if not worker.inflight:
                            worker.head_since = time.monotonic()
                        worker.inflight.append(index)
                waiting = [worker for worker in self._pool if worker.inflight or not worker.ready]
                deadline = min(w.head_since + limit if w.ready else w.started + self.startup_timeout for w in waiting)
                by_inbox = {worker.inbox: worker for worker in waiting}
                for inbox in wait(list(by_inbox), timeout=max(0.0, deadline - time.monotonic())):
                    self._receive(by_inbox[inbox], results, pending)
                now = time.monotonic()
                for worker in list(self._pool):
                    if worker.inflight and now >= worker.head_since + limit:
                        # Stuck where the worker's own timer cannot reach (a long C call): kill it.
                        results[worker.inflight.popleft()] = Outcome(timed_out=True, seconds=now - worker.head_since)
                        self._replace(worker, pending)
                    elif not worker.ready and now >= worker.started + self.startup_timeout:
                        raise RuntimeError(f"a checker process did not start within {self.startup_timeout:.0f} s")
        except BaseException:
            # Interrupted mid-batch (Ctrl-C): workers holding unanswered tasks can't be reused.
            for worker in [worker for worker in self._pool if worker.inflight]:
                self._pool.remove(worker)
                worker.discard()
            raise
        return [outcome if outcome is not None else Outcome(error="not run") for outcome in results]

    def _receive(self, worker: _Worker, results: list[Outcome | None], pending: collections.deque[int]) -> None:
        """Read everything `worker` has sent."""
        try:
            while True:
                message = worker.inbox.recv()
                if message == _READY:
                    worker.ready = True
                else:
                    _, value, timed_out, error, seconds = message
                    results[worker.inflight.popleft()] = Outcome(value, timed_out, error, seconds)
                    worker.head_since = time.monotonic()
                if not worker.inbox.poll():
                    return
        except (EOFError, OSError):
            if not worker.ready:
                raise RuntimeError(
                    f"a checker process ({self.func_ref}) exited during start-up with code {worker.process.wait()}; "
                    "its error is printed above"
                ) from None
            # It crashed mid-check (segfault, out of memory): that check fails, the others are retried.
            results[worker.inflight.popleft()] = Outcome(error="checker process died")
            self._replace(worker, pending)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for worker in self._pool:
                with contextlib.suppress(OSError):
                    worker.outbox.send(None)
            for worker in self._pool:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.process.wait(timeout=2)
                worker.discard()
            self._pool.clear()

    def __del__(self) -> None:
        # Workers also exit on their own when this process's end of the pipe closes.
        if not getattr(self, "_closed", True):
            for worker in self._pool:
                if worker.process.poll() is None:
                    worker.process.kill()


class InProcessRunner:
    """Runs calls in this process under a timer (main thread); elsewhere through a one-process pool."""

    def __init__(self, func_ref: str, timeout: float):
        self.func_ref = func_ref
        self.timeout = timeout
        self._func: Callable[..., Any] | None = None
        self._fallback: WorkerPool | None = None
        self._fallback_lock = threading.Lock()

    def start(self) -> None:
        """Import and warm up the checker now instead of at the first call."""
        if self._func is None:
            self._func = resolve(self.func_ref)
            warm_up = getattr(importlib.import_module(self.func_ref.partition(":")[0]), "warm_up", None)
            if warm_up is not None:
                warm_up()

    def run(self, tasks: Sequence[Sequence[Any]]) -> list[Outcome]:
        if can_use_timer():
            if self._func is None:
                self._func = resolve(self.func_ref)
            return [run_with_timer(self._func, args, self.timeout) for args in tasks]
        with self._fallback_lock:
            if self._fallback is None:
                self._fallback = WorkerPool(self.func_ref, 1, self.timeout)
        return self._fallback.run(tasks)

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None


def cpu_count() -> int:
    """Cores this process may use (respects affinity masks and container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def make_runner(func_ref: str, workers: int, timeout: float) -> InProcessRunner | WorkerPool:
    """`workers`: 0 or 1 runs in process, N > 1 uses N processes, -1 one per core."""
    count = cpu_count() if workers < 0 else workers
    return InProcessRunner(func_ref, timeout) if count <= 1 else WorkerPool(func_ref, count, timeout)


if __name__ == "__main__":
    # Run the loop from the importable module, not from __main__, so pickled values name real modules.
    from rewards.math.pool import _worker_main as _main

    _main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
