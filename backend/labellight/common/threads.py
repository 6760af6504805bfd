"""Threads of numpy's and scipy's BLAS (OpenBLAS), the pool behind the classifier fits and label propagation.

Its default, one thread per core, fails the same way as FAISS's OpenMP pool on a small shared machine
(see ``labellight.index.faiss_threads``): a 5-fold cross-validated logistic regression on 2,000 x 128-d
took 22 s with two threads on 2 busy cores and 0.5 s with one. The limit is process-wide (OpenBLAS keeps
one count for all threads) and leaves torch's own thread pool alone.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

from labellight.index.faiss_threads import available_cores, default_threads


def set_blas_threads(threads: int) -> int:
    """Let numpy's and scipy's BLAS use ``threads`` threads (0: the default for this machine's cores).
    Returns the count chosen."""
    if threads < 0:
        raise ValueError(f"BLAS threads must be >= 0 (0: choose by core count), got {threads}")
    chosen = threads or default_threads(available_cores())
    threadpool_limits(limits=chosen, user_api="blas")
    return chosen
