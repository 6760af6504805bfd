"""Concurrent callers share one forward pass: rows sent by several threads at about the same time are
stacked, run through the model in one call, and each caller gets its own rows back.

No background thread: the first caller of a batch leads it. It waits up to ``max_wait_s`` for others to
join (less when the batch fills up), then runs the whole batch once the batch made before it is done;
callers that arrive while a run is busy join the next batch, so batches grow with the load and one
caller alone waits only ``max_wait_s``. One run at a time per batcher, batches in the order they were
made (no batch waits behind later ones): on a CPU two parallel forward passes would only contend for
the same cores, on a GPU they would queue anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class _Batch:
    parts: list[np.ndarray] = field(default_factory=list)
    rows: int = 0
    full: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None
    after: _Batch | None = None
    """The batch made before this one: this one runs once that one is done (first come, first served)."""

    def add(self, rows: np.ndarray) -> tuple[int, int]:
        start = self.rows
        self.parts.append(rows)
        self.rows += len(rows)
        return start, self.rows


@dataclass(frozen=True)
class BatchStats:
    runs: int
    """Forward passes made."""
    rows: int
    """Rows (images) they computed."""
    calls: int
    """Callers served."""


class MicroBatcher:
    """Calls ``run`` (rows in, one output row per input row) on the stacked rows of concurrent callers.

    ``max_rows`` bounds a shared batch; a caller with more rows than that runs alone. An error of
    ``run`` reaches every caller of its batch.
    """

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], *, max_wait_s: float, max_rows: int) -> None:
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        self._run, self.max_wait_s, self.max_rows = run, max_wait_s, max_rows
        self._lock = threading.Lock()  # guards _open, _last and the counters
        self._open: _Batch | None = None
        self._last: _Batch | None = None
        self._runs = self._rows = self._calls = 0

    @property
    def stats(self) -> BatchStats:
        with self._lock:
            return BatchStats(self._runs, self._rows, self._calls)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            raise ValueError("send at least one row")
        with self._lock:
            self._calls += 1
            batch = self._open
            leader = batch is None or batch.rows + len(rows) > self.max_rows
            if leader:
                batch = _Batch(after=self._last)
                self._last = batch
                self._open = batch if len(rows) < self.max_rows else None
            assert batch is not None
            start, stop = batch.add(rows)
            if batch.rows >= self.max_rows:
                batch.full.set()
                if self._open is batch:
                    self._open = None
        if leader:
            self._lead(batch)
        else:
            batch.done.wait()
        if batch.error is not None:
            raise batch.error
        assert batch.result is not None
        return batch.result[start:stop]

    def _lead(self, batch: _Batch) -> None:
        batch.full.wait(self.max_wait_s)
        if batch.after is not None:  # one run at a time, in the order the batches were made
            batch.after.done.wait()
            batch.after = None  # the chain holds only the batches still waiting
        with self._lock:  # closed: later callers start the next batch
            if self._open is batch:
                self._open = None
            parts = list(batch.parts)
        try:
            stacked = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
            result = self._run(stacked)
            if len(result) != len(stacked):
                raise RuntimeError(f"the model returned {len(result)} rows for {len(stacked)}")
            batch.result = result
        except BaseException as exc:  # every caller of the batch gets it
            batch.error = exc
        finally:
            with self._lock:
                self._runs += 1
                self._rows += batch.rows if batch.error is None else 0
            batch.done.set()
