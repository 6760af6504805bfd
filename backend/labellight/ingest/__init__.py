"""Upload validation and decoding: bytes and paths in, dataclasses and arrays out.

Pure of the database and the web: nothing here imports ``labellight.db``, ``jobs``, ``services``,
``api``, SQLAlchemy, FastAPI, Celery or torch.
"""
