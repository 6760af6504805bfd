"""Concurrent callers of a MicroBatcher share forward passes of a real network and get the rows they would
get alone."""

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch

from labellight.ml.backbones import build_backbone
from labellight.ml.embed import embed
from labellight.ml.micro_batch import MicroBatcher

DEVICES = [
    pytest.param(torch.device("cpu"), id="cpu"),
    pytest.param(torch.device("cuda"), id="cuda",
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
]


def _requests(count: int, rows: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (rows + i % 3, 20, 20, 3), dtype=np.uint8) for i in range(count)]


def _concurrently(call: Callable[[np.ndarray], np.ndarray], requests: list[np.ndarray]) -> list[np.ndarray]:
    """Every request from a thread of its own, all released at once; answers in request order."""
    answers: list[np.ndarray | BaseException | None] = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def send(i: int) -> None:
        start.wait()
        try:
            answers[i] = call(requests[i])
        except BaseException as exc:
            answers[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [a for a in answers if isinstance(a, np.ndarray)]


@pytest.mark.parametrize("device", DEVICES)
def test_concurrent_requests_share_a_pass_and_get_their_own_rows(device: torch.device) -> None:
    torch.manual_seed(0)
    backbone, _ = build_backbone("resnet18")
    requests = _requests(12, rows=2)
    alone = [embed(backbone, r, 16, device=device) for r in requests]
    sizes: list[int] = []

    def run(pixels: np.ndarray) -> np.ndarray:
        sizes.append(len(pixels))
        return embed(backbone, pixels, 16, device=device)

    total = sum(len(r) for r in requests)
    batcher = MicroBatcher(run, max_wait_s=30.0, max_rows=total)  # the batch runs as soon as all have joined
    together = _concurrently(batcher, requests)
    assert batcher.stats.runs == 1
    assert sizes == [total]
    assert (batcher.stats.calls, batcher.stats.rows) == (12, total)
    for mine, reference in zip(together, alone, strict=True):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, atol=1e-2 if device.type == "cuda" else 1e-5)


def test_batches_are_bounded_and_a_large_request_runs_alone() -> None:
    sizes: list[int] = []

    def run(rows: np.ndarray) -> np.ndarray:
        sizes.append(len(rows))
        return rows * 2

    batcher = MicroBatcher(run, max_wait_s=0.05, max_rows=5)
    requests = [np.full((2, 1), i) for i in range(10)] + [np.full((9, 1), 99)]
    answers = _concurrently(batcher, requests)
    for request, answer in zip(requests, answers, strict=True):
        np.testing.assert_array_equal(answer, request * 2)
    assert all(size <= 5 for size in sizes if size != 9)
    assert sizes.count(9) == 1
    assert sum(sizes) == 29
    assert batcher.stats.runs == len(sizes) < len(requests)


def test_a_lone_request_runs_without_others() -> None:
    batcher = MicroBatcher(lambda rows: rows + 1, max_wait_s=0.001, max_rows=64)
    np.testing.assert_array_equal(batcher(np.arange(3)), np.arange(1, 4))
    np.testing.assert_array_equal(batcher(np.arange(2)), np.arange(1, 3))
    assert (batcher.stats.runs, batcher.stats.rows, batcher.stats.calls) == (2, 5, 2)


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_works() -> None:
    failing = threading.Event()
    failing.set()

    def run(rows: np.ndarray) -> np.ndarray:
        if failing.is_set():
            raise RuntimeError("out of memory")
        return rows

    batcher = MicroBatcher(run, max_wait_s=30.0, max_rows=4)  # both requests fill one batch
    errors: list[BaseException] = []

    def send() -> None:
        try:
            batcher(np.zeros((2, 1)))
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [str(e) for e in errors] == ["out of memory"] * 2
    failing.clear()
    np.testing.assert_array_equal(batcher(np.ones((4, 1))), np.ones((4, 1)))
    with pytest.raises(ValueError, match="at least one row"):
        batcher(np.zeros((0, 1)))


def test_batches_run_in_the_order_they_were_made() -> None:
    """Requests that queue behind a busy run are served first come, first served (no request waits behind
    later ones, which would stretch the slowest answers under load)."""
    release = threading.Event()
    order: list[int] = []

    def run(rows: np.ndarray) -> np.ndarray:
        if not order:
            release.wait(60)  # the first run is busy while the others queue up
        order.append(int(rows[0, 0]))
        return rows

    batcher = MicroBatcher(run, max_wait_s=0.0, max_rows=1)  # every request is a batch of its own
    threads = []
    for value in range(6):
        threads.append(threading.Thread(target=batcher, args=(np.full((1, 1), value),)))
        threads[-1].start()
        deadline = time.monotonic() + 30
        while batcher.stats.calls <= value and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # let it reach its wait
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert order == list(range(6))
