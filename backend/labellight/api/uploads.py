"""Reading small uploaded query files (prediction, search) with a size cap."""

from fastapi import HTTPException, UploadFile

from labellight.config import get_settings


def read_upload(upload: UploadFile) -> tuple[str, bytes]:
    limit = get_settings().max_file_bytes
    data = upload.file.read(limit + 1)
    name = upload.filename or "unnamed"
    if len(data) > limit:
        raise HTTPException(413, f"{name}: file too large (limit {limit} bytes)")
    return name, data
