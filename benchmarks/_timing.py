"""Shared timing helper of the benchmark scripts."""

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
