"""How many threads the native pools use: the default count by core count (shared with FAISS's OpenMP
pool, ``labellight.index.faiss_threads``) and the threads of numpy's and scipy's BLAS (OpenBLAS), the pool
behind the classifier fits and label propagation.

BLAS's default, one thread per core, fails the same way as FAISS's OpenMP pool on a small shared machine
(see ``labellight.index.faiss_threads``): a 5-fold cross-validated logistic regression on 2,000 x 128-d
took 22 s with two threads on 2 busy cores and 0.5 s with one. The limit is process-wide (OpenBLAS keeps
one count for all threads) and leaves torch's own thread pool alone.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

SMALL_MACHINE_CORES = 4


def default_threads(cores: int) -> int:
    """One thread on a machine of at most ``SMALL_MACHINE_CORES`` cores, else half of them."""
    if cores < 1:
        raise ValueError(f"cores must be >= 1, got {cores}")
    return 1 if cores <= SMALL_MACHINE_CORES else cores // 2


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_blas_threads(threads: int) -> int:
    """Let numpy's and scipy's BLAS use ``threads`` threads (0: the default for this machine's cores).
    Returns the count chosen."""
    if threads < 0:
        raise ValueError(f"BLAS threads must be >= 0 (0: choose by core count), got {threads}")
    chosen = threads or default_threads(available_cores())
    threadpool_limits(limits=chosen, user_api="blas")
    return chosen
