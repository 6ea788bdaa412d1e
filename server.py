"""Builds the app; `python server.py` serves it with uvicorn on HOST:PORT."""

import sys

import uvicorn
from pydantic import ValidationError

from app.config import load_settings
from app.main import create_app


def main() -> None:
    try:
        settings = load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "_".join(str(p) for p in error["loc"]).upper()
            print(f"Invalid setting {variable}: {error['msg']} (got {error.get('input')!r})", file=sys.stderr)
        sys.exit(2)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
