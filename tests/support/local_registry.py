"""An npm registry's tarball on loopback for the voice pack tests: a real .tgz shaped like kokoro-js's
(`package/voices/NAME.bin`, raw float32 510 x 256), served with ranges, able to cut a download short."""

import base64
import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

PATH = "/kokoro-js/-/kokoro-js-1.2.1.tgz"


def random_voices(names: tuple[str, ...], seed: int = 0) -> dict[str, np.ndarray]:
    """A random float32 510 x 256 array per voice name."""
    rng = np.random.default_rng(seed)
    return {name: (rng.standard_normal((510, 256)) * 0.3).astype(np.float32) for name in names}


def pack_tarball(voices: dict[str, np.ndarray]) -> bytes:
    """A gzipped tarball as `npm pack` writes one: everything under `package/`, the voices as raw little-endian
    float32, beside files an installer must leave alone."""
    files = {"package/package.json": b'{"name": "kokoro-js", "version": "1.2.1"}', "package/LICENSE": b"Apache-2.0"}
    files.update({f"package/voices/{name}.bin": array.astype("<f4").tobytes() for name, array in voices.items()})
    files["package/dist/kokoro.js"] = b"export {};"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def integrity_of(data: bytes) -> str:
    """npm's `dist.integrity` of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class LocalRegistry:
    """Serves one tarball at PATH (ranges answered with 206); records (method, Range header, status) of each
    request; `cut_next(n)` ends the next n full answers after half the body, as a dropped connection does."""

    def __init__(self, tarball: bytes) -> None:
        self.tarball = tarball
        self.requests: list[tuple[str, str | None, int]] = []
        self.cuts_left = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def cut_next(self, count: int) -> None:
        with self._lock:
            self.cuts_left = count

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, path: str, range_header: str | None) -> tuple[int, dict[str, str], bytes, int]:
        """Status, headers, body and how many bytes of the body to send before closing."""
        if path != PATH:
            return 404, {}, b"", 0
        body, status, headers = self.tarball, 200, {"Accept-Ranges": "bytes"}
        if range_header and range_header.startswith("bytes=") and range_header.endswith("-"):
            start = int(range_header[len("bytes=") : -1])
            if start >= len(body):
                return 416, {"Content-Range": f"bytes */{len(body)}"}, b"", 0
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            body, status = body[start:], 206
        with self._lock:
            cut = status == 200 and self.cuts_left > 0
            self.cuts_left -= cut
        return status, headers, body, len(body) // 2 if cut else len(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                range_header = self.headers.get("Range")
                status, headers, body, send = registry._answer(self.path, range_header)
                registry.requests.append(("GET", range_header, status))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:send])
                if send < len(body):
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
