"""P3: the ingest job's images/s against a bare Pillow open + convert loop over the same files; prints only.

    .venv/bin/python benchmarks/ingest_speed.py [--images 2000] [--data ARCHIVE_OR_FOLDER] [--rounds 2]

The files: ``--images`` of cifar10_5k (../shared/datasets) or of synthetic PNGs when it is absent.
The ingest side is the real job run in this process (``run_queued``) on a throw-away SQLite database and
local storage, from one staged ZIP: hashing, de-duplication, validation, original and thumbnail
written, the cache row resized and streamed to the pixel cache, the image rows committed. Sides
alternate in rounds (each ingest into a new project), so the rest of the machine's load hits both.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image

from bench_images import locate, subset  # benchmarks/ is the script's folder


def _bare(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.convert("RGB")
    return time.perf_counter() - start


def _zip(paths: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i, path in enumerate(paths):
            archive.writestr(f"{i:06d}_{path.name}", path.read_bytes())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labellight-p3-") as folder:
        for name in [k for k in os.environ if k.startswith("LABELLIGHT_")]:
            del os.environ[name]
        os.environ.update({"LABELLIGHT_DATA_DIR": folder, "LABELLIGHT_PRETRAINED": "false"})
        from labellight.config import get_settings
        from labellight.db.migrations import upgrade_to_head
        from labellight.db.session import session_scope
        from labellight.services.accounts import create_user
        from labellight.services.job_handlers import run_queued
        from labellight.services.projects import create_project
        from labellight.services.uploads import IncomingFile, start_ingest

        root, source = locate(args.data, Path(folder), synthetic_count=args.images)
        paths = subset(root, args.images, source).paths
        archive = _zip(paths)
        upgrade_to_head()
        with session_scope() as session:
            user = create_user(session, "p3@example.com", "a long bench password")
        print(f"{len(paths)} images from {source}; cache side {get_settings().cache_image_size} px")
        bare_s, ingest_s = [], []
        for round_ in range(args.rounds):
            bare_s.append(_bare(paths))
            with session_scope() as session:
                pid = create_project(session, user, f"P3 {round_}").id
                job = start_ingest(session, user, pid, [IncomingFile("p3.zip", io.BytesIO(archive))])
            start = time.perf_counter()
            assert run_queued(job.id) == "succeeded"
            ingest_s.append(time.perf_counter() - start)
            print(f"round {round_ + 1}: bare {len(paths) / bare_s[-1]:7.0f} images/s, "
                  f"ingest {len(paths) / ingest_s[-1]:6.0f} images/s", flush=True)
        bare, ingest = len(paths) / min(bare_s), len(paths) / min(ingest_s)
        print(f"best of {args.rounds}: bare Pillow open + convert {bare:.0f} images/s, ingest job {ingest:.0f} "
              f"images/s, ratio {ingest / bare:.2f}x")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MB")


if __name__ == "__main__":
    main()
