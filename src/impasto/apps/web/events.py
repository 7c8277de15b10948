"""A numbered log of what happened, for the page's event stream (server-sent events).

The painting thread publishes; each open page reads what is newer than the last number it
saw. Only the recent events are kept: a page that falls further behind asks for the whole
state again (it gets it first on every connection anyway).
"""

from __future__ import annotations

import math
import numbers
import threading
from collections import deque
from typing import Any

KEEP = 2000  # events kept for pages that are behind


def jsonable(value: Any) -> Any:
    """``value`` as strict JSON can carry it: NaN and infinities (a cost that diverged, say)
    become null, since the page's JSON.parse refuses them and strict encoders fail on them;
    anything else that is not JSON becomes its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


class Events:
    def __init__(self, keep: int = KEEP) -> None:
        self._log: deque[dict[str, Any]] = deque(maxlen=keep)
        self._seq = 0
        self._lock = threading.Lock()

    def publish(self, kind: str, **data: Any) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            event = jsonable({"seq": self._seq, "type": kind, **data})
            self._log.append(event)
            return event

    @property
    def last(self) -> int:
        with self._lock:
            return self._seq

    def since(self, seq: int) -> list[dict[str, Any]] | None:
        """Events numbered after ``seq``, oldest first; None if some of them are gone
        (the reader is too far behind and should start again from the whole state)."""
        with self._lock:
            if not self._log or self._log[-1]["seq"] <= seq:
                return []
            if self._log[0]["seq"] > seq + 1:
                return None
            return [e for e in self._log if e["seq"] > seq]
