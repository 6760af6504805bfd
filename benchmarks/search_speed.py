"""P4: similar-image search over HTTP against in-process FAISS, and the index's recall@10; prints, never fails.

    .venv/bin/python benchmarks/search_speed.py --n 100000 --dim 1280
    .venv/bin/python benchmarks/search_speed.py --n 1000000 --dim 128

A throw-away data folder (SQLite database, local storage) gets one user, one project of ``n`` image
rows, a ready backbone and its files: unit-norm embeddings around 100 centres and the index that the
embed job builds for that size (``VectorIndex.build(kind="auto")``). ``labellight serve`` then answers
``GET /images/{id}/similar?k=10`` for random images, one request at a time over one keep-alive
connection; the in-process side runs the same query vectors through the same loaded index. Recall@10:
the served neighbours against exact search (numpy, in chunks) over the same vectors.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np


def _vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(100, dim)).astype(np.float32)
    x = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # in chunks: no float64 copy of the whole
        stop = min(n, start + 100_000)
        x[start:stop] = centres[rng.integers(0, 100, stop - start)] + rng.normal(
            scale=0.6, size=(stop - start, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _exact_top(x: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the k most similar rows of x for each query (exact, chunked)."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_r = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(x), 200_000):
        s = queries @ x[start:start + 200_000].T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        best_s = np.hstack([best_s, np.take_along_axis(s, top, 1)])
        best_r = np.hstack([best_r, top + start])
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_r = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_r, keep, 1)
    return best_r


def _populate(n: int, dim: int) -> tuple[int, str, np.ndarray, np.ndarray]:
    """The project, its images and backbone files; returns (project id, API token, image ids, vectors)."""
    from sqlalchemy import insert, select

    from labellight.db.models import Backbone, Image, Project
    from labellight.db.session import session_scope
    from labellight.index.vector_index import VectorIndex
    from labellight.services.accounts import API, create_user, issue_token
    from labellight.services.embedding import _save_arrays
    from labellight.storage import get_storage
    from labellight.storage.keys import embeddings_key, index_key

    with session_scope() as session:
        user = create_user(session, "bench@example.com", "a long bench password")
        secret = issue_token(session, user, API, "bench").secret
        project = Project(owner_id=user.id, name="P4", image_size=32)
        session.add(project)
        session.flush()
        project_id = project.id
        session.add(Backbone(project_id=project_id, version=1, ready=True,
                             config={"backbone": "efficientnet_lite0", "image_size": 32}))
    start = time.perf_counter()
    for first in range(0, n, 50_000):
        rows = [{"project_id": project_id, "sha256": f"{i:064x}", "filename": f"{i}.png", "format": "png",
                 "width": 32, "height": 32, "cache_row": i} for i in range(first, min(n, first + 50_000))]
        with session_scope() as session:
            session.execute(insert(Image), rows)
    with session_scope() as session:
        ids = np.array(session.scalars(select(Image.id).where(Image.project_id == project_id)
                                       .order_by(Image.id)).all(), np.int64)
    print(f"image rows: {time.perf_counter() - start:.1f} s", flush=True)
    x = _vectors(n, dim, seed=0)
    storage = get_storage()
    _save_arrays(storage.path(embeddings_key(project_id, 1)), ids=ids, vectors=x,
                 ood_threshold=np.array(np.inf))
    start = time.perf_counter()
    index = VectorIndex.build(x, ids)
    build_s = time.perf_counter() - start
    index.save(storage.path(index_key(project_id, 1)))
    size_mb = storage.path(index_key(project_id, 1)).stat().st_size / 2**20
    print(f"index: {index.kind}, build {build_s:.1f} s, file {size_mb:.0f} MB", flush=True)
    return project_id, secret, ids, x


def _percentiles(samples: list[float]) -> str:
    ms = sorted(1000 * s for s in samples)
    return f"p50 {statistics.median(ms):6.2f} ms  p99 {ms[int(0.99 * (len(ms) - 1))]:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labellight-p4-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABELLIGHT_")}
        env.update({"LABELLIGHT_DATA_DIR": folder, "LABELLIGHT_FAISS_THREADS": "1", "OMP_NUM_THREADS": "1"})
        os.environ.update(env)
        subprocess.run([sys.executable, "-m", "labellight.cli", "migrate"], env=env, check=True)
        project_id, secret, ids, x = _populate(args.n, args.dim)
        from labellight.index.faiss_threads import set_faiss_threads
        from labellight.index.vector_index import VectorIndex
        from labellight.storage import get_storage
        from labellight.storage.keys import index_key

        set_faiss_threads(1)
        rng = np.random.default_rng(1)
        rows = rng.choice(args.n, args.queries, replace=False)
        port = 8700 + os.getpid() % 1000
        with open(Path(folder) / "server.log", "wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "labellight.cli", "serve", "--port", str(port)],
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            client = httpx.Client(headers={"Authorization": f"Bearer {secret}"}, timeout=120)
            for _ in range(600):
                try:
                    if client.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            url = f"{base}/projects/{project_id}/images/{{}}/similar"
            start = time.perf_counter()
            client.get(url.format(ids[0]), params={"k": 10}).raise_for_status()  # loads the files
            print(f"first request (loads embeddings and index): {time.perf_counter() - start:.1f} s")
            index = VectorIndex.load(get_storage().path(index_key(project_id, 1)))
            http_s, local_s, served = [], [], []
            for row in rows:  # alternating: noise from the rest of the machine hits both sides alike
                start = time.perf_counter()
                response = client.get(url.format(ids[row]), params={"k": 10})
                http_s.append(time.perf_counter() - start)
                response.raise_for_status()
                served.append([item["image"]["id"] for item in response.json()["items"]])
                start = time.perf_counter()
                index.search(x[row:row + 1], 11)
                local_s.append(time.perf_counter() - start)
            server_rss = int(subprocess.run(["ps", "-o", "rss=", "-p", str(server.pid)], capture_output=True,
                                            text=True).stdout or 0) / 2**20
        finally:
            server.terminate()
            server.wait()
        exact = _exact_top(x, x[rows], 11)
        recall = np.mean([len(set(s) & set(ids[e]) - {ids[r]}) / 10
                          for s, e, r in zip(served, exact, rows, strict=True)])
        print(f"{args.n} x {args.dim}-d, index {index.kind}, {args.queries} queries, k=10, one FAISS thread")
        print(f"HTTP        {_percentiles(http_s)}")
        print(f"in-process  {_percentiles(local_s)}")
        print(f"recall@10 of the served neighbours against exact search: {recall:.4f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"peak RSS: benchmark {peak:.2f} GB, server {server_rss:.2f} GB (at the end)")


if __name__ == "__main__":
    main()
