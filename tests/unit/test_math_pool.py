"""Hard time limits (`rewards.math.pool`): a stuck worker is killed, an outer timer survives."""

from __future__ import annotations

import signal
import time

# -- the worker pool ------------------------------------------------------------------------------------


def stubborn(seconds: float) -> str:
    """Ignores the in-worker timer, like a long C call would: only killing the process stops it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(seconds)
    return "finished"


def test_a_stuck_worker_is_killed_and_replaced():
    from rewards.math.pool import WorkerPool

    pool = WorkerPool(f"{__name__}:stubborn", workers=1, timeout=0.2, grace=0.2)
    try:
        first = pool.run([(600,), (0,)])
        assert first[0].timed_out
        assert first[1].value == "finished"
        assert pool.run([(0,)])[0].value == "finished"  # replaced: the stuck worker would still be sleeping
    finally:
        pool.close()


def test_an_outer_timer_survives_a_check():
    from rewards.math.pool import run_with_timer

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        assert run_with_timer(lambda: "done", (), 5.0).value == "done"
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 0.3
        time.sleep(0.5)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
