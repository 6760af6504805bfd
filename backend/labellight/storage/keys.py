"""Where each kind of project file lives in storage: the one place that names storage keys."""


def project_prefix(project_id: int) -> str:
    return f"projects/{project_id}"


def original_key(project_id: int, sha256: str) -> str:
    return f"projects/{project_id}/originals/{sha256[:2]}/{sha256}"


def thumbnail_key(project_id: int, sha256: str) -> str:
    return f"projects/{project_id}/thumbnails/{sha256[:2]}/{sha256}.jpg"


def pixel_cache_key(project_id: int) -> str:
    return f"projects/{project_id}/pixels.u8"


def upload_prefix(project_id: int, job_id: int) -> str:
    return f"projects/{project_id}/uploads/{job_id}"


def upload_key(project_id: int, job_id: int, index: int) -> str:
    return f"{upload_prefix(project_id, job_id)}/{index:05d}"


def upload_session_key(project_id: int, session_id: str) -> str:
    """The partial file of a resumable upload; ``session_id`` is server-generated (URL-safe base64)."""
    return f"projects/{project_id}/upload-sessions/{session_id}"


def backbone_prefix(project_id: int, version: int) -> str:
    return f"projects/{project_id}/backbones/{version}"


def backbone_weights_key(project_id: int, version: int) -> str:
    return f"{backbone_prefix(project_id, version)}/backbone.pt"


def embeddings_key(project_id: int, version: int) -> str:
    return f"{backbone_prefix(project_id, version)}/embeddings.npz"


def index_key(project_id: int, version: int) -> str:
    return f"{backbone_prefix(project_id, version)}/index.faiss"


def neighbour_graph_key(project_id: int, version: int) -> str:
    """The kNN graph of the backbone's embeddings (rows of ``embeddings_key``), built by the embed job."""
    return f"{backbone_prefix(project_id, version)}/neighbours.npz"


def map_key(project_id: int, version: int) -> str:
    return f"{backbone_prefix(project_id, version)}/map.npz"


def classifier_key(project_id: int, version: int) -> str:
    return f"projects/{project_id}/classifiers/{version}.npz"


def job_prefix(project_id: int, job_id: int) -> str:
    return f"projects/{project_id}/jobs/{job_id}"


def model_export_key(project_id: int, job_id: int, suffix: str) -> str:
    """The file an export job wrote (``suffix``: ``.onnx`` or ``.pt``)."""
    return f"{job_prefix(project_id, job_id)}/model{suffix}"


def pretrain_checkpoint_key(project_id: int, job_id: int) -> str:
    return f"{job_prefix(project_id, job_id)}/checkpoint.pt"


def export_key(project_id: int, job_id: int, fmt: str) -> str:
    return f"{job_prefix(project_id, job_id)}/predictions.{fmt}"
