"""Structured logs: one JSON object per line, each carrying the call id of the
call it is about (taken from a context variable set by the call's task).

Never pass PINs, dates of birth or DTMF digits to a log call: the records are
written as given.
"""

import contextvars
import json
import logging
import sys
import time
import traceback
from typing import Any

call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)

# Attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one JSON line: ts, level, logger, event, node (when
    given: a cluster's node), call_id, extras."""

    def __init__(self, node: str | None = None) -> None:
        super().__init__()
        self.node = node
        self._second = -1
        self._second_text = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # the date and time once a second, not per line
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        if self.node is not None:
            entry["node"] = self.node
        call_id = call_id_var.get()
        if call_id is not None:
            entry["call_id"] = call_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                # An extra never replaces ts, level, logger or event (a filter on
                # level=warning must see every warning): it is kept beside them.
                entry[key if key not in entry else f"extra_{key}"] = value
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["error"] = f"{type(exc).__name__}: {exc}"
            # Where it happened, as file:line function; no source lines, no values.
            entry["where"] = [
                f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_tb(exc.__traceback__)
            ][-6:]
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str = "info", node: str | None = None) -> None:
    """Send all logs to stderr as JSON lines (each naming ``node``, if given)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter(node))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # No line shows the thread, the process or where in the source a record
    # was made, so no record collects them (the logging HOWTO's "Optimization";
    # with the date formatted once a second, a line in a loop went from 22 to
    # 16 µs: docs/performance.md, issue 24).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    # aioari logs every event callback at debug and raw messages at warning.
    logging.getLogger("aioari").setLevel(logging.ERROR)
    logging.getLogger("aioswagger11").setLevel(logging.ERROR)
