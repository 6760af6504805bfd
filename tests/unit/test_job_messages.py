"""J10: job messages are JSON; a pickled message is refused by the worker's Celery app, whatever the broker."""

import pickle
from pathlib import Path

import pytest
from kombu.exceptions import ContentDisallowed
from kombu.serialization import dumps, loads, prepare_accept_content

from labellight.config import Settings
from labellight.jobs.transport import make_celery


@pytest.mark.parametrize("broker", ["redis://127.0.0.1:6379/0", ""], ids=["redis", "file"])
def test_j10_messages_are_json_and_pickle_is_refused(broker: str, tmp_path: Path) -> None:
    app = make_celery(Settings(data_dir=tmp_path, broker_url=broker))
    assert app.conf.task_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]

    accept = prepare_accept_content(app.conf.accept_content)  # as the worker's consumer prepares it
    content_type, encoding, body = dumps({"args": [1]}, serializer=app.conf.task_serializer)
    assert content_type == "application/json"
    assert loads(body, content_type, encoding, accept=accept) == {"args": [1]}
    with pytest.raises(ContentDisallowed):
        loads(pickle.dumps({"args": [1]}), "application/x-python-serialize", "binary", accept=accept)
