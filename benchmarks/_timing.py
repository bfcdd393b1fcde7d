"""Shared timing helpers of the benchmark scripts."""

import time


def best(fn, repeat=5, number=3):
    """Smallest mean time per call of ``fn`` over ``repeat`` rounds of ``number`` calls."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t) / number)
    return min(out)


def best_within(fn, budget=10.0, repeat=5, round_s=0.2):
    """:func:`best` with ``number`` and ``repeat`` fitted to about ``budget`` seconds.

    One calibration call (not counted) sets ``number`` so that a round lasts
    about ``round_s``; slow functions get fewer rounds (at least 2) rather than
    a longer run. Call ``fn`` once before (warm-up) if it compiles lazily.
    """
    t = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t, 1e-7)
    number = max(1, int(round_s / once))
    repeat = max(2, min(repeat, int(budget / (once * number))))
    return best(fn, repeat, number)
