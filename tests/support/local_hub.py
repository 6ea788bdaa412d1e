"""A Hugging Face hub on loopback for the voice fetch tests: it answers `hf_hub_download` as the hub does.

`hf_hub_download(repo, "voices/NAME.pt")` with `HF_ENDPOINT` pointing here sends `HEAD` then `GET` to
`/{repo}/resolve/{revision}/voices/NAME.pt`; the hub answers with `X-Repo-Commit` (a 40-hex commit), an
`ETag` and `Content-Length`, and, for a file it does not have, 404 with `X-Error-Code: EntryNotFound`.
"""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"


class LocalHub:
    """Serves `files` (path in the repo -> bytes) of one repo; records every request; can fail on purpose."""

    def __init__(self, files: dict[str, bytes], repo_id: str = "hexgrad/Kokoro-82M") -> None:
        self.files = files
        self.repo_id = repo_id
        self.requests: list[tuple[str, str, int]] = []  # method, path, status
        self.failures_left = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, count: int) -> None:
        """Answer the next `count` requests for the repo's files with 500, as a hub having a bad moment does."""
        with self._lock:
            self.failures_left = count

    def downloads(self, name: str) -> int:
        """How many GETs of voices/NAME.pt were answered with the file."""
        return sum(1 for m, p, s in self.requests if m == "GET" and p.endswith(f"/voices/{name}.pt") and s == 200)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        prefix = f"/{self.repo_id}/resolve/"
        with self._lock:  # only the repo's files fail: huggingface_hub also asks /api/... on its own
            failing = self.failures_left > 0 and path.startswith(prefix)
            self.failures_left -= failing
        name = path.split("?")[0].removeprefix(prefix).partition("/")[2]
        body = self.files.get(name) if path.startswith(prefix) else None
        status = 500 if failing else (404 if body is None else 200)
        self.requests.append((method, path, status))
        headers = {"X-Repo-Commit": COMMIT}
        if status != 200 or body is None:
            headers["X-Error-Code"] = "EntryNotFound" if status == 404 else "ServerError"
            return status, headers, b""
        headers.update(ETag=f'"{hashlib.sha256(body).hexdigest()}"', **{"Accept-Ranges": "bytes"})
        return 200, headers, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, send_body: bool) -> None:
                status, headers, body = hub._answer(self.command, self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body:
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self._reply(send_body=False)

            def do_GET(self) -> None:
                self._reply(send_body=True)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
