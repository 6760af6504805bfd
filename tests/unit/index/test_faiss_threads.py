"""FAISS's OpenMP thread count: the default by core count, and the choice reaching every thread."""

import threading
from collections.abc import Callable, Iterator

import faiss
import numpy as np
import pytest

import labellight.index.faiss_threads as faiss_threads
from labellight.common.threads import default_threads
from labellight.config import get_settings
from labellight.index.faiss_threads import set_faiss_threads, use_faiss_threads
from labellight.index.vector_index import VectorIndex
from labellight.services.faiss_setup import configure_faiss_threads


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    yield
    faiss_threads._chosen = None
    faiss.omp_set_num_threads(before)


def _in_new_thread(run: Callable[[], None]) -> int:
    seen: list[int] = []

    def body() -> None:
        run()
        seen.append(faiss.omp_get_max_threads())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return seen[0]


def test_default_is_one_thread_on_small_machines_and_half_the_cores_above() -> None:
    assert [default_threads(c) for c in (1, 2, 4, 6, 16, 64)] == [1, 1, 1, 3, 8, 32]
    with pytest.raises(ValueError, match="cores"):
        default_threads(0)


def test_the_choice_reaches_threads_started_later_at_their_first_faiss_call() -> None:
    library_default = _in_new_thread(lambda: None)
    wanted = library_default + 1  # a count no thread has unless it was applied
    assert set_faiss_threads(wanted) == wanted
    assert faiss.omp_get_max_threads() == wanted
    # OpenMP keeps the count per thread: a new thread has the library default until it calls FAISS.
    assert _in_new_thread(lambda: None) == library_default
    assert _in_new_thread(use_faiss_threads) == wanted
    x = np.eye(4, dtype=np.float32)
    assert _in_new_thread(lambda: VectorIndex.build(x, np.arange(4)).search(x, 1) and None) == wanted
    with pytest.raises(ValueError, match="FAISS threads must be >= 0"):
        set_faiss_threads(-1)


def test_setting_zero_chooses_by_core_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faiss_threads, "available_cores", lambda: 2)
    monkeypatch.setenv("LABELLIGHT_FAISS_THREADS", "0")
    get_settings.cache_clear()
    try:
        assert configure_faiss_threads() == 1
        monkeypatch.setenv("LABELLIGHT_FAISS_THREADS", "3")
        get_settings.cache_clear()
        assert configure_faiss_threads() == 3
        assert _in_new_thread(use_faiss_threads) == 3
    finally:
        get_settings.cache_clear()


def test_blas_threads_limit_numpys_openblas_in_every_thread_and_leave_torch_alone() -> None:
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    from labellight.common.threads import set_blas_threads

    torch_threads = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the pools afterwards
        assert set_blas_threads(1) == 1
        seen: list[list[int]] = []
        thread = threading.Thread(target=lambda: seen.append(
            [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"]]))
        thread.start()
        thread.join()
        assert seen == [[1]]
        assert torch.get_num_threads() == torch_threads
        with pytest.raises(ValueError, match="BLAS threads must be >= 0"):
            set_blas_threads(-1)
