"""Readable text logs, or one JSON object a line when LOG_FORMAT=json."""

import json
import logging
import time

STRUCTURED_FIELDS = ("job_id", "kind", "status", "duration_s", "method", "path", "status_code", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in STRUCTURED_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name("media-api")
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "media-api"] + [handler]
    root.setLevel(level.upper())
    for noisy in ("phonemizer", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
