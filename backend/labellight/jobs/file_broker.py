"""kombu's filesystem transport, with messages written atomically.

kombu writes a message file in place, and a consumer can open it before the writer has locked it. The
consumer then reads an empty file, and Celery stops with a JSONDecodeError. Here each message is written
to a temporary name that no queue matches, then renamed into place, so consumers only see whole files.
"""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "llfs"


class Channel(filesystem.Channel):  # type: ignore[misc]
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]  # as kombu
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".writing-{uuid.uuid4()}")
        with open(temporary, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))  # type: ignore[no-untyped-call]
        os.replace(temporary, final)


class Transport(filesystem.Transport):  # type: ignore[misc]
    Channel = Channel


def register() -> None:
    """Make ``llfs://`` name this transport (in every process that connects)."""
    TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
