"""P5: /predict over HTTP with 1, 8 and 32 concurrent clients against in-process batched inference.

    .venv/bin/python benchmarks/predict_concurrency.py [--clients 1 8 32] [--seconds 20] [--rounds 2]

Starts `labellight run` (SQLite, file broker, its own worker) in a temporary folder, makes a project of
synthetic shape images (the frozen ImageNet EfficientNet-Lite0 start embeds them at once), labels and
trains a classifier, then measures:

- HTTP: N clients each sending /predict requests of 4 PNG images back to back for ``--seconds``; images/s
  over all clients, and the p50/p99 request latency.
- In process: the same backbone and head, loaded from the app's storage in this process, embedding and
  classifying batches of 4 x N decoded images (what a perfectly batched server computes for N clients).

The two sides alternate within each round, so load from other work hits both. Ratio = HTTP / in process.
Prints a table and writes JSON with ``--out``; never fails on time. ``--max-batch 4`` gives the server
batches of one request (no sharing), for comparison.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")
PER_REQUEST = 4


def _shape(kind: str, seed: int, size: int = 64) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), tuple(rng.randint(90, 160) for _ in range(3)))  # type: ignore[arg-type]
    draw = ImageDraw.Draw(image)
    r = rng.randint(size // 5, size // 3)
    cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
    colour = {"circle": (220, 40, 40), "square": (40, 180, 60), "triangle": (40, 80, 220)}[kind]
    box = (cx - r, cy - r, cx + r, cy + r)
    if kind == "circle":
        draw.ellipse(box, fill=colour)
    elif kind == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(client: httpx.Client, job_id: int, timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            if job["state"] != "succeeded":
                raise RuntimeError(f"job {job_id} {job['state']}: {job.get('error')}")
            return job
        time.sleep(0.5)
    raise TimeoutError(f"job {job_id} did not finish")


def _project(base_url: str, per_class: int) -> tuple[httpx.Client, int]:
    """A signed-up client and a project with a trained classifier."""
    with httpx.Client(base_url=base_url, timeout=120) as browser:
        browser.post("/api/v1/auth/signup", json={"email": "p5@example.com", "password": "correct horse 1"}
                     ).raise_for_status()
        token = browser.post("/api/v1/tokens", json={"name": "p5"},
                             headers={"X-CSRF-Token": browser.cookies["ll_csrf"]}).raise_for_status().json()["token"]
    client = httpx.Client(base_url=base_url, timeout=300, headers={"Authorization": f"Bearer {token}"})
    pid = client.post("/api/v1/projects", json={"name": "P5"}).raise_for_status().json()["id"]
    class_ids = {c: client.post(f"/api/v1/projects/{pid}/classes", json={"name": c}).raise_for_status().json()["id"]
                 for c in CLASSES}
    files = [(f"{c}_{i}.png", _shape(c, i * 7 + j)) for j, c in enumerate(CLASSES) for i in range(per_class)]
    _wait(client, client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", f) for f in files]
                              ).raise_for_status().json()["id"])
    deadline = time.monotonic() + 900
    while client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the first embedding did not finish")
        time.sleep(1)
    images = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 1000}).json()["items"]
    for c in CLASSES:
        ids = [i["id"] for i in images if i["filename"].startswith(c)][:8]
        client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids, "class_id": class_ids[c]}
                   ).raise_for_status()
    _wait(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
    return client, pid


def _http_round(base_url: str, headers: dict[str, str], pid: int, clients: int, seconds: float,
                queries: list[bytes]) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at: list[float] = []

    def client_loop(n: int) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=600) as client:
            start.wait()
            i = n
            while time.perf_counter() < stop_at[0]:
                files = [("files", (f"q{k}.png", queries[(i + k) % len(queries)])) for k in range(PER_REQUEST)]
                begun = time.perf_counter()
                client.post(f"/api/v1/projects/{pid}/predict", files=files).raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - begun)
                i += clients

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at.append(began + seconds)
    start.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {"images_per_s": len(latencies) * PER_REQUEST / wall, "requests": len(latencies),
            "p50_ms": 1000 * statistics.median(ordered), "p99_ms": 1000 * ordered[min(len(ordered) - 1,
                                                                                      int(0.99 * len(ordered)))]}


def _in_process_round(data_dir: Path, pid: int, batch: int, seconds: float, queries: list[bytes]) -> dict[str, float]:
    from labellight.ml.embed import embed
    from labellight.services.model_store import backbone_module, linear_head
    from labellight.services.queries import query_pixels

    backbone, classifier, size = _models(data_dir, pid)
    module, head = backbone_module(backbone), linear_head(classifier)
    pixels = query_pixels([(f"q{i}.png", queries[i % len(queries)]) for i in range(batch)], size)
    image_size = int(backbone.config["image_size"])
    head.predict_proba(embed(module, pixels, image_size))  # warm: the first pass of a batch shape is slower
    done = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds or done == 0:
        head.predict_proba(embed(module, pixels, image_size))
        done += batch
    return {"images_per_s": done / (time.perf_counter() - began)}


def _models(data_dir: Path, pid: int) -> tuple[Any, Any, int]:
    from labellight.db import projects as project_rows
    from labellight.db.models import Backbone, Project
    from labellight.db.session import session_scope

    with session_scope() as session:
        classifier = project_rows.current_classifier(session, pid)
        assert classifier is not None
        backbone = session.get(Backbone, classifier.backbone_id)
        project = session.get(Project, pid)
        assert backbone is not None
        assert project is not None
        session.expunge_all()
        return backbone, classifier, project.image_size


def _use_data_dir(data_dir: Path) -> None:
    """Point this process's settings (read for the in-process side) at the app's data folder."""
    from labellight.config import get_settings
    from labellight.db.session import get_engine, get_sessionmaker

    os.environ["LABELLIGHT_DATA_DIR"] = str(data_dir)
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=20.0, help="per side and client count, each round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=20, help="project images per class")
    parser.add_argument("--max-batch", type=int, help="the server's LABELLIGHT_INFERENCE_MAX_BATCH")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import torch

    from labellight.services.faiss_setup import configure_faiss_threads

    # The API process's thread set-up (create_app does the same): on a small machine one OpenMP thread, which
    # torch shares with FAISS; two threads on 2 busy cores made EfficientNet-Lite0 ten times slower here.
    # torch first: importing it later would set its own thread count again.
    print(f"OpenMP threads (as in the API process): {configure_faiss_threads()}, torch {torch.get_num_threads()}",
          flush=True)
    queries = [_shape(CLASSES[i % 3], 500_000 + i) for i in range(64)]
    with tempfile.TemporaryDirectory(prefix="p5-") as folder:
        data_dir, port = Path(folder), _free_port()
        _use_data_dir(data_dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABELLIGHT_")}
        env.update({"LABELLIGHT_DATA_DIR": str(data_dir), "LABELLIGHT_AUTO_TRAIN_EVERY": "0",
                    "LABELLIGHT_INFERENCE_REQUESTS_PER_MINUTE": "1000000"})
        if args.max_batch:
            env["LABELLIGHT_INFERENCE_MAX_BATCH"] = str(args.max_batch)
        with (data_dir / "run.log").open("ab") as log:
            server = subprocess.Popen([sys.executable, "-m", "labellight.cli", "run", "--port", str(port)],
                                      env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.5)
            client, pid = _project(base_url, args.per_class)
            headers = dict(client.headers)
            client.post(f"/api/v1/projects/{pid}/predict", files=[("files", ("warm.png", queries[0]))]
                        ).raise_for_status()
            results: dict[int, dict[str, list[dict[str, float]]]] = {n: {"http": [], "in_process": []}
                                                                     for n in args.clients}
            for round_no in range(args.rounds):
                for n in args.clients:
                    results[n]["in_process"].append(_in_process_round(data_dir, pid, n * PER_REQUEST,
                                                                      args.seconds, queries))
                    results[n]["http"].append(_http_round(base_url, headers, pid, n, args.seconds, queries))
                    print(f"round {round_no + 1} clients {n}: http {results[n]['http'][-1]} in-process "
                          f"{results[n]['in_process'][-1]}", flush=True)
            metrics = httpx.get(f"{base_url}/metrics", timeout=10)
            passes = [line for line in metrics.text.splitlines() if line.startswith("labellight_inference_")] \
                if metrics.status_code == 200 else []
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)

    print(f"\n{'clients':>7} {'HTTP img/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'in-process img/s':>17} {'ratio':>6}")
    summary = []
    for n in args.clients:
        http = statistics.median(r["images_per_s"] for r in results[n]["http"])
        local = statistics.median(r["images_per_s"] for r in results[n]["in_process"])
        p50 = statistics.median(r["p50_ms"] for r in results[n]["http"])
        p99 = statistics.median(r["p99_ms"] for r in results[n]["http"])
        summary.append({"clients": n, "http_images_per_s": http, "p50_ms": p50, "p99_ms": p99,
                        "in_process_images_per_s": local, "ratio": http / local})
        print(f"{n:>7} {http:>11.1f} {p50:>8.0f} {p99:>8.0f} {local:>17.1f} {http / local:>6.2f}")
    print("\n".join(passes))
    print(f"load {os.getloadavg()} on {os.cpu_count()} cores")
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "rounds": results, "server_metrics": passes,
                                        "max_batch": args.max_batch}, indent=2))


if __name__ == "__main__":
    main()
