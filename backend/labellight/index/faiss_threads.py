"""How many OpenMP threads FAISS uses: chosen once per process, applied in every thread that calls FAISS.

FAISS runs search and k-means on an OpenMP pool, one thread per core by default. Its threads spin
while they wait for each other, so on a small machine shared with torch, the other worker processes
and the API they lose their cores and run far slower than a single thread would (k-means over 100k
x 128-d on 2 shared cores: 1 s with one thread, 14.6 s with the default). Hence the default here: one
thread up to 4 cores; above, half the cores, since the CPU worker runs two job processes at once and
torch wants cores of its own. ``OMP_NUM_THREADS`` is not used for this: torch reads it too.

OpenMP keeps the count per calling thread (a thread that never set it gets the library default), so
:func:`set_faiss_threads` records the choice and :func:`use_faiss_threads` re-applies it in each thread
that is about to call FAISS, such as the API's request threads; it costs one thread-local look-up.
"""

from __future__ import annotations

import threading

import faiss

from labellight.common.threads import available_cores, default_threads

_chosen: int | None = None
_applied = threading.local()


def set_faiss_threads(threads: int) -> int:
    """Let FAISS use ``threads`` OpenMP threads from now on in every thread (0: the default for this
    machine's cores). Returns the count chosen."""
    global _chosen
    if threads < 0:
        raise ValueError(f"FAISS threads must be >= 0 (0: choose by core count), got {threads}")
    _chosen = threads or default_threads(available_cores())
    use_faiss_threads()
    return _chosen


def use_faiss_threads() -> None:
    """Apply the chosen count to the calling thread; nothing when none was chosen or it is already applied."""
    if _chosen is not None and getattr(_applied, "threads", None) != _chosen:
        faiss.omp_set_num_threads(_chosen)
        _applied.threads = _chosen
